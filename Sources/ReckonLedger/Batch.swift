import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// The steps of a business day that exist so far, in their order.
public enum BatchStep: String, Sendable, CaseIterable {
    case collect, ingest, plan, reconcile, settle, deliver
}

public struct BatchOptions: Sendable {
    public var date: CivilDate
    public var steps: [BatchStep]
    public var partner: String?
    /// Collect and read the files, post nothing, record nothing.
    public var dryRun: Bool
    public var maximumWaitSeconds: Double
    /// Fetches the partners' remote (SFTP) drops into their local ones before the local
    /// collect rules run; returns what went wrong (the run then fails) and which servers'
    /// host keys were refused (an alert each). The CLI sets it for configurations with SFTP
    /// drops (ReckonSFTP's SFTPDropFetcher).
    public var fetchRemoteDrops: (@Sendable (_ date: CivilDate, _ partner: String?) -> RemoteDropsFetched)?
    /// Uploads a partner's outbound set to its server (the deliver step), in order, stopping
    /// at the first failure. The CLI sets it for configurations with `deliver:` (ReckonSFTP).
    public var deliverOutbound: (@Sendable (OutboundDelivery) -> OutboundDelivered)?
    /// The wall clock the run checks the expected files' deadlines against at its end
    /// (``Ledger/checkDeadlines(config:reference:now:)``); tests set the time.
    public var now: @Sendable () -> Date = { Date() }
    /// How long to wait for another writer's lock before refusing (``WriterLock``).
    public var lockWaitSeconds: Double = 0
    /// Asked before each file and between steps: when true the run stops cleanly (nothing
    /// half-posted), says so (``BatchReport/stopped``) and is not a success. A file being
    /// posted when it turns true is abandoned whole (its transaction rolled back), so the
    /// next run takes it again. The daemon sets it on SIGTERM and SIGINT.
    public var shouldStop: (@Sendable () -> Bool)?
    /// The `stable` readiness rule's looks at files, kept across runs (the daemon's ticks), so
    /// that a file seen stable before counts at once; nil for a run's own watch.
    public var stabilityWatch: SharedStabilityWatch?
    /// Only these files are collected and taken in (the daemon's files found new since its
    /// last look); the day's other files are known and not judged again. nil: every file.
    public var onlyFiles: Set<String>?
    /// Hears each file as soon as it is taken in (posted, repeated, refused), before the run's
    /// later steps: the daemon logs and counts a file when it is posted, not when its run ends.
    public var fileIngested: (@Sendable (IngestResult) -> Void)?
    /// The daemon's ingest-only runs: when every file posted whole and nothing went wrong
    /// (no refused, failed or late file, no error), the run leaves the day's alert file and
    /// alert commands to the day's next full run (the daemon's plan and reconcile run, once
    /// the day is quiet) instead of writing out every alert of the day after each file.
    public var deferAlertsWhenClean = false

    public init(date: CivilDate, steps: [BatchStep] = BatchStep.allCases, partner: String? = nil,
                dryRun: Bool = false, maximumWaitSeconds: Double = 30) {
        self.date = date
        self.steps = steps
        self.partner = partner
        self.dryRun = dryRun
        self.maximumWaitSeconds = maximumWaitSeconds
    }
}

/// What a long run is doing, for a progress line: the step that is running and how far it
/// has come.
public struct RunProgress: Sendable {
    public let step: BatchStep
    /// `ingest 2 of 9: inbox/bank/BANK_PLAN_20241216.txt`, `… : 12,000 records`.
    public let text: String
    /// A new stage (a step, a file, a phase of the plan step): worth a line of its own.
    /// Counts between stages come often and may be skipped.
    public let isStage: Bool

    public init(_ step: BatchStep, _ text: String, isStage: Bool) {
        self.step = step
        self.text = text
        self.isStage = isStage
    }
}

/// A file that could not be taken in at all (unreadable, no spec, the ledger refused it),
/// with why.
public struct FailedFile: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let partner: String
    public let fileType: String
    public let reason: String

    /// For people: a name with control bytes in it is escaped.
    public var description: String { "\(DisplayText.escaped(path)): \(reason)" }
}

