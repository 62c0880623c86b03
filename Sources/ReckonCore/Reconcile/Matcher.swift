import Foundation

/// What a break is about (README, "Breaks").
public enum BreakKind: String, Sendable, CaseIterable, Codable {
    /// Their item has no counterpart on our side.
    case missingOurs = "missing_ours"
    /// Our item has no counterpart on theirs.
    case missingTheirs = "missing_theirs"
    case amount
    case date
    case status
    /// The key appears again on one side after its counterpart was taken.
    case duplicate
    /// Two or more candidates qualify equally: nothing is picked.
    case ambiguous
    /// Their plan line and ours differ.
    case planMismatch = "plan_mismatch"
    /// Their split of a repayment and where our plan step applied it differ.
    case allocationMismatch = "allocation_mismatch"
    case statementArithmetic = "statement_arithmetic"
    case statementContinuity = "statement_continuity"
    case balanceBelowWarning = "balance_below_warning"

    /// `missing on our side`: how a person reads it.
    public var label: String {
        switch self {
        case .missingOurs: return "missing on our side"
        case .missingTheirs: return "missing on theirs"
        case .amount: return "amount"
        case .date: return "date"
        case .status: return "status"
        case .duplicate: return "duplicate"
        case .ambiguous: return "ambiguous"
        case .planMismatch: return "plan mismatch"
        case .allocationMismatch: return "allocation mismatch"
        case .statementArithmetic: return "statement arithmetic"
        case .statementContinuity: return "statement continuity"
        case .balanceBelowWarning: return "balance below the warning line"
        }
    }
}

public enum ReconSide: String, Sendable, Codable {
    case left, right
}

/// A compared value.
public enum ReconValue: Sendable, Equatable, Hashable {
    case amount(Int64)
    case text(String)
    case date(CivilDate)
}

/// One item on one side of a rule (or, grouped, the sum of several with one key).
public struct ReconItem: Sendable, Equatable {
    /// The item's identity: `e123` (event 123), `p<loan>/<period>` (our plan line),
    /// `a<event>` (our allocation of a repayment).
    public var ref: String
    /// The match key's parts joined by U+001F (the order the sides are sorted in), inline.
    public var matchKey: ReconKey
    /// The business day the item belongs to: what its pending window and age count from.
    public var day: CivilDate
    /// Compared values by the rule's compared-field index; nil: absent (not compared), inline.
    public var compared: ReconValues
    /// The item's amount for reports: the first compared amount.
    public var amountMinor: Int64
    /// The items a grouped item sums (their refs); empty when the item stands alone.
    public var members: [String]
    /// True when the item satisfies the rule's failed-attempt condition.
    public var failed: Bool

    /// The match key's bytes.
    public var key: [UInt8] {
        get { matchKey.bytes }
        set { matchKey = ReconKey(newValue) }
    }

    /// Compared values by the rule's compared-field index; nil: absent (not compared).
    public var values: [ReconValue?] {
        get { Array(compared) }
        set { compared = ReconValues(newValue) }
    }

    public init(ref: String, key: [UInt8], day: CivilDate, values: [ReconValue?], amountMinor: Int64,
                members: [String]? = nil, failed: Bool = false) {
        self.init(ref: ref, key: ReconKey(key), day: day, values: ReconValues(values), amountMinor: amountMinor, members: members,
                  failed: failed)
    }

    public init(ref: String, key: ReconKey, day: CivilDate, values: ReconValues, amountMinor: Int64,
                members: [String]? = nil, failed: Bool = false) {
        self.ref = ref
        self.matchKey = key
        self.day = day
        self.compared = values
        self.amountMinor = amountMinor
        self.members = members ?? []
        self.failed = failed
    }

    /// The key as people read it: parts joined by ` / `, numbers without their padding.
    public var keyText: String { ReconItem.keyText(key) }

    public static func keyText(_ key: [UInt8]) -> String {
        key.split(separator: 0x1F, omittingEmptySubsequences: false).map { part -> String in
            let text = String(decoding: part, as: UTF8.self)
            // Numbers are keyed zero-padded to 20 places so that they sort as bytes.
            if text.utf8.count == 20, let number = Int64(text) { return String(number) }
            return text
        }.joined(separator: " / ")
    }
}

