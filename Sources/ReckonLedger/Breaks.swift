import Foundation
import GRDB
import ReckonCore

/// Where a break stands (README, "Working the breaks"): `pending` while its rule's window may
/// still bring the counterpart, `open` once it is a break, and it ends `matched` by hand,
/// `resolved` with a reason, or `closed` by a later file that made it good.
public enum BreakStatus: String, Sendable, CaseIterable, Codable {
    case pending, open, matched, resolved, closed

    /// Still to be worked: pending or open.
    public var isOutstanding: Bool { self == .pending || self == .open }
}

/// Why finance resolved a break: a short code from this documented set, nothing else.
public enum ResolutionReason: String, Sendable, CaseIterable {
    /// An adjusting entry (or payment) made the difference good.
    case adjusted
    /// The partner corrected its side (a corrected file, or a confirmed correction).
    case partnerCorrected = "partner_corrected"
    /// A timing difference: the counterpart is known to come, or came outside the window.
    case timing
    /// The difference is accepted and written off.
    case writtenOff = "written_off"
    /// Not a difference after all (the rule was wrong about it).
    case notABreak = "not_a_break"

    /// What the code means, for `--help` and messages.
    public var meaning: String {
        switch self {
        case .adjusted: return "an adjusting entry or payment made it good"
        case .partnerCorrected: return "the partner corrected its side"
        case .timing: return "a timing difference that settles later"
        case .writtenOff: return "the difference is accepted and written off"
        case .notABreak: return "not a difference after all"
        }
    }

    /// `adjusted (an adjusting entry …), partner_corrected (…), …`
    public static var catalogue: String {
        allCases.map { "\($0.rawValue) (\($0.meaning))" }.joined(separator: ", ")
    }
}

/// One compared field of a break as the reconcile step stored it: our value (the rule's
/// left side), theirs (the right side) and the signed delta theirs − ours (right − left):
/// minor units for amounts, working days for dates, nothing for text.
///
/// Stored in `recon_break.fields` as a JSON array of `{"name", "left", "right", "delta"}`:
/// amounts as integers of minor units, dates as ISO text, text as text, null where a side
/// has nothing (``json(_:)`` writes it, ``parse(_:)`` reads it).
public struct BreakField: Sendable, Equatable {
    public let name: String
    public let ours: ReconValue?
    public let theirs: ReconValue?
    public let delta: Int64?

    public init(name: String, ours: ReconValue?, theirs: ReconValue?, delta: Int64?) {
        self.name = name
        self.ours = ours
        self.theirs = theirs
        self.delta = delta
    }

    public init(_ comparison: FieldComparison) {
        self.init(name: comparison.name, ours: comparison.left, theirs: comparison.right, delta: comparison.delta)
    }

    /// How the field's values compare: an amount, a date, or text.
    public var kind: ReconFieldKind {
        switch ours ?? theirs {
        case .amount?: return .amount
        case .date?: return .date
        default: return .text
        }
    }

    /// The stored form of a break's fields.
    public static func json(_ fields: [BreakField]) -> String {
        func value(_ value: ReconValue?) -> String {
            switch value {
            case nil: return "null"
            case .amount(let minor)?: return String(minor)
            case .date(let day)?: return JSONText.quote(day.description)
            case .text(let text)?: return JSONText.quote(text)
            }
        }
        return "[" + fields.map {
            JSONText.object([("name", JSONText.quote($0.name)), ("left", value($0.ours)), ("right", value($0.theirs)),
                             ("delta", $0.delta.map(String.init) ?? "null")])
        }.joined(separator: ",") + "]"
    }

    /// Reads the stored form; nil or empty text is no fields.
    public static func parse(_ text: String?) throws -> [BreakField] {
        guard let text, !text.isEmpty else { return [] }
        return try JSONDecoder().decode([Stored].self, from: Data(text.utf8)).map { stored in
            BreakField(name: stored.name, ours: stored.left?.value, theirs: stored.right?.value, delta: stored.delta)
        }
    }

