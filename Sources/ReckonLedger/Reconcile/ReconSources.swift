import Foundation
import GRDB
import GRDBSQLite
import ReckonCore
import ReckonFiles

/// One side of a rule as SQL: where its items come from, their identity and day, and each
/// field's expression. The day's items and those carried from earlier days (open breaks)
/// are selected by two scopes joined with UNION ALL, so each can use its own index.
struct SourceSQL {
    /// `FROM …` with the aliases the expressions use.
    let from: String
    /// For sources whose item is an aggregate (an allocation is every period one repayment
    /// paid): the GROUP BY of the inner query.
    let groupBy: String?
    let ref: String
    /// The business day the item belongs to.
    let day: String
    let fields: [String: (expression: String, kind: ReconFieldKind)]
    /// The day's items (SQL and its arguments).
    let dayScope: (clause: String, arguments: [DatabaseValue])
    /// Items carried from earlier days: a clause over `recon_carried` (the rule's carried
    /// items, bound as JSON to the query's own table expression) for a side.
    let carriedFrom: String
    let carriedScope: String
    /// The carried items as a condition on the day's own FROM (one `?`: the side), so the
    /// side is one query with one sort rather than a union of two; nil: the union.
    var carriedCondition: String? = nil

    /// The same source with no items of the day: only the carried ones.
    var withoutDayItems: SourceSQL {
        SourceSQL(from: from, groupBy: groupBy, ref: ref, day: day, fields: fields, dayScope: ("0", []),
                  carriedFrom: carriedFrom, carriedScope: carriedScope, carriedCondition: carriedCondition)
    }

    /// The field's expression, negated when asked.
    func expression(_ ref: FieldRef) throws -> (expression: String, kind: ReconFieldKind) {
        guard let field = fields[ref.name] else { throw LedgerError("\(ref.place): unknown field '\(ref.name)'") }
        return (ref.negated ? "(-(\(field.expression)))" : field.expression, field.kind)
    }
}

