import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// `BatchOptions.shouldStop` (issue 12, item 7: the daemon's graceful stop): a run asked to
/// stop abandons the file it is posting whole, runs no further file or step, is recorded
/// incomplete, and the next run ends where an uninterrupted one does.
@Suite("A batch asked to stop", .serialized)
struct BatchStopTests {
    /// Turned on from the run's progress, at a stage the test names; with `afterAsks`, the
    /// first asks after that still say no (so a step is stopped after it has done some work).
    final class StopSwitch: @unchecked Sendable {
        private let lock = NSLock()
        /// The step whose progress armed it.
        private var armedBy: BatchStep?
        private var asksLeft: Int
        /// What the run said of the step that armed the switch, from then on.
        private var heard: [String] = []
        let when: @Sendable (RunProgress) -> Bool

        init(afterAsks: Int = 0, when: @escaping @Sendable (RunProgress) -> Bool) {
            asksLeft = afterAsks
            self.when = when
        }

        var isOn: Bool {
            lock.lock()
            defer { lock.unlock() }
            guard armedBy != nil else { return false }
            if asksLeft > 0 {
                asksLeft -= 1
                return false
            }
            return true
        }

        var heardOfStep: [String] {
            lock.lock()
            defer { lock.unlock() }
            return heard
        }

        func hear(_ progress: RunProgress) {
            lock.lock()
            defer { lock.unlock() }
            if armedBy == nil, when(progress) { armedBy = progress.step }
            if progress.step == armedBy { heard.append(progress.text) }
        }
    }

    static let readiness = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                            "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    /// The generated sample day (`reckon demo`'s): the reconciliation rules apply from it, and
    /// it has matches, breaks and outbound records.
    static let generatedDay = CivilDate(year: 2024, month: 12, day: 16)!

    static func generatedDayFolder() throws -> (DayFolder, Ledger) {
        let folder = try DayFolder(readiness: readiness, copy: false)
        _ = try SampleDay(date: generatedDay, loans: 5, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        return (folder, try folder.ledger())
    }

    func run(_ day: DayFolder, _ ledger: Ledger, date: CivilDate = sampleDay, stop: StopSwitch? = nil) throws -> BatchReport {
        var options = BatchOptions(date: date)
        if let stop { options.shouldStop = { stop.isOn } }
        return try Batch.run(options, config: day.config, ledger: ledger) { stop?.hear($0) }
    }

    @Test func aFileBeingPostedIsAbandonedWholeAndTheNextRunEndsAsAnUninterruptedOne() throws {
        let clean = try DayFolder(readiness: Self.readiness), stopped = try DayFolder(readiness: Self.readiness)
        let cleanLedger = try clean.ledger(), stoppedLedger = try stopped.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: clean.config, ledger: cleanLedger)
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: stopped.config, ledger: stoppedLedger)
        _ = try run(clean, cleanLedger)

