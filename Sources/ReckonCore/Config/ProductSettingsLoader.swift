import Foundation

/// Reads a product's plan settings from its `products:` entry:
///
/// ```yaml
/// CL12:
///   method: equal-installment
///   rate: {base: 1y, spread_bp: 590, repricing: base-rate-change}   # or rate: "9%", or rate: contract
///   amount: {min: "1000.00", max: "200000.00"}
///   term: {min: 3, max: 12}                                          # months; unit: days for bullets
///   day_count: monthly/360
///   rounding: half-up
///   due_day: 20
///   non_working_due_date: next-working-day
///   penalty: {factor: "1.5", base: overdue-installment}
///   compensation: {days: 3, at: "17:30"}
///   fee: {monthly_rate: "0.3%"}                                      # or {per_period: "5.00"}
/// ```
enum ProductSettingsLoader {
    static let keys = ["method", "rate", "amount", "term", "day_count", "rounding", "due_day", "non_working_due_date",
                       "penalty", "compensation", "fee"]

    static func settings(_ map: SpecMapping, node: SpecNode) throws(SpecError) -> ProductPlanSettings? {
        guard let methodNode = map["method"] else {
            if let other = keys.first(where: { map[$0] != nil }) {
                throw map[other]!.error("plan settings need a method: \(RepaymentMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return nil
        }
        guard let method = RepaymentMethod(text: try methodNode.string()) else {
            throw methodNode.error("unknown method; expected \(RepaymentMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var settings = ProductPlanSettings(method: method)

        if let rateNode = map["rate"] {
            if rateNode.isScalar {
                let text = try rateNode.string()
                if text == "contract" {
                    settings.pricing = .contract
                } else if let rate = RateText.statedRate(text) {
                    guard PlanLimits.annualRateAllowed(rate) else { throw rateNode.error("'\(text)' is out of range: \(PlanLimits.annualRateRule)") }
                    settings.pricing = .fixed(rate)
                } else {
                    throw rateNode.error("'\(text)' is not a rate: write 9% (or 0.09), contract, or {base: 1y, spread_bp: 590}")
                }
            } else {
                let rate = try rateNode.mapping(allowed: ["base", "spread_bp", "repricing"])
                let spreadNode = try rate.required("spread_bp")
                let spreadText = try spreadNode.string()
                guard let spread = RateText.basisPoints(spreadText) else {
                    throw spreadNode.error("a spread is a number of basis points, like 590 or 73.7")
                }
                guard PlanLimits.spreadAllowed(spread) else { throw spreadNode.error("'\(spreadText)' is out of range: \(PlanLimits.spreadRule)") }
                var repricing: RepricingRule?
                if let ruleNode = rate["repricing"] {
                    guard let rule = RepricingRule(text: try ruleNode.string()) else {
                        throw ruleNode.error("expected \(RepricingRule.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    repricing = rule
                }
                settings.pricing = .floating(tenor: try rate.required("base").string(), spreadBasisPoints: spread, repricing: repricing)
            }
        }
        if let termNode = map["term"] {
            let term = try termNode.mapping(allowed: ["min", "max", "unit"])
            if let unitNode = term["unit"] {
                guard let unit = PlanTerms.TermUnit(rawValue: try unitNode.string()) else { throw unitNode.error("expected months or days") }
                guard unit == .months || method == .bullet else { throw unitNode.error("only bullet products run for days") }
                settings.termUnit = unit
            }
            let rule = settings.termUnit == .months ? PlanLimits.termMonthsRule : PlanLimits.termDaysRule
            let limit = settings.termUnit == .months ? PlanLimits.maximumTermMonths : PlanLimits.maximumTermDays
            let low = try int(term.required("min"), in: 1...limit, rule), high = try int(term.required("max"), in: 1...limit, rule)
            guard low <= high else { throw termNode.error("min \(low) is above max \(high)") }
            settings.term = low...high
        }
        if let amountNode = map["amount"] {
            let amount = try amountNode.mapping(allowed: ["min", "max"])
            let low = try principal(amount.required("min")), high = try principal(amount.required("max"))
            guard low <= high else { throw amountNode.error("min \(PlanText.money(low)) is above max \(PlanText.money(high))") }
            settings.amountMinor = low...high
        }
        if let node = map["day_count"] {
            guard let dayCount = DayCount(text: try node.string()) else { throw node.error("expected \(DayCount.choices)") }
            settings.dayCount = dayCount
        }
        if let node = map["rounding"] {
            guard let rounding = RoundingRule(rawValue: try node.string()) else { throw node.error("expected half-up or half-even") }
            settings.rounding = rounding
        }
        if let node = map["due_day"] { settings.dueDay = try int(node, in: 1...31, PlanLimits.dueDayRule) }
        if let node = map["non_working_due_date"] {
            guard let rule = NonWorkingDueDate(text: try node.string()) else { throw node.error("expected \(NonWorkingDueDate.choices)") }
            settings.nonWorkingDueDate = rule
        }
        if let node = map["penalty"] {
            let penalty = try node.mapping(allowed: ["factor", "base"])
            if let factorNode = penalty["factor"] {
                guard let factor = RateText.exactDecimal(try factorNode.string()), factor >= 1, factor <= 10 else {
                    throw factorNode.error("a penalty factor multiplies the contract rate: 1.5 means 50% above it")
                }
                settings.servicing.penaltyFactor = factor
            }
            if let baseNode = penalty["base"] {
                guard let base = ServicingTerms.PenaltyBase(text: try baseNode.string()) else {
                    throw baseNode.error("expected overdue-principal or overdue-installment")
                }
                settings.servicing.penaltyBase = base
            }
        }
        if let node = map["fee"] {
            let fee = try node.mapping(allowed: ["per_period", "monthly_rate"])
            guard fee.entries.count == 1 else { throw node.error("give one of per_period (an amount) or monthly_rate (of the principal)") }
            if let amount = fee["per_period"] {
                let minor = try ConfigLoader.money(amount).units
                guard PlanLimits.feeAmountAllowed(minor) else { throw amount.error("'\(try amount.string())' is out of range: \(PlanLimits.feeAmountRule)") }
                settings.fee = .fixed(minor)
            } else if let rateNode = fee["monthly_rate"] {
                let text = try rateNode.string()
                guard let rate = RateText.statedRate(text), PlanLimits.feeRateAllowed(rate) else {
                    throw rateNode.error("'\(text)' is not a fee rate: \(PlanLimits.feeRateRule)")
                }
                settings.fee = .principalRate(rate)
            }
        }
        if let node = map["compensation"] {
            let compensation = try node.mapping(allowed: ["days", "at"])
            settings.servicing.compensationDays = try compensation.required("days").int(in: 0...365)
            if let atNode = compensation["at"] {
                let parts = try atNode.string().split(separator: ":").map { Int($0) }
                guard parts.count == 2, let hour = parts[0], let minute = parts[1],
                      let time = TimeOfDay(hour: hour, minute: minute, second: 0) else {
                    throw atNode.error("a time of day is HH:mm, 00:00 to 23:59")
                }
                settings.servicing.compensationTime = time
            }
        }
        return settings
    }

    /// A whole number in `range`; out of it, the rule it breaks.
    private static func int(_ node: SpecNode, in range: ClosedRange<Int>, _ rule: String) throws(SpecError) -> Int {
        let value = try node.int()
        guard range.contains(value) else { throw node.error("\(value) is out of range: \(rule)") }
        return value
    }

    /// A principal bound: an amount (12,000.00 or 12000) in the principal's range.
    private static func principal(_ node: SpecNode) throws(SpecError) -> Int64 {
        let minor = try ConfigLoader.money(node).units
        guard PlanLimits.principalAllowed(minor) else { throw node.error("'\(try node.string())' is out of range: \(PlanLimits.principalRule)") }
        return minor
    }
}
