import Foundation
import GRDB
import ReckonCore

/// How much an alert matters (seed 000 §19): `critical` wants someone now, `warning` today,
/// `info` is for the record.
public enum AlertSeverity: String, Sendable, CaseIterable, Codable {
    case info, warning, critical
}

/// Alerts raised inside a write transaction: one per code and subject, whichever step raises
/// it, so a re-run never raises the same alert twice. Every alert reckon raises comes here;
/// its severity is the catalogue's (``AlertCatalogue``).
///
/// An alert raised for the first time, or opened again, is marked for announcement: the
/// batch runs the code's command from reckon.yaml for it once the day's steps have committed
/// (``Ledger/runAlertCommands(date:config:)``), so an alert raised by a run that died before
/// that is announced by the next one.
enum AlertBook {
    /// Raises an alert dated `day`; returns true when it is new. Raised again for an earlier
    /// day (a day run after later ones), an alert not yet cleared takes the earlier day.
    /// `severity` counts only for a code the catalogue does not have: the catalogue's wins.
    @discardableResult
    static func raise(_ db: Database, code: String, severity: AlertSeverity, subject: String, day: String,
                      message: String, cleared: String? = nil, at time: String) throws -> Bool {
        let severity = AlertCatalogue.severity(of: code) ?? severity
        let raisedBefore = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM alert WHERE kind = ? AND subject = ?"),
                                             arguments: [code, subject]) ?? false
        try db.cachedStatement(sql: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at, cleared_on, severity, announce_pending)
            VALUES (?, ?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (kind, subject) DO UPDATE SET business_date = excluded.business_date, message = excluded.message
              WHERE excluded.business_date < alert.business_date AND alert.cleared_on IS NULL
            """).execute(arguments: [day, code, subject, message, time, cleared, severity.rawValue])
        return !raisedBefore && db.changesCount > 0
    }

    /// Raises a catalogued alert. Without `reopening`, as the other `raise`: new once, and an
    /// open alert raised for an earlier day takes that day. With `reopening` (conditions that
    /// come back, such as a file missing again after it was set aside and reinstated), an
    /// alert cleared before opens again: raised now, unread, announced again; an open one is
    /// left as it is. Returns true when it is new or opened again.
    @discardableResult
    static func raise(_ db: Database, _ code: AlertCode, subject: String, day: String, message: String,
                      cleared: String? = nil, at time: String = timestamp(), reopening: Bool = false) throws -> Bool {
        guard reopening else {
            return try raise(db, code: code.rawValue, severity: AlertCatalogue.entry(code).severity, subject: subject, day: day,
                             message: message, cleared: cleared, at: time)
        }
        try db.cachedStatement(sql: """
            INSERT INTO alert (business_date, kind, subject, message, raised_at, cleared_on, severity, announce_pending)
            VALUES (?, ?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (kind, subject) DO UPDATE SET message = excluded.message, raised_at = excluded.raised_at,
                cleared_on = NULL, read_at = NULL, read_by = NULL, announce_pending = 1
              WHERE alert.cleared_on IS NOT NULL
            """).execute(arguments: [day, code.rawValue, subject, message, time, cleared, AlertCatalogue.entry(code).severity.rawValue])
        return db.changesCount > 0
    }

    /// Clears an alert (what it was about has come or been made good) as of `day`.
    static func clear(_ db: Database, code: String, subject: String, day: String) throws {
        try db.cachedStatement(sql: "UPDATE alert SET cleared_on = ? WHERE kind = ? AND subject = ? AND cleared_on IS NULL")
            .execute(arguments: [day, code, subject])
    }

    static func clear(_ db: Database, _ code: AlertCode, subject: String, day: String) throws {
        try clear(db, code: code.rawValue, subject: subject, day: day)
    }
}
