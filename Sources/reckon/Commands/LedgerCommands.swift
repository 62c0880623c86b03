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
        let loaded: ReckonConfig
        do {
            loaded = try ConfigFile.load(config)
        } catch {
            printError("reckon: \(error)")
            throw unusableSpec
        }
        // A command for a code reckon never raises would never run: refused, not ignored.
        if let problem = AlertCatalogue.unknownCommandCodes(loaded) {
            printError("reckon: \(config): \(problem)")
            throw unusableSpec
        }
        return loaded
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

    @Flag(help: """
        Print one JSON object instead of text: file, partner, file_type, business_date, outcome (posted, \
        repeated, rejected, stale, set_aside), file_id, events, entries, duplicates, records_not_posted, \
        superseded_file_id, archive, quarantine, report, the check (records_read, records_rejected, \
        controls_hold, controls, problems, …), versions, set_aside. The exit status is the same.
        """)
    var json = false

    @OptionGroup var lockWait: LockWaitOption

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
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            progress.show("ingest \(file) (\(partner)/\(type))", isStage: true)
            result = try ledger.ingest(IngestRequest(path: file, partner: partnerConfig, fileType: fileType, businessDate: date?.date),
                                       config: config) { progress.show("ingest \(file): \(Plural.count($0, "record")) stored", isStage: false) }
        } catch {
            progress.clear()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        progress.clear()
        print(json ? JSONShape.ingest(result) : IngestText.render(result))
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
            let action = result.setAside.map { ", \(Describe.action($0))" } ?? ""
            return "= \(result.file) (\(where_)): refused before as file \(result.fileID ?? 0)\(action); not tried again, nothing posted"
        case .stale:
            var text = "✗ \(result.file) (\(where_)): an earlier version sent again after its correction; nothing posted (alert raised)"
            if let versions = result.versions {
                text += "\n    this delivery:   file #\(versions.delivery.fileID), SHA-256 \(versions.delivery.sha256.prefix(12))…, "
                    + "received \(TimeText.local(versions.delivery.receivedAt))"
                text += "\n    the version of:  \(Describe.version(versions.repeats))"
                text += "\n    current version: \(Describe.version(versions.current))"
                text += "\n    to make the earlier version current again: reckon files reinstate \(versions.repeats.fileID) --reason …"
                text += "\n    to leave the correction current: reckon files set-aside \(versions.delivery.fileID) --reason …"
            }
            return text
        case .posted:
            let counts = "\(Plural.count(result.report?.recordsRead ?? 0, "record")), \(Plural.count(result.events, "event")), "
                + "\(Plural.count(result.entries, "entry")) posted"
            var text = "✓ \(result.file) (\(where_)): \(counts)"
            if let report = result.report, report.warningCount > 0 {
                text += "\n  ! \(Plural.count(report.warningCount, "warning")) (the records posted):"
                for warning in report.warnings.prefix(20) { text += "\n    \(warning)" }
                let more = report.warningCount - min(20, report.warnings.count)
                if more > 0 { text += "\n    … and \(more) more" }
            }
            if let superseded = result.superseded { text += "; supersedes file \(superseded), whose entries were reversed" }
            if let report = result.report, result.recordsNotPosted > 0 {
                let duplicates = result.duplicateCount, rejected = result.recordsNotPosted - result.duplicateCount
                var why: [String] = []
                if duplicates > 0 { why.append(Plural.count(duplicates, "duplicate")) }
                if rejected > 0 { why.append("\(AmountText.grouped(rejected)) rejected") }
                text += "\n  ✗ \(Plural.count(result.recordsNotPosted, "record")) not posted "
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
                if report.warningCount > 0 { text += "\n    (and \(Plural.count(report.warningCount, "warning")), which alone would not reject it)" }
                for problem in report.problems.prefix(20) { text += "\n    \(problem)" }
                let more = report.problems.count - min(20, report.problems.count) + report.problemsOmitted
                if more > 0 { text += "\n    … and \(more) more" }
                for verdict in report.controls where !verdict.holds {
                    text += "\n    control '\(verdict.control)' fails: declared \(verdict.declared.map(AmountText.printed) ?? "nothing"), "
                        + "found \(AmountText.printed(verdict.actual))"
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
        abstract: "Account balances (debits positive, credits negative), as of now.",
        discussion: """
            Accounts with a balance other than zero, one a line: the account, the amount as reckon \
            prints amounts (-904,589.55) and its currency. --json prints one object: balances, each \
            with account, currency and balance_minor (an integer of minor units: -90458955).
            """)

    @Option(help: "Only this loan's accounts.")
    var loan: String?

    @Option(help: "Only this account, or the accounts under it (channel, loan:L202411150001).")
    var account: String?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let balances = try ledger.balances(loan: loan, account: account).filter { $0.amountMinor != 0 }
        if json {
            print(JSONShape.object([("balances", JSONShape.array(balances.map {
                JSONShape.object([("account", JSONShape.string($0.account)), ("currency", JSONShape.string($0.currency)),
                                  ("balance_minor", String($0.amountMinor))])
            }))]))
            return
        }
        if balances.isEmpty { print("no balances"); return }
        // Wide enough that the listings of several accounts (make demo) line up.
        let table = TextTable([("account", false), ("balance", true), ("currency", false)], minimumWidths: [32, 16])
        for line in table.render(balances.map { [$0.account, AmountText.printed(units: $0.amountMinor), $0.currency] }).dropFirst() {
            print(line)
        }
    }
}