enum ReconSources {
    /// The SQL of a source for day `day`.
    static func sql(_ source: ReconSource, day: CivilDate, db: Database, config: ReckonConfig,
                    specs: inout [String: MappingSpec]) throws -> SourceSQL {
        switch source.origin {
        case .events(let event, let partner, let fileType):
            guard let type = config.partner(partner)?.fileType(fileType) else {
                throw LedgerError("\(source.place): partner \(partner) has no file type \(fileType)")
            }
            if specs[type.specPath] == nil {
                do { specs[type.specPath] = try SpecFile.load(type.specPath) } catch { throw LedgerError("\(error)") }
            }
            let fields = eventFields(spec: specs[type.specPath]!, event: event, partner: partner)
            // The day's files of this partner and type, as event id ranges.
            let ranges = try Row.fetchAll(db, sql: """
                SELECT first_event_id, last_event_id FROM received_file
                WHERE partner = ? AND file_type = ? AND business_date = ? AND status = 'posted' AND first_event_id IS NOT NULL
                ORDER BY first_event_id
                """, arguments: [partner, fileType, day.description])
            var clause = ranges.isEmpty ? "0" : ranges.map { _ in "e.id BETWEEN ? AND ?" }.joined(separator: " OR ")
            clause = "(\(clause)) AND e.kind = '\(event.rawValue)' AND e.active = 1"
            let arguments = ranges.flatMap { [$0[0] as DatabaseValue, $0[1] as DatabaseValue] }
            return SourceSQL(
                from: "event e JOIN received_file f ON f.id = e.file_id", groupBy: nil, ref: "'e' || e.id", day: "f.business_date",
                fields: fields, dayScope: (clause, arguments),
                carriedFrom: "recon_carried c JOIN event e ON e.id = c.num JOIN received_file f ON f.id = e.file_id",
                carriedScope: "c.side = ? AND e.kind = '\(event.rawValue)' AND e.active = 1 AND f.partner = '\(quoted(partner))' AND f.file_type = '\(quoted(fileType))'",
                carriedCondition: "(e.id IN (SELECT num FROM recon_carried WHERE side = ?) AND e.kind = '\(event.rawValue)' AND e.active = 1 AND f.partner = '\(quoted(partner))' AND f.file_type = '\(quoted(fileType))')")
        case .planLines:
            return SourceSQL(
                from: "loan l JOIN plan_line pl ON pl.loan_id = l.loan_id", groupBy: nil,
                ref: "'p' || pl.loan_id || '/' || pl.period", day: "l.disbursed_on",
                fields: [
                    "loan_id": ("pl.loan_id", .text), "period": ("pl.period", .integer), "due_on": ("pl.due_on", .date),
                    "principal": ("pl.principal_minor", .amount), "interest": ("pl.interest_minor", .amount),
                    "fee": ("pl.fee_minor", .amount), "total": ("(pl.principal_minor + pl.interest_minor + pl.fee_minor)", .amount),
                    "balance": ("pl.balance_minor", .amount), "status": ("pl.status", .text), "product": ("l.product", .text),
                    "day": ("l.disbursed_on", .date),
                ],
                dayScope: ("l.disbursed_on = ?", [day.description.databaseValue]),
                carriedFrom: "recon_carried c JOIN plan_line pl ON pl.loan_id = c.loan AND pl.period = c.period JOIN loan l ON l.loan_id = pl.loan_id",
                carriedScope: "c.side = ?",
                carriedCondition: "((pl.loan_id, pl.period) IN (SELECT loan, period FROM recon_carried WHERE side = ?))")
        case .allocations:
            // Every posted file of the day: the repayments among them have allocations.
            let ranges = try Row.fetchAll(db, sql: """
                SELECT first_event_id, last_event_id FROM received_file
                WHERE business_date = ? AND status = 'posted' AND first_event_id IS NOT NULL ORDER BY first_event_id
                """, arguments: [day.description])
            let clause = ranges.isEmpty ? "0" : ranges.map { _ in "ra.event_id BETWEEN ? AND ?" }.joined(separator: " OR ")
            return SourceSQL(
                from: "repayment_allocation ra JOIN event e ON e.id = ra.event_id JOIN received_file f ON f.id = e.file_id",
                groupBy: "ra.event_id", ref: "'a' || ra.event_id", day: "f.business_date",
                fields: [
                    "event": ("ra.event_id", .integer), "loan_id": ("ra.loan_id", .text),
                    "principal": ("sum(ra.principal_minor)", .amount), "interest": ("sum(ra.interest_minor)", .amount),
                    "penalty": ("sum(ra.penalty_minor)", .amount), "fee": ("sum(ra.fee_minor)", .amount),
                    "total": ("sum(ra.principal_minor + ra.interest_minor + ra.penalty_minor + ra.fee_minor)", .amount),
                    "quote": ("(SELECT q.quote_minor FROM settlement_quote q WHERE q.event_id = ra.event_id)", .amount),
                    "reference": ("e.reference", .text), "day": ("f.business_date", .date),
                ],
                dayScope: ("(\(clause)) AND e.active = 1", ranges.flatMap { [$0[0] as DatabaseValue, $0[1] as DatabaseValue] }),
                // An allocation is its repayment's: a carried repayment event (on either
                // side) brings its allocation along, made since by a day run late.
                carriedFrom: """
                    (SELECT DISTINCT num FROM recon_carried WHERE side = ? OR substr(ref, 1, 1) = 'e') c
                    JOIN repayment_allocation ra ON ra.event_id = c.num JOIN event e ON e.id = ra.event_id JOIN received_file f ON f.id = e.file_id
                    """,
                carriedScope: "e.active = 1")
        }
    }

