import ReckonCore
import Testing

/// The matcher's contract (the doc comment of ``Matcher``), restated for small key groups by
/// brute force and written without looking at how the matcher does it: arithmetic in 128 bits,
/// candidates read off every maximal assignment of a score level, ambiguity spread item by
/// item rather than by walking components.
///
/// The contract, level by level (the best remaining score first):
/// - a pair qualifies when every compared field holds (tolerance, date window); its score is
///   (inexact, total amount difference, total working-day difference), lower first;
/// - an item's candidates at a level are the partners it has in the level's maximal
///   assignments; an item in doubt (candidates that differ in a compared value, or one already
///   in an ambiguous break) and all of its candidates make, or join, an ambiguous break —
///   items in an ambiguous break take no partner but still compete at worse scores;
/// - the rest of the level is interchangeable: the assignment that pairs items in order, and
///   what is left over waits for a worse score;
/// - after the last level: one item a side is a break (status, then amount, then date decides
///   its kind), more on both sides one ambiguous break, one side only unmatched (a failed item:
///   a status break).
struct MatcherOracle {
    let compared: [ComparedField]
    let workingDays: (CivilDate, CivilDate) -> Int
    /// A pair break's kind when a side is our plan lines or allocations.
    let pairKind: BreakKind?

    init(rule: ReconRule, workingDays: @escaping (CivilDate, CivilDate) -> Int) {
        compared = rule.compared
        self.workingDays = workingDays
        let origins = [rule.sources?.left.origin, rule.sources?.right.origin]
        pairKind = origins.contains(.planLines) ? .planMismatch : origins.contains(.allocations) ? .allocationMismatch : nil
    }

    // MARK: Arithmetic

    /// A tolerance's allowance, exactly: basis points of the larger magnitude, rounded down.
    static func allowance(_ tolerance: Tolerance, _ a: Int64, _ b: Int64) -> Int128 {
        let larger = max(Int128(a).magnitude, Int128(b).magnitude)
        let byPoints = tolerance.basisPoints.map { Int128(larger * UInt128($0) / 10_000) }
        let minor = tolerance.minor.map { Int128($0) }
        switch (minor, byPoints) {
        case (nil, nil): return 0
        case (let minor?, nil): return minor
        case (nil, let points?): return points
        case (let minor?, let points?): return tolerance.combine == .max ? max(minor, points) : min(minor, points)
        }
    }

    static func holds(_ tolerance: Tolerance, _ a: Int64, _ b: Int64) -> Bool {
        (Int128(a) - Int128(b)).magnitude <= allowance(tolerance, a, b).magnitude
    }

    /// One compared field of a pair, as the outcome shows it.
    struct Field: Equatable {
        let name: String
        let left: ReconValue?
        let right: ReconValue?
        let delta: Int64?
        let holds: Bool
        let exact: Bool
    }

    func fields(_ l: ReconItem, _ r: ReconItem) -> [Field] {
        compared.enumerated().map { index, field in
            let a = l.values.indices.contains(index) ? l.values[index] : nil
            let b = r.values.indices.contains(index) ? r.values[index] : nil
            switch (a, b) {
            case (.amount(let x)?, .amount(let y)?):
                return Field(name: field.name, left: a, right: b, delta: Int64(exactly: Int128(y) - Int128(x)),
                             holds: Self.holds(field.tolerance, x, y), exact: x == y)
            case (.date(let x)?, .date(let y)?):
                let days = x == y ? 0 : workingDays(x, y)
                return Field(name: field.name, left: a, right: b, delta: Int64(days), holds: abs(days) <= field.windowDays, exact: x == y)
            case (let x?, let y?):
                return Field(name: field.name, left: a, right: b, delta: nil, holds: x == y, exact: x == y)
            default:
                // Absent on a side: not compared.
                return Field(name: field.name, left: a, right: b, delta: nil, holds: true, exact: true)
            }
        }
    }

