import Foundation

/// Money received for a loan, as the servicing rules see it.
public struct LoanPayment: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case normal, overdue, compensation
        /// 提前结清: pays everything off; the current period's interest runs to the payment day.
        case earlySettlement = "early_settlement"
    }

    /// Where the payment came from (the repayment's event id), for the allocation record.
    public let id: Int64
    public let paidOn: CivilDate
    public let amountMinor: Int64
    public let kind: Kind
    /// The period the payer named, when it did: a normal payment reaches no further.
    public let period: Int?

    public init(id: Int64, paidOn: CivilDate, amountMinor: Int64, kind: Kind, period: Int? = nil) {
        self.id = id
        self.paidOn = paidOn
        self.amountMinor = amountMinor
        self.kind = kind
        self.period = period
    }
}

/// Where part of a payment went.
public struct PaymentAllocation: Sendable, Hashable {
    public let paymentID: Int64
    public let period: Int
    public var penaltyMinor: Int64 = 0
    public var feeMinor: Int64 = 0
    public var interestMinor: Int64 = 0
    public var principalMinor: Int64 = 0
    public var totalMinor: Int64 { penaltyMinor + feeMinor + interestMinor + principalMinor }

    public init(paymentID: Int64, period: Int, penaltyMinor: Int64 = 0, feeMinor: Int64 = 0,
                interestMinor: Int64 = 0, principalMinor: Int64 = 0) {
        self.paymentID = paymentID
        self.period = period
        self.penaltyMinor = penaltyMinor
        self.feeMinor = feeMinor
        self.interestMinor = interestMinor
        self.principalMinor = principalMinor
    }
}

/// One plan line as of a day: what was due, what was paid, what is late.
public struct PlanLineState: Sendable, Hashable {
    public enum Status: String, Sendable {
        /// Not yet due.
        case open
        /// Due today.
        case due
        /// Past its due date and not fully paid.
        case overdue
        case paid
        /// Paid by the guarantor.
        case compensated
        /// Closed by an early settlement.
        case settled
    }

    public let line: PlanLine
    /// What the period charges: its interest changes when an early settlement closes it.
    public var interestDueMinor: Int64
    public var feeDueMinor: Int64 = 0
    public var paidPrincipalMinor: Int64 = 0
    public var paidInterestMinor: Int64 = 0
    public var paidPenaltyMinor: Int64 = 0
    public var paidFeeMinor: Int64 = 0
    /// Penalty interest accrued so far, rounded once from its exact value.
    public var penaltyAccruedMinor: Int64 = 0
    public var status: Status = .open
    /// The day the line was paid, compensated or settled.
    public var closedOn: CivilDate?
    /// Days past the due date (as of the day asked about), while not paid.
    public var overdueDays = 0
    /// When the guarantor is due to pay this period, for products with a guarantee.
    public var compensationPoint: DateTime?

    /// Penalty accrued so far times the day count's year: kept undivided, so it is exact.
    var penaltyNumerator = Decimal(0)
    var penaltyAccruedTo: CivilDate

    init(line: PlanLine) {
        self.line = line
        interestDueMinor = line.interestMinor
        feeDueMinor = line.feeMinor
        penaltyAccruedTo = line.dueDate
    }

    public var unpaidPrincipalMinor: Int64 { line.principalMinor - paidPrincipalMinor }
    public var unpaidInterestMinor: Int64 { interestDueMinor - paidInterestMinor }
    public var unpaidPenaltyMinor: Int64 { penaltyAccruedMinor - paidPenaltyMinor }
    public var unpaidFeeMinor: Int64 { feeDueMinor - paidFeeMinor }
    public var unpaidMinor: Int64 { unpaidPrincipalMinor + unpaidInterestMinor + unpaidPenaltyMinor + unpaidFeeMinor }
    public var isClosed: Bool { status == .paid || status == .compensated || status == .settled }
}

/// A loan as of a day: its plan lines' states and where every payment went.
public struct LoanPosition: Sendable {
    public let asOf: CivilDate
    public var lines: [PlanLineState]
    public var allocations: [PaymentAllocation] = []
    /// Money received beyond what the payments could be applied to, by payment.
    public var unapplied: [(paymentID: Int64, amountMinor: Int64)] = []
    /// Early settlements that did not cover the pay-off (applied as partial payments).
    public var shortSettlements: [(paymentID: Int64, payoffMinor: Int64, paidMinor: Int64)] = []
    /// The pay-off quoted for every early settlement on its day, whether it covered it or not.
    public var settlementQuotes: [(paymentID: Int64, payoffMinor: Int64)] = []
    public var settledOn: CivilDate?

