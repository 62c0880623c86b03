/// Why a record (or a file) could not be written through a spec. `kind` is `-` when the
/// trouble is the spec's as a whole or one of its controls (`control`, its index).
public struct RenderError: Error, Sendable, CustomStringConvertible {
    public let kind: String
    public let field: String?
    public let reason: String
    /// The index of the control in the spec's `controls`, when the reason is one of them.
    public var control: Int?

    public init(kind: String, field: String?, reason: String, control: Int? = nil) {
        self.kind = kind
        self.field = field
        self.reason = reason
        self.control = control
    }

    public var description: String {
        if kind == "-" { return reason }
        return "record kind '\(kind)'" + (field.map { ", field '\($0)'" } ?? "") + ": " + reason
    }
}

/// Writes records through a spec: the inverse of reading, so outbound files (settlement
/// files, plans, results) use the same declarative layouts as inbound ones. Values are
/// written in the spec's encoding; fixed-width values are padded and aligned as the field
/// says, and one that does not fit is an error, never truncated. A value the spec's own
/// reader would refuse (a required field left empty, a pattern or range not met, text the
/// reader would trim) is an error too, so what is written reads back to the same values.
///
/// The per-record path appends bytes to a caller's buffer (``append(_:_:to:)``): numbers
/// and dates are formatted straight into bytes, ASCII text is copied, only non-ASCII text
/// in a non-UTF-8 encoding goes through iconv.
public struct RecordRenderer {
    public let spec: MappingSpec
    /// Delimited files: the header row's column names, in column order.
    public let headerNames: [String]?
    private let columnOf: [[Int]]
    private let columnCount: Int
    /// Per kind and field: canonical value → partner code, first code (in code order) wins.
    private let reverseCodes: [[[(canonical: String, code: String)]]]
    /// Per kind and field: what the common cases need, as plain data.
    private let writes: [[FieldWrite]]
    /// Owns the code tables the `writes` point into.
    private let storage: FieldWrite.Storage
    /// Whether fixed-width records take the in-place fast path; tests turn it off to
    /// compare it with the general path, its oracle.
    var inPlace = true

    public init(spec: MappingSpec) throws(RenderError) {
        self.spec = spec
        let reverseCodes = spec.kinds.map { kind in
            kind.fields.map { field in
                (field.codes ?? [:]).sorted { $0.key < $1.key }.map { (canonical: $0.value, code: $0.key) }
            }
        }
        self.reverseCodes = reverseCodes
        let storage = FieldWrite.Storage()
        self.storage = storage
        writes = spec.kinds.map { kind in
            kind.fields.enumerated().map { index, field in
                FieldWrite(field, reverseCodes: reverseCodes[kind.index][index], storage: storage)
            }
        }
        guard case .delimited(let layout) = spec.format else {
            headerNames = nil
            columnOf = []
            columnCount = 0
            return
        }
        // Named columns take the order in which the default (or first) kind names them.
        var names: [String] = []
        for kind in spec.kinds {
            for field in kind.fields {
                if case .column(.name(let name)) = field.source, !names.contains(name) { names.append(name) }
            }
        }
        var columns: [[Int]] = []
        var widest = names.count
        for kind in spec.kinds {
            var perField: [Int] = []
            for field in kind.fields {
                switch field.source {
                case .column(.index(let index)): perField.append(index); widest = max(widest, index + 1)
                case .column(.name(let name)): perField.append(names.firstIndex(of: name)!)
                default: perField.append(-1)
                }
            }
            if case .column(.index(let index), _)? = kind.match { widest = max(widest, index + 1) }
            columns.append(perField)
        }
        if case .none = layout.header { headerNames = nil } else { headerNames = names }
        columnOf = columns
        columnCount = widest
    }

    /// The header row, for delimited specs that have one.
    public func header() -> [UInt8]? {
        guard case .delimited(let layout) = spec.format, let headerNames else { return nil }
        var line: [UInt8] = []
        for (index, name) in headerNames.enumerated() {
            if index > 0 { line.append(layout.delimiter) }
            let cell = TextEncoder.encode(name, as: spec.encoding) ?? Array(name.utf8)
            appendQuotedIfNeeded(cell[...], layout: layout, to: &line)
        }
        return line
    }

