import Foundation

/// How a loan is repaid.
public enum RepaymentMethod: String, Sendable, CaseIterable, Codable {
    /// 等额本息: the same installment every period (the last takes the residue).
    case equalInstallment = "equal-installment"
    /// 等额本金: the same principal every period, interest on the falling balance.
    case equalPrincipal = "equal-principal"
    /// 先息后本: interest every period, all principal in the last.
    case interestOnly = "interest-only"
    /// 利随本清 / 一次性还本付息: one period; principal and interest by actual days at maturity.
    case bullet
    /// 等本等息: the same principal every period and interest on the original principal.
    case flat

    /// Accepts the CLI's spelling (`equal-installment`) and the files' (`equal_installment`).
    public init?(text: String) {
        self.init(rawValue: text.lowercased().replacingOccurrences(of: "_", with: "-"))
    }
}

/// How a period's interest is counted.
public struct DayCount: Sendable, Hashable, CustomStringConvertible {
    public enum PeriodInterest: String, Sendable {
        /// A whole period earns annual/12; a broken period earns actual days at the daily rate.
        case monthly
        /// Every period earns balance × actual days × the daily rate (seed 004 §2.5.1).
        case actualDays = "actual"
    }

    public var periodInterest: PeriodInterest
    /// The daily rate is annual / this: 360 by default (seed 004 §2.2), or 365.
    public var yearDays: Int

    public init(_ periodInterest: PeriodInterest, yearDays: Int) {
        precondition(yearDays == 360 || yearDays == 365)
        self.periodInterest = periodInterest
        self.yearDays = yearDays
    }

    /// The default: whole periods at annual/12, broken periods and early settlement by
    /// actual days at annual/360.
    public static let monthly360 = DayCount(.monthly, yearDays: 360)
    public static let actual360 = DayCount(.actualDays, yearDays: 360)
    public static let actual365 = DayCount(.actualDays, yearDays: 365)

    /// `monthly/360`, `monthly/365`, `actual/360`, `actual/365` (also `ACT/360`, `ACT/365`).
    public init?(text: String) {
        let parts = text.lowercased().split(separator: "/")
        guard parts.count == 2, let days = Int(parts[1]), days == 360 || days == 365 else { return nil }
        switch parts[0] {
        case "monthly", "30": self.init(.monthly, yearDays: days)
        case "actual", "act": self.init(.actualDays, yearDays: days)
        default: return nil
        }
    }

    public static let choices = "monthly/360, monthly/365, actual/360 or actual/365"
    public var description: String { "\(periodInterest.rawValue)/\(yearDays)" }

    /// The day count a method uses when the product names none: `actual/360` for bullet loans
    /// (利随本清 interest is quoted by the days the money was out), `monthly/360` for the rest
    /// (the seed contract's monthly rate).
    public static func standard(for method: RepaymentMethod) -> DayCount {
        method == .bullet ? .actual360 : .monthly360
    }
}

/// How an amount in fractions of a minor unit becomes whole minor units (once per amount).
public enum RoundingRule: String, Sendable, CaseIterable {
    /// Halves away from zero: 0.5 fen becomes 1 fen (the contract default).
    case halfUp = "half-up"
    /// Halves to the even neighbour (banker's rounding).
    case halfEven = "half-even"

    /// `value` (in minor units, fractional) rounded to whole minor units.
    public func round(_ value: Decimal) -> Int64 {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, 0, self == .halfUp ? .plain : .bankers)
        return Int64(truncating: result as NSNumber)
    }
}

/// What happens to a due date that falls on a non-working day.
public enum NonWorkingDueDate: Sendable, Hashable, CustomStringConvertible {
    /// The due date stays where the contract puts it.
    case keep
    /// Payment is due on the next working day; `accrueExtraDays` says whether the days it
    /// moved by earn interest (顺延计息) or not (顺延不计息).
    case nextWorkingDay(accrueExtraDays: Bool)

    public init?(text: String) {
        switch text {
        case "keep": self = .keep
        case "next-working-day", "next_working_day": self = .nextWorkingDay(accrueExtraDays: false)
        case "next-working-day-accrue", "next_working_day_accrue": self = .nextWorkingDay(accrueExtraDays: true)
        default: return nil
        }
    }

