import Foundation
import Metrics
import ReckonLedger

/// The daemon's metrics, through swift-metrics (served by ReckonHTTP's /metrics when a
/// backend is bootstrapped; without one every call is a no-op). Names are issue 12's
/// contract (CONTRACT-12.md): counters per partner and file type, the open breaks, task runs,
/// SFTP errors, and the time from a file's completion to its posting.
struct DaemonMetrics: Sendable {
    static let filesReceived = "reckon_files_received_total"
    static let recordsPosted = "reckon_records_posted_total"
    static let fileFailures = "reckon_file_failures_total"
    static let breaksOpen = "reckon_breaks_open"
    static let taskRuns = "reckon_task_runs_total"
    static let taskDuration = "reckon_task_duration_seconds"
    static let taskLastSuccess = "reckon_task_last_success_timestamp_seconds"
    static let sftpErrors = "reckon_sftp_errors_total"
    static let fileLatency = "reckon_file_latency_seconds"

    /// A batch run's files and breaks.
    func record(_ report: BatchReport) {
        for result in report.ingested {
            let dimensions = [("partner", result.partner), ("type", result.fileType)]
            Counter(label: Self.filesReceived, dimensions: dimensions).increment()
            switch result.outcome {
            case .posted: Counter(label: Self.recordsPosted, dimensions: dimensions).increment(by: result.events)
            case .rejected, .stale: Counter(label: Self.fileFailures, dimensions: dimensions).increment()
            case .repeated, .setAside: break
            }
        }
        for failed in report.failedFiles {
            Counter(label: Self.fileFailures, dimensions: [("partner", failed.partner), ("type", failed.fileType)]).increment()
        }
        if let reconciliation = report.reconciliation {
            Gauge(label: Self.breaksOpen).record(reconciliation.openBreaks)
        }
    }

    /// A posted file's time from completion (first seen ready) to its posting.
    func recordLatency(seconds: Double) {
        Metrics.Timer(label: Self.fileLatency).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// An SFTP drop that could not be fetched.
    func recordSFTPError(partner: String) {
        Counter(label: Self.sftpErrors, dimensions: [("partner", partner)]).increment()
    }

    /// A scheduled task's run.
    func record(_ task: TaskRan, at now: Date) {
        Counter(label: Self.taskRuns, dimensions: [("task", task.task), ("outcome", task.outcome)]).increment()
        Metrics.Timer(label: Self.taskDuration, dimensions: [("task", task.task)])
            .recordNanoseconds(Int64(task.durationSeconds * 1e9))
        if task.outcome == "succeeded" {
            Gauge(label: Self.taskLastSuccess, dimensions: [("task", task.task)]).record(now.timeIntervalSince1970)
        }
    }
}
