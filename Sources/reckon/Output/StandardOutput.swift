// C's `stdout` is a mutable global to Swift 6; reckon never reassigns it, and writes lock it.
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif
import ReckonCore

/// reckon's standard output: written line by line whatever it is (a terminal, a pipe, a
/// log file), so a run that is killed leaves every line it printed; and a write that fails
/// (a full disk) is said once, on standard error, and fails the command.
enum StandardOutput {
    /// The errno of the first failed write, 0 while every write went through.
    nonisolated(unsafe) private(set) static var failure: Int32 = 0

    /// Before anything is printed: a file or a pipe would otherwise be written in blocks of
    /// several kilobytes, and a killed batch would leave an empty log.
    static func makeLineBuffered() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    /// Writes `text`; a line is on its way to the file when this returns.
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            flockfile(stdout)
            defer { funlockfile(stdout) }
            errno = 0
            let written = fwrite(base, 1, bytes.count, stdout)
            if written < bytes.count || ferror(stdout) != 0 {
                let code = errno == 0 ? EIO : errno
                clearerr(stdout)
                noteFailure(code)
            }
        }
    }

    /// Flushes what is left; false when some output was lost.
    static func finish() -> Bool {
        if fflush(stdout) != 0 || ferror(stdout) != 0 { noteFailure(errno == 0 ? EIO : errno) }
        return failure == 0
    }

    private static func noteFailure(_ code: Int32) {
        // A reader that went away (`reckon status | head -1`) is not an error of ours.
        guard code != EPIPE, failure == 0 else { return }
        failure = code
        printError("reckon: writing the output to \(target()) failed: \(String(cString: strerror(code))) (the output is incomplete)")
    }

    /// What standard output is: a file's path, or what kind of thing it is.
    static func target() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/fd/\(STDOUT_FILENO)", &buffer, buffer.count - 1)
        guard length > 0 else { return "standard output" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasPrefix("pipe:") { return "standard output (a pipe)" }
        if path.hasPrefix("socket:") { return "standard output (a socket)" }
        return DisplayText.escaped(path)
    }
}

/// Every `print` in the CLI goes through ``StandardOutput``, so no command can lose a
/// failed write silently.
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    StandardOutput.write(items.map { String(describing: $0) }.joined(separator: separator) + terminator)
}
