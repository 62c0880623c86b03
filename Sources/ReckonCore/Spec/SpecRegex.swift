/// A regular expression from a spec, compiled once. `Regex` holds no mutable state that
/// matching changes, so sharing one across readers is safe.
public final class SpecRegex: @unchecked Sendable, CustomStringConvertible {
    public let source: String
    private let regex: Regex<AnyRegexOutput>
    /// ASCII bytes every match must start with when the pattern is anchored (`^abc…`), so
    /// most non-matching lines are turned away without running the regex.
    let anchoredPrefix: [UInt8]
    /// The byte-level matcher, when the pattern is simple enough for it.
    private let simple: SimplePattern?

    public init(_ source: String) throws {
        self.source = source
        self.regex = try Regex(source)
        simple = SimplePattern(source)
        var prefix: [UInt8] = []
        // With an alternation anywhere, a match need not start with the first branch's text.
        if source.hasPrefix("^") && !source.contains("|") {
            for byte in source.utf8.dropFirst() {
                let isPlain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                    || (byte >= 0x61 && byte <= 0x7A) || byte == 0x20 || byte == 0x2C || byte == 0x23
                    || byte == 0x3D || byte == 0x5F || byte == 0x3A
                guard isPlain else { break }
                prefix.append(byte)
            }
            // A quantifier after the last plain byte would make it optional.
            if let next = source.utf8.dropFirst(1 + prefix.count).first,
               [UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "{")].contains(next), !prefix.isEmpty {
                prefix.removeLast()
            }
        }
        anchoredPrefix = prefix
    }

    public var description: String { source }

    /// Whether matching runs on bytes (``SimplePattern``), the same for a `String` as for
    /// its UTF-8: cheap enough for the renderer's per-value fast path.
    var matchesOnBytes: Bool { simple != nil }

    /// True when the whole of `text` matches.
    public func matchesWhole(_ text: String) -> Bool {
        if let simple {
            var text = text
            return text.withUTF8 { simple.matchesWhole(UnsafeRawBufferPointer($0)) }
        }
        return (try? regex.wholeMatch(in: text)) != nil
    }

    /// True when the whole of the UTF-8 `bytes` match.
    public func matchesWhole(utf8 bytes: UnsafeRawBufferPointer) -> Bool {
        if let simple { return simple.matchesWhole(bytes) }
        return (try? regex.wholeMatch(in: String(decoding: bytes, as: UTF8.self))) != nil
    }

    /// The capture groups of the first match in `text` (index 0 is the whole match), or nil.
    public func captures(in text: String) -> [String?]? {
        guard let match = try? regex.firstMatch(in: text) else { return nil }
        return (0..<match.output.count).map { index in
            match.output[index].substring.map(String.init)
        }
    }

    /// The ranges of the capture groups (index 0 is the whole match) when the whole of
    /// `text` matches, or nil. A group that took no part in the match has a nil range.
    public func wholeMatchRanges(in text: String) -> [Range<String.Index>?]? {
        guard let match = try? regex.wholeMatch(in: text) else { return nil }
        return (0..<match.output.count).map { match.output[$0].range }
    }

    /// How many capture groups the pattern has (not counting the whole match).
    public var captureCount: Int { Self.countGroups(source) }

    /// Counts capturing groups: unescaped `(` outside a class, not `(?:` or a look-around.
    static func countGroups(_ pattern: String) -> Int {
        var count = 0
        var escaped = false
        var inClass = false
        let chars = Array(pattern)
        for (i, c) in chars.enumerated() {
            if escaped { escaped = false; continue }
            switch c {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass:
                if i + 1 < chars.count, chars[i + 1] == "?" {
                    // (?<name>…) captures; (?:…) and look-arounds do not.
                    if i + 2 < chars.count, chars[i + 2] == "<", i + 3 < chars.count,
                       chars[i + 3] != "=", chars[i + 3] != "!" {
                        count += 1
                    }
                } else {
                    count += 1
                }
            default: break
            }
        }
        return count
    }

    /// Cheap pre-check on raw bytes before decoding and matching.
    @inline(__always)
    func mayMatch(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !anchoredPrefix.isEmpty else { return true }
        guard bytes.count >= anchoredPrefix.count else { return false }
        for (i, byte) in anchoredPrefix.enumerated() where bytes[i] != byte { return false }
        return true
    }
}
