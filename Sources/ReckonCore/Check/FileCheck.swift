/// How a file is checked.
public struct CheckOptions: Sendable {
    /// Stop at the first rejected record instead of reading on.
    public var stopAtFirstError: Bool
    /// Keep at most this many problems in the report (the counts stay exact beyond it).
    public var maxProblems: Int

    public init(stopAtFirstError: Bool = false, maxProblems: Int = 100) {
        precondition(maxProblems >= 1)
        self.stopAtFirstError = stopAtFirstError
        self.maxProblems = maxProblems
    }
}

/// A problem with its place in the file.
public struct ReportedProblem: Sendable, CustomStringConvertible {
    public let location: RecordLocation
    /// The record kind, when one matched.
    public let kind: String?
    public let problem: FieldProblem

    public var description: String {
        var text = "\(location): "
        if let kind { text += kind + " " }
        return text + problem.description
    }
}

/// Records read and refused, for one kind.
public struct KindCount: Sendable, Equatable {
    public let kind: String
    public var read: Int
    public var rejected: Int
    public var total: Int { read + rejected }
}

/// Whether one declared total held, where it was declared, and both sides.
public struct ControlVerdict: Sendable {
    public let control: String
    /// The record that declared the total (nil for a file-wide total declared nowhere).
    public let location: RecordLocation?
    public let declared: DecimalAmount?
    public let actual: DecimalAmount
    public let holds: Bool
    /// Why it could not be checked, or what else the reader should know.
    public let note: String?
}

/// Everything known about one file after reading it through a spec.
public struct FileReport: Sendable {
    public let file: String
    public let spec: String
    public var counts: [KindCount]
    /// Records no kind matched (rejected unless the spec skips them).
    public var unmatched = 0
    /// Empty lines in a fixed-width file, rejected (`blank_lines: reject`).
    public var blankLines = 0
    /// Preamble, header, blank and skipped lines.
    public var skipped = 0
    public var problems: [ReportedProblem] = []
    public var problemsOmitted = 0
    /// Problems declared warnings (`warn:`): reported and counted, the records passed.
    /// Capped like the problems.
    public var warnings: [ReportedProblem] = []
    public var warningsOmitted = 0
    public var controls: [ControlVerdict] = []
    /// Record kinds that occurred too few or too many times.
    public var structure: [String] = []
    /// What ended reading early, if anything did.
    public var failure: FileFailure?
    /// Reading stopped at the first rejected record (stop-at-first-error mode).
    public var stoppedEarly = false

    public var recordsRead: Int { counts.reduce(0) { $0 + $1.read } }
    public var recordsRejected: Int { counts.reduce(0) { $0 + $1.rejected } + unmatched + blankLines }
    public var controlsHold: Bool { controls.allSatisfy(\.holds) }
    /// Every warning, listed or not.
    public var warningCount: Int { warnings.count + warningsOmitted }

    /// Every record was read and passed, every total held, the structure is as declared.
    public var isClean: Bool {
        failure == nil && recordsRejected == 0 && controlsHold && structure.isEmpty
    }

    public func count(of kind: String) -> KindCount? { counts.first { $0.kind == kind } }
}

/// Reads a whole file through a reader and produces its ``FileReport``: counts per kind,
/// problems (capped), control totals, and the occurrence rules. Records are handed to
/// `onRecord` as they pass, so a caller can show or post them without keeping them.
public struct FileCheck: Sendable {
    public let spec: MappingSpec
    public let options: CheckOptions
    private var report: FileReport
    private var controls: [ControlTracker]

    public init(spec: MappingSpec, file: String, options: CheckOptions = CheckOptions()) {
        self.spec = spec
        self.options = options
        report = FileReport(file: file, spec: spec.name,
                            counts: spec.kinds.map { KindCount(kind: $0.name, read: 0, rejected: 0) })
        controls = spec.controls.map { ControlTracker(control: $0, spec: spec) }
    }

    /// Reads to the end (or the first error, in stop-at-first-error mode).
    public static func run(_ reader: inout some RecordReader, spec: MappingSpec, file: String,
                           options: CheckOptions = CheckOptions(),
                           onRecord: (RecordView) -> Void = { _ in }) -> FileReport {
        var check = FileCheck(spec: spec, file: file, options: options)
        do {
            while let event = try reader.next() {
                if !check.take(event, onRecord: onRecord) { break }
            }
        } catch {
            check.fail(error)
        }
        return check.finish()
    }