        // Asked to stop once the second file has started: it is read and written, then rolled back.
        let stop = StopSwitch { $0.step == .ingest && $0.isStage && $0.text.hasPrefix("ingest 2 of 6") }
        let report = try run(stopped, stoppedLedger, stop: stop)
        #expect(report.stopped && report.outcome == .incomplete)
        #expect(report.ingested.map(\.outcome) == [.posted])
        #expect(report.failedFiles.isEmpty && report.errors.isEmpty)
        #expect(report.plans == nil && report.reconciliation == nil && report.settlement == nil)
        #expect(try stoppedLedger.receivedFiles(date: sampleDay).map(\.name) == ["PLAT_REPAY_20241215.csv"])
        let recorded = try #require(try stoppedLedger.batchRuns().first)
        #expect(recorded.status == "incomplete")
        #expect(recorded.summary == "1 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; stopped before the end (asked to stop); "
                + "the next run takes up the rest")
        #expect(try stoppedLedger.verify().ok)

        let next = try run(stopped, stoppedLedger)
        #expect(next.succeeded)
        #expect(next.ingested.map(\.outcome) == [.repeated, .posted, .posted, .posted, .posted, .posted])
        #expect(try stoppedLedger.export() == cleanLedger.export())
    }

    /// The plan step hears a stop at each phase and page of events: one asked to stop midway
    /// (a 10-million-record day takes minutes) is rolled back whole, not waited for.
    @Test func aPlanStepAskedToStopMidwayKeepsNothingOfItAndTheNextRunPlansTheDay() throws {
        let clean = try DayFolder(readiness: Self.readiness), stopped = try DayFolder(readiness: Self.readiness)
        let ingested = try DayFolder(readiness: Self.readiness)
        let cleanLedger = try clean.ledger(), stoppedLedger = try stopped.ledger(), ingestedLedger = try ingested.ledger()
        for (folder, ledger) in [(clean, cleanLedger), (stopped, stoppedLedger), (ingested, ingestedLedger)] {
            _ = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
        }
        _ = try run(clean, cleanLedger)
        _ = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest]), config: ingested.config, ledger: ingestedLedger)

        // Two of the step's asks say no (it has planned and applied by then), the third stops it.
        let stop = StopSwitch(afterAsks: 2) { $0.step == .plan && $0.isStage }
        let report = try run(stopped, stoppedLedger, stop: stop)
        #expect(stop.heardOfStep.count >= 3, "the step had begun its work: \(stop.heardOfStep)")
        #expect(report.stopped && report.outcome == .incomplete)
        #expect(report.plans == nil && report.reconciliation == nil && report.settlement == nil)
        #expect(report.errors.isEmpty && report.ingested.count == 6)
        // Nothing of the step kept: the ledger is as the day's ingest alone left it.
        #expect(try stoppedLedger.export() == ingestedLedger.export())
        #expect(try stoppedLedger.export(date: sampleDay, runs: true)
                .contains("collect succeeded, ingest succeeded, plan interrupted"))
        let recorded = try #require(try stoppedLedger.batchRuns().first)
        #expect(recorded.status == "incomplete" && report.abandonedStep == .plan)
        #expect(recorded.summary?.hasSuffix("; stopped during the plan step (asked to stop), which kept nothing; "
                                            + "the next run takes up the rest") == true, "\(recorded.summary ?? "")")
        #expect(try stoppedLedger.verify().ok)

        let next = try run(stopped, stoppedLedger)
        #expect(next.succeeded && next.plans != nil)
        #expect(try stoppedLedger.export() == cleanLedger.export())
    }

    /// The reconcile step hears a stop at each rule (and every few thousand keys): the rules
    /// it had run are rolled back with it; the plan step before it stays.
    @Test func aReconcileStepAskedToStopAfterARuleKeepsNoneOfItsRules() throws {
        let day = Self.generatedDay
        let (clean, cleanLedger) = try Self.generatedDayFolder(), (stopped, stoppedLedger) = try Self.generatedDayFolder()
        _ = try run(clean, cleanLedger, date: day)
        func reconciliation(_ ledger: Ledger) throws -> [Row] {
            try ledger.read { db in
                try Row.fetchAll(db, sql: "SELECT rule, business_date, matched, pending, broken FROM recon_run ORDER BY rule, business_date")
                    + Row.fetchAll(db, sql: """
                        SELECT identity, kind, status, business_date, amount_minor, summary FROM recon_break ORDER BY identity
                        """)
            }
        }
        #expect(try reconciliation(cleanLedger).count > 6, "the day's rules ran and found breaks")

        // The first rule runs, the second one's ask stops the step.
        let stop = StopSwitch(afterAsks: 1) { $0.step == .reconcile && $0.isStage }
        let report = try run(stopped, stoppedLedger, date: day, stop: stop)
        #expect(report.stopped && report.outcome == .incomplete)
        #expect(report.plans != nil && report.reconciliation == nil && report.settlement == nil)
        #expect(report.errors.isEmpty && report.abandonedStep == .reconcile)
        #expect(try reconciliation(stoppedLedger).isEmpty)
        #expect(try stoppedLedger.export(date: day, runs: true)
                .contains("collect succeeded, ingest succeeded, plan succeeded, reconcile interrupted"))

        let next = try run(stopped, stoppedLedger, date: day)
        #expect(next.succeeded && next.reconciliation != nil)
        #expect(try reconciliation(stoppedLedger) == reconciliation(cleanLedger))
        #expect(try stoppedLedger.export() == cleanLedger.export())
    }

    /// The settle step hears a stop before each partner and file (and every few thousand
    /// records): the set being written is discarded, the partner keeps what it had.
    @Test func aSettleStepAskedToStopDiscardsTheSetItIsWriting() throws {
        let day = Self.generatedDay
        let (clean, cleanLedger) = try Self.generatedDayFolder(), (stopped, stoppedLedger) = try Self.generatedDayFolder()
        let cleanReport = try run(clean, cleanLedger, date: day)
        #expect(cleanReport.settlement?.partners.count == 2)
        // Each partner's outbox lock file (`.<date>.lock`) stays: it is the lock, not a set.
        func files(under root: String) -> [String] {
            (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { path in
                guard !path.hasSuffix(".lock") else { return false }
                var isFolder: ObjCBool = false
                return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isFolder) && !isFolder.boolValue
            }.sorted()
        }

        // The first partner and its first file go on; the ask before its second file stops the step.
        let stop = StopSwitch(afterAsks: 2) { $0.step == .settle && $0.isStage }
        let report = try run(stopped, stoppedLedger, date: day, stop: stop)
        #expect(report.stopped && report.outcome == .incomplete && report.abandonedStep == .settle)
        #expect(report.reconciliation != nil && report.settlement == nil && report.errors.isEmpty)
        #expect(files(under: stopped.config.outboxFolder).isEmpty, "nothing installed, no staging left")
        #expect(try stoppedLedger.batchRuns().first?.summary?.contains(
            "stopped during the settle step (asked to stop), which discarded the set it was writing") == true)
        #expect(try stoppedLedger.export(date: day, runs: true).contains("reconcile succeeded, settle interrupted"))

        let next = try run(stopped, stoppedLedger, date: day)
        #expect(next.succeeded)
        #expect(next.settlement?.partners.map(\.version) == [1, 1])
        #expect(next.settlement?.partners.map { $0.files.map(\.sha256Hex) } == cleanReport.settlement?.partners.map { $0.files.map(\.sha256Hex) })
        #expect(files(under: stopped.config.outboxFolder) == files(under: clean.config.outboxFolder))
    }

    @Test func aRunNeverAskedToStopIsNotStopped() throws {
        let day = try DayFolder(readiness: Self.readiness)
        let ledger = try day.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: day.config, ledger: ledger)
        let report = try run(day, ledger, stop: StopSwitch { _ in false })
        #expect(!report.stopped && report.succeeded)
    }
}

