/// Inherited fields (`account: {from: statement.account}`): a field of a text-format record
/// that takes its value from a field of the latest record of another kind read before it —
/// the statement's account on every statement line, the batch's effective date on every
/// entry — as XML fields reach enclosing elements with `../`.
///
/// Which record supplies it: the latest record of the source kind read before this one (a
/// kind may also inherit from the previous record of its own kind). With `until: K`, a record
/// of kind K (a group's closing record) forgets the value, so a record after it and before
/// the next source record has none. A source record that was rejected supplies nothing. An
/// inherited field with no value is empty, and a `required` one is an error naming the field
/// and the kind it inherits from: a detail never silently takes a wrong or absent value.
public struct InheritedSource: Sendable, Hashable {
    /// The kind whose latest record supplies the value.
    public let kind: String
    public let field: String
    /// Kinds whose records end the value's life (`until:`).
    public let until: [String]

    public var written: String { kind + "." + field }
}

/// The field keys an inherited field accepts: its type and value come from its source.
let inheritedFieldKeys = ["from", "until", "required", "description", "type"]

/// What the loader needs to resolve an inherited field: the kinds declared so far.
struct InheritanceContext {
    /// Every kind's name, in declaration order (for `until:`).
    var kindNames: [String] = []
    /// Kinds declared before the one being built.
    var earlier: [RecordKind] = []
    /// The kind being built.
    var kind: String = ""
}

enum InheritedFields {
    /// The inherited field `map` declares, or nil when it has no `from` (a plain field).
    static func field(_ name: String, _ map: SpecMapping, format: FileFormat, context: InheritanceContext,
                      own: [FieldSpec]) throws(SpecError) -> FieldSpec? {
        guard let fromNode = map["from"] else {
            if let untilNode = map["until"] { throw untilNode.error("'until' applies to an inherited field (one with 'from')") }
            return nil
        }
        if case .xml = format {
            throw fromNode.error("XML fields reach an enclosing element's values by path ('../'); 'from' is for text formats")
        }
        let written = try fromNode.string()
        let parts = written.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw fromNode.error("expected kind.field, such as statement.account")
        }
        for entry in map.entries where !inheritedFieldKeys.contains(entry.key) {
            throw entry.value.error("'\(entry.key)' does not apply to an inherited field: it takes its type and value from \(written)")
        }
        let source: FieldSpec
        if parts[0] == context.kind {
            guard let found = own.first(where: { $0.name == parts[1] }) else {
                throw fromNode.error("record kind '\(parts[0])' has no field '\(parts[1])' declared before '\(name)'")
            }
            source = found
        } else if let kind = context.earlier.first(where: { $0.name == parts[0] }) {
            guard let found = kind.fields.first(where: { $0.name == parts[1] }) else {
                throw fromNode.error("record kind '\(parts[0])' has no field '\(parts[1])'")
            }
            source = found
        } else if context.kindNames.contains(parts[0]) {
            throw fromNode.error("record kind '\(parts[0])' is declared after '\(context.kind)': a field inherits from a kind declared before its own, or from an earlier field of its own kind")
        } else {
            throw fromNode.error("no record kind '\(parts[0])' in this spec")
        }
        if let typeNode = map["type"], try typeNode.string() != source.type.name {
            throw typeNode.error("\(written) is a \(source.type.name) field; an inherited field has its source's type")
        }
        var until: [String] = []
        if let untilNode = map["until"] {
            until = try untilNode.strings()
            for kind in until where !context.kindNames.contains(kind) {
                throw untilNode.error("no record kind '\(kind)' in this spec")
            }
        }
        return FieldSpec(
            name: name, source: .inherited(InheritedSource(kind: parts[0], field: parts[1], until: until)),
            type: source.type.withoutIndicator, trim: .both, strip: [], emptyMarkers: [], extract: nil,
            required: try map["required"]?.bool() ?? false, pattern: nil, minimum: nil, maximum: nil,
            minLength: nil, maxLength: nil, codes: nil, keepUnmappedCodes: false, padding: source.padding)
    }

    /// Files reckon writes have no earlier record to take a value from.
    static func refuseInWrittenFiles(_ kinds: [RecordKind], _ recordsNode: SpecNode) throws(SpecError) {
        for kind in kinds {
            for field in kind.fields {
                if case .inherited(let source) = field.source {
                    throw recordsNode.error("\(kind.name).\(field.name) inherits from \(source.written): a spec that writes files (direction: outbound or both) cannot inherit fields")
                }
            }
        }
    }
}

