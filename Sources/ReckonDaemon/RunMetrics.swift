import Foundation
import ReckonHTTP
import ReckonLedger

/// What the daemon's work means for its metrics: a batch run's files and breaks, a task's
/// run, an SFTP failure, a file's latency, each handed to ReckonHTTP's typed
/// ``DaemonMetrics`` (served at /metrics when `daemon.http` is configured; without a
/// bootstrapped backend every call is a no-op).
struct RunMetrics: Sendable {
    let metrics = DaemonMetrics()

    /// A file taken in, as soon as it is; a posted one's time since it was first seen complete.
    func record(_ result: IngestResult, secondsSinceReady: Double?) {
        metrics.fileReceived(partner: result.partner, fileType: result.fileType)
        switch result.outcome {
        case .posted: metrics.recordsPosted(result.events, partner: result.partner, fileType: result.fileType)
        case .rejected, .stale: metrics.fileFailed(partner: result.partner, fileType: result.fileType)
        case .repeated, .setAside: break
        }
        if let secondsSinceReady { metrics.fileLatency(.nanoseconds(Int64(secondsSinceReady * 1e9))) }
    }

    /// A batch run's files that could not be taken in at all, and its breaks (its files are
    /// counted one by one as they are taken in).
    func record(_ report: BatchReport) {
        for failed in report.failedFiles {
            metrics.fileFailed(partner: failed.partner, fileType: failed.fileType)
        }
        if let reconciliation = report.reconciliation {
            metrics.breaksOpen(reconciliation.openBreaks)
        }
    }

    /// An SFTP drop that could not be fetched.
    func recordSFTPError(partner: String) {
        metrics.sftpError(partner: partner)
    }

    /// A scheduled task's run.
    func record(_ task: TaskRan, at now: Date) {
        metrics.taskRan(task: task.task, outcome: TaskRunOutcome(rawValue: task.outcome) ?? .failed,
                        duration: .nanoseconds(Int64(task.durationSeconds * 1e9)), finishedAt: now)
    }
}
