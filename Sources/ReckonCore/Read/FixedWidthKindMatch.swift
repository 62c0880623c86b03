/// Tells which kind a fixed-width record is by its discriminator: literal values at a
/// position compared as bytes, patterns and line patterns the slow way, or the fallback
/// kind. A class the reader holds, so matching a record never copies the reader.
final class FixedWidthKindMatch {
    let spec: MappingSpec
    let decoder: TextDecoder
    /// Discriminators as plain data, in kind order.
    private let matchers: ContiguousArray<KindMatcher>
    private let literalBytes: ContiguousArray<UInt8>

    struct KindMatcher {
        let kind: Int
        /// A literal discriminator: one of `count` values of `length` bytes at
        /// `literalBytes[offset...]`; otherwise the kind's match is tested the slow way.
        let isLiteral: Bool
        let start: Int
        let length: Int
        let offset: Int
        let count: Int
        /// Takes whatever no other kind matched.
        let isFallback: Bool
    }

    init(spec: MappingSpec, decoder: TextDecoder) {
        self.spec = spec
        self.decoder = decoder
        var matchers = ContiguousArray<KindMatcher>()
        var literalBytes = ContiguousArray<UInt8>()
        for kind in spec.kinds {
            if case .literal(let start, let length, let values)? = kind.match {
                matchers.append(KindMatcher(kind: kind.index, isLiteral: true, start: start, length: length,
                                            offset: literalBytes.count, count: values.count, isFallback: false))
                for value in values { literalBytes += value }
            } else {
                matchers.append(KindMatcher(kind: kind.index, isLiteral: false, start: 0, length: 0, offset: 0, count: 0,
                                            isFallback: kind.isFallback || (kind.match == nil && spec.kinds.count == 1)))
            }
        }
        self.matchers = matchers
        self.literalBytes = literalBytes
    }

    /// The index of the first kind whose discriminator matches (or the fallback kind).
    /// `scalarStarts` maps character positions to bytes when `countsCharacters`.
    func match(_ record: UnsafeRawBufferPointer, countsCharacters: Bool, scalarStarts: [Int]) -> Int? {
        var fallback: Int?
        let found: Int? = matchers.withUnsafeBufferPointer { matchers in
            literalBytes.withUnsafeBufferPointer { literals in
                for matcher in matchers {
                    if matcher.isLiteral {
                        let from = Self.byteIndex(matcher.start, record, countsCharacters, scalarStarts)
                        for value in 0..<matcher.count {
                            let at = matcher.offset + value * matcher.length
                            if Self.sliceEquals(record, from: from, UnsafeBufferPointer(rebasing: literals[at..<(at + matcher.length)])) {
                                return matcher.kind
                            }
                        }
                    } else if matcher.isFallback {
                        fallback = matcher.kind
                    } else if slowMatch(spec.kinds[matcher.kind], record, countsCharacters: countsCharacters, scalarStarts: scalarStarts) {
                        return matcher.kind
                    }
                }
                return nil
            }
        }
        return found ?? fallback
    }

    /// Pattern and line discriminators.
    private func slowMatch(_ kind: RecordKind, _ record: UnsafeRawBufferPointer, countsCharacters: Bool, scalarStarts: [Int]) -> Bool {
        switch kind.match {
        case .slicePattern(let start, let length, let pattern)?:
            let from = Self.byteIndex(start, record, countsCharacters, scalarStarts)
            let to = Self.byteIndex(start + length, record, countsCharacters, scalarStarts)
            guard from <= to else { return false }
            let slice = UnsafeRawBufferPointer(rebasing: record[from..<to])
            if case .success(let text) = decoder.string(slice) { return pattern.matchesWhole(text) }
            return false
        case .line(let pattern)?:
            guard pattern.mayMatch(record) else { return false }
            if case .success(let text) = decoder.string(record) { return pattern.captures(in: text) != nil }
            return false
        default:
            return false
        }
    }

    @inline(__always)
    static func byteIndex(_ position: Int, _ record: UnsafeRawBufferPointer, _ countsCharacters: Bool, _ scalarStarts: [Int]) -> Int {
        if !countsCharacters { return min(position, record.count) }
        return position < scalarStarts.count ? scalarStarts[position] : record.count
    }

    /// Compares a slice with a literal, reading missing bytes of a short line as spaces.
    @inline(__always)
    static func sliceEquals(_ record: UnsafeRawBufferPointer, from: Int, _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        var position = from
        for byte in value {
            let actual = position < record.count ? record[position] : 0x20
            if actual != byte { return false }
            position += 1
        }
        return true
    }
}
