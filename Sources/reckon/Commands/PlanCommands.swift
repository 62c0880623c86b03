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
            and early settlement by actual days at annual/360, every amount rounded half-up once \
            per period, the last period taking the residue, due dates on the contract day of each \
            month (the month's last day when it is shorter).

            A floating rate takes the base rate in effect on the start date from the base-rate \
            history reckon.yaml names (a fixing published on day P applies from P + 1): \
            --base 1y --spread 590bp. --product takes a configured product's method, pricing and \
            conventions; options given beside it override them.

            Example: reckon plan preview --principal 12000 --rate 9% --term 12 \
            --method equal-installment --start 2024-11-15
            """
    )

    @Option(help: "The principal, in currency units (12000 or 12000.00).")
    var principal: String

    @Option(help: "A fixed annual rate: 9% or 0.09.")
    var rate: String?

    @Option(help: "A floating rate's base tenor (1y, 5y), priced off the base-rate history.")
    var base: String?

    @Option(help: "The spread over the base rate, in basis points: 590 or 590bp.")
    var spread: String?

    @Option(help: "When a floating rate is repriced: anniversary, january-first or base-rate-change.")
    var repricing: String?

    @Option(help: "The term: months (12), or days for a bullet loan (90d).")
    var term: String?

    @Option(help: "equal-installment, equal-principal, interest-only, bullet or flat.")
    var method: String?

    @Option(help: "The disbursement date interest runs from.")
    var start: CivilDate

    @Option(help: "A fixed due day of the month (a broken first period when it is not the start day).")
    var dueDay: Int?

    @Option(help: "The first due date (a broken first period when it is not a month after the start).")
    var firstDue: CivilDate?

    @Option(help: "\(DayCount.choices).")
    var dayCount: String?

    @Option(help: "half-up or half-even.")
    var rounding: String?

    @Option(help: "A due date on a non-working day: \(NonWorkingDueDate.choices) (uses the configured calendar).")
    var nonWorking: String?

    @Option(help: "A service fee each period: an amount (5.00), or a share of the principal (0.3%).")
    var fee: String?

    @Option(help: "Take method, pricing and conventions from this configured product.")
    var product: String?

    @Option(help: "Also quote the early-settlement pay-off on this day, every earlier period paid on its due date.")
    var payoffOn: CivilDate?

    @Flag(help: "Print JSON instead of a table.")
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
        guard let minor = RateText.amountMinor(principal), minor > 0 else {
            throw ValidationError("--principal takes an amount with at most two decimals, like 12000 or 12000.00")
        }
        var settings = ProductPlanSettings(method: .equalInstallment)
        var config: ReckonConfig?
        func loadedConfig() throws -> ReckonConfig {
            if let config { return config }
            config = try options.load()
            return config!
        }
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
        if let rate {
            guard let fixed = RateText.annualRate(rate) else { throw ValidationError("--rate takes an annual rate: 9% or 0.09") }
            settings.pricing = .fixed(fixed)
        } else if let base {
            guard let spread = RateText.basisPoints(spread ?? "0") else { throw ValidationError("--spread takes basis points: 590 or 590bp") }
            var rule: RepricingRule?
            if let repricing {
                guard let parsed = RepricingRule(text: repricing) else {
                    throw ValidationError("--repricing takes \(RepricingRule.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                rule = parsed
            }
            settings.pricing = .floating(tenor: base, spreadBasisPoints: spread, repricing: rule)
        } else if product == nil {
            throw ValidationError("give --rate, --base with --spread, or --product")
        }
        var termCount: Int
        if let term {
            if term.hasSuffix("d"), let days = Int(term.dropLast()) {
                settings.termUnit = .days
                termCount = days
            } else if let months = Int(term) {
                settings.termUnit = .months
                termCount = months
            } else {
                throw ValidationError("--term takes months (12) or days (90d)")
            }
        } else if let range = settings.term {
            termCount = range.upperBound
        } else {
            throw ValidationError("give --term")
        }
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
        if let dueDay { settings.dueDay = dueDay }
        if let fee {
            if fee.hasSuffix("%"), let rate = RateText.annualRate(fee) {
                settings.fee = .principalRate(rate)
            } else if let minor = RateText.amountMinor(fee) {
                settings.fee = .fixed(minor)
            } else {
                throw ValidationError("--fee takes an amount (5.00) or a share of the principal (0.3%)")
            }
        }

        // The calendar and base rates come from the configuration's files, when needed.
        var reference = ReferenceData(calendar: nil, baseRates: BaseRateTable())
        var floating = false
        if case .floating = settings.pricing { floating = true }
        if floating || settings.nonWorkingDueDate != .keep {
            reference = try loadReference(try loadedConfig())
        }
        do {
            let contract = try LoanContract(settings: settings, principalMinor: minor, term: termCount, startDate: start,
                                            firstDueDate: firstDue, statedRate: nil)
            return try contract.planTerms(calendar: reference.calendar, baseRates: reference.baseRates)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
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
            (default: the last business day the plan step brought the loan to). Penalty interest \
            accrues on each overdue period from the day after its due date.
            """
    )

    @Argument(help: "The loan id.")
    var loan: String

    @Option(help: "The day to show the loan as of.")
    var asOf: CivilDate?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.readingLedger(config)
        let view: Ledger.LoanPlanView?
        do {
            view = try ledger.loanPlan(loan, asOf: asOf, config: config, reference: try ReferenceData.load(config))
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        guard let view else {
            printError("reckon: no plan for loan '\(loan)' in \(ledger.path) (plans are made by the plan step of reckon batch)")
            throw ExitCode.failure
        }
        print(json ? PlanText.json(view) : PlanText.table(view), terminator: json ? "\n" : "")
    }
}

struct PlanAlerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List the alerts the plan step raised: loans without a partner plan, plans that failed, repayments that did not fit."
    )

    @Option(help: "Only alerts raised on this business day.")
    var date: BusinessDate?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let alerts = try options.readingLedger(config).alerts(date: date?.date)
        if alerts.isEmpty { print("no alerts"); return }
        for alert in alerts {
            print("\(alert.businessDate)  \(alert.kind)  \(alert.message)" + (alert.clearedOn.map { "  (cleared \($0))" } ?? ""))
        }
    }
}

struct PlanDifferences: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "differences",
        abstract: "List where partners' plans (and disbursement records) differ from ours, period by period."
    )

    @Option(help: "Only differences found on this business day.")
    var date: BusinessDate?

    @Option(help: "Only this loan.")
    var loan: String?

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let differences = try options.readingLedger(config).planDifferences(date: date?.date, loan: loan)
        if differences.isEmpty { print("no plan differences"); return }
        for difference in differences {
            let period = difference.period == 0 ? "loan" : "period \(difference.period)"
            print("\(difference.businessDate)  \(difference.partner)  \(difference.loanID) \(period) \(difference.field): "
                  + "ours \(difference.ours ?? "missing"), theirs \(difference.theirs ?? "missing")")
        }
    }
}
