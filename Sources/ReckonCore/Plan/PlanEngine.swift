import Foundation

/// One period of a repayment plan. Amounts are minor units.
public struct PlanLine: Sendable, Hashable {
    public let period: Int
    /// Interest runs from here: the start date, or the previous period's due date — its actual
    /// (moved) due date when moved days accrue, its scheduled one when they do not.
    public let accrualStart: CivilDate
    /// The contract's due date: the anchor day in the period's month.
    public let scheduledDate: CivilDate
    /// When payment is due: the scheduled date, or the next working day when the product
    /// moves due dates off non-working days.
    public let dueDate: CivilDate
    /// The days from `accrualStart` to the day interest runs to (the due date when moved days
    /// accrue, the scheduled date otherwise). A plan's days add up to its span: no day is
    /// counted twice and none is left out.
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
    /// Equal-installment plans: the equal payment of principal and interest the plan was
    /// solved for (fees apart). Every period before the last pays exactly this (or its
    /// interest alone, in the rare period whose interest is more); the last pays what is left.
    /// A one-period loan's installment is its one payment. When a floating rate is repriced
    /// the installment is solved again for the periods left: this is the first one.
    /// See `PlanEngine` for how it is solved. Nil for the other methods.
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
/// last period takes the remaining balance; due dates are the anchor day of each month
/// counted from the start, clamped to the month's end.
///
/// A period's interest is balance × rate × (months/12 + days/yearDays), rounded once:
/// - actual day count: no months, the period's days;
/// - monthly day count: a whole month is one month, from the previous scheduled due date
///   to its own (the first period is whole when it ends one month after the start). When
///   moved due dates accrue, its days run from the previous period's actual due date to its
///   own, so it also counts the days its own due date moved and gives back the days the
///   previous one moved (that period charged them): a month plus (own move − previous
///   move) days. A broken first period counts its days;
/// - a bullet loan by months: the whole months from the start, then the broken rest (and a
///   moved maturity's days) by days; by days: its days.
///
/// The equal installment is P·r·(1+r)^n / ((1+r)^n − 1) with r = annual/12, rounded once,
/// when every period is a whole month at annual/12. When they are not (a broken first
/// period, the actual day count, moved days accruing), it is solved on the periods as they
/// are: with each period's factor fₖ = 1 + rate × (monthsₖ/12 + daysₖ/yearDays),
/// installment = P·∏fₖ / Σⱼ ∏ₖ₌ⱼ₊₁…ₙ fₖ, rounded once — the payment that repays exactly
/// the plan's own interest. That assumes a balance may grow; it may not (principal is never
/// negative), so when a period's interest could pass the installment (a long broken first
/// period at a high rate) the installment is found by running the periods: the one whose
/// last payment comes nearest to it. Either way, should the installment repay the loan
/// before its last period (a cent of rounding compounding over a long term), it is lowered
/// to the largest that leaves the last period principal.
public enum PlanEngine {
    public static let maximumTermMonths = PlanLimits.maximumTermMonths
    public static let maximumTermDays = PlanLimits.maximumTermDays

    public static func schedule(_ terms: PlanTerms) throws(PlanError) -> RepaymentPlan {
        guard PlanLimits.principalAllowed(terms.principalMinor) else {
            throw PlanError("the principal \(PlanText.money(terms.principalMinor)) is out of range: \(PlanLimits.principalRule)")
        }
        switch terms.termUnit {
        case .months:
            guard (1...maximumTermMonths).contains(terms.term) else { throw PlanError("a term is 1 to \(maximumTermMonths) months, not \(terms.term)") }
        case .days:
            guard terms.method == .bullet else { throw PlanError("only bullet loans run for a number of days") }
            guard (1...maximumTermDays).contains(terms.term) else { throw PlanError("a term is 1 to \(maximumTermDays) days, not \(terms.term)") }
        }
        if let dueDay = terms.dueDay, !(1...31).contains(dueDay) { throw PlanError("a due day is 1 to 31, not \(dueDay)") }
        guard terms.feePerPeriodMinor >= 0 else { throw PlanError("a fee is never negative") }
        if let first = terms.firstDueDate {
            guard terms.method != .bullet else { throw PlanError("a bullet loan's one due date is its maturity: it takes no first due date") }
            guard first > terms.startDate, let latest = PlanLimits.latestFirstDue(start: terms.startDate), first <= latest else {
                throw PlanError("the first due date \(first) is out of range: \(PlanLimits.firstDueRule(start: terms.startDate))")
            }
        }

        let schedule = try dates(terms)
        let rates = try periodRates(terms, schedule)
        if let rate = rates.first(where: { !PlanLimits.annualRateAllowed($0) }) {
            throw PlanError("the annual rate \(RateText.percent(rate)) is out of range: \(PlanLimits.annualRateRule)")
        }
        return try build(terms, schedule, rates)
    }

