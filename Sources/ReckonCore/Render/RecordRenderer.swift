/// Why a record could not be written through a spec.
public struct RenderError: Error, Sendable, CustomStringConvertible {
    public let kind: String
    public let field: String?
    public let reason: String

    public var description: String {
        "record kind '\(kind)'" + (field.map { ", field '\($0)'" } ?? "") + ": " + reason
    }
}

/// Writes records through a spec: the inverse of reading, so outbound files (settlement
/// files, plans, results) use the same declarative layouts as inbound ones. Values are
/// written in the spec's encoding; fixed-width values are padded and aligned as the field
/// says, and one that does not fit is an error, never truncated.
public struct RecordRenderer {
    public let spec: MappingSpec
    /// Delimited files: the header row's column names, in column order.
    public let headerNames: [String]?
    private let columnOf: [[Int]]
    private let columnCount: Int

    public init(spec: MappingSpec) throws(RenderError) {
        self.spec = spec
        guard case .delimited(let layout) = spec.format else {
            if case .xml = spec.format {
                throw RenderError(kind: "-", field: nil, reason: "XML specs are read-only for now")
            }
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
            line += quoteIfNeeded(TextEncoder.encode(name, as: spec.encoding) ?? Array(name.utf8), layout: layout)
        }
        return line
    }

    /// One record, without its line break.
    public func render(_ kind: RecordKind, _ values: [FieldValue]) throws(RenderError) -> [UInt8] {
        guard values.count == kind.fields.count else {
            throw RenderError(kind: kind.name, field: nil, reason: "\(values.count) values for \(kind.fields.count) fields")
        }
        if case .line = kind.match {
            throw RenderError(kind: kind.name, field: nil, reason: "kinds matched by a line pattern cannot be written")
        }
        let values = try signedForIndicators(kind, values)
        switch spec.format {
        case .fixedWidth(let layout): return try fixedWidth(kind, values, layout: layout)
        case .delimited(let layout): return try delimited(kind, values, layout: layout)
        case .xml: throw RenderError(kind: kind.name, field: nil, reason: "XML specs are read-only for now")
        }
    }

    // MARK: Formats