    /// Each field of the event's record kinds: its column when the ledger gives it one
    /// (the way ingest placed it, `KindPlan`), else its value in `other_fields`.
    static func eventFields(spec: MappingSpec, event: CanonicalEvent, partner: String) -> [String: (expression: String, kind: ReconFieldKind)] {
        var fields: [String: (expression: String, kind: ReconFieldKind)] = [
            "id": ("e.id", .integer), "line": ("e.line", .integer), "day": ("coalesce(e.event_date, f.business_date)", .date),
        ]
        for kind in spec.kinds where kind.event == event {
            let plan = KindPlan(kind: kind, event: event, partner: partner)
            for (index, field) in kind.fields.enumerated() where fields[field.name] == nil {
                let fieldKind: ReconFieldKind
                switch field.type {
                case .decimal: fieldKind = .amount
                case .integer: fieldKind = .integer
                case .date, .dateTime: fieldKind = .date
                case .string, .time: fieldKind = .text
                }
                var column: String?
                switch index {
                case plan.loan: column = "e.loan_id"
                case plan.period: column = "e.period"
                case plan.principal: column = "e.principal_minor"
                case plan.interest: column = "e.interest_minor"
                case plan.penalty: column = "e.penalty_minor"
                case plan.fee: column = "e.fee_minor"
                case plan.amount: column = "e.amount_minor"
                case plan.currency: column = "e.currency"
                case plan.reference: column = "e.reference"
                default: break
                }
                // The event's own day is in a column, a moment's too (compared by its day).
                if column == nil, index == plan.day { column = "e.event_date" }
                var expression = column ?? "json_extract(e.other_fields, '$.\(quoted(field.name))')"
                // A moment compares by its day.
                if fieldKind == .date && column == nil { expression = "substr(\(expression), 1, 10)" }
                fields[field.name] = (expression, fieldKind)
            }
        }
        return fields
    }

    static func quoted(_ text: String) -> String { text.replacingOccurrences(of: "'", with: "''") }

    /// The JSON key an event field's expression reads from `other_fields` (a moment's day
    /// included); nil for a column.
    static func jsonKey(_ expression: String) -> String? {
        var text = Substring(expression)
        if text.hasPrefix("substr("), text.hasSuffix(", 1, 10)") { text = text.dropFirst("substr(".count).dropLast(", 1, 10)".count) }
        let start = "json_extract(e.other_fields, '$.", end = "')"
        guard text.hasPrefix(start), text.hasSuffix(end) else { return nil }
        let key = text.dropFirst(start.count).dropLast(end.count)
        guard !key.contains("'") else { return nil }
        return String(key)
    }

    /// A condition value as the field's kind stores it: amounts in minor units, as they
    /// print (`12,000.00`) or plain.
    static func conditionValue(_ text: String, kind: ReconFieldKind) -> DatabaseValue {
        switch kind {
        case .amount:
            if case .success(let minor) = AmountText.minor(text) { return minor.databaseValue }
            return text.databaseValue
        case .integer:
            return Int64(text).map(\.databaseValue) ?? text.databaseValue
        case .text, .date:
            return text.databaseValue
        }
    }

    /// `(expr = ?)`-style SQL for the conditions, with their arguments.
    static func conditions(_ conditions: [FieldCondition], in source: SourceSQL) throws -> (sql: String, arguments: [DatabaseValue]) {
        var parts: [String] = [], arguments: [DatabaseValue] = []
        for condition in conditions {
            let (expression, kind) = try source.expression(condition.field)
            switch condition.test {
            case .equals(let value):
                parts.append("(\(expression)) = ?")
                arguments.append(conditionValue(value, kind: kind))
            case .notEquals(let value):
                parts.append("(\(expression)) IS NOT ?")
                arguments.append(conditionValue(value, kind: kind))
            case .oneOf(let values):
                parts.append("(\(expression)) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
                arguments += values.map { conditionValue($0, kind: kind) }
            case .prefix(let start):
                parts.append("substr(\(expression), 1, \(start.utf8.count)) = ?")
                arguments.append(start.databaseValue)
            }
        }
        return (parts.isEmpty ? "1" : parts.joined(separator: " AND "), arguments)
    }
}

/// The items of one side of a rule, streamed in key order straight from SQLite's C API (the
/// per-item path: a million items a side).
final class SideCursor: IteratorProtocol {
    private let statement: Statement
    private let kinds: [ReconFieldKind]
    private let grouped: Bool
    private var handle: OpaquePointer { statement.sqliteStatement }
    private(set) var count = 0
    private(set) var failure: LedgerError?
    /// The first compared amount, for the item's amount.
    private let headline: Int?

