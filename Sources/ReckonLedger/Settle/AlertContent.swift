import GRDB
import ReckonCore

/// The day's alert file: every alert dated the business day, by code and subject, with the
/// time it was first raised as the ledger keeps it (never the run's clock).
struct AlertContent: OutboundContent {
    let date: CivilDate

    func records(_ db: Database, emit: ([String: FieldValue]) throws -> Void) throws {
        let alerts = try Row.fetchCursor(db, sql: """
            SELECT business_date, severity, kind, subject, message, raised_at, cleared_on FROM alert
            WHERE business_date = ? ORDER BY kind, subject
            """, arguments: [date.description])
        while let row = try alerts.next() {
            try emit([
                "business_date": OutboundValue.date(row[0]), "severity": .text(row[1]), "code": .text(row[2]),
                "subject": .text(row[3]), "message": .text(row[4]), "raised_at": .text(row[5]),
                "cleared_on": OutboundValue.date(row[6]),
            ])
        }
    }
}
