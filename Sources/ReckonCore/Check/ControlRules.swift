/// The controls beyond "a count or sum equals a declared field": sums over several fields
/// or kinds, a count compared with another count, sequence numbers, a field that must be
/// the same in several records, controls judged only where a group has parts, and what an
/// absent declared value means. Loaded here, judged by ``ControlTracker`` (which keeps the
/// scope and group logic every control shares) and ``RuleTracker``.

/// What an absent declared value means for a control (`absent:`): no record in the scope
/// declares it, or the declaring record leaves the field empty.
public enum AbsentPolicy: String, Sendable, CaseIterable {
    /// The control fails: "no value for trailer.count in this group" (the default).
    case fails
    /// The control is not judged where the value is absent; its verdict says so and holds.
    case skip
    /// The absent value counts as zero (sums and counts only).
    case zero
}

extension ControlTotal {
    /// The control compares values record by record instead of totalling them.
    var isRule: Bool {
        switch measure {
        case .sequence, .same: return true
        default: return false
        }
    }
}

/// Loader helpers for the control keys `sum: [..]`, `sequence:`, `same:`, `equals: {count:}`,
/// `only_with:`, `absent:` and `start:`.
enum ControlRules {
    typealias FieldLookup = (String, SpecNode) throws(SpecError) -> (RecordKind, FieldSpec)
    typealias KindLookup = (String, SpecNode) throws(SpecError) -> RecordKind

    /// `sum: [summary.amount, detail.amount]`: one total over several fields; a leading `-`
    /// subtracts a field (`[credit.amount, -debit.amount]`).
    static func sums(_ node: SpecNode, numericField: FieldLookup) throws(SpecError)
        -> (ControlTotal.Measure, [RecordKind]) {
        var terms: [ControlTotal.DeclaredTerm] = []
        var kinds: [RecordKind] = []
        for (index, text) in try node.strings().enumerated() {
            let item = try node.items()[index]
            var reference = text
            let negated = reference.hasPrefix("-")
            if negated { reference.removeFirst() }
            let (kind, field) = try numericField(reference, item)
            if terms.contains(where: { $0.kind == kind.name && $0.field == field.name }) {
                throw item.error("\(reference) is summed twice")
            }
            terms.append(.init(negated: negated, kind: kind.name, field: field.name))
            if !kinds.contains(where: { $0 === kind }) { kinds.append(kind) }
        }
        guard !terms.isEmpty else { throw node.error("name the fields to sum, like [summary.amount, detail.amount]") }
        return (.sums(terms), kinds)
    }

    /// `sequence: entry.number` or `same: [opening.account, closing.account]`; nil when the
    /// control has neither.
    static func rule(_ map: SpecMapping, kind lookup: KindLookup) throws(SpecError)
        -> (ControlTotal.Measure, [RecordKind])? {
        let node: SpecNode
        let isSequence: Bool
        if let sequence = map["sequence"] {
            if map.has("same") { throw sequence.error("a control checks a sequence or that values are the same, not both") }
            node = sequence
            isSequence = true
        } else if let same = map["same"] {
            node = same
            isSequence = false
        } else {
            return nil
        }
        for key in ["count", "sum", "equals", "modulo"] where map.has(key) {
            throw map[key]!.error("'\(key)' does not apply to a \(isSequence ? "sequence" : "same") control")
        }
        var references: [ControlTotal.DeclaredTerm] = []
        var kinds: [RecordKind] = []
        for (index, text) in try node.strings().enumerated() {
            let item = node.isScalar ? node : try node.items()[index]
            let parts = text.split(separator: ".").map(String.init)
            guard parts.count == 2 else { throw item.error("expected kind.field, found '\(text)'") }
            let kind = try lookup(parts[0], item)
            guard let field = kind.fields.first(where: { $0.name == parts[1] }) else {
                throw item.error("record kind '\(kind.name)' has no field '\(parts[1])'")
            }
            if isSequence, case .integer = field.type {} else if isSequence {
                throw item.error("'\(text)' is a \(field.type.name); sequence numbers are integer fields")
            }
            if kinds.contains(where: { $0 === kind }) {
                throw item.error("record kind '\(kind.name)' is named twice; a control reads one field per kind")
            }
            references.append(.init(negated: false, kind: kind.name, field: field.name))
            kinds.append(kind)
        }
        if !isSequence, references.count < 2 {
            throw node.error("name at least two fields that must be the same, like [opening.account, closing.account]")
        }
        if references.isEmpty { throw node.error("name the sequence number field, like entry.sequence") }
        return (isSequence ? .sequence(references) : .same(references), kinds)
    }

