import Foundation

/// Plans and loan positions as text for people (tables) and programs (JSON: amounts as
/// integers in minor units, rates as decimal fractions in strings).
public enum PlanText {
    /// 1234567 minor units as `12,345.67` (see ``AmountText/printed(units:scale:)``).
    public static func money(_ minor: Int64) -> String {
        AmountText.printed(units: minor, scale: 2)
    }

    static func method(_ method: RepaymentMethod) -> String { method.rawValue.replacingOccurrences(of: "-", with: " ") }

    static func term(_ terms: PlanTerms) -> String {
        "\(terms.term) \(terms.termUnit == .months ? (terms.term == 1 ? "month" : "months") : (terms.term == 1 ? "day" : "days"))"
    }

    /// The plan's conventions in one line.
    static func conventions(_ plan: RepaymentPlan) -> String {
        var parts = ["day count \(plan.terms.dayCount)", "rounding \(plan.terms.rounding.rawValue)"]
        if plan.terms.nonWorkingDueDate != .keep {
            parts.append("due on a non-working day: \(plan.terms.nonWorkingDueDate)")
            if let calendar = plan.terms.calendar, let uncovered = plan.lines.first(where: { !calendar.covers($0.scheduledDate) }),
               let first = calendar.years.min(), let last = calendar.years.max() {
                parts.append("calendar \(calendar.name) covers \(first)–\(last): from \(uncovered.scheduledDate) only weekends are non-working")
            }
        }
        if let floating = plan.terms.floating {
            parts.append("\(floating.tenor) base + \(floating.spreadBasisPoints) bp"
                         + (floating.repricing.map { ", repriced on \($0.rawValue)" } ?? ""))
        }
        if let installment = plan.installmentMinor { parts.append("installment \(money(installment))") }
        return parts.joined(separator: "; ")
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = true) -> String {
        let gap = String(repeating: " ", count: max(0, width - text.count))
        return right ? gap + text : text + gap
    }

    /// The plan as a table with totals.
    public static func table(_ plan: RepaymentPlan) -> String {
        let terms = plan.terms
        let repriced = plan.lines.contains { $0.annualRate != plan.annualRate }
        let fees = plan.feeMinor > 0
        var text = "\(money(terms.principalMinor)) at \(RateText.percent(plan.annualRate)) a year over \(term(terms)), "
            + "\(method(terms.method)), from \(terms.startDate)\n"
        text += conventions(plan) + "\n\n"
        var header = pad("#", 4) + "  " + pad("due", 10, right: false) + pad("days", 6)
        if repriced { header += pad("rate", 9) }
        header += pad("principal", 14) + pad("interest", 12) + (fees ? pad("fee", 10) : "") + pad("total", 14) + pad("balance", 14)
        text += header + "\n"
        for line in plan.lines {
            var row = pad(String(line.period), 4) + "  " + line.dueDate.description + pad(String(line.days), 6)
            if repriced { row += pad(RateText.percent(line.annualRate), 9) }
            row += pad(money(line.principalMinor), 14) + pad(money(line.interestMinor), 12) + (fees ? pad(money(line.feeMinor), 10) : "")
                + pad(money(line.totalMinor), 14) + pad(money(line.balanceMinor), 14)
            if line.dueDate != line.scheduledDate { row += "  (scheduled \(line.scheduledDate))" }
            text += row + "\n"
        }
        text += pad("", 4) + "  " + pad("total", 10, right: false) + pad("", 6) + (repriced ? pad("", 9) : "")
            + pad(money(plan.principalMinor), 14) + pad(money(plan.interestMinor), 12) + (fees ? pad(money(plan.feeMinor), 10) : "")
            + pad(money(plan.totalMinor), 14) + "\n"
        return text
    }

