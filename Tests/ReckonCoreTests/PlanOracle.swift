import Foundation
import ReckonCore

/// Exact non-negative integers of any size, for checking the plan engine's arithmetic by a
/// different route than the engine's own (which divides 256-bit integers): here nothing is
/// ever divided — a rounded quotient is checked by multiplying it back.
struct BigNat: Comparable, Sendable {
    /// Base 2^32, least significant first, no leading zero limbs.
    private(set) var limbs: [UInt32] = []

    init(_ value: UInt64) {
        var rest = value
        while rest > 0 {
            limbs.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        }
    }

    init(_ value: Int64) {
        precondition(value >= 0)
        self.init(UInt64(value))
    }

    init(_ value: Int) { self.init(Int64(value)) }

    /// Decimal digits, any length.
    init(digits: some StringProtocol) {
        self.init(UInt64(0))
        for digit in digits {
            self = self * BigNat(UInt64(10)) + BigNat(UInt64(digit.wholeNumberValue!))
        }
    }

    /// 2^bits.
    static func power2(_ bits: Int) -> BigNat {
        var value = BigNat(UInt64(0))
        value.limbs = Array(repeating: 0, count: bits / 32) + [UInt32(1) << UInt32(bits % 32)]
        return value
    }

    var isZero: Bool { limbs.isEmpty }

    static func + (a: BigNat, b: BigNat) -> BigNat {
        var result = BigNat(UInt64(0))
        var carry: UInt64 = 0
        for index in 0..<max(a.limbs.count, b.limbs.count) {
            let sum = UInt64(index < a.limbs.count ? a.limbs[index] : 0) + UInt64(index < b.limbs.count ? b.limbs[index] : 0) + carry
            result.limbs.append(UInt32(truncatingIfNeeded: sum))
            carry = sum >> 32
        }
        if carry > 0 { result.limbs.append(UInt32(carry)) }
        return result
    }

    static func * (a: BigNat, b: BigNat) -> BigNat {
        guard !a.isZero, !b.isZero else { return BigNat(UInt64(0)) }
        var product = [UInt32](repeating: 0, count: a.limbs.count + b.limbs.count)
        for (i, x) in a.limbs.enumerated() {
            var carry: UInt64 = 0
            for (j, y) in b.limbs.enumerated() {
                let t = UInt64(x) * UInt64(y) + UInt64(product[i + j]) + carry
                product[i + j] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
            }
            var k = i + b.limbs.count
            while carry > 0 {
                let t = UInt64(product[k]) + carry
                product[k] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
                k += 1
            }
        }
        while product.last == 0 { product.removeLast() }
        var result = BigNat(UInt64(0))
        result.limbs = product
        return result
    }

    static func < (a: BigNat, b: BigNat) -> Bool {
        if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count }
        for index in stride(from: a.limbs.count - 1, through: 0, by: -1) where a.limbs[index] != b.limbs[index] {
            return a.limbs[index] < b.limbs[index]
        }
        return false
    }
}

/// An exact non-negative ratio of big integers.
struct ExactRatio {
    var numerator: BigNat
    var denominator: BigNat

    /// A rate as written out by `Decimal`'s description: digits with at most one point.
    init(rate: Decimal) {
        let text = "\(rate)"
        precondition(!text.contains("e") && !text.contains("E") && !text.hasPrefix("-"), "unexpected rate text \(text)")
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let decimals = parts.count == 2 ? parts[1].count : 0
        numerator = BigNat(digits: parts.joined())
        denominator = BigNat(digits: "1" + String(repeating: "0", count: decimals))
    }

    init(_ numerator: BigNat, over denominator: BigNat) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// base × rate × (months/12 + days/yearDays), exactly; nil when that is negative.
    static func interest(base: Int64, rate: Decimal, months: Int, days: Int, yearDays: Int) -> ExactRatio? {
        let twelfths = months * yearDays + 12 * days
        guard twelfths >= 0 else { return nil }
        let rate = ExactRatio(rate: rate)
        return ExactRatio(BigNat(base) * rate.numerator * BigNat(twelfths), over: rate.denominator * BigNat(12 * yearDays))
    }

