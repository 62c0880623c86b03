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
    /// Items carried from earlier days: a clause over `temp.recon_carried` for a side.
    let carriedFrom: String
    let carriedScope: String

    /// The same source with no items of the day: only the carried ones.
    var withoutDayItems: SourceSQL {
        SourceSQL(from: from, groupBy: groupBy, ref: ref, day: day, fields: fields, dayScope: ("0", []),
                  carriedFrom: carriedFrom, carriedScope: carriedScope)
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
                carriedFrom: "temp.recon_carried c JOIN event e ON e.id = c.num JOIN received_file f ON f.id = e.file_id",
                carriedScope: "c.side = ? AND e.kind = '\(event.rawValue)' AND e.active = 1 AND f.partner = '\(quoted(partner))' AND f.file_type = '\(quoted(fileType))'")
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
                carriedFrom: "temp.recon_carried c JOIN plan_line pl ON pl.loan_id = c.loan AND pl.period = c.period JOIN loan l ON l.loan_id = pl.loan_id",
                carriedScope: "c.side = ?")
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
                    (SELECT DISTINCT num FROM temp.recon_carried WHERE side = ? OR substr(ref, 1, 1) = 'e') c
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
                if column == nil, index == plan.day, plan.inColumns[index] { column = "e.event_date" }
                var expression = column ?? "json_extract(e.other_fields, '$.\(quoted(field.name))')"
                // A moment compares by its day.
                if fieldKind == .date && column == nil { expression = "substr(\(expression), 1, 10)" }
                fields[field.name] = (expression, fieldKind)
            }
        }
        return fields
    }

    static func quoted(_ text: String) -> String { text.replacingOccurrences(of: "'", with: "''") }

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
    init(_ db: Database, sql: String, arguments: [DatabaseValue], kinds: [ReconFieldKind], grouped: Bool) throws {
        statement = try db.makeStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        self.kinds = kinds
        self.grouped = grouped
        headline = kinds.firstIndex(of: .amount)
    }

    func next() -> ReconItem? {
        guard failure == nil else { return nil }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: break
        case SQLITE_DONE: return nil
        default:
            failure = LedgerError("SQLite refused the reconciliation query: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))))")
            return nil
        }
        count += 1
        let ref = text(0) ?? ""
        let key = bytes(1)
        let day = date(2) ?? CivilDate(year: 1970, month: 1, day: 1)!
        let failed = sqlite3_column_int64(handle, 3) != 0
        var members: [String]?
        if grouped, let list = text(4) { members = list.split(separator: " ").map(String.init) }
        var values: [ReconValue?] = []
        values.reserveCapacity(kinds.count)
        for (index, kind) in kinds.enumerated() {
            let column = Int32(5 + index)
            guard sqlite3_column_type(handle, column) != SQLITE_NULL else {
                values.append(nil)
                continue
            }
            switch kind {
            case .amount: values.append(.amount(sqlite3_column_int64(handle, column)))
            case .date: values.append(date(column).map(ReconValue.date))
            case .text, .integer: values.append(text(column).map(ReconValue.text))
            }
        }
        var amount: Int64 = 0
        if let headline, case .amount(let minor)? = values[headline] { amount = minor }
        return ReconItem(ref: ref, key: key, day: day, values: values, amountMinor: amount,
                         members: members.flatMap { $0.count > 1 ? $0 : nil }, failed: failed)
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

    private func bytes(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_text(handle, column) else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column))))
    }
}
