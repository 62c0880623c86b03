import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// The one alert list (seed 000 §19): every alert with its code, severity, subject, message,
/// when it was raised, when it was cleared, and who read it when.
extension Ledger {
    public struct Alert: Sendable, Equatable {
        public let id: Int64
        public let businessDate: String
        /// The alert's code (``AlertCode``; the column is `kind`).
        public let kind: String
        public let severity: AlertSeverity
        public let subject: String
        public let message: String
        /// UTC as stored (`2024-12-16T01:00:03Z`): when it was first raised, or opened again.
        public let raisedAt: String
        public let clearedOn: String?
        public let readAt: String?
        public let readBy: String?

        public var code: String { kind }
        public var isRead: Bool { readAt != nil }

        /// One JSON object, its members always in this order: id, business_date, code,
        /// severity, subject, message, raised_at, cleared_on, and with `read`, read_at and
        /// read_by. Without `read` it holds nothing that changes after the day's run, which
        /// is what the day's alert file and alert commands get.
        public func json(read: Bool = false) -> String {
            func text(_ value: String?) -> String { value.map(JSONText.quote) ?? "null" }
            var members: [(String, String)] = [
                ("id", String(id)), ("business_date", text(businessDate)), ("code", text(kind)), ("severity", text(severity.rawValue)),
                ("subject", text(subject)), ("message", text(message)), ("raised_at", text(raisedAt)), ("cleared_on", text(clearedOn)),
            ]
            if read { members += [("read_at", text(readAt)), ("read_by", text(readBy))] }
            return JSONText.object(members)
        }
    }

    /// Which alerts a listing (or a marking of all as read) takes.
    public struct AlertFilter: Sendable {
        /// Raised on this business day.
        public var date: CivilDate?
        public var code: String?
        public var unreadOnly: Bool
        /// Raised (or opened again) strictly before this time, UTC as stored (`2024-12-16T01:00:00Z`).
        public var raisedBefore: String?

        public init(date: CivilDate? = nil, code: String? = nil, unreadOnly: Bool = false, raisedBefore: String? = nil) {
            self.date = date
            self.code = code
            self.unreadOnly = unreadOnly
            self.raisedBefore = raisedBefore
        }

        var sql: String { "(?1 IS NULL OR business_date = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 = 0 OR read_at IS NULL) AND (?4 IS NULL OR raised_at < ?4)" }
        var arguments: StatementArguments { [date?.description, code, unreadOnly, raisedBefore] }
    }

    static let alertColumns = "id, business_date, kind, severity, subject, message, raised_at, cleared_on, read_at, read_by"
    /// Alerts written out between two asks whether to stop.
    static let alertsBetweenStopChecks = 4_096

    static func alert(_ row: Row) -> Alert {
        Alert(id: row[0], businessDate: row[1], kind: row[2], severity: AlertSeverity(rawValue: row[3]) ?? .warning, subject: row[4],
              message: row[5], raisedAt: row[6], clearedOn: row[7], readAt: row[8], readBy: row[9])
    }

    /// Alerts, oldest business day first, then by code and subject; of one business day when given.
    public func alerts(date: CivilDate? = nil) throws(LedgerError) -> [Alert] {
        try alerts(AlertFilter(date: date))
    }