/// What a batch run did.
public struct BatchReport: Sendable {
    public var runID: Int64?
    public var collected = Collector.Result()
    /// The day's inbound archives the collect step unpacked or refused (nil: none ready).
    public var archives: InboundArchivesReport?
    public var ingested: [IngestResult] = []
    /// Dry runs: the files as read, without posting.
    public var checked: [FileReport] = []
    /// Files that could not be taken in at all, with why (also in `errors`).
    public var failedFiles: [FailedFile] = []
    /// Everything that went wrong outside a file's own outcome: files that could not be
    /// taken in, a step that failed.
    public var errors: [String] = []
    /// The plan step's outcome, when it ran.
    public var plans: PlanStepReport?
    /// The reconcile step's outcome, when it ran.
    public var reconciliation: ReconcileReport?
    /// The settle step's outcome, when it ran: the outbound files written per partner.
    public var settlement: SettleReport?
    /// The deliver step's outcome, when it ran: what each partner's server was sent.
    public var delivery: DeliverReport?
    /// Where the day's files stand after the run (when it ingested): expected files missing,
    /// files waiting for an operator, files set aside.
    public var day: DayFiles?
    /// Expected files of the day that are in their drops but not complete yet.
    public var waitingExpected: [WaitingFile] = []
    /// The day's repayments files refused or missing while its plans were made.
    public var incompleteRepayments: [String] = []
    /// The alert commands run once the day's steps committed (``Ledger/runAlertCommands``).
    public var alertCommands: AlertCommandsReport?
    /// The day's alert file (``Ledger/writeAlertFile``), and the alerts it holds.
    public var alertFile: String?
    public var alertFileCount = 0
    /// Earlier runs found interrupted (or failed without recording it) when this one
    /// started, and what became of their work.
    public var recovered: [String] = []
    /// The steps of the run that were paused (``Ledger/pausedSteps()``): skipped, or
    /// stopped at a file boundary; the run is incomplete. In the steps' order.
    public var pausedSteps: [BatchStep] { pausedSwitches.map(\.step) }
    /// Their switches as the run found them: who paused each, when and why.
    public var pausedSwitches: [StepSwitch] = []
    /// Whether the ingest step was paused while it ran, and the files it left in their drops.
    public var filesLeftByPause: [String] = []
    /// Expected files past their deadline and not complete, found at the end of the run
    /// (``Ledger/checkDeadlines(config:reference:now:)``).
    public var lateFiles: [LateFile] = []
    /// When the run started and ended, UTC as recorded (`2024-12-16T01:00:01Z`); a dry run's
    /// too, though it records nothing.
    public var startedAt = ""
    public var finishedAt: String?
    /// The run's business day (its late files count against it).
    public var runDate: CivilDate?

    /// Notes a paused step once.
    mutating func notePaused(_ paused: StepSwitch) {
        guard !pausedSwitches.contains(where: { $0.step == paused.step }) else { return }
        pausedSwitches.append(paused)
        pausedSwitches.sort { BatchStep.allCases.firstIndex(of: $0.step)! < BatchStep.allCases.firstIndex(of: $1.step)! }
    }
    /// The run was asked to stop (``BatchOptions/shouldStop``) before it had done everything:
    /// the steps and files after that point were not run; a file being posted was abandoned.
    public var stopped = false
    /// The step abandoned when the run was asked to stop in the middle of it: the plan or
    /// reconcile step kept nothing; the settle step discarded the set it was writing.
    public var abandonedStep: BatchStep?

    /// How a run ends; `reckon batch` exits 0, 1 and 3 for them.
    public enum Outcome: String, Sendable {
        /// Every file taken in and posted whole, every expected file there.
        case succeeded
        /// Something needs an operator: a file refused, failed or not posted whole, an
        /// earlier version sent again, a refused file of the day still waiting, a step failed.
        case failed
        /// Nothing failed, but expected files have not come (or are not complete yet, or are
        /// past their deadline), or a step was paused.
        case incomplete
    }

    public var outcome: Outcome {
        let fileFailed = ingested.contains { $0.outcome == .rejected || $0.outcome == .stale || $0.recordsNotPosted > 0 }
        if !errors.isEmpty || fileFailed || !checked.allSatisfy(\.isClean)
            || !(day?.refused.isEmpty ?? true) || !(day?.stale.isEmpty ?? true) {
            return .failed
        }
        if !(day?.missing.isEmpty ?? true) || !waitingExpected.isEmpty || !pausedSwitches.isEmpty || stopped { return .incomplete }
        if let date = runDate, lateFiles.contains(where: { $0.date == date }) { return .incomplete }
        return .succeeded
    }

    /// Every file taken in posted whole (or was a repeat), and nothing failed, erred or is late:
    /// such a run raised no alert of its own (``BatchOptions/deferAlertsWhenClean``).
    var cleanIngest: Bool {
        errors.isEmpty && failedFiles.isEmpty && lateFiles.isEmpty && !stopped
            && ingested.allSatisfy { ($0.outcome == .posted && $0.recordsNotPosted == 0) || $0.outcome == .repeated }
    }