    /// A loan's plan as of a day: what each period owed, what was paid, its status and penalty.
    public static func table(_ position: LoanPosition, plan: RepaymentPlan, title: String,
                             payments: [LoanPayment] = []) -> String {
        var text = title + "\n"
        text += "\(money(plan.terms.principalMinor)) at \(RateText.percent(plan.annualRate)) a year over \(term(plan.terms)), "
            + "\(method(plan.terms.method)), from \(plan.terms.startDate)\n\(conventions(plan))\n"
        let status = position.settledOn.map { "settled on \($0)" }
            ?? (position.lines.allSatisfy(\.isClosed) ? "paid off" : "active")
        text += "as of \(position.asOf): \(status); outstanding principal \(money(position.outstandingPrincipalMinor)), "
            + "unpaid penalty \(money(position.unpaidPenaltyMinor))\n\n"
        let fees = plan.feeMinor > 0
        func paid(_ state: PlanLineState) -> Int64 {
            state.paidPrincipalMinor + state.paidInterestMinor + state.paidPenaltyMinor + state.paidFeeMinor
        }
        // Amount columns as wide as their widest figure, two spaces apart: the table fits
        // 120 columns with its status, whatever the loan's size.
        func width(_ header: String, _ amount: (PlanLineState) -> Int64) -> Int {
            max(header.count, position.lines.map { money(amount($0)).count }.max() ?? 0) + 2
        }
        let principalWidth = width("principal") { $0.line.principalMinor }, interestWidth = width("interest") { $0.interestDueMinor }
        let feeWidth = width("fee") { $0.feeDueMinor }, paidWidth = width("paid", paid), penaltyWidth = width("penalty") { $0.penaltyAccruedMinor }
        text += pad("#", 4) + "  " + pad("due", 10, right: false) + pad("principal", principalWidth) + pad("interest", interestWidth)
            + (fees ? pad("fee", feeWidth) : "") + pad("paid", paidWidth) + pad("penalty", penaltyWidth) + "  status\n"
        for state in position.lines {
            let paid = paid(state)
            var status = state.status.rawValue
            switch state.status {
            case .overdue: status += " \(state.overdueDays) day\(state.overdueDays == 1 ? "" : "s")"
            case .paid, .compensated, .settled: status += state.closedOn.map { " \($0)" } ?? ""
            case .open, .due: if paid > 0 { status += ", part paid" }
            }
            if let point = state.compensationPoint, state.status == .overdue {
                status += "; guarantor due \(point.date) \(point.date <= position.asOf ? "(passed)" : "")"
            }
            text += pad(String(state.line.period), 4) + "  " + state.line.dueDate.description
                + pad(money(state.line.principalMinor), principalWidth) + pad(money(state.interestDueMinor), interestWidth)
                + (fees ? pad(money(state.feeDueMinor), feeWidth) : "") + pad(money(paid), paidWidth)
                + pad(money(state.penaltyAccruedMinor), penaltyWidth) + "  " + status + "\n"
        }
        if !payments.isEmpty {
            text += "\npayments\n"
            for payment in payments.sorted(by: { ($0.paidOn, $0.id) < ($1.paidOn, $1.id) }) where payment.paidOn <= position.asOf {
                let parts = position.allocations.filter { $0.paymentID == payment.id }.map { allocation -> String in
                    var pieces: [String] = []
                    if allocation.penaltyMinor > 0 { pieces.append("penalty \(money(allocation.penaltyMinor))") }
                    if allocation.feeMinor > 0 { pieces.append("fee \(money(allocation.feeMinor))") }
                    if allocation.interestMinor > 0 { pieces.append("interest \(money(allocation.interestMinor))") }
                    if allocation.principalMinor > 0 { pieces.append("principal \(money(allocation.principalMinor))") }
                    return "period \(allocation.period): " + pieces.joined(separator: ", ")
                }
                let unapplied = position.unapplied.filter { $0.paymentID == payment.id }.map { "unapplied \(money($0.amountMinor))" }
                text += "  \(payment.paidOn)  \(payment.kind.rawValue)  \(money(payment.amountMinor))  → "
                    + (parts + unapplied).joined(separator: "; ") + "\n"
            }
        }
        return text
    }

    static func line(_ line: PlanLine) -> [(String, String)] {
        [("period", String(line.period)), ("accrual_start", JSONText.quote(line.accrualStart.description)),
         ("scheduled_on", JSONText.quote(line.scheduledDate.description)), ("due_on", JSONText.quote(line.dueDate.description)),
         ("days", String(line.days)), ("annual_rate", JSONText.quote("\(line.annualRate)")),
         ("principal_minor", String(line.principalMinor)), ("interest_minor", String(line.interestMinor)),
         ("fee_minor", String(line.feeMinor)), ("total_minor", String(line.totalMinor)), ("balance_minor", String(line.balanceMinor))]
    }

