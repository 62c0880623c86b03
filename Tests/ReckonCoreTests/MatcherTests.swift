import PropertyBased
import ReckonCore
import Testing

@Suite("Reconciliation: the matcher")
struct MatcherTests {
    // MARK: Rendering outcomes, for exact comparisons

    static func render(_ what: String, left: [String], right: [String], fields: [String]) -> String {
        "\(what) [\(left.joined(separator: " "))] [\(right.joined(separator: " "))]" + (fields.isEmpty ? "" : " " + fields.joined(separator: ", "))
    }

    static func render(field name: String, _ left: ReconValue?, _ right: ReconValue?, delta: Int64?, holds: Bool, exact: Bool) -> String {
        func text(_ value: ReconValue?) -> String {
            switch value {
            case .amount(let minor)?: return String(minor)
            case .text(let text)?: return "'\(text)'"
            case .date(let date)?: return date.description
            case nil: return "-"
            }
        }
        return "\(name) \(text(left))→\(text(right))" + (delta.map { " Δ\($0)" } ?? "") + (exact ? "" : holds ? " within" : " off")
    }

    static func render(_ outcome: ReconOutcome) -> String {
        func fields(_ fields: [FieldComparison]) -> [String] {
            fields.map { render(field: $0.name, $0.left, $0.right, delta: $0.delta, holds: $0.holds, exact: $0.exact) }
        }
        switch outcome {
        case .matched(let left, let right, let compared):
            return render("matched", left: left.map(\.ref), right: right.map(\.ref), fields: fields(compared))
        case .broken(let kind, let left, let right, let compared):
            return render(kind.rawValue, left: left.map(\.ref), right: right.map(\.ref), fields: fields(compared))
        case .unmatched(let side, let item, let keySeen):
            return "unmatched \(side.rawValue) \(item.ref)" + (keySeen ? " (key seen)" : "")
        }
    }

    // MARK: Building rules and items

    static let repayments = ReconSource(origin: .events(.repayment, partner: "platform", fileType: "repayments"))
    static let bill = ReconSource(origin: .events(.channelBillLine, partner: "channel", fileType: "bills"))

    static func amountField(_ name: String = "amount", _ tolerance: Tolerance = Tolerance()) -> ComparedField {
        ComparedField(name: name, fields: FieldPair(left: FieldRef(name), right: FieldRef(name)), kind: .amount, tolerance: tolerance)
    }

    static func textField(_ name: String = "status") -> ComparedField {
        ComparedField(name: name, fields: FieldPair(left: FieldRef(name), right: FieldRef(name)), kind: .text)
    }

    static func dateField(_ name: String = "day", windowDays: Int) -> ComparedField {
        ComparedField(name: name, fields: FieldPair(left: FieldRef(name), right: FieldRef(name)), kind: .date, windowDays: windowDays)
    }

    static func rule(_ compared: [ComparedField], left: ReconSource = repayments, right: ReconSource = bill) -> ReconRule {
        ReconRule(name: "bill", partner: "channel", kind: .match(left: left, right: right),
                  key: [FieldPair(left: FieldRef("reference"), right: FieldRef("reference"))], compared: compared)
    }

    static func item(_ ref: String, key: String = "K", _ values: [ReconValue?], failed: Bool = false) -> ReconItem {
        let amount = values.lazy.compactMap { value -> Int64? in if case .amount(let minor)? = value { return minor } else { return nil } }.first
        return ReconItem(ref: ref, key: Array(key.utf8), day: day("2024-12-16"), values: values, amountMinor: amount ?? 0, failed: failed)
    }

    /// Monday to Friday.
    static let weekdays: @Sendable (CivilDate, CivilDate) -> Int = { workingDays($0, $1, off: []) }

    /// Working days after `from` up to `to` (negative when `to` is earlier): Monday to Friday
    /// except the days off.
    static func workingDays(_ from: CivilDate, _ to: CivilDate, off: Set<CivilDate>) -> Int {
        if to < from { return -workingDays(to, from, off: off) }
        return (from.dayNumber..<to.dayNumber).filter { number in
            let day = CivilDate(dayNumber: number + 1)!
            return day.isoWeekday <= 5 && !off.contains(day)
        }.count
    }

    /// One key group under a rule, rendered and sorted.
    static func match(_ rule: ReconRule, _ left: [ReconItem], _ right: [ReconItem],
                      workingDays: @escaping @Sendable (CivilDate, CivilDate) -> Int = weekdays) -> [String] {
        Matcher(rule: rule, workingDays: workingDays).match(left: left, right: right).map(render).sorted()
    }