    /// Takes one event; false when reading should stop.
    public mutating func take(_ event: RecordEvent, onRecord: (RecordView) -> Void = { _ in }) -> Bool {
        switch event {
        case .skipped:
            report.skipped += 1
            return true
        case .record(let record):
            report.counts[record.kindIndex].read += 1
            if let warnings = record.warningList { warn(warnings.pointee, at: record.location, kind: record.kind.name) }
            // One uniqueness check per record rather than one per control.
            controls.withUnsafeMutableBufferPointer { trackers in
                for index in trackers.indices {
                    trackers[index].take(kindIndex: record.kindIndex, values: record, location: record.location, rejected: false)
                }
            }
            onRecord(record)
            return true
        case .rejected(let rejected):
            let kindName = rejected.kindIndex.map { spec.kinds[$0].name }
            if !rejected.warnings.isEmpty { warn(rejected.warnings, at: rejected.location, kind: kindName) }
            if let kindIndex = rejected.kindIndex {
                report.counts[kindIndex].rejected += 1
                for index in controls.indices {
                    controls[index].take(kindIndex: kindIndex, values: rejected.values, location: rejected.location, rejected: true)
                }
            } else if rejected.isBlankLine {
                report.blankLines += 1
            } else {
                report.unmatched += 1
            }
            for problem in rejected.problems {
                if report.problems.count < options.maxProblems {
                    report.problems.append(ReportedProblem(location: rejected.location, kind: kindName, problem: problem))
                } else {
                    report.problemsOmitted += 1
                }
            }
            if options.stopAtFirstError {
                report.stoppedEarly = true
                return false
            }
            return true
        }
    }

    private mutating func warn(_ warnings: [FieldProblem], at location: RecordLocation, kind: String?) {
        for warning in warnings {
            if report.warnings.count < options.maxProblems {
                report.warnings.append(ReportedProblem(location: location, kind: kind, problem: warning))
            } else {
                report.warningsOmitted += 1
            }
        }
    }

    /// Refuses a record that passed reading but not a later step (posting): it moves from
    /// read to rejected, with its problem.
    public mutating func reject(afterReading record: RecordView, _ problem: FieldProblem) {
        reject(kindIndex: record.kindIndex, location: record.location, problem)
    }

    /// ``reject(afterReading:_:)`` for a record that is no longer at hand (a later step
    /// runs behind the reading): the problem takes its place in line order.
    public mutating func reject(kindIndex: Int, location: RecordLocation, _ problem: FieldProblem) {
        report.counts[kindIndex].read -= 1
        report.counts[kindIndex].rejected += 1
        if report.problems.count < options.maxProblems {
            let position = report.problems.lastIndex { $0.location.line <= location.line }.map { $0 + 1 } ?? 0
            report.problems.insert(ReportedProblem(location: location, kind: spec.kinds[kindIndex].name, problem: problem), at: position)
        } else {
            report.problemsOmitted += 1
        }
    }

    /// Refusals after reading beyond what the report describes (its problem limit): they
    /// move from read to rejected and count as omitted problems.
    public mutating func rejectUndescribed(kindIndex: Int, count: Int) {
        report.counts[kindIndex].read -= count
        report.counts[kindIndex].rejected += count
        report.problemsOmitted += count
    }

    /// Records that reading stopped before the end (at a later step's first refusal, in
    /// stop-at-first-error mode): totals and structure are then not judged.
    public mutating func stopEarly() {
        report.stoppedEarly = true
    }

    public mutating func fail(_ failure: FileFailure) {
        report.failure = failure
    }

    public mutating func finish() -> FileReport {
        // A file that failed part-way has no trustworthy totals or structure to judge.
        if report.failure == nil && !report.stoppedEarly {
            for index in controls.indices {
                report.controls += controls[index].finish()
            }
            for kind in spec.kinds {
                let seen = report.counts[kind.index].total
                if seen < kind.minOccurs {
                    report.structure.append(seen == 0
                        ? "no '\(kind.name)' record; the spec expects at least \(kind.minOccurs) (truncated file, or the wrong file?)"
                        : "\(seen) '\(kind.name)' record\(seen == 1 ? "" : "s"); the spec expects at least \(kind.minOccurs)")
                }
                if let maximum = kind.maxOccurs, seen > maximum {
                    report.structure.append("\(seen) '\(kind.name)' records; the spec allows at most \(maximum)")
                }
            }
        } else {
            for index in controls.indices { _ = controls[index].finish() }
        }
        return report
    }
}

