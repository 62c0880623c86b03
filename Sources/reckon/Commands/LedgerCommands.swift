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
            earlier one (its entries are reversed). A file with a rejected record (strict types) \
            or a failing control total goes to quarantine with a report.

            Exit status: 0 posted or repeated, 1 rejected, 2 unusable configuration or spec.
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
            result = try ledger.ingest(IngestRequest(path: file, partner: partnerConfig, fileType: fileType, businessDate: date?.date),
                                       config: config) { progress.show("ingesting \(file): \($0.formatted()) records") }
        } catch {
            progress.clear()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        progress.clear()
        print(IngestText.render(result))
        if result.outcome == .rejected { throw ExitCode.failure }
    }
}

enum IngestText {
    static func render(_ result: IngestResult) -> String {
        let where_ = "\(result.partner)/\(result.fileType) \(result.businessDate)"
        switch result.outcome {
        case .repeated:
            return "= \(result.file) (\(where_)): repeated delivery of file \(result.fileID ?? 0); nothing posted"
        case .posted:
            var text = "✓ \(result.file) (\(where_)): \(result.report?.recordsRead ?? 0) records, \(result.events) events, \(result.entries) entries posted"
            if let superseded = result.superseded { text += "; supersedes file \(superseded), whose entries were reversed" }
            if let report = result.report, report.recordsRejected > 0 {
                text += "\n  \(report.recordsRejected) records rejected (lenient):"
                for problem in report.problems { text += "\n    \(problem)" }
            }
            if result.duplicateCount > 0 {
                text += "\n  \(result.duplicateCount) duplicate\(result.duplicateCount == 1 ? "" : "s"), not posted:"
                for line in result.duplicates.prefix(20) { text += "\n    \(line)" }
                if result.duplicateCount > 20 { text += "\n    … and \(result.duplicateCount - 20) more" }
            }
            return text
        case .rejected:
            var text = "✗ \(result.file) (\(where_)): rejected, nothing posted; quarantined as \(result.quarantinePath ?? "-")"
            if let report = result.report {
                if let failure = report.failure { text += "\n    \(failure)" }
                for problem in report.problems.prefix(20) { text += "\n    \(problem)" }
                for verdict in report.controls where !verdict.holds {
                    text += "\n    control '\(verdict.control)' fails: declared \(verdict.declared.map(String.init(describing:)) ?? "nothing"), found \(verdict.actual)"
                }
                for item in report.structure { text += "\n    \(item)" }
            }
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
        abstract: "The latest batch runs (with any file still waiting and the rule that holds it), open alerts and the files received.")

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            print("no ledger yet at \(config.databasePath): no runs, no files received")
            return
        }
        let ledger = try options.readingLedger(config)
        for run in try ledger.batchRuns(limit: 3) {
            print("batch run #\(run.id) for \(run.businessDate) (\(run.steps)): \(run.status), \(run.summary ?? "running") — started \(run.startedAt)")
            for waiting in run.waiting { print("  … \(waiting)") }
        }
        let alerts = try ledger.openAlerts()
        if !alerts.isEmpty {
            print("open alerts: " + alerts.map { "\($0.count) \($0.kind)" }.joined(separator: ", ") + " (reckon plan alerts)")
        }
        let files = try ledger.receivedFiles(date: date?.date)
        if files.isEmpty { print("no files received"); return }
        for file in files {
            var line = "#\(file.id)  \(file.businessDate)  \(file.partner)/\(file.fileType)  \(file.name)  \(file.status)"
            line += "  \(file.recordsRead) read"
            if file.recordsRejected > 0 { line += ", \(file.recordsRejected) rejected" }
            if file.duplicates > 0 { line += ", \(file.duplicates) duplicates" }
            if file.status == "posted" || file.status == "superseded" { line += ", \(file.events) events, \(file.entries) entries" }
            if let report = file.reportPath { line += "  report: \(report)" }
            print(line)
        }
    }
}
