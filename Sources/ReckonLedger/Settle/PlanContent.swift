import GRDB
import ReckonCore

/// The bank's plan file: the repayment plans of the loans disbursed on the day, period by
/// period, as our plan step made and keeps them (due date, principal, interest, fee, the
/// balance after the period, and whether it is open, settled or overdue).
struct PlanContent: OutboundContent {
    let date: CivilDate

    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws {
        let lines = try Row.fetchCursor(db, sql: """
            SELECT p.loan_id, json_extract(e.other_fields, '$.borrower_name'), p.period, p.due_on, p.principal_minor,
                   p.interest_minor, p.fee_minor, p.balance_minor, p.status
            FROM loan l JOIN plan_line p ON p.loan_id = l.loan_id LEFT JOIN event e ON e.id = l.event_id
            WHERE l.disbursed_on = ? ORDER BY p.loan_id, p.period
            """, arguments: [date.description])
        while let row = try lines.next() {
            let principal: Int64 = row[4], interest: Int64 = row[5], fee: Int64 = row[6]
            let status: String = row[8]
            try emit([
                "loan_id": .text(row[0]), "borrower_name": OutboundValue.text(row[1]), "period": .integer(row[2]),
                "due_on": OutboundValue.date(row[3]), "principal": OutboundValue.money(principal),
                "interest": OutboundValue.money(interest), "fee": OutboundValue.money(fee),
                "total": OutboundValue.money(principal + interest + fee), "balance": OutboundValue.money(row[7]),
                "status": .text(Self.bankStatus(status)),
            ])
        }
    }

    /// The bank's three states of a period (its plan layout's N, S, O).
    static func bankStatus(_ status: String) -> String {
        switch status {
        case "overdue": return "overdue"
        case "paid", "compensated", "settled": return "settled"
        default: return "open"
        }
    }
}
