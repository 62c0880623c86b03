import Foundation

/// One period of a repayment plan. Amounts are minor units.
public struct PlanLine: Sendable, Hashable {
    public let period: Int
    /// Interest runs from here (the start date, or the previous period's due date).
    public let accrualStart: CivilDate
    /// The contract's due date: the anchor day in the period's month.
    public let scheduledDate: CivilDate
    /// When payment is due: the scheduled date, or the next working day when the product
    /// moves due dates off non-working days.
    public let dueDate: CivilDate
    /// The days interest was counted for.
    public let days: Int
    public let annualRate: Decimal
    public let principalMinor: Int64
    public let interestMinor: Int64
    /// The product's service fee for the period (0 for most products).
    public let feeMinor: Int64
    /// The balance left after this period's principal.
    public let balanceMinor: Int64

    public var totalMinor: Int64 { principalMinor + interestMinor + feeMinor }
}

/// What a borrower owes and when.
public struct RepaymentPlan: Sendable {
    public let terms: PlanTerms
    /// The contract's annual rate (at the start date).
    public let annualRate: Decimal
    /// The equal installment, for equal-installment plans (the first one, when repriced).
    public let installmentMinor: Int64?
    public let lines: [PlanLine]

    public var principalMinor: Int64 { lines.reduce(0) { $0 + $1.principalMinor } }
    public var interestMinor: Int64 { lines.reduce(0) { $0 + $1.interestMinor } }
    public var feeMinor: Int64 { lines.reduce(0) { $0 + $1.feeMinor } }
    public var totalMinor: Int64 { principalMinor + interestMinor + feeMinor }
    public var maturityDate: CivilDate { lines.last!.dueDate }
}

/// Terms a plan cannot be made from.
public struct PlanError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Makes repayment plans. Pure: the same terms always give the same plan.
///
/// Conventions (DESIGN.md "Repayment plans", SCHEDULES.md): the monthly rate is annual/12
/// and the daily rate annual/360 (or /365); every amount is rounded once per period; the
/// equal installment is P·r·(1+r)^n / ((1+r)^n − 1) rounded once; the last period takes the
/// remaining balance; due dates are the anchor day of each month counted from the start,
/// clamped to the month's end.
public enum PlanEngine {
    /// Limits: no consumer or mortgage product runs longer.
    public static let maximumTermMonths = 600
    public static let maximumTermDays = 3660

    public static func schedule(_ terms: PlanTerms) throws(PlanError) -> RepaymentPlan {
        guard terms.principalMinor > 0 else { throw PlanError("the principal must be positive") }
        switch terms.termUnit {
        case .months:
            guard (1...maximumTermMonths).contains(terms.term) else { throw PlanError("a term is 1 to \(maximumTermMonths) months, not \(terms.term)") }
        case .days:
            guard terms.method == .bullet else { throw PlanError("only bullet loans run for a number of days") }
            guard (1...maximumTermDays).contains(terms.term) else { throw PlanError("a term is 1 to \(maximumTermDays) days, not \(terms.term)") }
        }
        if let dueDay = terms.dueDay, !(1...31).contains(dueDay) { throw PlanError("a due day is 1 to 31, not \(dueDay)") }
        guard terms.feePerPeriodMinor >= 0 else { throw PlanError("a fee is never negative") }
        if let first = terms.firstDueDate, first <= terms.startDate {
            throw PlanError("the first due date \(first) is not after the start \(terms.startDate)")
        }

        let schedule = try dates(terms)
        let rates = try periodRates(terms, schedule)
        guard rates.allSatisfy({ $0 >= 0 && $0 < 10 }) else { throw PlanError("an annual rate must be between 0% and 1000%") }
        return build(terms, schedule, rates)
    }

    // MARK: Dates

    struct Period {
        let scheduled: CivilDate
        let due: CivilDate
        let accrualStart: CivilDate
        let accrualEnd: CivilDate
        /// A whole month (earns annual/12 under the monthly day count).
        let whole: Bool
    }

