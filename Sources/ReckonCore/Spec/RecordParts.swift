/// A later part of a logical record assembled from consecutive physical records of
/// different kinds (`parts:` on a record kind): a CNAB 240 payment's `U` segment after its
/// `T`, an AEB43 movement's `23` concept lines after its `22`. The kind's own `when` and
/// `fields` are its first part; its parts follow it in declaration order.
public struct RecordPart: Sendable {
    public let name: String
    /// What a physical record of this part looks like (fixed-width: a literal or a pattern
    /// at a position of the part's own line).
    public let match: RecordMatch
    /// How many lines of this part follow: `minOccurs` 0 makes it optional; `maxOccurs`
    /// above 1 repeats it, each repetition with its own fields (`name_1` … `name_N`).
    public let minOccurs: Int
    public let maxOccurs: Int
    /// The index of the integer field `<part>_count` (how many of its lines the record had).
    public let countField: Int
    /// Per repetition, the range of the kind's fields read from that line.
    public let repetitions: [Range<Int>]
}

/// A field read only when another field of the same line holds one of `values` (`when:` on
/// a field): a layout that depends on a code, such as CODA's communication, free text after
/// a `0` and a structured reference after a `1`. Otherwise the field is blank.
public struct LayoutCondition: Sendable {
    /// The field whose trimmed text decides (a field of the same part, itself unconditional).
    public let field: String
    public let values: [String]
}

extension RecordKind {
    /// Where the fields of each physical line of an assembled record are: slot 0 is the
    /// first part, then each repetition of each part in order. Empty for ordinary kinds.
    struct PartSlot: Sendable {
        /// The part (nil for the first part).
        let part: Int?
        let fields: Range<Int>
    }

    /// The slots of an assembled kind, in order.
    var partSlots: [PartSlot] {
        guard !parts.isEmpty else { return [] }
        let firstCount = parts[0].countField
        var slots = [PartSlot(part: nil, fields: 0..<firstCount)]
        for (index, part) in parts.enumerated() {
            for range in part.repetitions { slots.append(PartSlot(part: index, fields: range)) }
        }
        return slots
    }

    /// The fields of the first part (all fields for an ordinary kind).
    var firstPartFieldCount: Int { parts.first?.countField ?? fields.count }
}

/// A field's `when:` condition resolved to the deciding field's index, values as UTF-8.
struct ResolvedCondition: Sendable {
    let field: Int
    let values: [[UInt8]]

    static func resolve(_ fields: [FieldSpec]) -> [ResolvedCondition?] {
        fields.map { field in
            guard let condition = field.condition,
                  let index = fields.firstIndex(where: { $0.name == condition.field }) else { return nil }
            return ResolvedCondition(field: index, values: condition.values.map { Array($0.utf8) })
        }
    }

    /// Whether the deciding field's raw bytes, trimmed of spaces, are one of the values.
    func holds(_ raw: UnsafeRawBufferPointer) -> Bool {
        var from = 0, to = raw.count
        while from < to && raw[from] == 0x20 { from += 1 }
        while to > from && raw[to - 1] == 0x20 { to -= 1 }
        let trimmed = UnsafeRawBufferPointer(rebasing: raw[from..<to])
        return values.contains { $0.elementsEqual(trimmed) }
    }
}

extension LayoutCondition {
    /// Two fields that may share positions: each read only under a condition on the same
    /// field, for values no line can have both of.
    static func exclusive(_ a: FieldSpec, _ b: FieldSpec) -> Bool {
        guard let x = a.condition, let y = b.condition, x.field == y.field else { return false }
        return Set(x.values).isDisjoint(with: y.values)
    }
}

