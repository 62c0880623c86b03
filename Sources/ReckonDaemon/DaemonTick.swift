import Foundation
import Logging
import ReckonCore
import ReckonFiles
import ReckonLedger

/// One look at everything the daemon watches, run on the daemon's worker thread: the SFTP
/// drops fetched, the local drops looked at, each day with new complete files run through
/// its steps, the day settled when asked, then the scheduled tasks due and the deadlines.
final class DaemonTick: @unchecked Sendable {
    let config: ReckonConfig
    let ledger: Ledger
    let settings: DaemonSettings
    let hooks: DaemonHooks
    let metrics: RunMetrics
    let logger: Logger
    private var watch: DropWatch
    private let remote: RemotePoll
    private let processor: DayProcessor
    /// Days whose ledger changed since they were last settled (settle mode), with whether
    /// their last run succeeded.
    private var unsettled: [CivilDate: Bool] = [:]
    /// Days whose new files are posted but whose plan and reconcile steps have not run since:
    /// they run once the day is quiet (no new file in a look, none settling).
    private var unplanned: Set<CivilDate> = []
    /// When a new or settling file was last seen (monotonic), for the plan's quiet wait.
    private var lastArrivalNanoseconds: UInt64 = 0
    /// The partners whose host key was refused, as the ledger's alerts last heard it.
    private var refusedRecorded: Set<String> = []

    init(config: ReckonConfig, ledger: Ledger, settings: DaemonSettings, hooks: DaemonHooks, logger: Logger) {
        self.config = config
        self.ledger = ledger
        self.settings = settings
        self.hooks = hooks
        self.logger = logger
        metrics = RunMetrics()
        watch = DropWatch(config: config)
        var daySucceeded: [CivilDate: Bool] = [:]
        watch.knownToLedger = { path, partner, date in
            // The day's last run must be one that planned and reconciled it, and succeeded: a
            // day stopped after its files were posted (before its plan and reconcile steps) runs again.
            let succeeded = daySucceeded[date] ?? ((try? ledger.batchRuns(limit: 1, date: date).first).flatMap { $0 }.map {
                $0.state == "succeeded" && $0.steps.split(separator: ",").contains("reconcile")
            } ?? false)
            daySucceeded[date] = succeeded
            guard succeeded, let digest = try? FileDigest(path: path) else { return false }
            return (try? ledger.hasReceived(sha256: digest.hex, partner: partner)) ?? false
        }
        remote = RemotePoll(config: config, hooks: hooks, metrics: metrics, logger: logger)
        processor = DayProcessor(config: config, ledger: ledger, hooks: hooks, metrics: metrics, logger: logger)
    }

    struct Outcome: Sendable {
        /// Nothing new was found or done, and no file is still settling.
        var idle = true
        /// A run was made: the next look comes at once (more may have arrived meanwhile).
        var ran = false
        /// Runs whose outcome was not success.
        var runsNotSucceeded = 0
        /// What went wrong in the tick, one line each (a run that could not finish, SFTP).
        var problems: [String] = []
    }