/// One compared field of a pair: both values and, for amounts, the signed delta (theirs −
/// ours, that is right − left, in minor units; dates: working days right − left).
public struct FieldComparison: Sendable, Equatable {
    public let name: String
    public let left: ReconValue?
    public let right: ReconValue?
    public let delta: Int64?
    /// Equal, or within the field's tolerance.
    public let holds: Bool
    public let exact: Bool

    public init(name: String, left: ReconValue?, right: ReconValue?, delta: Int64?, holds: Bool, exact: Bool) {
        self.name = name
        self.left = left
        self.right = right
        self.delta = delta
        self.holds = holds
        self.exact = exact
    }
}

/// What the matcher decided about part of a key group.
public enum ReconOutcome: Sendable, Equatable {
    /// Paired, every compared field within tolerance.
    case matched(left: [ReconItem], right: [ReconItem], fields: [FieldComparison])
    /// A break about the items given (one side may be empty).
    case broken(BreakKind, left: [ReconItem], right: [ReconItem], fields: [FieldComparison])
    /// No counterpart. `keySeen`: the key had items on the other side (all taken), so this
    /// one repeats it (a duplicate) rather than waiting for its counterpart.
    case unmatched(ReconSide, ReconItem, keySeen: Bool)
}

/// Pairs the items of one key group (every item on both sides with the same key) under a
/// rule. Pure: the ledger adapter streams both sides in key order and calls ``match`` once
/// per key, so memory is one key group whatever the size of the sets.
///
/// - Pairs qualify when every compared field agrees within its tolerance (and dates within
///   their window). The best-scoring pairs are taken first: exact before within tolerance,
///   then the smallest total difference.
/// - Each item matches at most once. When one item has two or more candidates of the same
///   best score that differ from each other, nothing is picked: all of them make an
///   `ambiguous` break. Candidates identical in every compared value are interchangeable:
///   they pair in order, and what is left over may still pair at a worse score, or else
///   repeats the key (`duplicate`).
/// - An item in an ambiguous break takes no partner but still competes at worse scores: an
///   item that would pair with it joins its break (it may be that item's counterpart), rather
///   than pairing with another or being called a duplicate.
/// - What is left pairs as a break only when exactly one item remains on each side (its kind
///   from the first field that disagrees: status, then amounts, then dates); more on both
///   sides is `ambiguous`; on one side only, `unmatched`.
public struct Matcher: Sendable {
    public let rule: ReconRule
    /// Working days from the first date to the second (negative when earlier), by the
    /// rule's calendar.
    public let workingDays: @Sendable (CivilDate, CivilDate) -> Int
    /// More items than this on one side of a key group make one `ambiguous` break: a key
    /// that common identifies nothing.
    public static let maximumGroupItems = 1_000

    /// Each compared field's tolerance and window, by index: what ``agrees(_:_:)`` reads for
    /// every pair (a ComparedField copied out for each pair retained its strings).
    private let allowances: [(tolerance: Tolerance, windowDays: Int)]

    public init(rule: ReconRule, workingDays: @escaping @Sendable (CivilDate, CivilDate) -> Int) {
        self.rule = rule
        self.workingDays = workingDays
        allowances = rule.compared.map { ($0.tolerance, $0.windowDays) }
    }

    /// The kind of a pair that disagrees.
    public var mismatchKind: (FieldComparison) -> BreakKind {
        let sources = rule.sources
        let planned = sources.map { $0.left.origin == .planLines || $0.right.origin == .planLines } ?? false
        let allocated = sources.map { $0.left.origin == .allocations || $0.right.origin == .allocations } ?? false
        return { field in
            if planned { return .planMismatch }
            if allocated { return .allocationMismatch }
            switch field.left ?? field.right {
            case .date?: return .date
            case .text?: return .status
            default: return .amount
            }
        }
    }

    public func compare(_ left: ReconItem, _ right: ReconItem) -> [FieldComparison] {
        // By index, reading only what a comparison needs: copying each ComparedField (its
        // strings) for every pair was most of the matcher's time over a million pairs.
        var comparisons: [FieldComparison] = []
        comparisons.reserveCapacity(rule.compared.count)
        for index in rule.compared.indices {
            comparisons.append(compare(index, left, right))
        }
        return comparisons
    }