    /// One record, without its line break.
    public func render(_ kind: RecordKind, _ values: [FieldValue]) throws(RenderError) -> [UInt8] {
        var record: [UInt8] = []
        try append(kind, values, to: &record)
        return record
    }

    /// Appends one record, without its line break, to `buffer`. On error `buffer` is left
    /// as it was.
    public func append(_ kind: RecordKind, _ values: [FieldValue], to buffer: inout [UInt8]) throws(RenderError) {
        var scratch: [UInt8] = []
        try append(kind, values, to: &buffer, scratch: &scratch)
    }

    func append(_ kind: RecordKind, _ values: [FieldValue], to buffer: inout [UInt8], scratch: inout [UInt8]) throws(RenderError) {
        guard values.count == kind.fields.count else {
            throw RenderError(kind: kind.name, field: nil, reason: "\(values.count) values for \(kind.fields.count) fields")
        }
        if case .line = kind.match {
            throw RenderError(kind: kind.name, field: nil, reason: "kinds matched by a line pattern cannot be written")
        }
        if kind.ignored {
            throw RenderError(kind: kind.name, field: nil, reason: "the kind is ignored when read; it has no fields to write")
        }
        let start = buffer.count
        do throws(RenderError) {
            let values = kind.signIndicators.isEmpty ? values : try signedForIndicators(kind, values)
            switch spec.format {
            case .fixedWidth(let layout): try fixedWidth(kind, values, layout: layout, to: &buffer, scratch: &scratch)
            case .delimited(let layout): try delimited(kind, values, layout: layout, to: &buffer, scratch: &scratch)
            case .xml: throw RenderError(kind: kind.name, field: nil, reason: "XML records are written by the XML renderer, as elements")
            case .tagged: throw RenderError(kind: kind.name, field: nil, reason: "tagged files are read, not written")
            }
        } catch {
            buffer.removeSubrange(start...)
            throw error
        }
    }

    // MARK: Formats