    /// Columns: ref, key, day, failed, members, then one per compared field.
    /// Failed-attempt conditions on compared values, tested here rather than in SQL (by the
    /// compared field's index): a field the query already reads is not read twice.
    private let failedTests: [(index: Int, test: FieldCondition.Test)]

    /// The JSON fields' plan, in parts: a copy of the plan for each item retained its arrays.
    private let hasJSON: Bool
    private let jsonPathCount: Int
    private let jsonValues: [(compared: Int, path: Int)]
    private let jsonFilters: [(path: Int, test: FieldCondition.Test)]
    private let jsonFailed: [(path: Int, test: FieldCondition.Test)]
    private let daysOnly: [Bool]
    /// The day of an item whose day column is NULL: the step's day, which the query leaves
    /// out of the rows it sorts for the day's own items.
    private let defaultDay: CivilDate

    init(_ db: Database, sql: String, arguments: [DatabaseValue], kinds: [ReconFieldKind], grouped: Bool,
         failedTests: [(index: Int, condition: FieldCondition)] = [], json: JSONFieldPlan? = nil, day: CivilDate? = nil) throws {
        if json != nil { FlatJSONFields.register(db) }
        statement = try db.makeStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        self.kinds = kinds
        self.grouped = grouped
        self.failedTests = failedTests.map { ($0.index, $0.condition.test) }
        hasJSON = json != nil
        jsonPathCount = json?.paths.count ?? 0
        jsonValues = json?.values ?? []
        jsonFilters = json?.filters.map { ($0.path, $0.condition.test) } ?? []
        jsonFailed = json?.failed.map { ($0.path, $0.condition.test) } ?? []
        daysOnly = json?.daysOnly ?? []
        defaultDay = day ?? CivilDate(year: 1970, month: 1, day: 1)!
        headline = kinds.firstIndex(of: .amount)
    }

    /// The JSON fields of the row at hand (kept between rows for its storage).
    private var extracted: [String?] = []