    private func compare(_ index: Int, _ left: ReconItem, _ right: ReconItem) -> FieldComparison {
        let name = rule.compared[index].name
        let a = index < left.compared.count ? left.compared[index] : nil
        let b = index < right.compared.count ? right.compared[index] : nil
        guard let a, let b else {
            return FieldComparison(name: name, left: a, right: b, delta: nil, holds: true, exact: true)
        }
        switch (a, b) {
        case (.amount(let x), .amount(let y)):
            let (delta, overflow) = y.subtractingReportingOverflow(x)
            return FieldComparison(name: name, left: a, right: b, delta: overflow ? nil : delta,
                                   holds: rule.compared[index].tolerance.holds(x, y), exact: x == y)
        case (.date(let x), .date(let y)):
            let days = x == y ? 0 : workingDays(x, y)
            return FieldComparison(name: name, left: a, right: b, delta: Int64(days),
                                   holds: abs(days) <= rule.compared[index].windowDays, exact: x == y)
        default:
            return FieldComparison(name: name, left: a, right: b, delta: nil, holds: a == b, exact: a == b)
        }
    }

    /// A pair's score: nil when it does not qualify; lower is better.
    struct Score: Comparable, Hashable {
        let inexact: Int
        let amountDifference: UInt64
        let dayDifference: UInt64
        static func < (a: Score, b: Score) -> Bool {
            (a.inexact, a.amountDifference, a.dayDifference) < (b.inexact, b.amountDifference, b.dayDifference)
        }
    }

    func score(_ fields: [FieldComparison]) -> Score? {
        var amount: UInt64 = 0, days: UInt64 = 0, exact = true
        for field in fields {
            guard field.holds else { return nil }
            if !field.exact { exact = false }
            if case .date? = field.left { days &+= field.delta?.magnitude ?? 0 } else { amount &+= field.delta?.magnitude ?? 0 }
        }
        return Score(inexact: exact ? 0 : 1, amountDifference: amount, dayDifference: days)
    }

    /// True when a pair agrees on every compared field within its tolerance or window: what
    /// ``match`` decides for one item against one, without building its outcome (the hot
    /// path of a large reconciliation, where almost every pair agrees).
    public func agrees(_ left: ReconItem, _ right: ReconItem) -> Bool {
        withUnsafePointer(to: left) { left in withUnsafePointer(to: right) { right in agrees(left, right) } }
    }

    /// ``agrees(_:_:)`` of two items read in place.
    public func agrees(_ left: UnsafePointer<ReconItem>, _ right: UnsafePointer<ReconItem>) -> Bool {
        for index in allowances.indices {
            guard index < left.pointee.compared.count, index < right.pointee.compared.count,
                  let a = left.pointee.compared[index], let b = right.pointee.compared[index] else { continue }
            switch (a, b) {
            case (.amount(let x), .amount(let y)):
                if !allowances[index].tolerance.holds(x, y) { return false }
            case (.date(let x), .date(let y)):
                if x != y && abs(workingDays(x, y)) > allowances[index].windowDays { return false }
            default:
                if a != b { return false }
            }
        }
        return true
    }

    /// Matches one key group.
    public func match(left: [ReconItem], right: [ReconItem]) -> [ReconOutcome] {
        if left.count > Self.maximumGroupItems || right.count > Self.maximumGroupItems {
            return [.broken(.ambiguous, left: left, right: right, fields: [])]
        }
        if left.count == 1 && right.count == 1 {
            // The common case, without the bookkeeping.
            let fields = compare(left[0], right[0])
            if score(fields) != nil { return [.matched(left: left, right: right, fields: fields)] }
            return [pairBreak(left[0], right[0], fields)]
        }
        if left.isEmpty || right.isEmpty {
            return left.map { unmatched(.left, $0, keySeen: false) } + right.map { unmatched(.right, $0, keySeen: false) }
        }
        var group = KeyGroupMatch(matcher: self, left: left, right: right)
        // Taken in levels, best score first.
        while let best = group.bestScore() { group.take(level: best) }
        return group.outcomes()
    }

    func pairBreak(_ left: ReconItem, _ right: ReconItem, _ fields: [FieldComparison]) -> ReconOutcome {
        // Status first (the money did not move), then amounts, then dates.
        let failing = fields.filter { !$0.holds }
        let first = failing.first { if case .text? = $0.left { return true } else { return false } }
            ?? failing.first { if case .amount? = $0.left { return true } else { return false } }
            ?? failing.first
        let kind = first.map(mismatchKind) ?? .amount
        return .broken(kind, left: [left], right: [right], fields: fields)
    }