    private func fixedWidth(_ kind: RecordKind, _ values: [FieldValue], layout: FixedWidthLayout,
                            to buffer: inout [UInt8], scratch: inout [UInt8]) throws(RenderError) {
        guard layout.positions == .bytes else {
            throw RenderError(kind: kind.name, field: nil, reason: "writing layouts that count characters is not supported")
        }
        let base = buffer.count
        buffer.append(contentsOf: repeatElement(0x20, count: layout.recordLength))
        if case .literal(let start, _, let literals)? = kind.match {
            literals[0].withUnsafeBufferPointer { literal in
                buffer.withUnsafeMutableBufferPointer { out in
                    for (offset, byte) in literal.enumerated() { out[base + start + offset] = byte }
                }
            }
        }
        let fields = kind.fields, slices = kind.slices
        // The common cases straight into their slots (numbers, dates, plain ASCII text);
        // the fields left take the general path below.
        // Which fields need the general path: a bit per field (no allocation per record),
        // a list past the 64th.
        var generalBits: UInt64 = 0
        var generalPast64: [Int] = []
        writes[kind.index].withUnsafeBufferPointer { writes in
            slices.withUnsafeBufferPointer { slices in
                values.withUnsafeBufferPointer { values in
                    for index in 0..<writes.count {
                        let slice = slices[index]
                        guard slice.start >= 0 else { continue }
                        if !inPlace || !writes[index].write(values[index], into: &buffer, at: base + slice.start, length: slice.length) {
                            if index < 64 { generalBits |= 1 << UInt64(index) } else { generalPast64.append(index) }
                        }
                    }
                }
            }
        }
        var remaining = generalBits
        var pastIndex = 0
        while remaining != 0 || pastIndex < generalPast64.count {
            let index: Int
            if remaining != 0 {
                index = remaining.trailingZeroBitCount
                remaining &= remaining - 1
            } else {
                index = generalPast64[pastIndex]
                pastIndex += 1
            }
            let slice = slices[index]
            let field = fields[index]
            scratch.removeAll(keepingCapacity: true)
            try encode(kind, index, field, values[index], into: &scratch)
            if scratch.count > slice.length {
                throw RenderError(kind: kind.name, field: field.name,
                                  reason: "'\(values[index])' takes \(scratch.count) bytes; the field holds \(slice.length)")
            }
            let fill = values[index].isEmpty ? UInt8(0x20) : field.padding.byte
            let alignRight = field.padding.alignRight
            let broken: Bool = scratch.withUnsafeBufferPointer { text in
                buffer.withUnsafeMutableBufferPointer { out in
                    var at = base + slice.start
                    let padding = slice.length - text.count
                    var next = 0
                    if alignRight {
                        // A leading sign goes before zero padding: -0001234.
                        if fill == UInt8(ascii: "0"), let first = text.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
                            out[at] = first
                            at += 1
                            next = 1
                        }
                        for _ in 0..<padding { out[at] = fill; at += 1 }
                    }
                    var broken = false
                    while next < text.count {
                        let byte = text[next]
                        if byte == 0x0A || byte == 0x0D { broken = true }
                        out[at] = byte
                        at += 1
                        next += 1
                    }
                    if !alignRight && fill != 0x20 { for _ in 0..<padding { out[at] = fill; at += 1 } }
                    return broken
                }
            }
            if broken {
                throw RenderError(kind: kind.name, field: field.name, reason: "'\(values[index])' holds a line break, which would split the record")
            }
        }
    }

    private func delimited(_ kind: RecordKind, _ values: [FieldValue], layout: DelimitedLayout,
                           to buffer: inout [UInt8], scratch: inout [UInt8]) throws(RenderError) {
        var cells = [[UInt8]](repeating: [], count: columnCount)
        var written = [Bool](repeating: false, count: columnCount)
        if case .column(.index(let index), let literals)? = kind.match {
            cells[index] = TextEncoder.encode(literals[0], as: spec.encoding) ?? []
            written[index] = true
        }
        for (position, (field, value)) in zip(kind.fields, values).enumerated() {
            let column = columnOf[kind.index][position]
            guard column >= 0 else { continue }
            // Two fields may read one column (a remark and a fee extracted from it); the
            // first one writes it.
            if written[column] { continue }
            written[column] = true
            scratch.removeAll(keepingCapacity: true)
            try encode(kind, position, field, value, into: &scratch)
            if layout.quote == nil, scratch.contains(where: { $0 == layout.delimiter || $0 == 0x0A || $0 == 0x0D }) {
                throw RenderError(kind: kind.name, field: field.name,
                                  reason: "'\(value)' holds the delimiter or a line break, and the layout quotes nothing")
            }
            cells[column] = scratch
        }
        var count = cells.count
        if case .columnCount(let wanted)? = kind.match { count = wanted }
        for index in 0..<count {
            if index > 0 { buffer.append(layout.delimiter) }
            if index < cells.count { appendQuotedIfNeeded(cells[index][...], layout: layout, to: &buffer) }
        }
    }

    private func appendQuotedIfNeeded(_ cell: ArraySlice<UInt8>, layout: DelimitedLayout, to buffer: inout [UInt8]) {
        guard let quote = layout.quote else { buffer.append(contentsOf: cell); return }
        let needs = cell.contains { $0 == layout.delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }
            || cell.first == 0x20 || cell.last == 0x20 || cell.first == 0x09 || cell.last == 0x09
        guard needs else { buffer.append(contentsOf: cell); return }
        buffer.append(quote)
        for byte in cell {
            buffer.append(byte)
            if byte == quote { buffer.append(quote) }
        }
        buffer.append(quote)
    }

    // MARK: Values

    /// Appends the value's text in the file's encoding, before padding, after checking it
    /// against what the spec's reader requires.
    func encode(_ kind: RecordKind, _ index: Int, _ field: FieldSpec, _ value: FieldValue,
                into out: inout [UInt8]) throws(RenderError) {
        // On the field's plain-data plan: no enum payloads copied per value.
        let plan = field.plan
        if case .empty = value {
            if field.required {
                throw RenderError(kind: kind.name, field: field.name, reason: "required, but no value was given")
            }
            return
        }
        func mismatch() -> RenderError {
            RenderError(kind: kind.name, field: field.name, reason: "a \(field.type.name) field cannot hold '\(value)'")
        }
        switch plan.tag {
        case .string:
            guard case .text(let given) = value else { throw mismatch() }
            var text = given
            if field.codes != nil {
                let codes = reverseCodes[kind.index][index]
                if let code = codes.first(where: { $0.canonical == text })?.code {
                    text = code
                } else if !field.keepUnmappedCodes {
                    throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' has no code in the code map")
                }
            }
            if let first = text.utf8.first, let last = text.utf8.last {
                let trimsLeft = field.trim == .both || field.trim == .left
                let trimsRight = field.trim == .both || field.trim == .right
                if (trimsLeft && (first == 0x20 || first == 0x09)) || (trimsRight && (last == 0x20 || last == 0x09)) {
                    throw RenderError(kind: kind.name, field: field.name,
                                      reason: "'\(text)' has spaces at an end the reader trims")
                }
            }
            if field.hasChecks { try check(kind, field, text: text, value: value) }
            let start = out.count
            out.append(contentsOf: text.utf8)
            if spec.encoding != .utf8, out[start...].contains(where: { $0 >= 0x80 }) {
                out.removeSubrange(start...)
                guard let bytes = TextEncoder.encode(text, as: spec.encoding) else {
                    throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' cannot be written in \(spec.encoding.rawValue)")
                }
                out.append(contentsOf: bytes)
            }
        case .integer:
            guard case .integer(let n) = value else { throw mismatch() }
            if field.hasChecks { try checkRange(kind, field, units: n, value: value) }
            try appendSigned(n, scale: 0, point: nil, sign: plan.sign, kind: kind, field: field, into: &out)
        case .decimal:
            guard case .decimal(let amount) = value else { throw mismatch() }
            var units = amount.units
            if amount.scale != plan.scale {
                guard amount.scale < plan.scale, let exact = amount.rescaled(to: plan.scale) else {
                    throw RenderError(kind: kind.name, field: field.name,
                                      reason: amount.scale > plan.scale ? "\(amount) has more than \(plan.scale) decimal places"
                                          : "\(amount) does not fit in 64 bits at \(plan.scale) decimal places")
                }
                units = exact.units
            }
            if field.hasChecks { try checkRange(kind, field, units: units, value: value) }
            try appendSigned(units, scale: plan.scale, point: plan.implied ? nil : plan.point, sign: plan.sign,
                             kind: kind, field: field, into: &out)
        case .date:
            guard case .date(let date) = value else { throw mismatch() }
            if field.hasChecks { try checkRange(kind, field, units: nil, value: value) }
            DateTimeFormat.append(tokens: plan.tokens, date: date, time: nil, utcOffsetMinutes: nil, to: &out)
        case .time:
            guard case .time(let time) = value else { throw mismatch() }
            if field.hasChecks { try checkRange(kind, field, units: nil, value: value) }
            DateTimeFormat.append(tokens: plan.tokens, date: nil, time: time, utcOffsetMinutes: nil, to: &out)
        case .dateTime:
            guard case .dateTime(let dateTime) = value else { throw mismatch() }
            if field.hasChecks { try checkRange(kind, field, units: nil, value: value) }
            DateTimeFormat.append(tokens: plan.tokens, date: dateTime.date, time: dateTime.time,
                                  utcOffsetMinutes: dateTime.utcOffsetMinutes, to: &out)
        }
    }

    /// Digits of `units` (with a point `scale` places from the right, unless implied) and
    /// the sign as the field writes it.
    private func appendSigned(_ units: Int64, scale: Int, point: UInt8?, sign: ValuePlan.Sign,
                              kind: RecordKind, field: FieldSpec, into out: inout [UInt8]) throws(RenderError) {
        let negative = units < 0
        if negative {
            switch sign {
            case .leading, .any: out.append(UInt8(ascii: "-"))
            case .trailing, .indicator: break
            case .unsigned:
                throw RenderError(kind: kind.name, field: field.name, reason: "a negative value in a field that takes no sign")
            }
        }
        // Digits, least significant first, into a fixed stack of 20 (UInt64's most).
        var magnitude = units.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
                count += 1
            } while magnitude > 0
            // At least one digit before the point: 0.05, not .05.
            if let _ = point, scale > 0 { while count < scale + 1 { raw[count] = 0x30; count += 1 } }
            var index = count
            while index > 0 {
                index -= 1
                if let point, scale > 0, index == scale - 1 { out.append(point) }
                out.append(raw[index])
            }
        }
        if negative, sign == .trailing { out.append(UInt8(ascii: "-")) }
    }

    /// The checks the reader makes beyond the type, for text.
    private func check(_ kind: RecordKind, _ field: FieldSpec, text: String, value: FieldValue) throws(RenderError) {
        if field.minLength != nil || field.maxLength != nil {
            let length = text.unicodeScalars.count
            if let minLength = field.minLength, length < minLength {
                throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' is \(length) characters; at least \(minLength) required")
            }
            if let maxLength = field.maxLength, length > maxLength {
                throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' is \(length) characters; at most \(maxLength) allowed")
            }
        }
        if let pattern = field.pattern, !pattern.matchesWhole(text) {
            throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' does not match the pattern \(pattern.source)")
        }
    }

    /// The range checks the reader makes, for numbers (in units of the field's scale), dates and times.
    private func checkRange(_ kind: RecordKind, _ field: FieldSpec, units: Int64?, value: FieldValue) throws(RenderError) {
        if let units, field.minimumUnits != nil || field.maximumUnits != nil {
            if let low = field.minimumUnits, units < low {
                throw RenderError(kind: kind.name, field: field.name, reason: "\(value) is below the minimum \(field.minimum!)")
            }
            if let high = field.maximumUnits, units > high {
                throw RenderError(kind: kind.name, field: field.name, reason: "\(value) is above the maximum \(field.maximum!)")
            }
            return
        }
        if let minimum = field.minimum, FieldValueOrder.less(value, minimum) {
            throw RenderError(kind: kind.name, field: field.name, reason: "\(value) is below the minimum \(minimum)")
        }
        if let maximum = field.maximum, FieldValueOrder.less(maximum, value) {
            throw RenderError(kind: kind.name, field: field.name, reason: "\(value) is above the maximum \(maximum)")
        }
    }

    /// Sets each C/D indicator from the sign of the amount it governs.
    func signedForIndicators(_ kind: RecordKind, _ values: [FieldValue]) throws(RenderError) -> [FieldValue] {
        var values = values
        for sign in kind.signIndicators {
            let isNegative: Bool
            switch values[sign.amount] {
            case .decimal(let amount): isNegative = amount.units < 0
            case .integer(let n): isNegative = n < 0
            default: continue
            }
            if isNegative {
                values[sign.indicator] = .text(sign.negative[0])
            } else if let first = sign.positive.first {
                values[sign.indicator] = .text(first)
            } else if sign.negative.contains(values[sign.indicator].description) {
                throw RenderError(kind: kind.name, field: kind.fields[sign.indicator].name,
                                  reason: "the indicator says negative but the amount is not")
            }
        }
        return values
    }
}

