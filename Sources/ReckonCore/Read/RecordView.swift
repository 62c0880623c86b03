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
    /// Unowned: the reader's spec keeps the kind alive as long as the view is valid, and a
    /// view that holds no reference copies as plain bytes on the per-record path.
    public unowned(unsafe) let kind: RecordKind
    public let location: RecordLocation
    let slots: UnsafePointer<Slot>
    let arena: UnsafeRawPointer
    /// The record's warnings (`warn:`), nil when it has none; in the reader's memory.
    var warningList: UnsafePointer<[FieldProblem]>? = nil

    public var kindIndex: Int { kind.index }
    /// Problems declared warnings (`warn:`): the record passed with them.
    public var warnings: [FieldProblem] { warningList?.pointee ?? [] }
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

    /// The day of a date field, or of a date-and-time field; nil for other values.
    public func day(at index: Int) -> CivilDate? {
        switch slots[index] {
        case .date(let date): return date
        case .dateTime(let moment): return moment.date
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
    /// The field's value, owned (for controls that compare values).
    func value(at index: Int) -> FieldValue
}

extension RecordView: RecordValues {
    func value(at index: Int) -> FieldValue { self[index] }

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

    func value(at index: Int) -> FieldValue { indices.contains(index) ? self[index] : .empty }

    func text(at index: Int, isOneOf candidates: [[UInt8]]) -> Bool {
        guard indices.contains(index) else { return false }
        let text = self[index].description
        return candidates.contains { $0.elementsEqual(text.utf8) }
    }
}

extension RecordView {
    /// Appends the record as a JSON object (`{"loan_id":"L1","principal":95942,…}`, the
    /// canonical field names, amounts in minor units) to `buffer`, without making strings.
    /// Fields with no value are left out, and so are those whose index is true in
    /// `omitting` (a caller that keeps them elsewhere).
    public func appendJSON(to buffer: inout [UInt8], omitting: [Bool] = []) {
        buffer.append(UInt8(ascii: "{"))
        var first = true
        for index in 0..<count {
            if case .empty = slots[index] { continue }
            if index < omitting.count && omitting[index] { continue }
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            buffer += kind.quotedFieldNames[index]
            buffer.append(UInt8(ascii: ":"))
            switch slots[index] {
            case .empty: break
            case .integer(let n): JSONBytes.appendInteger(n, to: &buffer)
            case .decimal(let d): JSONBytes.appendInteger(d.units, to: &buffer)
            case .text(let offset, let length):
                JSONBytes.appendQuoted(UnsafeRawBufferPointer(start: arena + Int(offset), count: Int(length)), to: &buffer)
            case .code(let code):
                kind.fields[index].codeValueUTF8[Int(code)].withUnsafeBytes { JSONBytes.appendQuoted($0, to: &buffer) }
            case .date, .time, .dateTime:
                var text = self[index].description
                text.withUTF8 { JSONBytes.appendQuoted(UnsafeRawBufferPointer($0), to: &buffer) }
            }
        }
        buffer.append(UInt8(ascii: "}"))
    }

    /// Appends the field's canonical text (what `description` gives) to `buffer`; false
    /// when the field has no value.
    @discardableResult
    public func appendText(at index: Int, to buffer: inout [UInt8]) -> Bool {
        switch slots[index] {
        case .empty: return false
        case .text(let offset, let length):
            buffer += UnsafeRawBufferPointer(start: arena + Int(offset), count: Int(length))
        case .code(let code):
            buffer += kind.fields[index].codeValueUTF8[Int(code)]
        case .integer(let n):
            JSONBytes.appendInteger(n, to: &buffer)
        case .date(let date):
            date.appendISO8601(to: &buffer)
        default:
            buffer += Array(self[index].description.utf8)
        }
        return true
    }
}

/// JSON written straight into bytes.
enum JSONBytes {
    static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value == 0 { buffer.append(0x30); return }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[count] = UInt8(magnitude % 10) + 0x30
                magnitude /= 10
                count += 1
            }
            if value < 0 { buffer.append(UInt8(ascii: "-")) }
            for i in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[i]) }
        }
    }

    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        buffer.append(0x22)
        for byte in bytes {
            switch byte {
            case 0x22: buffer += [0x5C, 0x22]
            case 0x5C: buffer += [0x5C, 0x5C]
            case 0x0A: buffer += [0x5C, 0x6E]
            case 0x0D: buffer += [0x5C, 0x72]
            case 0x09: buffer += [0x5C, 0x74]
            case 0..<0x20:
                let hexDigits = Array("0123456789abcdef".utf8)
                buffer += [0x5C, 0x75, 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            default: buffer.append(byte)
            }
        }
        buffer.append(0x22)
    }
}
