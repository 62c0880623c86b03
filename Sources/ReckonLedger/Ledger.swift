import CSQLiteSetup
import Foundation
import GRDB
import ReckonCore

/// Why the ledger could not do what was asked, with what it was doing.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// A file abandoned on request (a graceful stop), rolled back whole: not a failure of it.
    public internal(set) var abandoned = false
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
///
/// Two ways in: ``init(path:)`` for the commands that write (it creates and migrates the
/// ledger, and may wait for another writer), ``init(readingFrom:)`` for the ones that only
/// look (it writes nothing, so it never waits for a writer and works on a read-only or
/// full disk).
public final class Ledger: Sendable {
    public let path: String
    let database: any DatabaseWriter
    /// Opened with ``init(readingFrom:)``: every write fails.
    public let isReadOnly: Bool

    /// How long a connection waits for another process's write before giving up.
    public static let busyTimeoutSeconds = 60.0

    /// How long a reader waits in the rare cases a WAL reader can be kept out: while the
    /// first connection after a crash recovers the log, or the last one closing cleans it up.
    /// Never a writer's transaction: readers do not take the write lock.
    public static let readerBusyTimeoutSeconds = 10.0

    /// The page size of a new ledger.
    static let pageBytes = 16_384

    /// How many dangling references ``verify()`` lists at most.
    static let danglingShownLimit = 1_000

    /// Done once, before the process's first connection (see CSQLiteSetup): ingest calls
    /// SQLite a few million times a file, and its mutexes were a tenth of the time.
    private static let sqliteSetUp: Int32 = reckon_sqlite_setup()

