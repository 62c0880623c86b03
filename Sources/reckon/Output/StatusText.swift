import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

/// Where a business day's files stand, for people: missing, refused, sent again, set aside.
enum DayText {
    /// One line per file; files in `skipping` (this run's, already shown) are left out.
    static func render(_ day: DayFiles, skipping: Set<Int64> = []) -> String {
        var text = ""
        for file in day.missing { text += "  ✗ missing: \(file)\n" }
        for file in day.late { text += "  ⏰ late: \(file)\n" }
        for file in day.refused where !skipping.contains(file.fileID) { text += "  ✗ refused, awaiting action: \(Describe.awaiting(file))\n" }
        for file in day.stale where !skipping.contains(file.fileID) { text += "  ✗ sent again, awaiting a decision: \(Describe.awaiting(file))\n" }
        for action in day.setAside {
            let what = action.fileID.map { "file #\($0)" } ?? "the missing file"
            text += "  – set aside: \(action.partner)/\(action.fileType) \(what), \(Describe.action(action))\n"
        }
        return text
    }

    static func headline(_ day: DayFiles) -> String {
        var parts: [String] = []
        if !day.missing.isEmpty { parts.append(Plural.count(day.missing.count, "expected file") + " missing") }
        if !day.late.isEmpty { parts.append(AmountText.grouped(day.late.count) + " late") }
        if !day.refused.isEmpty { parts.append(Plural.count(day.refused.count, "refused file") + " awaiting action") }
        if !day.stale.isEmpty { parts.append(Plural.count(day.stale.count, "earlier version") + " sent again") }
        if !day.setAside.isEmpty { parts.append(AmountText.grouped(day.setAside.count) + " set aside") }
        return "day \(day.date): " + (day.isComplete ? "complete" + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))") : parts.joined(separator: ", "))
    }

    static func late(_ file: LateFile) -> String {
        typealias J = JSONShape
        return J.object([("partner", J.string(file.partner)), ("file_type", J.string(file.fileType)),
                         ("business_date", J.string(file.date.description)), ("name", J.string(file.name)),
                         ("deadline", J.string(file.deadline))])
    }

    static func json(_ day: DayFiles) -> String {
        typealias J = JSONShape
        func file(_ file: AwaitingFile) -> String {
            J.object([("file_id", String(file.fileID)), ("partner", J.string(file.partner)),
                      ("file_type", J.string(file.fileType)), ("name", J.string(file.name)),
                      ("sha256", J.string(file.sha256)), ("received_at", J.string(file.receivedAt)),
                      ("report", J.string(file.reportPath))])
        }
        let missing = day.missing.map {
            J.object([("partner", J.string($0.partner)), ("file_type", J.string($0.fileType)),
                      ("name", J.string($0.name)), ("expected", J.string($0.rule))])
        }
        return J.object([
            ("business_date", J.string(day.date.description)), ("complete", J.bool(day.isComplete)),
            ("missing", J.array(missing)),
            ("late", J.array(day.late.map(late))),
            ("refused", J.array(day.refused.map(file))),
            ("sent_again", J.array(day.stale.map(file))),
            ("set_aside", J.array(day.setAside.map(JSONShape.action))),
        ])
    }
}

/// The files received, as `reckon status` and `reckon files list` show them: a table, each
/// file's report and the decisions about it under it.
enum FilesTable {
    static func render(_ files: [Ledger.ReceivedFile], actions: [FileAction] = []) -> [String] {
        let table = TextTable([("#", true), ("date", false), ("partner/type", false), ("name", false), ("status", false),
                               ("read", true), ("rejected", true), ("duplicates", true), ("events", true), ("entries", true)])
        let grouped = AmountText.grouped
        let lines = table.render(files.map { file in
            [String(file.id), file.businessDate, "\(file.partner)/\(file.fileType)", DisplayText.escaped(file.name), file.status,
             grouped(file.recordsRead), grouped(file.recordsRejected), grouped(file.duplicates), grouped(file.events), grouped(file.entries)]
        })
        var out = [lines[0]]
        let indent = String(repeating: " ", count: String(files.map(\.id).max() ?? 0).count + 2)
        for (file, line) in zip(files, lines.dropFirst()) {
            out.append(line)
            if let report = file.reportPath { out.append(indent + "report: \(report)") }
            for action in actions where action.fileID == file.id { out += wrapped(indent + Describe.action(action)) }
        }
        return out
    }

    static func json(_ file: Ledger.ReceivedFile, actions: [FileAction]) -> String {
        typealias J = JSONShape
        return J.object([
            ("id", String(file.id)), ("business_date", J.string(file.businessDate)), ("partner", J.string(file.partner)),
            ("file_type", J.string(file.fileType)), ("name", J.string(file.name)), ("status", J.string(file.status)),
            ("records_read", String(file.recordsRead)), ("records_rejected", String(file.recordsRejected)),
            ("duplicates", String(file.duplicates)), ("events", String(file.events)), ("entries", String(file.entries)),
            ("report", J.string(file.reportPath)),
            ("decisions", J.array(actions.filter { $0.fileID == file.id }.map(J.action))),
        ])
    }
}