    private func fixedWidth(_ kind: RecordKind, _ values: [FieldValue], layout: FixedWidthLayout) throws(RenderError) -> [UInt8] {
        guard layout.positions == .bytes else {
            throw RenderError(kind: kind.name, field: nil, reason: "writing layouts that count characters is not supported")
        }
        var record = [UInt8](repeating: 0x20, count: layout.recordLength)
        if case .literal(let start, _, let literals)? = kind.match {
            record.replaceSubrange(start..<(start + literals[0].count), with: literals[0])
        }
        for (field, value) in zip(kind.fields, values) {
            guard case .slice(let start, let length) = field.source else { continue }
            var text = try encoded(kind, field, value)
            if text.count > length {
                throw RenderError(kind: kind.name, field: field.name,
                                  reason: "'\(value)' takes \(text.count) bytes; the field holds \(length)")
            }
            if value.isEmpty {
                text = []
            }
            let fill = value.isEmpty ? UInt8(0x20) : field.padding.byte
            let padding = [UInt8](repeating: fill, count: length - text.count)
            var slot: [UInt8]
            if field.padding.alignRight {
                // A leading sign goes before zero padding: -0001234.
                if fill == UInt8(ascii: "0"), let first = text.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
                    slot = [first] + padding + text.dropFirst()
                } else {
                    slot = padding + text
                }
            } else {
                slot = text + padding
            }
            record.replaceSubrange(start..<(start + length), with: slot)
        }
        return record
    }

    private func delimited(_ kind: RecordKind, _ values: [FieldValue], layout: DelimitedLayout) throws(RenderError) -> [UInt8] {
        var cells = [[UInt8]](repeating: [], count: columnCount)
        if case .column(.index(let index), let literals)? = kind.match {
            cells[index] = TextEncoder.encode(literals[0], as: spec.encoding) ?? []
        }
        for (position, (field, value)) in zip(kind.fields, values).enumerated() {
            let column = columnOf[kind.index][position]
            guard column >= 0 else { continue }
            // Two fields may read one column (a remark and a fee extracted from it); the
            // first one writes it.
            if !cells[column].isEmpty { continue }
            cells[column] = value.isEmpty ? [] : try encoded(kind, field, value)
        }
        if case .columnCount(let count)? = kind.match, cells.count != count {
            cells = Array(cells.prefix(count)) + Array(repeating: [], count: max(0, count - cells.count))
        }
        var line: [UInt8] = []
        for (index, cell) in cells.enumerated() {
            if index > 0 { line.append(layout.delimiter) }
            line += quoteIfNeeded(cell, layout: layout)
        }
        return line
    }

    private func quoteIfNeeded(_ cell: [UInt8], layout: DelimitedLayout) -> [UInt8] {
        guard let quote = layout.quote else { return cell }
        let needs = cell.contains { $0 == layout.delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }
            || cell.first == 0x20 || cell.last == 0x20 || cell.first == 0x09 || cell.last == 0x09
        guard needs else { return cell }
        var out: [UInt8] = [quote]
        for byte in cell {
            out.append(byte)
            if byte == quote { out.append(quote) }
        }
        out.append(quote)
        return out
    }

    // MARK: Values

    /// The value's text in the file's encoding, before padding.
    private func encoded(_ kind: RecordKind, _ field: FieldSpec, _ value: FieldValue) throws(RenderError) -> [UInt8] {
        let text = try self.text(kind, field, value)
        guard let bytes = TextEncoder.encode(text, as: spec.encoding) else {
            throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' cannot be written in \(spec.encoding.rawValue)")
        }
        return bytes
    }

    private func text(_ kind: RecordKind, _ field: FieldSpec, _ value: FieldValue) throws(RenderError) -> String {
        func mismatch() -> RenderError {
            RenderError(kind: kind.name, field: field.name, reason: "a \(field.type.name) field cannot hold '\(value)'")
        }
        switch (field.type, value) {
        case (_, .empty):
            return ""
        case (.string, .text(let text)):
            if let codes = field.codes {
                if let code = codes.first(where: { $0.value == text })?.key { return code }
                if !field.keepUnmappedCodes {
                    throw RenderError(kind: kind.name, field: field.name, reason: "'\(text)' has no code in the code map")
                }
            }
            return text
        case (.integer(let format), .integer(let n)):
            return try signed(String(n.magnitude), negative: n < 0, rule: format.sign, kind: kind, field: field)
        case (.decimal(let format), .decimal(let amount)):
            guard amount.scale <= format.scale, let exact = amount.rescaled(to: format.scale) else {
                throw RenderError(kind: kind.name, field: field.name, reason: "\(amount) has more than \(format.scale) decimal places")
            }
            var digits = String(exact.units.magnitude)
            if !format.implied && format.scale > 0 {
                if digits.count <= format.scale {
                    digits = String(repeating: "0", count: format.scale - digits.count + 1) + digits
                }
                digits.insert(Character(UnicodeScalar(format.point)), at: digits.index(digits.endIndex, offsetBy: -format.scale))
            }
            return try signed(digits, negative: exact.units < 0, rule: format.sign, kind: kind, field: field)
        case (.date(let format), .date(let date)):
            return format.render(date: date, time: nil, utcOffsetMinutes: nil)
        case (.time(let format), .time(let time)):
            return format.render(date: nil, time: time, utcOffsetMinutes: nil)
        case (.dateTime(let format), .dateTime(let dateTime)):
            return format.render(date: dateTime.date, time: dateTime.time, utcOffsetMinutes: dateTime.utcOffsetMinutes)
        default:
            throw mismatch()
        }
    }

    private func signed(_ digits: String, negative: Bool, rule: SignRule, kind: RecordKind, field: FieldSpec) throws(RenderError) -> String {
        guard negative else { return digits }
        switch rule {
        case .leading, .any: return "-" + digits
        case .trailing: return digits + "-"
        case .indicator: return digits
        case .unsigned:
            throw RenderError(kind: kind.name, field: field.name, reason: "a negative value in a field that takes no sign")
        }
    }

    /// Sets each C/D indicator from the sign of the amount it governs.
    private func signedForIndicators(_ kind: RecordKind, _ values: [FieldValue]) throws(RenderError) -> [FieldValue] {
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
