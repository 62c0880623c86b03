import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// `BatchOptions.shouldStop` (issue 12, item 7: the daemon's graceful stop): a run asked to
/// stop abandons the file it is posting whole, runs no further file or step, is recorded
/// incomplete, and the next run ends where an uninterrupted one does.
@Suite("A batch asked to stop", .serialized)
struct BatchStopTests {
    /// Turned on from the run's progress, at a stage the test names.
    final class StopSwitch: @unchecked Sendable {
        private let lock = NSLock()
        private var on = false
        let when: @Sendable (RunProgress) -> Bool

        init(when: @escaping @Sendable (RunProgress) -> Bool) { self.when = when }

        var isOn: Bool {
            lock.lock()
            defer { lock.unlock() }
            return on
        }

        func hear(_ progress: RunProgress) {
            guard when(progress) else { return }
            lock.lock()
            on = true
            lock.unlock()
        }
    }

    static let readiness = ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                            "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"]

    func run(_ day: DayFolder, _ ledger: Ledger, stop: StopSwitch? = nil) throws -> BatchReport {
        var options = BatchOptions(date: sampleDay)
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

    @Test func betweenStepsTheRunStopsBeforeTheNextStep() throws {
        let day = try DayFolder(readiness: Self.readiness)
        let ledger = try day.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: day.config, ledger: ledger)
        let stop = StopSwitch { $0.step == .plan }
        let report = try run(day, ledger, stop: stop)
        #expect(report.stopped && report.outcome == .incomplete)
        #expect(report.ingested.count == 6 && report.plans != nil)
        #expect(report.reconciliation == nil && report.settlement == nil)
        #expect(try ledger.batchRuns().first?.status == "incomplete")
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