    /// Nothing was rejected or failed and the day is complete. Waiting files of types not
    /// expected that day do not count: a later run collects them.
    public var succeeded: Bool { outcome == .succeeded }
}

/// Runs a business day's steps: collect the partners' complete files from their drops,
/// then ingest each into the ledger in configuration order, check the day's files against
/// what is expected, and bring the plans to the day. Every run and step is recorded in the
/// ledger; running the same day again posts nothing twice. One run writes a ledger at a
/// time (``WriterLock``); a run that finds an earlier one dead records it as interrupted.
public enum Batch {
    public static func run(_ options: BatchOptions, config: ReckonConfig, ledger: Ledger,
                           progress: @escaping @Sendable (RunProgress) -> Void = { _ in }) throws(LedgerError) -> BatchReport {
        var report = BatchReport()
        report.startedAt = timestamp()
        report.runDate = options.date
        let writer = options.dryRun ? nil : try WriterLock.acquire(ledger, waitSeconds: options.lockWaitSeconds)
        defer { writer?.release() }
        if let writer { report.recovered = try ledger.recoverInterruptedRuns(lock: writer, date: options.date) }
        let runID = options.dryRun ? nil : try ledger.startRun(options, at: report.startedAt)
        report.runID = runID
        // The calendar (expected working days) and base-rate history (plans), read once.
        let reference = Result { try ReferenceData.load(config) }
        // The console switches, read at the start, before each step and at each file boundary:
        // a paused step is skipped (recorded as such), and the run is incomplete.
        // (Paused while it runs, a step keeps its own row: `recordingStep` is false.)
        func paused(_ step: BatchStep, recordingStep: Bool = true) throws(LedgerError) -> Bool {
            guard let found = try ledger.stepSwitches().first(where: { $0.step == step && $0.paused }) else { return false }
            let first = !report.pausedSteps.contains(step)
            report.notePaused(found)
            if first, recordingStep, let runID {
                let row = try ledger.startStep(runID, step)
                try ledger.finishStep(row, status: "skipped", detail: "paused: \(found)")
            }
            progress(RunProgress(step, "\(step.rawValue): paused, skipped (\(found))", isStage: true))
            return true
        }
        do {
            // Collect always runs (it is what the other steps work on), unless it is paused:
            // then nothing is fetched or taken, and the day's files are not judged.
            let collectPaused = try paused(.collect)
            if !collectPaused {
                let collectStep = runID == nil ? nil : try ledger.startStep(runID!, .collect)
                progress(RunProgress(.collect, "collect: the partners' files for \(options.date)", isStage: true))
                if let fetch = options.fetchRemoteDrops {
                    let fetched = fetch(options.date, options.partner)
                    report.errors += fetched.problems
                    if !options.dryRun { try ledger.recordHostKeyAlerts(fetched, date: options.date) }
                }
                let collector = Collector(config: config, maximumWaitSeconds: options.maximumWaitSeconds,
                                          watch: options.stabilityWatch)
                // Archives first: their entries are then collected as the partner's files.
                let archives = collector.collectArchives(date: options.date, partner: options.partner)
                if !archives.ready.isEmpty {
                    let unpacked = try ledger.unpackArchives(archives.ready, date: options.date, config: config, dryRun: options.dryRun)
                    report.archives = unpacked
                    report.errors += unpacked.refused.map(\.description) + unpacked.errors
                }
                let only = options.onlyFiles
                report.collected = collector.collect(date: options.date, partner: options.partner,
                                                     skipping: only.map { only in { !only.contains($0) } })
                report.collected.waiting += archives.waiting
                if let collectStep {
                    let archivesFailed = !(report.archives?.refused.isEmpty ?? true) || !(report.archives?.errors.isEmpty ?? true)
                    try ledger.finishStep(collectStep, status: archivesFailed ? "failed" : "succeeded",
                                          detail: describe(report.collected, archives: report.archives))
                }
            }

            if options.steps.contains(.ingest), !collectPaused, !report.stopIfAsked(options), try !paused(.ingest) {
                let ingestStep = runID == nil ? nil : try ledger.startStep(runID!, .ingest)
                let ready = report.collected.ready
                for (index, file) in ready.enumerated() {
                    if report.stopIfAsked(options) { break }
                    // A file boundary: a pause of ingest since the last file stops here.
                    if index > 0, try paused(.ingest, recordingStep: false) {
                        report.filesLeftByPause = ready[index...].map(\.path)
                        break
                    }
                    guard let partner = config.partner(file.partner), let type = partner.fileType(file.fileType) else { continue }
                    let stage = "\(options.dryRun ? "ingest (dry run, reading only)" : "ingest") \(index + 1) of \(ready.count): \(file.path)"
                    progress(RunProgress(.ingest, stage, isStage: true))
                    if options.dryRun {
                        do {
                            report.checked.append(PartnerFile.check(file.path, spec: try SpecFile.load(type.specPath)))
                        } catch {
                            report.fail(file, "\(error)")
                        }
                        continue
                    }
                    do {
                        var request = IngestRequest(path: file.path, partner: partner, fileType: type, businessDate: options.date)
                        request.runID = runID
                        request.shouldAbandon = options.shouldStop
                        let result = try ledger.ingest(request, config: config) { stored in
                            progress(RunProgress(.ingest, "\(stage): \(Plural.count(stored, "record")) stored", isStage: false))
                        }
                        report.ingested.append(result)
                        options.fileIngested?(result)
                    } catch where error.abandoned {
                        // Rolled back whole: the next run takes the file again.
                        report.stopped = true
                        break
                    } catch {
                        report.fail(file, error.message)
                    }
                }
                report.day = try checkDay(options, config: config, reference: reference, ledger: ledger, report: &report)
                if let ingestStep {
                    let ingestFailed = !report.failedFiles.isEmpty
                        || report.ingested.contains { $0.outcome == .rejected || $0.outcome == .stale || $0.recordsNotPosted > 0 }
                    var detail = describe(report)
                    if !report.filesLeftByPause.isEmpty {
                        detail += "\npaused before \(Plural.count(report.filesLeftByPause.count, "file")): "
                            + report.filesLeftByPause.joined(separator: ", ")
                    }
                    try ledger.finishStep(ingestStep, status: ingestFailed ? "failed" : "succeeded", detail: detail)
                }
            }

            // Plans are made from what the ledger holds, so a rejected file does not stop
            // them: the day's other loans and repayments still move on. When the day's
            // repayments file was refused or has not come, the run says the plans are
            // incomplete and an alert names the file.
            var planned = false
            if options.steps.contains(.plan), let runID, !report.stopIfAsked(options), try !paused(.plan) {
                let planStep = try ledger.startStep(runID, .plan)
                progress(RunProgress(.plan, "plan \(options.date): started", isStage: true))
                do {
                    let plans = try ledger.runPlanStep(date: options.date, config: config, reference: try reference.get(),
                                                       progress: progress, shouldStop: { options.shouldStop?() == true })
                    report.plans = plans
                    planned = true
                    try ledger.finishStep(planStep, status: "succeeded", detail: plans.summary)
                } catch let error as LedgerError where error.abandoned {
                    report.stopped = true
                    report.abandonedStep = .plan
                    try ledger.finishStep(planStep, status: "interrupted", detail: error.message)
                } catch {
                    report.errors.append("plan step: \(error)")
                    try ledger.finishStep(planStep, status: "failed", detail: "\(error)")
                }
            }
            // Reconciliation reads what the ledger holds, whatever an earlier step did.
            if options.steps.contains(.reconcile), let runID, !report.stopIfAsked(options), try !paused(.reconcile) {
                let reconcileStep = try ledger.startStep(runID, .reconcile)
                progress(RunProgress(.reconcile, "reconcile \(options.date): \(Plural.count(config.reconciliation.rules.count, "rule"))", isStage: true))
                do {
                    let reconciliation = try ledger.runReconcileStep(date: options.date, config: config, reference: try reference.get(),
                                                                     shouldStop: { options.shouldStop?() == true })
                    report.reconciliation = reconciliation
                    try ledger.finishStep(reconcileStep, status: "succeeded", detail: reconciliation.summary)
                } catch let error as LedgerError where error.abandoned {
                    report.stopped = true
                    report.abandonedStep = .reconcile
                    try ledger.finishStep(reconcileStep, status: "interrupted", detail: error.message)
                } catch {
                    report.errors.append("reconcile step: \(error)")
                    try ledger.finishStep(reconcileStep, status: "failed", detail: "\(error)")
                }
            }
            if runID != nil, let day = report.day, !report.stopped {
                // (The plan step read every spec already when it ran.)
                let repayments = planned ? (try? repaymentTypes(config)) ?? [] : []
                report.incompleteRepayments = try ledger.recordDayAlerts(day, repaymentTypes: repayments, planned: planned)
            }
            // Outbound files last, from everything the day's steps left in the ledger (its
            // alerts included).
            if options.steps.contains(.settle), let runID, !report.stopIfAsked(options), try !paused(.settle) {
                try settle(options, config: config, ledger: ledger, runID: runID, report: &report, progress: progress)
            }
            // Only partners that have their sets delivered (`deliver:`) make a deliver step.
            if options.steps.contains(.deliver), let runID, !report.stopIfAsked(options),
               config.partners.contains(where: { $0.outbound?.deliverPath != nil && (options.partner == nil || $0.id == options.partner) }),
               try !paused(.deliver) {
                try deliver(options, config: config, ledger: ledger, runID: runID, report: &report, progress: progress)
            }
        } catch {
            if let runID { try? record(ledger, runID, status: .failed, summary: "\(error)", at: timestamp(), writer: writer) }
            throw error
        }
        // The expected files' deadlines, against the wall clock: late ones raise file_late
        // (announced and written out with the day's other alerts), arrived ones clear it.
        if runID != nil { checkDeadlines(options, config: config, reference: reference, ledger: ledger, report: &report) }
        // Last, with every step committed: the day's alerts passed on and written out.
        // (Not when the run was asked to stop: the next run does it.)
        if runID != nil, !(options.deferAlertsWhenClean && report.cleanIngest), !report.stopIfAsked(options) {
            finishAlerts(options.date, config: config, ledger: ledger, report: &report,
                         shouldStop: { options.shouldStop?() == true })
        }
        report.finishedAt = timestamp()
        if let runID {
            try record(ledger, runID, status: report.outcome, summary: summary(report), at: report.finishedAt!, writer: writer)
        }
        return report
    }

