import ArgumentParser
import Foundation
import ReckonCore
import ReckonLedger

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "The one alert list: every alert reckon raised, its severity, and who read it.",
        discussion: """
            Every alert has a code (the README's catalogue lists them with their severity, when \
            each is raised and what to do), a severity (critical, warning, info), a subject, a \
            message, when it was raised, the business day it was cleared on, and who read it when. \
            Each batch also writes its day's alerts to <outbox>/alerts/<date>.jsonl and runs the \
            commands reckon.yaml gives for alert codes (reconciliation: alert_commands:).
            """,
        subcommands: [AlertsList.self, AlertsRead.self]
    )
}

/// The filters `alerts list` and `alerts read --all` share: the one takes what the other shows.
struct AlertFilterOptions: ParsableArguments {
    @Option(help: "Only alerts of this business day.")
    var date: BusinessDate?

    @Option(help: "Only alerts with this code (see the README's catalogue).")
    var code: String?

    @Option(help: ArgumentHelp("""
        Only alerts raised before this time: 2024-12-16 (the start of that day), 2024-12-16T09:30, \
        2024-12-16 09:30:15; local time, unless it ends in Z or an offset (+08:00).
        """, valueName: "time"))
    var before: AlertTime?

    var isEmpty: Bool { date == nil && code == nil && before == nil }

    func validate() throws {
        if let code, AlertCode(rawValue: code) == nil {
            throw ValidationError("unknown alert code '\(code)'; the codes are \(AlertCode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func filter(unreadOnly: Bool) -> Ledger.AlertFilter {
        Ledger.AlertFilter(date: date?.date, code: code, unreadOnly: unreadOnly, raisedBefore: before?.stored)
    }
}

/// A time on the command line, kept as the ledger stores times (UTC).
struct AlertTime: ExpressibleByArgument {
    let stored: String

    init?(argument: String) {
        guard let stored = TimeText.stored(fromArgument: argument) else { return nil }
        self.stored = stored
    }
}

struct AlertsList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the alerts: oldest business day first, then by code and subject.",
        discussion: """
            Each alert: its number, business day, severity, code and subject, whether it was read \
            (and by whom), then its message, and when it was raised (local time), cleared and read. \
            --json prints one object: alerts, each with id, business_date, code, severity, subject, \
            message, raised_at (UTC), cleared_on, read_at (UTC) and read_by (null while unread).

              reckon alerts list --unread
              reckon alerts list --date 2024-12-16 --code file_missing --json
            """)

    @Flag(help: "Only alerts nobody has read.")
    var unread = false

    @OptionGroup var filter: AlertFilterOptions

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let alerts = try options.readingLedger(config).alerts(filter.filter(unreadOnly: unread))
        if json {
            print(JSONShape.object([("alerts", JSONShape.array(alerts.map { $0.json(read: true) }))]))
            return
        }
        for line in AlertText.render(alerts) { print(line) }
        if alerts.isEmpty {
            print(unread ? "no unread alerts" : "no alerts")
        } else {
            print("\(Plural.count(alerts.count, "alert")), \(AmountText.grouped(alerts.filter { !$0.isRead }.count)) unread")
        }
    }
}

struct AlertsRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Mark alerts read, with who read them and when.",
        discussion: """
            Name the alerts by number, or mark every unread alert --all takes (narrowed by --date, \
            --code and --before, as reckon alerts list shows them). An alert read already keeps \
            its first reader. An alert opened again after it was cleared is unread again.

              reckon alerts read 12 13
              reckon alerts read --all --before 2024-12-16 --as alice
            """)

    @Argument(help: "The alerts' numbers (reckon alerts list shows them).")
    var ids: [Int64] = []

    @Flag(help: "Every unread alert the filters take (all of them without filters).")
    var all = false

    @OptionGroup var filter: AlertFilterOptions

    @Option(name: .customLong("as"), help: ArgumentHelp("Who read them (default: $USER).", valueName: "name"))
    var reader: String?

    @Flag(help: "Print one JSON object: marked (the alerts marked, as reckon alerts list --json), already_read, by, at.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        if ids.isEmpty == !all {
            throw ValidationError(all ? "name the alerts by number or take them with --all, not both" : "name the alerts by number, or use --all")
        }
        if !all && !filter.isEmpty { throw ValidationError("--date, --code and --before narrow --all; numbered alerts need none") }
    }

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        let by = reader ?? ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? ""
        let at = TimeText.storedNow()
        let reading: Ledger.AlertReading
        do {
            reading = all ? try ledger.markAlertsRead(filter.filter(unreadOnly: true), by: by, at: at)
                          : try ledger.markAlertsRead(ids: ids, by: by, at: at)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            typealias J = JSONShape
            print(J.object([("marked", J.array(reading.marked.map { $0.json(read: true) })),
                            ("already_read", J.array(reading.alreadyRead.map { $0.json(read: true) })),
                            ("by", J.string(by)), ("at", J.string(at))]))
            return
        }
        for alert in reading.alreadyRead {
            print("#\(alert.id) was read already by \(alert.readBy ?? "-") at \(TimeText.local(alert.readAt ?? ""))")
        }
        print("\(Plural.count(reading.marked.count, "alert")) marked read by \(by) at \(TimeText.local(at))"
              + (reading.marked.isEmpty ? "" : ": " + reading.marked.map { "#\($0.id)" }.joined(separator: ", ")))
    }
}

/// Alerts as text: a table row each (number, day, severity, code, subject, read by), its
/// message beneath, then when it was raised, cleared and read.
enum AlertText {
    static func render(_ alerts: [Ledger.Alert]) -> [String] {
        guard !alerts.isEmpty else { return [] }
        let table = TextTable([("id", true), ("day", false), ("severity", false), ("code", false), ("subject", false), ("read", false)])
        let rows = alerts.map { alert in
            [String(alert.id), alert.businessDate, alert.severity.rawValue, alert.kind, DisplayText.escaped(alert.subject),
             alert.readBy.map(DisplayText.escaped) ?? "unread"]
        }
        let lines = table.render(rows)
        var out = [lines[0]]
        for (alert, line) in zip(alerts, lines.dropFirst()) {
            out.append(line)
            out += wrapped("    " + DisplayText.escaped(alert.message), indent: "")
            var when = "    raised \(TimeText.local(alert.raisedAt))"
            if let cleared = alert.clearedOn { when += ", cleared \(cleared)" }
            if let readAt = alert.readAt { when += ", read by \(DisplayText.escaped(alert.readBy ?? "-")) at \(TimeText.local(readAt))" }
            out.append(when)
        }
        return out
    }
}
