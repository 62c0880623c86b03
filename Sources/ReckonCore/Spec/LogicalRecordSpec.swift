/// Spec keys for records that are not one line each and fields that are not one cell each:
/// a record terminator (`record_end:`), continuation records folded into the record before
/// them (`continuation:`), fields that take the cells in order, some only when a code says
/// so (`only_if:`, `cells:`, `rest:`), and values computed from other fields of the record
/// (`combine:` a date and a time, `sum_of:` amounts). Documented in `mappings/README.md`.

/// A value computed from other fields of the same record once the record is read.
public enum DerivedValue: Sendable {
    /// A date-time from a date field and a time field (`combine: {date:, time:}`). The time
    /// text is read with the first of `timeFormats` that reads it (banks that write BAI2's
    /// `HHmm` as `HH:mm:ss`); a text listed in `endOfDay` (BAI2's `2400`, `9999`) is the end
    /// of the date's day: midnight that starts the next day.
    case dateTime(dateField: String, timeField: String, timeFormats: [DateTimeFormat], endOfDay: [String])
    /// The sum of numeric fields (`sum_of: [...]`); an absent value adds nothing.
    case sum(fields: [String])

    /// The field whose raw text the derived field reads in its place.
    var anchor: String {
        switch self {
        case .dateTime(_, let time, _, _): return time
        case .sum(let fields): return fields[0]
        }
    }
}

/// A derived value with its fields resolved to indexes of the kind.
struct DerivedPlan: Sendable {
    enum Rule: Sendable {
        case dateTime(date: Int, timeFormats: [DateTimeFormat], endOfDay: [[UInt8]])
        case sum([Int])
    }
    let target: Int
    let rule: Rule

    static func plans(for fields: [FieldSpec]) -> [DerivedPlan] {
        var plans: [DerivedPlan] = []
        for (index, field) in fields.enumerated() {
            switch field.derived {
            case .dateTime(let date, _, let formats, let endOfDay)?:
                guard let d = fields.firstIndex(where: { $0.name == date }) else { continue }
                plans.append(DerivedPlan(target: index, rule: .dateTime(date: d, timeFormats: formats, endOfDay: endOfDay.map { Array($0.utf8) })))
            case .sum(let names)?:
                let indexes = names.compactMap { name in fields.firstIndex { $0.name == name } }
                plans.append(DerivedPlan(target: index, rule: .sum(indexes)))
            case nil:
                continue
            }
        }
        return plans
    }
}

/// How a field of a sequential delimited kind takes its cells.
public struct CellRule: Sendable {
    /// The field takes cells only when an earlier field's text is one of `values`
    /// (`only_if: {field: funds_type, in: [S]}`); otherwise it takes none and is absent.
    public var onlyIf: (field: String, values: [String])?
    /// The field takes `each` × the value of an earlier integer field cells, written as they
    /// stand in the file, delimiters included (`cells: {count_from: n, each: 2}`).
    public var countFrom: (field: String, each: Int)?
    /// The field takes the rest of the record: every cell to its end, delimiters included;
    /// with a `record_end`, the rest of the physical line, terminators included but one that
    /// ends the line (`rest: true`, BAI2's text field).
    public var rest: Bool = false
    /// The field reads the cells of an earlier field again, with its own type and checks
    /// (`cells: {same_as: amount}`): a value as written beside the same value signed.
    public var sameAs: String?
}

/// The loader's part for these keys: each function parses one key or checks one rule and is
/// called from ``SpecLoader`` in one line.
enum LogicalSpecKeys {
    static let topLevel = ["record_end"]
    static let kind = ["continuation"]
    static let field = ["only_if", "cells", "rest", "combine", "sum_of"]

    /// `record_end: "/"`: one ASCII byte, not the delimiter, quote or a line break.
    static func recordEnd(_ node: SpecNode?, delimiter: UInt8, quote: UInt8?, header: HeaderRule) throws(SpecError) -> UInt8? {
        guard let node else { return nil }
        if case .none = header {} else { throw node.error("a file with a record_end has no header row (name columns by number)") }
        let text = try node.string()
        guard text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80, byte != 0x0A, byte != 0x0D else {
            throw node.error("record_end is one ASCII character, such as '/'")
        }
        if byte == delimiter { throw node.error("the record end and the delimiter must differ") }
        if byte == quote { throw node.error("the record end and the quote must differ") }
        return byte
    }

    /// A delimited field's column: `column: N` (or a header name), or none at all in a kind
    /// whose fields take the cells in order (marked with index -1; see ``RecordKind/isSequential``).
    static func delimitedSource(_ map: SpecMapping, columnReference: (SpecNode) throws(SpecError) -> ColumnReference) throws(SpecError) -> FieldSource {
        guard let node = map["column"] else { return .column(.index(-1)) }
        return .column(try columnReference(node))
    }