    /// The settle step: every partner that receives files (only the run's partner, when it
    /// names one). A partner whose files could not all be written fails the step and the run.
    private static func settle(_ options: BatchOptions, config: ReckonConfig, ledger: Ledger, runID: Int64, report: inout BatchReport,
                               progress: @escaping @Sendable (RunProgress) -> Void) throws(LedgerError) {
        let settleStep = try ledger.startStep(runID, .settle)
        progress(RunProgress(.settle, "settle \(options.date): the outbound files", isStage: true))
        do {
            let only = options.partner
            let settled = only.map { config.partner($0)?.outbound == nil } ?? false
                ? SettleReport(date: options.date, dryRun: false)
                : try ledger.runSettleStep(date: options.date, config: config, partner: only,
                                           progress: { text in progress(RunProgress(.settle, text, isStage: false)) },
                                           shouldStop: { options.shouldStop?() == true })
            report.settlement = settled
            report.errors += settled.errors.map { "settle step: \($0)" }
            try ledger.finishStep(settleStep, status: settled.succeeded ? "succeeded" : "failed", detail: settled.summary)
        } catch where error.abandoned {
            report.stopped = true
            report.abandonedStep = .settle
            try ledger.finishStep(settleStep, status: "interrupted", detail: error.message)
        } catch {
            report.errors.append("settle step: \(error)")
            try ledger.finishStep(settleStep, status: "failed", detail: "\(error)")
        }
    }