    static func planMembers(_ plan: RepaymentPlan) -> [(String, String)] {
        let terms = plan.terms
        var members: [(String, String)] = [
            ("principal_minor", String(terms.principalMinor)), ("annual_rate", JSONText.quote("\(plan.annualRate)")),
            ("method", JSONText.quote(terms.method.rawValue)), ("term", String(terms.term)),
            ("term_unit", JSONText.quote(terms.termUnit.rawValue)), ("start", JSONText.quote(terms.startDate.description)),
            ("day_count", JSONText.quote(terms.dayCount.description)), ("rounding", JSONText.quote(terms.rounding.rawValue)),
            ("non_working_due_date", JSONText.quote(terms.nonWorkingDueDate.description)),
        ]
        if let installment = plan.installmentMinor { members.append(("installment_minor", String(installment))) }
        members.append(("lines", "[" + plan.lines.map { JSONText.object(line($0)) }.joined(separator: ",") + "]"))
        members.append(("totals", JSONText.object([("principal_minor", String(plan.principalMinor)),
                                                   ("interest_minor", String(plan.interestMinor)),
                                                   ("fee_minor", String(plan.feeMinor)),
                                                   ("total_minor", String(plan.totalMinor))])))
        return members
    }

    /// The plan as one JSON object; with a pay-off quote when one was asked for.
    public static func json(_ plan: RepaymentPlan, payoff: (day: CivilDate, totalMinor: Int64, interestMinor: Int64, period: Int?)? = nil) -> String {
        var members = planMembers(plan)
        if let payoff {
            members.append(("payoff", JSONText.object([
                ("on", JSONText.quote(payoff.day.description)), ("total_minor", String(payoff.totalMinor)),
                ("current_interest_minor", String(payoff.interestMinor)),
                ("current_period", payoff.period.map(String.init) ?? "null"),
            ])))
        }
        return JSONText.object(members)
    }

    /// A loan's plan and position as one JSON object.
    public static func json(_ position: LoanPosition, plan: RepaymentPlan, loan: [(String, String)]) -> String {
        let states = position.lines.map { state -> String in
            JSONText.object(line(state.line) + [
                ("interest_due_minor", String(state.interestDueMinor)), ("fee_due_minor", String(state.feeDueMinor)),
                ("paid_principal_minor", String(state.paidPrincipalMinor)), ("paid_interest_minor", String(state.paidInterestMinor)),
                ("paid_penalty_minor", String(state.paidPenaltyMinor)), ("paid_fee_minor", String(state.paidFeeMinor)),
                ("penalty_accrued_minor", String(state.penaltyAccruedMinor)), ("status", JSONText.quote(state.status.rawValue)),
                ("closed_on", state.closedOn.map { JSONText.quote($0.description) } ?? "null"),
                ("overdue_days", String(state.overdueDays)),
            ])
        }
        let allocations = position.allocations.map {
            JSONText.object([("payment", String($0.paymentID)), ("period", String($0.period)), ("penalty_minor", String($0.penaltyMinor)),
                             ("fee_minor", String($0.feeMinor)), ("interest_minor", String($0.interestMinor)),
                             ("principal_minor", String($0.principalMinor))])
        }
        var members = loan + [("as_of", JSONText.quote(position.asOf.description))]
        members += planMembers(plan).filter { $0.0 != "lines" }
        members.append(("settled_on", position.settledOn.map { JSONText.quote($0.description) } ?? "null"))
        members.append(("outstanding_principal_minor", String(position.outstandingPrincipalMinor)))
        members.append(("unpaid_penalty_minor", String(position.unpaidPenaltyMinor)))
        members.append(("lines", "[" + states.joined(separator: ",") + "]"))
        members.append(("allocations", "[" + allocations.joined(separator: ",") + "]"))
        return JSONText.object(members)
    }
}