    private struct Stored: Decodable {
        let name: String
        let left: StoredValue?
        let right: StoredValue?
        let delta: Int64?
    }

    private enum StoredValue: Decodable {
        case number(Int64), text(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        var value: ReconValue {
            switch self {
            case .number(let minor): return .amount(minor)
            case .text(let text): return text.count == 10 ? CivilDate(iso: text).map(ReconValue.date) ?? .text(text) : .text(text)
            }
        }
    }
}

/// A manual match or resolution above the approval line, waiting for a second person
/// (`recon_break.awaiting_approval`, on every break it names).
public struct BreakProposal: Sendable, Equatable, Codable {
    /// `match` or `resolve`.
    public let action: String
    public let maker: String
    /// When it was proposed (UTC, as stored).
    public let at: String
    public let reason: String?
    public let note: String?
    /// Every break the proposal names (a match names several).
    public let breakIDs: [Int64]
    /// The largest amount of the breaks named, which put it above the line.
    public let amountMinor: Int64
    public let approvalAboveMinor: Int64
    /// The action log's row that proposed it.
    public let actionID: Int64

    enum CodingKeys: String, CodingKey {
        case action, maker, at, reason, note
        case breakIDs = "break_ids", amountMinor = "amount_minor", approvalAboveMinor = "approval_above_minor", actionID = "action_id"
    }

    /// As stored: members in a fixed order.
    var json: String {
        JSONText.object([("action", JSONText.quote(action)), ("maker", JSONText.quote(maker)), ("at", JSONText.quote(at)),
                         ("reason", reason.map(JSONText.quote) ?? "null"), ("note", note.map(JSONText.quote) ?? "null"),
                         ("break_ids", "[" + breakIDs.map(String.init).joined(separator: ",") + "]"),
                         ("amount_minor", String(amountMinor)), ("approval_above_minor", String(approvalAboveMinor)),
                         ("action_id", String(actionID))])
    }

    static func parse(_ text: String?) throws -> BreakProposal? {
        guard let text, !text.isEmpty else { return nil }
        return try JSONDecoder().decode(BreakProposal.self, from: Data(text.utf8))
    }
}

/// A break as finance sees it.
public struct ReconBreak: Sendable, Equatable {
    public let id: Int64
    public let rule: String
    public let partner: String
    public let kind: BreakKind
    public let status: BreakStatus
    /// The day of the items: what the break's age counts from.
    public let businessDate: CivilDate
    public let foundOn: CivilDate
    public let updatedOn: CivilDate
    /// The day it was matched, resolved or closed; nil while it is outstanding.
    public let closedOn: CivilDate?
    public let matchKey: String
    public let amountMinor: Int64
    public let currency: String
    public let fields: [BreakField]
    public let summary: String
    public let reason: String?
    public let note: String?
    /// Who acted on it last (the maker, for an approved action).
    public let actedBy: String?
    public let awaitingApproval: BreakProposal?
    /// Working days from its business day to the day the listing counts to (or to the day
    /// it ended, when that is earlier), by its rule's calendar.
    public internal(set) var ageWorkingDays: Int = 0
}

/// One item of a break: a record on our side (left) or theirs (right), with the file and
/// line it came from and what it holds.
public struct BreakItem: Sendable, Equatable {
    public let side: ReconSide
    /// `e123` (event 123), `p<loan>/<period>` (our plan line), `a123` (our allocation of
    /// repayment event 123).
    public let ref: String
    /// `item` (what the break is about) or `counterpart` (what it was compared with).
    public let role: String
    public let fileID: Int64?
    public let fileName: String?
    public let line: Int?
    /// What the record holds; nil when the ledger no longer has it.
    public let record: BreakRecord?
}

/// What an item's record holds, whichever source it comes from.
public struct BreakRecord: Sendable, Equatable {
    public enum Source: String, Sendable {
        case event
        case planLine = "plan_line"
        case allocation
    }