    /// The deliver step: each partner's current set to its server, once per version. A set
    /// that could not be delivered whole fails the step and the run; the others still go.
    private static func deliver(_ options: BatchOptions, config: ReckonConfig, ledger: Ledger, runID: Int64, report: inout BatchReport,
                                progress: @escaping @Sendable (RunProgress) -> Void) throws(LedgerError) {
        let deliverStep = try ledger.startStep(runID, .deliver)
        progress(RunProgress(.deliver, "deliver \(options.date): the outbound sets", isStage: true))
        do {
            guard let deliverer = options.deliverOutbound else { throw LedgerError("no deliverer is set up for deliver:") }
            let delivered = try ledger.runDeliverStep(date: options.date, config: config, partner: options.partner) { delivery in
                progress(RunProgress(.deliver, "deliver \(options.date): \(delivery.partner)", isStage: false))
                return deliverer(delivery)
            }
            report.delivery = delivered
            report.errors += delivered.errors.map { "deliver step: \($0)" }
            try ledger.finishStep(deliverStep, status: delivered.errors.isEmpty ? "succeeded" : "failed", detail: delivered.summary)
        } catch {
            report.errors.append("deliver step: \(error)")
            try ledger.finishStep(deliverStep, status: "failed", detail: "\(error)")
        }
    }

