import CSQLiteSetup
import Foundation
import GRDB
import ReckonCore

/// Why the ledger could not do what was asked, with what it was doing.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The double-entry ledger in one SQLite file: received files, canonical events, journal
/// entries and their postings, balances, batch runs. Opened in WAL mode, so reading the
/// ledger (`reckon status`, balances, exports) never waits for a file being posted, with
/// `synchronous=FULL`, so a committed file survives a crash or power loss.
///
/// Pages are 16 KiB rather than SQLite's 4 KiB: a file's ingest appends hundreds of
/// megabytes, which WAL writes twice (log, then checkpoint), and larger pages mean fewer
/// pages, frames and tree splits: about 15% off ingest time. (The size is fixed when the
/// ledger is created.)
public final class Ledger: Sendable {
    public let path: String
    let database: DatabasePool

    /// How long a connection waits for another process's write before giving up.
    public static let busyTimeoutSeconds = 60.0

    /// The page size of a new ledger.
    static let pageBytes = 16_384

    /// Done once, before the process's first connection (see CSQLiteSetup): ingest calls
    /// SQLite a few million times a file, and its mutexes were a tenth of the time.
    private static let sqliteSetUp: Int32 = reckon_sqlite_setup()

    public init(path: String) throws(LedgerError) {
        self.path = path
        _ = Self.sqliteSetUp
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = \(Self.pageBytes)")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(Self.busyTimeoutSeconds)
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(database)
        } catch {
            throw LedgerError("cannot open the ledger \(path): \(error)")
        }
    }

    /// Records the configured partners (new ones added, names and roles kept current).
    public func register(_ partners: [PartnerConfig]) throws(LedgerError) {
        try write { db in
            for partner in partners {
                try db.execute(sql: """
                    INSERT INTO partner (id, name, role) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role
                    """, arguments: [partner.id, partner.name, partner.role.rawValue])
            }
        }
    }

    // MARK: Balances

    public struct AccountBalance: Sendable, Equatable {
        public let account: String
        public let currency: String
        public let amountMinor: Int64
    }

    /// Balances, optionally of one loan's accounts or of accounts starting with a prefix.
    public func balances(loan: String? = nil, account: String? = nil) throws(LedgerError) -> [AccountBalance] {
        try read { db in
            var sql = "SELECT b.account, b.currency, b.amount_minor FROM balance b JOIN account a ON a.code = b.account WHERE 1 = 1"
            var arguments: StatementArguments = []
            if let loan {
                sql += " AND a.loan_id = ?"
                arguments += [loan]
            }
            if let account {
                sql += " AND (b.account = ? OR b.account LIKE ? ESCAPE '\\')"
                arguments += [account, Self.likePrefix(account) + ":%"]
            }
            sql += " ORDER BY b.account, b.currency"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                AccountBalance(account: $0[0], currency: $0[1], amountMinor: $0[2])
            }
        }
    }

    static func likePrefix(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    // MARK: Verification

    public struct Verification: Sendable {
        public var entries = 0
        public var postings = 0
        /// Entries whose postings do not sum to zero in some currency.
        public var unbalancedEntries: [String] = []
        /// Stored balances that differ from the sum of their postings.
        public var balanceMismatches: [String] = []
        public var ok: Bool { unbalancedEntries.isEmpty && balanceMismatches.isEmpty }
    }

    /// Checks every entry sums to zero per currency and recomputes every balance from the
    /// postings.
    public func verify() throws(LedgerError) -> Verification {
        try read { db in
            var result = Verification()
            result.entries = try Int.fetchOne(db, sql: "SELECT count(*) FROM journal_entry") ?? 0
            result.postings = try Int.fetchOne(db, sql: "SELECT count(*) FROM posting") ?? 0
            for row in try Row.fetchAll(db, sql: """
                SELECT entry_id, currency, sum(amount_minor) FROM posting
                GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 ORDER BY entry_id
                """) {
                let entry: Int64 = row[0], currency: String = row[1], off: Int64 = row[2]
                result.unbalancedEntries.append("entry \(entry): \(currency) off by \(off) minor units")
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT coalesce(p.account, b.account), coalesce(p.currency, b.currency), p.total, b.amount_minor
                FROM (SELECT account, currency, sum(amount_minor) AS total FROM posting GROUP BY account, currency) p
                FULL OUTER JOIN balance b ON b.account = p.account AND b.currency = p.currency
                WHERE p.total IS NOT b.amount_minor
                """)
            for row in rows {
                let total: Int64? = row[2], stored: Int64? = row[3]
                let account: String = row[0], currency: String = row[1]
                result.balanceMismatches.append("\(account) \(currency): postings sum to \(total ?? 0), stored balance is \(stored.map(String.init) ?? "missing")")
            }
            return result
        }
    }

    // MARK: Export

    /// A canonical dump of what the ledger holds — files, events, entries, plans, alerts and balances,
    /// sorted, without timestamps or row ids — to compare runs: the same inputs give the
    /// same text byte for byte.
    public func export(date: CivilDate? = nil) throws(LedgerError) -> String {
        try read { db in
            var lines: [String] = []
            let dateFilter = date.map { "'\($0)'" }
            let fileWhere = dateFilter.map { " WHERE business_date = \($0)" } ?? ""
            lines.append("# files")
            for row in try Row.fetchAll(db, sql: """
                SELECT partner, file_type, business_date, name, sha256, status, records_read, records_rejected, duplicates, events, entries
                FROM received_file\(fileWhere) ORDER BY business_date, partner, file_type, sha256
                """) {
                lines.append((0..<11).map { row[$0] as DatabaseValue }.map(Self.text).joined(separator: "\t"))
            }
            lines.append("# events")
            // A file's events are its id range (see migration 005).
            let eventWhere = dateFilter.map { " AND f.business_date = \($0)" } ?? ""
            for row in try Row.fetchAll(db, sql: """
                SELECT f.partner, f.file_type, f.sha256, e.line, e.kind, e.active, e.loan_id, e.period, e.event_date,
                       e.principal_minor, e.interest_minor, e.penalty_minor, e.fee_minor, e.amount_minor, e.currency,
                       e.reference, e.other_fields
                FROM received_file f JOIN event e ON e.id BETWEEN f.first_event_id AND f.last_event_id WHERE 1 = 1\(eventWhere)
                ORDER BY f.business_date, f.partner, f.file_type, f.sha256, e.line, e.kind
                """) {
                lines.append((0..<17).map { row[$0] as DatabaseValue }.map(Self.text).joined(separator: "\t"))
            }
            lines.append("# entries")
            let entryWhere = dateFilter.map { " AND j.business_date = \($0)" } ?? ""
            for row in try Row.fetchAll(db, sql: """
                SELECT f.partner, f.file_type, f.sha256, j.line, j.kind, j.business_date,
                       (SELECT rf.sha256 || ':' || r.line || ':' || r.kind FROM journal_entry r JOIN received_file rf ON rf.id = r.file_id WHERE r.id = j.reverses),
                       (SELECT group_concat(account || ' ' || amount_minor || ' ' || currency, '; ')
                          FROM (SELECT account, amount_minor, currency FROM posting WHERE entry_id = j.id ORDER BY account, amount_minor, currency))
                FROM journal_entry j JOIN received_file f ON f.id = j.file_id WHERE 1 = 1\(entryWhere)
                ORDER BY j.business_date, f.partner, f.file_type, f.sha256, j.line, j.kind, 7, 8
                """) {
                lines.append((0..<8).map { row[$0] as DatabaseValue }.map(Self.text).joined(separator: "\t"))
            }
            try exportPlans(db, date: date, into: &lines)
            lines.append("# balances")
            for row in try Row.fetchAll(db, sql: "SELECT account, currency, amount_minor FROM balance WHERE amount_minor <> 0 ORDER BY account, currency") {
                lines.append((0..<3).map { row[$0] as DatabaseValue }.map(Self.text).joined(separator: "\t"))
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Loans, plan lines, allocations, plan differences and alerts (of loans disbursed, or
    /// things found, on `date` when given), in the same canonical form.
    private func exportPlans(_ db: Database, date: CivilDate?, into lines: inout [String]) throws {
        func section(_ title: String, _ sql: String, _ columns: Int) throws {
            lines.append("# \(title)")
            for row in try Row.fetchAll(db, sql: sql, arguments: [date?.description]) {
                lines.append((0..<columns).map { row[$0] as DatabaseValue }.map(Self.text).joined(separator: "\t"))
            }
        }
        try section("loans", """
            SELECT loan_id, partner, product, currency, principal_minor, disbursed_on, contract, annual_rate, status, settled_on, as_of
            FROM loan WHERE ?1 IS NULL OR disbursed_on = ?1 ORDER BY loan_id
            """, 11)
        try section("plan lines", """
            SELECT p.loan_id, p.period, p.accrual_start, p.scheduled_on, p.due_on, p.days, p.annual_rate, p.principal_minor,
                   p.interest_minor, p.balance_minor, p.interest_due_minor, p.paid_principal_minor, p.paid_interest_minor,
                   p.paid_penalty_minor, p.paid_fee_minor, p.penalty_accrued_minor, p.status, p.closed_on, p.overdue_days,
                   p.fee_minor, p.fee_due_minor
            FROM plan_line p JOIN loan l ON l.loan_id = p.loan_id WHERE ?1 IS NULL OR l.disbursed_on = ?1 ORDER BY p.loan_id, p.period
            """, 21)
        try section("allocations", """
            SELECT a.loan_id, a.period, f.sha256, e.line, a.penalty_minor, a.fee_minor, a.interest_minor, a.principal_minor
            FROM repayment_allocation a JOIN event e ON e.id = a.event_id JOIN received_file f ON f.id = e.file_id
            WHERE ?1 IS NULL OR e.event_date = ?1 ORDER BY a.loan_id, a.period, f.sha256, e.line
            """, 8)
        try section("plan differences", """
            SELECT business_date, partner, loan_id, period, field, ours, theirs FROM plan_difference
            WHERE ?1 IS NULL OR business_date = ?1 ORDER BY business_date, partner, loan_id, period, field
            """, 7)
        try section("alerts", """
            SELECT business_date, kind, subject, message, cleared_on FROM alert
            WHERE ?1 IS NULL OR business_date = ?1 ORDER BY business_date, kind, subject
            """, 5)
    }

    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return "-"
        case .int64(let n): return String(n)
        case .double(let d): return String(d)
        case .string(let s): return s
        case .blob(let data): return data.map { String(format: "%02x", $0) }.joined()
        }
    }

    // MARK: Files

    public struct ReceivedFile: Sendable {
        public let id: Int64
        public let partner: String
        public let fileType: String
        public let businessDate: String
        public let name: String
        public let status: String
        public let recordsRead: Int
        public let recordsRejected: Int
        public let duplicates: Int
        public let events: Int
        public let entries: Int
        public let reportPath: String?
    }

    /// Received files, newest first, optionally of one business day.
    public func receivedFiles(date: CivilDate? = nil) throws(LedgerError) -> [ReceivedFile] {
        try read { db in
            var sql = """
                SELECT id, partner, file_type, business_date, name, status, records_read, records_rejected, duplicates, events, entries, report_path
                FROM received_file
                """
            var arguments: StatementArguments = []
            if let date {
                sql += " WHERE business_date = ?"
                arguments += [date.description]
            }
            sql += " ORDER BY id DESC"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                ReceivedFile(id: $0[0], partner: $0[1], fileType: $0[2], businessDate: $0[3], name: $0[4], status: $0[5],
                             recordsRead: $0[6], recordsRejected: $0[7], duplicates: $0[8], events: $0[9], entries: $0[10],
                             reportPath: $0[11])
            }
        }
    }

    // MARK: Access

    func read<T>(_ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try database.read(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError("reading the ledger \(path): \(error)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try database.write(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError("writing the ledger \(path): \(error)")
        }
    }
}

/// UTC now as `2024-12-15T23:00:00Z`.
func timestamp() -> String {
    var seconds = time(nil)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