    static func dates(_ terms: PlanTerms) throws(PlanError) -> [Period] {
        let start = terms.startDate
        var scheduled: [CivilDate] = []
        switch (terms.method, terms.termUnit) {
        case (_, .days):
            scheduled = [start.adding(days: terms.term)!]
        case (.bullet, .months):
            guard let due = CivilDate.anchored(day: terms.dueDay ?? start.day, monthsAfter: terms.term, year: start.year, month: start.month) else {
                throw PlanError("the maturity date is out of range")
            }
            scheduled = [due]
        default:
            let base = terms.firstDueDate ?? start
            let anchor = terms.dueDay ?? base.day
            // Without a first due date, the first falls in the month after the start: on the
            // contract day, or on the product's due day (a broken first period).
            let offset = terms.firstDueDate == nil ? 1 : 0
            for index in 0..<terms.term {
                guard let due = CivilDate.anchored(day: anchor, monthsAfter: index + offset, year: base.year, month: base.month) else {
                    throw PlanError("a due date is out of range")
                }
                scheduled.append(due)
            }
        }
        guard scheduled.first! > start else { throw PlanError("the first due date is not after the start") }

        var accrueMovedDays = false
        var moved: (CivilDate) -> CivilDate = { $0 }
        if case .nextWorkingDay(let accrue) = terms.nonWorkingDueDate {
            guard let calendar = terms.calendar else { throw PlanError("moving due dates to working days needs a calendar") }
            moved = { calendar.workingDay(onOrAfter: $0) }
            accrueMovedDays = accrue
        }
        var periods: [Period] = []
        for (index, date) in scheduled.enumerated() {
            let previousScheduled = index == 0 ? start : scheduled[index - 1]
            let due = moved(date)
            // Whole months under the monthly day count; the first is whole when it ends one
            // month after the start.
            let whole = terms.termUnit == .months && terms.method != .bullet
                && (index > 0 || date == start.addingMonths(1))
            var accrualStart = previousScheduled
            if accrueMovedDays && terms.dayCount.periodInterest == .actualDays && index > 0 {
                accrualStart = periods[index - 1].accrualEnd
            }
            periods.append(Period(scheduled: date, due: due, accrualStart: accrualStart,
                                  accrualEnd: accrueMovedDays ? due : date, whole: whole))
        }
        return periods
    }

    // MARK: Rates

    /// The annual rate of each period. A repriced rate applies from the first period that
    /// starts on or after the repricing day (seed 004 §2.4: a payment on the repricing day
    /// itself still pays the old rate).
    static func periodRates(_ terms: PlanTerms, _ periods: [Period]) throws(PlanError) -> [Decimal] {
        guard let floating = terms.floating else { return periods.map { _ in terms.annualRate } }
        let start = terms.startDate
        guard let contractRate = floating.annualRate(on: start) else {
            throw PlanError("no \(floating.tenor) base rate was in effect on \(start)")
        }
        guard let rule = floating.repricing else { return periods.map { _ in contractRate } }
        let end = periods.last!.scheduled
        var repricingDays: [CivilDate] = []
        switch rule {
        case .anniversary:
            var years = 1
            while let day = start.addingMonths(12 * years), day <= end {
                repricingDays.append(day)
                years += 1
            }
        case .januaryFirst:
            for year in (start.year + 1)...max(start.year + 1, end.year) {
                let day = CivilDate(year: year, month: 1, day: 1)!
                if day <= end { repricingDays.append(day) }
            }
        case .baseRateChange:
            repricingDays = floating.baseRates.changes(tenor: floating.tenor, after: start, through: end)
        }
        return periods.enumerated().map { index, _ in
            let periodStart = index == 0 ? start : periods[index - 1].scheduled
            guard let repriced = repricingDays.last(where: { $0 <= periodStart }) else { return contractRate }
            return floating.annualRate(on: repriced) ?? contractRate
        }
    }

    // MARK: Amounts