    // MARK: Tolerances at their edges

    @Test func aToleranceInMinorUnitsOnly() {
        let five = Tolerance(minor: 5)
        #expect(five.allowance(100, 1_000_000) == 5)
        #expect(five.holds(100, 105) && five.holds(105, 100))
        #expect(!five.holds(100, 106) && !five.holds(106, 100))
        #expect(five.holds(-100, -105) && !five.holds(-100, -106))
        #expect(five.holds(-2, 3) && !five.holds(-3, 3))
        // None: equal to the cent.
        #expect(Tolerance().allowance(100, 200) == 0)
        #expect(Tolerance().holds(-7, -7) && !Tolerance().holds(100, 101))
    }

    @Test func basisPointsAreOfTheLargerMagnitudeRoundedDown() {
        let quarter = Tolerance(basisPoints: 25)  // 0.25%
        #expect(quarter.allowance(1_000_000, 997_500) == 2_500)
        #expect(quarter.holds(1_000_000, 997_500) && !quarter.holds(1_000_000, 997_499))
        // 0.25% of 103.99 is 0.259975: 0.25.
        #expect(quarter.allowance(10_399, 10_374) == 25)
        #expect(quarter.holds(10_399, 10_374) && quarter.holds(10_374, 10_399) && !quarter.holds(10_399, 10_373))
        // Of the larger: 10% of 100.00 (10.00), not of 90.00 (9.00); either order.
        let tenth = Tolerance(basisPoints: 1_000)
        #expect(tenth.holds(9_000, 10_000) && tenth.holds(10_000, 9_000) && !tenth.holds(8_999, 10_000))
        #expect(tenth.holds(-9_000, -10_000) && !tenth.holds(-10_000, -8_999))
        // Across zero: 100% of 40.00 is 40.00; -40.00 and 40.00 are 80.00 apart.
        let whole = Tolerance(basisPoints: 10_000)
        #expect(whole.holds(0, 4_000) && whole.holds(-4_000, 0) && !whole.holds(-4_000, 4_000) && !whole.holds(-1, 4_000))
    }

    @Test func bothAllowancesWithMaxOrMin() {
        let looser = Tolerance(minor: 10, basisPoints: 100, combine: .max)  // 0.10, or 1%
        #expect(looser.allowance(5_000, 5_000) == 50)
        #expect(looser.holds(5_000, 5_050) && !looser.holds(5_000, 5_051))
        #expect(looser.allowance(500, 500) == 10)
        #expect(looser.holds(500, 510) && !looser.holds(500, 511))
        let stricter = Tolerance(minor: 10, basisPoints: 100, combine: .min)
        #expect(stricter.allowance(5_000, 5_000) == 10)
        #expect(stricter.holds(5_000, 5_010) && !stricter.holds(5_000, 5_011))
        #expect(stricter.allowance(500, 500) == 5)
        #expect(stricter.holds(500, 505) && !stricter.holds(500, 506))
    }