extension FieldSpec {
    /// The same field under another name, for the repetitions of a repeated part: the
    /// fields it refers to (its sign indicator, its condition) take the same suffix.
    func repeated(suffix: String) -> FieldSpec {
        var type = self.type
        if case .indicator(let field, let negative, let positive)? = type.signRule {
            let sign = SignRule.indicator(field: field + suffix, negative: negative, positive: positive)
            switch type {
            case .decimal(let f):
                type = .decimal(DecimalFormat(scale: f.scale, implied: f.implied, point: f.point, thousands: f.thousands, sign: sign))
            case .integer(let f):
                type = .integer(IntegerFormat(thousands: f.thousands, sign: sign))
            default: break
            }
        }
        return FieldSpec(name: name + suffix, source: source, type: type, trim: trim, strip: strip, emptyMarkers: emptyMarkers,
                         extract: extract, required: required, pattern: pattern, minimum: minimum, maximum: maximum,
                         minLength: minLength, maxLength: maxLength, codes: codes, keepUnmappedCodes: keepUnmappedCodes,
                         padding: padding, warnings: warnings,
                         condition: condition.map { LayoutCondition(field: $0.field + suffix, values: $0.values) })
    }
}

private let partKeys = ["description", "when", "occurs", "fields"]

extension Builder {
    /// A kind's `parts:`: the lines that follow its first line, in order. Returns the parts
    /// and the record's fields: the first part's, then per part its `<part>_count` and its
    /// fields (per repetition, suffixed `_1` … `_N` when it repeats).
    func recordParts(_ node: SpecNode, kindMatch: RecordMatch?, ignored: Bool, firstFields: [FieldSpec],
                     format: FileFormat, encoding: TextEncoding) throws(SpecError) -> ([RecordPart], [FieldSpec]) {
        guard case .fixedWidth = format else {
            throw node.error("'parts' applies to fixed-width record kinds (a record of several lines of other formats is not supported)")
        }
        if ignored { throw node.error("an ignored record kind has no parts") }
        switch kindMatch {
        case .literal?, .slicePattern?: break
        default: throw node.error("a record kind with parts needs 'when' with start and equals (or pattern): its first line is told apart that way")
        }
        let entries = try node.entries()
        guard !entries.isEmpty else { throw node.error("list the parts that follow the first line, like u: {when: {start: 14, equals: U}, fields: {…}}") }
        var fields = firstFields
        var parts: [RecordPart] = []
        for (partName, partNode) in entries {
            try checkName(partName, partNode)
            let map = try partNode.mapping(allowed: partKeys)
            let whenNode = try map.required("when")
            let match = try recordMatch(whenNode, format: format, encoding: encoding)
            if case .line = match { throw whenNode.error("a part is told apart by start and equals (or pattern), not by a whole-line pattern") }
            var minOccurs = 1, maxOccurs: Int? = 1
            if let occursNode = map["occurs"] {
                (minOccurs, maxOccurs) = try occurs(occursNode)
                guard let high = maxOccurs else { throw occursNode.error("a part repeats up to a limit: give one, like 0..5") }
                guard (1...99).contains(high) else { throw occursNode.error("a part occurs at most 1 to 99 times") }
            }
            let fieldsNode = try map.required("fields")
            var partFields: [FieldSpec] = []
            for (fieldName, fieldNode) in try fieldsNode.entries() {
                partFields.append(try field(fieldName, fieldNode, kindMatch: match, xmlPath: nil, format: format, encoding: encoding))
            }
            try checkConditions(partFields, node: fieldsNode)
            try checkFieldRelations(partFields, node: fieldsNode, format: format)
            let countIndex = fields.count
            fields.append(FieldSpec(
                name: partName + "_count", source: .slice(start: -1, length: 0),
                type: .integer(IntegerFormat(thousands: nil, sign: .unsigned)), trim: .both, strip: [], emptyMarkers: [],
                extract: nil, required: false, pattern: nil, minimum: nil, maximum: nil, minLength: nil, maxLength: nil,
                codes: nil, keepUnmappedCodes: false, padding: Padding(byte: UInt8(ascii: "0"), alignRight: true)))
            var repetitions: [Range<Int>] = []
            for repetition in 1...maxOccurs! {
                let start = fields.count
                fields += maxOccurs == 1 ? partFields : partFields.map { $0.repeated(suffix: "_\(repetition)") }
                repetitions.append(start..<fields.count)
            }
            parts.append(RecordPart(name: partName, match: match, minOccurs: minOccurs, maxOccurs: maxOccurs!,
                                    countField: countIndex, repetitions: repetitions))
            var seen: Set<String> = []
            for field in fields where !seen.insert(field.name).inserted {
                throw partNode.error("the record already has a field '\(field.name)'; a record's fields have one name each, whatever their part"
                                     + (field.name.hasSuffix("_count") ? " (each part adds '<part>_count')" : ""))
            }
        }
        return (parts, fields)
    }