extension FieldType {
    /// The type with a sign taken from an indicator field made plain: an inherited amount
    /// is already signed, and the inheriting kind need not have the indicator.
    var withoutIndicator: FieldType {
        switch self {
        case .decimal(let format):
            guard case .indicator = format.sign else { return self }
            return .decimal(DecimalFormat(scale: format.scale, implied: format.implied, point: format.point,
                                          thousands: format.thousands, sign: .any))
        case .integer(let format):
            guard case .indicator = format.sign else { return self }
            return .integer(IntegerFormat(thousands: format.thousands, sign: .any))
        default:
            return self
        }
    }
}

// MARK: Reading

/// The values inherited fields take, kept from record to record: one entry per inheriting
/// field, copied out of its source record when that record finishes (text into bytes the
/// entry owns and reuses, so reading costs no allocation per record).
final class InheritedValues {
    enum Origin {
        /// No source record read yet.
        case none
        /// The source record at this line passed.
        case read(line: Int)
        /// The latest source record, at this line, was rejected.
        case rejected(line: Int)
        /// A record of an `until` kind at this line closed the source's group.
        case closed(kind: Int, line: Int)
    }

    struct Entry {
        let sourceKind: Int
        let sourceField: Int
        var origin: Origin = .none
        var slot: Slot = .empty
        var isText = false
        var bytes: [UInt8] = []
    }

    var entries: [Entry] = []
    /// Per kind: the fields its records supply, and the entries they go to.
    let saves: [[(field: Int, entry: Int)]]
    /// Per kind: the entries its records close.
    let closes: [[Int]]
    /// Per kind: it supplies or closes something.
    let touches: [Bool]
    /// Per kernel (see ``RecordAssembler/kernelStart``): the entry the field inherits, or -1.
    let entryOfKernel: [Int]
    let spec: MappingSpec

    /// Nil when no field of the spec inherits.
    init?(spec: MappingSpec) {
        var saves = [[(field: Int, entry: Int)]](repeating: [], count: spec.kinds.count)
        var closes = [[Int]](repeating: [], count: spec.kinds.count)
        var entryOfKernel: [Int] = []
        var entries: [Entry] = []
        for kind in spec.kinds {
            for field in kind.fields {
                guard case .inherited(let source) = field.source,
                      let sourceKind = spec.kind(named: source.kind),
                      let sourceField = sourceKind.fieldIndex(named: source.field) else {
                    entryOfKernel.append(-1)
                    continue
                }
                entryOfKernel.append(entries.count)
                saves[sourceKind.index].append((sourceField, entries.count))
                for name in source.until {
                    if let closing = spec.kind(named: name) { closes[closing.index].append(entries.count) }
                }
                entries.append(Entry(sourceKind: sourceKind.index, sourceField: sourceField))
            }
        }
        guard !entries.isEmpty else { return nil }
        self.entries = entries
        self.saves = saves
        self.closes = closes
        touches = spec.kinds.indices.map { !saves[$0].isEmpty || !closes[$0].isEmpty }
        self.entryOfKernel = entryOfKernel
        self.spec = spec
    }

