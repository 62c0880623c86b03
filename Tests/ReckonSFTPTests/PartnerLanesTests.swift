import Foundation
@testable import ReckonSFTP
import Testing

/// The partners' fetches wait on servers, so their lanes must run at once whatever the
/// number of cores: `DispatchQueue.concurrentPerform` ran two at a time on two cores.
@Suite("Partner lanes")
struct PartnerLanesTests {
    @Test func everyLaneRunsAtOnceWhateverTheCores() {
        // Eight items that each wait until all eight have started: they can only all see the
        // eighth arrive if eight run at once (the wait is bounded, so a failure is not a hang).
        let lanes = 8
        let meeting = Meeting(expected: lanes)
        let results = PartnerLanes(count: lanes) { index in meeting.arriveAndWait(timeoutSeconds: 60) ? index : -1 }.run(lanes: lanes)
        #expect(results == Array(0..<lanes))
    }

    @Test func itemsComeBackInTheirOrderAndNoMoreRunAtOnceThanTheLanes() {
        let running = Counter()
        let results = PartnerLanes(count: 50) { index in
            running.enter()
            defer { running.leave() }
            usleep(UInt32(1000 * (index % 3)))  // items finish out of order; nothing depends on how long
            return index * 2
        }.run(lanes: 4)
        #expect(results == (0..<50).map { $0 * 2 })
        #expect(running.most <= 4)
        #expect(PartnerLanes(count: 0) { $0 }.run(lanes: 8).isEmpty)
        #expect(PartnerLanes(count: 3) { $0 + 1 }.run(lanes: 1) == [1, 2, 3])
    }
}

/// Threads meeting: each arrives, then waits until `expected` have arrived (or the time is up).
private final class Meeting: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let expected: Int

    init(expected: Int) { self.expected = expected }

    func arriveAndWait(timeoutSeconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while arrived < expected {
            if !condition.wait(until: deadline) { return arrived >= expected }
        }
        return true
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    private var highest = 0
    var most: Int { lock.withLock { highest } }

    func enter() { lock.withLock { now += 1; highest = max(highest, now) } }
    func leave() { lock.withLock { now -= 1 } }
}