    public static let choices = "keep, next-working-day or next-working-day-accrue"
    public var description: String {
        switch self {
        case .keep: return "keep"
        case .nextWorkingDay(let accrue): return accrue ? "next-working-day-accrue" : "next-working-day"
        }
    }
}

/// When a floating-rate loan takes a new base rate (seed 004 §2.4). The new rate applies
/// from the first period that starts on or after the repricing day.
public enum RepricingRule: String, Sendable, CaseIterable {
    /// Each anniversary of the contract.
    case anniversary
    /// Each 1 January.
    case januaryFirst = "january-first"
    /// The day a new base rate takes effect (the day after its publication).
    case baseRateChange = "base-rate-change"

    public init?(text: String) { self.init(rawValue: text.replacingOccurrences(of: "_", with: "-")) }
}

/// A floating rate: base rate of a tenor plus a spread, fixed at the contract date and
/// repriced by a rule.
public struct FloatingRate: Sendable {
    public var tenor: String
    /// Basis points over the base rate (may be fractional: 73.7).
    public var spreadBasisPoints: Decimal
    public var repricing: RepricingRule?
    public var baseRates: BaseRateTable

    public init(tenor: String, spreadBasisPoints: Decimal, repricing: RepricingRule?, baseRates: BaseRateTable) {
        self.tenor = tenor
        self.spreadBasisPoints = spreadBasisPoints
        self.repricing = repricing
        self.baseRates = baseRates
    }

    /// The annual rate (a fraction: 0.09) for a contract priced on `day`, nil when no base
    /// rate of the tenor was in effect.
    public func annualRate(on day: CivilDate) -> Decimal? {
        // Scaled by powers of ten (exact) rather than divided.
        baseRates.rate(tenor: tenor, on: day).map {
            $0.percent * Decimal(sign: .plus, exponent: -2, significand: 1)
                + spreadBasisPoints * Decimal(sign: .plus, exponent: -4, significand: 1)
        }
    }
}

/// Everything that decides a repayment plan. Amounts are minor units; rates are fractions
/// (0.09 is 9%).
public struct PlanTerms: Sendable {
    public enum TermUnit: String, Sendable { case months, days }

    public var principalMinor: Int64
    /// The contract's annual rate. A floating-rate loan's rate at the contract date (and
    /// after each repricing) comes from `floating` instead.
    public var annualRate: Decimal
    public var floating: FloatingRate?
    public var method: RepaymentMethod
    public var term: Int
    /// Months for instalment loans; a bullet loan may run for days (seed 000 §12 单期).
    public var termUnit: TermUnit
    /// The disbursement (value) date; interest runs from here.
    public var startDate: CivilDate
    /// The day of the month payments fall due: the contract day by default.
    public var dueDay: Int?
    /// A first due date other than one month after the start makes the first period broken
    /// (interest by actual days).
    public var firstDueDate: CivilDate?
    /// How interest is counted; `DayCount.standard(for:)` the method when not given.
    public var dayCount: DayCount
    public var rounding: RoundingRule
    public var calendar: BusinessCalendar?
    public var nonWorkingDueDate: NonWorkingDueDate
    /// A service fee charged with every period (服务费), in minor units.
    public var feePerPeriodMinor: Int64

    public init(principalMinor: Int64, annualRate: Decimal, method: RepaymentMethod, term: Int,
                termUnit: TermUnit = .months, startDate: CivilDate, floating: FloatingRate? = nil,
                dueDay: Int? = nil, firstDueDate: CivilDate? = nil, dayCount: DayCount? = nil,
                rounding: RoundingRule = .halfUp, calendar: BusinessCalendar? = nil,
                nonWorkingDueDate: NonWorkingDueDate = .keep, feePerPeriodMinor: Int64 = 0) {
        self.principalMinor = principalMinor
        self.annualRate = annualRate
        self.floating = floating
        self.method = method
        self.term = term
        self.termUnit = termUnit
        self.startDate = startDate
        self.dueDay = dueDay
        self.firstDueDate = firstDueDate
        self.dayCount = dayCount ?? .standard(for: method)
        self.rounding = rounding
        self.calendar = calendar
        self.nonWorkingDueDate = nonWorkingDueDate
        self.feePerPeriodMinor = feePerPeriodMinor
    }
}

