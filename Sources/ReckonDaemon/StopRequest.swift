import Foundation
import ReckonLedger

/// The daemon's graceful stop, asked for by SIGTERM or SIGINT (ServiceLifecycle's graceful
/// shutdown): the current run checks it before each file and between steps, and a file
/// being posted is abandoned whole (``BatchOptions/shouldStop``).
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }

    func request() {
        lock.lock()
        requested = true
        lock.unlock()
        // A test's hold point (RECKON_HOLD_AT) waits for exactly this.
        CrashPoints.releaseHolds()
    }

    /// Waits up to `seconds`, returning early once a stop is asked for.
    func pause(seconds: Double) async {
        let slices = max(1, Int(seconds * 10))
        for _ in 0..<slices where !isRequested {
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }
}