extension DateTimeFormat {
    /// Appends a value in this layout as ASCII bytes (what ``render(date:time:utcOffsetMinutes:)``
    /// returns as a string), without making one.
    func append(date: CivilDate?, time: TimeOfDay?, utcOffsetMinutes: Int?, to out: inout [UInt8]) {
        tokens.withUnsafeBufferPointer { Self.append(tokens: $0, date: date, time: time, utcOffsetMinutes: utcOffsetMinutes, to: &out) }
    }

    static func append(tokens: UnsafeBufferPointer<Token>, date: CivilDate?, time: TimeOfDay?, utcOffsetMinutes: Int?, to out: inout [UInt8]) {
        @inline(__always) func two(_ n: Int) {
            out.append(UInt8(truncatingIfNeeded: n / 10 % 10) &+ 0x30)
            out.append(UInt8(truncatingIfNeeded: n % 10) &+ 0x30)
        }
        for token in tokens {
            switch token {
            case .year4:
                let year = date?.year ?? 0
                two(year / 100)
                two(year % 100)
            case .year2: two((date?.year ?? 0) % 100)
            case .month: two(date?.month ?? 0)
            case .day: two(date?.day ?? 0)
            case .hour: two(time?.hour ?? 0)
            case .minute: two(time?.minute ?? 0)
            case .second: two(time?.second ?? 0)
            case .literal(let c): out.append(c)
            case .isoTimeSuffix, .dayToMonthEnd: break
            case .ofxTime: out.append(contentsOf: DateTimeFormat.ofxTimeText(time).utf8)
            case .ofxZone: out.append(contentsOf: DateTimeFormat.ofxZoneText(time: time, utcOffsetMinutes: utcOffsetMinutes).utf8)
            case .fraction(let count):
                var nanos = time?.nanosecond ?? 0
                var digits = [UInt8](repeating: 0x30, count: 9)
                for index in stride(from: 8, through: 0, by: -1) { digits[index] = UInt8(nanos % 10) + 0x30; nanos /= 10 }
                out.append(contentsOf: digits.prefix(count))
            case .optionalFraction:
                if var nanos = time?.nanosecond, nanos != 0 {
                    var digits = [UInt8](repeating: 0x30, count: 9)
                    for index in stride(from: 8, through: 0, by: -1) { digits[index] = UInt8(nanos % 10) + 0x30; nanos /= 10 }
                    while digits.last == 0x30 { digits.removeLast() }
                    out.append(UInt8(ascii: "."))
                    out.append(contentsOf: digits)
                }
            case .offset, .optionalOffset:
                if let offset = utcOffsetMinutes {
                    if offset == 0 {
                        out.append(UInt8(ascii: "Z"))
                    } else {
                        out.append(UInt8(ascii: offset < 0 ? "-" : "+"))
                        two(abs(offset) / 60)
                        out.append(UInt8(ascii: ":"))
                        two(abs(offset) % 60)
                    }
                } else if token == .offset {
                    out.append(UInt8(ascii: "Z"))
                }
            }
        }
    }
}