    /// Where the day's files stand after ingest. Expected files that are in their drops
    /// are not missing: a ready one was taken in (or failed, which is said), a waiting one
    /// keeps the day incomplete.
    private static func checkDay(_ options: BatchOptions, config: ReckonConfig, reference: Result<ReferenceData, any Error>,
                                 ledger: Ledger, report: inout BatchReport) throws(LedgerError) -> DayFiles? {
        let calendar: BusinessCalendar?
        do {
            calendar = try reference.get().calendar
        } catch {
            report.errors.append("expected files: \(error)")
            return nil
        }
        var day = try ledger.dayFiles(options.date, config: config, calendar: calendar, partner: options.partner)
        let present = Set((report.collected.ready.map { "\($0.partner)/\($0.fileType)" })
                          + report.collected.waiting.map { "\($0.partner)/\($0.fileType)" })
        let expected = Set(day.missing.map { "\($0.partner)/\($0.fileType)" })
        day.missing.removeAll { present.contains("\($0.partner)/\($0.fileType)") }
        report.waitingExpected = report.collected.waiting.filter { expected.contains("\($0.partner)/\($0.fileType)") }
        return day
    }

    /// The `partner/type` slots whose files carry the repayments the plan step applies.
    static func repaymentTypes(_ config: ReckonConfig) throws(LedgerError) -> Set<String> {
        let sources = try EventSources(config: config)
        var slots = Set<String>()
        for partner in config.partners {
            for type in partner.files where type.posts && sources.type(partner.id, type.id)?.events.contains(.repayment) == true {
                slots.insert("\(partner.id)/\(type.id)")
            }
        }
        return slots
    }

    /// Records how a run ended. When the ledger cannot be written (a full disk), the run's
    /// last words go beside it, for the next run to record.
    static func record(_ ledger: Ledger, _ runID: Int64, status: BatchReport.Outcome, summary: String, at finishedAt: String,
                       writer: WriterLock?) throws(LedgerError) {
        do {
            try ledger.finishRun(runID, status: status.rawValue, summary: summary, at: finishedAt)
        } catch {
            let kept = writer?.writeNote(.init(runID: runID, status: status.rawValue, reason: summary)) ?? false
            throw LedgerError("\(error.message); the run's end (\(status.rawValue): \(summary)) "
                              + (kept ? "is kept beside the ledger and recorded by the next run" : "could not be kept either"))
        }
    }