    /// A field's `when:`: read only when another field of its line holds one of the values.
    func fieldCondition(_ node: SpecNode?, format: FileFormat) throws(SpecError) -> LayoutCondition? {
        guard let node else { return nil }
        guard case .fixedWidth = format else {
            throw node.error("'when' on a field applies to fixed-width files")
        }
        let map = try node.mapping(allowed: ["field", "equals"])
        let field = try map.required("field").string()
        let equalsNode = try map.required("equals")
        let values = try equalsNode.strings()
        guard !values.isEmpty else { throw equalsNode.error("give the value (or values) that select this field") }
        return LayoutCondition(field: field, values: values)
    }

    /// Every `when:` names another field of the same line, read unconditionally.
    func checkConditions(_ fields: [FieldSpec], node: SpecNode) throws(SpecError) {
        for field in fields {
            guard let condition = field.condition else { continue }
            let at = node.child(field.name, node.node).child("when", node.node).child("field", node.node)
            guard let decider = fields.first(where: { $0.name == condition.field }) else {
                throw at.error("'\(condition.field)' is not a field of this line; a layout depends on a field of the same record (or part)")
            }
            if decider === field { throw at.error("a field cannot decide its own layout") }
            if decider.condition != nil {
                throw at.error("'\(condition.field)' has a 'when' of its own; the deciding field is read on every line")
            }
        }
    }

    /// Records of several lines and layouts chosen by a code are read, not written.
    func refuseWritingAssembled(_ kinds: [RecordKind], top: SpecMapping, direction: SpecDirection) throws(SpecError) {
        guard direction.writes else { return }
        for kind in kinds where !kind.parts.isEmpty || kind.hasConditions {
            throw (top["direction"] ?? top.node).error(
                "record kind '\(kind.name)' has \(kind.parts.isEmpty ? "fields chosen by 'when'" : "parts"); such specs read files (direction: inbound), they cannot write them")
        }
    }
}

extension MappingSpec {
    /// `kind.part` in a count control: the kind's index and its part's `<part>_count` field.
    func partCountField(_ reference: String) -> (kind: Int, field: Int)? {
        let names = reference.split(separator: ".", maxSplits: 1).map(String.init)
        guard names.count == 2, let kind = kind(named: names[0]),
              let part = kind.parts.first(where: { $0.name == names[1] }) else { return nil }
        return (kind.index, part.countField)
    }
}

extension Builder {
    /// `kind.part` in a count control's list: the kind, whose records then count that
    /// part's lines; nil for a plain kind name.
    func countedPart(_ reference: String, _ node: SpecNode, kinds: [RecordKind]) throws(SpecError) -> RecordKind? {
        let names = reference.split(separator: ".", maxSplits: 1).map(String.init)
        guard names.count == 2 else { return nil }
        guard let kind = kinds.first(where: { $0.name == names[0] }) else {
            throw node.error("no record kind '\(names[0])'; the spec has \(kinds.map(\.name).joined(separator: ", "))")
        }
        guard kind.parts.contains(where: { $0.name == names[1] }) else {
            throw node.error(kind.parts.isEmpty ? "record kind '\(kind.name)' has no parts; count names kinds, or kind.part for the lines of a part"
                             : "record kind '\(kind.name)' has no part '\(names[1])'; its parts are \(kind.parts.map(\.name).joined(separator: ", "))")
        }
        return kind
    }
}
