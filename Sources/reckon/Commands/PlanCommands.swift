import ArgumentParser
import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Repayment plans: preview one, show a stored loan's, list alerts and plan differences.",
        subcommands: [PlanPreview.self, PlanShow.self, PlanAlerts.self, PlanDifferences.self]
    )
}

/// Days on the command line: 2024-11-15 or 20241115.
extension CivilDate: ExpressibleByArgument {
    public init?(argument: String) {
        guard let date = BusinessDate(argument: argument)?.date else { return nil }
        self = date
    }
}

struct PlanPreview: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Print the repayment plan for a principal, rate, term and method.",
        discussion: """
            Conventions default to the seed contract: whole months at annual/12, broken periods \
            and early settlement by actual days at annual/360 (a bullet loan: actual days \
            throughout), every amount rounded half-up once per period, the last period taking \
            the residue, due dates on the contract day of each month (the month's last day when \
            it is shorter).

            A floating rate takes the base rate in effect on the start date from the base-rate \
            history reckon.yaml names (a fixing published on day P applies from P + 1): \
            --base 1y --spread 590bp. --product takes a configured product's method, pricing and \
            conventions; options given beside it override them.

            Amounts are written as reckon prints them or plainly: 12,000.00 or 12000. \
            Ranges: a principal above 0.00 and at most 100,000,000,000.00; a rate from 0% to \
            100%; a spread from -10000bp to 10000bp; a term of 1 to 600 months (or 1d to 3660d \
            for a bullet loan); a first due date at most a month and 31 days after the start; \
            an early settlement on or after the start and before the last due date.

            Example: reckon plan preview --principal 12,000.00 --rate 9% --term 12 \
            --method equal-installment --start 2024-11-15
            """
    )

    // Options that may take a negative value parse it as a value (`--spread -25bp`), so a
    // negative principal or term gets its own error rather than "Missing value".
    @Option(parsing: .unconditional, help: "The principal, in currency units (12,000.00 or 12000).")
    var principal: String

    @Option(parsing: .unconditional, help: "A fixed annual rate: 9% or 0.09.")
    var rate: String?

    @Option(help: "A floating rate's base tenor (1y, 5y), priced off the base-rate history.")
    var base: String?

    @Option(parsing: .unconditional, help: "The spread over the base rate, in basis points: 590, 590bp or -25bp.")
    var spread: String?

    @Option(help: "When a floating rate is repriced: anniversary, january-first or base-rate-change.")
    var repricing: String?

    @Option(parsing: .unconditional, help: "The term: months (12), or days for a bullet loan (90d).")
    var term: String?

    @Option(help: "equal-installment, equal-principal, interest-only, bullet or flat.")
    var method: String?

    @Option(help: "The disbursement date interest runs from.")
    var start: CivilDate

    @Option(parsing: .unconditional, help: "A fixed due day of the month, 1 to 31 (a broken first period when it is not the start day).")
    var dueDay: String?

    @Option(help: "The first due date (a broken first period when it is not a month after the start).")
    var firstDue: CivilDate?

    @Option(help: "\(DayCount.choices).")
    var dayCount: String?

    @Option(help: "half-up or half-even.")
    var rounding: String?

    @Option(help: "A due date on a non-working day: \(NonWorkingDueDate.choices) (uses the configured calendar).")
    var nonWorking: String?

    @Option(parsing: .unconditional, help: "A service fee each period: an amount (5.00), or a share of the principal (0.3%).")
    var fee: String?

    @Option(help: "Take method, pricing and conventions from this configured product.")
    var product: String?

    @Option(help: "Also quote the early-settlement pay-off on this day, every earlier period paid on its due date.")
    var payoffOn: CivilDate?

    @Flag(help: """
        Print one JSON object instead of a table: principal_minor, annual_rate, method, term, start, \
        conventions, installment_minor, lines (each period's dates, days and amounts), totals, payoff.
        """)
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let terms = try planTerms()
        let plan: RepaymentPlan
        do {
            plan = try PlanEngine.schedule(terms)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        var payoff: (day: CivilDate, quote: (totalMinor: Int64, currentInterestMinor: Int64, currentPeriod: Int?))?
        if let payoffOn {
            // An early settlement closes a period that is running: from the start to the day
            // before the last due date.
            let last = plan.lines.last!.scheduledDate
            guard payoffOn >= terms.startDate && payoffOn < last else {
                throw ValidationError("--payoff-on \(payoffOn): an early settlement is on or after the start (\(terms.startDate)) "
                                      + "and before the last due date (\(last))")
            }
            let onTime = plan.lines.filter { $0.dueDate <= payoffOn }.map {
                LoanPayment(id: Int64($0.period), paidOn: $0.dueDate, amountMinor: $0.totalMinor, kind: .normal, period: $0.period)
            }
            payoff = (payoffOn, LoanServicing.payoff(plan: plan, servicing: ServicingTerms(), payments: onTime, on: payoffOn))
        }
        if json {
            print(PlanText.json(plan, payoff: payoff))
        } else {
            print(PlanText.table(plan), terminator: "")
            if let payoff {
                print("early settlement on \(payoff.day): pay-off \(PlanText.money(payoff.quote.totalMinor))"
                      + (payoff.quote.currentPeriod.map { ", period \($0)'s interest by actual days \(PlanText.money(payoff.quote.currentInterestMinor))" } ?? ""))
            }
        }
    }

    func planTerms() throws -> PlanTerms {
        let principalMinor = try Self.principalMinor(principal)
        try checkCombinations()
        var config: ReckonConfig?
        func loadedConfig() throws -> ReckonConfig {
            if let config { return config }
            config = try options.load()
            return config!
        }
        var settings = ProductPlanSettings(method: .equalInstallment)
        if let product {
            guard let found = try loadedConfig().product(product) else {
                throw ValidationError("no product '\(product)' in \(options.config)")
            }
            guard let productSettings = found.plan else { throw ValidationError("product '\(product)' has no plan settings (no method)") }
            settings = productSettings
        }
        if let method {
            guard let chosen = RepaymentMethod(text: method) else {
                throw ValidationError("--method takes \(RepaymentMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings.method = chosen
        }
        try applyPricing(&settings)
        let termCount = try applyTerm(&settings)
        try applyConventions(&settings)
        try checkFirstDue(settings)

        // The calendar and base rates come from the configuration's files, when needed.
        var reference = ReferenceData(calendar: nil, baseRates: BaseRateTable())
        var floating = false
        if case .floating = settings.pricing { floating = true }
        if floating || settings.nonWorkingDueDate != .keep {
            reference = try loadReference(try loadedConfig())
        }
        do {
            let contract = try LoanContract(settings: settings, principalMinor: principalMinor, term: termCount, startDate: start,
                                            firstDueDate: firstDue, statedRate: nil)
            return try contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }

    /// An amount as reckon prints it (12,000.00) or plainly (12000), within the principal's range.
    static func principalMinor(_ text: String) throws -> Int64 {
        switch AmountText.minor(text) {
        case .success(let minor) where PlanLimits.principalAllowed(minor):
            return minor
        case .success, .failure(.tooLarge):
            throw ValidationError("--principal \(text): \(PlanLimits.principalRule)")
        case .failure(.tooManyDecimals):
            throw ValidationError("--principal \(text): an amount has at most two decimals, like 12,000.00")
        case .failure(.notAnAmount):
            throw ValidationError("--principal \(text): not an amount; write it like 12,000.00 or 12000")
        }
    }

    /// Options that say the same thing twice, or that mean nothing without another.
    func checkCombinations() throws {
        if rate != nil && (base != nil || spread != nil || repricing != nil) {
            throw ValidationError("--rate is a fixed rate and --base/--spread/--repricing a floating one: give one or the other")
        }
        if base == nil, let orphan = spread != nil ? "--spread" : repricing != nil ? "--repricing" : nil {
            throw ValidationError("\(orphan) prices a floating rate: give --base too (the base rate's tenor, like 1y)")
        }
        if dueDay != nil && firstDue != nil {
            throw ValidationError("--due-day and --first-due both place the first due date: give one")
        }
    }

    func applyPricing(_ settings: inout ProductPlanSettings) throws {
        if let rate {
            guard let fixed = RateText.statedRate(rate) else { throw ValidationError("--rate \(rate): not an annual rate; write it like 9% or 0.09") }
            guard PlanLimits.annualRateAllowed(fixed) else { throw ValidationError("--rate \(rate): \(PlanLimits.annualRateRule)") }
            settings.pricing = .fixed(fixed)
        } else if let base {
            let spreadText = spread ?? "0"
            guard let basisPoints = RateText.basisPoints(spreadText) else {
                throw ValidationError("--spread \(spreadText): not basis points; write it like 590bp or 590")
            }
            guard PlanLimits.spreadAllowed(basisPoints) else { throw ValidationError("--spread \(spreadText): \(PlanLimits.spreadRule)") }
            var rule: RepricingRule?
            if let repricing {
                guard let parsed = RepricingRule(text: repricing) else {
                    throw ValidationError("--repricing takes \(RepricingRule.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                rule = parsed
            }
            settings.pricing = .floating(tenor: base, spreadBasisPoints: basisPoints, repricing: rule)
        } else if product == nil {
            throw ValidationError("give --rate, --base with --spread, or --product")
        }
    }

    /// The term (months, or days for a bullet loan), in range.
    func applyTerm(_ settings: inout ProductPlanSettings) throws -> Int {
        guard let term else {
            guard let range = settings.term else { throw ValidationError("give --term") }
            return range.upperBound
        }
        let days = term.hasSuffix("d")
        guard let count = Int(days ? String(term.dropLast()) : term) else {
            throw ValidationError("--term \(term): not a term; write months (12) or, for a bullet loan, days (90d)")
        }
        if days {
            guard settings.method == .bullet else { throw ValidationError("--term \(term): only a bullet loan runs for days; write months (12)") }
            guard (1...PlanLimits.maximumTermDays).contains(count) else { throw ValidationError("--term \(term): \(PlanLimits.termDaysRule)") }
            settings.termUnit = .days
        } else {
            guard (1...PlanLimits.maximumTermMonths).contains(count) else { throw ValidationError("--term \(term): \(PlanLimits.termMonthsRule)") }
            settings.termUnit = .months
        }
        return count
    }

    func applyConventions(_ settings: inout ProductPlanSettings) throws {
        if let dayCount {
            guard let parsed = DayCount(text: dayCount) else { throw ValidationError("--day-count takes \(DayCount.choices)") }
            settings.dayCount = parsed
        }
        if let rounding {
            guard let parsed = RoundingRule(rawValue: rounding) else { throw ValidationError("--rounding takes half-up or half-even") }
            settings.rounding = parsed
        }
        if let nonWorking {
            guard let parsed = NonWorkingDueDate(text: nonWorking) else { throw ValidationError("--non-working takes \(NonWorkingDueDate.choices)") }
            settings.nonWorkingDueDate = parsed
        }
        if let dueDay {
            guard let day = Int(dueDay), (1...31).contains(day) else { throw ValidationError("--due-day \(dueDay): \(PlanLimits.dueDayRule)") }
            settings.dueDay = day
        }
        if let fee { settings.fee = try Self.fee(fee) }
    }

    /// A fee each period: an amount (5.00, 1,000.00) or a share of the principal (0.3%).
    static func fee(_ text: String) throws -> PeriodFee {
        if text.hasSuffix("%") {
            guard let share = RateText.statedRate(text) else { throw ValidationError("--fee \(text): not a share of the principal; write it like 0.3%") }
            guard PlanLimits.feeRateAllowed(share) else { throw ValidationError("--fee \(text): \(PlanLimits.feeRateRule)") }
            return .principalRate(share)
        }
        switch AmountText.minor(text) {
        case .success(let minor) where PlanLimits.feeAmountAllowed(minor):
            return .fixed(minor)
        case .success, .failure(.tooLarge):
            throw ValidationError("--fee \(text): \(PlanLimits.feeAmountRule)")
        case .failure(.tooManyDecimals):
            throw ValidationError("--fee \(text): an amount has at most two decimals, like 5.00")
        case .failure(.notAnAmount):
            throw ValidationError("--fee \(text): not a fee; write an amount (5.00) or a share of the principal (0.3%)")
        }
    }

    func checkFirstDue(_ settings: ProductPlanSettings) throws {
        guard let firstDue else { return }
        guard settings.method != .bullet else {
            throw ValidationError("--first-due \(firstDue): a bullet loan's one due date is its maturity, the term after the start")
        }
        guard firstDue > start, let latest = PlanLimits.latestFirstDue(start: start), firstDue <= latest else {
            throw ValidationError("--first-due \(firstDue): \(PlanLimits.firstDueRule(start: start))")
        }
        if let product, let dueDay = settings.dueDay,
           CivilDate.anchored(day: dueDay, monthsAfter: 0, year: firstDue.year, month: firstDue.month) != firstDue {
            throw ValidationError("--first-due \(firstDue): not on product \(product)'s due day (\(dueDay))")
        }
    }

    private func loadReference(_ config: ReckonConfig) throws -> ReferenceData {
        do {
            return try ReferenceData.load(config)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode(2)
        }
    }
}

struct PlanShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a stored loan's plan with paid, settled and overdue status and accrued penalty.",
        discussion: """
            The plan is the one the plan step stored on the disbursement day; the status of each \
            period is computed from the repayments in the ledger up to the day asked about \
            (--date; default: the last business day the plan step brought the loan to). Penalty \
            interest accrues on each overdue period from the day after its due date.

            --json prints one object: the loan (loan_id, product, partner, currency, disbursed_on), \
            as_of, the plan's terms, settled_on, outstanding_principal_minor, unpaid_penalty_minor, \
            lines (each period's amounts due and paid, status), allocations, and may_change (the \
            day's repayments missing or refused, which may change the loan when they come).

            Example: reckon plan show --loan L202412160001 --date 2025-01-26
            """
    )

    @Argument(help: ArgumentHelp("The loan id (or --loan).", valueName: "loan"))
    var loanArgument: String?

    @Option(help: "The loan id.")
    var loan: String?

    @Option(help: "The business day to show the loan as of.")
    var date: BusinessDate?

    /// The option's name before --date: old scripts keep working.
    @Option(name: .customLong("as-of"), help: .hidden)
    var asOf: BusinessDate?

    @Flag(help: "Print one JSON object instead of a table (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func validate() throws {
        if loanArgument != nil && loan != nil {
            throw ValidationError("name the loan once: reckon plan show --loan L (or reckon plan show L), not both")
        }
        if loanArgument == nil && loan == nil { throw ValidationError("name the loan: reckon plan show --loan L202412160001") }
        if date != nil && asOf != nil { throw ValidationError("--as-of is the old name of --date: give one") }
    }

    func run() throws {
        let loan = (self.loan ?? loanArgument)!
        let day = (date ?? asOf)?.date
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let view: Ledger.LoanPlanView?
        do {
            view = try ledger.loanPlan(loan, asOf: day, config: config, reference: try ReferenceData.load(config))
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        guard let view else {
            printError("reckon: no plan for loan '\(loan)' in \(ledger.path) (plans are made by the plan step of reckon batch)")
            throw ExitCode.failure
        }
        // Repayments refused or not yet come may still change the loan (issue 9, item 18).
        let mayChange = try ledger.incompleteRepayments(partner: view.partner, through: view.position.asOf)
            .filter { $0.businessDate >= view.disbursedOn }.map(\.message)
        if json {
            print(PlanText.json(view, mayChange: mayChange))
            return
        }
        for line in PlanText.table(view).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            for piece in wrapped(String(line)) { print(piece) }
        }
        for message in mayChange {
            for piece in wrapped("! this loan's state may change when the missing repayments arrive: \(message)") { print(piece) }
        }
    }
}

struct PlanAlerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List the alerts raised: loans without a partner plan, plans that failed, repayments that did not fit, files missing.",
        discussion: """
            Oldest first, each with the business day it was raised on, its kind and message, and the \
            day it was cleared; --loan finds a loan's alerts. The same alerts as reckon alerts list, \
            which also shows their severity and who read them, and marks them read. --json prints one object: alerts, each with business_date, kind, \
            subject, message and cleared_on (null while open).
            """
    )

    @Option(help: "Only alerts raised on this business day.")
    var date: BusinessDate?

    @Option(help: "Only alerts about this loan.")
    var loan: String?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let alerts = try options.readingLedger(config).alerts(date: date?.date).filter { alert in
            guard let loan else { return true }
            return alert.subject == loan || Self.names(alert.message, loan: loan)
        }
        if json {
            typealias J = JSONShape
            print(J.object([("alerts", J.array(alerts.map {
                J.object([("business_date", J.string($0.businessDate)), ("kind", J.string($0.kind)), ("subject", J.string($0.subject)),
                          ("message", J.string($0.message)), ("cleared_on", J.string($0.clearedOn))])
            }))]))
            return
        }
        if alerts.isEmpty { print("no alerts"); return }
        for alert in alerts {
            let line = "\(alert.businessDate)  \(alert.kind)  \(alert.message)" + (alert.clearedOn.map { "  (cleared \($0))" } ?? "")
            for piece in wrapped(line, indent: "            ") { print(piece) }
        }
    }

    /// The message names the loan (`loan L202412160020 was …`), not a longer id it starts.
    static func names(_ message: String, loan: String) -> Bool {
        var rest = Substring(message)
        while let found = rest.range(of: "loan " + loan) {
            let after = rest[found.upperBound...].first
            if after.map({ !$0.isLetter && !$0.isNumber }) ?? true { return true }
            rest = rest[found.upperBound...]
        }
        return false
    }
}

