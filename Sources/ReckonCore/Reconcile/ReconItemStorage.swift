import Foundation

/// A match key's bytes (its parts joined by U+001F), kept inline when they fit in 32 bytes
/// (a reference, a loan and a day all do) and in an array otherwise. A million items a side
/// each built, handed between threads and compared by key: an array per key was an
/// allocation, a release and a retain for every copy.
public struct ReconKey: Sendable, Hashable {
    public static let inlineCapacity = 32
    /// The bytes in memory order, zero after the last (so that equal keys have equal words).
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// The number of bytes inline; unused when `spilled` holds them.
    private var inlineCount = 0
    /// A key longer than the inline capacity.
    private var spilled: [UInt8]?

    public init() {}

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= Self.inlineCapacity else {
            spilled = Array(bytes)
            return
        }
        inlineCount = bytes.count
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBufferPointer { ReconKey($0) }
    }

    public var count: Int { spilled?.count ?? inlineCount }

    /// The key's bytes, for as long as `body` runs.
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        if let spilled { return try spilled.withUnsafeBytes(body) }
        return try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(inlineCount))) }
    }

    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// Byte order, as SQLite's BINARY collation sorts text (memcmp, then the shorter first).
    public func precedes(_ other: ReconKey) -> Bool {
        withBytes { x in
            other.withBytes { y in
                let common = min(x.count, y.count)
                let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                return order < 0 || (order == 0 && x.count < y.count)
            }
        }
    }

    public static func == (a: ReconKey, b: ReconKey) -> Bool {
        if a.spilled == nil && b.spilled == nil { return a.inlineCount == b.inlineCount && a.words == b.words }
        return a.withBytes { x in b.withBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}

/// An item's compared values by the rule's compared-field index, kept inline up to four
/// (rules compare a few fields) and in an array beyond: no allocation per item.
public struct ReconValues: Sendable, Hashable, RandomAccessCollection, MutableCollection {
    public static let inlineCapacity = 4
    private var inline: (ReconValue?, ReconValue?, ReconValue?, ReconValue?) = (nil, nil, nil, nil)
    private var inlineCount = 0
    private var spilled: [ReconValue?]?

    /// `count` values, all absent.
    public init(absent count: Int) {
        if count > Self.inlineCapacity { spilled = Array(repeating: nil, count: count) } else { inlineCount = count }
    }

    public init(_ values: [ReconValue?]) {
        self.init(absent: values.count)
        for (index, value) in values.enumerated() { self[index] = value }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { spilled?.count ?? inlineCount }

    public subscript(index: Int) -> ReconValue? {
        get {
            if let spilled { return spilled[index] }
            precondition(index >= 0 && index < inlineCount, "compared value index out of range")
            switch index {
            case 0: return inline.0
            case 1: return inline.1
            case 2: return inline.2
            default: return inline.3
            }
        }
        set {
            if spilled != nil {
                spilled![index] = newValue
                return
            }
            precondition(index >= 0 && index < inlineCount, "compared value index out of range")
            switch index {
            case 0: inline.0 = newValue
            case 1: inline.1 = newValue
            case 2: inline.2 = newValue
            default: inline.3 = newValue
            }
        }
    }

    public static func == (a: ReconValues, b: ReconValues) -> Bool { a.elementsEqual(b) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for value in self { hasher.combine(value) }
    }
}
