/// What writing whole files through a spec takes, worked out once and checked: which kinds
/// frame the details (`render: {header, trailer}`), which field of which kind each control
/// fills, and, for XML, the element tree each kind writes. Building it refuses a spec that
/// cannot write what it declares; the loader builds it for every `direction: outbound` or
/// `both` spec, so such a spec is refused at load.
public struct RenderPlan: Sendable {
    public let spec: MappingSpec
    /// Written once, before the details, by `finish`.
    public let headerKind: RecordKind?
    /// Written once, after the details, by `finish`.
    public let trailerKind: RecordKind?
    let controls: [ControlPlan]
    /// Per kind: the fields a control fills, as (field index, control index).
    let computed: [[(field: Int, control: Int)]]
    /// XML: how each kind's fields become elements.
    let xml: XMLRenderPlan?

    public init(spec: MappingSpec) throws(RenderError) {
        self.spec = spec
        headerKind = spec.output.headerKind.flatMap { spec.kind(named: $0) }
        trailerKind = spec.output.trailerKind.flatMap { spec.kind(named: $0) }
        try Self.checkLayout(spec)
        for kind in spec.kinds where !kind.ignored {
            try Self.checkKind(kind, spec: spec)
        }
        var controls: [ControlPlan] = []
        var computed = [[(field: Int, control: Int)]](repeating: [], count: spec.kinds.count)
        for (index, control) in spec.controls.enumerated() {
            let plan = try ControlPlan(control, index: index, spec: spec, header: headerKind, trailer: trailerKind)
            if let other = computed[plan.targetKind].first(where: { $0.field == plan.targetField }) {
                throw RenderError(kind: "-", field: nil,
                                  reason: "controls '\(spec.controls[other.control].name)' and '\(control.name)' both compute \(spec.kinds[plan.targetKind].name).\(spec.kinds[plan.targetKind].fields[plan.targetField].name)",
                                  control: index)
            }
            computed[plan.targetKind].append((plan.targetField, index))
            controls.append(plan)
        }
        self.controls = controls
        self.computed = computed
        if case .xml(let layout) = spec.format {
            xml = try XMLRenderPlan(spec: spec, layout: layout, header: headerKind, trailer: trailerKind)
        } else {
            xml = nil
        }
    }

    /// The kinds a caller adds (every kind but the header, the trailer and ignored ones).
    public var detailKinds: [RecordKind] {
        spec.kinds.filter { !$0.ignored && $0.index != headerKind?.index && $0.index != trailerKind?.index }
    }

    private static func checkLayout(_ spec: MappingSpec) throws(RenderError) {
        switch spec.format {
        case .fixedWidth(let layout):
            if layout.positions == .characters {
                throw RenderError(kind: "-", field: nil, reason: "positions count characters; the renderer writes layouts whose positions count bytes")
            }
        case .delimited(let layout):
            switch layout.header {
            case .none: break
            case .line(let line) where line == 1: break
            case .line(let line):
                throw RenderError(kind: "-", field: nil, reason: "the header row is line \(line); the lines before it cannot be written")
            case .matching:
                throw RenderError(kind: "-", field: nil, reason: "the header row is found by a pattern; give its line number (header: 1) to write it")
            }
        case .xml:
            if spec.encoding != .utf8 {
                throw RenderError(kind: "-", field: nil, reason: "XML is written in UTF-8; the spec declares \(spec.encoding.rawValue)")
            }
        case .tagged:
            throw RenderError(kind: "-", field: nil, reason: "tagged files (format: tagged) are read, not written")
        }
    }

    private static func checkKind(_ kind: RecordKind, spec: MappingSpec) throws(RenderError) {
        switch kind.match {
        case .line?:
            throw RenderError(kind: kind.name, field: nil, reason: "the kind is matched by a line pattern, which cannot be written; tell it apart with equals")
        case .slicePattern?, .columnPattern?:
            throw RenderError(kind: kind.name, field: nil, reason: "the kind is told apart by a pattern, which cannot be written; give equals (a literal)")
        default:
            break
        }
        var columnOwner: [ColumnReference: String] = [:]
        for field in kind.fields {
            if field.extract != nil {
                throw RenderError(kind: kind.name, field: field.name, reason: "the value is extracted from free text (extract), which cannot be written back")
            }
            if case .column(let column) = field.source {
                if let owner = columnOwner[column] {
                    throw RenderError(kind: kind.name, field: field.name, reason: "it reads \(column) as field '\(owner)' does; only one field can write a column")
                }
                columnOwner[column] = field.name
            }
            if let codes = field.codes {
                var codeOf: [String: String] = [:]
                for (code, canonical) in codes.sorted(by: { $0.key < $1.key }) {
                    if let other = codeOf[canonical] {
                        throw RenderError(kind: kind.name, field: field.name,
                                          reason: "the code map is not one-to-one: '\(other)' and '\(code)' both mean '\(canonical)'")
                    }
                    codeOf[canonical] = code
                }
            }
            if case .fixedWidth = spec.format, case .slice(_, let length) = field.source, let codes = field.codes {
                for code in codes.keys.sorted() {
                    let bytes = TextEncoder.encode(code, as: spec.encoding)?.count ?? Int.max
                    if bytes > length {
                        throw RenderError(kind: kind.name, field: field.name, reason: "the code '\(code)' takes \(bytes) bytes; the field holds \(length)")
                    }
                }
            }
        }
    }
}