struct PlanDifferences: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "differences",
        abstract: "List where partners' plans (and disbursement records) differ from ours, period by period.",
        discussion: """
            A table: the business day the difference was found, the partner, the loan, the period \
            (loan: the loan as a whole), the field, our value and theirs. --json prints one object: \
            differences, each with business_date, partner, loan_id, period (0: the loan) and field; \
            amount fields (principal, interest, fee) give ours_minor and theirs_minor (integers of \
            minor units), the others ours and theirs as text (dates ISO, rates like 9.00%, presence); \
            null where one side has nothing.
            """
    )

    @Option(help: "Only differences found on this business day.")
    var date: BusinessDate?

    @Option(help: "Only this loan.")
    var loan: String?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    /// The fields whose values are amounts (stored as plain decimals: 1049.42).
    static let amountFields: Set<String> = ["principal", "interest", "fee"]

    func run() throws {
        let config = try options.load()
        let differences = try options.readingLedger(config).planDifferences(date: date?.date, loan: loan)
        if json {
            typealias J = JSONShape
            print(J.object([("differences", J.array(differences.map { difference in
                var members: [(String, String)] = [
                    ("business_date", J.string(difference.businessDate)), ("partner", J.string(difference.partner)),
                    ("loan_id", J.string(difference.loanID)), ("period", String(difference.period)), ("field", J.string(difference.field)),
                ]
                if Self.amountFields.contains(difference.field) {
                    members += [("ours_minor", J.number(Self.minor(difference.ours))), ("theirs_minor", J.number(Self.minor(difference.theirs)))]
                } else {
                    members += [("ours", J.string(difference.ours)), ("theirs", J.string(difference.theirs))]
                }
                return J.object(members)
            }))]))
            return
        }
        if differences.isEmpty { print("no plan differences"); return }
        let table = TextTable([("found on", false), ("partner", false), ("loan", false), ("period", true), ("field", false),
                               ("ours", true), ("theirs", true)])
        for line in table.render(differences.map { difference in
            [difference.businessDate, difference.partner, difference.loanID, difference.period == 0 ? "loan" : String(difference.period),
             difference.field, shown(difference.ours, field: difference.field), shown(difference.theirs, field: difference.field)]
        }) {
            print(line)
        }
    }

    static func minor(_ stored: String?) -> Int64? {
        guard let stored, case .success(let minor) = AmountText.minor(stored) else { return nil }
        return minor
    }

    /// A value as reckon prints it: amounts grouped (1,049.42), "missing" for nothing.
    func shown(_ stored: String?, field: String) -> String {
        guard let stored else { return "missing" }
        guard Self.amountFields.contains(field), let minor = Self.minor(stored) else { return stored }
        return AmountText.printed(units: minor)
    }
}