    func next() -> ReconItem? {
        while true {
            guard failure == nil else { return nil }
            switch sqlite3_step(handle) {
            case SQLITE_ROW: break
            case SQLITE_DONE: return nil
            default:
                failure = LedgerError("SQLite refused the reconciliation query: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))))")
                return nil
            }
            guard hasJSON else { break }
            let column = Int32(5 + kinds.count)
            guard let pointer = sqlite3_column_text(handle, column),
                  JSONFieldPlan.scalars(UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column))), into: &extracted,
                                        daysOnly: daysOnly),
                  extracted.count == jsonPathCount else {
                failure = LedgerError("the reconciliation query's fields could not be read back")
                return nil
            }
            // The side's own conditions on these fields, as SQL would have applied them (by
            // index: a condition copied out for each item retained its strings).
            if Self.allHold(jsonFilters, extracted) { break }
        }
        count += 1
        let ref = text(0) ?? ""
        let key = key(1)
        let day = date(2) ?? defaultDay
        var failed = sqlite3_column_int64(handle, 3) != 0
        var members: [String]?
        if grouped, let list = text(4) { members = list.split(separator: " ").map(String.init) }
        var values = ReconValues(absent: kinds.count)
        for index in 0..<kinds.count {
            let column = Int32(5 + index)
            guard sqlite3_column_type(handle, column) != SQLITE_NULL else { continue }
            switch kinds[index] {
            case .amount: values[index] = .amount(sqlite3_column_int64(handle, column))
            case .date: values[index] = date(column).map(ReconValue.date)
            case .text, .integer: values[index] = text(column).map(ReconValue.text)
            }
        }
        if hasJSON {
            for slot in jsonValues.indices {
                let (compared, path) = jsonValues[slot]
                guard let text = extracted[path] else { continue }
                switch kinds[compared] {
                case .amount: values[compared] = Int64(text).map(ReconValue.amount)
                case .date: values[compared] = Self.day(of: text).map(ReconValue.date)
                case .text, .integer: values[compared] = .text(text)
                }
            }
            if !jsonFailed.isEmpty { failed = failed && Self.allHold(jsonFailed, extracted) }
        }
        if !failedTests.isEmpty {
            for test in failedTests.indices where failed {
                let index = failedTests[test].index
                if case .text(let text)? = values[index] {
                    failed = failedTests[test].test.holds(text)
                } else {
                    failed = failedTests[test].test.holds(nil)
                }
            }
        }
        var amount: Int64 = 0
        if let headline, case .amount(let minor)? = values[headline] { amount = minor }
        return ReconItem(ref: ref, key: key, day: day, values: values, amountMinor: amount,
                         members: members.flatMap { $0.count > 1 ? $0 : nil }, failed: failed)
    }

    /// Whether every condition holds on its path's value.
    private static func allHold(_ conditions: [(path: Int, test: FieldCondition.Test)], _ values: [String?]) -> Bool {
        for index in conditions.indices where !conditions[index].test.holds(values[conditions[index].path]) { return false }
        return true
    }

    private func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    /// The day a column's text starts with (`2024-12-16`, `2024-12-16T09:12:03`), as
    /// `CivilDate(iso:)` reads its first ten characters. The common form is read from the
    /// bytes in place (a String split per item was half the step's time); anything else
    /// takes the general path.
    private func date(_ column: Int32) -> CivilDate? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        if let day = Self.plainDate(UnsafeBufferPointer(start: pointer, count: count)) { return day }
        return text(column).flatMap { CivilDate(iso: String($0.prefix(10))) }
    }

    /// ``plainDate(_:)`` of a value read from JSON, else `CivilDate(iso:)` of its first ten
    /// characters (a String split per item was a good part of the time left to it).
    static func day(of text: String) -> CivilDate? {
        var text = text
        if let day = text.withUTF8({ plainDate($0) }) { return day }
        return CivilDate(iso: String(text.prefix(10)))
    }

    /// `yyyy-MM-dd` in ASCII digits, alone or followed by an ASCII byte (so the first ten
    /// bytes are the first ten characters); nil for anything else, left to the general path.
    static func plainDate(_ bytes: UnsafeBufferPointer<UInt8>) -> CivilDate? {
        guard bytes.count == 10 || (bytes.count > 10 && bytes[10] < 0x80),
              bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 0x30
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    private func key(_ column: Int32) -> ReconKey {
        guard let pointer = sqlite3_column_text(handle, column) else { return ReconKey() }
        return ReconKey(UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column))))
    }
}

/// One side of a rule read on a reader connection on a thread of its own, handed over in
/// batches through a bounded buffer (at most `maximumBatches` of `batchItems` items wait):
/// the two sides' queries, each sorting its items, run at once, and memory stays a few
/// thousand items whatever the size of the side.
final class SideStream: @unchecked Sendable {
    static let batchItems = 1_024
    static let maximumBatches = 8

    private let condition = NSCondition()
    private var waiting: [ItemBatch] = []
    private var finished = false
    private var cancelled = false
    private var failed: (any Error)?
    private var handed = 0

    init(reader: DatabasePool, sql: String, arguments: [DatabaseValue], kinds: [ReconFieldKind], grouped: Bool,
         failedTests: [(index: Int, condition: FieldCondition)], json: JSONFieldPlan?, day: CivilDate? = nil) {
        nonisolated(unsafe) let failedTests = failedTests
        let thread = Thread { [self] in
            do {
                try reader.read { db in
                    let cursor = try SideCursor(db, sql: sql, arguments: arguments, kinds: kinds, grouped: grouped, failedTests: failedTests,
                                                json: json, day: day)
                    var builder = BatchBuilder(capacity: Self.batchItems)
                    while let item = cursor.next() {
                        if let full = builder.add(item) {
                            guard put(full) else { return }
                        }
                    }
                    if let failure = cursor.failure { throw failure }
                    if let last = builder.finish() { _ = put(last) }
                }
            } catch {
                condition.lock()
                failed = error
                condition.unlock()
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "reckon reconcile side"
        thread.start()
    }

    /// Waits while the buffer is full; false when the consumer has stopped.
    private func put(_ batch: ItemBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= Self.maximumBatches && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        waiting.append(batch)
        handed += batch.count
        condition.broadcast()
        return true
    }

    /// The next batch, waiting for it; nil when the side is done.
    func nextBatch() -> ItemBatch? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !finished { condition.wait() }
        guard !waiting.isEmpty else { return nil }
        condition.broadcast()
        return waiting.removeFirst()
    }

    /// Stops the reading thread (the consumer gave up early) and waits for it to let go of
    /// its connection.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return handed
    }

