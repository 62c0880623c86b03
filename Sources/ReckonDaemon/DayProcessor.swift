import Foundation
import Logging
import ReckonCore
import ReckonFiles
import ReckonLedger

/// Runs a business day's steps for files that arrived: the same ``Batch/run`` as
/// `reckon batch`, with the steps collect, ingest, plan and reconcile (settle and deliver
/// when the daemon settles). Ingest is idempotent, so a file already in the ledger costs a
/// digest and posts nothing twice.
struct DayProcessor: Sendable {
    let config: ReckonConfig
    let ledger: Ledger
    let hooks: DaemonHooks
    let metrics: RunMetrics
    let logger: Logger

    static let processingSteps: [BatchStep] = [.collect, .ingest, .plan, .reconcile]
    /// New files taken in, nothing more: the day's plan and reconcile steps follow once the
    /// day is quiet (``processingSteps``, with no new file to take).
    static let ingestSteps: [BatchStep] = [.collect, .ingest]

    /// One run of the day's steps; nil when the run could not start or ended in an error
    /// (logged). `fetched` is this tick's SFTP fetch, recorded by the run as its own.
    /// `only`: the files found new, the only ones the run collects and takes in (nil: all the
    /// day's); `readySeconds` says how long ago a file was first seen complete (its latency).
    func run(_ date: CivilDate, steps: [BatchStep], only: Set<String>? = nil, fetched: RemoteDropsFetched?,
             stability: SharedStabilityWatch, shouldStop: @escaping @Sendable () -> Bool,
             readySeconds: @escaping @Sendable (String) -> Double? = { _ in nil }) -> BatchReport? {
        var options = hooks.makeBatchOptions(date, steps, nil)
        options.onlyFiles = only
        // The tick fetched already: the run records what that found (alerts, problems).
        if let fetched {
            options.fetchRemoteDrops = { @Sendable _, _ in fetched }
        } else {
            options.fetchRemoteDrops = nil
        }
        options.maximumWaitSeconds = 0
        // New files alone: the day's alert file (every alert of the day, rewritten whole) is
        // written by the day's plan and reconcile run that follows, unless this run raised
        // an alert of its own (a file refused, failed or late, an error).
        options.deferAlertsWhenClean = steps == Self.ingestSteps
        options.stabilityWatch = stability
        options.shouldStop = shouldStop
        let day = logger.with(["business_date": "\(date)"])
        // Each file logged and counted as soon as it is taken in, not when the run ends.
        let metrics = self.metrics
        options.fileIngested = { result in
            Self.log(result, logger: day)
            metrics.record(result, secondsSinceReady: result.outcome == .posted ? readySeconds(result.file) : nil)
        }
        day.info("run started", metadata: ["steps": "\(steps.map(\.rawValue).joined(separator: ","))"])
        let report: BatchReport
        do {
            let progressed = hooks.tickProgressed
            report = try Batch.run(options, config: config, ledger: ledger) { _ in progressed?(Date()) }
        } catch {
            day.error("run could not finish: \(error)")
            return nil
        }
        log(report, logger: day)
        metrics.record(report)
        return report
    }

    /// One file taken in, as a log line with its partner, type and name.
    private static func log(_ result: IngestResult, logger: Logger) {
        let file = logger.with(["partner": "\(result.partner)", "file_type": "\(result.fileType)",
                                "file": "\(DisplayText.escaped(result.file))"])
        switch result.outcome {
        case .posted where result.recordsNotPosted == 0:
            file.info("file posted", metadata: ["events": "\(result.events)", "entries": "\(result.entries)"])
        case .posted:
            file.warning("file posted in part", metadata: ["records_not_posted": "\(result.recordsNotPosted)"])
        case .repeated, .setAside:
            file.info("file \(result.outcome.rawValue): nothing posted")
        case .rejected, .stale:
            file.error("file \(result.outcome.rawValue): nothing posted", metadata: ["report": "\(result.reportPath ?? "")"])
        }
    }

    private func log(_ report: BatchReport, logger: Logger) {
        for failed in report.failedFiles {
            logger.error("file could not be taken in: \(failed.reason)",
                         metadata: ["partner": "\(failed.partner)", "file_type": "\(failed.fileType)",
                                    "file": "\(DisplayText.escaped(failed.path))"])
        }
        let line: Logger.Message = "run \(report.outcome.rawValue): \(Batch.summary(report))"
        let metadata: Logger.Metadata = ["run_id": "\(report.runID.map(String.init) ?? "-")"]
        switch report.outcome {
        case .succeeded: logger.info(line, metadata: metadata)
        case .incomplete: logger.notice(line, metadata: metadata)
        case .failed: logger.error(line, metadata: metadata)
        }
    }
}

extension Logger {
    /// A copy with more metadata.
    func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
