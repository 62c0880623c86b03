import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// Options every ledger command shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file; its folder is where the ledger and the folders live.")
    var config = ConfigFile.defaultPath

    func load() throws -> ReckonConfig {
        do {
            return try ConfigFile.load(config)
        } catch {
            printError("reckon: \(error)")
            throw unusableSpec
        }
    }

    /// The ledger, for a command that writes: created and migrated when needed; it may wait
    /// for another process's write.
    func ledger(_ loaded: ReckonConfig) throws -> Ledger {
        do {
            let ledger = try Ledger(path: loaded.databasePath)
            try ledger.register(loaded.partners)
            return ledger
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }

    /// The ledger, for a command that only looks: opened read-only, so it never waits for a
    /// writer and works when the ledger's folder cannot be written.
    func readingLedger(_ loaded: ReckonConfig) throws -> Ledger {
        do {
            return try Ledger(readingFrom: loaded.databasePath)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Business dates on the command line: 2024-12-15 or 20241215.
struct BusinessDate: ExpressibleByArgument {
    let date: CivilDate

    init?(argument: String) {
        let digits = argument.filter(\.isNumber)
        guard digits.count == 8, let n = Int(digits),
              let date = CivilDate(year: n / 10000, month: n / 100 % 100, day: n % 100) else { return nil }
        self.date = date
    }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Take one partner file into the ledger: all of it, or none of it.",
        discussion: """
            The file is archived unchanged, read through its type's spec, and its records stored \
            as canonical events — and posted as journal entries when the type posts — in one \
            transaction. The same bytes again change nothing; a record stored before is reported \
            as a duplicate; a different file for the same partner, type and day supersedes the \
            earlier one (its entries are reversed). A file with a rejected or repeated record \
            (strict types) or a failing control total goes to quarantine with a report; a lenient \
            file posts its other records and says which were not posted. An earlier version sent \
            again after its correction is not posted: an alert names both versions. Bytes refused \
            before are tried again, unless an operator set them aside.

            Exit status: 0 posted whole, repeated or set aside before; 1 rejected, records not \
            posted, or an earlier version sent again; 2 unusable configuration or spec.
            """
    )

    @Argument(help: "The partner file.")
    var file: String

    @Option(help: "The partner, as named in the configuration.")
    var partner: String

    @Option(help: "The file type, as named under the partner.")
    var type: String

    @Option(help: "The business date (default: from the file name).")
    var date: BusinessDate?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard let partnerConfig = config.partner(partner) else {
            printError("reckon: \(options.config): no partner '\(partner)'; the configuration has \(config.partners.map(\.id).joined(separator: ", "))")
            throw unusableSpec
        }
        guard let fileType = partnerConfig.fileType(type) else {
            printError("reckon: \(options.config): partner '\(partner)' has no file type '\(type)'; it has \(partnerConfig.files.map(\.id).joined(separator: ", "))")
            throw unusableSpec
        }
        let ledger = try options.ledger(config)
        let progress = ProgressLine()
        let result: IngestResult
        do {
            let writer = try WriterLock.acquire(ledger)
            defer { writer.release() }
            result = try ledger.ingest(IngestRequest(path: file, partner: partnerConfig, fileType: fileType, businessDate: date?.date),
                                       config: config) { progress.show("ingesting \(file): \($0.formatted()) records") }
        } catch {
            progress.clear()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        progress.clear()
        print(IngestText.render(result))
        if [.rejected, .stale].contains(result.outcome) || result.recordsNotPosted > 0 { throw ExitCode.failure }
    }
}

enum IngestText {
    static func render(_ result: IngestResult) -> String {
        let result = result.escapedForDisplay
        let where_ = "\(result.partner)/\(result.fileType) \(result.businessDate)"
        switch result.outcome {
        case .repeated:
            return "= \(result.file) (\(where_)): repeated delivery of file \(result.fileID ?? 0); nothing posted"
        case .setAside:
            let action = result.setAside.map { ", \($0.description)" } ?? ""
            return "= \(result.file) (\(where_)): refused before as file \(result.fileID ?? 0)\(action); not tried again, nothing posted"
        case .stale:
            var text = "✗ \(result.file) (\(where_)): an earlier version sent again after its correction; nothing posted (alert raised)"
            if let versions = result.versions {
                text += "\n    this delivery:   file #\(versions.delivery.fileID), SHA-256 \(versions.delivery.sha256.prefix(12))…, received \(versions.delivery.receivedAt)"
                text += "\n    the version of:  \(versions.repeats)"
                text += "\n    current version: \(versions.current)"
                text += "\n    to make the earlier version current again: reckon files reinstate \(versions.repeats.fileID) --reason …"
                text += "\n    to leave the correction current: reckon files set-aside \(versions.delivery.fileID) --reason …"
            }
            return text
        case .posted:
            var text = "✓ \(result.file) (\(where_)): \(result.report?.recordsRead ?? 0) records, \(result.events) events, \(result.entries) entries posted"
            if let superseded = result.superseded { text += "; supersedes file \(superseded), whose entries were reversed" }
            if let report = result.report, result.recordsNotPosted > 0 {
                let duplicates = result.duplicateCount, rejected = result.recordsNotPosted - result.duplicateCount
                var why: [String] = []
                if duplicates > 0 { why.append("\(duplicates) \(duplicates == 1 ? "duplicate" : "duplicates")") }
                if rejected > 0 { why.append("\(rejected) rejected") }
                text += "\n  ✗ \(result.recordsNotPosted) \(result.recordsNotPosted == 1 ? "record" : "records") not posted "
                    + "(lenient file: \(why.joined(separator: ", "))); the posted total differs from the file's:"
                for problem in report.problems.prefix(20) { text += "\n    \(problem)" }
                let more = report.problems.count - min(20, report.problems.count) + report.problemsOmitted
                if more > 0 { text += "\n    … and \(more) more" }
            }
            return text
        case .rejected:
            var text = "✗ \(result.file) (\(where_)): rejected, nothing posted; quarantined as \(result.quarantinePath ?? "-")"
            if let report = result.report {
                if let failure = report.failure { text += "\n    \(failure)" }
                for problem in report.problems.prefix(20) { text += "\n    \(problem)" }
                let more = report.problems.count - min(20, report.problems.count) + report.problemsOmitted
                if more > 0 { text += "\n    … and \(more) more" }
                for verdict in report.controls where !verdict.holds {
                    text += "\n    control '\(verdict.control)' fails: declared \(verdict.declared.map(String.init(describing:)) ?? "nothing"), found \(verdict.actual)"
                }
                for item in report.structure { text += "\n    \(item)" }
            }
            if let reportPath = result.reportPath { text += "\n    report: \(reportPath)" }
            if let fileID = result.fileID { text += "\n    fix and run again, or: reckon files set-aside \(fileID) --reason …" }
            return text
        }
    }
}

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Look into the ledger: balances, verification, a canonical export.",
        subcommands: [LedgerBalance.self, LedgerVerify.self, LedgerExport.self]
    )
}