    public var outstandingPrincipalMinor: Int64 { lines.reduce(0) { $0 + $1.unpaidPrincipalMinor } }
    public var overdueLines: [PlanLineState] { lines.filter { $0.status == .overdue } }
    public var unpaidPenaltyMinor: Int64 { lines.reduce(0) { $0 + $1.unpaidPenaltyMinor } }
}

/// Applies payments to a plan and accrues penalty interest. Pure, and independent of the
/// order payments arrive in: they are applied by day, then by id.
///
/// - Within a period, money goes to penalty, fee, interest, then principal; periods are
///   paid oldest first.
/// - Penalty interest accrues on an overdue period for each day after its due date, on its
///   unpaid principal (or unpaid installment) at contract rate × the penalty factor, by the
///   day count's daily rate; it is rounded once from its exact running total.
/// - An early settlement closes the current period with interest by actual days from its
///   start to the payment day, and marks it and every later period settled.
public enum LoanServicing {
    public static func position(plan: RepaymentPlan, servicing: ServicingTerms, payments: [LoanPayment],
                                asOf: CivilDate) -> LoanPosition {
        var application = Application(plan: plan, servicing: servicing, asOf: asOf)
        let ordered = payments.filter { $0.paidOn <= asOf }.sorted { ($0.paidOn, $0.id) < ($1.paidOn, $1.id) }
        for payment in ordered { application.apply(payment) }
        application.close(asOf: asOf)
        return application.position
    }

    /// The amount that pays a loan off on `day`: what is past due (with penalty to that
    /// day), the current period's interest by actual days, and all remaining principal.
    public static func payoff(plan: RepaymentPlan, servicing: ServicingTerms, payments: [LoanPayment],
                              on day: CivilDate) -> (totalMinor: Int64, currentInterestMinor: Int64, currentPeriod: Int?) {
        let position = self.position(plan: plan, servicing: servicing, payments: payments, asOf: day)
        guard let quote = Application.quote(position, on: day, plan: plan) else {
            return (position.lines.reduce(0) { $0 + ($1.isClosed ? 0 : $1.unpaidMinor) }, 0, nil)
        }
        return (quote.totalMinor, quote.interestMinor, position.lines[quote.current].line.period)
    }

    /// Payments applied one at a time to a position.
    struct Application {
        let plan: RepaymentPlan
        let servicing: ServicingTerms
        var position: LoanPosition

        init(plan: RepaymentPlan, servicing: ServicingTerms, asOf: CivilDate) {
            self.plan = plan
            self.servicing = servicing
            position = LoanPosition(asOf: asOf, lines: plan.lines.map(PlanLineState.init))
        }

        mutating func apply(_ payment: LoanPayment) {
            var amount = payment.amountMinor
            guard amount > 0 else { return }
            if payment.kind == .earlySettlement, settle(payment, &amount) {
                if amount > 0 { position.unapplied.append((payment.id, amount)) }
                return
            }
            // Oldest open period first, up to the period the payer named (or the first one
            // not yet due).
            let reach = payment.period
                ?? position.lines.first { $0.line.dueDate >= payment.paidOn }?.line.period
                ?? position.lines.count
            for index in position.lines.indices where !position.lines[index].isClosed && position.lines[index].line.period <= reach {
                guard amount > 0 else { break }
                pay(index, &amount, payment)
            }
            if amount > 0 { position.unapplied.append((payment.id, amount)) }
        }

        /// Accrues penalty to `asOf` and sets every line's status.
        mutating func close(asOf: CivilDate) {
            for index in position.lines.indices {
                accruePenalty(index, to: asOf)
                var state = position.lines[index]
                if let days = servicing.compensationDays, let day = state.line.dueDate.adding(days: days) {
                    state.compensationPoint = DateTime(date: day, time: servicing.compensationTime)
                }
                if !state.isClosed {
                    if state.line.dueDate < asOf {
                        state.status = .overdue
                        state.overdueDays = state.line.dueDate.days(to: asOf)
                    } else {
                        state.status = state.line.dueDate == asOf ? .due : .open
                    }
                }
                position.lines[index] = state
            }
        }