    func unmatched(_ side: ReconSide, _ item: ReconItem, keySeen: Bool) -> ReconOutcome {
        if item.failed {
            return .broken(.status, left: side == .left ? [item] : [], right: side == .right ? [item] : [], fields: [])
        }
        return .unmatched(side, item, keySeen: keySeen)
    }
}

/// One key group while its levels are taken, best score first.
private struct KeyGroupMatch {
    enum State: Equatable {
        case free, paired
        /// In an ambiguous break (the number of one of the breaks merged into it): it takes no
        /// partner, but still competes at worse scores, so that an item it could pair with
        /// joins its break instead of pairing elsewhere or being called a duplicate.
        case ambiguous(Int)
    }

    let matcher: Matcher
    let left: [ReconItem]
    let right: [ReconItem]
    let comparisons: [[[FieldComparison]]]
    let scores: [[Matcher.Score?]]
    var leftState: [State]
    var rightState: [State]
    var matched: [ReconOutcome] = []
    /// Ambiguous breaks merge when a level links them: each break's parent, a root its own.
    var breakParent: [Int] = []

    init(matcher: Matcher, left: [ReconItem], right: [ReconItem]) {
        self.matcher = matcher
        self.left = left
        self.right = right
        comparisons = left.map { l in right.map { r in matcher.compare(l, r) } }
        scores = comparisons.map { $0.map(matcher.score) }
        leftState = Array(repeating: .free, count: left.count)
        rightState = Array(repeating: .free, count: right.count)
    }

    /// A pair that may still be taken: neither item paired, at least one free.
    func inPlay(_ i: Int, _ j: Int) -> Bool {
        leftState[i] != .paired && rightState[j] != .paired && (leftState[i] == .free || rightState[j] == .free)
    }

    func bestScore() -> Matcher.Score? {
        var best: Matcher.Score?
        for i in left.indices where leftState[i] != .paired {
            for j in right.indices where inPlay(i, j) {
                if let s = scores[i][j], best.map({ s < $0 }) ?? true { best = s }
            }
        }
        return best
    }

    /// Takes the pairs at the best score, in components of the items they link: one pair, or
    /// interchangeable items, pair in order (the surplus waits for a worse score); anything
    /// else, or anything touching an ambiguous break, is (or joins) an ambiguous break.
    mutating func take(level best: Matcher.Score) {
        var visitedLeft = [Bool](repeating: false, count: left.count), visitedRight = [Bool](repeating: false, count: right.count)
        let starts = left.indices.map { (ReconSide.left, $0) } + right.indices.map { (ReconSide.right, $0) }
        for (side, start) in starts {
            guard (side == .left ? leftState[start] : rightState[start]) == .free,
                  !(side == .left ? visitedLeft[start] : visitedRight[start]) else { continue }
            var componentLeft: [Int] = [], componentRight: [Int] = []
            var queue = [(side, start)]
            if side == .left { visitedLeft[start] = true } else { visitedRight[start] = true }
            while let (side, index) = queue.popLast() {
                if side == .left {
                    componentLeft.append(index)
                    for j in right.indices where !visitedRight[j] && inPlay(index, j) && scores[index][j] == best {
                        visitedRight[j] = true
                        queue.append((.right, j))
                    }
                } else {
                    componentRight.append(index)
                    for i in left.indices where !visitedLeft[i] && inPlay(i, index) && scores[i][index] == best {
                        visitedLeft[i] = true
                        queue.append((.left, i))
                    }
                }
            }
            guard !componentLeft.isEmpty && !componentRight.isEmpty else { continue }  // no pair at this level
            componentLeft.sort()
            componentRight.sort()
            resolve(componentLeft, componentRight)
        }
    }

    private mutating func resolve(_ componentLeft: [Int], _ componentRight: [Int]) {
        let breaks = componentLeft.compactMap { Self.breakNumber(leftState[$0]) } + componentRight.compactMap { Self.breakNumber(rightState[$0]) }
        let interchangeable = Set(componentLeft.map { left[$0].compared }).count == 1 && Set(componentRight.map { right[$0].compared }).count == 1
        if breaks.isEmpty && interchangeable {
            for (i, j) in zip(componentLeft, componentRight) {
                matched.append(.matched(left: [left[i]], right: [right[j]], fields: comparisons[i][j]))
                leftState[i] = .paired
                rightState[j] = .paired
            }
            return
        }
        let number = breaks.isEmpty ? newBreak() : merge(breaks)
        for i in componentLeft where leftState[i] == .free { leftState[i] = .ambiguous(number) }
        for j in componentRight where rightState[j] == .free { rightState[j] = .ambiguous(number) }
    }