struct LedgerBalance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Account balances (debits positive, credits negative), in major units.")

    @Option(help: "Only this loan's accounts.")
    var loan: String?

    @Option(help: "Only this account, or the accounts under it (channel, loan:L202411150001).")
    var account: String?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let balances = try ledger.balances(loan: loan, account: account)
        let width = max(32, balances.map { displayWidth($0.account) }.max() ?? 0)
        for balance in balances where balance.amountMinor != 0 {
            let amount = DecimalAmount(units: balance.amountMinor, scale: 2).description
            print(padded(balance.account, to: width) + "  " + String(repeating: " ", count: max(0, 16 - amount.count)) + amount + " " + balance.currency)
        }
        if balances.allSatisfy({ $0.amountMinor == 0 }) { print("no balances") }
    }
}

struct LedgerVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every entry balances per currency and every balance equals its postings.",
        discussion: "Exit status 1 when anything is off.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let result = try ledger.verify()
        print("\(result.entries) entries, \(result.postings) postings")
        for line in result.unbalancedEntries { print("✗ \(line)") }
        for line in result.balanceMismatches { print("✗ \(line)") }
        if result.ok {
            print("✓ every entry sums to zero per currency; every balance equals its postings")
        } else {
            throw ExitCode.failure
        }
    }
}

struct LedgerExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "A canonical, sorted dump of files, events, entries, plans, alerts and balances, to compare runs.")

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @Flag(help: "Add the run log: each batch run with its steps' statuses and its summary.")
    var runs = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        var output = BufferedOutput()
        do {
            try ledger.export(date: date?.date, runs: runs, to: &output)
        } catch {
            output.flush()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        output.flush()
        if let failure = output.failure {
            printError("reckon: writing the export: \(String(cString: strerror(failure)))")
            throw ExitCode.failure
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The latest batch runs (interrupted ones too), each day's missing, refused and set-aside files, open alerts and the files received.",
        discussion: """
            A run recorded as running whose process is gone shows as interrupted. For each day \
            shown (the latest runs' days, or --date), every expected file that has not come, \
            every refused file awaiting an operator (reckon files set-aside) and every earlier \
            version sent again (reckon files reinstate) is listed, with what was set aside, by \
            whom and why.
            """)

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            print("no ledger yet at \(config.databasePath): no runs, no files received")
            return
        }
        let ledger = try options.readingLedger(config)
        try StatusText.show(ledger, config: config, date: date?.date, json: json)
    }
}