/// `reckon status`: the latest runs, the days they ran, open alerts, the files received.
enum StatusText {
    static func show(_ ledger: Ledger, config: ReckonConfig, date: CivilDate?, json: Bool) throws {
        let runs = try ledger.batchRuns(limit: date == nil ? 3 : 50, date: date)
        var dates: [CivilDate] = []
        for day in (date.map { [$0] } ?? runs.compactMap { CivilDate(iso: $0.businessDate) }) where !dates.contains(day) {
            dates.append(day)
        }
        // Status is for when things are wrong: an unreadable calendar costs precision, not
        // the answer.
        let calendar: BusinessCalendar?
        do {
            calendar = try ReferenceData.load(config).calendar
        } catch {
            printError("reckon: \(error); working days are taken as Monday to Friday")
            calendar = BusinessCalendar(name: "weekdays", years: [], offDays: [], workDays: [])
        }
        let days = try dates.map { try ledger.dayFiles($0, config: config, calendar: calendar) }
        let alerts = try ledger.openAlerts()
        let files = try ledger.receivedFiles(date: date)
        let actions = try ledger.fileActions(date: date)
        let switches = try ledger.stepSwitches()
        if json {
            print(self.json(runs: runs, days: days, alerts: alerts, files: files, actions: actions, switches: switches))
            return
        }
        var lines: [String] = []
        let paused = switches.filter(\.paused)
        if !paused.isEmpty { lines.append("⏸ " + SwitchText.paused(paused) + " (reckon resume STEP; reckon switches)") }
        if runs.isEmpty { lines.append(date.map { "no batch runs for \($0)" } ?? "no batch runs") }
        for run in runs { lines += self.lines(run) }
        for day in days {
            lines.append(DayText.headline(day))
            lines += DayText.render(day).split(separator: "\n").map(String.init)
        }
        if !alerts.isEmpty {
            lines.append("open alerts: " + alerts.map { "\(AmountText.grouped($0.count)) \($0.kind)" }.joined(separator: ", ") + " (reckon alerts list)")
        }
        if files.isEmpty {
            lines.append("no files received")
        } else {
            lines.append("files received\(date.map { " for \($0)" } ?? ""):")
            lines += FilesTable.render(files, actions: actions).map { "  " + $0 }
        }
        for line in lines {
            for piece in wrapped(line) { print(piece) }
        }
    }

    /// `batch run #7 for 2024-12-17 (collect,ingest,plan): incomplete`, then when it started
    /// and finished, then its summary a part a line.
    static func lines(_ run: Ledger.BatchRun) -> [String] {
        var state = run.state
        let process = "pid \(run.pid.map(String.init) ?? "?") on \(run.host ?? "?")"
        if run.status == "running" {
            if let words = run.lastWords {
                state += " (\(process) is gone; its last words: \(words.reason))"
            } else if run.isGone {
                state += " \(run.lastStep.map { "during \($0)" } ?? "before its first step") (\(process) is gone; the next run records it)"
            } else {
                state += ": \(run.lastStep.map { "\($0) " } ?? "")(\(process))"
            }
        }
        var lines = ["batch run #\(run.id) for \(run.businessDate) (\(run.steps)): \(state)", "  " + Describe.span(run)]
        if run.status != "running", let summary = run.summary {
            lines += summary.components(separatedBy: "; ").map { "  " + $0 }
        }
        lines += run.waiting.map { "  … \($0)" }
        return lines
    }

    static func json(runs: [Ledger.BatchRun], days: [DayFiles], alerts: [(kind: String, count: Int)],
                     files: [Ledger.ReceivedFile], actions: [FileAction], switches: [StepSwitch]) -> String {
        typealias J = JSONShape
        let runItems = runs.map { run in
            J.object([
                ("id", String(run.id)), ("business_date", J.string(run.businessDate)), ("steps", J.string(run.steps)),
                ("status", J.string(run.state)), ("recorded_status", J.string(run.status)), ("step", J.string(run.lastStep)),
                ("pid", J.number(run.pid)), ("host", J.string(run.host)),
                ("started_at", J.string(run.startedAt)), ("finished_at", J.string(run.finishedAt)),
                ("duration_seconds", J.number(TimeText.seconds(from: run.startedAt, to: run.finishedAt))),
                ("summary", J.string(run.lastWords?.reason ?? run.summary)),
                ("waiting", J.strings(run.waiting)),
            ])
        }
        let alertItems = alerts.map { J.object([("kind", J.string($0.kind)), ("open", String($0.count))]) }
        return J.object([
            ("runs", J.array(runItems)),
            ("days", J.array(days.map(DayText.json))),
            ("open_alerts", J.array(alertItems)),
            ("files", J.array(files.map { FilesTable.json($0, actions: actions) })),
            ("switches", J.array(switches.map { J.object(SwitchText.item($0)) })),
        ])
    }
}