    /// (inexact, amount difference, day difference); nil: the pair does not qualify.
    func score(_ fields: [Field]) -> [Int128]? {
        guard fields.allSatisfy(\.holds) else { return nil }
        var amount: Int128 = 0, days: Int128 = 0
        for field in fields {
            guard let delta = field.delta else { continue }
            if case .date? = field.left { days += Int128(delta.magnitude) } else { amount += Int128(delta.magnitude) }
        }
        return [fields.allSatisfy(\.exact) ? 0 : 1, amount, days]
    }

    // MARK: One key group

    enum State: Equatable { case free, paired, inDoubt }

    struct Pair: Hashable { let left: Int, right: Int }

    /// The outcomes of one key group, rendered as ``MatcherTests/render(_:)`` renders the
    /// matcher's.
    func outcomes(left: [ReconItem], right: [ReconItem]) -> [String] {
        if left.isEmpty || right.isEmpty {
            return left.map { unmatched(.left, $0, keySeen: false) } + right.map { unmatched(.right, $0, keySeen: false) }
        }
        let table = left.map { l in right.map { r in fields(l, r) } }
        let scores = table.map { $0.map(score) }
        var leftState = [State](repeating: .free, count: left.count), rightState = [State](repeating: .free, count: right.count)
        // Ambiguous breaks as sets of items, merged as they grow (item: side and index).
        var doubtGroups: [Set<Item>] = []
        var lines: [String] = []

        while true {
            // A level: the best score of a pair with at least one free item and none paired.
            let open = left.indices.flatMap { i in right.indices.compactMap { j -> (Pair, [Int128])? in
                guard leftState[i] != .paired, rightState[j] != .paired, leftState[i] == .free || rightState[j] == .free,
                      let s = scores[i][j] else { return nil }
                return (Pair(left: i, right: j), s)
            } }
            guard let best = open.map(\.1).min(by: { $0.lexicographicallyPrecedes($1) }) else { break }
            let level = open.filter { $0.1 == best }.map(\.0)
            let assignments = Self.maximalAssignments(level)

            // Candidates from the assignments; in doubt: candidates that differ, or one in doubt already.
            var candidates: [Item: Set<Item>] = [:]
            for assignment in assignments {
                for pair in assignment {
                    candidates[.left(pair.left), default: []].insert(.right(pair.right))
                    candidates[.right(pair.right), default: []].insert(.left(pair.left))
                }
            }
            func values(_ item: Item) -> [ReconValue?] {
                switch item { case .left(let i): return left[i].values
                case .right(let j): return right[j].values }
            }
            func state(_ item: Item) -> State {
                switch item { case .left(let i): return leftState[i]
                case .right(let j): return rightState[j] }
            }
            // An item in doubt and all its candidates make (or join) one ambiguous break.
            for (item, partners) in candidates.sorted(by: { $0.key < $1.key }) where state(item) == .free {
                guard Set(partners.map(values)).count > 1 || partners.contains(where: { state($0) == .inDoubt }) else { continue }
                var merged = partners.union([item])
                doubtGroups.removeAll { group in
                    guard !group.isDisjoint(with: merged) else { return false }
                    merged.formUnion(group)
                    return true
                }
                doubtGroups.append(merged)
            }
            let doubtful = doubtGroups.reduce(into: Set<Item>()) { $0.formUnion($1) }
            for item in doubtful {
                switch item { case .left(let i): leftState[i] = .inDoubt
                case .right(let j): rightState[j] = .inDoubt }
            }

            // The rest of the level: every maximal assignment of it pairs the same values (the
            // contract is well defined); take the one that pairs in order.
            let settled = level.filter { !doubtful.contains(.left($0.left)) && !doubtful.contains(.right($0.right)) }
            let choices = Self.maximalAssignments(settled)
            let signatures = Set(choices.map { choice in
                choice.map { "\(left[$0.left].values)|\(right[$0.right].values)" }.sorted()
            })
            if signatures.count > 1 { Issue.record("the contract leaves only interchangeable items to pair: \(signatures)") }
            let ordered = choices.map { $0.sorted(by: Self.inOrder) }
            if let inOrder = ordered.min(by: { $0.lexicographicallyPrecedes($1, by: Self.inOrder) }) {
                for pair in inOrder {
                    leftState[pair.left] = .paired
                    rightState[pair.right] = .paired
                    lines.append(render("matched", left: [left[pair.left]], right: [right[pair.right]], fields: table[pair.left][pair.right]))
                }
            }
        }

        for group in doubtGroups {
            let ls = group.compactMap { if case .left(let i) = $0 { return i } else { return nil } }.sorted().map { left[$0] }
            let rs = group.compactMap { if case .right(let j) = $0 { return j } else { return nil } }.sorted().map { right[$0] }
            lines.append(render("ambiguous", left: ls, right: rs, fields: []))
        }
        let restLeft = left.indices.filter { leftState[$0] == .free }, restRight = right.indices.filter { rightState[$0] == .free }
        switch (restLeft.count, restRight.count) {
        case (1, 1):
            let (i, j) = (restLeft[0], restRight[0])
            lines.append(render(pairBreakKind(table[i][j]).rawValue, left: [left[i]], right: [right[j]], fields: table[i][j]))
        case (0, _), (_, 0):
            lines += restLeft.map { unmatched(.left, left[$0], keySeen: true) } + restRight.map { unmatched(.right, right[$0], keySeen: true) }
        default:
            lines.append(render("ambiguous", left: restLeft.map { left[$0] }, right: restRight.map { right[$0] }, fields: []))
        }
        return lines
    }