struct LedgerVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every entry balances per currency, every balance equals its postings and every reference names a row.",
        discussion: """
            Exit status 1 when anything is off. --json prints one object: ok, entries, postings, \
            unbalanced_entries (entry_id, currency, off_minor), balance_mismatches (account, currency, \
            postings_minor, stored_minor; null when the balance row is missing) and dangling_references \
            (table, row_id, parent: a row whose reference names no row; the first 1,000); the exit status \
            is the same.
            """)

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let result = try ledger.verify()
        if json {
            typealias J = JSONShape
            print(J.object([
                ("ok", J.bool(result.ok)), ("entries", String(result.entries)), ("postings", String(result.postings)),
                ("unbalanced_entries", J.array(result.unbalanced.map {
                    J.object([("entry_id", String($0.entryID)), ("currency", J.string($0.currency)), ("off_minor", String($0.offMinor))])
                })),
                ("balance_mismatches", J.array(result.mismatches.map {
                    J.object([("account", J.string($0.account)), ("currency", J.string($0.currency)),
                              ("postings_minor", String($0.postingsMinor)), ("stored_minor", J.number($0.storedMinor))])
                })),
                ("dangling_references", J.array(result.dangling.map {
                    J.object([("table", J.string($0.table)), ("row_id", J.number($0.rowID)), ("parent", J.string($0.parent))])
                })),
            ]))
        } else {
            print("\(Plural.count(result.entries, "entry")), \(Plural.count(result.postings, "posting"))")
            let money = { (minor: Int64) in AmountText.printed(units: minor) }
            for entry in result.unbalanced { print("✗ entry \(entry.entryID): \(entry.currency) off by \(money(entry.offMinor))") }
            for mismatch in result.mismatches {
                print("✗ \(mismatch.account) \(mismatch.currency): postings sum to \(money(mismatch.postingsMinor)), "
                      + "stored balance is \(mismatch.storedMinor.map(money) ?? "missing")")
            }
            for line in result.danglingReferences { print("✗ \(line)") }
            if result.ok { print("✓ every entry sums to zero per currency; every balance equals its postings; every reference names a row") }
        }
        if !result.ok { throw ExitCode.failure }
    }
}

struct LedgerExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "A canonical, sorted dump of files, events, entries, plans, alerts and balances, to compare runs.",
        discussion: """
            Text: a "# section" line, then one tab-separated line per row, without timestamps or row \
            ids, so the same inputs give the same bytes. --json: JSON lines, one object per row: section \
            (files, events, entries, loans, plan_lines, allocations, plan_differences, alerts, balances, \
            runs), then its columns by name as stored: amounts are integers of minor units in columns named \
            …_minor; other_fields, contract and postings are JSON themselves. Both stream in flat memory.

            --date keeps the rows of one business day: its files, their events and entries, the loans \
            disbursed and the plan differences and alerts found that day, and the allocations of its \
            repayments; balances are always the ledger's.
            """)

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @Flag(help: "Add the run log: each batch run with its steps' statuses and its summary.")
    var runs = false

    @Flag(help: "JSON lines instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        var output = BufferedOutput()
        do {
            try ledger.export(date: date?.date, runs: runs, json: json, to: &output)
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
            The latest three runs, or with --date every run of that day and only that day's files. \
            Each run shows its outcome, when it started and finished (local time with its offset) \
            and its summary. A run recorded as running whose process is gone shows as interrupted. \
            For each day shown, every expected file that has not come, every refused file awaiting \
            an operator (reckon files set-aside) and every earlier version sent again (reckon files \
            reinstate) is listed, with what was set aside, by whom and why, and every expected file \
            past its deadline (late). Paused steps (reckon pause) are shown first, with who paused \
            them and when.
            """)

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @Flag(help: """
        Print one JSON object instead of text: runs (id, business_date, status, started_at, finished_at, \
        duration_seconds, summary, …), days (missing, late, refused, sent_again, set_aside), open_alerts, files, \
        switches (step, paused, by, at, note).
        """)
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            if json {
                let switches = BatchStep.allCases.map { StepSwitch(step: $0, paused: false, changedBy: nil, changedAt: nil, note: nil) }
                print(#"{"runs":[],"days":[],"open_alerts":[],"files":[],"switches":"#
                      + JSONShape.array(switches.map { JSONShape.object(SwitchText.item($0)) }) + "}")
                return
            }
            print("no ledger yet at \(config.databasePath): no runs, no files received")
            return
        }
        let ledger = try options.readingLedger(config)
        try StatusText.show(ledger, config: config, date: date?.date, json: json)
    }
}
