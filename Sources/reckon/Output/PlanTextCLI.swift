import ReckonCore
import ReckonLedger

extension PlanText {
    static func json(_ plan: RepaymentPlan, payoff: (day: CivilDate, quote: (totalMinor: Int64, currentInterestMinor: Int64, currentPeriod: Int?))?) -> String {
        json(plan, payoff: payoff.map { ($0.day, $0.quote.totalMinor, $0.quote.currentInterestMinor, $0.quote.currentPeriod) })
    }

    static func table(_ view: Ledger.LoanPlanView) -> String {
        table(view.position, plan: view.plan,
              title: "loan \(view.loanID): product \(view.product), from \(view.partner), disbursed \(view.disbursedOn), \(view.currency)",
              payments: view.payments)
    }

    /// `mayChange`: the missing or refused repayments that may change the loan.
    static func json(_ view: Ledger.LoanPlanView, mayChange: [String] = []) -> String {
        json(view.position, plan: view.plan, loan: [
            ("loan_id", JSONText.quote(view.loanID)), ("product", JSONText.quote(view.product)),
            ("partner", JSONText.quote(view.partner)), ("currency", JSONText.quote(view.currency)),
            ("disbursed_on", JSONText.quote(view.disbursedOn)), ("may_change", JSONShape.strings(mayChange)),
        ])
    }
}