/// What one kind's records mean to one control.
private struct KindRole: Sendable {
    /// Measured, or declaring a total or the declared count: a trailing part with none of
    /// these records is outside any group.
    let isRelevant: Bool
    let isMeasured: Bool
    let isDeclaredCount: Bool
    let isOnlyWith: Bool
    let countsRecords: Bool
    let declaresTotal: Bool
    /// Into the tracker's `summedFields` and `countedParts`.
    let summed: Range<Int>
    let parts: Range<Int>
    /// The record only adds to the count or the sum: measured, declaring nothing, not
    /// opening or closing a group, no filter or rule to consult.
    var onlyAdds = false
}

/// Follows one control total through the records of its scope.
struct ControlTracker: Sendable {
    let control: ControlTotal
    /// What each kind's records mean to this control, by kind index: a record costs one load
    /// to learn it (most records are details that only add to a sum or a count).
    private let roles: [KindRole]
    /// The summed fields and counted `<part>_count` fields the roles point into.
    private let summedFields: [(field: Int, negated: Bool)]
    private let countedParts: [Int]
    /// Sequence and same controls: what they compare, record by record.
    private var rule: RuleTracker?
    private let hasRule: Bool
    private let hasFilter: Bool
    private let hasOnlyWith: Bool
    private let filterFields: [(byKind: [Int?], values: [[UInt8]])]
    private let declaredFields: [(kind: Int, field: Int, negated: Bool)]
    private let fromKind: Int?
    private let toKind: Int?
    private let isFileScope: Bool
    /// Scale of the summed field, so an empty sum still reads 0.00.
    private let sumScale: Int

    private var open: Bool
    private var count: Int64 = 0
    private var sum: DecimalAmount?
    private var overflowed = false
    private var rejectedInScope = 0
    private var recordsInScope = 0
    /// Records of a kind the control measures or takes a declared value from: a trailing
    /// part with none of them is outside any group (see `finish`).
    private var relevantInScope = 0
    private var declared: [DecimalAmount?]
    /// Per declared term: the rejected record that would have supplied it, if the last one
    /// of its kind in the scope was rejected (its values are not trusted as a total).
    private var declaredRejectedAt: [RecordLocation?]
    private var declaredAt: RecordLocation?
    private var verdicts: [ControlVerdict] = []
    private var declaredCounted: Int64 = 0
    private var onlyWithSeen = 0
    /// Groups not judged for want of an `only_with` record.
    private var groupsPassedOver = 0

