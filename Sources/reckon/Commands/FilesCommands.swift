import ArgumentParser
import Foundation
import ReckonCore
import ReckonLedger

struct FilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files",
        abstract: "The files received, and operators' decisions about them: set a refused file aside, reinstate an earlier version.",
        subcommands: [FilesList.self, FilesSetAside.self, FilesReinstate.self]
    )
}

/// Who takes a decision: `--as`, or the login name.
struct ActorOption: ParsableArguments {
    @Option(name: .customLong("as"), help: "Who takes the decision (default: $USER).")
    var actor: String?

    @Option(help: "Why: kept with the decision.")
    var reason: String

    var name: String {
        actor ?? ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
    }
}

struct FilesList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The files received (newest first) with their status, and the decisions taken about them.")

    @Option(help: "Only this business day.")
    var date: BusinessDate?

    @Flag(help: """
        Print one JSON object instead of text: files (id, business_date, partner, file_type, name, status, \
        records_read, records_rejected, duplicates, events, entries, report, decisions) and missing_set_aside \
        (decisions about expected files that never came).
        """)
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let files = try ledger.receivedFiles(date: date?.date)
        let actions = try ledger.fileActions(date: date?.date)
        if json {
            print(JSONShape.object([("files", JSONShape.array(files.map { FilesTable.json($0, actions: actions) })),
                                    ("missing_set_aside", JSONShape.array(actions.filter { $0.fileID == nil }.map(JSONShape.action)))]))
            return
        }
        if files.isEmpty && actions.isEmpty { print("no files received"); return }
        if !files.isEmpty {
            for line in FilesTable.render(files, actions: actions) { print(line) }
        }
        for action in actions where action.fileID == nil {
            for line in wrapped("-  \(action.businessDate)  \(action.partner)/\(action.fileType)  (missing)  \(Describe.action(action))") {
                print(line)
            }
        }
    }
}

struct FilesSetAside: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-aside",
        abstract: "Set aside a refused file, an earlier version sent again, or an expected file that will not come.",
        discussion: """
            Its business day then no longer waits for it: reckon batch stops reporting it, and \
            the same bytes sent again are not tried again. The decision is kept with who took it, \
            when and why (reckon files list, reckon status). Nothing is deleted.

            reckon files set-aside 12 --reason "the platform re-sends a corrected file tomorrow"
            reckon files set-aside --date 2024-12-17 --partner core --type loan_ledger --reason "core system outage"
            """)

    @Argument(help: "The file's number (reckon status lists them).")
    var id: Int64?

    @Option(help: "For an expected file that has not come: its business day.")
    var date: BusinessDate?

    @Option(help: "For an expected file that has not come: its partner.")
    var partner: String?

    @Option(help: "For an expected file that has not come: its file type.")
    var type: String?

    @OptionGroup var decision: ActorOption

    @Flag(help: "Print the decision as one JSON object (action, file_id, business_date, partner, file_type, reason, by, at).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        if id == nil && (date == nil || partner == nil || type == nil) {
            throw ValidationError("name the file by its number, or a missing file by --date, --partner and --type")
        }
        if id != nil && (date != nil || partner != nil || type != nil) {
            throw ValidationError("name the file by its number or by --date, --partner and --type, not both")
        }
    }

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        do {
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            let action: FileAction
            if let id {
                action = try ledger.setAside(fileID: id, reason: decision.reason, actor: decision.name)
            } else {
                guard let partnerConfig = config.partner(partner!), partnerConfig.fileType(type!) != nil else {
                    throw LedgerError("\(options.config) has no file type '\(type!)' of a partner '\(partner!)'")
                }
                action = try ledger.setAsideMissing(partner: partner!, fileType: type!, date: date!.date,
                                                    reason: decision.reason, actor: decision.name)
            }
            if json {
                print(JSONShape.action(action))
            } else {
                let what = action.fileID.map { "file #\($0)" } ?? "the missing file"
                print("\(action.partner)/\(action.fileType) \(action.businessDate) \(what): \(Describe.action(action))")
            }
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }
}

struct FilesReinstate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reinstate",
        abstract: "Make an earlier version of a day's file current again.",
        discussion: """
            The earlier version's archived copy is posted as a corrected re-send of the version \
            now current, whose entries are reversed; both stay visible. Give the earlier \
            version's number, or the number of its delivery sent again (reckon status lists them). \
            The day's plans follow on its next run: reckon batch --date D.
            """)

    @Argument(help: "The earlier version's number, or its delivery sent again.")
    var id: Int64

    @OptionGroup var decision: ActorOption

    @Flag(help: "Print one JSON object: reinstated (the number given), by, reason, and file (the posting, as reckon ingest --json).")
    var json = false

    @OptionGroup var lockWait: LockWaitOption

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        let result: IngestResult
        do {
            let writer = try WriterLock.acquire(ledger, waitSeconds: lockWait.seconds(config))
            defer { writer.release() }
            result = try ledger.reinstate(fileID: id, reason: decision.reason, actor: decision.name, config: config)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(JSONShape.object([("reinstated", String(id)), ("by", JSONShape.string(decision.name)),
                                    ("reason", JSONShape.string(decision.reason)), ("file", JSONShape.ingest(result))]))
        } else {
            print(IngestText.render(result))
            if result.outcome == .posted {
                print("file #\(id) reinstated by \(decision.name): run reckon batch --date \(result.businessDate) to bring the day's plans to it")
            }
        }
        guard result.outcome == .posted else { throw ExitCode.failure }
    }
}