    enum Item: Hashable, Comparable {
        case left(Int)
        case right(Int)
    }

    static func inOrder(_ a: Pair, _ b: Pair) -> Bool { (a.left, a.right) < (b.left, b.right) }

    /// Every assignment of the pairs that no further pair can join (each built once, its
    /// pairs in the order given).
    static func maximalAssignments(_ pairs: [Pair]) -> [[Pair]] {
        var found: [[Pair]] = []
        func extend(_ chosen: [Pair], _ usedLeft: Set<Int>, _ usedRight: Set<Int>, from start: Int) {
            if pairs.allSatisfy({ usedLeft.contains($0.left) || usedRight.contains($0.right) }) { found.append(chosen) }
            for index in start..<pairs.count where !usedLeft.contains(pairs[index].left) && !usedRight.contains(pairs[index].right) {
                extend(chosen + [pairs[index]], usedLeft.union([pairs[index].left]), usedRight.union([pairs[index].right]), from: index + 1)
            }
        }
        extend([], [], [], from: 0)
        return found
    }

    func pairBreakKind(_ fields: [Field]) -> BreakKind {
        let failing = fields.filter { !$0.holds }
        if let pairKind { return pairKind }
        func kind(_ value: ReconValue?) -> Int {
            switch value { case .text?: return 0
            case .amount?: return 1
            default: return 2 }
        }
        guard let first = failing.min(by: { kind($0.left) < kind($1.left) }) else { return .amount }
        switch first.left { case .text?: return .status
        case .amount?: return .amount
        default: return .date }
    }

    func unmatched(_ side: ReconSide, _ item: ReconItem, keySeen: Bool) -> String {
        if item.failed { return render("status", left: side == .left ? [item] : [], right: side == .right ? [item] : [], fields: []) }
        return "unmatched \(side.rawValue) \(item.ref)\(keySeen ? " (key seen)" : "")"
    }

    func render(_ what: String, left: [ReconItem], right: [ReconItem], fields: [Field]) -> String {
        MatcherTests.render(what, left: left.map(\.ref), right: right.map(\.ref),
                            fields: fields.map { MatcherTests.render(field: $0.name, $0.left, $0.right, delta: $0.delta, holds: $0.holds, exact: $0.exact) })
    }
}