    public let source: Source
    /// The event's kind (`repayment`, …); a plan line's or allocation's source name.
    public let kind: String
    public let loanID: String?
    public let period: Int?
    /// The event's day, the plan line's due day, the allocated repayment's day.
    public let date: String?
    public let principalMinor: Int64?
    public let interestMinor: Int64?
    public let penaltyMinor: Int64?
    public let feeMinor: Int64?
    /// The event's amount; a plan line's total due; an allocation's total.
    public let amountMinor: Int64?
    public let currency: String?
    public let reference: String?
    /// A plan line's status.
    public let status: String?
    /// The event's other fields, as stored (JSON).
    public let otherFields: String?
}

/// One change in a break's life.
public struct BreakHistoryEntry: Sendable, Equatable {
    public let businessDate: String
    public let at: String
    public let status: String
    public let kind: String
    public let what: String
    public let actor: String?
    /// The action log's row, for a person's action.
    public let actionID: Int64?
}

/// One row of the append-only, hash-chained action log.
public struct BreakAction: Sendable, Equatable {
    public let id: Int64
    /// `match`, `resolve`, `reopen`, `approve` or `withdraw`.
    public let action: String
    public let breakIDs: [Int64]
    public let actor: String
    public let actedAt: String
    public let reason: String?
    public let note: String?
    /// JSON: what the action did (see README, "Working the breaks").
    public let detail: String?
    public let previousHash: String
    public let hash: String
}

/// Which breaks to list. `asOf` is the business day the listing stands on (`--date`):
/// breaks of later days are left out, and ages count to it.
public struct BreakFilter: Sendable {
    public var asOf: CivilDate?
    public var partner: String?
    public var rule: String?
    public var kind: BreakKind?
    /// Nil: every status.
    public var statuses: Set<BreakStatus>?
    /// Only breaks older than this many working days.
    public var olderThanWorkingDays: Int?

    public init(asOf: CivilDate? = nil, partner: String? = nil, rule: String? = nil, kind: BreakKind? = nil,
                statuses: Set<BreakStatus>? = [.pending, .open], olderThanWorkingDays: Int? = nil) {
        self.asOf = asOf
        self.partner = partner
        self.rule = rule
        self.kind = kind
        self.statuses = statuses
        self.olderThanWorkingDays = olderThanWorkingDays
    }
}

/// Breaks listed, with the day their ages count to (nil: nothing reconciled yet).
public struct BreakListing: Sendable {
    public let asOf: CivilDate?
    public let breaks: [ReconBreak]
}

/// One break with everything about it.
public struct BreakDetail: Sendable {
    public let reconBreak: ReconBreak
    public let asOf: CivilDate?
    /// The calendar its age is counted in.
    public let calendar: String
    public let items: [BreakItem]
    public let history: [BreakHistoryEntry]
    public let actions: [BreakAction]
    /// The adjustment a resolution booked (or a proposal carries), and the settlement file
    /// that carried it.
    public var adjustment: Ledger.BreakAdjustmentState? = nil
}

/// Counts working days for breaks' ages, each by its rule's calendar: `calendar-days`
/// (every day), `weekdays` (Monday to Friday) or the configured calendar (any other name
/// a rule may give, see ReconRuleLoader). A rule no longer configured counts in the
/// default a rule gets: the configured calendar, or weekdays without one.
public struct WorkingDayCount: Sendable {
    let count: BreakAge
    let ruleCalendars: [String: String]
    let defaultName: String

    public init(calendar: BusinessCalendar?, calendarPath: String?, rules: [ReconRule]) {
        count = BreakAge(configured: calendar)
        ruleCalendars = Dictionary(rules.map { ($0.name, $0.calendar) }, uniquingKeysWith: { first, _ in first })
        defaultName = BreakAge.defaultCalendar(calendarPath: calendar == nil ? nil : calendarPath)
    }

    /// The calendar a rule's breaks age in.
    public func calendarName(rule: String) -> String { ruleCalendars[rule] ?? defaultName }