    /// `only_if`, `cells`, `rest` of one field.
    static func cellRule(_ map: SpecMapping, format: FileFormat) throws(SpecError) -> CellRule? {
        guard map.has("only_if") || map.has("cells") || map.has("rest") else { return nil }
        guard case .delimited = format else {
            let key = ["only_if", "cells", "rest"].first { map.has($0) }!
            throw map[key]!.error("'\(key)' applies to delimited fields")
        }
        var rule = CellRule()
        if let node = map["only_if"] {
            let only = try node.mapping(allowed: ["field", "in"])
            let values = try only.required("in").strings()
            if values.isEmpty { throw node.error("'in' lists the values for which the field is present") }
            rule.onlyIf = (try only.required("field").string(), values)
        }
        if let node = map["cells"] {
            let cells = try node.mapping(allowed: ["count_from", "each", "same_as"])
            if let same = cells["same_as"] {
                if cells.has("count_from") || cells.has("each") { throw node.error("give same_as, or count_from and each") }
                rule.sameAs = try same.string()
            } else {
                rule.countFrom = (try cells.required("count_from").string(), try cells["each"]?.int(in: 1...99) ?? 1)
            }
        }
        if let node = map["rest"] { rule.rest = try node.bool() }
        if rule.rest, rule.countFrom != nil { throw map.node.error("give rest or cells, not both") }
        return rule
    }

    /// A field computed from others (`combine:` or `sum_of:`), or nil for a field read from
    /// the file. Its source is settled by ``resolve(_:node:format:continuation:)``.
    static func derivedField(_ name: String, _ map: SpecMapping, node: SpecNode) throws(SpecError) -> FieldSpec? {
        guard map.has("combine") || map.has("sum_of") else { return nil }
        let own = ["description", "combine", "sum_of", "type", "required"]
        if let extra = map.entries.first(where: { !own.contains($0.key) }) {
            throw extra.value.error("'\(extra.key)' does not apply to a field computed by \(map.has("combine") ? "combine" : "sum_of")")
        }
        if map.has("combine") && map.has("sum_of") { throw node.error("give combine or sum_of, not both") }
        let derived: DerivedValue
        let type: FieldType
        if let combineNode = map["combine"] {
            let combine = try combineNode.mapping(allowed: ["date", "time", "time_format", "end_of_day"])
            if let typeNode = map["type"], try typeNode.string() != "datetime" {
                throw typeNode.error("a combined date and time is a datetime")
            }
            let formatNode = try combine.required("time_format")
            // One format, or a list tried in order (`[HHmm, "HH:mm:ss"]`).
            let patterns = formatNode.isScalar ? [try formatNode.string()] : try formatNode.strings()
            if patterns.isEmpty { throw formatNode.error("time_format lists at least one format") }
            var timeFormats: [DateTimeFormat] = []
            for pattern in patterns {
                do {
                    timeFormats.append(try DateTimeFormat(pattern: pattern, content: .time))
                } catch {
                    throw formatNode.error(error.description)
                }
            }
            derived = .dateTime(dateField: try combine.required("date").string(), timeField: try combine.required("time").string(),
                                timeFormats: timeFormats, endOfDay: try combine["end_of_day"]?.strings() ?? [])
            type = .dateTime(try! DateTimeFormat(pattern: "iso8601", content: .dateTime))
        } else {
            let names = try map["sum_of"]!.strings()
            if names.isEmpty { throw map["sum_of"]!.error("sum_of lists the fields to add") }
            if let typeNode = map["type"] { throw typeNode.error("a sum has the type of the fields it adds; leave out 'type'") }
            derived = .sum(fields: names)
            type = .string // settled by `resolve`
        }
        return FieldSpec(name: name, source: .column(.index(-1)), type: type, trim: .both, strip: [], emptyMarkers: [],
                         extract: nil, required: try map["required"]?.bool() ?? false, pattern: nil, minimum: nil, maximum: nil,
                         minLength: nil, maxLength: nil, codes: nil, keepUnmappedCodes: false,
                         padding: Padding(byte: 0x20, alignRight: false), derived: derived)
    }