    var failure: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return failed
    }
}

/// The fields of an event side kept in `other_fields` that a rule compares or tests: read
/// with one `json_extract` of several paths (one parse of the JSON per item, not one per
/// field) and used here.
struct JSONFieldPlan: @unchecked Sendable {
    /// The JSON keys, in the order `json_extract` returns them.
    var paths: [String] = []
    /// Compared values: the compared field's index and the path's.
    var values: [(compared: Int, path: Int)] = []
    /// The side's `where` conditions on these fields.
    var filters: [(path: Int, condition: FieldCondition)] = []
    /// Failed-attempt conditions on these fields.
    var failed: [(path: Int, condition: FieldCondition)] = []
    /// By path: read only as a compared day, so its first ten characters are all it needs
    /// (``scalars(_:into:daysOnly:)``).
    var daysOnly: [Bool] = []

    mutating func path(_ key: String) -> Int {
        if let index = paths.firstIndex(of: key) { return index }
        paths.append(key)
        return paths.count - 1
    }

    /// `["success",12,null]` as texts (strings unquoted, numbers as written, null as nil);
    /// nil when it is not a flat array of scalars.
    static func scalars(_ bytes: UnsafeBufferPointer<UInt8>) -> [String?]? {
        var values: [String?] = []
        return scalars(bytes, into: &values) ? values : nil
    }

    /// ``scalars(_:)`` into `values` (emptied first, its storage kept); false when refused.
    /// A string at a path marked in `daysOnly` keeps its first ten characters when they are
    /// its first ten bytes (ASCII, unescaped, the next byte ASCII too): a day reads nothing
    /// else (`2024-12-16T09:12:03` needed a String of its own for each item).
    static func scalars(_ bytes: UnsafeBufferPointer<UInt8>, into values: inout [String?], daysOnly: [Bool] = []) -> Bool {
        values.removeAll(keepingCapacity: true)
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x09 { index += 1 } }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return false }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { return true }
        while index < bytes.count {
            skipSpace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "\"") {
                let start = index
                index += 1
                var escaped = false
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { escaped = true; index += 1 }
                    index += 1
                }
                guard index < bytes.count else { return false }
                index += 1
                let literal = UnsafeBufferPointer(rebasing: bytes[start..<index])
                if escaped {
                    // Rare: let Foundation undo the escapes.
                    guard let text = try? JSONSerialization.jsonObject(with: Data(literal), options: .fragmentsAllowed) as? String else { return false }
                    values.append(text)
                } else {
                    var body = UnsafeBufferPointer(rebasing: literal.dropFirst().dropLast())
                    if values.count < daysOnly.count, daysOnly[values.count], body.count > 10, body.prefix(11).allSatisfy({ $0 < 0x80 }) {
                        body = UnsafeBufferPointer(rebasing: body.prefix(10))
                    }
                    values.append(String(decoding: body, as: UTF8.self))
                }
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "]") { index += 1 }
                let word = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    .trimmingCharacters(in: .whitespaces)
                guard !word.isEmpty else { return false }
                values.append(word == "null" ? nil : word)
            }
            skipSpace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "]") { return true }
            guard bytes[index] == UInt8(ascii: ",") else { return false }
            index += 1
        }
        return false
    }
}