    /// The working days after `start` up to and including `end` (0 when `end` is not later).
    public func workingDays(rule: String, from start: CivilDate, to end: CivilDate) -> Int {
        count.workingDays(from: start, to: end, calendar: calendarName(rule: rule))
    }
}

extension Ledger {
    /// The latest business day reconciled: the last day a rule ran for; without a run, the
    /// latest day a break was updated on.
    public func latestReconciledDay() throws(LedgerError) -> CivilDate? {
        try read { db in try Self.latestReconciledDay(db) }
    }

    static func latestReconciledDay(_ db: Database) throws -> CivilDate? {
        let day = try String.fetchOne(db, sql: "SELECT max(business_date) FROM recon_run")
            ?? String.fetchOne(db, sql: "SELECT max(updated_on) FROM recon_break")
        return day.flatMap { CivilDate(iso: $0) }
    }

    /// Breaks, oldest business day first, with their ages.
    public func breaks(_ filter: BreakFilter, ages: WorkingDayCount) throws(LedgerError) -> BreakListing {
        try read { db in
            let asOf = try filter.asOf ?? Self.latestReconciledDay(db)
            var sql = "SELECT \(Self.breakColumns) FROM recon_break WHERE 1 = 1"
            var arguments: StatementArguments = []
            if let asOf {
                sql += " AND business_date <= ?"
                arguments += [asOf.description]
            }
            if let partner = filter.partner {
                sql += " AND partner = ?"
                arguments += [partner]
            }
            if let rule = filter.rule {
                sql += " AND rule = ?"
                arguments += [rule]
            }
            if let kind = filter.kind {
                sql += " AND kind = ?"
                arguments += [kind.rawValue]
            }
            if let statuses = filter.statuses {
                let names = BreakStatus.allCases.filter(statuses.contains).map(\.rawValue)
                sql += " AND status IN (\(names.map { _ in "?" }.joined(separator: ", ")))"
                arguments += StatementArguments(names)
            }
            sql += " ORDER BY business_date, id"
            var breaks: [ReconBreak] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                var found = try Self.reconBreak(row)
                found.ageWorkingDays = Self.age(found, asOf: asOf, ages: ages)
                if let older = filter.olderThanWorkingDays, found.ageWorkingDays <= older { continue }
                breaks.append(found)
            }
            return BreakListing(asOf: asOf, breaks: breaks)
        }
    }

    /// One break: its fields, its items on both sides (with file and line, and what each
    /// record holds), its history and the actions taken on it. `asOf` as in ``BreakFilter``.
    public func breakDetail(_ id: Int64, asOf: CivilDate? = nil, ages: WorkingDayCount) throws(LedgerError) -> BreakDetail {
        try read { db in
            var found = try Self.fetchBreak(db, id)
            let day = try asOf ?? Self.latestReconciledDay(db)
            found.ageWorkingDays = Self.age(found, asOf: day, ages: ages)
            return BreakDetail(reconBreak: found, asOf: day, calendar: ages.calendarName(rule: found.rule),
                               items: try Self.items(db, breakID: id), history: try Self.history(db, breakID: id),
                               actions: try Self.actions(db, breakID: id), adjustment: try Self.adjustment(db, breakID: id))
        }
    }

    /// The action log, oldest first; of one break when given.
    public func breakActions(breakID: Int64? = nil) throws(LedgerError) -> [BreakAction] {
        try read { db in try Self.actions(db, breakID: breakID) }
    }

    // MARK: Rows

    static let breakColumns = """
        id, rule, partner, kind, status, business_date, found_on, updated_on, closed_on, match_key, amount_minor, currency, \
        fields, summary, reason, note, acted_by, awaiting_approval
        """