    // MARK: Dates

    struct Period {
        let scheduled: CivilDate
        let due: CivilDate
        let accrualStart: CivilDate
        let accrualEnd: CivilDate
        /// Whole months at annual/12 …
        let months: Int
        /// … and days at the daily rate (negative when a whole month gives back the days the
        /// previous due date moved by).
        let days: Int

        /// A whole month at annual/12 and nothing else: what the textbook installment assumes.
        var isPlainMonth: Bool { months == 1 && days == 0 }
    }

    static func dates(_ terms: PlanTerms) throws(PlanError) -> [Period] {
        let start = terms.startDate
        let scheduled = try scheduledDates(terms)
        guard scheduled.first! > start else { throw PlanError("the first due date is not after the start") }

        var due = scheduled
        var accrue = false
        if case .nextWorkingDay(let accrueMovedDays) = terms.nonWorkingDueDate {
            guard let calendar = terms.calendar else { throw PlanError("moving due dates to working days needs a calendar") }
            due = scheduled.map { calendar.workingDay(onOrAfter: $0) }
            accrue = accrueMovedDays
            // A due date moved onto or past the next one would make two periods fall due together.
            for index in scheduled.indices.dropFirst() where due[index - 1] >= scheduled[index] {
                throw PlanError("calendar \(calendar.name) has no working day from \(scheduled[index - 1]) to \(scheduled[index]): "
                                + "periods \(index) and \(index + 1) would fall due on the same day")
            }
        }
        let monthly = terms.dayCount.periodInterest == .monthly && terms.termUnit == .months
        var periods: [Period] = []
        periods.reserveCapacity(scheduled.count)
        for index in scheduled.indices {
            let previousScheduled = index == 0 ? start : scheduled[index - 1]
            let accrualStart = accrue && index > 0 ? due[index - 1] : previousScheduled
            let accrualEnd = accrue ? due[index] : scheduled[index]
            let window = accrualStart.days(to: accrualEnd)
            var months = 0, days = window
            if monthly && terms.method == .bullet {
                // Whole months from the start, then the broken rest by days.
                while let next = start.addingMonths(months + 1), next <= scheduled[index] { months += 1 }
                days = start.addingMonths(months)!.days(to: accrualEnd)
            } else if monthly && (index > 0 || scheduled[0] == start.addingMonths(1)) {
                // The month runs scheduled date to scheduled date; the window differs from it by
                // the days the two due dates moved.
                months = 1
                days = window - previousScheduled.days(to: scheduled[index])
            }
            periods.append(Period(scheduled: scheduled[index], due: due[index], accrualStart: accrualStart,
                                  accrualEnd: accrualEnd, months: months, days: days))
        }
        return periods
    }