    /// `equals: {count: batch_end}`: the declared value is how many records of these kinds
    /// the scope holds.
    static func declaredCount(_ node: SpecNode, kind lookup: KindLookup) throws(SpecError) -> [String] {
        let map = try node.mapping(allowed: ["count"])
        let countNode = try map.required("count")
        var names: [String] = []
        for name in try countNode.strings() { names.append(try lookup(name, countNode).name) }
        guard !names.isEmpty else { throw countNode.error("name the record kinds to count") }
        return names
    }

    /// `only_with:`, `absent:` and `start:`, set on a loaded control.
    static func options(_ map: SpecMapping, _ control: inout ControlTotal, kind lookup: KindLookup) throws(SpecError) {
        if let node = map["only_with"] {
            guard case .group = control.scope else {
                throw node.error("'only_with' applies to controls with a group scope (scope: {from: …, to: …})")
            }
            var names: [String] = []
            for name in try node.strings() { names.append(try lookup(name, node).name) }
            control.onlyWith = names
        }
        if let node = map["absent"] {
            guard let policy = AbsentPolicy(rawValue: try node.string()) else {
                throw node.error("expected fails, skip or zero")
            }
            if !control.declaredCount.isEmpty {
                throw node.error("a count compared with another count is never absent; 'absent' does not apply")
            }
            if control.isRule && policy == .zero {
                throw node.error("absent: zero applies to sums and counts; a \(control.isSequenceRule ? "sequence" : "same") control takes fails or skip")
            }
            control.absent = policy
        }
        if let node = map["start"] {
            guard control.isSequenceRule else { throw node.error("'start' applies to a sequence control") }
            control.sequenceStart = Int64(try node.int(in: 0...Int.max))
        }
    }
}

extension ControlTotal {
    var isSequenceRule: Bool {
        if case .sequence = measure { return true }
        return false
    }
}

// MARK: Judging

/// Follows a sequence or same control through the records of one group (or the file):
/// the scope is ``ControlTracker``'s, which hands it the records it measures.
struct RuleTracker: Sendable {
    let isSequence: Bool
    /// Per kind index: the field the rule reads, or nil.
    let fieldOf: [Int?]
    let names: [String?]
    let absent: AbsentPolicy
    let start: Int64?

    /// Sequence: the number the next record must carry, and where the last one was.
    private var expected: Int64?
    private var last: (number: Int64, line: Int)?
    private var first: Int64?
    private var checked = 0
    /// Same: the first value and where it came from.
    private var reference: (value: FieldValue, name: String, line: Int)?
    /// Per kind: seen in this scope.
    private var seen: [Bool]
    /// The first record that breaks the rule, and why.
    private var broken: (location: RecordLocation, note: String, expected: DecimalAmount?, found: DecimalAmount)?

    init(control: ControlTotal, spec: MappingSpec) {
        var fields = [Int?](repeating: nil, count: spec.kinds.count)
        var names = [String?](repeating: nil, count: spec.kinds.count)
        let references: [ControlTotal.DeclaredTerm]
        switch control.measure {
        case .sequence(let list): references = list; isSequence = true
        case .same(let list): references = list; isSequence = false
        default: preconditionFailure("not a rule")
        }
        for reference in references {
            let kind = spec.kind(named: reference.kind)!
            fields[kind.index] = kind.fieldIndex(named: reference.field)
            names[kind.index] = reference.kind + "." + reference.field
        }
        fieldOf = fields
        self.names = names
        absent = control.absent
        start = control.sequenceStart
        seen = Array(repeating: false, count: spec.kinds.count)
    }

    mutating func reset() {
        expected = nil
        last = nil
        first = nil
        checked = 0
        reference = nil
        broken = nil
        seen = Array(repeating: false, count: seen.count)
    }

    mutating func take(kindIndex: Int, values: some RecordValues, location: RecordLocation, rejected: Bool) {
        guard let field = fieldOf[kindIndex], let name = names[kindIndex] else { return }
        seen[kindIndex] = true
        if isSequence {
            takeNumber(values.amount(at: field), name: name, location: location, rejected: rejected)
        } else {
            takeValue(values.value(at: field), name: name, location: location, rejected: rejected)
        }
    }

