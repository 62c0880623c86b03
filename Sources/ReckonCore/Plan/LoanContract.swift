import Foundation

/// How a product prices its loans.
public enum ProductPricing: Sendable, Equatable {
    /// A fixed annual rate (a fraction: 0.09).
    case fixed(Decimal)
    /// A base rate of a tenor plus a spread, fixed at the contract date and repriced by a rule.
    case floating(tenor: String, spreadBasisPoints: Decimal, repricing: RepricingRule?)
    /// The rate each loan's disbursement record states.
    case contract
}

/// A service fee charged with every period.
public enum PeriodFee: Sendable, Equatable {
    /// The same amount each period, in minor units.
    case fixed(Int64)
    /// A share of the original principal each period (a monthly fee rate, 月服务费率).
    case principalRate(Decimal)

    /// The fee per period for a principal, rounded once.
    public func perPeriodMinor(principalMinor: Int64, rounding: RoundingRule) -> Int64 {
        switch self {
        case .fixed(let minor): return minor
        case .principalRate(let rate): return rounding.round(Decimal(principalMinor) * rate)
        }
    }
}

/// A product's plan settings (`products:` in reckon.yaml): the method and conventions its
/// loans are planned with, and the amounts and terms it accepts (seed 000 §12: a loan
/// outside them is refused).
public struct ProductPlanSettings: Sendable {
    public var method: RepaymentMethod
    public var pricing: ProductPricing
    /// Accepted principals, inclusive, in minor units.
    public var amountMinor: ClosedRange<Int64>?
    /// Accepted terms, inclusive, in `termUnit`s.
    public var term: ClosedRange<Int>?
    public var termUnit: PlanTerms.TermUnit
    /// How interest is counted; nil: the method's standard (`DayCount.standard(for:)`),
    /// actual/360 for bullet loans and monthly/360 for the rest.
    public var dayCount: DayCount?
    public var rounding: RoundingRule
    /// A fixed due day of the month; nil: the contract day.
    public var dueDay: Int?
    public var nonWorkingDueDate: NonWorkingDueDate
    public var fee: PeriodFee?
    public var servicing: ServicingTerms

    public init(method: RepaymentMethod, pricing: ProductPricing = .contract, amountMinor: ClosedRange<Int64>? = nil,
                term: ClosedRange<Int>? = nil, termUnit: PlanTerms.TermUnit = .months, dayCount: DayCount? = nil,
                rounding: RoundingRule = .halfUp, dueDay: Int? = nil, nonWorkingDueDate: NonWorkingDueDate = .keep,
                fee: PeriodFee? = nil, servicing: ServicingTerms = ServicingTerms()) {
        self.method = method
        self.pricing = pricing
        self.amountMinor = amountMinor
        self.term = term
        self.termUnit = termUnit
        self.dayCount = dayCount
        self.rounding = rounding
        self.dueDay = dueDay
        self.nonWorkingDueDate = nonWorkingDueDate
        self.fee = fee
        self.servicing = servicing
    }

    /// Why a loan does not fit the product, or nil when it does.
    public func refusal(product: String, principalMinor: Int64, term: Int, method: RepaymentMethod?) -> PostingError? {
        if let range = amountMinor, !range.contains(principalMinor) {
            return PostingError("the principal \(PlanText.money(principalMinor)) is outside product \(product)'s range "
                                + "\(PlanText.money(range.lowerBound))–\(PlanText.money(range.upperBound))",
                                field: "principal")
        }
        if let range = self.term, !range.contains(term) {
            return PostingError("the term of \(term) \(termUnit.rawValue) is outside product \(product)'s range "
                                + "\(range.lowerBound)–\(range.upperBound) \(termUnit.rawValue)", field: "term")
        }
        if let method, method != self.method {
            return PostingError("the repayment method \(method.rawValue) is not product \(product)'s (\(self.method.rawValue))",
                                field: "repay_method")
        }
        return nil
    }
}

/// A loan's contract as the plan step resolved it on the disbursement day: everything its
/// plan is made from, kept with the loan so later configuration changes never rewrite an
/// existing plan. Stored as JSON.
public struct LoanContract: Sendable, Codable, Equatable {
    public var principalMinor: Int64
    public var method: String
    public var term: Int
    public var termUnit: String
    public var startDate: String
    public var dueDay: Int?
    public var firstDueDate: String?
    public var dayCount: String
    public var rounding: String
    public var nonWorkingDueDate: String
    /// A fixed rate (decimal text, a fraction), or nil for a floating one.
    public var annualRate: String?
    public var baseTenor: String?
    public var spreadBasisPoints: String?
    public var repricing: String?
    /// The service fee of every period, in minor units (resolved from the product's fee).
    public var feePerPeriodMinor: Int64?
    public var penaltyFactor: String
    public var penaltyBase: String
    public var compensationDays: Int?
    public var compensationTime: String?

