import Foundation

/// How often and after what pauses a failed SFTP exchange is tried again: exponential
/// backoff (`initialDelaySeconds`, times `multiplier` each time, at most `maxDelaySeconds`),
/// `maxAttempts` tries in all. Pure: the pauses are computed, the waiting is a ``Sleeper``'s.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialDelaySeconds: Double
    public var multiplier: Double
    public var maxDelaySeconds: Double

    public init(maxAttempts: Int = 4, initialDelaySeconds: Double = 2, multiplier: Double = 2, maxDelaySeconds: Double = 60) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelaySeconds = max(0, initialDelaySeconds)
        self.multiplier = max(1, multiplier)
        self.maxDelaySeconds = max(0, maxDelaySeconds)
    }

    /// The pause before try `attempt` (2 is the first retry); nil when no tries are left.
    public func delaySeconds(beforeAttempt attempt: Int) -> Double? {
        guard attempt >= 2, attempt <= maxAttempts else { return nil }
        var delay = initialDelaySeconds
        for _ in 0..<(attempt - 2) {
            delay *= multiplier
            if delay >= maxDelaySeconds { break }
        }
        return min(delay, maxDelaySeconds)
    }

    /// `body` until it succeeds, fails with an error that is not worth retrying, or the
    /// tries are used up (the last error is thrown). `onRetry` hears each failure that
    /// will be tried again, with the pause before the next try.
    public func run<T>(sleeper: some Sleeper,
                       onRetry: (_ attempt: Int, _ error: SFTPError, _ delaySeconds: Double) -> Void = { _, _, _ in },
                       _ body: (_ attempt: Int) throws(SFTPError) -> T) throws(SFTPError) -> T {
        var attempt = 1
        while true {
            do {
                return try body(attempt)
            } catch {
                guard error.isRetryable, let delay = delaySeconds(beforeAttempt: attempt + 1) else { throw error }
                onRetry(attempt, error, delay)
                sleeper.sleep(seconds: delay)
                attempt += 1
            }
        }
    }
}

/// Waits between tries and between listings; tests give one that only records (or moves
/// a test clock), so no test waits for time to pass.
public protocol Sleeper {
    func sleep(seconds: Double)
}

/// Really waits.
public struct SystemSleeper: Sleeper, Sendable {
    public init() {}

    public func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