    /// The alerts a filter takes, oldest business day first, then by code and subject.
    public func alerts(_ filter: AlertFilter) throws(LedgerError) -> [Alert] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.alertColumns) FROM alert WHERE \(filter.sql) ORDER BY business_date, kind, subject",
                             arguments: filter.arguments).map(Self.alert)
        }
    }

    /// Alerts not cleared, by kind.
    public func openAlerts() throws(LedgerError) -> [(kind: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT kind, count(*) FROM alert WHERE cleared_on IS NULL GROUP BY kind ORDER BY kind")
                .map { ($0[0], $0[1]) }
        }
    }

    /// What marking alerts read did: the alerts marked (as they are now), and those named that
    /// had been read already (left as they were: the first reader is kept).
    public struct AlertReading: Sendable {
        public let marked: [Alert]
        public let alreadyRead: [Alert]
    }

    /// Marks the alerts named read by `reader` at `time` (UTC as stored), in one transaction:
    /// an id the ledger does not have marks nothing and says which.
    public func markAlertsRead(ids: [Int64], by reader: String, at time: String) throws(LedgerError) -> AlertReading {
        let reader = try Self.checkedReader(reader)
        return try write { db in
            var marked: [Int64] = [], alreadyRead: [Alert] = []
            for id in Array(Set(ids)).sorted() {
                guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.alertColumns) FROM alert WHERE id = ?", arguments: [id]) else {
                    throw LedgerError("no alert #\(id) in the ledger (reckon alerts list lists them); nothing was marked read")
                }
                let alert = Self.alert(row)
                if alert.isRead { alreadyRead.append(alert) } else { marked.append(id) }
            }
            let mark = try db.cachedStatement(sql: "UPDATE alert SET read_at = ?, read_by = ? WHERE id = ?")
            for id in marked { try mark.execute(arguments: [time, reader, id]) }
            return AlertReading(marked: try Self.alerts(db, ids: marked), alreadyRead: alreadyRead)
        }
    }

    /// Marks every unread alert the filter takes read by `reader` at `time` (seed 000 §19:
    /// the result of a query marked read at once).
    public func markAlertsRead(_ filter: AlertFilter, by reader: String, at time: String) throws(LedgerError) -> AlertReading {
        let reader = try Self.checkedReader(reader)
        var filter = filter
        filter.unreadOnly = true
        return try write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM alert WHERE \(filter.sql) ORDER BY id", arguments: filter.arguments)
            let mark = try db.cachedStatement(sql: "UPDATE alert SET read_at = ?, read_by = ? WHERE id = ?")
            for id in ids { try mark.execute(arguments: [time, reader, id]) }
            return AlertReading(marked: try Self.alerts(db, ids: ids), alreadyRead: [])
        }
    }

    private static func alerts(_ db: Database, ids: [Int64]) throws -> [Alert] {
        let statement = try db.cachedStatement(sql: "SELECT \(alertColumns) FROM alert WHERE id = ?")
        return try ids.compactMap { try Row.fetchOne(statement, arguments: [$0]).map(alert) }
            .sorted { ($0.businessDate, $0.kind, $0.subject) < ($1.businessDate, $1.kind, $1.subject) }
    }

    private static func checkedReader(_ reader: String) throws(LedgerError) -> String {
        let reader = reader.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reader.isEmpty else { throw LedgerError("who read the alerts is needed (--as NAME, or $USER)") }
        return reader
    }

    // MARK: The day's alert file

    /// Where the day's alerts are written: `<outbox>/alerts/2024-12-16.jsonl`.
    public static func alertFilePath(date: CivilDate, config: ReckonConfig) -> String {
        config.outboxFolder + "/alerts/\(date).jsonl"
    }

    /// Writes the alerts of business day `date` to ``alertFilePath(date:config:)``, whole or
    /// not at all (``AtomicFile``): one JSON object per line (``Alert/json(read:)`` without
    /// read status), by code and subject. Nothing in it is the time of writing, so running
    /// the day again with nothing new writes the same bytes. A day without alerts gets an
    /// empty file: the day was run. Returns the path and the number of alerts. `shouldStop`,
    /// asked every few thousand alerts, abandons the file when it turns true: the earlier file
    /// stays as it was and the error's ``LedgerError/abandoned`` is true.
    @discardableResult
    public func writeAlertFile(date: CivilDate, config: ReckonConfig,
                               shouldStop: () -> Bool = { false }) throws(LedgerError) -> (path: String, count: Int) {
        let path = Self.alertFilePath(date: date, config: config)
        func failed(_ error: FileAccessError) -> LedgerError {
            LedgerError("the day's alert file \(path) could not be written: \(error.reason)")
        }
        let file: AtomicFile
        do {
            file = try AtomicFile(path: path)
        } catch {
            throw failed(error)
        }
        var writeError: FileAccessError?
        let count = try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.alertColumns) FROM alert WHERE business_date = ? ORDER BY kind, subject",
                                           arguments: [date.description])
            var count = 0
            while writeError == nil, let row = try rows.next() {
                if count % Self.alertsBetweenStopChecks == 0, shouldStop() { throw LedgerError.alertsAbandoned(date) }
                do throws(FileAccessError) {
                    try file.write(Self.alert(row).json() + "\n")
                } catch {
                    writeError = error
                }
                count += 1
            }
            return count
        }
        if let writeError { throw failed(writeError) }
        do {
            try file.commit()
        } catch {
            throw failed(error)
        }
        return (path, count)
    }
}