    /// `monotonicNanoseconds`: the tick's reading of the monotonic clock (the plan's quiet
    /// wait is measured on it; tests give their own).
    func once(now: Date, stop: StopRequest, monotonicNanoseconds: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Outcome {
        var outcome = Outcome()
        let today = settings.businessDay(at: now)
        let paused = hooks.pausedSteps()
        let fetched = remote.poll(today, paused: paused)
        outcome.problems += fetched?.problems ?? []
        var look = watch.look(today: today, onlyToday: settings.pinnedDate != nil)
        // Files settling on the servers are the day's too: look again soon, plan after them.
        if let fetched, fetched.settling > 0 { look.settlingDays.insert(today) }
        if look.settling > 0 || (fetched?.settling ?? 0) > 0 { outcome.idle = false }
        if !look.days.isEmpty || !look.settlingDays.isEmpty { lastArrivalNanoseconds = monotonicNanoseconds }
        // New files first, only they, posted as soon as they are complete: a file's wait is
        // its own posting, not the day's plan and reconcile steps or the day's other files.
        for (date, files) in look.days {
            if stop.isRequested { return outcome }
            outcome.idle = false
            outcome.ran = true
            let readySince = watch.readySinceSnapshot()
            guard let report = processor.run(date, steps: DayProcessor.ingestSteps, only: Set(files.map(\.path)),
                                              fetched: date == today ? fetched : nil, stability: watch.stability,
                                              shouldStop: { stop.isRequested },
                                              readySeconds: { DropWatch.secondsSince(readySince[$0]) }) else {
                outcome.runsNotSucceeded += 1
                outcome.problems.append("the run of \(date) could not finish (see the log)")
                continue
            }
            // What the run dealt with is taken; a file it did not reach (a stop) is not.
            let dealt = Set(report.ingested.map(\.file) + report.failedFiles.map(\.path))
            watch.markTaken(files.map(\.path).filter(dealt.contains))
            unplanned.insert(date)
        }
        // Then the day's plan and reconcile steps, once the day is quiet: every complete file
        // in, none settling, none new for the quiet seconds (they read the whole day: a file
        // that comes while they run waits for them). The same steps as `reckon batch`.
        let quiet = Double(monotonicNanoseconds &- lastArrivalNanoseconds) / 1e9 >= settings.effectivePlanQuietSeconds
        for date in unplanned.sorted() where quiet && !look.days.contains(where: { $0.date == date }) && !look.settlingDays.contains(date) {
            if stop.isRequested { return outcome }
            outcome.idle = false
            outcome.ran = true
            guard let report = processor.run(date, steps: DayProcessor.processingSteps, only: [], fetched: nil,
                                              stability: watch.stability, shouldStop: { stop.isRequested }) else {
                outcome.runsNotSucceeded += 1
                outcome.problems.append("the run of \(date) could not finish (see the log)")
                continue
            }
            if report.outcome != .succeeded { outcome.runsNotSucceeded += 1 }
            if !report.stopped { unplanned.remove(date) }
            if settings.settle, !report.stopped { unsettled[date] = report.outcome == .succeeded }
        }
        if !unplanned.isEmpty { outcome.idle = false }
        if stop.isRequested { return outcome }
        if let fetched {
            let refused = Set(fetched.hostKeyRefusals.map(\.partner))
            if refused != refusedRecorded && !look.days.contains(where: { $0.date == today }) {
                recordFetch(fetched, today, stop: stop)
                outcome.idle = false
                outcome.ran = true
            }
            refusedRecorded = refused
        }
        if settleIfDue(today, stop: stop) {
            outcome.idle = false
            outcome.ran = true
        }
        runScheduledWork(now: now, stop: stop)
        return outcome
    }

    /// A refused host key is an alert of the day even when no file comes: a collect-only run
    /// records what the fetch found (raised, or cleared once the key is accepted again). Run
    /// when the refused servers change, not every tick.
    private func recordFetch(_ fetched: RemoteDropsFetched, _ today: CivilDate, stop: StopRequest) {
        _ = processor.run(today, steps: [.collect], fetched: fetched, stability: watch.stability, shouldStop: { stop.isRequested })
    }

    /// Settles the day when its last run succeeded (its files all in and posted) and
    /// something changed since it was last settled; true when it ran.
    private func settleIfDue(_ today: CivilDate, stop: StopRequest) -> Bool {
        guard settings.settle, unsettled[today] == true else { return false }
        unsettled[today] = nil
        var steps: [BatchStep] = [.settle]
        if config.partners.contains(where: { $0.outbound?.deliverPath != nil }) { steps.append(.deliver) }
        _ = processor.run(today, steps: steps, fetched: nil, stability: watch.stability, shouldStop: { stop.isRequested })
        return true
    }

    /// The scheduled tasks due now and the expected files' deadlines (seams until issue
    /// 12's tasks and deadlines are merged: see ``DaemonHooks``).
    private func runScheduledWork(now: Date, stop: StopRequest) {
        if let runDue = hooks.runDueTasks {
            for task in runDue(now, { stop.isRequested }) {
                metrics.record(task, at: now)
                let line = logger.with(["task": "\(task.task)"])
                if task.outcome == "succeeded" {
                    line.info("task \(task.outcome): \(task.message)")
                } else {
                    line.error("task \(task.outcome): \(task.message)")
                }
            }
        }
        if let checkDeadlines = hooks.checkDeadlines {
            do {
                for late in try checkDeadlines(now) { logger.warning("file late: \(late)") }
            } catch {
                logger.error("the deadlines could not be checked: \(error)")
            }
        }
    }
}