    /// The contract's due dates, before any move off non-working days.
    static func scheduledDates(_ terms: PlanTerms) throws(PlanError) -> [CivilDate] {
        let start = terms.startDate
        switch (terms.method, terms.termUnit) {
        case (_, .days):
            return [start.adding(days: terms.term)!]
        case (.bullet, .months):
            guard let due = CivilDate.anchored(day: terms.dueDay ?? start.day, monthsAfter: terms.term, year: start.year, month: start.month) else {
                throw PlanError("the maturity date is out of range")
            }
            return [due]
        default:
            let base = terms.firstDueDate ?? start
            let anchor = terms.dueDay ?? base.day
            // Without a first due date, the first falls in the month after the start: on the
            // contract day, or on the product's due day (a broken first period).
            let offset = terms.firstDueDate == nil ? 1 : 0
            var scheduled: [CivilDate] = []
            scheduled.reserveCapacity(terms.term)
            for index in 0..<terms.term {
                guard let due = CivilDate.anchored(day: anchor, monthsAfter: index + offset, year: base.year, month: base.month) else {
                    throw PlanError("a due date is out of range")
                }
                scheduled.append(due)
            }
            if let first = terms.firstDueDate, let dueDay = terms.dueDay, scheduled[0] != first {
                throw PlanError("the first due date \(first) is not on the due day \(dueDay)")
            }
            return scheduled
        }
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

    /// A period's interest on a base, rounded once.
    struct Accrual {
        let periods: [Period]
        let yearDays: Int
        let rounding: RoundingRule

        func interest(_ index: Int, base: Int64, rate: Decimal, exact: Interest.ExactRate?) -> Int64 {
            let period = periods[index]
            return Interest.rounded(base: base, rate: rate, exact: exact, months: period.months, days: period.days,
                                    yearDays: yearDays, rounding: rounding)
        }

        /// rate × (months/12 + days/yearDays): what a unit of balance earns in the period.
        func factor(_ index: Int, rate: Decimal) -> Decimal {
            let period = periods[index]
            return rate * Decimal(period.months * yearDays + 12 * period.days) / Decimal(12 * yearDays)
        }
    }

    static func build(_ terms: PlanTerms, _ periods: [Period], _ rates: [Decimal]) throws(PlanError) -> RepaymentPlan {
        let n = periods.count
        let principal = terms.principalMinor
        let accrual = Accrual(periods: periods, yearDays: terms.dayCount.yearDays, rounding: terms.rounding)
        let equalPart = terms.method == .equalPrincipal || terms.method == .flat ? try equalPrincipalPart(terms, periods: n) : 0
        var balance = principal
        var installment: Int64?
        var firstInstallment: Int64?
        var exactRate: (rate: Decimal, exact: Interest.ExactRate?)?
        var lines: [PlanLine] = []
        lines.reserveCapacity(n)

        for (index, period) in periods.enumerated() {
            let rate = rates[index]
            if exactRate?.rate != rate { exactRate = (rate, Interest.ExactRate(rate)) }
            let interest = accrual.interest(index, base: terms.method == .flat ? principal : balance, rate: rate, exact: exactRate?.exact)

            // Principal; the last period takes what is left.
            var part: Int64
            if index == n - 1 {
                part = balance
            } else {
                switch terms.method {
                case .equalInstallment:
                    if installment == nil || rate != rates[index - 1] {
                        installment = solvedInstallment(balance: balance, from: index, rate: rate, exact: exactRate?.exact, accrual: accrual)
                    }
                    firstInstallment = firstInstallment ?? installment
                    part = installment! - interest
                case .equalPrincipal, .flat:
                    part = equalPart
                case .interestOnly, .bullet:
                    part = 0
                }
                part = min(max(part, 0), balance)
            }
            balance -= part
            lines.append(PlanLine(period: index + 1, accrualStart: period.accrualStart, scheduledDate: period.scheduled,
                                  dueDate: period.due, days: period.accrualStart.days(to: period.accrualEnd), annualRate: rate,
                                  principalMinor: part, interestMinor: interest, feeMinor: terms.feePerPeriodMinor, balanceMinor: balance))
        }
        assert(balance == 0 && lines.reduce(0, { $0 + $1.principalMinor }) == principal)
        // The installment that repays a one-period loan is its one payment.
        if terms.method == .equalInstallment && n == 1 { firstInstallment = lines[0].principalMinor + lines[0].interestMinor }
        if let empty = lines.first(where: { $0.totalMinor == 0 }) {
            throw PlanError("period \(empty.period) would have nothing due: it repays no principal and its interest rounds to 0.00 "
                            + "(\(PlanText.money(principal)) at \(RateText.percent(empty.annualRate)) over \(n) periods)")
        }
        return RepaymentPlan(terms: terms, annualRate: rates[0], installmentMinor: firstInstallment, lines: lines)
    }

    /// The regular principal of an equal-principal or flat plan: principal / periods, rounded
    /// by the contract's rule, the last period taking the rest. When rounding up would leave
    /// the last period nothing (a long term on a small principal: 1,000.01 over 600 months
    /// rounds to 1.67, and 599 × 1.67 is more than the loan) it is rounded down instead, so
    /// every period repays at least a cent; a principal of fewer cents than periods cannot.
    static func equalPrincipalPart(_ terms: PlanTerms, periods n: Int) throws(PlanError) -> Int64 {
        let principal = terms.principalMinor
        guard principal >= Int64(n) else {
            throw PlanError("a \(terms.method.rawValue) plan of \(n) periods repays at least 0.01 a period, so its principal is at least "
                            + "\(PlanText.money(Int64(n))), not \(PlanText.money(principal))")
        }
        let part = Interest.quotient([UInt128(principal)], over: [UInt128(n)], terms.rounding)!
        return part * Int64(n - 1) < principal ? part : principal / Int64(n)
    }

    /// The equal installment for periods `first…` from `balance` at `rate` (see `PlanEngine`).
    static func solvedInstallment(balance: Int64, from first: Int, rate: Decimal, exact: Interest.ExactRate?,
                                  accrual: Accrual) -> Int64 {
        let indices = first..<accrual.periods.count
        let round = accrual.rounding.round
        var installment: Int64
        // Σⱼ ∏ₖ₌ⱼ₊₁…ₙ fₖ: what a unit paid each period has grown to by the end.
        var accumulation: Decimal
        var largestFactor: Decimal
        if indices.allSatisfy({ accrual.periods[$0].isPlainMonth }) {
            let monthly = rate / 12
            var power = Decimal(1)
            for _ in indices { power *= (1 + monthly) }
            if monthly > 0 {
                installment = round(Decimal(balance) * monthly * power / (power - 1))
                accumulation = (power - 1) / monthly
            } else {
                installment = round(Decimal(balance) / Decimal(indices.count))
                accumulation = Decimal(indices.count)
            }
            largestFactor = monthly
        } else {
            var growth = Decimal(1)
            accumulation = 0
            largestFactor = 0
            for index in indices {
                let factor = accrual.factor(index, rate: rate)
                growth *= 1 + factor
                accumulation = accumulation * (1 + factor) + 1
                largestFactor = max(largestFactor, factor)
            }
            installment = round(Decimal(balance) * growth / accumulation)
        }
        let run = Run(balance: balance, indices: indices, rate: rate, exact: exact, accrual: accrual)
        // A period whose interest passes the installment pays only its interest (principal is
        // never negative), so the balance cannot grow as the formula assumes: a long broken
        // first period at a high rate. The installment is then found by running the periods.
        if largestFactor * Decimal(balance) + 1 >= Decimal(installment) { return run.nearest(from: installment) }
        // Each period's rounding (the installment's and the interest's, under a cent together)
        // grows to at most `accumulation` cents by the end; while that stays under the
        // installment, the last period keeps principal.
        if accumulation + 1 < Decimal(installment) || run.lastPayment(installment) != nil { return installment }
        return run.largestNotRepayingEarly(from: installment)
    }

    /// The periods `indices` run from `balance` with an installment, as the plan runs them.
    struct Run {
        let balance: Int64
        let indices: Range<Int>
        let rate: Decimal
        let exact: Interest.ExactRate?
        let accrual: Accrual

        /// What the last period pays (its principal and interest), or nil when the installment
        /// repays the loan before it. A larger installment leaves the last period less.
        func lastPayment(_ installment: Int64) -> Int64? {
            var balance = self.balance
            for index in indices.dropLast() {
                let interest = accrual.interest(index, base: balance, rate: rate, exact: exact)
                balance -= min(max(installment - interest, 0), balance)
                if balance == 0 { return nil }
            }
            return balance + accrual.interest(indices.last!, base: balance, rate: rate, exact: exact)
        }

        /// The largest installment up to `start` that leaves the last period something (0
        /// always does), searched downwards a cent, two, four… then halving: it is rarely far.
        func largestNotRepayingEarly(from start: Int64) -> Int64 {
            largest(from: start) { lastPayment($0) != nil }
        }

        /// The installment whose last payment comes nearest to it: where the last payment,
        /// falling as the installment rises, crosses it.
        func nearest(from start: Int64) -> Int64 {
            let low = largest(from: start) { installment in lastPayment(installment).map { $0 >= installment } ?? false }
            guard let lastLow = lastPayment(low), let lastHigh = lastPayment(low + 1) else { return low }
            return (low + 1) - lastHigh < lastLow - low ? low + 1 : low
        }

        /// The largest installment for which `holds` (true at 0, then false from some point on),
        /// searched from `start` outwards and then by halving.
        private func largest(from start: Int64, _ holds: (Int64) -> Bool) -> Int64 {
            var low: Int64, high: Int64, step: Int64 = 1
            if holds(start) {
                low = start
                high = start + step
                while holds(high) {
                    low = high
                    step *= 2
                    high = start + step
                }
            } else {
                high = start
                low = max(0, start - step)
                while low > 0 && !holds(low) {
                    high = low
                    step *= 2
                    low = max(0, start - step)
                }
            }
            while high - low > 1 {
                let middle = low + (high - low) / 2
                if holds(middle) { low = middle } else { high = middle }
            }
            return low
        }
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
/// base × rate × days / (year × 10^k) is a ratio of integers, divided once. An amount of
/// exactly half a minor unit is seen as exactly half (a `Decimal` division by 12 or 360
/// would have truncated the rate first). The numerator is kept in 256 bits, which holds any
/// 64-bit base and day count times any rate of up to 19 significant digits; `Decimal`
/// arithmetic, dividing last, is left only for rates that are not such a decimal.
public enum Interest {
    /// base × rate × days / yearDays.
    public static func rounded(base: Int64, rate: Decimal, days: Int, yearDays: Int, rounding: RoundingRule) -> Int64 {
        rounded(base: base, rate: rate, exact: ExactRate(rate), months: 0, days: days, yearDays: yearDays, rounding: rounding)
    }

    /// base × rate × (months/12 + days/yearDays): whole months at annual/12 and days at the
    /// daily rate; `days` may be negative (a whole month that gives back days), and interest
    /// never is.
    public static func rounded(base: Int64, rate: Decimal, months: Int, days: Int, yearDays: Int,
                               rounding: RoundingRule) -> Int64 {
        rounded(base: base, rate: rate, exact: ExactRate(rate), months: months, days: days, yearDays: yearDays, rounding: rounding)
    }

    static func rounded(base: Int64, rate: Decimal, exact: ExactRate?, months: Int, days: Int, yearDays: Int,
                        rounding: RoundingRule) -> Int64 {
        // In twelfths of a day-count year: months × year + 12 × days over 12 × year.
        let twelfths = months * yearDays + 12 * days
        guard base > 0, twelfths > 0 else { return 0 }
        if let exact {
            let result = months == 0
                ? quotient([UInt128(base), UInt128(days), exact.numerator], over: [UInt128(yearDays), exact.denominator], rounding)
                : quotient([UInt128(base), UInt128(twelfths), exact.numerator], over: [12, UInt128(yearDays), exact.denominator], rounding)
            if let result { return result }
        }
        return rounding.round(Decimal(base) * rate * Decimal(twelfths) / Decimal(12 * yearDays))
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

    /// The product of `factors` over the product of `divisors`, rounded; nil when the
    /// numerator passes 256 bits, the divisors 128, or the result 64.
    static func quotient(_ factors: [UInt128], over divisors: [UInt128], _ rule: RoundingRule) -> Int64? {
        // The numerator as high × 2^128 + low.
        var high: UInt128 = 0, low: UInt128 = 1
        for factor in factors {
            if high == 0 {
                // Most products fit in 128 bits, and a 128-bit multiply is much the cheaper.
                let (product, overflow) = low.multipliedReportingOverflow(by: factor)
                if !overflow {
                    low = product
                    continue
                }
            }
            let lowProduct = low.multipliedFullWidth(by: factor)
            let highProduct = high.multipliedFullWidth(by: factor)
            let (sum, carry) = lowProduct.high.addingReportingOverflow(highProduct.low)
            guard highProduct.high == 0, !carry else { return nil }
            high = sum
            low = lowProduct.low
        }
        var denominator: UInt128 = 1
        for divisor in divisors {
            let (product, overflow) = denominator.multipliedReportingOverflow(by: divisor)
            if overflow || divisor == 0 { return nil }
            denominator = product
        }
        var quotient: UInt128, remainder: UInt128
        if high == 0 {
            (quotient, remainder) = low.quotientAndRemainder(dividingBy: denominator)
        } else {
            // high < denominator, or the quotient needs more than 128 bits (and 64 anyway).
            guard high < denominator else { return nil }
            (quotient, remainder) = denominator.dividingFullWidth((high: high, low: low))
        }
        guard quotient < UInt128(Int64.max) else { return nil }
        // remainder against denominator − remainder: 2 × remainder without overflowing.
        let rest = denominator - remainder
        switch rule {
        case .halfUp: if remainder >= rest { quotient += 1 }
        case .halfEven: if remainder > rest || (remainder == rest && quotient % 2 == 1) { quotient += 1 }
        }
        return Int64(exactly: quotient)
    }
}