    /// The run's outcome in one line, as `reckon batch` ends and `reckon status` shows it:
    /// counts grouped and in agreement with their nouns (``Plural``).
    public static func summary(_ report: BatchReport) -> String {
        func count(_ outcome: IngestResult.Outcome) -> Int { report.ingested.filter { $0.outcome == outcome }.count }
        let grouped = AmountText.grouped
        var files = "\(grouped(count(.posted))) posted, \(grouped(count(.repeated))) repeated, \(grouped(count(.rejected))) rejected, "
            + "\(grouped(report.failedFiles.count)) failed, \(grouped(report.collected.waiting.count)) waiting"
        if count(.stale) > 0 { files += ", \(Plural.count(count(.stale), "earlier version")) sent again" }
        if count(.setAside) > 0 { files += ", \(grouped(count(.setAside))) set aside before" }
        var parts = [files]
        if !report.pausedSwitches.isEmpty {
            parts.append("paused: " + report.pausedSwitches.map { "\($0.step.rawValue) (by \($0.changedBy ?? "?") at \($0.changedAt ?? "?"))" }
                .joined(separator: ", "))
        }
        if !report.filesLeftByPause.isEmpty {
            parts.append("ingest paused before \(Plural.count(report.filesLeftByPause.count, "file")), left in their drops")
        }
        if !report.lateFiles.isEmpty {
            parts.append("\(Plural.count(report.lateFiles.count, "file")) late: " + report.lateFiles.map(\.slot).joined(separator: ", "))
        }
        if let archives = report.archives {
            let unpacked = archives.unpacked.filter { !$0.earlier }.count
            if unpacked > 0 { parts.append("\(Plural.count(unpacked, "archive")) unpacked") }
            if !archives.refused.isEmpty { parts.append("\(Plural.count(archives.refused.count, "archive")) refused") }
        }
        if let step = report.abandonedStep {
            let kept = step == .settle ? "which discarded the set it was writing" : "which kept nothing"
            parts.append("stopped during the \(step.rawValue) step (asked to stop), \(kept); the next run takes up the rest")
        } else if report.stopped {
            parts.append("stopped before the end (asked to stop); the next run takes up the rest")
        }
        let notPosted = report.ingested.reduce(0) { $0 + $1.recordsNotPosted }
        if notPosted > 0 {
            let duplicates = report.ingested.filter { $0.outcome == .posted }.reduce(0) { $0 + $1.duplicateCount }
            var why: [String] = []
            if duplicates > 0 { why.append(Plural.count(duplicates, "duplicate")) }
            if notPosted > duplicates { why.append("\(grouped(notPosted - duplicates)) rejected") }
            parts.append("\(Plural.count(notPosted, "record")) not posted (\(why.joined(separator: ", ")))")
        }
        if let first = report.failedFiles.first {
            let count = report.failedFiles.count
            parts.append("\(Plural.count(count, "file")) could not be taken in (\(count == 1 ? "" : "first: ")\(first))")
        }
        if let day = report.day {
            let earlier = day.refused.filter { file in !report.ingested.contains { $0.fileID == file.fileID } }
            if !earlier.isEmpty {
                parts.append("\(Plural.count(earlier.count, "refused file")) of the day awaiting action: "
                             + earlier.map { "#\($0.fileID) \($0.name)" }.joined(separator: ", "))
            }
            if !day.missing.isEmpty {
                parts.append("\(Plural.count(day.missing.count, "expected file")) missing: "
                             + day.missing.map(\.name).joined(separator: ", "))
            }
        }
        if !report.waitingExpected.isEmpty {
            parts.append("\(Plural.count(report.waitingExpected.count, "expected file")) not complete yet")
        }
        if !report.incompleteRepayments.isEmpty {
            parts.append("plans made over incomplete repayments (\(grouped(report.incompleteRepayments.count)))")
        }
        if let plans = report.plans { parts.append(plans.summary) }
        // A day no rule applies to yet (`from:`) says nothing of reconciliation.
        if let reconciliation = report.reconciliation, reconciliation.rules.contains(where: { !$0.skipped }) {
            parts.append("reconciled: " + reconciliation.summary)
        }
        if let settlement = report.settlement, !settlement.partners.isEmpty { parts.append("settled: " + settlement.summary) }
        if let delivery = report.delivery, !delivery.partners.isEmpty { parts.append("delivered: " + delivery.summary) }
        if let commands = report.alertCommands, commands.ran > 0 {
            parts.append("\(Plural.count(commands.ran, "alert command")) run, \(AmountText.grouped(commands.failures.count)) failed")
        }
        return parts.joined(separator: "; ")
    }

    /// The collect step's record: one line per file, waiting ones with the rule holding them.
    static func describe(_ result: Collector.Result, archives: InboundArchivesReport? = nil) -> String {
        ((archives?.unpacked ?? []).map { "unpacked\t\($0.partner)/\($0.archiveType)\t\($0.path)\t\($0.entries.joined(separator: ","))" }
            + (archives?.refused ?? []).map { "refused\t\($0.partner)/\($0.archiveType)\t\($0.path)\t\($0)" }
            + result.ready.map { "ready\t\($0.partner)/\($0.fileType)\t\($0.path)" }
            + result.waiting.map { "waiting\t\($0.partner)/\($0.fileType)\t\($0.path)\t\($0.reason)" }
            + result.unknown.map { "unknown\t-\t\($0)" }).joined(separator: "\n")
    }

    /// The ingest step's record: each file's outcome, each failure, each missing file.
    static func describe(_ report: BatchReport) -> String {
        (report.ingested.map { "\($0.outcome.rawValue) \($0.file)" + ($0.recordsNotPosted > 0 ? " (\(Plural.count($0.recordsNotPosted, "record")) not posted)" : "") }
            + report.failedFiles.map { "failed \($0)" }
            + (report.day?.missing.map { "missing \($0)" } ?? [])).joined(separator: "\n")
    }
}

extension BatchReport {
    /// Whether the run must stop here (asked to, now or before); records that it stopped.
    mutating func stopIfAsked(_ options: BatchOptions) -> Bool {
        if !stopped, options.shouldStop?() == true { stopped = true }
        return stopped
    }

    mutating func fail(_ file: CollectedFile, _ reason: String) {
        // Errors about a file often start with its path already.
        let reason = reason.hasPrefix(file.path + ": ") ? String(reason.dropFirst(file.path.count + 2)) : reason
        let failed = FailedFile(path: file.path, partner: file.partner, fileType: file.fileType, reason: reason)
        failedFiles.append(failed)
        errors.append(failed.description)
    }
}

