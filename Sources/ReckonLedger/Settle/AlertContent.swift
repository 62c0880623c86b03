import GRDB
import ReckonCore

/// The day's alert file: every alert dated the business day, by code and subject. The time
/// an alert was raised is left out: it is the clock of whichever run raised it first, and
/// the same ledger state must give the same bytes however it was reached.
struct AlertContent: OutboundContent {
    let date: CivilDate

    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws {
        let alerts = try Row.fetchCursor(db, sql: """
            SELECT business_date, severity, kind, subject, message, cleared_on FROM alert
            WHERE business_date = ? ORDER BY kind, subject
            """, arguments: [date.description])
        while let row = try alerts.next() {
            try emit([
                "business_date": OutboundValue.date(row[0]), "severity": .text(row[1]), "code": .text(row[2]),
                "subject": .text(row[3]), "message": .text(row[4]), "cleared_on": OutboundValue.date(row[5]),
            ])
        }
    }
}