    /// Whether `value` is this ratio rounded to a whole number by `rule`, checked by
    /// multiplying: N/D rounds half-up to q exactly when D(2q − 1) ≤ 2N < D(2q + 1).
    func rounds(to value: Int64, _ rule: RoundingRule) -> Bool {
        guard value >= 0 else { return false }
        let twice = numerator + numerator
        // 2q ± 1 fits in 64 unsigned bits for any non-negative Int64 q.
        let above = denominator * BigNat(UInt64(value) * 2 + 1)
        if value == 0 {
            return rule == .halfUp ? twice < above : !(above < twice)
        }
        let below = denominator * BigNat(UInt64(value) * 2 - 1)
        switch rule {
        case .halfUp:
            return !(twice < below) && twice < above
        case .halfEven:
            guard !(twice < below), !(above < twice) else { return false }
            // A tie goes to the even neighbour.
            if twice == below || twice == above { return value % 2 == 0 }
            return true
        }
    }
}

/// A plan checked against the README's rules, re-derived here from the terms and the plan's
/// dates: each period's days and interest (exactly, by `ExactRatio`), its principal by the
/// method's rule, the installment against the exact annuity of the periods as they are
/// (`Decimal`, computed as a discount sum where the engine multiplies forward), and no line
/// with nothing due. Returns what does not hold.
enum PlanOracle {
    /// The months at annual/12 and days at the daily rate a period earns, and its days column.
    struct Accrual {
        var months: Int
        var days: Int
        var window: Int
    }

    static func accruals(_ terms: PlanTerms, _ lines: [PlanLine]) -> [Accrual] {
        let start = terms.startDate
        let accrue = terms.nonWorkingDueDate == .nextWorkingDay(accrueExtraDays: true)
        let monthly = terms.dayCount.periodInterest == .monthly && terms.termUnit == .months
        return lines.indices.map { index in
            let line = lines[index]
            let previousScheduled = index == 0 ? start : lines[index - 1].scheduledDate
            let from = index == 0 ? start : accrue ? lines[index - 1].dueDate : previousScheduled
            let to = accrue ? line.dueDate : line.scheduledDate
            let window = from.days(to: to)
            if monthly && terms.method == .bullet {
                var months = 0
                while start.addingMonths(months + 1)! <= line.scheduledDate { months += 1 }
                return Accrual(months: months, days: start.addingMonths(months)!.days(to: to), window: window)
            }
            if monthly && (index > 0 || line.scheduledDate == start.addingMonths(1)) {
                return Accrual(months: 1, days: window - previousScheduled.days(to: line.scheduledDate), window: window)
            }
            return Accrual(months: 0, days: window, window: window)
        }
    }

    static func problems(_ plan: RepaymentPlan) -> [String] {
        let terms = plan.terms, lines = plan.lines
        let n = lines.count, principal = terms.principalMinor
        var problems: [String] = []
        func check(_ holds: Bool, _ what: @autoclosure () -> String) { if !holds { problems.append(what()) } }

        // Dates: the anchor day of each month, moved to a working day when the product says so.
        let expectedCount = terms.method == .bullet ? 1 : terms.term
        check(n == expectedCount, "\(n) lines, not \(expectedCount)")
        // A plan without lines is a problem, not a trap that would end the property test's run.
        guard let lastLine = lines.last else { return problems }
        if terms.method != .bullet && terms.firstDueDate == nil {
            let anchor = terms.dueDay ?? terms.startDate.day
            for line in lines {
                let scheduled = CivilDate.anchored(day: anchor, monthsAfter: line.period, year: terms.startDate.year, month: terms.startDate.month)
                check(line.scheduledDate == scheduled, "period \(line.period) scheduled \(line.scheduledDate), not \(String(describing: scheduled))")
            }
        }
        for line in lines {
            let due = terms.nonWorkingDueDate == .keep ? line.scheduledDate : terms.calendar!.workingDay(onOrAfter: line.scheduledDate)
            check(line.dueDate == due, "period \(line.period) due \(line.dueDate), not \(due)")
        }

        // Days and interest.
        let accruals = accruals(terms, lines)
        let accrue = terms.nonWorkingDueDate == .nextWorkingDay(accrueExtraDays: true)
        let end = accrue ? lastLine.dueDate : lastLine.scheduledDate
        check(lines.map(\.days) == accruals.map(\.window), "days \(lines.map(\.days)), not \(accruals.map(\.window))")
        check(lines.reduce(0) { $0 + $1.days } == terms.startDate.days(to: end), "the days do not add up to the span")
        var balance = principal
        for (line, accrual) in zip(lines, accruals) {
            let base = terms.method == .flat ? principal : balance
            let exact = ExactRatio.interest(base: base, rate: line.annualRate, months: accrual.months, days: accrual.days,
                                            yearDays: terms.dayCount.yearDays)
            check(exact.map { $0.rounds(to: line.interestMinor, terms.rounding) } ?? (line.interestMinor == 0),
                  "period \(line.period): interest \(line.interestMinor) on \(base) for \(accrual.months) months \(accrual.days) days")
            check(line.principalMinor >= 0 && line.balanceMinor == balance - line.principalMinor, "period \(line.period): balance")
            check(line.totalMinor > 0, "period \(line.period) has nothing due")
            balance = line.balanceMinor
        }
        check(balance == 0, "the last balance is \(balance)")

        // Principal by method.
        let parts = lines.map(\.principalMinor)
        switch terms.method {
        case .interestOnly, .bullet:
            check(parts.dropLast().allSatisfy { $0 == 0 } && parts.last == principal, "principal \(parts)")
        case .equalPrincipal, .flat:
            // principal/n rounded by the contract's rule; rounded down only when that would
            // leave the last period nothing; every part within a cent of principal/n.
            let part = parts[0]
            let rounded = ExactRatio(BigNat(principal), over: BigNat(n)).rounds(to: part, terms.rounding)
            let floor = Int64(n) * part <= principal && principal < Int64(n) * (part + 1)
            check(n == 1 || rounded || (floor && (part + 1) * Int64(n - 1) >= principal), "part \(part) of \(principal)/\(n)")
            check(parts.dropLast().allSatisfy { $0 == part }, "unequal parts \(parts)")
            check(n == 1 || lastLine.principalMinor > 0, "the last part is \(lastLine.principalMinor)")
        case .equalInstallment:
            problems += installmentProblems(plan, accruals)
        }
        return problems
    }

