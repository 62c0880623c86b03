import Foundation

/// The ranges a loan's plan settings must fall in, each with the rule it states. The engine,
/// `reckon plan preview` and reckon.yaml's products check the same ranges and say the same
/// rule, so an error reads the same wherever the setting came from.
public enum PlanLimits {
    /// 100,000,000,000.00: larger than any loan of a lending partnership, and small enough that
    /// principal × rate × days never leaves 256-bit integer arithmetic.
    public static let maximumPrincipalMinor: Int64 = 10_000_000_000_000
    /// No consumer or mortgage product runs longer.
    public static let maximumTermMonths = 600
    public static let maximumTermDays = 3660
    /// An annual rate is a fraction from 0 to 1 (0% to 100%), both included: above 36% a
    /// Chinese court does not enforce interest, so anything near 100% is a mistyped rate.
    public static let maximumAnnualRate: Decimal = 1
    /// A spread of ±10,000 basis points (±100%), both included.
    public static let maximumSpreadBasisPoints: Decimal = 10_000
    /// A first due date other than the regular one falls at most a month and this many days
    /// after the start: one period and a broken part no longer than another month.
    public static let firstDueExtraDays = 31
    /// A fee charged as a share of the principal each period is below 10%.
    public static let feeRateBelow: Decimal = Decimal(sign: .plus, exponent: -1, significand: 1)

    public static let principalRule = "a principal is more than 0.00 and at most 100,000,000,000.00"
    public static let annualRateRule = "an annual rate is from 0% to 100%, like 9% or 0.09"
    public static let spreadRule = "a spread is from -10000bp to 10000bp, like 590bp or -25bp"
    public static let termMonthsRule = "a term is 1 to 600 months"
    public static let termDaysRule = "a bullet loan's term in days is 1 to 3660 days"
    public static let dueDayRule = "a due day is 1 to 31"
    public static let feeRateRule = "a fee rate is a share of the principal each period, from 0% and below 10%, like 0.3%"
    public static let feeAmountRule = "a fee is an amount from 0.00 to 100,000,000,000.00, like 5.00"

    public static func principalAllowed(_ minor: Int64) -> Bool { minor > 0 && minor <= maximumPrincipalMinor }
    public static func annualRateAllowed(_ rate: Decimal) -> Bool { rate >= 0 && rate <= maximumAnnualRate }
    public static func spreadAllowed(_ basisPoints: Decimal) -> Bool { abs(basisPoints) <= maximumSpreadBasisPoints }
    public static func feeAmountAllowed(_ minor: Int64) -> Bool { minor >= 0 && minor <= maximumPrincipalMinor }
    public static func feeRateAllowed(_ rate: Decimal) -> Bool { rate >= 0 && rate < feeRateBelow }

    /// The latest first due date a loan starting on `start` may have.
    public static func latestFirstDue(start: CivilDate) -> CivilDate? {
        start.addingMonths(1)?.adding(days: firstDueExtraDays)
    }

    /// The first-due-date rule for a loan starting on `start`.
    public static func firstDueRule(start: CivilDate) -> String {
        "a first due date falls after the start \(start) and at most a month and \(firstDueExtraDays) days after it"
            + (latestFirstDue(start: start).map { " (by \($0))" } ?? "")
    }
}