    static func fetchBreak(_ db: Database, _ id: Int64) throws -> ReconBreak {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(breakColumns) FROM recon_break WHERE id = ?", arguments: [id]) else {
            throw LedgerError("no break #\(id) in the ledger (reckon breaks list --status all lists them)")
        }
        return try reconBreak(row)
    }

    static func reconBreak(_ row: Row) throws -> ReconBreak {
        let id: Int64 = row[0]
        func day(_ column: Int) throws -> CivilDate {
            let text: String = row[column]
            guard let day = CivilDate(iso: text) else { throw LedgerError("break #\(id): '\(text)' is not a day") }
            return day
        }
        let kindText: String = row[3], statusText: String = row[4]
        guard let kind = BreakKind(rawValue: kindText) else { throw LedgerError("break #\(id): unknown kind '\(kindText)'") }
        guard let status = BreakStatus(rawValue: statusText) else { throw LedgerError("break #\(id): unknown status '\(statusText)'") }
        let fields: [BreakField], proposal: BreakProposal?
        do {
            fields = try BreakField.parse(row[12])
        } catch {
            throw LedgerError("break #\(id): its fields are not the JSON the reconcile step writes: \(error)")
        }
        do {
            proposal = try BreakProposal.parse(row[17])
        } catch {
            throw LedgerError("break #\(id): its awaiting_approval is not a proposal: \(error)")
        }
        let closedText: String? = row[8]
        return ReconBreak(id: id, rule: row[1], partner: row[2], kind: kind, status: status, businessDate: try day(5),
                          foundOn: try day(6), updatedOn: try day(7), closedOn: closedText.flatMap { CivilDate(iso: $0) },
                          matchKey: row[9], amountMinor: row[10], currency: row[11], fields: fields, summary: row[13],
                          reason: row[14], note: row[15], actedBy: row[16], awaitingApproval: proposal)
    }

    /// Working days from the break's day to `asOf`, or to the day it ended when earlier.
    static func age(_ reconBreak: ReconBreak, asOf: CivilDate?, ages: WorkingDayCount) -> Int {
        guard var end = asOf else { return 0 }
        if let closed = reconBreak.closedOn, closed < end { end = closed }
        return ages.workingDays(rule: reconBreak.rule, from: reconBreak.businessDate, to: end)
    }

    static func items(_ db: Database, breakID: Int64) throws -> [BreakItem] {
        try Row.fetchAll(db, sql: """
            SELECT i.side, i.ref, i.role, i.file_id, i.line, f.name FROM recon_break_item i
            LEFT JOIN received_file f ON f.id = i.file_id
            WHERE i.break_id = ? ORDER BY i.side, i.role DESC, i.ref
            """, arguments: [breakID]).map { row in
            let sideText: String = row[0], ref: String = row[1]
            var fileID: Int64? = row[3], line: Int? = row[4], fileName: String? = row[5]
            let record = try Self.record(db, ref: ref)
            if fileID == nil, let source = record?.file {
                (fileID, fileName) = (source.id, source.name)
                line = line ?? source.line
            }
            return BreakItem(side: ReconSide(rawValue: sideText) ?? .left, ref: ref, role: row[2], fileID: fileID,
                             fileName: fileName, line: line, record: record?.record)
        }
    }

    /// What a ref names, and for events (and allocations of events) the file and line.
    static func record(_ db: Database, ref: String) throws -> (record: BreakRecord, file: (id: Int64, name: String, line: Int)?)? {
        guard let tag = ref.first else { return nil }
        let rest = String(ref.dropFirst())
        switch tag {
        case "e":
            guard let eventID = Int64(rest), let row = try Row.fetchOne(db, sql: """
                SELECT e.kind, e.loan_id, e.period, e.event_date, e.principal_minor, e.interest_minor, e.penalty_minor,
                       e.fee_minor, e.amount_minor, e.currency, e.reference, e.other_fields, e.file_id, f.name, e.line
                FROM event e LEFT JOIN received_file f ON f.id = e.file_id WHERE e.id = ?
                """, arguments: [eventID]) else { return nil }
            let record = BreakRecord(source: .event, kind: row[0], loanID: row[1], period: row[2], date: row[3], principalMinor: row[4],
                                     interestMinor: row[5], penaltyMinor: row[6], feeMinor: row[7], amountMinor: row[8],
                                     currency: row[9], reference: row[10], status: nil, otherFields: row[11])
            return (record, (row[12], (row[13] as String?) ?? "?", row[14]))
        case "p":
            guard let slash = rest.lastIndex(of: "/"), let period = Int(rest[rest.index(after: slash)...]) else { return nil }
            let loan = String(rest[..<slash])
            guard let row = try Row.fetchOne(db, sql: """
                SELECT p.due_on, p.principal_minor, p.interest_minor, p.fee_minor, l.currency, p.status FROM plan_line p
                JOIN loan l ON l.loan_id = p.loan_id WHERE p.loan_id = ? AND p.period = ?
                """, arguments: [loan, period]) else { return nil }
            let principal: Int64 = row[1], interest: Int64 = row[2], fee: Int64 = row[3]
            let record = BreakRecord(source: .planLine, kind: "plan_line", loanID: loan, period: period, date: row[0],
                                     principalMinor: principal, interestMinor: interest, penaltyMinor: nil, feeMinor: fee,
                                     amountMinor: principal + interest + fee, currency: row[4], reference: nil, status: row[5],
                                     otherFields: nil)
            return (record, nil)
        case "a":
            guard let eventID = Int64(rest), let row = try Row.fetchOne(db, sql: """
                SELECT a.loan_id, min(a.period), max(a.period), sum(a.principal_minor), sum(a.interest_minor), sum(a.penalty_minor),
                       sum(a.fee_minor), e.event_date, e.currency, e.reference, e.file_id, f.name, e.line
                FROM repayment_allocation a JOIN event e ON e.id = a.event_id LEFT JOIN received_file f ON f.id = e.file_id
                WHERE a.event_id = ? GROUP BY a.event_id
                """, arguments: [eventID]) else { return nil }
            let first: Int = row[1], last: Int = row[2]
            let parts: [Int64] = [row[3], row[4], row[5], row[6]]
            let record = BreakRecord(source: .allocation, kind: "allocation", loanID: row[0], period: first == last ? first : nil,
                                     date: row[7], principalMinor: parts[0], interestMinor: parts[1], penaltyMinor: parts[2],
                                     feeMinor: parts[3], amountMinor: parts.reduce(0, +), currency: row[8], reference: row[9],
                                     status: nil, otherFields: nil)
            let fileID: Int64? = row[10]
            return (record, fileID.map { ($0, (row[11] as String?) ?? "?", row[12]) })
        default:
            return nil
        }
    }

    static func history(_ db: Database, breakID: Int64) throws -> [BreakHistoryEntry] {
        try Row.fetchAll(db, sql: """
            SELECT business_date, at, status, kind, what, actor, action_id FROM recon_break_history WHERE break_id = ? ORDER BY id
            """, arguments: [breakID]).map {
            BreakHistoryEntry(businessDate: $0[0], at: $0[1], status: $0[2], kind: $0[3], what: $0[4], actor: $0[5], actionID: $0[6])
        }
    }

    static let actionColumns = "id, action, break_ids, actor, acted_at, reason, note, detail, previous_hash, hash"

    static func actions(_ db: Database, breakID: Int64?) throws -> [BreakAction] {
        var sql = "SELECT \(actionColumns) FROM recon_action"
        var arguments: StatementArguments = []
        if let breakID {
            sql += " WHERE EXISTS (SELECT 1 FROM json_each(recon_action.break_ids) WHERE value = ?)"
            arguments += [breakID]
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).map(action)
    }

    static func action(_ row: Row) -> BreakAction {
        let ids: String = row[2]
        return BreakAction(id: row[0], action: row[1], breakIDs: BreakActionLog.breakIDs(ids), actor: row[3], actedAt: row[4],
                           reason: row[5], note: row[6], detail: row[7], previousHash: row[8], hash: row[9])
    }
}
