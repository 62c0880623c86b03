import ReckonCore
import ReckonLedger

/// Things from the ledger in a line of text, with times shown as ``TimeText`` says.
enum Describe {
    /// `set aside by alice at 2024-12-17 16:00:00 +08:00: the partner re-sends tomorrow`
    static func action(_ action: FileAction) -> String {
        "\(action.kind == .setAside ? "set aside" : "reinstated") by \(action.actor) at \(TimeText.local(action.actedAt)): \(action.reason)"
    }

    /// `PLAT_LOAN_20241115.csv (file #1, SHA-256 1a2b3c4d5e6f…, received 2024-11-15 17:00:00 +08:00)`
    static func version(_ version: FileVersion) -> String {
        "\(version.name) (file #\(version.fileID), SHA-256 \(version.sha256.prefix(12))…, received \(TimeText.local(version.receivedAt)))"
    }

    /// A file of the day waiting for an operator, and what the operator can do.
    static func awaiting(_ file: AwaitingFile) -> String {
        var text = "#\(file.fileID) \(file.partner)/\(file.fileType) \(file.name) "
            + "(SHA-256 \(file.sha256.prefix(12))…, received \(TimeText.local(file.receivedAt)))"
        if file.status == "stale" {
            text += ": an earlier version sent again; reckon files reinstate \(file.fileID) or reckon files set-aside \(file.fileID), with --reason"
        } else {
            text += ": refused; fix and re-run the day, or reckon files set-aside \(file.fileID) --reason …"
            if let reportPath = file.reportPath { text += " (report: \(reportPath))" }
        }
        return text
    }

    /// `started 2024-12-16 09:00:01 +08:00, finished 09:00:04 (3 s)`
    static func span(_ run: Ledger.BatchRun) -> String {
        TimeText.span(started: run.startedAt, finished: run.finishedAt)
    }
}
