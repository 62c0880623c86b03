import Dispatch

/// Runs the monitoring server's tasks on a serial dispatch queue of their own rather than
/// Swift's cooperative pool (one thread per core), so /healthz and /metrics answer even while
/// the daemon's blocking work (an ingest's SQLite transaction, say) holds every pool thread.
/// Hummingbird handles each connection in a child task, which inherits this preference.
@available(macOS 15.0, *)
final class MonitoringExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "reckon.http.monitoring")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
