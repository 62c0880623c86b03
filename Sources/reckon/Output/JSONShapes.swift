import ReckonCore
import ReckonFiles
import ReckonLedger

/// The JSON each command prints with `--json`: one object per command (JSON lines for
/// streams: `spec check`, `ledger export`), members in a fixed order. One rule for every
/// command (README, "JSON output"): amounts are integers of minor units in members named
/// `…_minor` (two decimals: 1204942 is 12,049.42), with the currency beside them where the
/// output has one; values read from a file keep the field's decimals and name them
/// (`scale`); dates are ISO (`2024-12-16`), times ISO UTC as stored (`2024-12-16T01:00:01Z`);
/// no value is null.
enum JSONShape {
    static func string(_ text: String?) -> String { text.map(JSONText.quote) ?? "null" }
    static func number(_ value: Int?) -> String { value.map(String.init) ?? "null" }
    static func number(_ value: Int64?) -> String { value.map(String.init) ?? "null" }
    static func bool(_ value: Bool) -> String { value ? "true" : "false" }
    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
    static func strings(_ items: [String]) -> String { array(items.map(JSONText.quote)) }
    static func object(_ members: [(String, String)]) -> String { JSONText.object(members) }

    /// An operator's decision.
    static func action(_ action: FileAction) -> String {
        object([("action", string(action.kind.rawValue)), ("file_id", number(action.fileID)),
                ("business_date", string(action.businessDate)), ("partner", string(action.partner)),
                ("file_type", string(action.fileType)), ("reason", string(action.reason)), ("by", string(action.actor)),
                ("at", string(action.actedAt))])
    }

    static func version(_ version: FileVersion) -> String {
        object([("file_id", String(version.fileID)), ("name", string(version.name)), ("sha256", string(version.sha256)),
                ("received_at", string(version.receivedAt)), ("archive", string(version.archivePath))])
    }

    /// A file's check: records, controls (declared and actual, at the control's scale),
    /// problems as the report words them.
    static func check(_ report: FileReport) -> [(String, String)] {
        let controls = report.controls.map { verdict in
            object([("name", string(verdict.control)), ("holds", bool(verdict.holds)),
                    ("declared", number(verdict.declared?.units)), ("actual", String(verdict.actual.units)),
                    ("scale", String(verdict.actual.scale)), ("note", string(verdict.note.map(DisplayText.escaped)))])
        }
        return [("records_read", String(report.recordsRead)), ("records_rejected", String(report.recordsRejected)),
                ("controls_hold", bool(report.controlsHold)), ("controls", array(controls)),
                ("problems", strings(report.problems.map(\.description))), ("problems_omitted", String(report.problemsOmitted)),
                ("warnings", strings(report.warnings.map(\.description))), ("warnings_count", String(report.warningCount)),
                ("structure", strings(report.structure.map(DisplayText.escaped))),
                ("failure", string(report.failure?.description))]
    }

    /// One file taken in (`reckon ingest`, each file of `reckon batch`, `files reinstate`).
    static func ingest(_ result: IngestResult) -> String {
        var members: [(String, String)] = [
            ("file", string(result.file)), ("partner", string(result.partner)), ("file_type", string(result.fileType)),
            ("business_date", string(result.businessDate.description)),
            ("outcome", string(result.outcome.rawValue.replacingOccurrences(of: " ", with: "_"))),
            ("file_id", number(result.fileID)), ("events", String(result.events)), ("entries", String(result.entries)),
            ("duplicates", String(result.duplicateCount)), ("records_not_posted", String(result.recordsNotPosted)),
            ("superseded_file_id", number(result.superseded)), ("archive", string(result.archivePath)),
            ("quarantine", string(result.quarantinePath)), ("report", string(result.reportPath)),
        ]
        if let report = result.report { members += check(report) }
        members.append(("versions", result.versions.map {
            object([("delivery", version($0.delivery)), ("repeats", version($0.repeats)), ("current", version($0.current))])
        } ?? "null"))
        members.append(("set_aside", result.setAside.map(action) ?? "null"))
        return object(members)
    }

    /// The plan step's counts and the alerts it raised.
    static func plans(_ plans: PlanStepReport) -> String {
        let alerts = plans.alerts.map { text -> String in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            return object([("kind", string(parts[0])), ("message", string(parts.count > 1 ? String(parts[1].dropFirst()) : ""))])
        }
        return object([("planned", String(plans.planned)), ("repayments_applied", String(plans.repaymentsApplied)),
                       ("loans_brought_to_the_day", String(plans.loansRefreshed)), ("loans_recomputed", String(plans.loansRecomputed)),
                       ("loans_unchanged", String(plans.loansUnchanged)), ("overdue_lines", String(plans.overdueLines)),
                       ("plan_differences", String(plans.differences)), ("alerts_raised", String(plans.alertCount)),
                       ("alerts", array(alerts)), ("alerts_not_listed", String(plans.alertCount - plans.alerts.count))])
    }
}