    /// Checks a kind's fields against one another and settles derived fields' sources and
    /// types: a derived field reads its anchor's text in its place.
    static func resolve(_ fields: [FieldSpec], node: SpecNode, format: FileFormat, isLineKind: Bool) throws(SpecError) -> [FieldSpec] {
        func at(_ field: FieldSpec) -> SpecNode { node.child(field.name, node.node) }
        var resolved = fields
        for (index, field) in fields.enumerated() {
            guard let derived = field.derived else { continue }
            var names: [String] = []
            switch derived {
            case .dateTime(let date, let time, _, _): names = [date, time]
            case .sum(let list): names = list
            }
            var types: [FieldType] = []
            for name in names {
                guard let other = fields.first(where: { $0.name == name }), other.derived == nil, !other.isInherited else {
                    throw at(field).error("'\(name)' is not a field of this record kind read from the file")
                }
                types.append(other.type)
            }
            let anchor = fields.first { $0.name == derived.anchor }!
            var type = field.type
            switch derived {
            case .dateTime:
                guard case .date = types[0] else { throw at(field).error("combine: '\(names[0])' must be a date field") }
                guard case .string = types[1] else {
                    throw at(field).error("combine: '\(names[1])' must be a string field (its text is read with time_format, so that end-of-day times such as 2400 can be told)")
                }
            case .sum:
                for (name, other) in zip(names, types) {
                    switch (other, types[0]) {
                    case (.decimal(let a), .decimal(let b)) where a.scale == b.scale: continue
                    case (.integer, .integer): continue
                    default: throw at(field).error("sum_of: '\(name)' must be a number field of the same type and scale as '\(names[0])'")
                    }
                }
                type = types[0]
            }
            resolved[index] = field.copy(source: anchor.source, type: type)
        }
        guard case .delimited = format, !isLineKind else {
            if fields.contains(where: { $0.cellRule != nil }) { throw node.error("only_if, cells and rest apply to delimited fields") }
            return resolved
        }
        let read = fields.filter { $0.derived == nil && !$0.isInherited }
        let sequential = read.filter { if case .column(.index(let i)) = $0.source { return i < 0 } else { return false } }
        if !sequential.isEmpty && sequential.count != read.count {
            let named = read.first { !sequential.map(\.name).contains($0.name) }!
            throw at(named).error("give every field of this kind a column, or none (the fields then take the cells in order)")
        }
        for (position, field) in read.enumerated() {
            guard let rule = field.cellRule else { continue }
            if !sequential.isEmpty || rule.onlyIf != nil || rule.countFrom != nil {
                if sequential.isEmpty {
                    throw at(field).error("only_if and cells apply when the kind's fields take the cells in order (leave out 'column')")
                }
            }
            let earlier = read[..<position]
            if let only = rule.onlyIf, !earlier.contains(where: { $0.name == only.field }) {
                throw at(field).error("only_if: '\(only.field)' is not a field before this one")
            }
            if let same = rule.sameAs, !earlier.contains(where: { $0.name == same }) {
                throw at(field).error("cells: same_as '\(same)' is not a field before this one")
            }
            if let count = rule.countFrom {
                guard let other = earlier.first(where: { $0.name == count.field }) else {
                    throw at(field).error("cells: '\(count.field)' is not a field before this one")
                }
                guard case .integer = other.type else { throw at(field).error("cells: '\(count.field)' must be an integer field") }
            }
            if rule.rest, position != read.count - 1 {
                throw at(field).error("a field with 'rest: true' takes the rest of the record, so it comes last")
            }
        }
        return resolved
    }

    /// `continuation: true` on a delimited kind told apart by a column's value.
    static func continuation(_ node: SpecNode?, match: RecordMatch?, format: FileFormat, fields: [FieldSpec]) throws(SpecError) -> Bool {
        guard let node, try node.bool() else { return false }
        guard case .delimited(let layout) = format else { throw node.error("continuation applies to delimited record kinds") }
        if case .none = layout.header {} else { throw node.error("a file with continuation records has no header row (name columns by number)") }
        guard case .column(.index(let column), _)? = match else {
            throw node.error("a continuation kind is told apart by a column's value (when: {column: 1, equals: \"88\"})")
        }
        for field in fields {
            if case .column(.index(let i)) = field.source, i >= 0, i > column {
                throw node.error("a continuation kind's cells after its discriminator belong to the record it continues; its own fields are the discriminator's columns")
            }
        }
        return true
    }
}

extension FieldSpec {
    /// The value comes from an earlier record (`from:`), not from this record's cells.
    var isInherited: Bool { if case .inherited = source { return true } else { return false } }

    /// The same field read from another place, with another type.
    func copy(source: FieldSource, type: FieldType, alternativeFields: [FieldSpec?]? = nil) -> FieldSpec {
        FieldSpec(name: name, source: source, type: type, trim: trim, strip: strip, emptyMarkers: emptyMarkers,
                  extract: extract, required: required, pattern: pattern, minimum: minimum, maximum: maximum,
                  minLength: minLength, maxLength: maxLength, codes: codes, keepUnmappedCodes: keepUnmappedCodes,
                  padding: padding, warnings: warnings, condition: condition, yearFrom: yearFrom,
                  derived: derived, cellRule: cellRule, alternativeFields: alternativeFields ?? self.alternativeFields)
    }

    /// The field as read through XML path alternative `index`: its own type there, if it has one.
    public func alternative(_ index: Int) -> FieldSpec {
        index < alternativeFields.count ? alternativeFields[index] ?? self : self
    }
}