/// One fixed-width field's writing as plain data, for the common cases: a number that fits
/// (digits written from the slot's right end), a date, ASCII text with no code map or
/// check. Anything else (and every error) takes the general path.
struct FieldWrite {
    let plan: ValuePlan
    let padByte: UInt8
    let alignRight: Bool
    let required: Bool
    /// Text: no code map, checks or affixes in the way.
    let plainText: Bool
    /// Text: the checks are a byte-level pattern at most (and lengths), which the fast path
    /// runs on the bytes written, as the general path would on the same text.
    let cheapTextChecks: Bool
    /// Unowned, so copying a FieldWrite costs no reference counting: the field (and so the
    /// renderer's spec) holds the pattern.
    let pattern: Unmanaged<SpecRegex>?
    let minLength: Int
    let maxLength: Int
    /// Text with a code map: per canonical value (UTF-8), the code written for it, when
    /// that code is ASCII and passes the field's checks; any other value takes the general
    /// path. Only the first canonical value of each spelling (as `String` compares) is
    /// listed, so a byte match picks the code the general path picks. Packed as
    /// [canonical length, canonical…, code length, code…]… in memory `Storage` owns.
    let codeTable: UnsafeBufferPointer<UInt8>?

    /// Frees the code tables with the renderer.
    final class Storage: @unchecked Sendable {
        var tables: [UnsafeMutableBufferPointer<UInt8>] = []
        deinit { for table in tables { table.deallocate() } }
    }
    /// Numbers: no pattern or length check (a range is checked here).
    let plainNumber: Bool
    let minimumUnits: Int64
    let maximumUnits: Int64
    let trimLeft: Bool
    let trimRight: Bool

