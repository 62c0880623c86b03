import GRDB
import GRDBSQLite

/// A statement prepared once and run many times inside one transaction, its values bound
/// straight from bytes through SQLite's C API: the per-record path of ingest, where GRDB's
/// argument arrays would cost more than the insert itself.
struct Prepared {
    private let statement: Statement
    private let connection: OpaquePointer?

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
        connection = db.sqliteConnection
    }

    private var handle: OpaquePointer { statement.sqliteStatement }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(handle, index, Int64(value)) }
    func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

    func bind(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { bind(index, $0) }
    }

    func bind(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        // SQLITE_TRANSIENT: SQLite copies the bytes before this returns. An empty run still
        // needs a non-null pointer to bind as '' rather than NULL.
        let empty: CChar = 0
        _ = withUnsafePointer(to: empty) { fallback in
            sqlite3_bind_text(handle, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? fallback,
                              Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bind(index, UnsafeRawBufferPointer($0)) }
    }

    /// Runs the statement and returns how many rows it changed. Bindings are kept, not
    /// cleared: every caller binds every parameter (NULL explicitly) before each run.
    @discardableResult
    func run() throws -> Int {
        let code = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        guard code == SQLITE_DONE else {
            throw refusal
        }
        return Int(sqlite3_changes(connection))
    }

    /// Runs a one-row, one-column query; nil when there is no row or the value is NULL.
    func text() throws -> String? {
        try firstValue { handle in
            sqlite3_column_text(handle, 0).map {
                String(decoding: UnsafeBufferPointer(start: $0, count: Int(sqlite3_column_bytes(handle, 0))), as: UTF8.self)
            }
        }
    }

    /// Runs a one-row, one-column query; nil when there is no row or the value is NULL.
    func int64() throws -> Int64? {
        try firstValue { sqlite3_column_int64($0, 0) }
    }

    private func firstValue<Value>(_ read: (OpaquePointer) -> Value?) throws -> Value? {
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return sqlite3_column_type(handle, 0) == SQLITE_NULL ? nil : read(handle)
        case SQLITE_DONE: return nil
        default: throw refusal
        }
    }

    /// SQLite's error for this statement, for the log.
    private var refusal: LedgerError {
        LedgerError("SQLite refused \(String(cString: sqlite3_sql(handle))): \(String(cString: sqlite3_errmsg(connection)))")
    }
}
