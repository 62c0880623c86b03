import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The character encodings partner files come in. Decoding is strict: a byte sequence the
/// encoding does not define is an error with its offset, never a silent U+FFFD.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case gbk = "gbk"
    case gb18030 = "gb18030"
    case iso8859_1 = "iso-8859-1"
    case iso8859_2 = "iso-8859-2"
    /// Latin-9: ISO-8859-1 with the euro sign (0xA4) and a few letters changed.
    case iso8859_15 = "iso-8859-15"
    /// Windows' Western European code page, which many European banks' files are in: ISO-8859-1
    /// with printable characters (€ at 0x80, typographic quotes, Š, Ž…) in 0x80–0x9F; its five
    /// undefined bytes there are errors.
    case windows1252 = "windows-1252"

    /// Accepts the usual spellings (`UTF8`, `utf-8`, `GBK`, `latin1`, …).
    public init?(name: String) {
        switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "utf-8", "utf8": self = .utf8
        case "gbk", "cp936": self = .gbk
        case "gb18030", "gb-18030": self = .gb18030
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1": self = .iso8859_1
        case "iso-8859-2", "iso8859-2", "latin2", "latin-2": self = .iso8859_2
        case "iso-8859-15", "iso8859-15", "latin9", "latin-9": self = .iso8859_15
        case "windows-1252", "cp1252", "win1252": self = .windows1252
        default: return nil
        }
    }

    /// The name glibc's iconv knows the encoding by.
    var iconvName: String {
        switch self {
        case .utf8: return "UTF-8"
        case .gbk: return "GBK"
        case .gb18030: return "GB18030"
        case .iso8859_1: return "ISO-8859-1"
        case .iso8859_2: return "ISO-8859-2"
        case .iso8859_15: return "ISO-8859-15"
        case .windows1252: return "CP1252"
        }
    }

    /// GBK and GB18030 trail bytes overlap printable ASCII (0x40–0x7E, and digits in
    /// GB18030's four-byte form), so a scanner looking for ASCII delimiters must step over
    /// whole characters in these encodings.
    public var trailBytesMayBeASCII: Bool { self == .gbk || self == .gb18030 }

    /// Length of the character that starts with `lead` (followed by `next`) in a GB-family
    /// encoding: 1 for ASCII, 4 for GB18030's four-byte form, otherwise 2. Structural only;
    /// whether the character exists is iconv's call when the field is decoded.
    @inline(__always)
    func gbCharacterLength(lead: UInt8, next: UInt8?) -> Int {
        if lead < 0x81 || lead == 0xFF { return 1 }
        if self == .gb18030, let next, (0x30...0x39).contains(next) { return 4 }
        return 2
    }
}

/// Why a run of bytes did not decode. The offset is where the offending character starts,
/// and the bytes are the ones that make it wrong, so a message can name them.
public enum DecodingFailure: Error, Equatable, Sendable {
    /// Bytes (from this offset within the run) that are no character: a byte that starts
    /// none (`bytes` is that byte), or a lead byte and the byte after it that cannot
    /// continue it (`bytes` runs from the lead to that byte).
    case invalidBytes(offset: Int, bytes: [UInt8])
    /// The run ends in the middle of a multibyte character: `bytes` is what there is of it.
    case incompleteCharacter(offset: Int, bytes: [UInt8])
    /// U+FEFF (a byte order mark) at this offset, away from the start of the file.
    case byteOrderMark(offset: Int)

    /// The offset within the decoded run.
    public var offset: Int {
        switch self {
        case .invalidBytes(let o, _), .incompleteCharacter(let o, _), .byteOrderMark(let o): return o
        }
    }

    /// Reads well after "field 'name': " and before " (byte offset N)".
    public func reason(encoding: TextEncoding) -> String {
        let name = encoding.rawValue.uppercased()
        switch self {
        case .invalidBytes(_, let bytes) where bytes.count == 1:
            return "byte \(Self.hexList(bytes)) is not valid \(name)"
        case .invalidBytes(_, let bytes) where encoding == .utf8:
            let lead = bytes[0], wrong = bytes[bytes.count - 1]
            return "bytes \(Self.hexList(bytes)) are not valid UTF-8: 0x\(hex(lead)) starts a \(UTF8Validation.sequenceLength(lead: lead))-byte character, and 0x\(hex(wrong)) cannot continue it"
        case .invalidBytes(_, let bytes):
            return "bytes \(Self.hexList(bytes)) are not valid \(name)"
        case .incompleteCharacter(_, let bytes):
            return "a \(name) character is cut off: \(Self.hexList(bytes)) and nothing after (incomplete multibyte sequence)"
        case .byteOrderMark:
            return "a byte order mark (U+FEFF) is only allowed at the very start of a file"
        }
    }

    static func hexList(_ bytes: [UInt8]) -> String { bytes.map { "0x" + hex($0) }.joined(separator: " ") }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// One iconv conversion descriptor, reset before each run. Not thread-safe.
final class IconvConverter {
    private let handle: iconv_t

    init?(from source: String, to target: String) {
        guard let handle = iconv_open(target, source), handle != iconv_t(bitPattern: -1) else { return nil }
        self.handle = handle
    }

    deinit { iconv_close(handle) }

