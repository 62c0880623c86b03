/// One field's value as readers keep it: plain data, so a record's values cost no reference
/// counting. Text stays UTF-8 bytes in the record's arena until someone asks for a String.
enum Slot: Sendable {
    case empty
    case integer(Int64)
    case decimal(DecimalAmount)
    case date(CivilDate)
    case time(TimeOfDay)
    case dateTime(DateTime)
    /// UTF-8 bytes at `offset..<offset+length` in the arena.
    case text(offset: Int32, length: Int32)
    /// The canonical value of a code map entry (`FieldSpec.codeValues[index]`).
    case code(Int32)
}

/// A record that was read and passed every check, as the reader holds it: valid until the
/// reader's next `next()` call. Numbers, dates and codes cost nothing to read; text is
/// validated UTF-8 in the reader's memory, made into a `String` only on request. Call
/// ``materialize()`` to keep the record.
public struct RecordView {
    public let kind: RecordKind
    public let location: RecordLocation
    let slots: UnsafePointer<Slot>
    let arena: UnsafeRawPointer

    public var kindIndex: Int { kind.index }
    public var count: Int { kind.fields.count }

    /// The value of field `index`, made into an owned ``FieldValue``.
    public subscript(index: Int) -> FieldValue {
        precondition(index >= 0 && index < count, "field index out of range")
        switch slots[index] {
        case .empty: return .empty
        case .integer(let n): return .integer(n)
        case .decimal(let d): return .decimal(d)
        case .date(let d): return .date(d)
        case .time(let t): return .time(t)
        case .dateTime(let t): return .dateTime(t)
        case .text(let offset, let length):
            return .text(String(decoding: UnsafeRawBufferPointer(start: arena + Int(offset), count: Int(length)), as: UTF8.self))
        case .code(let code): return kind.fields[index].codeValues[Int(code)]
        }
    }

    /// The value of the field with this canonical name.
    public func value(named name: String) -> FieldValue? {
        kind.fieldIndex(named: name).map { self[$0] }
    }

    /// An integer or decimal field as an exact decimal, without allocating.
    public func amount(at index: Int) -> DecimalAmount? {
        switch slots[index] {
        case .integer(let n): return DecimalAmount(units: n, scale: 0)
        case .decimal(let d): return d
        default: return nil
        }
    }

    /// A text field's UTF-8 bytes, without making a String (nil for other values).
    public func withUTF8<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result? {
        switch slots[index] {
        case .text(let offset, let length):
            return try body(UnsafeRawBufferPointer(start: arena + Int(offset), count: Int(length)))
        case .code(let code):
            return try kind.fields[index].codeValueUTF8[Int(code)].withUnsafeBytes(body)
        default:
            return nil
        }
    }

    /// An owned copy of the record.
    public func materialize() -> ParsedRecord {
        ParsedRecord(kindIndex: kind.index, location: location, values: (0..<count).map { self[$0] })
    }
}

/// Read access to one record's values, whichever way they are held: the controls judge
/// passed records (views) and rejected ones (partial values) alike.
protocol RecordValues {
    func amount(at index: Int) -> DecimalAmount?
    /// The field's canonical text is one of `candidates` (UTF-8).
    func text(at index: Int, isOneOf candidates: [[UInt8]]) -> Bool
}

extension RecordView: RecordValues {
    func text(at index: Int, isOneOf candidates: [[UInt8]]) -> Bool {
        if let matched = withUTF8(at: index, { bytes in candidates.contains { $0.elementsEqual(bytes) } }) {
            return matched
        }
        let text = self[index].description
        return candidates.contains { $0.elementsEqual(text.utf8) }
    }
}

extension Array: RecordValues where Element == FieldValue {
    func amount(at index: Int) -> DecimalAmount? {
        guard indices.contains(index) else { return nil }
        switch self[index] {
        case .integer(let n): return DecimalAmount(units: n, scale: 0)
        case .decimal(let d): return d
        default: return nil
        }
    }

    func text(at index: Int, isOneOf candidates: [[UInt8]]) -> Bool {
        guard indices.contains(index) else { return false }
        let text = self[index].description
        return candidates.contains { $0.elementsEqual(text.utf8) }
    }
}
