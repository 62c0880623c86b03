import Foundation

/// What the daemon tells /healthz: when it last ticked and whether that tick failed. The
/// daemon updates it from its loop; the server reads it per request.
public final class HealthState: @unchecked Sendable {
    /// The ledger the daemon runs against, shown by /healthz.
    public let ledgerPath: String
    /// The daemon's poll interval; a last tick older than 3 × this is stale.
    public let pollIntervalSeconds: Double
    private let now: @Sendable () -> Date
    // Guards the three below (@unchecked Sendable: every access goes through the lock).
    private let lock = NSLock()
    private let startedAt: Date
    private var lastTickAt: Date?
    private var lastTickError: String?
    private var lastProgressAt: Date?

    /// - Parameters:
    ///   - startedAt: staleness counts from here until the first tick; `now()` by default.
    ///   - now: the wall clock (tests give their own).
    public init(
        ledgerPath: String, pollIntervalSeconds: Double, startedAt: Date? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.ledgerPath = ledgerPath
        self.pollIntervalSeconds = pollIntervalSeconds
        self.now = now
        self.startedAt = startedAt ?? now()
    }

    /// A tick finished without error at `date`.
    public func tickSucceeded(at date: Date) {
        lock.withLock {
            lastTickAt = date
            lastTickError = nil
        }
    }

    /// A tick finished at `date` with `error` (a log line's wording; never a secret).
    public func tickFailed(at date: Date, error: String) {
        lock.withLock {
            lastTickAt = date
            lastTickError = error
        }
    }

    /// A tick still under way made progress at `date` (a file begun, records stored): a long
    /// tick, posting a big file, is busy, not stuck, as long as it keeps making progress.
    public func working(at date: Date) {
        lock.withLock { lastProgressAt = date }
    }

    /// The health as of now.
    public func report() -> HealthReport {
        let (lastTickAt, lastTickError, lastProgressAt) = lock.withLock { (self.lastTickAt, self.lastTickError, self.lastProgressAt) }
        return HealthReport.evaluate(
            ledger: ledgerPath, pollIntervalSeconds: pollIntervalSeconds, startedAt: startedAt,
            lastTickAt: lastTickAt, lastTickError: lastTickError, lastProgressAt: lastProgressAt, now: now())
    }
}

/// /healthz's answer: ok, or failing with the reason.
public struct HealthReport: Sendable, Equatable {
    public enum Status: String, Sendable {
        case ok
        case failing
    }

    public let status: Status
    /// The ledger's path, as the daemon gave it.
    public let ledger: String
    /// When the last tick finished; nil before the first.
    public let lastTick: Date?
    /// Why it is failing; nil when ok.
    public let reason: String?

    /// Failing when the last sign of life (the last tick, or the start before any tick, or
    /// progress within a tick still under way) is more than 3 × `pollIntervalSeconds` before
    /// `now`, or when the last tick failed; staleness first, since a stuck daemon hides
    /// whatever its last tick said.
    public static func evaluate(
        ledger: String, pollIntervalSeconds: Double, startedAt: Date, lastTickAt: Date?,
        lastTickError: String?, lastProgressAt: Date? = nil, now: Date
    ) -> HealthReport {
        let limitSeconds = 3 * pollIntervalSeconds
        let alive = max(lastTickAt ?? startedAt, lastProgressAt ?? .distantPast)
        let ageSeconds = now.timeIntervalSince(alive)
        let over = "over 3 × the \(seconds(pollIntervalSeconds)) poll interval"
        var reason: String?
        if ageSeconds > limitSeconds {
            if let lastProgressAt, lastProgressAt > (lastTickAt ?? startedAt) {
                reason = "the tick under way has made no progress since \(iso8601(lastProgressAt)), \(seconds(ageSeconds)) ago, \(over)"
            } else if let lastTickAt {
                reason = "last tick at \(iso8601(lastTickAt)) is \(seconds(ageSeconds)) old, \(over)"
            } else {
                reason = "no tick since the start at \(iso8601(startedAt)), \(seconds(ageSeconds)) ago, \(over)"
            }
        } else if let lastTickError, let lastTickAt {
            reason = "last tick at \(iso8601(lastTickAt)) failed: \(lastTickError)"
        }
        return HealthReport(status: reason == nil ? .ok : .failing, ledger: ledger, lastTick: lastTickAt, reason: reason)
    }

    /// The HTTP status /healthz answers with: 200 when ok, 503 when failing.
    public var httpStatusCode: Int { status == .ok ? 200 : 503 }

    /// The body: `{"status":"ok","ledger":"…","last_tick":"2026-12-01T02:00:00Z"}` (last_tick
    /// null before the first tick), plus `"reason":"…"` when failing.
    public var json: String {
        var fields = [
            ("status", Self.quoted(status.rawValue)),
            ("ledger", Self.quoted(ledger)),
            ("last_tick", lastTick.map { Self.quoted(Self.iso8601($0)) } ?? "null"),
        ]
        if let reason { fields.append(("reason", Self.quoted(reason))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// `31 s`, `2.5 s`: whole seconds without a fraction.
    static func seconds(_ value: Double) -> String {
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? "\(Int(tenths)) s" : "\(tenths) s"
    }

    // JSONEncoder escapes the string (quotes, control characters, non-ASCII as is).
    private static func quoted(_ string: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        // Encoding a String cannot fail.
        return String(decoding: (try? encoder.encode(string)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