    /// Resolves a loan under its product's settings.
    public init(settings: ProductPlanSettings, principalMinor: Int64, term: Int, startDate: CivilDate,
                firstDueDate: CivilDate?, statedRate: Decimal?) throws(PlanError) {
        self.principalMinor = principalMinor
        method = settings.method.rawValue
        self.term = term
        termUnit = settings.termUnit.rawValue
        self.startDate = startDate.description
        dueDay = settings.dueDay
        self.firstDueDate = firstDueDate?.description
        dayCount = (settings.dayCount ?? .standard(for: settings.method)).description
        rounding = settings.rounding.rawValue
        nonWorkingDueDate = settings.nonWorkingDueDate.description
        switch settings.pricing {
        case .fixed(let rate):
            annualRate = "\(rate)"
        case .contract:
            guard let statedRate else { throw PlanError("the loan states no annual rate, and its product prices by the contract") }
            annualRate = "\(statedRate)"
        case .floating(let tenor, let spread, let rule):
            baseTenor = tenor
            spreadBasisPoints = "\(spread)"
            repricing = rule?.rawValue
        }
        feePerPeriodMinor = settings.fee?.perPeriodMinor(principalMinor: principalMinor, rounding: settings.rounding)
        penaltyFactor = "\(settings.servicing.penaltyFactor)"
        penaltyBase = settings.servicing.penaltyBase.rawValue
        compensationDays = settings.servicing.compensationDays
        compensationTime = settings.servicing.compensationDays == nil ? nil : settings.servicing.compensationTime.description
    }

    /// The plan terms, with the calendar and base rates they need.
    public func planTerms(calendar: BusinessCalendar?, baseRates: BaseRateTable) throws(PlanError) -> PlanTerms {
        func decimal(_ text: String, _ what: String) throws(PlanError) -> Decimal {
            guard let value = RateText.exactDecimal(text) else { throw PlanError("the stored \(what) '\(text)' is not a number") }
            return value
        }
        guard let method = RepaymentMethod(text: method), let unit = PlanTerms.TermUnit(rawValue: termUnit),
              let start = CivilDate(iso: startDate), let dayCount = DayCount(text: dayCount),
              let rounding = RoundingRule(rawValue: rounding), let nonWorking = NonWorkingDueDate(text: nonWorkingDueDate) else {
            throw PlanError("the stored contract is not readable")
        }
        var terms = PlanTerms(principalMinor: principalMinor, annualRate: 0, method: method, term: term, termUnit: unit,
                              startDate: start, dueDay: dueDay, firstDueDate: firstDueDate.flatMap { CivilDate(iso: $0) },
                              dayCount: dayCount, rounding: rounding, calendar: calendar, nonWorkingDueDate: nonWorking,
                              feePerPeriodMinor: feePerPeriodMinor ?? 0)
        if let annualRate {
            terms.annualRate = try decimal(annualRate, "annual rate")
        } else if let baseTenor, let spreadBasisPoints {
            terms.floating = FloatingRate(tenor: baseTenor, spreadBasisPoints: try decimal(spreadBasisPoints, "spread"),
                                          repricing: repricing.flatMap(RepricingRule.init(text:)), baseRates: baseRates)
            terms.annualRate = terms.floating!.annualRate(on: start) ?? 0
        }
        return terms
    }

    public var servicing: ServicingTerms {
        var terms = ServicingTerms(penaltyFactor: RateText.exactDecimal(penaltyFactor) ?? Decimal(string: "1.5")!,
                                   penaltyBase: ServicingTerms.PenaltyBase(text: penaltyBase) ?? .overdueInstallment)
        terms.compensationDays = compensationDays
        if let compensationTime {
            let parts = compensationTime.split(separator: ":").compactMap { Int($0) }
            if parts.count >= 2, let time = TimeOfDay(hour: parts[0], minute: parts[1], second: parts.count > 2 ? parts[2] : 0) {
                terms.compensationTime = time
            }
        }
        return terms
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func from(json: String) throws(PlanError) -> LoanContract {
        do {
            return try JSONDecoder().decode(LoanContract.self, from: Data(json.utf8))
        } catch {
            throw PlanError("the stored contract is not readable: \(error)")
        }
    }
}