    init(control: ControlTotal, spec: MappingSpec) {
        self.control = control
        func kindIndex(_ name: String) -> Int { spec.kind(named: name)!.index }
        let kindCount = spec.kinds.count
        var measuredKinds = [Bool](repeating: false, count: kindCount)
        var summed = [[(field: Int, negated: Bool)]](repeating: [], count: kindCount)
        var scale = 0
        var terms: [ControlTotal.DeclaredTerm] = []
        var countsRecords = [Bool](repeating: false, count: kindCount)
        var countedParts = [[Int]](repeating: [], count: kindCount)
        switch control.measure {
        case .count(let kinds):
            for name in kinds {
                if let (kind, field) = spec.partCountField(name) {
                    measuredKinds[kind] = true
                    countedParts[kind].append(field)
                } else {
                    measuredKinds[kindIndex(name)] = true
                    countsRecords[kindIndex(name)] = true
                }
            }
        case .sum(let kind, let field):
            terms = [.init(negated: false, kind: kind, field: field)]
        case .sums(let list):
            terms = list
        case .sequence(let list), .same(let list):
            for term in list { measuredKinds[kindIndex(term.kind)] = true }
            rule = RuleTracker(control: control, spec: spec)
        }
        for term in terms {
            let k = kindIndex(term.kind)
            measuredKinds[k] = true
            let fieldIndex = spec.kinds[k].fieldIndex(named: term.field)!
            summed[k].append((fieldIndex, term.negated))
            if case .decimal(let format) = spec.kinds[k].fields[fieldIndex].type { scale = max(scale, format.scale) }
        }
        sumScale = scale
        hasRule = rule != nil
        declaredFields = control.declared.map {
            let k = kindIndex($0.kind)
            return (k, spec.kinds[k].fieldIndex(named: $0.field)!, $0.negated)
        }
        let declaredCountKinds = Set(control.declaredCount.map(kindIndex))
        let onlyWithKinds = Set(control.onlyWith.map(kindIndex))
        hasOnlyWith = !onlyWithKinds.isEmpty
        var roles: [KindRole] = []
        var flatSummed: [(field: Int, negated: Bool)] = []
        var flatParts: [Int] = []
        for k in 0..<kindCount {
            let hasDeclared = declaredFields.contains { $0.kind == k }
            let summedStart = flatSummed.count, partsStart = flatParts.count
            flatSummed += summed[k]
            flatParts += countedParts[k]
            roles.append(KindRole(
                isRelevant: measuredKinds[k] || hasDeclared || declaredCountKinds.contains(k),
                isMeasured: measuredKinds[k], isDeclaredCount: declaredCountKinds.contains(k),
                isOnlyWith: onlyWithKinds.contains(k), countsRecords: countsRecords[k], declaresTotal: hasDeclared,
                summed: summedStart..<flatSummed.count, parts: partsStart..<flatParts.count))
        }
        var scopeKinds: Set<Int> = []
        if case .group(let from, let to) = control.scope { scopeKinds = Set([from, to].compactMap { $0 }.map(kindIndex)) }
        for k in roles.indices {
            let role = roles[k]
            roles[k].onlyAdds = role.isMeasured && !role.declaresTotal && !role.isDeclaredCount && !role.isOnlyWith
                && control.filter.isEmpty && rule == nil && !scopeKinds.contains(k)
        }
        self.roles = roles
        summedFields = flatSummed
        self.countedParts = flatParts
        hasFilter = !control.filter.isEmpty
        filterFields = control.filter.map { filter in
            var byKind = [Int?](repeating: nil, count: kindCount)
            for k in 0..<kindCount where measuredKinds[k] {
                byKind[k] = spec.kinds[k].fieldIndex(named: filter.field)
            }
            return (byKind, filter.values.sorted().map { Array($0.utf8) })
        }
        declared = Array(repeating: nil, count: control.declared.count)
        declaredRejectedAt = Array(repeating: nil, count: control.declared.count)
        switch control.scope {
        case .file:
            fromKind = nil; toKind = nil; isFileScope = true; open = true
        case .group(let from, let to):
            fromKind = from.map(kindIndex); toKind = to.map(kindIndex); isFileScope = false
            open = from == nil
        }
    }

    /// Takes one record of the file, in order. Most records only add to a count or a sum
    /// (``KindRole/onlyAdds``): they take the short way, inlined into the caller's loop.
    @inline(__always)
    mutating func take(kindIndex: Int, values: some RecordValues, location: RecordLocation, rejected: Bool) {
        let role = roles[kindIndex]
        guard role.onlyAdds && open else {
            takeInFull(kindIndex: kindIndex, values: values, location: location, rejected: rejected)
            return
        }
        recordsInScope += 1
        relevantInScope += 1
        if rejected { rejectedInScope += 1 }
        accumulate(role, values)
    }

    @inline(__always)
    private mutating func accumulate(_ role: KindRole, _ values: some RecordValues) {
        if role.countsRecords { count += 1 }
        for index in role.parts { count += values.amount(at: countedParts[index])?.units ?? 0 }
        for index in role.summed {
            let (field, negated) = summedFields[index]
            guard let amount = values.amount(at: field) else { continue }
            let units = negated ? -amount.units : amount.units
            if let current = sum, current.scale == amount.scale {
                let (total, overflow) = current.units.addingReportingOverflow(units)
                if overflow { overflowed = true } else { sum = DecimalAmount(units: total, scale: current.scale) }
            } else {
                add(DecimalAmount(units: units, scale: amount.scale))
            }
        }
    }