/// How overdue amounts are charged, and when the guarantor steps in.
public struct ServicingTerms: Sendable {
    public enum PenaltyBase: String, Sendable {
        /// Penalty interest on the overdue principal only.
        case overduePrincipal = "overdue-principal"
        /// Penalty interest on the whole overdue installment (principal and interest).
        case overdueInstallment = "overdue-installment"

        public init?(text: String) { self.init(rawValue: text.replacingOccurrences(of: "_", with: "-")) }
    }

    /// Penalty rate = contract rate × this (1.5: the contract rate raised by 50%).
    public var penaltyFactor: Decimal
    public var penaltyBase: PenaltyBase
    /// The guarantor pays an overdue period this many days after its due date (seed 000 §12
    /// 代偿时间点); nil when the product has no guarantee.
    public var compensationDays: Int?
    /// …at this time of day.
    public var compensationTime: TimeOfDay

    public init(penaltyFactor: Decimal = Decimal(string: "1.5")!, penaltyBase: PenaltyBase = .overdueInstallment,
                compensationDays: Int? = nil, compensationTime: TimeOfDay = TimeOfDay(hour: 0, minute: 0, second: 0)!) {
        self.penaltyFactor = penaltyFactor
        self.penaltyBase = penaltyBase
        self.compensationDays = compensationDays
        self.compensationTime = compensationTime
    }
}

/// Reads rates the way people write them: `9%`, `9.00%`, `0.09`, `590bp`.
public enum RateText {
    /// An annual rate as a fraction: `9%` and `0.09` are both 0.09. Plain numbers of 1 or
    /// more are refused as ambiguous (is `9` 9% or 900%?).
    public static func annualRate(_ text: String) -> Decimal? {
        statedRate(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The rate a text states, in or out of any range (`-9%` is −0.09, `1000%` is 10), or nil
    /// when it is not a rate: `9` (9% or 900%?), `9e-2`, `nine`. Callers check the range
    /// (`PlanLimits`) and say which rule it breaks.
    public static func statedRate(_ text: String) -> Decimal? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            return exactDecimal(String(trimmed.dropLast())).map { $0 / 100 }
        }
        guard let value = exactDecimal(trimmed), value < 1 else { return nil }
        return value
    }

    /// Basis points: `590`, `590bp`, `73.7bp`, `-25bp`.
    public static func basisPoints(_ text: String) -> Decimal? {
        var trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.hasSuffix("bp") { trimmed.removeLast(2) }
        return exactDecimal(trimmed)
    }

    /// An amount in currency units as minor units: `12000`, `12000.00` and `12,000.00` are
    /// 1200000; nil for a negative amount or one with more than two decimals (see
    /// `AmountText` for why an amount is refused).
    public static func amountMinor(_ text: String) -> Int64? {
        guard case .success(let minor) = AmountText.minor(text), minor >= 0 else { return nil }
        return minor
    }

    /// A plain decimal number, digits and at most one point (no exponent, no grouping).
    public static func exactDecimal(_ text: String) -> Decimal? {
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        guard !body.isEmpty, body.filter({ $0 == "." }).count <= 1,
              body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), body != "." else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    /// 0.09 as `9.00%`; more decimals when the rate has them (`5.537%`).
    public static func percent(_ rate: Decimal) -> String {
        var value = rate * 100
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 6, .plain)
        var text = NSDecimalNumber(decimal: rounded).stringValue
        if !text.contains(".") { text += ".00" }
        while let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) < 3 { text += "0" }
        return text + "%"
    }
}

extension DecimalAmount {
    /// The exact value as a Foundation `Decimal`, for rate arithmetic.
    public var decimal: Decimal { Decimal(sign: units < 0 ? .minus : .plus, exponent: -scale, significand: Decimal(units.magnitude)) }
}