    /// Found here: basis points of amounts past 1.8 × 10^15 minor units were taken as
    /// (amount / 10,000) × points, rounding twice and allowing up to points − 1 units less;
    /// 100% of Int64.min's magnitude (2^63) was clamped below itself; a negative allowance
    /// (which only code can give) trapped.
    @Test func hugeAmountsNeitherOverflowNorRoundTwice() {
        let three = Tolerance(basisPoints: 3)
        // 9,223,372,036,854,775,807 × 3 / 10,000 = 2,767,011,611,056,432.7421…
        #expect(three.allowance(.max, .max) == 2_767_011_611_056_432)
        #expect(three.holds(.max, .max - 2_767_011_611_056_432) && !three.holds(.max, .max - 2_767_011_611_056_433))
        #expect(three.holds(.min + 2_767_011_611_056_432, .min))
        // The whole range is 2^64 − 1 apart: more than any allowance.
        #expect(!Tolerance(minor: .max).holds(.min, .max) && !Tolerance(basisPoints: 10_000).holds(.min, .max))
        #expect(Tolerance(minor: .max).holds(0, .max) && !Tolerance(minor: .max).holds(-1, .max))
        // 100% of 2^63 is 2^63: Int64.min and 0 agree (the allowance reads clamped).
        #expect(Tolerance(basisPoints: 10_000).holds(.min, 0))
        #expect(Tolerance(basisPoints: 10_000).allowance(.min, 0) == .max)
        #expect(Tolerance(minor: -1).holds(7, 7) && !Tolerance(minor: -1, basisPoints: -5).holds(7, 8))
        // The matcher: a delta that does not fit is absent, and such a pair is an amount break.
        let rule = Self.rule([Self.amountField()])
        #expect(Self.match(rule, [Self.item("L", [.amount(.min)])], [Self.item("R", [.amount(.max)])])
                == ["amount [L] [R] amount -9223372036854775808→9223372036854775807 off"])
    }

    // MARK: Date windows

    @Test func dateWindowsCountWorkingDaysOfTheRulesCalendar() {
        // 2025-01-01 is a holiday: Thursday 2025-01-02 is one working day after Tuesday 2024-12-31.
        let calendar: @Sendable (CivilDate, CivilDate) -> Int = { MatcherTests.workingDays($0, $1, off: [day("2025-01-01")]) }
        func pair(_ left: String, _ right: String, windowDays: Int) -> [String] {
            Self.match(Self.rule([Self.amountField(), Self.dateField(windowDays: windowDays)]),
                       [Self.item("L", [.amount(100), .date(day(left))])], [Self.item("R", [.amount(100), .date(day(right))])],
                       workingDays: calendar)
        }
        #expect(pair("2024-12-31", "2025-01-02", windowDays: 1) == ["matched [L] [R] amount 100→100 Δ0, day 2024-12-31→2025-01-02 Δ1 within"])
        #expect(pair("2025-01-02", "2024-12-31", windowDays: 1) == ["matched [L] [R] amount 100→100 Δ0, day 2025-01-02→2024-12-31 Δ-1 within"])
        #expect(pair("2024-12-31", "2025-01-03", windowDays: 1) == ["date [L] [R] amount 100→100 Δ0, day 2024-12-31→2025-01-03 Δ2 off"])
        #expect(pair("2025-01-03", "2024-12-31", windowDays: 1) == ["date [L] [R] amount 100→100 Δ0, day 2025-01-03→2024-12-31 Δ-2 off"])
        #expect(pair("2024-12-31", "2025-01-03", windowDays: 2) == ["matched [L] [R] amount 100→100 Δ0, day 2024-12-31→2025-01-03 Δ2 within"])
        // Friday to Monday is one working day; Saturday to Sunday none (not exact, yet in a window of 0).
        #expect(pair("2024-12-27", "2024-12-30", windowDays: 0) == ["date [L] [R] amount 100→100 Δ0, day 2024-12-27→2024-12-30 Δ1 off"])
        #expect(pair("2024-12-28", "2024-12-29", windowDays: 0) == ["matched [L] [R] amount 100→100 Δ0, day 2024-12-28→2024-12-29 Δ0 within"])
        #expect(pair("2024-12-30", "2024-12-30", windowDays: 0) == ["matched [L] [R] amount 100→100 Δ0, day 2024-12-30→2024-12-30 Δ0"])
    }

    // MARK: Each break kind

    @Test func aPairThatDisagreesBreaksOnStatusThenAmountThenDate() {
        let rule = Self.rule([Self.dateField(windowDays: 0), Self.amountField("amount", Tolerance(minor: 1)), Self.textField()])
        let left = [Self.item("L", [.date(day("2024-12-16")), .amount(10_000), .text("S")])]
        func against(_ date: String, _ amount: Int64, _ status: String?) -> [String] {
            Self.match(rule, left, [Self.item("R", [.date(day(date)), .amount(amount), status.map { .text($0) }])])
        }
        #expect(against("2024-12-16", 10_001, "S") == ["matched [L] [R] day 2024-12-16→2024-12-16 Δ0, amount 10000→10001 Δ1 within, status 'S'→'S'"])
        #expect(against("2024-12-16", 10_002, "S") == ["amount [L] [R] day 2024-12-16→2024-12-16 Δ0, amount 10000→10002 Δ2 off, status 'S'→'S'"])
        #expect(against("2024-12-17", 10_000, "S") == ["date [L] [R] day 2024-12-16→2024-12-17 Δ1 off, amount 10000→10000 Δ0, status 'S'→'S'"])
        #expect(against("2024-12-17", 9_990, "S") == ["amount [L] [R] day 2024-12-16→2024-12-17 Δ1 off, amount 10000→9990 Δ-10 off, status 'S'→'S'"])
        #expect(against("2024-12-17", 9_990, "F") == ["status [L] [R] day 2024-12-16→2024-12-17 Δ1 off, amount 10000→9990 Δ-10 off, status 'S'→'F' off"])
        // A value one side lacks is not compared.
        #expect(against("2024-12-16", 10_000, nil) == ["matched [L] [R] day 2024-12-16→2024-12-16 Δ0, amount 10000→10000 Δ0, status 'S'→-"])
    }

    @Test func ourPlanLinesAndAllocationsBreakAsTheirOwnKinds() {
        let fields = [Self.amountField("interest"), Self.textField()]
        let left = [Self.item("L", [.amount(3_000), .text("due")])], right = [Self.item("R", [.amount(3_001), .text("due")])]
        let planned = Self.rule(fields, left: Self.repayments, right: ReconSource(origin: .planLines))
        #expect(Self.match(planned, left, right) == ["plan_mismatch [L] [R] interest 3000→3001 Δ1 off, status 'due'→'due'"])
        let allocated = Self.rule(fields, left: ReconSource(origin: .allocations), right: Self.repayments)
        #expect(Self.match(allocated, left, [Self.item("R", [.amount(3_000), .text("paid")])])
                == ["allocation_mismatch [L] [R] interest 3000→3000 Δ0, status 'due'→'paid' off"])
        #expect(Self.match(allocated, left, [Self.item("R", [.amount(3_000), .text("due")])])
                == ["matched [L] [R] interest 3000→3000 Δ0, status 'due'→'due'"])
    }

    @Test func missingFailedAndDuplicateItems() {
        let rule = Self.rule([Self.amountField(), Self.textField()])
        let paid = Self.item("L1", [.amount(100), .text("S")])
        // Missing: nothing with the key on the other side.
        #expect(Self.match(rule, [paid], []) == ["unmatched left L1"])
        #expect(Self.match(rule, [], [Self.item("R1", [.amount(100), .text("S")])]) == ["unmatched right R1"])
        // A failed attempt without a counterpart is a status break, not a missing item.
        let failed = Self.item("R9", [.amount(100), .text("F")], failed: true)
        #expect(Self.match(rule, [], [failed]) == ["status [] [R9]"])
        #expect(Self.match(rule, [paid], [Self.item("R1", [.amount(100), .text("S")]), failed])
                == ["matched [L1] [R1] amount 100→100 Δ0, status 'S'→'S'", "status [] [R9]"])
        // A repeat of a key whose counterpart is taken: key seen (the ledger calls it a duplicate).
        let again = Self.item("L2", [.amount(100), .text("S")]), third = Self.item("L3", [.amount(100), .text("S")])
        #expect(Self.match(rule, [paid, again, third], [Self.item("R1", [.amount(100), .text("S")]), Self.item("R2", [.amount(100), .text("S")])])
                == ["matched [L1] [R1] amount 100→100 Δ0, status 'S'→'S'", "matched [L2] [R2] amount 100→100 Δ0, status 'S'→'S'",
                    "unmatched left L3 (key seen)"])
    }

    @Test func whatIsLeftBreaksOneAgainstOneAndIsAmbiguousManyAgainstMany() {
        let rule = Self.rule([Self.amountField()])
        func items(_ prefix: String, _ amounts: [Int64]) -> [ReconItem] {
            amounts.enumerated().map { Self.item("\(prefix)\($0.offset + 1)", [.amount($0.element)]) }
        }
        #expect(Self.match(rule, items("L", [100, 100]), items("R", [100, 200]))
                == ["amount [L2] [R2] amount 100→200 Δ100 off", "matched [L1] [R1] amount 100→100 Δ0"])
        #expect(Self.match(rule, items("L", [100, 150]), items("R", [300, 400])) == ["ambiguous [L1 L2] [R1 R2]"])
        #expect(Self.match(rule, items("L", [100, 150, 100]), items("R", [100, 300])) == ["ambiguous [L2 L3] [R2]", "matched [L1] [R1] amount 100→100 Δ0"])
    }

    // MARK: Ambiguity and exclusivity

    @Test func twoEqualCandidatesAreRefused() {
        let cent = Self.rule([Self.amountField("amount", Tolerance(minor: 1))])
        #expect(Self.match(cent, [Self.item("L", [.amount(100)])], [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(99)])])
                == ["ambiguous [L] [R1 R2]"])
        #expect(Self.match(cent, [Self.item("L1", [.amount(101)]), Self.item("L2", [.amount(99)])], [Self.item("R", [.amount(100)])])
                == ["ambiguous [L1 L2] [R]"])
        // A day either side, a window of one: equal too.
        let dated = Self.rule([Self.amountField(), Self.dateField(windowDays: 1)])
        #expect(Self.match(dated, [Self.item("L", [.amount(100), .date(day("2024-12-17"))])],
                           [Self.item("R1", [.amount(100), .date(day("2024-12-18"))]), Self.item("R2", [.amount(100), .date(day("2024-12-16"))])])
                == ["ambiguous [L] [R1 R2]"])
        // Identical candidates are interchangeable, not ambiguous.
        #expect(Self.match(cent, [Self.item("L", [.amount(100)])], [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(101)])])
                == ["matched [L] [R1] amount 100→101 Δ1 within", "unmatched right R2 (key seen)"])
        // Chained equal candidates: one break, though an assignment pairing all four exists.
        #expect(Self.match(cent, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(102)])],
                           [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(103)])])
                == ["ambiguous [L1 L2] [R1 R2]"])
    }

    /// Found here: an item that could pair only with an item already in an ambiguous break
    /// was left over, and called a repeat of its key (a duplicate) or paired with a worse
    /// candidate, when its counterpart may be in that break.
    @Test func anItemThatWouldPairWithAnAmbiguousOneJoinsItsBreak() {
        let two = Self.rule([Self.amountField("amount", Tolerance(minor: 2))])
        // L1 and L2 are both a cent from R1; R2 is two cents from L2 alone.
        #expect(Self.match(two, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(102)])],
                           [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(104)])])
                == ["ambiguous [L1 L2] [R1 R2]"])
        // R2 is two cents from L1 (in the break) and three from L3: not paired with L3.
        let three = Self.rule([Self.amountField("amount", Tolerance(minor: 3))])
        #expect(Self.match(three, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(102)]), Self.item("L3", [.amount(95)])],
                           [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(98)])])
                == ["ambiguous [L1 L2 L3] [R1 R2]"])
        // A better pair is taken before the ambiguity can reach it.
        #expect(Self.match(three, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(102)]), Self.item("L3", [.amount(98)])],
                           [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(98)])])
                == ["ambiguous [L1 L2] [R1]", "matched [L3] [R2] amount 98→98 Δ0"])
    }

    @Test func eachItemMatchesOnceTheBestFirst() {
        let cent = Self.rule([Self.amountField("amount", Tolerance(minor: 1))])
        // L2 qualifies with R1 too, but each takes its exact counterpart.
        #expect(Self.match(cent, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(101)])],
                           [Self.item("R1", [.amount(100)]), Self.item("R2", [.amount(101)])])
                == ["matched [L1] [R1] amount 100→100 Δ0", "matched [L2] [R2] amount 101→101 Δ0"])
        // The exact one, listed second, wins; the other is left, its key seen.
        #expect(Self.match(cent, [Self.item("L", [.amount(100)])], [Self.item("R1", [.amount(101)]), Self.item("R2", [.amount(100)])])
                == ["matched [L] [R2] amount 100→100 Δ0", "unmatched right R1 (key seen)"])
        // A repeat pairs with what is left at a worse score.
        #expect(Self.match(cent, [Self.item("L1", [.amount(100)]), Self.item("L2", [.amount(100)])],
                           [Self.item("R1", [.amount(100)]), Self.item("R2", [.amount(101)])])
                == ["matched [L1] [R1] amount 100→100 Δ0", "matched [L2] [R2] amount 100→101 Δ1 within"])
        // The smaller difference first: 1 before 2, where both are in tolerance.
        let two = Self.rule([Self.amountField("amount", Tolerance(minor: 2))])
        #expect(Self.match(two, [Self.item("L", [.amount(100)])], [Self.item("R1", [.amount(102)]), Self.item("R2", [.amount(99)])])
                == ["matched [L] [R2] amount 100→99 Δ-1 within", "unmatched right R1 (key seen)"])
    }

    @Test func aKeyTooCommonIsOneAmbiguousBreak() throws {
        let rule = Self.rule([Self.amountField()])
        let many = (0...Matcher.maximumGroupItems).map { Self.item("L\($0)", [.amount(100)]) }
        let outcomes = Matcher(rule: rule, workingDays: Self.weekdays).match(left: many, right: [Self.item("R", [.amount(100)])])
        try #require(outcomes.count == 1)
        guard case .broken(.ambiguous, let left, let right, _) = outcomes[0] else { Issue.record("\(outcomes[0])"); return }
        #expect(left.count == 1_001 && right.map(\.ref) == ["R"])
    }

    // MARK: The sort-merge

    static func groups(_ left: [ReconItem], _ right: [ReconItem]) -> [String] {
        var groups = KeyGroups(left: left.makeIterator(), right: right.makeIterator())
        var found: [String] = []
        while let group = groups.next() {
            found.append((group.left + group.right).map(\.ref).joined(separator: " "))
        }
        return found
    }

    @Test func keyGroupsMergeTwoSortedStreams() {
        let left = [Self.item("l1", key: "A", []), Self.item("l2", key: "A", []), Self.item("l3", key: "C", []), Self.item("l4", key: "E", [])]
        let right = [Self.item("r1", key: "A", []), Self.item("r2", key: "B", []), Self.item("r3", key: "B", []),
                     Self.item("r4", key: "C", []), Self.item("r5", key: "D", [])]
        #expect(Self.groups(left, right) == ["l1 l2 r1", "r2 r3", "l3 r4", "r5", "l4"])
        #expect(Self.groups([], right) == ["r1", "r2 r3", "r4", "r5"])
        #expect(Self.groups(left, []) == ["l1 l2", "l3", "l4"])
        #expect(Self.groups([], []) == [])
    }

    @Test func keysComeInByteOrderAPrefixFirst() {
        // A key part that is a prefix of another sorts before it, and the separator U+001F
        // before every printable byte: loan 1 period 1, loan 1 period 10, loan 1 period 2, loan 10.
        let left = [Self.item("l1", key: "1\u{1F}1", []), Self.item("l2", key: "1\u{1F}10", []), Self.item("l3", key: "10", []),
                    Self.item("l4", key: "Z", [])]
        let right = [Self.item("r1", key: "1", []), Self.item("r2", key: "1\u{1F}10", []), Self.item("r3", key: "1\u{1F}2", []),
                     Self.item("r4", key: "10", []), Self.item("r5", key: "é", [])]
        #expect(Self.groups(left, right) == ["r1", "l1", "l2 r2", "r3", "l3 r4", "l4", "r5"])
    }

    // MARK: The property: the matcher equals the oracle

    /// Two random sides of 0–6 items over few keys (a key that is a prefix of another
    /// among them), drawn from a few shapes each so that identical items, ties, exact and
    /// near amounts are common; a random tolerance, status and date window. Every key group
    /// the sort-merge hands over equals the oracle's, the groups are the keys' items in
    /// order, every item is in exactly one outcome, and every matched pair agrees within its
    /// tolerance and window.
    @Test func reconcilingRandomSetsEqualsTheBruteForceOracle() async {
        await propertyCheck(count: 1000, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            let rule = Self.randomRule(&random)
            let (left, right) = Self.randomSides(rule: rule, &random)
            let matcher = Matcher(rule: rule, workingDays: Self.weekdays)
            let oracle = MatcherOracle(rule: rule, workingDays: Self.weekdays)

            let keys = Set(left.map(\.key) + right.map(\.key)).sorted { $0.lexicographicallyPrecedes($1) }
            var groups = KeyGroups(left: left.makeIterator(), right: right.makeIterator())
            var got: [String] = [], expected: [String] = [], seen: [String] = []
            for key in keys {
                let group = groups.next()
                let groupLeft = left.filter { $0.key == key }, groupRight = right.filter { $0.key == key }
                #expect(group?.left.map(\.ref) == groupLeft.map(\.ref) && group?.right.map(\.ref) == groupRight.map(\.ref),
                        "seed \(seed): the key \(key)'s group")
                let outcomes = matcher.match(left: groupLeft, right: groupRight)
                // The reconcile step's shortcut for one item against one decides as `match` does.
                if groupLeft.count == 1 && groupRight.count == 1 {
                    let matched = outcomes.count == 1 && { if case .matched = outcomes[0] { return true } else { return false } }()
                    #expect(matcher.agrees(groupLeft[0], groupRight[0]) == matched, "seed \(seed): agrees")
                }
                got += outcomes.map(Self.render)
                expected += oracle.outcomes(left: groupLeft, right: groupRight)
                for outcome in outcomes {
                    switch outcome {
                    case .matched(let l, let r, let fields):
                        seen += (l + r).map(\.ref)
                        #expect(l.count == 1 && r.count == 1 && fields.allSatisfy(\.holds), "seed \(seed)")
                        for (index, field) in rule.compared.enumerated() {
                            switch (l[0].values[index], r[0].values[index]) {
                            case (.amount(let a)?, .amount(let b)?):
                                #expect(MatcherOracle.holds(field.tolerance, a, b), "seed \(seed): \(field.name) \(a) \(b)")
                            case (.date(let a)?, .date(let b)?):
                                #expect(abs(Self.weekdays(a, b)) <= field.windowDays, "seed \(seed): \(field.name) \(a) \(b)")
                            case (let a?, let b?): #expect(a == b, "seed \(seed)")
                            default: break
                            }
                        }
                    case .broken(_, let l, let r, _): seen += (l + r).map(\.ref)
                    case .unmatched(_, let item, _): seen.append(item.ref)
                    }
                }
            }
            #expect(groups.next() == nil, "seed \(seed): no group after the last key")
            #expect(seen.sorted() == (left + right).map(\.ref).sorted(), "seed \(seed): every item in exactly one outcome")
            #expect(got.sorted() == expected.sorted(), "seed \(seed)")
        }
    }

    static func randomRule(_ random: inout SplitMix64) -> ReconRule {
        func tolerance() -> Tolerance {
            let minor = Int64(random.next() % 4), points = [50, 100, 150, 300][Int(random.next() % 4)] as Int64
            switch random.next() % 6 {
            case 0, 1: return Tolerance()
            case 2: return Tolerance(minor: minor)
            case 3: return Tolerance(basisPoints: points)
            case 4: return Tolerance(minor: minor, basisPoints: points, combine: .max)
            default: return Tolerance(minor: minor, basisPoints: points, combine: .min)
            }
        }
        var compared = [amountField("amount", tolerance())]
        if random.next() % 3 == 0 { compared.append(amountField("interest", tolerance())) }
        if random.next() % 3 != 0 { compared.append(textField("status")) }
        if random.next() % 2 == 0 { compared.append(dateField("day", windowDays: Int(random.next() % 3))) }
        compared.shuffle(using: &random)
        let ours = [ReconSource(origin: .planLines), ReconSource(origin: .allocations)]
        let left = random.next() % 6 == 0 ? ours[Int(random.next() % 2)] : repayments
        return rule(compared, left: left)
    }

    /// Both sides' items, drawn from three shapes they share: each item its shape or the
    /// shape with one value changed.
    static func randomSides(rule: ReconRule, _ random: inout SplitMix64) -> (left: [ReconItem], right: [ReconItem]) {
        let amounts: [Int64] = [100, 100, 101, 102, 103, 150, -100, -101, 0]
        let firstDay = day("2024-12-12")  // a Thursday: the days drawn span a weekend
        func value(_ field: ComparedField) -> ReconValue? {
            switch field.kind {
            case .amount: return .amount(amounts[Int(random.next() % UInt64(amounts.count))])
            case .date: return .date(firstDay.adding(days: Int(random.next() % 5))!)
            default: return random.next() % 8 == 0 ? nil : .text(random.next() % 6 == 0 ? "F" : "S")
            }
        }
        let shapes = (0..<3).map { _ in rule.compared.map(value) }
        let keys = ["A", "A\u{1F}1", "B"].prefix([1, 1, 1, 2, 2, 3][Int(random.next() % 6)])
        func side(_ prefix: String) -> [ReconItem] {
            let items = (0..<Int(random.next() % 7)).map { index -> ReconItem in
                var values = shapes[Int(random.next() % 3)]
                if random.next() % 3 == 0 {
                    let field = Int(random.next() % UInt64(values.count))
                    values[field] = value(rule.compared[field])
                }
                return item("\(prefix)\(index)", key: keys[Int(random.next() % UInt64(keys.count))], values,
                            failed: values.contains(.text("F")))
            }
            // In key order, as the ledger streams them; stable, so a key's items keep their order.
            return items.enumerated().sorted { a, b in
                a.element.key == b.element.key ? a.offset < b.offset : a.element.key.lexicographicallyPrecedes(b.element.key)
            }.map(\.element)
        }
        return (side("L"), side("R"))
    }
}
