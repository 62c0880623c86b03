import Foundation
import ReckonLedger
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func printError(_ message: String, newline: Bool = true) {
    let line = Array((message + (newline ? "\n" : "")).utf8)
    line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Standard output is a terminal (colour and symbols are welcome there).
let isTerminal = isatty(STDOUT_FILENO) == 1

/// Progress on standard error while long work runs, naming the step that is running.
///
/// On a terminal: one line, redrawn as work moves on (at most ten times a second) and
/// cleared at the end. Anywhere else (cron, CI, a log file) plain lines: one for each new
/// stage (a step, a file, a phase of the plan step) and, between them, at most one count
/// every `plainIntervalSeconds`, each line stamped with the local time, so a long run's
/// log shows where it is and where the time went.
final class ProgressLine: @unchecked Sendable {
    private let interactive: Bool
    private let plainIntervalNanoseconds: UInt64
    private var lastShownNanoseconds: UInt64?
    private let lock = NSLock()

    init(interactive: Bool = isatty(STDERR_FILENO) == 1, plainIntervalSeconds: Double = 5) {
        self.interactive = interactive
        plainIntervalNanoseconds = UInt64(plainIntervalSeconds * 1e9)
    }

    func show(_ progress: RunProgress) { show(progress.text, isStage: progress.isStage) }

    /// A stage is always shown; a count only when the last line is old enough.
    func show(_ text: String, isStage: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        let interval = interactive ? 100_000_000 : plainIntervalNanoseconds
        if !isStage, let last = lastShownNanoseconds, now - last < interval { return }
        lastShownNanoseconds = now
        if interactive {
            printError("\r\u{1B}[K  " + text, newline: false)
        } else {
            printError("[\(TimeText.clock(Date()))] \(text)")
        }
    }

    func clear() {
        if interactive && lastShownNanoseconds != nil { printError("\r\u{1B}[K", newline: false) }
    }
}
