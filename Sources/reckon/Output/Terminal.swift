#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Standard output is a terminal (colour and symbols are welcome there).
let isTerminal = isatty(STDOUT_FILENO) == 1

/// Columns a string takes in a terminal: East Asian wide characters take two.
func displayWidth(_ text: String) -> Int {
    var width = 0
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            width += 2
        case 0x0300...0x036F, 0x200B...0x200F:
            break
        default:
            width += 1
        }
    }
    return width
}

/// Cuts `text` to at most `limit` columns, marking the cut with an ellipsis.
func clip(_ text: String, to limit: Int) -> String {
    guard displayWidth(text) > limit else { return text }
    var result = ""
    var width = 0
    for character in text {
        let w = displayWidth(String(character))
        if width + w > limit - 1 { break }
        result.append(character)
        width += w
    }
    return result + "…"
}

func padded(_ text: String, to width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - displayWidth(text)))
}
