import GRDB
import ReckonCore

/// The bank's settlement file: what was collected on the day, per loan and plan period, as
/// our plan step applied each repayment (principal, interest, penalty, fee), from the files
/// that post (ours); the guarantor's compensations are the repayments of type
/// `compensation`. Then the adjustments of breaks resolved the day before (``postAdjustment``
/// dates them for this day), with the break's number. Failed repayments are not applied, so
/// they are not here; an amount a repayment paid beyond what was due (unapplied) is not
/// settled either, and stays an alert.
struct SettlementContent: OutboundContent {
    let date: CivilDate
    let postingSlots: [String]

    /// What the bank is told each kind of line is, in its own words (GBK in the file).
    static let remarks = ["normal": "正常还款", "early_settlement": "提前还款", "overdue": "逾期还款", "compensation": "担保代偿",
                          "adjustment": "差错调整"]

    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws {
        var sequence: Int64 = 0
        let collections = try Row.fetchCursor(db, sql: """
            SELECT e.loan_id, a.period, json_extract(e.other_fields, '$.repay_type'), e.event_date, e.reference, e.currency,
                   a.principal_minor, a.interest_minor, a.penalty_minor, a.fee_minor
            FROM received_file f
            JOIN event e ON e.id BETWEEN f.first_event_id AND f.last_event_id
            JOIN repayment_allocation a ON a.event_id = e.id
            WHERE f.business_date = ? AND f.status = 'posted' AND e.kind = 'repayment' AND e.active = 1
              AND f.partner || '/' || f.file_type IN \(PostingSlots.placeholders(postingSlots))
              AND a.principal_minor + a.interest_minor + a.penalty_minor + a.fee_minor <> 0
            ORDER BY f.name, e.line, a.period
            """, arguments: StatementArguments([date.description] + postingSlots))
        while let row = try collections.next() {
            sequence += 1
            let type: String = row[2] ?? "normal"
            let parts: [Int64] = [row[6], row[7], row[8], row[9]]
            try emit([
                "sequence": .integer(sequence), "loan_id": OutboundValue.text(row[0]), "period": OutboundValue.integer(row[1]),
                "repay_type": .text(type), "paid_on": OutboundValue.date(row[3]),
                "principal": OutboundValue.money(parts[0]), "interest": OutboundValue.money(parts[1]),
                "penalty": OutboundValue.money(parts[2]), "fee": OutboundValue.money(parts[3]),
                "total": OutboundValue.money(parts.reduce(0, +)), "currency": .text(row[5]),
                "channel_reference": OutboundValue.text(row[4]), "status": .text("settled"),
                "break_id": .empty, "remark": OutboundValue.text(Self.remarks[type]),
            ])
        }
        // An adjustment's loan is its break's first item's, when that item is a loan's record.
        let adjustments = try Row.fetchCursor(db, sql: """
            SELECT b.id, b.adjustment_minor, b.currency, j.business_date,
                   (SELECT e.loan_id FROM recon_break_item i JOIN event e ON e.id = CAST(substr(i.ref, 2) AS INTEGER)
                    WHERE i.break_id = b.id AND substr(i.ref, 1, 1) IN ('e', 'a') AND e.loan_id IS NOT NULL
                    ORDER BY i.side, i.role DESC, i.ref LIMIT 1)
            FROM recon_break b JOIN journal_entry j ON j.id = b.adjustment_entry_id
            WHERE b.settle_on = ? ORDER BY b.id
            """, arguments: [date.description])
        while let row = try adjustments.next() {
            sequence += 1
            let amount: Int64 = row[1]
            try emit([
                "sequence": .integer(sequence), "loan_id": OutboundValue.text(row[4]), "period": .empty,
                "repay_type": .text("adjustment"), "paid_on": OutboundValue.date(row[3]),
                "principal": OutboundValue.money(0), "interest": OutboundValue.money(0),
                "penalty": OutboundValue.money(0), "fee": OutboundValue.money(0),
                "total": OutboundValue.money(amount), "currency": .text(row[2]),
                "channel_reference": .empty, "status": .text("settled"),
                "break_id": .integer(row[0]), "remark": .text(Self.remarks["adjustment"]!),
            ])
        }
    }
}
