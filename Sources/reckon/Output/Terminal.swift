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

