import Foundation
import GRDB
import ReckonCore

/// How much an alert matters (seed 000 §19): `critical` wants someone now, `warning` today,
/// `info` is for the record.
public enum AlertSeverity: String, Sendable, CaseIterable, Codable {
    case info, warning, critical
}

/// Alerts raised inside a write transaction: one per code and subject, whichever step raises
/// it, so a re-run never raises the same alert twice.
enum AlertBook {
    /// Raises an alert dated `day`; returns true when it is new. Raised again for an earlier
    /// day (a day run after later ones), an alert not yet cleared takes the earlier day.
    @discardableResult
    static func raise(_ db: Database, code: String, severity: AlertSeverity, subject: String, day: String,
                      message: String, cleared: String? = nil, at time: String) throws -> Bool {
        let raisedBefore = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM alert WHERE kind = ? AND subject = ?"),
                                             arguments: [code, subject]) ?? false
        try db.cachedStatement(sql: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at, cleared_on, severity) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (kind, subject) DO UPDATE SET business_date = excluded.business_date, message = excluded.message
              WHERE excluded.business_date < alert.business_date AND alert.cleared_on IS NULL
            """).execute(arguments: [day, code, subject, message, time, cleared, severity.rawValue])
        return !raisedBefore && db.changesCount > 0
    }

    /// Clears an alert (what it was about has come or been made good) as of `day`.
    static func clear(_ db: Database, code: String, subject: String, day: String) throws {
        try db.cachedStatement(sql: "UPDATE alert SET cleared_on = ? WHERE kind = ? AND subject = ? AND cleared_on IS NULL")
            .execute(arguments: [day, code, subject])
    }
}