    static func build(_ terms: PlanTerms, _ periods: [Period], _ rates: [Decimal]) -> RepaymentPlan {
        let n = periods.count
        let principal = terms.principalMinor
        let round = terms.rounding.round
        var balance = principal
        var installment: Int64?
        var firstInstallment: Int64?
        var exactRate: (rate: Decimal, exact: Interest.ExactRate?)?
        var lines: [PlanLine] = []
        lines.reserveCapacity(n)

        for (index, period) in periods.enumerated() {
            let rate = rates[index]
            let days = period.accrualStart.days(to: period.accrualEnd)
            let interestBase = terms.method == .flat ? principal : balance

            // Interest, rounded once.
            if exactRate?.rate != rate { exactRate = (rate, Interest.ExactRate(rate)) }
            let interest: Int64
            if terms.method == .bullet || terms.dayCount.periodInterest == .actualDays || !period.whole {
                interest = Interest.rounded(base: interestBase, rate: rate, exact: exactRate?.exact, days: days,
                                            yearDays: terms.dayCount.yearDays, rounding: terms.rounding)
            } else {
                // A whole month (annual/12); days a due date moved by earn the daily rate
                // when they accrue.
                interest = Interest.rounded(base: interestBase, rate: rate, exact: exactRate?.exact,
                                            monthsPlusDays: period.scheduled.days(to: period.accrualEnd),
                                            yearDays: terms.dayCount.yearDays, rounding: terms.rounding)
            }

            // Principal; the last period takes what is left.
            var part: Int64
            if index == n - 1 {
                part = balance
            } else {
                switch terms.method {
                case .equalInstallment:
                    if installment == nil || rate != rates[index - 1] {
                        installment = self.installment(balance: balance, monthlyRate: rate / 12, periods: n - index, round: round)
                    }
                    firstInstallment = firstInstallment ?? installment
                    part = installment! - interest
                case .equalPrincipal, .flat:
                    part = Interest.quotient([UInt128(principal)], over: [UInt128(n)], terms.rounding)!
                case .interestOnly, .bullet:
                    part = 0
                }
                part = min(max(part, 0), balance)
            }
            balance -= part
            lines.append(PlanLine(period: index + 1, accrualStart: period.accrualStart, scheduledDate: period.scheduled,
                                  dueDate: period.due, days: days, annualRate: rate, principalMinor: part,
                                  interestMinor: interest, feeMinor: terms.feePerPeriodMinor, balanceMinor: balance))
        }
        assert(balance == 0 && lines.reduce(0, { $0 + $1.principalMinor }) == principal)
        if terms.method == .equalInstallment && n == 1 { firstInstallment = lines[0].principalMinor + lines[0].interestMinor }
        return RepaymentPlan(terms: terms, annualRate: rates[0], installmentMinor: firstInstallment, lines: lines)
    }

    /// P·r·(1+r)^n / ((1+r)^n − 1), rounded once; P/n without interest.
    public static func installment(balance: Int64, monthlyRate r: Decimal, periods n: Int,
                                   round: (Decimal) -> Int64) -> Int64 {
        guard r > 0 else { return round(Decimal(balance) / Decimal(n)) }
        var power = Decimal(1)
        for _ in 0..<n { power *= (1 + r) }
        return round(Decimal(balance) * r * power / (power - 1))
    }
}

/// Interest on an amount, rounded once, computed exactly: the rate is a finite decimal, so
/// base × rate × days / (year × 10^k) is a ratio of integers, divided once in 128 bits. An
/// amount of exactly half a minor unit is seen as exactly half (a `Decimal` division by 12
/// or 360 would have truncated the rate first). `Decimal` arithmetic, dividing last, takes
/// over for values beyond 128 bits.
public enum Interest {
    /// base × rate × days / yearDays.
    public static func rounded(base: Int64, rate: Decimal, days: Int, yearDays: Int, rounding: RoundingRule) -> Int64 {
        rounded(base: base, rate: rate, exact: ExactRate(rate), days: days, yearDays: yearDays, rounding: rounding)
    }