    private static func breakNumber(_ state: State) -> Int? {
        if case .ambiguous(let number) = state { return number }
        return nil
    }

    private mutating func newBreak() -> Int {
        breakParent.append(breakParent.count)
        return breakParent.count - 1
    }

    private func root(_ number: Int) -> Int {
        var number = number
        while breakParent[number] != number { number = breakParent[number] }
        return number
    }

    private mutating func merge(_ numbers: [Int]) -> Int {
        let roots = numbers.map(root)
        let first = roots.min()!
        for other in roots { breakParent[other] = first }
        return first
    }

    /// The pairs, the ambiguous breaks (in the order they began), and what is left: one item
    /// a side is a break, more on both sides ambiguous, one side only unmatched (the key was
    /// seen: its other side's items are all taken).
    func outcomes() -> [ReconOutcome] {
        var outcomes = matched
        var ambiguous: [Int: (left: [ReconItem], right: [ReconItem])] = [:]
        for i in left.indices { if let number = Self.breakNumber(leftState[i]) { ambiguous[root(number), default: ([], [])].left.append(left[i]) } }
        for j in right.indices { if let number = Self.breakNumber(rightState[j]) { ambiguous[root(number), default: ([], [])].right.append(right[j]) } }
        for number in ambiguous.keys.sorted() {
            outcomes.append(.broken(.ambiguous, left: ambiguous[number]!.left, right: ambiguous[number]!.right, fields: []))
        }
        let restLeft = left.indices.filter { leftState[$0] == .free }, restRight = right.indices.filter { rightState[$0] == .free }
        if restLeft.count == 1 && restRight.count == 1 {
            let (i, j) = (restLeft[0], restRight[0])
            outcomes.append(matcher.pairBreak(left[i], right[j], comparisons[i][j]))
        } else if !restLeft.isEmpty && !restRight.isEmpty {
            outcomes.append(.broken(.ambiguous, left: restLeft.map { left[$0] }, right: restRight.map { right[$0] }, fields: []))
        } else {
            outcomes += restLeft.map { matcher.unmatched(.left, left[$0], keySeen: true) }
            outcomes += restRight.map { matcher.unmatched(.right, right[$0], keySeen: true) }
        }
        return outcomes
    }
}

/// Walks two sequences sorted by key (byte order) and hands over each key's items from both
/// sides: a sort-merge join, in the memory of one key group.
public struct KeyGroups<Left: IteratorProtocol, Right: IteratorProtocol>: IteratorProtocol
where Left.Element == ReconItem, Right.Element == ReconItem {
    private var left: Left
    private var right: Right
    private var nextLeft: ReconItem?
    private var nextRight: ReconItem?
    /// Keys must come in order: one out of order would break every pairing after it.
    private var lastKey: ReconKey?
    /// The group handed out last, its arrays' storage reused for the next (most keys are one
    /// item a side: two allocations a key less).
    private var group: (left: [ReconItem], right: [ReconItem]) = ([], [])

    public init(left: Left, right: Right) {
        self.left = left
        self.right = right
        nextLeft = self.left.next()
        nextRight = self.right.next()
    }

    /// Byte order, as SQLite's BINARY collation sorts text (memcmp, then the shorter first).
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool { ReconKey(a).precedes(ReconKey(b)) }

    public mutating func next() -> (left: [ReconItem], right: [ReconItem])? {
        let key: ReconKey
        // The keys alone are looked at (an item's copy would retain its strings).
        switch (nextLeft?.matchKey, nextRight?.matchKey) {
        case (nil, nil): return nil
        case (let l?, nil): key = l
        case (nil, let r?): key = r
        case (let l?, let r?): key = l.precedes(r) ? l : r
        }
        if let lastKey { precondition(lastKey.precedes(key), "reconciliation items out of key order") }
        lastKey = key
        group.left.removeAll(keepingCapacity: true)
        group.right.removeAll(keepingCapacity: true)
        // Items move from the lookahead into the group (no copy, so no retain and release).
        while nextLeft?.matchKey == key {
            group.left.append(nextLeft.take()!)
            nextLeft = left.next()
        }
        while nextRight?.matchKey == key {
            group.right.append(nextRight.take()!)
            nextRight = right.next()
        }
        return group
    }
}
