import Foundation
import Metrics

/// How a scheduled task's run ended, as the `outcome` label of `reckon_task_runs_total`
/// (the batch's outcomes: succeeded, failed, incomplete).
public enum TaskRunOutcome: String, Sendable, CaseIterable {
    case succeeded
    case failed
    case incomplete
}

/// The daemon's metrics, one typed method per metric, so callers never spell a metric name
/// or a label. Everything goes through swift-metrics' API on `factory` (the process's
/// bootstrapped one unless a test gives its own); the README's "Monitoring" lists them.
public struct DaemonMetrics: Sendable {
    /// Metric names, as Prometheus shows them.
    public enum Name {
        public static let filesReceived = "reckon_files_received_total"
        public static let recordsPosted = "reckon_records_posted_total"
        public static let fileFailures = "reckon_file_failures_total"
        public static let breaksOpen = "reckon_breaks_open"
        public static let taskRuns = "reckon_task_runs_total"
        public static let taskDuration = "reckon_task_duration_seconds"
        public static let taskLastSuccess = "reckon_task_last_success_timestamp_seconds"
        public static let sftpErrors = "reckon_sftp_errors_total"
        public static let fileLatency = "reckon_file_latency_seconds"
    }

    private let givenFactory: (any MetricsFactory)?

    /// - Parameter factory: where the metrics go; nil (the default) means swift-metrics'
    ///   current factory, looked up at each call: the one `Monitoring.bootstrap()` set up (even
    ///   when it runs after this init), or a test's bound with `withMetricsFactory`.
    public init(factory: (any MetricsFactory)? = nil) {
        self.givenFactory = factory
    }

    private var factory: any MetricsFactory {
        givenFactory ?? MetricsSystem.factory
    }

    /// A complete partner file was taken in (before it is posted or refused).
    public func fileReceived(partner: String, fileType: String) {
        counter(Name.filesReceived, partner: partner, fileType: fileType).increment()
    }

    /// `count` records of one file were posted to the ledger.
    public func recordsPosted(_ count: Int, partner: String, fileType: String) {
        precondition(count >= 0, "a count of posted records is never negative")
        counter(Name.recordsPosted, partner: partner, fileType: fileType).increment(by: count)
    }

    /// A file was refused, failed, or not posted whole.
    public func fileFailed(partner: String, fileType: String) {
        counter(Name.fileFailures, partner: partner, fileType: fileType).increment()
    }

    /// The ledger's open breaks now (set, not added to).
    public func breaksOpen(_ count: Int) {
        Gauge(label: Name.breaksOpen, factory: factory).record(count)
    }

    /// A scheduled task ran: counts the run under its outcome, records its duration, and on
    /// success sets the task's last-success time (Unix seconds) to `finishedAt`.
    public func taskRan(task: String, outcome: TaskRunOutcome, duration: Duration, finishedAt: Date) {
        Counter(label: Name.taskRuns, dimensions: [("task", task), ("outcome", outcome.rawValue)], factory: factory)
            .increment()
        Timer(label: Name.taskDuration, dimensions: [("task", task)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
        if outcome == .succeeded {
            Gauge(label: Name.taskLastSuccess, dimensions: [("task", task)], factory: factory)
                .record(finishedAt.timeIntervalSince1970)
        }
    }

    /// An SFTP operation against a partner's server failed (connect, host key, transfer).
    public func sftpError(partner: String) {
        Counter(label: Name.sftpErrors, dimensions: [("partner", partner)], factory: factory).increment()
    }

    /// The time from a file's completion (its marker, or its size settling) to its posting.
    public func fileLatency(_ duration: Duration) {
        Timer(label: Name.fileLatency, factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    // The registry hands back the same series for the same name and labels, so making the
    // handle per call costs a lookup, and callers need no cache of label combinations.
    private func counter(_ name: String, partner: String, fileType: String) -> Counter {
        Counter(label: name, dimensions: [("partner", partner), ("type", fileType)], factory: factory)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (swift-metrics' timers take Int64 nanoseconds).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow
            ? .max : scaled + attoseconds / 1_000_000_000
    }
}