extension Ledger {
    func startRun(_ options: BatchOptions, at startedAt: String) throws(LedgerError) -> Int64 {
        try write(crashAfter: .runStarted) { db in
            try db.execute(sql: """
                INSERT INTO batch_run (business_date, steps, partner, dry_run, status, started_at, pid, host)
                VALUES (?, ?, ?, 0, 'running', ?, ?, ?)
                """, arguments: [options.date.description, options.steps.map(\.rawValue).joined(separator: ","), options.partner, startedAt,
                                 Int64(getpid()), ProcessState.hostName])
            return db.lastInsertedRowID
        }
    }

    func finishRun(_ id: Int64, status: String, summary: String, at finishedAt: String) throws(LedgerError) {
        try write(crashAfter: .runFinished) { db in
            try db.execute(sql: "UPDATE batch_run SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
                           arguments: [status, finishedAt, summary, id])
        }
    }

    func startStep(_ run: Int64, _ step: BatchStep) throws(LedgerError) -> Int64 {
        try write(crashAfter: .stepStarted) { db in
            try db.execute(sql: "INSERT INTO batch_step (run_id, step, status, started_at) VALUES (?, ?, 'running', ?)",
                           arguments: [run, step.rawValue, timestamp()])
            return db.lastInsertedRowID
        }
    }

    func finishStep(_ id: Int64, status: String, detail: String) throws(LedgerError) {
        try write(crashAfter: .stepFinished) { db in
            try db.execute(sql: "UPDATE batch_step SET status = ?, finished_at = ?, detail = ? WHERE id = ?",
                           arguments: [status, timestamp(), detail, id])
        }
    }

    public struct BatchRun: Sendable {
        public let id: Int64
        public let businessDate: String
        public let steps: String
        /// As recorded: running, succeeded, failed, incomplete or interrupted.
        public let status: String
        public let startedAt: String
        public let finishedAt: String?
        public let summary: String?
        /// From the collect step: files still waiting, with the rule that holds each.
        public let waiting: [String]
        /// The process that ran it.
        public let pid: Int64?
        public let host: String?
        /// The step it is in (running) or was in when it ended.
        public let lastStep: String?
        /// A run recorded as running whose process is gone (nobody holds the writer lock,
        /// or its pid is not alive on this host): interrupted, though no run has recorded
        /// it yet. The last words its process left beside the ledger, when it left some.
        public var isGone = false
        public var lastWords: WriterLock.Note?

        /// What the run is now: its recorded status, or `interrupted` (or the status its last
        /// words give) for a run whose process is gone.
        public var state: String {
            guard status == "running", isGone else { return status }
            return lastWords?.status ?? "interrupted"
        }
    }

    /// The latest batch runs, newest first; of one business day, or in one recorded status,
    /// when given.
    public func batchRuns(limit: Int = 5, date: CivilDate? = nil, status: String? = nil) throws(LedgerError) -> [BatchRun] {
        let runs = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.id, r.business_date, r.steps, r.status, r.started_at, r.finished_at, r.summary,
                       (SELECT detail FROM batch_step WHERE run_id = r.id AND step = 'collect'), r.pid, r.host,
                       (SELECT step FROM batch_step WHERE run_id = r.id ORDER BY id DESC LIMIT 1)
                FROM batch_run r WHERE (?2 IS NULL OR r.business_date = ?2) AND (?3 IS NULL OR r.status = ?3) ORDER BY r.id DESC LIMIT ?1
                """, arguments: [limit, date?.description, status]).map { row in
                let detail: String = row[7] ?? ""
                let waiting = detail.split(separator: "\n").filter { $0.hasPrefix("waiting\t") }.map { line -> String in
                    let parts = line.split(separator: "\t").map(String.init)
                    return parts.count >= 4 ? "\(parts[2]): \(parts[3])" : String(line)
                }
                return BatchRun(id: row[0], businessDate: row[1], steps: row[2], status: row[3], startedAt: row[4],
                                finishedAt: row[5], summary: row[6], waiting: waiting, pid: row[8], host: row[9], lastStep: row[10])
            }
        }
        guard runs.contains(where: { $0.status == "running" }) else { return runs }
        // Only a run's own process holds the writer lock while it runs.
        let writing = WriterLock.isHeld(ledgerPath: path)
        let note = WriterLock.note(ledgerPath: path)
        return runs.map { run in
            guard run.status == "running" else { return run }
            var run = run
            let deadHere = run.host == ProcessState.hostName && run.pid.map { !ProcessState.isAlive(Int32(truncatingIfNeeded: $0)) } ?? false
            run.isGone = !writing || deadHere
            if run.isGone, let note, note.runID == run.id { run.lastWords = note }
            return run
        }
    }
}