/// The daemon keeps one ``SharedStabilityWatch`` across its ticks: a `stable` rule is judged
/// over looks taken a tick apart, and a collect with no wait never blocks (a test clock here,
/// so nothing depends on time passing).
@Suite("A stability watch kept across collects")
struct SharedStabilityWatchTests {
    final class Clock: @unchecked Sendable {
        var nanoseconds: UInt64 = 1_000_000_000
    }

    @Test func aFileSeenTheSameSizeLongEnoughAcrossLooksIsReadyAtOnce() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 2}"], copy: false)
        let path = day.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data("repay_id,loan_id\n".utf8))
        let watch = SharedStabilityWatch(), clock = Clock()
        func look() -> Collector.Result {
            Collector(config: day.config, maximumWaitSeconds: 0, watch: watch, now: { clock.nanoseconds })
                .collect(date: sampleDay, partner: "platform")
        }
        #expect(look().waiting.map(\.reason) == ["its size is still changing (it must stay the same for 2 s)"])
        clock.nanoseconds += 1_500_000_000
        #expect(look().ready.isEmpty)
        // It grows: the wait starts again from this look.
        day.write("inbox/platform/PLAT_REPAY_20241215.csv", "repay_id,loan_id\nR1,L1\n")
        clock.nanoseconds += 1_000_000_000
        #expect(look().ready.isEmpty)
        clock.nanoseconds += 1_999_999_999
        #expect(look().ready.isEmpty)
        clock.nanoseconds += 1
        #expect(look().ready.map(\.path) == [path])
        // Forgotten once it has left the drops: seen again, it waits again.
        watch.keepOnly([])
        #expect(look().ready.isEmpty)
    }
}
