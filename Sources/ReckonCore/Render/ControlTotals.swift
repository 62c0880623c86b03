/// The spec's controls followed through the records as they are written: each measured
/// total (count or sum, with its `where` filter, scope and modulo) as the reader's check
/// measures it, and the value of the field each control fills.
struct ControlTotals: Sendable {
    let plans: [ControlPlan]
    private var groupTotal: [Int64]
    private var fileTotal: [Int64]
    private var open: [Bool]
    /// Per kind, as plain integers so the per-record work copies no plan: what it adds to
    /// (control, summed field or -1 to count, whether a `where` applies), the groups it
    /// opens, and those it closes (with whether the next group opens at once).
    private let measures: [[(control: Int, field: Int, filtered: Bool)]]
    private let opens: [[Int]]
    private let closes: [[(control: Int, reopens: Bool)]]

    init(plans: [ControlPlan], kindCount: Int) {
        self.plans = plans
        groupTotal = Array(repeating: 0, count: plans.count)
        fileTotal = Array(repeating: 0, count: plans.count)
        open = plans.map { $0.isFileScope || $0.fromKind == nil }
        var measures = [[(control: Int, field: Int, filtered: Bool)]](repeating: [], count: kindCount)
        var opens = [[Int]](repeating: [], count: kindCount)
        var closes = [[(control: Int, reopens: Bool)]](repeating: [], count: kindCount)
        for (index, plan) in plans.enumerated() {
            for kind in 0..<kindCount where plan.measured[kind] != -2 {
                measures[kind].append((index, plan.measured[kind], !plan.filters.isEmpty))
            }
            if let from = plan.fromKind { opens[from].append(index) }
            if let to = plan.toKind { closes[to].append((index, plan.fromKind == nil)) }
        }
        self.measures = measures
        self.opens = opens
        self.closes = closes
    }

    /// Before a record of `kind` is written: groups it opens start again.
    mutating func willWrite(kind: Int) {
        for index in opens[kind] {
            groupTotal[index] = 0
            open[index] = true
        }
    }

    /// The values of the fields controls fill in a record of `kind` (the group's totals
    /// for a group's closing record, the file's for the header and trailer).
    func fill(kind: RecordKind, computed: [(field: Int, control: Int)], values: inout [FieldValue]) throws(RenderError) {
        for (field, controlIndex) in computed {
            let plan = plans[controlIndex]
            let measuredTotal = plan.isFileScope ? fileTotal[controlIndex] : groupTotal[controlIndex]
            values[field] = try plan.targetValue(measured: measuredTotal, record: values, kind: kind)
        }
    }

    /// After a record was written: it counts toward the totals that measure it; a group it
    /// closes is done.
    mutating func didWrite(kind: Int, values: [FieldValue]) throws(RenderError) {
        for (index, measured, filtered) in measures[kind] where open[index] {
            if filtered && !plans[index].passes(kind: kind, values) { continue }
            var amount: Int64 = 1
            if measured >= 0 {
                switch values[measured] {
                case .integer(let n): amount = n
                case .decimal(let d):
                    if d.scale == plans[index].measureScale {
                        amount = d.units
                    } else {
                        guard let units = d.rescaled(to: plans[index].measureScale)?.units else { throw plans[index].overflow() }
                        amount = units
                    }
                default: amount = 0
                }
            }
            let (group, groupOverflow) = groupTotal[index].addingReportingOverflow(amount)
            let (file, fileOverflow) = fileTotal[index].addingReportingOverflow(amount)
            if groupOverflow || fileOverflow { throw plans[index].overflow() }
            groupTotal[index] = group
            fileTotal[index] = file
        }
        for (index, reopens) in closes[kind] {
            groupTotal[index] = 0
            open[index] = reopens
        }
    }

    /// Each control's measured total over the whole file, as the manifest lists it.
    var values: [ControlTotalValue] {
        plans.map { plan in
            var units = fileTotal[plan.index]
            if let modulo = plan.modulo, plan.measureScale == 0 { units %= modulo }
            return ControlTotalValue(name: plan.name, value: AmountText.printed(units: units, scale: plan.measureScale))
        }
    }
}

extension ControlPlan {
    func passes(kind: Int, _ values: [FieldValue]) -> Bool {
        for filter in filters {
            let field = filter.byKind[kind]
            guard field >= 0, values.text(at: field, isOneOf: filter.values) else { return false }
        }
        return true
    }

    func overflow() -> RenderError {
        RenderError(kind: "-", field: nil, reason: "control '\(name)': the total overflows 64 bits", control: index)
    }

    /// The target field's value: the terms of `equals` sum to the measured total, so the
    /// first is the total less the others.
    func targetValue(measured: Int64, record: [FieldValue], kind: RecordKind) throws(RenderError) -> FieldValue {
        var total = measured
        if let modulo, measureScale == 0 { total %= modulo }
        let scale = max(measureScale, targetScale, otherTerms.map { term -> Int in
            if case .decimal(let d) = record[term.field] { return d.scale }
            return 0
        }.max() ?? 0)
        guard var remainder = DecimalAmount(units: total, scale: measureScale).rescaled(to: scale)?.units else { throw overflow() }
        for term in otherTerms {
            let amount: DecimalAmount
            switch record[term.field] {
            case .integer(let n): amount = DecimalAmount(units: n, scale: 0)
            case .decimal(let d): amount = d
            default:
                throw RenderError(kind: kind.name, field: kind.fields[term.field].name,
                                  reason: "control '\(name)' needs this value to compute \(kind.fields[targetField].name)")
            }
            guard let units = amount.rescaled(to: scale)?.units else { throw overflow() }
            let (next, overflowed) = remainder.subtractingReportingOverflow(term.negated ? -units : units)
            if overflowed { throw overflow() }
            remainder = next
        }
        if targetNegated { remainder = -remainder }
        // Back to the target field's scale, exactly.
        var units = remainder
        for _ in targetScale..<scale {
            guard units % 10 == 0 else {
                throw RenderError(kind: kind.name, field: kind.fields[targetField].name,
                                  reason: "control '\(name)' computes \(DecimalAmount(units: remainder, scale: scale)), which has more than \(targetScale) decimal places")
            }
            units /= 10
        }
        return targetIsInteger ? .integer(units) : .decimal(DecimalAmount(units: units, scale: targetScale))
    }
}
