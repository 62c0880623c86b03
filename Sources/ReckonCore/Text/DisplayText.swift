/// Text from a partner file made safe to show on a terminal or in a report: nothing a file
/// holds can move the cursor, clear the screen, recolour the output or break a line.
///
/// One form, everywhere a raw value is shown (reports, `spec check`, quarantine reports,
/// log lines): a control character — C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F)
/// — the line and paragraph separators and bidirectional controls (U+2028–U+202E,
/// U+2066–U+2069) and the invisible U+FEFF are written `\u{1B}`, their code point in
/// upper-case hex; a byte that is not text in the file's encoding is written `\xFF`.
/// Everything else is shown as it is, a backslash too. Escaping is idempotent: escaped text
/// holds nothing that would be escaped again.
public enum DisplayText {
    /// `text` with every control character escaped.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                out += code(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Bytes as text: well-formed UTF-8 is shown (controls escaped); a byte that is not part
    /// of a well-formed character is written `\xHH`. At most `limit` bytes are shown, then `…`.
    public static func escaped(utf8 bytes: UnsafeRawBufferPointer, limit: Int = 200) -> String {
        // Cut between characters, so the last one shown is whole.
        var cut = min(limit, bytes.count)
        if cut < bytes.count {
            var back = cut
            while back > 0 && cut - back < 3 && bytes[back] & 0xC0 == 0x80 { back -= 1 }
            if bytes[back] & 0xC0 != 0x80 { cut = back }
        }
        let shown = UnsafeRawBufferPointer(rebasing: bytes[0..<cut])
        var out = ""
        var iterator = shown.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var position = 0
        parsing: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if needsEscape(scalar) { out += code(scalar) } else { out.unicodeScalars.append(scalar) }
                position += encoded.count
            case .error(let length):
                for byte in shown[position..<(position + length)] { out += "\\x" + hex(byte) }
                position += length
            case .emptyInput:
                break parsing
            }
        }
        return bytes.count > limit ? out + "…" : out
    }

    public static func escaped(utf8 bytes: [UInt8], limit: Int = 200) -> String {
        bytes.withUnsafeBytes { escaped(utf8: $0, limit: limit) }
    }

    /// Bytes in a file's own encoding that did not decode: ASCII is shown (controls
    /// escaped), every other byte written `\xHH`, since it means nothing on its own.
    public static func escaped(undecodable bytes: UnsafeRawBufferPointer, limit: Int = 200) -> String {
        var out = ""
        for byte in bytes.prefix(limit) {
            if byte >= 0x80 {
                out += "\\x" + hex(byte)
            } else {
                let scalar = Unicode.Scalar(byte)
                if needsEscape(scalar) { out += code(scalar) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return bytes.count > limit ? out + "…" : out
    }

    static func code(_ scalar: Unicode.Scalar) -> String {
        "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
    }

    @inline(__always)
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }
}