    /// The installment against the exact annuity of the plan's periods, E* = P / Σⱼ ∏ₖ≤ⱼ 1/fₖ,
    /// and the accumulation A = Σⱼ ∏ₖ>ⱼ fₖ (what a cent a period grows to): unless A is near
    /// the installment, or a period's interest may pass it (then the engine runs the periods
    /// to find it, or lowers it so as not to repay early), the installment is E* rounded
    /// (within half a cent) and the last payment is within A + 1 cents of it. Every period
    /// before the last pays the installment, or its interest alone when that is more.
    /// (Fixed-rate plans only.)
    static func installmentProblems(_ plan: RepaymentPlan, _ accruals: [Accrual]) -> [String] {
        let lines = plan.lines, terms = plan.terms
        guard let installment = plan.installmentMinor, let lastLine = lines.last else { return ["no installment"] }
        if lines.count == 1 {
            return installment == lines[0].principalMinor + lines[0].interestMinor ? [] : ["a one-period installment \(installment)"]
        }
        var problems: [String] = []
        let yearDays = Decimal(terms.dayCount.yearDays)
        let factors = accruals.map { 1 + plan.annualRate * (Decimal($0.months) / 12 + Decimal($0.days) / yearDays) }
        var discount = Decimal(1), presentValue = Decimal(0)
        for factor in factors {
            discount /= factor
            presentValue += discount
        }
        let exact = Decimal(terms.principalMinor) / presentValue
        var accumulation = Decimal(0)
        for factor in factors { accumulation = accumulation * factor + 1 }
        let largestInterest = (factors.max()! - 1) * Decimal(terms.principalMinor)
        let close = accumulation + 2 < exact && largestInterest + 1 < exact
        let e = Decimal(installment)
        if close {
            if abs(e - exact) > Decimal(string: "0.5000001")! { problems.append("installment \(installment), exact \(exact)") }
            let last = Decimal(lastLine.principalMinor + lastLine.interestMinor)
            if abs(last - e) > accumulation + 1 { problems.append("last payment \(last) against \(installment), accumulation \(accumulation)") }
        } else if e > exact + 2 {
            // Lowered so as not to repay early, or found by running the periods when one's
            // interest passes it (paying only interest there, the balance falls sooner): never
            // more than the cent or two the crossing can move by above the exact annuity.
            problems.append("installment \(installment) above the exact \(exact)")
        }
        for line in lines.dropLast() where line.principalMinor != max(installment - line.interestMinor, 0) {
            problems.append("period \(line.period) repays \(line.principalMinor) of installment \(installment)")
        }
        return problems
    }
}
