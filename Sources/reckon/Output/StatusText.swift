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
        for file in day.refused where !skipping.contains(file.fileID) { text += "  ✗ refused, awaiting action: \(file)\n" }
        for file in day.stale where !skipping.contains(file.fileID) { text += "  ✗ sent again, awaiting a decision: \(file)\n" }
        for action in day.setAside {
            let what = action.fileID.map { "file #\($0)" } ?? "the missing file"
            text += "  – set aside: \(action.partner)/\(action.fileType) \(what), \(action.description)\n"
        }
        return text
    }

    static func headline(_ day: DayFiles) -> String {
        var parts: [String] = []
        func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        if !day.missing.isEmpty { parts.append(count(day.missing.count, "expected file missing", "expected files missing")) }
        if !day.refused.isEmpty { parts.append(count(day.refused.count, "refused file awaiting action", "refused files awaiting action")) }
        if !day.stale.isEmpty { parts.append(count(day.stale.count, "earlier version sent again", "earlier versions sent again")) }
        if !day.setAside.isEmpty { parts.append(count(day.setAside.count, "set aside", "set aside")) }
        return "day \(day.date): " + (day.isComplete ? "complete" + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))") : parts.joined(separator: ", "))
    }

    static func json(_ day: DayFiles) -> String {
        func file(_ file: AwaitingFile) -> String {
            JSONText.object([("file_id", String(file.fileID)), ("partner", JSONText.quote(file.partner)),
                             ("file_type", JSONText.quote(file.fileType)), ("name", JSONText.quote(file.name)),
                             ("sha256", JSONText.quote(file.sha256)), ("received_at", JSONText.quote(file.receivedAt)),
                             ("report", file.reportPath.map(JSONText.quote) ?? "null")])
        }
        let missing = day.missing.map {
            JSONText.object([("partner", JSONText.quote($0.partner)), ("file_type", JSONText.quote($0.fileType)),
                             ("name", JSONText.quote($0.name)), ("expected", JSONText.quote($0.rule))])
        }
        let setAside = day.setAside.map {
            JSONText.object([("file_id", $0.fileID.map(String.init) ?? "null"), ("partner", JSONText.quote($0.partner)),
                             ("file_type", JSONText.quote($0.fileType)), ("reason", JSONText.quote($0.reason)),
                             ("by", JSONText.quote($0.actor)), ("at", JSONText.quote($0.actedAt))])
        }
        return JSONText.object([
            ("date", JSONText.quote(day.date.description)), ("complete", day.isComplete ? "true" : "false"),
            ("missing", "[" + missing.joined(separator: ",") + "]"),
            ("refused", "[" + day.refused.map(file).joined(separator: ",") + "]"),
            ("sent_again", "[" + day.stale.map(file).joined(separator: ",") + "]"),
            ("set_aside", "[" + setAside.joined(separator: ",") + "]"),
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
        if json {
            print(self.json(runs: runs, days: days, alerts: alerts, files: files))
            return
        }
        if runs.isEmpty { print(date.map { "no batch runs for \($0)" } ?? "no batch runs") }
        for run in runs {
            print(line(run))
            for waiting in run.waiting { print("  … \(waiting)") }
        }
        for day in days {
            print(DayText.headline(day))
            print(DayText.render(day), terminator: "")
        }
        if !alerts.isEmpty {
            print("open alerts: " + alerts.map { "\($0.count) \($0.kind)" }.joined(separator: ", ") + " (reckon plan alerts)")
        }
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

    /// `batch run #7 for 2024-12-17 (collect,ingest,plan): incomplete — … — started …`
    static func line(_ run: Ledger.BatchRun) -> String {
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
        var text = "batch run #\(run.id) for \(run.businessDate) (\(run.steps)): \(state)"
        if run.status != "running", let summary = run.summary { text += ", \(summary)" }
        text += " — started \(run.startedAt)"
        if let finished = run.finishedAt { text += ", ended \(finished)" }
        return text
    }

    static func json(runs: [Ledger.BatchRun], days: [DayFiles], alerts: [(kind: String, count: Int)],
                     files: [Ledger.ReceivedFile]) -> String {
        func string(_ text: String?) -> String { text.map(JSONText.quote) ?? "null" }
        let runItems = runs.map { run in
            JSONText.object([
                ("id", String(run.id)), ("business_date", string(run.businessDate)), ("steps", string(run.steps)),
                ("status", string(run.state)), ("recorded_status", string(run.status)), ("step", string(run.lastStep)),
                ("pid", run.pid.map(String.init) ?? "null"), ("host", string(run.host)),
                ("started_at", string(run.startedAt)), ("ended_at", string(run.finishedAt)),
                ("summary", string(run.lastWords?.reason ?? run.summary)),
                ("waiting", "[" + run.waiting.map(JSONText.quote).joined(separator: ",") + "]"),
            ])
        }
        let alertItems = alerts.map { JSONText.object([("kind", JSONText.quote($0.kind)), ("open", String($0.count))]) }
        let fileItems = files.map { file in
            JSONText.object([
                ("id", String(file.id)), ("business_date", string(file.businessDate)), ("partner", string(file.partner)),
                ("file_type", string(file.fileType)), ("name", string(file.name)), ("status", string(file.status)),
                ("records_read", String(file.recordsRead)), ("records_rejected", String(file.recordsRejected)),
                ("duplicates", String(file.duplicates)), ("events", String(file.events)), ("entries", String(file.entries)),
                ("report", string(file.reportPath)),
            ])
        }
        return JSONText.object([
            ("runs", "[" + runItems.joined(separator: ",") + "]"),
            ("days", "[" + days.map(DayText.json).joined(separator: ",") + "]"),
            ("open_alerts", "[" + alertItems.joined(separator: ",") + "]"),
            ("files", "[" + fileItems.joined(separator: ",") + "]"),
        ])
    }
}
