import Foundation
import ReckonHTTP
import Testing

@Suite struct HealthReportTests {
    let ledger = "/srv/reckon/ledger.sqlite"

    func health(_ clock: TestClock) -> HealthState {
        HealthState(ledgerPath: ledger, pollIntervalSeconds: 10, startedAt: tickTime, now: { clock.now })
    }

    @Test func okUpToThreePollIntervalsAfterTheLastTick() {
        let clock = TestClock(tickTime.addingTimeInterval(30))
        let state = health(clock)
        state.tickSucceeded(at: tickTime)
        let report = state.report()
        #expect(report.status == .ok)
        #expect(report.httpStatusCode == 200)
        #expect(report.reason == nil)
        #expect(report.json == #"{"status":"ok","ledger":"/srv/reckon/ledger.sqlite","last_tick":"2026-12-01T02:00:00Z"}"#)
    }

    @Test func staleOnceTheLastTickIsOlderThanThreePollIntervals() {
        let clock = TestClock(tickTime.addingTimeInterval(31))
        let state = health(clock)
        state.tickSucceeded(at: tickTime)
        let report = state.report()
        #expect(report.status == .failing)
        #expect(report.httpStatusCode == 503)
        #expect(report.reason == "last tick at 2026-12-01T02:00:00Z is 31 s old, over 3 × the 10 s poll interval")
        #expect(report.json == #"{"status":"failing","ledger":"/srv/reckon/ledger.sqlite","last_tick":"2026-12-01T02:00:00Z","#
            + #""reason":"last tick at 2026-12-01T02:00:00Z is 31 s old, over 3 × the 10 s poll interval"}"#)
    }

    @Test func aLongTickThatKeepsMakingProgressIsBusyNotStale() {
        let clock = TestClock(tickTime.addingTimeInterval(100))
        let state = health(clock)
        state.tickSucceeded(at: tickTime)
        state.working(at: tickTime.addingTimeInterval(75))
        #expect(state.report().status == .ok)
        #expect(state.report().lastTick == tickTime)
        clock.now = tickTime.addingTimeInterval(106)
        #expect(state.report().reason
            == "the tick under way has made no progress since 2026-12-01T02:01:15Z, 31 s ago, over 3 × the 10 s poll interval")
    }

    @Test func beforeTheFirstTickStalenessCountsFromTheStart() {
        let clock = TestClock(tickTime.addingTimeInterval(29))
        let state = health(clock)
        #expect(state.report().json == #"{"status":"ok","ledger":"/srv/reckon/ledger.sqlite","last_tick":null}"#)
        clock.now = tickTime.addingTimeInterval(40)
        #expect(state.report().reason
            == "no tick since the start at 2026-12-01T02:00:00Z, 40 s ago, over 3 × the 10 s poll interval")
    }

    @Test func aFailedLastTickFailsUntilATickSucceeds() {
        let clock = TestClock(tickTime.addingTimeInterval(2))
        let state = health(clock)
        state.tickFailed(at: tickTime, error: "ledger is locked by pid 4242 on host a since 2026-12-01T01:59:00Z")
        #expect(state.report().status == .failing)
        #expect(state.report().reason
            == "last tick at 2026-12-01T02:00:00Z failed: ledger is locked by pid 4242 on host a since 2026-12-01T01:59:00Z")
        state.tickSucceeded(at: tickTime.addingTimeInterval(1))
        #expect(state.report().status == .ok)
        #expect(state.report().lastTick == tickTime.addingTimeInterval(1))
    }

    @Test func fractionalIntervalsAndQuotesInTheReason() {
        let report = HealthReport.evaluate(
            ledger: #"/tmp/a "b"/ledger.sqlite"#, pollIntervalSeconds: 0.5, startedAt: tickTime,
            lastTickAt: tickTime, lastTickError: nil, now: tickTime.addingTimeInterval(1.6))
        #expect(report.reason == "last tick at 2026-12-01T02:00:00Z is 1.6 s old, over 3 × the 0.5 s poll interval")
        #expect(report.json.hasPrefix(#"{"status":"failing","ledger":"/tmp/a \"b\"/ledger.sqlite","#))
    }
}