    @inline(never)
    private mutating func takeInFull(kindIndex: Int, values: some RecordValues, location: RecordLocation, rejected: Bool) {
        if kindIndex == fromKind {
            if open && recordsInScope > 0 { close(at: nil, missingEnd: toKind != nil) }
            reset()
            open = true
        }
        guard open else { return }
        recordsInScope += 1
        let role = roles[kindIndex]
        if role.isRelevant { relevantInScope += 1 }
        if role.isOnlyWith { onlyWithSeen += 1 }
        if role.isDeclaredCount {
            declaredCounted += 1
            declaredAt = location
        }
        if role.isMeasured && (!hasFilter || passesFilter(kindIndex, values)) {
            if rejected { rejectedInScope += 1 }
            if hasRule {
                rule!.take(kindIndex: kindIndex, values: values, location: location, rejected: rejected)
            } else {
                accumulate(role, values)
            }
        }
        if role.declaresTotal { takeDeclared(kindIndex: kindIndex, values: values, location: location, rejected: rejected) }
        if kindIndex == toKind {
            close(at: location, missingEnd: false)
            reset()
            open = fromKind == nil
        }
    }

    /// A record of a kind that declares one of the totals: its value is the one compared.
    private mutating func takeDeclared(kindIndex: Int, values: some RecordValues, location: RecordLocation, rejected: Bool) {
        for (term, declaredField) in declaredFields.enumerated() where declaredField.kind == kindIndex {
            if rejected {
                // A rejected record's values are not a total to check against.
                declared[term] = nil
                declaredRejectedAt[term] = location
                declaredAt = location
            } else if let amount = values.amount(at: declaredField.field) {
                declared[term] = declaredField.negated ? DecimalAmount(units: -amount.units, scale: amount.scale) : amount
                declaredRejectedAt[term] = nil
                declaredAt = location
            } else {
                declaredRejectedAt[term] = nil
            }
        }
    }

    mutating func finish() -> [ControlVerdict] {
        if isFileScope {
            close(at: declaredAt, missingEnd: false)
        } else if open && relevantInScope > 0 {
            // A part after the last closing record that holds nothing the control counts,
            // sums or reads a total from (a file trailer after the last statement) is outside
            // any group; one that does is a group cut off before its closing record.
            close(at: nil, missingEnd: toKind != nil)
        }
        if verdicts.isEmpty && groupsPassedOver > 0 {
            let kinds = control.onlyWith.joined(separator: " or ")
            verdicts.append(ControlVerdict(control: control.name, location: nil, declared: nil,
                                           actual: DecimalAmount(units: 0, scale: 0), holds: true,
                                           note: "not checked: no group has a \(kinds) record (only_with: \(kinds))"))
        }
        if verdicts.isEmpty {
            let missing = toKind != nil ? "no record closes a group for this total" : "no record declares this total"
            verdicts.append(ControlVerdict(control: control.name, location: nil, declared: nil,
                                           actual: DecimalAmount(units: 0, scale: 0), holds: false,
                                           note: "\(missing) (\(control.declaredText)); truncated file?"))
        }
        return verdicts
    }

    private mutating func reset() {
        count = 0
        sum = nil
        overflowed = false
        rejectedInScope = 0
        recordsInScope = 0
        relevantInScope = 0
        declared = Array(repeating: nil, count: declared.count)
        declaredRejectedAt = Array(repeating: nil, count: declared.count)
        declaredAt = nil
        declaredCounted = 0
        onlyWithSeen = 0
        rule?.reset()
    }

    private func passesFilter(_ kindIndex: Int, _ values: some RecordValues) -> Bool {
        for filter in filterFields {
            guard let field = filter.byKind[kindIndex], values.text(at: field, isOneOf: filter.values) else { return false }
        }
        return true
    }

    private mutating func add(_ amount: DecimalAmount) {
        guard let current = sum else { sum = amount; return }
        if current.scale == amount.scale {
            let (total, overflow) = current.units.addingReportingOverflow(amount.units)
            if overflow { overflowed = true } else { sum = DecimalAmount(units: total, scale: current.scale) }
            return
        }
        let scale = max(current.scale, amount.scale)
        guard let a = current.rescaled(to: scale), let b = amount.rescaled(to: scale) else { overflowed = true; return }
        let (total, overflow) = a.units.addingReportingOverflow(b.units)
        if overflow { overflowed = true; return }
        sum = DecimalAmount(units: total, scale: scale)
    }