        mutating func accruePenalty(_ index: Int, to day: CivilDate) {
            var state = position.lines[index]
            guard !state.isClosed, day > state.penaltyAccruedTo else { return }
            let base = servicing.penaltyBase == .overduePrincipal
                ? state.unpaidPrincipalMinor : state.unpaidPrincipalMinor + state.unpaidInterestMinor
            let days = state.penaltyAccruedTo.days(to: day)
            state.penaltyNumerator += Decimal(base) * Decimal(days) * state.line.annualRate * servicing.penaltyFactor
            state.penaltyAccruedMinor = plan.terms.rounding.round(state.penaltyNumerator / Decimal(plan.terms.dayCount.yearDays))
            state.penaltyAccruedTo = day
            position.lines[index] = state
        }

        /// Pays line `index` from `amount` in the order penalty, fee, interest, principal.
        mutating func pay(_ index: Int, _ amount: inout Int64, _ payment: LoanPayment) {
            accruePenalty(index, to: payment.paidOn)
            var state = position.lines[index]
            var allocation = PaymentAllocation(paymentID: payment.id, period: state.line.period)
            func take(_ owed: Int64) -> Int64 {
                let part = min(max(owed, 0), amount)
                amount -= part
                return part
            }
            allocation.penaltyMinor = take(state.unpaidPenaltyMinor)
            allocation.feeMinor = take(state.unpaidFeeMinor)
            allocation.interestMinor = take(state.unpaidInterestMinor)
            allocation.principalMinor = take(state.unpaidPrincipalMinor)
            state.paidPenaltyMinor += allocation.penaltyMinor
            state.paidFeeMinor += allocation.feeMinor
            state.paidInterestMinor += allocation.interestMinor
            state.paidPrincipalMinor += allocation.principalMinor
            if state.unpaidMinor == 0 && !state.isClosed {
                state.status = payment.kind == .compensation ? .compensated : .paid
                state.closedOn = payment.paidOn
            }
            position.lines[index] = state
            if allocation.totalMinor > 0 { position.allocations.append(allocation) }
        }

        /// Applies an early settlement when it covers the pay-off; returns false (nothing
        /// applied) when it does not, so it is applied as a partial payment instead.
        mutating func settle(_ payment: LoanPayment, _ amount: inout Int64) -> Bool {
            let day = payment.paidOn
            for index in position.lines.indices { accruePenalty(index, to: day) }
            guard let (current, interest, payoff) = Self.quote(position, on: day, plan: plan) else { return false }
            position.settlementQuotes.append((payment.id, payoff))
            guard amount >= payoff else {
                position.shortSettlements.append((payment.id, payoff, amount))
                return false
            }
            for index in 0..<current where !position.lines[index].isClosed {
                pay(index, &amount, payment)
            }
            for index in current..<position.lines.count where !position.lines[index].isClosed {
                // The current period charges interest to the payment day and its fee; later
                // ones neither.
                let paid = position.lines[index].paidInterestMinor
                position.lines[index].interestDueMinor = index == current ? max(interest, paid) : paid
                if index > current { position.lines[index].feeDueMinor = position.lines[index].paidFeeMinor }
                pay(index, &amount, payment)
                position.lines[index].status = .settled
                position.lines[index].closedOn = day
            }
            position.settledOn = day
            return true
        }

        /// The pay-off on `day` of a position whose penalty has accrued to that day; nil when
        /// no period runs past it. The current period is the first open one scheduled after
        /// `day`; later periods owe only their principal.
        static func quote(_ position: LoanPosition, on day: CivilDate, plan: RepaymentPlan)
            -> (current: Int, interestMinor: Int64, totalMinor: Int64)? {
            guard let current = position.lines.firstIndex(where: { !$0.isClosed && $0.line.scheduledDate > day }) else {
                return nil
            }
            let state = position.lines[current]
            let balance = position.lines[current...].reduce(Int64(0)) { $0 + $1.unpaidPrincipalMinor }
            let days = max(0, state.line.accrualStart.days(to: day))
            let interest = Interest.rounded(base: balance, rate: state.line.annualRate, days: days,
                                            yearDays: plan.terms.dayCount.yearDays, rounding: plan.terms.rounding)
            var total = Int64(0)
            for (index, state) in position.lines.enumerated() where !state.isClosed {
                if index < current {
                    total += state.unpaidMinor
                } else if index == current {
                    total += state.unpaidPrincipalMinor + max(0, interest - state.paidInterestMinor)
                        + state.unpaidPenaltyMinor + state.unpaidFeeMinor
                } else {
                    total += state.unpaidPrincipalMinor
                }
            }
            return (current, interest, total)
        }
    }
}