    /// Opens the ledger for writing: creates it (and its folder) when missing, and brings
    /// its schema up to date.
    public init(path: String) throws(LedgerError) {
        self.path = path
        isReadOnly = false
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
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(pool)
            database = pool
        } catch {
            throw LedgerError("cannot open the ledger \(path): \(error)")
        }
    }

    /// Opens an existing ledger for reading only: no migration, no write of any kind, so it
    /// never waits for a writer's transaction (opening for writing records the partners,
    /// which waited for a file being posted: issue 9) and works when the ledger's folder
    /// cannot be written.
    ///
    /// A ledger whose schema is behind this reckon's is not migrated here: the error says
    /// so (a command that writes migrates it).
    public init(readingFrom path: String) throws(LedgerError) {
        self.path = path
        isReadOnly = true
        _ = Self.sqliteSetUp
        guard FileManager.default.fileExists(atPath: path) else {
            throw LedgerError("there is no ledger at \(path) yet: nothing has been received (reckon batch or reckon ingest makes it)")
        }
        let queue: DatabaseQueue
        do {
            queue = try Self.openForReading(path)
        } catch {
            throw LedgerError("cannot open the ledger \(path) for reading: \(error)")
        }
        let pending: [String]
        do {
            pending = try queue.read { db in
                let applied = try Set(Schema.migrator.appliedIdentifiers(db))
                return Schema.migrator.migrations.filter { !applied.contains($0) }
            }
        } catch {
            throw LedgerError("cannot read the ledger \(path): \(error)")
        }
        guard pending.isEmpty else {
            throw LedgerError("the ledger \(path) was made by an earlier reckon and needs migrating (\(pending.joined(separator: ", "))); "
                              + "a command that writes (reckon batch, reckon ingest) migrates it")
        }
        database = queue
    }

    /// One read-only connection. SQLite reads a WAL ledger read-only when its `-wal` and
    /// `-shm` files exist or can be created (sqlite.org/wal.html#readonly); in a folder that
    /// cannot be written (read-only, or full) after the last writer closed cleanly they are
    /// gone and cannot be made. Then no write-ahead log means the database file holds every
    /// commit, and no writer can be at work (a writer keeps a `-wal`), so the file is read
    /// as immutable: without locks or shared memory.
    static func openForReading(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(readerBusyTimeoutSeconds)
        func open(_ location: String) throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            // Opening is lazy: reading the schema is what touches the log and shared memory.
            try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        }
        do {
            return try open(path)
        } catch let error as DatabaseError where Self.unwritableFolderCodes.contains(error.resultCode.primaryResultCode) {
            guard !FileManager.default.fileExists(atPath: path + "-wal") else { throw error }
            return try open(immutableURI(path))
        }
    }

    /// What SQLite reports when it cannot create or extend a ledger's `-wal` or `-shm` file.
    static let unwritableFolderCodes: [ResultCode] = [.SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_PERM]

    /// `file:` URI of `path` with `immutable=1` (see CSQLiteSetup: URIs are switched on).
    static func immutableURI(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return "file:" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path) + "?immutable=1"
    }

    /// Records the configured partners (new ones added, names and roles kept current).
    public func register(_ partners: [PartnerConfig]) throws(LedgerError) {
        try write(crashAfter: .partnersRecorded) { db in
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
        /// An entry whose postings do not sum to zero in a currency.
        public struct Unbalanced: Sendable, Equatable {
            public let entryID: Int64
            public let currency: String
            public let offMinor: Int64
        }
        /// A stored balance that differs from the sum of its postings.
        public struct Mismatch: Sendable, Equatable {
            public let account: String
            public let currency: String
            public let postingsMinor: Int64
            /// Nil when the balance row is missing.
            public let storedMinor: Int64?
        }
        /// A row whose reference names no row (`PRAGMA foreign_key_check`): ingest posts
        /// without SQLite enforcing references (it writes both ends itself), so this is where
        /// they are checked.
        public struct Dangling: Sendable, Equatable {
            public let table: String
            public let rowID: Int64?
            public let parent: String
        }
        public var unbalanced: [Unbalanced] = []
        public var mismatches: [Mismatch] = []
        public var dangling: [Dangling] = []

        /// Entries whose postings do not sum to zero in some currency, in minor units.
        public var unbalancedEntries: [String] {
            unbalanced.map { "entry \($0.entryID): \($0.currency) off by \($0.offMinor) minor units" }
        }
        /// Stored balances that differ from the sum of their postings, in minor units.
        public var balanceMismatches: [String] {
            mismatches.map {
                "\($0.account) \($0.currency): postings sum to \($0.postingsMinor), stored balance is \($0.storedMinor.map(String.init) ?? "missing")"
            }
        }
        /// Rows whose references name no row.
        public var danglingReferences: [String] {
            dangling.map { "\($0.table) row \($0.rowID.map(String.init) ?? "?"): refers to a missing \($0.parent) row" }
        }
        public var ok: Bool { unbalanced.isEmpty && mismatches.isEmpty && dangling.isEmpty }
    }

    /// Checks every entry sums to zero per currency, recomputes every balance from the
    /// postings and checks that every reference names a row.
    public func verify() throws(LedgerError) -> Verification {
        try read { db in
            var result = Verification()
            result.entries = try Int.fetchOne(db, sql: "SELECT count(*) FROM journal_entry") ?? 0
            result.postings = try Int.fetchOne(db, sql: "SELECT count(*) FROM posting") ?? 0
            for row in try Row.fetchAll(db, sql: """
                SELECT entry_id, currency, sum(amount_minor) FROM posting
                GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 ORDER BY entry_id
                """) {
                result.unbalanced.append(.init(entryID: row[0], currency: row[1], offMinor: row[2]))
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT coalesce(p.account, b.account), coalesce(p.currency, b.currency), p.total, b.amount_minor
                FROM (SELECT account, currency, sum(amount_minor) AS total FROM posting GROUP BY account, currency) p
                FULL OUTER JOIN balance b ON b.account = p.account AND b.currency = p.currency
                WHERE p.total IS NOT b.amount_minor
                """)
            for row in rows {
                let total: Int64? = row[2]
                result.mismatches.append(.init(account: row[0], currency: row[1], postingsMinor: total ?? 0, storedMinor: row[3]))
            }
            // At most the first thousand: one broken reference usually comes with many.
            let dangling = try Row.fetchCursor(db, sql: "PRAGMA foreign_key_check")
            while result.dangling.count < Self.danglingShownLimit, let row = try dangling.next() {
                result.dangling.append(.init(table: row[0], rowID: row[1], parent: row[2]))
            }
            return result
        }
    }

    // MARK: Export

    /// A canonical dump of what the ledger holds — files, events, entries, plans, alerts and balances,
    /// sorted, without timestamps or row ids — to compare runs: the same inputs give the
    /// same text byte for byte. Built in memory: for tests and small ledgers; see
    /// ``export(date:runs:to:)`` for any size.
    public func export(date: CivilDate? = nil, runs: Bool = false, json: Bool = false) throws(LedgerError) -> String {
        var text = ""
        try export(date: date, runs: runs, json: json, to: &text)
        return text
    }

    /// The canonical dump, line by line into `output` as rows come from their cursors (one
    /// read transaction, so the sections agree with each other), in flat memory whatever
    /// the ledger's size. With `runs`, the run log follows: each batch run and its steps.
    ///
    /// With `json`, the same rows as JSON lines: one object per row, `section` first (`files`,
    /// `events`, `entries`, `loans`, `plan_lines`, `allocations`, `plan_differences`, `alerts`,
    /// `balances`, `runs`), then the columns by name as stored (amounts are integers of minor
    /// units in `…_minor` columns; an event's `other_fields`, a loan's `contract` and an entry's
    /// `postings` are JSON themselves).
    public func export(date: CivilDate? = nil, runs: Bool = false, json: Bool = false,
                       to output: inout some TextOutputStream) throws(LedgerError) {
        try read { db in
            let sections = ExportQuery(db: db, date: date, json: json)
            let dateFilter = date.map { "'\($0)'" }
            let fileWhere = dateFilter.map { " WHERE business_date = \($0)" } ?? ""
            try sections.section("files", 11, """
                SELECT partner, file_type, business_date, name, sha256, status, records_read, records_rejected, duplicates, events, entries
                FROM received_file\(fileWhere) ORDER BY business_date, partner, file_type, sha256
                """, dated: false, into: &output)
            // A file's events are its id range (see migration 005).
            let eventWhere = dateFilter.map { " AND f.business_date = \($0)" } ?? ""
            try sections.section("events", 17, jsonColumns: ["other_fields"], """
                SELECT f.partner, f.file_type, f.sha256, e.line, e.kind, e.active, e.loan_id, e.period, e.event_date,
                       e.principal_minor, e.interest_minor, e.penalty_minor, e.fee_minor, e.amount_minor, e.currency,
                       e.reference, e.other_fields
                FROM received_file f JOIN event e ON e.id BETWEEN f.first_event_id AND f.last_event_id WHERE 1 = 1\(eventWhere)
                ORDER BY f.business_date, f.partner, f.file_type, f.sha256, e.line, e.kind
                """, dated: false, into: &output)
            let entryWhere = dateFilter.map { " AND j.business_date = \($0)" } ?? ""
            let postings = json ? "json_group_array(json_object('account', account, 'amount_minor', amount_minor, 'currency', currency))"
                                : "group_concat(account || ' ' || amount_minor || ' ' || currency, '; ')"
            try sections.section("entries", 8, jsonColumns: ["postings"], """
                SELECT f.partner, f.file_type, f.sha256, j.line, j.kind, j.business_date,
                       (SELECT rf.sha256 || ':' || r.line || ':' || r.kind FROM journal_entry r JOIN received_file rf ON rf.id = r.file_id WHERE r.id = j.reverses) AS reverses,
                       (SELECT \(postings)
                          FROM (SELECT account, amount_minor, currency FROM posting WHERE entry_id = j.id ORDER BY account, amount_minor, currency)) AS postings
                FROM journal_entry j JOIN received_file f ON f.id = j.file_id WHERE 1 = 1\(entryWhere)
                ORDER BY j.business_date, f.partner, f.file_type, f.sha256, j.line, j.kind, 7, 8
                """, dated: false, into: &output)
            try Self.exportPlans(sections, into: &output)
            try sections.section("balances", 3,
                                 "SELECT account, currency, amount_minor FROM balance WHERE amount_minor <> 0 ORDER BY account, currency",
                                 dated: false, into: &output)
            if runs { try Self.exportRuns(sections, into: &output) }
        }
    }

    /// Loans, plan lines, allocations, plan differences and alerts (of loans disbursed, or
    /// things found, on `date` when given), in the same canonical form.
    private static func exportPlans(_ sections: ExportQuery, into output: inout some TextOutputStream) throws {
        try sections.section("loans", 11, jsonColumns: ["contract"], """
            SELECT loan_id, partner, product, currency, principal_minor, disbursed_on, contract, annual_rate, status, settled_on, as_of
            FROM loan WHERE ?1 IS NULL OR disbursed_on = ?1 ORDER BY loan_id
            """, into: &output)
        try sections.section("plan lines", 21, """
            SELECT p.loan_id, p.period, p.accrual_start, p.scheduled_on, p.due_on, p.days, p.annual_rate, p.principal_minor,
                   p.interest_minor, p.balance_minor, p.interest_due_minor, p.paid_principal_minor, p.paid_interest_minor,
                   p.paid_penalty_minor, p.paid_fee_minor, p.penalty_accrued_minor, p.status, p.closed_on, p.overdue_days,
                   p.fee_minor, p.fee_due_minor
            FROM plan_line p JOIN loan l ON l.loan_id = p.loan_id WHERE ?1 IS NULL OR l.disbursed_on = ?1 ORDER BY p.loan_id, p.period
            """, into: &output)
        try sections.section("allocations", 8, """
            SELECT a.loan_id, a.period, f.sha256, e.line, a.penalty_minor, a.fee_minor, a.interest_minor, a.principal_minor
            FROM repayment_allocation a JOIN event e ON e.id = a.event_id JOIN received_file f ON f.id = e.file_id
            WHERE ?1 IS NULL OR e.event_date = ?1 ORDER BY a.loan_id, a.period, f.sha256, e.line
            """, into: &output)
        try sections.section("plan differences", 7, """
            SELECT business_date, partner, loan_id, period, field, ours, theirs FROM plan_difference
            WHERE ?1 IS NULL OR business_date = ?1 ORDER BY business_date, partner, loan_id, period, field
            """, into: &output)
        try sections.section("alerts", 5, """
            SELECT business_date, kind, subject, message, cleared_on FROM alert
            WHERE ?1 IS NULL OR business_date = ?1 ORDER BY business_date, kind, subject
            """, into: &output)
    }

    /// The run log: each batch run in the order they started (of `date` when given) with its
    /// day, steps, partner, status, its steps' statuses and its summary; no timestamps or ids.
    /// A run whose process died shows the status it had then (`running`) and the steps it
    /// had reached.
    private static func exportRuns(_ sections: ExportQuery, into output: inout some TextOutputStream) throws {
        try sections.section("runs", 6, """
            SELECT r.business_date, r.steps, r.partner, r.status,
                   (SELECT group_concat(step || ' ' || status, ', ') FROM (SELECT step, status FROM batch_step WHERE run_id = r.id ORDER BY id)) AS step_statuses,
                   r.summary
            FROM batch_run r WHERE ?1 IS NULL OR r.business_date = ?1 ORDER BY r.id
            """, into: &output)
    }

    static func json(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return "null"
        case .int64(let n): return String(n)
        case .double(let d): return String(d)
        case .string(let s): return JSONText.quote(s)
        case .blob(let data): return JSONText.quote(data.map { String(format: "%02x", $0) }.joined())
        }
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

    /// One write transaction; the crash points, when given, are hit with everything written
    /// but not committed, and once committed (see ``CrashPoints``).
    func write<T>(crashBefore: CrashPoint? = nil, crashAfter: CrashPoint? = nil,
                  _ body: (Database) throws -> T) throws(LedgerError) -> T {
        let result: T
        do {
            result = try database.write { db in
                let value = try body(db)
                if let crashBefore { CrashPoints.hit(crashBefore) }
                return value
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError("writing the ledger \(path): \(error)")
        }
        if let crashAfter { CrashPoints.hit(crashAfter) }
        return result
    }
}

/// Runs an export's sections: a `# title` line, then one tab-separated line per row,
/// formatted as it comes from SQLite's cursor (nothing gathered); or, as JSON, one object
/// per row naming its section and columns.
struct ExportQuery {
    let db: Database
    let date: CivilDate?
    var json = false

    /// `dated` statements take the day (or NULL) as `?1`. `jsonColumns` hold JSON text,
    /// which JSON lines embed as it is.
    func section(_ title: String, _ columns: Int, jsonColumns: Set<String> = [], _ sql: String, dated: Bool = true,
                 into output: inout some TextOutputStream) throws {
        if !json { output.write("# \(title)\n") }
        let statement = try db.makeStatement(sql: sql)
        let rows = try Row.fetchCursor(statement, arguments: dated ? [date?.description] : [])
        let names = statement.columnNames
        let section = "{\"section\":" + JSONText.quote(title.replacingOccurrences(of: " ", with: "_"))
        var line = ""
        while let row = try rows.next() {
            line.removeAll(keepingCapacity: true)
            if json { line += section }
            for column in 0..<columns {
                let value: DatabaseValue = row[column]
                if json {
                    line += "," + JSONText.quote(names[column]) + ":"
                    line += jsonColumns.contains(names[column]) && !value.isNull ? Ledger.text(value) : Ledger.json(value)
                } else {
                    if column > 0 { line += "\t" }
                    line += Ledger.text(value)
                }
            }
            line += json ? "}\n" : "\n"
            output.write(line)
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