    init(_ field: FieldSpec, reverseCodes: [(canonical: String, code: String)], storage: Storage) {
        plan = field.plan
        padByte = field.padding.byte
        alignRight = field.padding.alignRight
        required = field.required
        plainText = field.codes == nil && !field.hasChecks
        cheapTextChecks = field.minimum == nil && field.maximum == nil && (field.pattern?.matchesOnBytes ?? true)
        pattern = field.pattern.map(Unmanaged.passUnretained)
        minLength = field.minLength ?? 0
        maxLength = field.maxLength ?? .max
        let trimsLeft = field.trim == .both || field.trim == .left
        let trimsRight = field.trim == .both || field.trim == .right
        if field.codes != nil, cheapTextChecks {
            var packed: [UInt8] = []
            var seen: [String] = []
            for (canonical, code) in reverseCodes {
                // A later code of an equal value is never chosen (the first one wins).
                if seen.contains(canonical) { continue }
                seen.append(canonical)
                let bytes = Array(code.utf8)
                guard let first = bytes.first, let last = bytes.last,
                      bytes.allSatisfy({ $0 < 0x80 && $0 != 0x0A && $0 != 0x0D }),
                      !(trimsLeft && (first == 0x20 || first == 0x09)), !(trimsRight && (last == 0x20 || last == 0x09)),
                      bytes.count >= (field.minLength ?? 0), bytes.count <= (field.maxLength ?? .max),
                      field.pattern.map({ $0.matchesWhole(code) }) ?? true else { continue }
                let canonicalBytes = Array(canonical.utf8)
                guard canonicalBytes.count < 256, bytes.count < 256 else { continue }
                packed += [UInt8(canonicalBytes.count)] + canonicalBytes + [UInt8(bytes.count)] + bytes
            }
            let table = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: packed.count)
            _ = table.initialize(from: packed)
            storage.tables.append(table)
            codeTable = UnsafeBufferPointer(table)
        } else {
            codeTable = nil
        }
        plainNumber = field.pattern == nil && field.minLength == nil && field.maxLength == nil
            && (field.minimum == nil || field.minimumUnits != nil) && (field.maximum == nil || field.maximumUnits != nil)
        minimumUnits = field.minimumUnits ?? .min
        maximumUnits = field.maximumUnits ?? .max
        trimLeft = field.trim == .both || field.trim == .left
        trimRight = field.trim == .both || field.trim == .right
    }

    /// Writes the value into `buffer[at..<at+length]` (already spaces) when it is a common
    /// case that fits; false to take the general path.
    @inline(__always)
    func write(_ value: FieldValue, into buffer: inout [UInt8], at start: Int, length: Int) -> Bool {
        switch value {
        case .empty:
            return !required
        case .integer(let n):
            guard plan.tag == .integer, plainNumber, n >= 0, n >= minimumUnits, n <= maximumUnits else { return false }
            return digits(UInt64(n), scale: 0, point: nil, into: &buffer, at: start, length: length)
        case .decimal(let amount):
            guard plan.tag == .decimal, plainNumber, amount.scale == plan.scale, amount.units >= 0,
                  amount.units >= minimumUnits, amount.units <= maximumUnits else { return false }
            return digits(UInt64(amount.units), scale: plan.scale, point: plan.implied ? nil : plan.point,
                          into: &buffer, at: start, length: length)
        case .date(let date):
            guard plan.tag == .date, plainNumber, minimumUnits == .min, maximumUnits == .max, !alignRight, padByte == 0x20 else { return false }
            return dateWrite(date, into: &buffer, at: start, length: length)
        case .text(let text):
            guard plan.tag == .string else { return false }
            if plainText {
                guard let done = text.utf8.withContiguousStorageIfAvailable({ utf8 -> Bool in
                    writeText(utf8, into: &buffer, at: start, length: length)
                }) else { return false }
                return done
            }
            if let codeTable {
                guard let code = text.utf8.withContiguousStorageIfAvailable({ utf8 -> UnsafeBufferPointer<UInt8>? in
                    Self.code(for: utf8, in: codeTable)
                }), let code else { return false }
                return writeText(code, into: &buffer, at: start, length: length)
            }
            guard cheapTextChecks else { return false }
            guard let done = text.utf8.withContiguousStorageIfAvailable({ utf8 -> Bool in
                // ASCII only here (writeText refuses the rest), so characters are bytes.
                guard utf8.count >= minLength, utf8.count <= maxLength,
                      pattern.map({ $0._withUnsafeGuaranteedRef { $0.matchesWhole(utf8: UnsafeRawBufferPointer(utf8)) } }) ?? true else { return false }
                return writeText(utf8, into: &buffer, at: start, length: length)
            }) else { return false }
            return done
        default:
            return false
        }
    }

    /// The code packed for these canonical bytes, nil when the table has none.
    private static func code(for text: UnsafeBufferPointer<UInt8>, in table: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var at = 0
        while at < table.count {
            let canonicalCount = Int(table[at])
            let codeAt = at + 1 + canonicalCount
            let codeCount = Int(table[codeAt])
            if canonicalCount == text.count {
                var same = true
                for index in 0..<canonicalCount where table[at + 1 + index] != text[index] { same = false; break }
                if same { return UnsafeBufferPointer(rebasing: table[(codeAt + 1)..<(codeAt + 1 + codeCount)]) }
            }
            at = codeAt + 1 + codeCount
        }
        return nil
    }

    @inline(__always)
    private func writeText(_ utf8: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8], at start: Int, length: Int) -> Bool {
            guard utf8.count <= length, let first = utf8.first, let last = utf8.last,
                  !(trimLeft && (first == 0x20 || first == 0x09)), !(trimRight && (last == 0x20 || last == 0x09)) else { return false }
            return buffer.withUnsafeMutableBufferPointer { out in
                var at = alignRight ? start + length - utf8.count : start
                for byte in utf8 {
                    // Non-ASCII may need another encoding; a line break is an error: both general.
                    if byte >= 0x80 || byte == 0x0A || byte == 0x0D { return false }
                    out[at] = byte
                    at += 1
                }
                if padByte != 0x20 {
                    let padding = alignRight ? start..<(start + length - utf8.count) : (start + utf8.count)..<(start + length)
                    for position in padding { out[position] = padByte }
                }
                return true
            }
    }

    /// Digits from the slot's right end, the point `scale` places in (unless implied), then
    /// padding; false when they do not fit or the field is not right-aligned.
    @inline(__always)
    private func digits(_ magnitude: UInt64, scale: Int, point: UInt8?, into buffer: inout [UInt8], at start: Int, length: Int) -> Bool {
        guard alignRight else { return false }
        return buffer.withUnsafeMutableBufferPointer { out in
            var value = magnitude
            var at = start + length - 1
            var written = 0
            let minimumDigits = point != nil && scale > 0 ? scale + 1 : 1
            repeat {
                if let point, scale > 0, written == scale {
                    guard at >= start else { return false }
                    out[at] = point
                    at -= 1
                }
                guard at >= start else { return false }
                out[at] = UInt8(truncatingIfNeeded: value % 10) &+ 0x30
                value /= 10
                at -= 1
                written += 1
            } while value > 0 || written < minimumDigits
            while at >= start { out[at] = padByte; at -= 1 }
            return true
        }
    }

    @inline(__always)
    private func dateWrite(_ date: CivilDate, into buffer: inout [UInt8], at start: Int, length: Int) -> Bool {
        guard plan.tokens.count <= length else { return false }
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { raw -> Bool in
            var count = 0
            for token in plan.tokens {
                guard count + 4 <= raw.count else { return false }
                switch token {
                case .year4:
                    let year = date.year
                    raw[count] = UInt8(year / 1000 % 10) + 0x30
                    raw[count + 1] = UInt8(year / 100 % 10) + 0x30
                    raw[count + 2] = UInt8(year / 10 % 10) + 0x30
                    raw[count + 3] = UInt8(year % 10) + 0x30
                    count += 4
                case .year2, .month, .day:
                    let n = token == .month ? date.month : token == .day ? date.day : date.year % 100
                    raw[count] = UInt8(n / 10) + 0x30
                    raw[count + 1] = UInt8(n % 10) + 0x30
                    count += 2
                case .literal(let c):
                    raw[count] = c
                    count += 1
                default:
                    return false
                }
            }
            guard count <= length else { return false }
            buffer.withUnsafeMutableBufferPointer { out in
                for index in 0..<count { out[start + index] = raw[index] }
            }
            return true
        }
    }
}
