import Foundation
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


/// One line on standard error, overwritten as long work moves on; nothing when standard
/// error is not a terminal (logs get the final report only). Updates come at most every
/// tenth of a second.
final class ProgressLine: @unchecked Sendable {
    private let interactive = isatty(STDERR_FILENO) == 1
    private var lastShownNanoseconds: UInt64 = 0
    private let lock = NSLock()

    func show(_ message: String) {
        guard interactive else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastShownNanoseconds >= 100_000_000 else { return }
        lastShownNanoseconds = now
        printError("\r\u{1B}[K  " + message, newline: false)
    }

    func clear() {
        if interactive { printError("\r\u{1B}[K", newline: false) }
    }
}
