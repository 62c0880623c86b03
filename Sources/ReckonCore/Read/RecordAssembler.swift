/// Turns one record's raw field bytes into values, collecting every problem; shared by the
/// fixed-width, delimited and XML readers so a field means the same thing in every format.
struct RecordAssembler {
    let spec: MappingSpec
    let decoder: TextDecoder
    private var decoded: [UInt8] = []
    private(set) var values: [FieldValue] = []
    private(set) var problems: [FieldProblem] = []

    init(spec: MappingSpec) {
        self.spec = spec
        self.decoder = TextDecoder(spec.encoding)
        decoded.reserveCapacity(4096)
    }

    mutating func begin(_ kind: RecordKind) {
        values.removeAll(keepingCapacity: true)
        problems.removeAll(keepingCapacity: true)
        values.reserveCapacity(kind.fields.count)
    }

    mutating func addProblem(_ problem: FieldProblem) { problems.append(problem) }

    /// Reads one field from bytes in the file's encoding. `validated` says the bytes are
    /// known to be well-formed UTF-8 already (the reader checked the whole record).
    /// `fileOffset` is where the bytes start in the file, for encoding errors.
    mutating func add(_ field: FieldSpec, raw: UnsafeRawBufferPointer, validated: Bool, fileOffset: Int64) {
        if validated || decoder.isUTF8Already(raw) {
            if !validated, decoder.encoding == .utf8, let failure = UTF8Validation.check(raw) {
                fail(field, raw: raw, reason: failure.reason(encoding: .utf8), offset: fileOffset + Int64(failure.offset))
                return
            }
            append(field, utf8: raw)
            return
        }
        decoded.removeAll(keepingCapacity: true)
        if let failure = decoder.decode(raw, into: &decoded) {
            fail(field, raw: raw, reason: failure.reason(encoding: decoder.encoding), offset: fileOffset + Int64(failure.offset))
            return
        }
        let utf8 = decoded
        utf8.withUnsafeBytes { append(field, utf8: $0) }
    }

    /// Reads a field whose text is already a Swift string (XML values, regex captures).
    mutating func add(_ field: FieldSpec, text: String) {
        var text = text
        text.withUTF8 { append(field, utf8: UnsafeRawBufferPointer($0)) }
    }

    /// A field with no value at all (a short line, an absent XML element).
    mutating func addMissing(_ field: FieldSpec) {
        if field.required {
            problems.append(FieldProblem(field: field.name, rawValue: nil, reason: "required value is missing"))
        }
        values.append(.empty)
    }

    /// A placeholder for a field already reported as a problem.
    mutating func addAbsent() { values.append(.empty) }

    private mutating func append(_ field: FieldSpec, utf8: UnsafeRawBufferPointer) {
        switch ValueParser.read(utf8, field: field) {
        case .success(let value):
            values.append(value)
        case .failure(let failure):
            problems.append(FieldProblem(field: field.name, rawValue: String(decoding: utf8, as: UTF8.self), reason: failure.reason))
            values.append(.empty)
        }
    }

    private mutating func fail(_ field: FieldSpec, raw: UnsafeRawBufferPointer, reason: String, offset: Int64) {
        problems.append(FieldProblem(field: field.name, rawValue: Self.lossy(raw), reason: reason, byteOffset: offset))
        values.append(.empty)
    }

    /// Applies C/D sign indicators once every field is in, and returns the record.
    mutating func finish(_ kind: RecordKind, location: RecordLocation) -> RecordEvent {
        for (index, field) in kind.fields.enumerated() {
            let rule: SignRule
            switch field.type {
            case .decimal(let format): rule = format.sign
            case .integer(let format): rule = format.sign
            default: continue
            }
            guard case .indicator(let indicatorName, let negative, let positive) = rule,
                  let indicatorIndex = kind.fieldIndex(named: indicatorName) else { continue }
            let indicator = values[indicatorIndex].description
            let isNegative = negative.contains(indicator)
            if !isNegative && !positive.isEmpty && !positive.contains(indicator) {
                if !values[indicatorIndex].isEmpty || !values[index].isEmpty {
                    problems.append(FieldProblem(
                        field: indicatorName, rawValue: indicator,
                        reason: "is not a sign indicator (expected \((negative + positive).joined(separator: " or ")))"))
                }
                continue
            }
            if isNegative {
                switch values[index] {
                case .decimal(let amount): values[index] = .decimal(DecimalAmount(units: -amount.units, scale: amount.scale))
                case .integer(let n): values[index] = .integer(-n)
                default: break
                }
            }
        }
        if problems.isEmpty {
            return .record(ParsedRecord(kindIndex: kind.index, location: location, values: values))
        }
        return .rejected(RejectedRecord(kindIndex: kind.index, location: location, problems: problems, values: values))
    }

    /// Bytes shown in a message even when they do not decode.
    static func lossy(_ raw: UnsafeRawBufferPointer) -> String {
        var text = ""
        for byte in raw.prefix(200) {
            text += byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + hex(byte)
        }
        return raw.count > 200 ? text + "…" : text
    }
}

/// Checks the first bytes of a file for byte order marks: a UTF-8 BOM is dropped from UTF-8
/// files; any other BOM means the file is not in the spec's encoding.
enum ByteOrderMark {
    static func skip(_ buffer: InputBuffer, encoding: TextEncoding) throws(FileFailure) {
        _ = try buffer.ensure(4)
        let head = buffer.unread
        let location = RecordLocation(line: 1, byteOffset: 0)
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF {
            guard encoding == .utf8 else {
                throw FileFailure(location: location, reason: "the file starts with a UTF-8 byte order mark, but the spec says \(encoding.rawValue): is the file really UTF-8?")
            }
            buffer.consume(3)
            return
        }
        if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            throw FileFailure(location: location, reason: "the file is UTF-16 (it starts with a UTF-16 byte order mark); reckon reads \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if encoding == .gb18030, head.count >= 4, head[0] == 0x84, head[1] == 0x31, head[2] == 0x95, head[3] == 0x33 {
            buffer.consume(4)
        }
    }
}

/// Builds records from values that arrive as text (XML element and attribute values), with
/// the same field rules as every other format. For adapters outside the core.
public struct TextFieldAssembler {
    private var assembler: RecordAssembler

    public init(spec: MappingSpec) { assembler = RecordAssembler(spec: spec) }

    /// `values` holds one entry per field of `kind`; nil where the file had no value.
    public mutating func event(_ kind: RecordKind, values: [String?], location: RecordLocation) -> RecordEvent {
        precondition(values.count == kind.fields.count)
        assembler.begin(kind)
        for (field, value) in zip(kind.fields, values) {
            if let value { assembler.add(field, text: value) } else { assembler.addMissing(field) }
        }
        return assembler.finish(kind, location: location)
    }
}