    private mutating func takeNumber(_ amount: DecimalAmount?, name: String, location: RecordLocation, rejected: Bool) {
        guard let amount, amount.scale == 0 else {
            // A rejected record's unreadable number is taken as the one expected: the record
            // is there, and its own problem is already reported.
            if rejected {
                if let next = expected { expected = next &+ 1 }
                checked += 1
                return
            }
            if absent == .skip { return }
            breakRule(location, "\(name) has no value", expected: expected, found: 0)
            return
        }
        let number = amount.units
        checked += 1
        if first == nil { first = number }
        if let want = expected ?? start, number != want {
            let why: String
            if let last {
                why = "\(name) is \(number) after \(last.number) at line \(last.line); expected \(want)"
            } else {
                why = "\(name) starts at \(number); expected \(want)"
            }
            breakRule(location, why, expected: want, found: number)
        }
        expected = number &+ 1
        last = (number, location.line)
    }

    private mutating func takeValue(_ value: FieldValue, name: String, location: RecordLocation, rejected: Bool) {
        if case .empty = value {
            if rejected || absent == .skip { return }
            breakRule(location, "\(name) has no value", expected: nil, found: 0)
            return
        }
        guard let reference else {
            reference = (value, name, location.line)
            return
        }
        if !Self.same(value, reference.value) {
            breakRule(location, "\(name) is '\(value)'; \(reference.name) at line \(reference.line) is '\(reference.value)'",
                      expected: nil, found: 0)
        }
    }

    private static func same(_ a: FieldValue, _ b: FieldValue) -> Bool {
        if case .decimal(let x) = a, case .decimal(let y) = b { return x.numericallyEquals(y) }
        return a == b
    }

    private mutating func breakRule(_ location: RecordLocation, _ note: String, expected: Int64?, found: Int64) {
        guard broken == nil else { return }
        broken = (location, note, expected.map { DecimalAmount(units: $0, scale: 0) }, DecimalAmount(units: found, scale: 0))
    }

    /// The verdict for the scope that just closed at `location` (nil: the end of the file).
    func verdict(_ control: ControlTotal, location: RecordLocation?, scopeName: String, notes: [String],
                 missingEnd: Bool) -> ControlVerdict {
        var notes = notes
        if let broken {
            notes.insert(broken.note, at: 0)
            return ControlVerdict(control: control.name, location: broken.location, declared: nil, actual: broken.found,
                                  holds: false, note: notes.joined(separator: "; "))
        }
        let missing = fieldOf.indices.compactMap { fieldOf[$0] != nil && !seen[$0] ? names[$0] : nil }
        var holds = !missingEnd
        if isSequence {
            if checked == 0 {
                // Nothing numbered, nothing out of order (a statement with no lines).
                notes.insert("not checked: no \(names.compactMap { $0 }.joined(separator: " or ")) in this \(scopeName)", at: 0)
            } else if let first, let last {
                notes.insert("\(Plural.count(checked, "record")) numbered \(first) to \(last.number)", at: 0)
            } else {
                notes.insert("\(Plural.count(checked, "record")) numbered", at: 0)
            }
            return ControlVerdict(control: control.name, location: location, declared: nil,
                                  actual: DecimalAmount(units: Int64(checked), scale: 0), holds: holds, note: notes.joined(separator: "; "))
        }
        if !missing.isEmpty && absent != .skip {
            notes.insert("no value for \(missing.joined(separator: ", ")) in this \(scopeName)", at: 0)
            holds = false
        } else if let reference {
            let named = names.compactMap { $0 }.filter { !missing.contains($0) }
            notes.insert(named.count < 2 && absent == .skip
                         ? "not checked: only \(reference.name) in this \(scopeName) (absent: skip)"
                         : "\(named.joined(separator: " and ")) are '\(reference.value)'", at: 0)
        } else {
            notes.insert("not checked: no value for \(names.compactMap { $0 }.joined(separator: ", ")) in this \(scopeName) (absent: skip)", at: 0)
        }
        return ControlVerdict(control: control.name, location: location, declared: nil,
                              actual: DecimalAmount(units: 0, scale: 0), holds: holds, note: notes.joined(separator: "; "))
    }
}