    /// Converts the whole of `input`, appending to `output`. Stops at the first byte the
    /// source encoding does not define (or an incomplete character at the end).
    func convert(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) -> DecodingFailure? {
        guard let base = input.baseAddress, input.count > 0 else { return nil }
        _ = iconv(handle, nil, nil, nil, nil)
        let start = output.count
        // Every supported character is at most 4 bytes on either side and at least 1.
        let capacity = input.count * 4 + 4
        var failure: DecodingFailure?
        var produced = 0
        output.append(contentsOf: repeatElement(0, count: capacity))
        output.withUnsafeMutableBytes { buffer in
            var inPointer: UnsafeMutablePointer<CChar>? =
                UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
            var inLeft = input.count
            var outPointer: UnsafeMutablePointer<CChar>? =
                (buffer.baseAddress! + start).assumingMemoryBound(to: CChar.self)
            var outLeft = capacity
            if iconv(handle, &inPointer, &inLeft, &outPointer, &outLeft) == -1 {
                let offset = input.count - inLeft
                failure = errno == EINVAL
                    ? .incompleteCharacter(offset: offset, bytes: Array(input[offset...].prefix(4)))
                    : Self.invalidSequence(input, at: offset)
            }
            produced = capacity - outLeft
        }
        output.removeLast(capacity - produced)
        if failure != nil { output.removeLast(produced) }
        return failure
    }

    /// iconv stops where the bad character starts: a byte that starts no character, or a
    /// lead byte with what follows it (GBK and GB18030 leads are 0x81–0xFE).
    private static func invalidSequence(_ input: UnsafeRawBufferPointer, at offset: Int) -> DecodingFailure {
        let lead = input[offset]
        guard lead >= 0x81, lead != 0xFF, offset + 1 < input.count else { return .invalidBytes(offset: offset, bytes: [lead]) }
        // GB18030's four-byte form has a digit second.
        let length = (0x30...0x39).contains(input[offset + 1]) ? 4 : 2
        return .invalidBytes(offset: offset, bytes: Array(input[offset..<min(input.count, offset + length)]))
    }
}

/// Strict decoding of one encoding into UTF-8. UTF-8 input is validated in place; the
/// others go through glibc's iconv. Not thread-safe: one per reader.
public final class TextDecoder {
    public let encoding: TextEncoding
    private let converter: IconvConverter?

    public init(_ encoding: TextEncoding) {
        self.encoding = encoding
        if encoding == .utf8 {
            converter = nil
        } else {
            guard let converter = IconvConverter(from: encoding.iconvName, to: "UTF-8") else {
                preconditionFailure("glibc iconv lacks \(encoding.iconvName)")
            }
            self.converter = converter
        }
    }

    /// True when `bytes` need no conversion to be UTF-8: UTF-8 input, or pure ASCII in any
    /// of the supported (ASCII-compatible) encodings.
    @inline(__always)
    public func isUTF8Already(_ bytes: UnsafeRawBufferPointer) -> Bool {
        encoding == .utf8 || UTF8Validation.isASCII(bytes)
    }

    /// Decodes `bytes` into UTF-8 appended to `output`. For UTF-8 input the bytes are only
    /// validated and `output` is left untouched: the caller reads the input as is.
    public func decode(_ bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) -> DecodingFailure? {
        guard let converter else { return UTF8Validation.check(bytes) }
        let start = output.count
        if let failure = converter.convert(bytes, appendingTo: &output) { return failure }
        // A U+FEFF that iconv decoded from the middle of the file.
        if UTF8Validation.firstByteOrderMark(output, from: start) != nil {
            output.removeSubrange(start...)
            return .byteOrderMark(offset: Self.gb18030ByteOrderMark(in: bytes) ?? 0)
        }
        return nil
    }

    /// Decodes a whole run to a String.
    public func string(_ bytes: UnsafeRawBufferPointer) -> Result<String, DecodingFailure> {
        if isUTF8Already(bytes) {
            if encoding == .utf8, let failure = UTF8Validation.check(bytes) { return .failure(failure) }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
        var output: [UInt8] = []
        if let failure = decode(bytes, into: &output) { return .failure(failure) }
        return .success(String(decoding: output, as: UTF8.self))
    }

    /// U+FEFF is 84 31 95 33 in GB18030 (GBK and the Latin encodings cannot express it).
    private static func gb18030ByteOrderMark(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 0x84 && bytes[i + 1] == 0x31 && bytes[i + 2] == 0x95 && bytes[i + 3] == 0x33 {
            return i
        }
        return nil
    }
}

/// Strict encoding of text into a partner's encoding: literals in specs, outbound files.
public enum TextEncoder {
    /// Nil when some character has no representation in `encoding`.
    public static func encode(_ text: String, as encoding: TextEncoding) -> [UInt8]? {
        if encoding == .utf8 { return Array(text.utf8) }
        // Every supported encoding is a superset of ASCII: most rendered values (numbers,
        // dates, codes) need no converter.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return Array(text.utf8) }
        guard let converter = IconvConverter(from: "UTF-8", to: encoding.iconvName) else { return nil }
        var input = Array(text.utf8)
        var output: [UInt8] = []
        let failure = input.withUnsafeMutableBytes { converter.convert(UnsafeRawBufferPointer($0), appendingTo: &output) }
        return failure == nil ? output : nil
    }
}