    /// base × rate × (1/12 + extraDays/yearDays): a whole month, and the days a due date
    /// moved by when they accrue.
    public static func rounded(base: Int64, rate: Decimal, monthsPlusDays extraDays: Int, yearDays: Int,
                               rounding: RoundingRule) -> Int64 {
        rounded(base: base, rate: rate, exact: ExactRate(rate), monthsPlusDays: extraDays, yearDays: yearDays, rounding: rounding)
    }

    static func rounded(base: Int64, rate: Decimal, exact: ExactRate?, days: Int, yearDays: Int, rounding: RoundingRule) -> Int64 {
        if let exact, base >= 0, days >= 0,
           let result = quotient([UInt128(base), UInt128(days), exact.numerator], over: [UInt128(yearDays), exact.denominator], rounding) {
            return result
        }
        return decimal(base: base, rate: rate, days: days, yearDays: yearDays, rounding: rounding)
    }

    static func rounded(base: Int64, rate: Decimal, exact: ExactRate?, monthsPlusDays extraDays: Int, yearDays: Int,
                        rounding: RoundingRule) -> Int64 {
        if let exact, base >= 0, extraDays >= 0,
           let result = quotient([UInt128(base), exact.numerator, UInt128(yearDays + 12 * extraDays)],
                                 over: [12, UInt128(yearDays), exact.denominator], rounding) {
            return result
        }
        return decimal(base: base, rate: rate, monthsPlusDays: extraDays, yearDays: yearDays, rounding: rounding)
    }

    /// The same with `Decimal` arithmetic, every product before the one division.
    public static func decimal(base: Int64, rate: Decimal, days: Int, yearDays: Int, rounding: RoundingRule) -> Int64 {
        rounding.round(Decimal(base) * Decimal(days) * rate / Decimal(yearDays))
    }

    public static func decimal(base: Int64, rate: Decimal, monthsPlusDays extraDays: Int, yearDays: Int,
                               rounding: RoundingRule) -> Int64 {
        rounding.round(Decimal(base) * rate * Decimal(yearDays + 12 * extraDays) / Decimal(12 * yearDays))
    }

    /// A non-negative rate as numerator / 10^k.
    struct ExactRate {
        let numerator: UInt128
        let denominator: UInt128

        init?(_ rate: Decimal) {
            guard rate >= 0, !rate.isNaN else { return nil }
            let exponent = rate.exponent
            guard exponent >= -30, exponent <= 10 else { return nil }
            let significand = Int64(truncating: NSDecimalNumber(decimal: rate.significand))
            guard significand >= 0, Decimal(significand) == rate.significand else { return nil }
            var power: UInt128 = 1
            for _ in 0..<abs(exponent) { power *= 10 }
            if exponent >= 0 {
                let (product, overflow) = UInt128(significand).multipliedReportingOverflow(by: power)
                guard !overflow else { return nil }
                numerator = product
                denominator = 1
            } else {
                numerator = UInt128(significand)
                denominator = power
            }
        }
    }

    /// The product of `factors` over the product of `divisors`, rounded; nil on overflow.
    static func quotient(_ factors: [UInt128], over divisors: [UInt128], _ rule: RoundingRule) -> Int64? {
        var numerator: UInt128 = 1, denominator: UInt128 = 1
        for factor in factors {
            let (product, overflow) = numerator.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            numerator = product
        }
        for divisor in divisors {
            let (product, overflow) = denominator.multipliedReportingOverflow(by: divisor)
            if overflow || divisor == 0 { return nil }
            denominator = product
        }
        var (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // remainder against denominator − remainder: 2 × remainder without overflowing.
        let rest = denominator - remainder
        switch rule {
        case .halfUp: if remainder >= rest { quotient += 1 }
        case .halfEven: if remainder > rest || (remainder == rest && quotient % 2 == 1) { quotient += 1 }
        }
        return Int64(exactly: quotient)
    }
}