/// One control as the renderer computes it: what it measures in which kinds, and the field
/// it fills (the first term of its `equals`); the other terms are given with the record.
struct ControlPlan: Sendable {
    let name: String
    let index: Int
    /// Per kind: -2 not measured, -1 counted, otherwise the summed field.
    let measured: [Int]
    /// Per filter: the field index in each kind (-1 where the kind is not measured), and the values.
    let filters: [(byKind: [Int], values: [[UInt8]])]
    /// Scale the measured total is kept at: the summed field's (0 for counts and integers).
    let measureScale: Int
    let modulo: Int64?
    let targetKind: Int
    let targetField: Int
    let targetNegated: Bool
    /// The target field's scale (0 for an integer field).
    let targetScale: Int
    let targetIsInteger: Bool
    /// The other terms of `equals`, fields of the target's record.
    let otherTerms: [(field: Int, negated: Bool)]
    let fromKind: Int?
    let toKind: Int?
    let isFileScope: Bool

    init(_ control: ControlTotal, index: Int, spec: MappingSpec, header: RecordKind?, trailer: RecordKind?) throws(RenderError) {
        func refuse(_ reason: String) -> RenderError {
            RenderError(kind: "-", field: nil, reason: "control '\(control.name)': " + reason, control: index)
        }
        name = control.name
        self.index = index
        modulo = control.modulo
        let envelope = [header?.index, trailer?.index].compactMap { $0 }
        var measured = [Int](repeating: -2, count: spec.kinds.count)
        var scale = 0
        switch control.measure {
        case .count(let kinds):
            for name in kinds { measured[spec.kind(named: name)!.index] = -1 }
        case .sum(let kindName, let fieldName):
            let kind = spec.kind(named: kindName)!
            let field = kind.fieldIndex(named: fieldName)!
            measured[kind.index] = field
            if case .decimal(let format) = kind.fields[field].type { scale = format.scale }
        case .sums, .sequence, .same:
            throw refuse("the renderer computes counts and sums of one field; it cannot write this control's value")
        }
        if control.declared.isEmpty { throw refuse("it declares no field for the renderer to fill") }
        for kind in envelope where measured[kind] != -2 {
            throw refuse("it measures the \(kind == header?.index ? "header" : "trailer") kind '\(spec.kinds[kind].name)', which the renderer writes once; measure the details")
        }
        self.measured = measured
        measureScale = scale
        filters = control.filter.map { filter in
            let byKind = spec.kinds.map { kind in measured[kind.index] == -2 ? -1 : (kind.fieldIndex(named: filter.field) ?? -1) }
            return (byKind, filter.values.sorted().map { Array($0.utf8) })
        }

        let target = control.declared[0]
        let targetKind = spec.kind(named: target.kind)!
        self.targetKind = targetKind.index
        targetField = targetKind.fieldIndex(named: target.field)!
        targetNegated = target.negated
        switch targetKind.fields[targetField].type {
        case .decimal(let format): targetScale = format.scale; targetIsInteger = false
        default: targetScale = 0; targetIsInteger = true
        }
        var others: [(field: Int, negated: Bool)] = []
        for term in control.declared.dropFirst() {
            guard term.kind == target.kind, let field = targetKind.fieldIndex(named: term.field) else {
                throw refuse("the renderer fills \(target.kind).\(target.field) from the other terms of its record; \(term.kind).\(term.field) is in another kind")
            }
            others.append((field, term.negated))
        }
        otherTerms = others
        if measured[targetKind.index] != -2 {
            throw refuse("it measures '\(target.kind)', the kind whose field it fills")
        }

        switch control.scope {
        case .file:
            fromKind = nil
            toKind = nil
            isFileScope = true
            guard envelope.contains(targetKind.index) else {
                throw refuse("its total \(target.kind).\(target.field) is in a kind that is neither the render header nor the trailer, so nothing can write it after the records it totals; name the kind under render:")
            }
        case .group(let from, let to):
            fromKind = from.flatMap { spec.kind(named: $0)?.index }
            toKind = to.flatMap { spec.kind(named: $0)?.index }
            isFileScope = false
            guard let to, to == target.kind, !envelope.contains(targetKind.index) else {
                throw refuse("a group's total is written in the record that closes the group; \(target.kind).\(target.field) is not in its 'to' kind")
            }
        }
    }
}
