import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "The outbound files reckon wrote for each partner and day, their versions and deliveries.",
        discussion: """
            Each partner's files of a business day are installed together in \
            <outbox>/<partner>/<date>/ with their MANIFEST.json (README, "The outbox"): the same \
            bytes again change nothing; different bytes are a new version, and the old one moves \
            to <archive>/outbound/<partner>/<date>/<name>.v<N>.
            """,
        subcommands: [OutboxList.self, OutboxInstallFixture.self]
    )
}

struct OutboxList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every outbound file written: its version, whether it is current, and whether it was delivered.",
        discussion: """
            By business day, partner, name and version. A file's state is current while its \
            version is the day's set, archived once a later version replaced it. --json prints one \
            object: files, each with partner, business_date, name, version, current, file_type, \
            spec, size_bytes, record_count, sha256, control_totals (name and value), reason, \
            written_at (UTC), delivered_at (UTC, null until delivered) and remote_name.

              reckon outbox list --date 2024-12-16
              reckon outbox list --partner bank --json
            """)

    @Option(help: "Only files of this business day.")
    var date: BusinessDate?

    @Option(help: "Only this partner's files.")
    var partner: String?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let files: [OutboundFiles.Row]
        do {
            files = try OutboundFiles.list(in: options.readingLedger(config), date: date?.date, partner: partner)
        } catch let error as LedgerError {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(JSONShape.object([("files", JSONShape.array(files.map(OutboxText.json)))]))
            return
        }
        guard !files.isEmpty else {
            print("no outbound files")
            return
        }
        let table = TextTable([("day", false), ("partner", false), ("name", false), ("version", true), ("state", false),
                               ("type", false), ("records", true), ("bytes", true), ("delivered", false)])
        for line in table.render(files.map(OutboxText.row)) { print(line) }
        let current = files.filter(\.isCurrent)
        print("\(Plural.count(files.count, "file version")), \(AmountText.grouped(current.count)) current, "
              + "\(AmountText.grouped(current.filter { $0.deliveredAt != nil }.count)) of them delivered")
    }
}

/// Outbound files as `outbox list` prints them.
enum OutboxText {
    static func row(_ file: OutboundFiles.Row) -> [String] {
        let delivered = file.deliveredAt.map { TimeText.local($0) + (file.remoteName.map { " as " + DisplayText.escaped($0) } ?? "") } ?? "no"
        return [file.businessDate, DisplayText.escaped(file.partner), DisplayText.escaped(file.name), "v\(file.version)",
                file.isCurrent ? "current" : "archived", DisplayText.escaped(file.fileType), AmountText.grouped(file.recordCount),
                AmountText.grouped(file.sizeBytes), delivered]
    }

    static func json(_ file: OutboundFiles.Row) -> String {
        typealias J = JSONShape
        let totals = file.controlTotals.map { J.object([("name", J.string($0.name)), ("value", J.string($0.value))]) }
        return J.object([
            ("partner", J.string(file.partner)), ("business_date", J.string(file.businessDate)), ("name", J.string(file.name)),
            ("version", J.number(file.version)), ("current", J.bool(file.isCurrent)), ("file_type", J.string(file.fileType)),
            ("spec", J.string(file.spec)), ("size_bytes", J.number(file.sizeBytes)), ("record_count", J.number(file.recordCount)),
            ("sha256", J.string(file.sha256Hex)), ("control_totals", J.array(totals)), ("reason", J.string(file.reason)),
            ("written_at", J.string(file.writtenAt)), ("delivered_at", J.string(file.deliveredAt)), ("remote_name", J.string(file.remoteName)),
        ])
    }
}

/// TEST SUPPORT, hidden: installs the files of a folder as a partner-day's outbound set and
/// records it, as the settle step does with the files it renders. The outbox's crash tests
/// kill this real binary at each install step (RECKON_CRASH_AT); it renders nothing.
struct OutboxInstallFixture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-fixture",
        abstract: "Test support: install a folder's files as a partner-day's outbound set.",
        shouldDisplay: false)

    @Option(help: "The folder whose regular files are the set (type: the name up to its first dot).")
    var from: String

    @Option var partner: String
    @Option var date: BusinessDate
    @Option var zip: String?
    @Option var done: String?
    @Option var reason = "fixture"
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let day = OutboxDay(outboxRoot: config.outboxFolder, archiveRoot: config.archiveFolder + "/outbound",
                            partner: partner, date: date.date)
        do {
            var staged: [StagedFile] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: from).sorted() {
                // Copied in chunks, as a renderer streams: memory stays flat whatever the size.
                let path = try day.stagingPath(for: name)
                let file = try AtomicFile(path: path)
                var lines = 0
                try FileByteSource(path: from + "/" + name).forEachChunk(chunkBytes: 1 << 20) { chunk throws(FileAccessError) in
                    lines += chunk.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                    try file.write(chunk)
                }
                try file.commit()
                staged.append(StagedFile(fileName: name, fileType: String(name.prefix { $0 != "." }), spec: "fixture", path: path,
                                         sizeBytes: file.size, recordCount: lines,
                                         controlTotals: [ControlTotalValue(name: "lines", value: String(lines))],
                                         sha256Hex: try OutboxDigest.sha256Hex(path: path)))
            }
            let install = try day.install(staged, options: OutboxOptions(zipName: zip, doneMarkerName: done), reason: reason)
            try OutboundFiles.record(install, in: options.ledger(config))
            print("\(partner) \(date.date): version \(install.version)" + (install.changed ? "" : " (unchanged)"))
        } catch let error as OutboxError {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }
}