    private mutating func close(at location: RecordLocation?, missingEnd: Bool) {
        if hasOnlyWith && onlyWithSeen == 0 && !missingEnd {
            // A group without the parts the control is about (a batch with no entries has
            // no entry hash): not judged.
            groupsPassedOver += 1
            return
        }
        if let rule {
            var notes: [String] = []
            if rejectedInScope > 0 { notes.append("\(rejectedInScope) counted record\(rejectedInScope == 1 ? " was" : "s were") rejected") }
            if missingEnd { notes.append("the group has no closing record (truncated file?)") }
            verdicts.append(rule.verdict(control, location: location, scopeName: isFileScope ? "file" : "group",
                                         notes: notes, missingEnd: missingEnd))
            return
        }
        var actual: DecimalAmount
        switch control.measure {
        case .count, .sequence, .same: actual = DecimalAmount(units: count, scale: 0)
        case .sum, .sums: actual = sum ?? DecimalAmount(units: 0, scale: sumScale)
        }
        if let modulo = control.modulo, actual.scale == 0 {
            actual = DecimalAmount(units: actual.units % modulo, scale: 0)
        }
        var notes: [String] = []
        if rejectedInScope > 0 { notes.append("\(rejectedInScope) counted record\(rejectedInScope == 1 ? " was" : "s were") rejected") }
        if overflowed { notes.append("the sum overflowed 64 bits") }
        if missingEnd { notes.append("the group has no closing record (truncated file?)") }

        var declared = self.declared
        if !control.declaredCount.isEmpty {
            declared = [DecimalAmount(units: declaredCounted, scale: 0)]
        }
        var absentTerms: [String] = []
        if control.absent != .fails && declaredRejectedAt.allSatisfy({ $0 == nil }) {
            for (index, term) in control.declared.enumerated() where declared[index] == nil {
                absentTerms.append("\(term.kind).\(term.field)")
                if control.absent == .zero { declared[index] = DecimalAmount(units: 0, scale: 0) }
            }
        }
        if control.absent == .skip && !absentTerms.isEmpty {
            notes.insert("not checked: no value for \(absentTerms.joined(separator: ", ")) in this \(isFileScope ? "file" : "group") (absent: skip)", at: 0)
            verdicts.append(ControlVerdict(control: control.name, location: location, declared: nil, actual: actual,
                                           holds: !missingEnd, note: notes.joined(separator: "; ")))
            return
        }
        if control.absent == .zero && !absentTerms.isEmpty {
            notes.insert("no value for \(absentTerms.joined(separator: ", ")) in this \(isFileScope ? "file" : "group"); taken as 0 (absent: zero)", at: 0)
        }
        guard declared.allSatisfy({ $0 != nil }) else {
            let rejectedTerms = control.declared.indices.compactMap { term in
                declaredRejectedAt[term].map { (control.declared[term], $0) }
            }
            if let (term, at) = rejectedTerms.first {
                notes.insert("could not be checked: the \(term.kind) record that declares \(term.kind).\(term.field) was rejected", at: 0)
                verdicts.append(ControlVerdict(control: control.name, location: at, declared: nil, actual: actual,
                                               holds: false, note: notes.joined(separator: "; ")))
                return
            }
            let missing = zip(control.declared, declared).filter { $0.1 == nil }.map { "\($0.0.kind).\($0.0.field)" }
            notes.insert("no value for \(missing.joined(separator: ", ")) in this \(isFileScope ? "file" : "group")", at: 0)
            verdicts.append(ControlVerdict(control: control.name, location: location, declared: nil, actual: actual,
                                           holds: false, note: notes.joined(separator: "; ")))
            return
        }
        var total = DecimalAmount(units: 0, scale: 0)
        for term in declared {
            let term = term!
            let scale = max(total.scale, term.scale)
            if let a = total.rescaled(to: scale), let b = term.rescaled(to: scale) {
                total = DecimalAmount(units: a.units &+ b.units, scale: scale)
            }
        }
        if let modulo = control.modulo, total.scale == 0 {
            total = DecimalAmount(units: total.units % modulo, scale: 0)
        }
        let holds = total.numericallyEquals(actual) && !overflowed && !missingEnd
        verdicts.append(ControlVerdict(control: control.name, location: location, declared: total, actual: actual,
                                       holds: holds, note: notes.isEmpty ? nil : notes.joined(separator: "; ")))
    }
}