    /// A record of `kind` finished: its values (when it passed) become what the fields that
    /// inherit from it take next.
    func record(_ view: RecordView, passed: Bool) {
        let line = view.location.line
        for entry in closes[view.kindIndex] {
            entries[entry].origin = .closed(kind: view.kindIndex, line: line)
        }
        for (field, entry) in saves[view.kindIndex] {
            guard passed else {
                entries[entry].origin = .rejected(line: line)
                continue
            }
            entries[entry].origin = .read(line: line)
            entries[entry].bytes.removeAll(keepingCapacity: true)
            entries[entry].isText = false
            switch view.slots[field] {
            case .text(let offset, let length):
                entries[entry].bytes.append(contentsOf: UnsafeRawBufferPointer(start: view.arena + Int(offset), count: Int(length)))
                entries[entry].isText = true
            case .code(let code):
                entries[entry].bytes.append(contentsOf: view.kind.fields[field].codeValueUTF8[Int(code)])
                entries[entry].isText = true
            case let slot:
                entries[entry].slot = slot
            }
        }
    }

    /// A record of `kindIndex` rejected before its fields were read (too long, undecodable,
    /// a near miss): it supplies nothing, and still closes what its kind closes.
    func rejected(kindIndex: Int, line: Int) {
        for entry in closes[kindIndex] { entries[entry].origin = .closed(kind: kindIndex, line: line) }
        for (_, entry) in saves[kindIndex] { entries[entry].origin = .rejected(line: line) }
    }

    /// Why a required inherited field has no value.
    func missingReason(_ entry: Int) -> String {
        let source = spec.kinds[entries[entry].sourceKind]
        let written = source.name + "." + source.fields[entries[entry].sourceField].name
        switch entries[entry].origin {
        case .none:
            return "required value is missing: no '\(source.name)' record before this one to inherit \(written) from"
        case .rejected(let line):
            return "required value is missing: the '\(source.name)' record at line \(line) it inherits \(written) from was rejected"
        case .closed(let kind, let line):
            return "required value is missing: the '\(spec.kinds[kind].name)' record at line \(line) closed the last '\(source.name)' record, and no '\(source.name)' record since supplies \(written)"
        case .read(let line):
            return "required value is missing: \(written) is empty in the '\(source.name)' record at line \(line)"
        }
    }
}

extension RecordAssembler {
    /// Whether field `index` of `kind` inherits its value (readers then call
    /// ``addInherited(_:field:)`` instead of reading it from the record).
    @inline(__always)
    func inherits(_ kind: RecordKind, field index: Int) -> Bool {
        kernel(kernelStart[kind.index] + index).inherit >= 0
    }

    /// Puts the value field `index` of `kind` inherits; false (and nothing put) when the
    /// field does not inherit. For readers that walk a kind's fields rather than kernels.
    mutating func addInherited(_ kind: RecordKind, field index: Int) -> Bool {
        let entry = kernel(kernelStart[kind.index] + index).inherit
        guard entry >= 0 else { return false }
        addInherited(entry: entry, field: kind.fields[index])
        return true
    }

    /// Puts an inherited field's value: a copy of its source's, or empty (a problem when the
    /// field is required).
    mutating func addInherited(entry: Int, field: FieldSpec) {
        guard let inheritance else { preconditionFailure("no inherited fields") }
        var value = Slot.empty
        if case .read = inheritance.entries[entry].origin {
            if inheritance.entries[entry].isText {
                if !inheritance.entries[entry].bytes.isEmpty {
                    inheritance.entries[entry].bytes.withUnsafeBytes { putText($0) }
                    return
                }
            } else {
                value = inheritance.entries[entry].slot
            }
        }
        if case .empty = value, field.required {
            addProblem(FieldProblem(field: field.name, rawValue: nil, reason: inheritance.missingReason(entry)))
        }
        put(value)
    }

    /// A record of a kind was rejected by the reader before its fields were read.
    func noteRejected(kindIndex: Int?, location: RecordLocation) {
        guard let inheritance, let kindIndex, inheritance.touches[kindIndex] else { return }
        inheritance.rejected(kindIndex: kindIndex, line: location.line)
    }
}
