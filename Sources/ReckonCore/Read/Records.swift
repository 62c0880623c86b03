/// Where a record sits in its file.
public struct RecordLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line of the record's first byte; for XML, the line of the record element's
    /// start tag; for fixed-width files without line breaks, the record's number.
    public let line: Int
    /// Offset of the record's first byte in the file.
    public let byteOffset: Int64
    /// XML: the record element's path with its position, `/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]`.
    public let xmlPath: String?

    public init(line: Int, byteOffset: Int64, xmlPath: String? = nil) {
        self.line = line
        self.byteOffset = byteOffset
        self.xmlPath = xmlPath
    }

    public var description: String {
        if let xmlPath { return "line \(line) (\(xmlPath))" }
        return "line \(line)"
    }
}

/// One reason a record was refused.
public struct FieldProblem: Sendable, Hashable, CustomStringConvertible {
    /// The field, when one field is to blame.
    public let field: String?
    /// The field's raw text as the file had it; readers escape what a terminal must not
    /// see (``DisplayText``): control characters, and bytes that did not decode.
    public let rawValue: String?
    public let reason: String
    /// The offending byte's offset in the file, for encoding problems.
    public let byteOffset: Int64?
    /// The physical line the problem is on, when it is not the record's own first line: a
    /// field of a later part of a record assembled from several lines (`parts:`).
    public var line: Int?

    public init(field: String?, rawValue: String?, reason: String, byteOffset: Int64? = nil, line: Int? = nil) {
        self.field = field
        self.rawValue = rawValue
        self.reason = reason
        self.byteOffset = byteOffset
        self.line = line
    }

    /// Raw text escaped as ``DisplayText`` says: safe for a terminal or a report.
    public var description: String {
        var text = line.map { "line \($0): " } ?? ""
        if let field { text += "field '\(field)'" }
        if let rawValue { text += (field == nil ? "value" : "") + " = '\(DisplayText.escaped(rawValue))'" }
        if field != nil || rawValue != nil { text += ": " }
        text += DisplayText.escaped(reason)
        if let byteOffset { text += " (byte offset \(byteOffset))" }
        return text
    }
}

/// A record that was read and passed every check, owned (see ``RecordView/materialize()``).
public struct ParsedRecord: Sendable {
    public let kindIndex: Int
    public let location: RecordLocation
    /// One value per field of the kind, in the kind's field order.
    public let values: [FieldValue]

    public init(kindIndex: Int, location: RecordLocation, values: [FieldValue]) {
        self.kindIndex = kindIndex
        self.location = location
        self.values = values
    }
}

/// A record that was refused, with every reason.
public struct RejectedRecord: Sendable {
    /// Nil when no record kind matched.
    public let kindIndex: Int?
    public let location: RecordLocation
    public let problems: [FieldProblem]
    /// Values of the fields that did parse (`.empty` for the others), so control totals can
    /// still count and sum what is readable.
    public let values: [FieldValue]
    /// An empty line in a fixed-width file (`blank_lines: reject`), counted apart from
    /// records no kind matches.
    public var isBlankLine = false
    /// Problems declared warnings (`warn:`) found in the record besides.
    public var warnings: [FieldProblem] = []
}

/// What a reader found next. A passed record is a view into the reader's memory, valid
/// until the reader's next call.
public enum RecordEvent {
    case record(RecordView)
    /// Boxed: rejections are rare, and a small event is cheap to hand along per record.
    indirect case rejected(RejectedRecord)
    /// A line the spec says to pass over: preamble, blank, or unmatched under `unmatched: skip`.
    case skipped(RecordLocation)
}

/// A problem that ends the reading of a file: it cannot be resynchronised (a line with no
/// end in sight, malformed XML, a truncated record, an unreadable source).
public struct FileFailure: Error, Sendable, CustomStringConvertible {
    public let location: RecordLocation?
    public let reason: String

    public init(location: RecordLocation?, reason: String) {
        self.location = location
        self.reason = reason
    }

    /// The reason escaped as ``DisplayText`` says (it may quote the file).
    public var description: String {
        if let location { return "\(location): \(DisplayText.escaped(reason))" }
        return DisplayText.escaped(reason)
    }
}

/// Reads a file's records one at a time in bounded memory.
public protocol RecordReader {
    /// The next record (or skipped line), nil at the end of the file.
    mutating func next() throws(FileFailure) -> RecordEvent?
}

/// Where a reader's bytes come from. The core does no I/O itself: adapters supply files,
/// tests supply byte arrays.
public protocol ByteSource {
    /// Fills up to `buffer.count` bytes and returns how many; 0 only at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Bytes already in memory.
public struct InMemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        if count > 0 {
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
            }
        }
        position += count
        return count
    }
}
