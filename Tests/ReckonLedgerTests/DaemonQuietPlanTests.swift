import Foundation
import Logging
import ReckonCore
import Testing
@testable import ReckonDaemon
@testable import ReckonLedger

/// The daemon posts each new file by a run of its own at once; the day's plan and reconcile
/// steps (which read the whole day) wait until no new file has come for the quiet seconds,
/// so files arriving through a busy day do not queue behind them (issue 12, item 10). The
/// ticks are given their monotonic time: nothing here waits.
@Suite("The daemon plans a day once it is quiet")
struct DaemonQuietPlanTests {
    @Test func looksStartEveryPollIntervalWithATenthOfItKeptFree() {
        // The look's own time is part of the interval: a 0.5 s interval and a 0.125 s look
        // leave 0.375 s of pause; a look longer than the interval still leaves a tenth of it.
        #expect(DaemonService.pauseSeconds(pollSeconds: 0.5, lookSeconds: 0.125) == 0.375)
        #expect(DaemonService.pauseSeconds(pollSeconds: 5, lookSeconds: 0) == 5)
        #expect(DaemonService.pauseSeconds(pollSeconds: 5, lookSeconds: 4.75) == 0.5)
        #expect(DaemonService.pauseSeconds(pollSeconds: 5, lookSeconds: 60) == 0.5)
        #expect(DaemonService.pauseSeconds(pollSeconds: 1, lookSeconds: -3) == 1)
    }

    @Test func theDaysPlanAndReconcileWaitForTheQuietSeconds() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        defer { withExtendedLifetime(folder) {} }
        let ledger = try folder.ledger()
        var settings = DaemonSettings(pollSeconds: 1)
        settings.pinnedDate = sampleDay
        settings.planQuietSeconds = 30
        let hooks = DaemonHooks { date, steps, partner in BatchOptions(date: date, steps: steps, partner: partner) }
        let tick = DaemonTick(config: folder.config, ledger: ledger, settings: settings, hooks: hooks, logger: Logger(label: "test"))
        let stop = StopRequest()
        let start: UInt64 = 5_000_000_000_000
        func at(_ seconds: Double) -> DaemonTick.Outcome {
            tick.once(now: Date(), stop: stop, monotonicNanoseconds: start + UInt64(seconds * 1e9))
        }
        func runs() throws -> [String] { try ledger.batchRuns(limit: 10, date: sampleDay).reversed().map(\.steps) }

        let first = at(0)
        #expect(first.ran && !first.idle)
        #expect(try runs() == ["collect,ingest"])
        // Quiet for less than 30 s: nothing runs, and the daemon is not idle (the day is unplanned).
        let waiting = at(29.9)
        #expect(!waiting.ran && !waiting.idle)
        #expect(try runs() == ["collect,ingest"])
        // 30 s without a new file: the day's full run.
        let planned = at(30)
        #expect(planned.ran)
        #expect(try runs() == ["collect,ingest", "collect,ingest,plan,reconcile"])
        #expect(at(31).idle)
    }

    @Test func withExitWhenIdleTheDayIsPlannedAtOnce() throws {
        var settings = DaemonSettings(pollSeconds: 1)
        settings.planQuietSeconds = 30
        #expect(settings.effectivePlanQuietSeconds == 30)
        settings.exitWhenIdle = true
        #expect(settings.effectivePlanQuietSeconds == 0)
    }
}
