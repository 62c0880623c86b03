/// Well-formed UTF-8 as Unicode's table 3-7 defines it: no overlong forms, no surrogates,
/// nothing past U+10FFFF. ASCII runs are skipped eight bytes at a time.
public enum UTF8Validation {
    /// True when every byte is below 0x80.
    @inline(__always)
    public static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index + 8 <= count {
            if base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                return false
            }
            index += 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) >= 0x80 { return false }
            index += 1
        }
        return true
    }

    /// Nil when `bytes` are well-formed UTF-8 with no byte order mark; otherwise the first
    /// problem: where the offending character starts and its bytes.
    public static func check(_ bytes: UnsafeRawBufferPointer) -> DecodingFailure? {
        if isASCII(bytes) { return nil }
        let count = bytes.count
        var i = 0
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return .invalidBytes(offset: i, bytes: [lead])
            }
            for k in 1..<length {
                guard i + k < count else { return .incompleteCharacter(offset: i, bytes: Array(bytes[i..<count])) }
                let byte = bytes[i + k]
                let (lo, hi) = k == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                if byte < lo || byte > hi { return .invalidBytes(offset: i, bytes: Array(bytes[i...(i + k)])) }
            }
            if length == 3, lead == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF {
                return .byteOrderMark(offset: i)
            }
            i += length
        }
        return nil
    }

    /// How many bytes the UTF-8 character starting with `lead` takes (1 for a byte that
    /// starts none).
    static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 1
        }
    }

    /// The offset of the first EF BB BF at or after `from`, if any.
    static func firstByteOrderMark(_ bytes: [UInt8], from: Int) -> Int? {
        var i = from
        while i + 2 < bytes.count {
            if bytes[i] == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF { return i }
            i += 1
        }
        return nil
    }

    /// Byte offsets where each Unicode scalar starts, for specs that count characters.
    /// `bytes` must be valid UTF-8.
    static func scalarStarts(_ bytes: UnsafeRawBufferPointer, into starts: inout [Int]) {
        starts.removeAll(keepingCapacity: true)
        for i in 0..<bytes.count where bytes[i] & 0xC0 != 0x80 {
            starts.append(i)
        }
        starts.append(bytes.count)
    }
}
