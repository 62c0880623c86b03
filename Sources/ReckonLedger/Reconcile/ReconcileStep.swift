import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What one rule's run for a day found.
public struct RuleOutcome: Sendable, Equatable {
    public let rule: String
    public let partner: String
    public var leftItems = 0
    public var rightItems = 0
    public var matched = 0
    public var matchedMinor: Int64 = 0
    public var pending = 0
    public var pendingMinor: Int64 = 0
    public var broken = 0
    public var brokenMinor: Int64 = 0
    /// Breaks that are new or became open in this run.
    public var newBreaks = 0
    /// Breaks closed in this run (their counterpart came, or they no longer differ).
    public var closedBreaks = 0
    /// The rule does not apply yet on the day (`from:`).
    public var skipped = false

    public init(rule: String, partner: String) {
        self.rule = rule
        self.partner = partner
    }
}

/// What the reconcile step did for a day.
public struct ReconcileReport: Sendable {
    public let date: CivilDate
    public var rules: [RuleOutcome] = []
    public var newAlerts = 0

    public var newBreaks: Int { rules.reduce(0) { $0 + $1.newBreaks } }
    public var openBreaks: Int { rules.reduce(0) { $0 + $1.broken } }

    /// `3 rules: 58 matched, 2 pending, 4 breaks (3 new), 1 closed`.
    public var summary: String {
        let applied = rules.filter { !$0.skipped }
        var text = "\(Plural.count(applied.count, "rule")): \(applied.reduce(0) { $0 + $1.matched }) matched, "
            + "\(applied.reduce(0) { $0 + $1.pending }) pending, \(Plural.count(openBreaks, "break"))"
        if newBreaks > 0 { text += " (\(newBreaks) new)" }
        let closed = applied.reduce(0) { $0 + $1.closedBreaks }
        if closed > 0 { text += ", \(closed) closed" }
        return text
    }
}

/// The reconcile step (DESIGN.md, "Reconciliation"): every rule of `reckon.yaml` for one
/// business day, in one transaction. For a matching rule, the day's items on both sides and
/// the items of its unsettled breaks (carried from earlier days) are streamed from SQLite in
/// key order and paired by the ``Matcher`` one key at a time (a sort-merge join: memory is
/// one key group). Breaks keep their identity (rule, key, ordinal): a re-run updates them and
/// adds none; one whose counterpart arrives is closed, its history kept. Breaks finance has
/// matched or resolved are final: their items are left out.
struct ReconcileStep {
    let db: Database
    let config: ReckonConfig
    let reference: ReferenceData
    let date: CivilDate
    let rules: [ReconRule]
    /// Reader connections for reading a rule's right side beside the left (nil: one at a time).
    let reader: DatabasePool?
    let time: String
    var specs: [String: MappingSpec] = [:]
    var report: ReconcileReport
    /// Asked at each rule, every ``stopCheckKeys`` keys paired and each statement: true
    /// abandons the step, its transaction rolled back whole (a graceful stop).
    var shouldStop: () -> Bool = { false }

    init(db: Database, config: ReckonConfig, reference: ReferenceData, date: CivilDate, rules: [ReconRule], reader: DatabasePool? = nil) {
        self.reader = reader
        self.db = db
        self.config = config
        self.reference = reference
        self.date = date
        self.rules = rules
        time = timestamp()
        report = ReconcileReport(date: date)
    }

    /// How long closed breaks' items keep being carried (so a re-run of a later day pairs
    /// them the same way again), in calendar days.
    static let closedCarryDays = 62
    /// Items of one side listed with a break at most; a group's others are counted.
    static let maximumBreakItems = 1_000
    /// Keys paired between two asks whether to stop (an ask is a closure call; a key is
    /// microseconds of work).
    static let stopCheckKeys = 4_096

    mutating func run() throws -> ReconcileReport {
        for rule in rules {
            if shouldStop() { throw Abandoned() }
            var outcome = RuleOutcome(rule: rule.name, partner: rule.partner)
            let applies = rule.applies(on: date)
            if !applies {
                outcome.skipped = true
                // A day before the rule applies has no items of its own, but the ledger may
                // have changed under the rule's open breaks (an earlier day run late planned
                // the loans a repayment paid): they are tried again.
                let carried = try Bool.fetchOne(db, sql: """
                    SELECT 1 FROM recon_break WHERE rule = ? AND status IN ('pending', 'open') LIMIT 1
                    """, arguments: [rule.name]) ?? false
                guard carried, rule.sources != nil else {
                    report.rules.append(outcome)
                    continue
                }
            }
            // Whether an item still waits is judged as of the latest day this rule has run for,
            // so the days may be run in any order and end the same.
            let latest = try String.fetchOne(db, sql: "SELECT max(business_date) FROM recon_run WHERE rule = ?", arguments: [rule.name])
                .flatMap(CivilDate.init(iso:))
            var writer = try BreakWriter(db: db, rule: rule, date: date, asOf: max(date, latest ?? date), time: time,
                                         calendar: workingDays(rule.calendar), currency: config.currency)
            switch rule.kind {
            case .match(let left, let right):
                try match(rule, left: left, right: right, freshItems: applies, writer: &writer, outcome: &outcome)
            case .statement(let check):
                try checkStatements(rule, check, writer: &writer, outcome: &outcome)
            }
            outcome.closedBreaks += try writer.closeUnseen(statementDay: rule.sources == nil ? date : nil)
            outcome.newBreaks = writer.newBreaks
            if !applies {
                try clearAlerts(rule, writer: writer)
                report.rules.append(outcome)
                continue
            }
            try db.execute(sql: """
                INSERT OR REPLACE INTO recon_run (rule, business_date, partner, ran_at, left_items, right_items, matched, matched_minor,
                    pending, pending_minor, broken, broken_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [rule.name, date.description, rule.partner, time, outcome.leftItems, outcome.rightItems, outcome.matched,
                                 outcome.matchedMinor, outcome.pending, outcome.pendingMinor, outcome.broken, outcome.brokenMinor])
            // One alert per rule and day of the items: the same whichever run found the breaks.
            for day in writer.openedDays.sorted() {
                if try AlertBook.raise(db, code: "breaks_found", severity: .warning, subject: "\(rule.name) \(day)", day: day.description,
                                       message: "rule \(rule.name) has breaks on \(day): reckon breaks list --rule \(rule.name) --date \(day)",
                                       at: time) {
                    report.newAlerts += 1
                }
            }
            // Seed 000 §15 f: a loan's plan still missing when its wait is over (the day
            // after); dated that day, whichever run found it.
            for (loan, day) in writer.missingPlansOpened.sorted(by: { $0.key < $1.key }) {
                let due = writer.waitEnds(day)
                if try AlertBook.raise(db, code: "missing_partner_plan", severity: .warning, subject: loan, day: due.description,
                                       message: "loan \(loan) was disbursed on \(day) and \(rule.partner) has not sent its plan by \(due) (rule \(rule.name))",
                                       at: time) {
                    report.newAlerts += 1
                }
            }
            try clearAlerts(rule, writer: writer)
            for alert in writer.balanceAlerts {
                if try AlertBook.raise(db, code: "balance_below_warning", severity: .critical, subject: alert.subject, day: date.description,
                                       message: alert.message, at: time) {
                    report.newAlerts += 1
                }
            }
            report.rules.append(outcome)
        }
        return report
    }

    /// Clears the alerts of breaks this run closed: a loan's missing plan that came, and a
    /// rule's day with no break left pending or open.
    private func clearAlerts(_ rule: ReconRule, writer: BreakWriter) throws {
        for loan in writer.missingPlansClosed.sorted() {
            try AlertBook.clear(db, code: "missing_partner_plan", subject: loan, day: date.description)
        }
        for day in writer.closedDays.sorted() {
            let left = try Bool.fetchOne(db, sql: """
                SELECT 1 FROM recon_break WHERE rule = ? AND business_date = ? AND status IN ('pending', 'open') LIMIT 1
                """, arguments: [rule.name, day]) ?? false
            if !left { try AlertBook.clear(db, code: "breaks_found", subject: "\(rule.name) \(day)", day: date.description) }
        }
    }

    /// Working days from one date to another under the named calendar (``BreakAge``).
    func workingDays(_ name: String) -> @Sendable (CivilDate, CivilDate) -> Int {
        let count = BreakAge(configured: reference.calendar)
        return { from, to in count.signedWorkingDays(from: from, to: to, calendar: name) }
    }

    // MARK: Matching rules

    private mutating func match(_ rule: ReconRule, left: ReconSource, right: ReconSource, freshItems: Bool,
                                writer: inout BreakWriter, outcome: inout RuleOutcome) throws {
        var leftSQL = try ReconSources.sql(left, day: date, db: db, config: config, specs: &specs)
        var rightSQL = try ReconSources.sql(right, day: date, db: db, config: config, specs: &specs)
        if !freshItems {
            leftSQL = leftSQL.withoutDayItems
            rightSQL = rightSQL.withoutDayItems
        }
        let carried = try loadCarried(rule)
        let leftQuery = try query(rule, side: .left, source: left, sql: leftSQL, other: rightSQL, carried: carried)
        let rightQuery = try query(rule, side: .right, source: right, sql: rightSQL, other: leftSQL, carried: carried)
        let kinds = rule.compared.map(\.kind)
        // Each side is read on a reader connection of its own, on a thread of its own, so the
        // two sides' sorts run at once and this thread only pairs their items (building the
        // items was most of its work); they see what this transaction sees, since the step
        // writes none of what the sides read (events, plans, allocations).
        let leftItems = try items(leftQuery, kinds: kinds, grouped: rule.grouping.groupsLeft)
        // An error on the way leaves the reading threads nothing to wait for.
        defer { leftItems.stop() }
        let rightItems = try items(rightQuery, kinds: kinds, grouped: rule.grouping.groupsRight)
        defer { rightItems.stop() }
        let matcher = Matcher(rule: rule, workingDays: workingDays(rule.calendar))
        try pair(left: SideHead(leftItems.nextBatch), right: SideHead(rightItems.nextBatch), matcher: matcher, writer: &writer,
                 outcome: &outcome)
        if let failure = leftItems.failure ?? rightItems.failure { throw failure }
        try writer.flushMissing(outcome: &outcome)
        outcome.leftItems = leftItems.count
        outcome.rightItems = rightItems.count
    }

    /// The sort-merge join of the two sides, one key at a time (the memory of one key group).
    /// A key alone on both sides whose items agree (nearly every key) is counted in place,
    /// without gathering its group or building the matcher's outcome (`Matcher.agrees`, the
    /// same decision); any other key's items are gathered and matched.
    private func pair(left: SideHead, right: SideHead, matcher: Matcher, writer: inout BreakWriter, outcome: inout RuleOutcome) throws {
        var left = left, right = right
        var groupLeft: [ReconItem] = [], groupRight: [ReconItem] = []
        // Keys must come in order: one out of order would break every pairing after it.
        var lastKey: ReconKey?
        func follows(_ key: ReconKey) {
            if let lastKey { precondition(lastKey.precedes(key), "reconciliation items out of key order") }
            lastKey = key
        }
        var keysUntilStopCheck = Self.stopCheckKeys
        while true {
            keysUntilStopCheck -= 1
            if keysUntilStopCheck == 0 {
                if shouldStop() { throw Abandoned() }
                keysUntilStopCheck = Self.stopCheckKeys
            }
            let key: ReconKey
            switch (left.head(), right.head()) {
            case (nil, nil):
                return
            case (let l?, nil):
                key = l.pointee.matchKey
            case (nil, let r?):
                key = r.pointee.matchKey
            case (let l?, let r?):
                if l.pointee.matchKey == r.pointee.matchKey {
                    if left.alone && right.alone && matcher.agrees(l, r) {
                        follows(l.pointee.matchKey)
                        try writer.recordMatch(left: l, right: r, outcome: &outcome)
                        left.drop()
                        right.drop()
                        continue
                    }
                    key = l.pointee.matchKey
                } else {
                    key = l.pointee.matchKey.precedes(r.pointee.matchKey) ? l.pointee.matchKey : r.pointee.matchKey
                }
            }
            follows(key)
            groupLeft.removeAll(keepingCapacity: true)
            groupRight.removeAll(keepingCapacity: true)
            while let item = left.head(), item.pointee.matchKey == key { groupLeft.append(left.take()) }
            while let item = right.head(), item.pointee.matchKey == key { groupRight.append(right.take()) }
            if groupLeft.count == 1 && groupRight.count == 1 && matcher.agrees(groupLeft[0], groupRight[0]) {
                try writer.recordMatch(left: groupLeft[0], right: groupRight[0], outcome: &outcome)
                continue
            }
            try writer.record(matcher.match(left: groupLeft, right: groupRight), outcome: &outcome)
        }
    }

    /// One side's items in key order, in batches: read on a thread of its own, or on the
    /// step's connection.
    enum SideItems {
        case stream(SideStream)
        case cursor(CursorBatches)

        func nextBatch() -> ItemBatch? {
            switch self {
            case .stream(let stream): return stream.nextBatch()
            case .cursor(let batches): return batches.nextBatch()
            }
        }

        /// How many were handed out.
        var count: Int {
            switch self {
            case .stream(let stream): return stream.count
            case .cursor(let batches): return batches.cursor.count
            }
        }

        /// What stopped them.
        var failure: (any Error)? {
            switch self {
            case .stream(let stream): return stream.failure
            case .cursor(let batches): return batches.cursor.failure
            }
        }

        /// Lets go of the side's reading thread (nothing when there is none).
        func stop() {
            if case .stream(let stream) = self { stream.cancel() }
        }
    }

    /// A side's query streamed on a reader connection on a thread of its own when the ledger
    /// has reader connections (a file on disk), else on this connection.
    private func items(_ query: SideQuery, kinds: [ReconFieldKind], grouped: Bool) throws -> SideItems {
        if let reader {
            return .stream(SideStream(reader: reader, sql: query.sql, arguments: query.arguments, kinds: kinds, grouped: grouped,
                                      failedTests: query.failedTests, json: query.json, day: date))
        }
        return .cursor(CursorBatches(try SideCursor(db, sql: query.sql, arguments: query.arguments, kinds: kinds, grouped: grouped,
                                                    failedTests: query.failedTests, json: query.json, day: date)))
    }

    typealias SideQuery = (sql: String, arguments: [DatabaseValue], failedTests: [(index: Int, condition: FieldCondition)], json: JSONFieldPlan?)

    /// What a rule's queries take from its breaks: the items of its unsettled breaks (and of
    /// those closed lately, with the counterparts that closed them), carried into the run,
    /// as JSON rows `[side, ref, event, loan, period]`; and per side the items of breaks
    /// finance matched or resolved, left out.
    struct Carried {
        var json = "[]"
        /// The sides with carried items.
        var sides = Set<ReconSide>()
        var excluded: [ReconSide: [String]] = [:]
    }

    private func loadCarried(_ rule: ReconRule) throws -> Carried {
        var carried = Carried()
        let since = date.adding(days: -Self.closedCarryDays)?.description ?? ""
        let rows = try Row.fetchAll(db, sql: """
            SELECT DISTINCT i.side, i.ref FROM recon_break b JOIN recon_break_item i ON i.break_id = b.id
            WHERE b.rule = ?1 AND (b.status IN ('pending', 'open') OR (b.status = 'closed' AND b.closed_on >= ?2))
            ORDER BY i.side, i.ref
            """, arguments: [rule.name, since])
        carried.sides = Set(rows.map { ReconSide(rawValue: $0[0] as String) ?? .left })
        carried.json = "[" + rows.map { row -> String in
            let side: String = row[0], ref: String = row[1]
            var number = "null", loan = "null", period = "null"
            if ref.first == "e" || ref.first == "a", let id = Int64(ref.dropFirst()) { number = String(id) }
            if ref.first == "p", let slash = ref.lastIndex(of: "/"), let value = Int(ref[ref.index(after: slash)...]) {
                loan = JSONText.quote(String(ref[ref.index(after: ref.startIndex)..<slash]))
                period = String(value)
            }
            return "[\(JSONText.quote(side)),\(JSONText.quote(ref)),\(number),\(loan),\(period)]"
        }.joined(separator: ",") + "]"
        for row in try Row.fetchAll(db, sql: """
            SELECT DISTINCT i.side, i.ref FROM recon_break b JOIN recon_break_item i ON i.break_id = b.id
            WHERE b.rule = ? AND b.status IN ('matched', 'resolved') ORDER BY i.side, i.ref
            """, arguments: [rule.name]) {
            carried.excluded[ReconSide(rawValue: row[0]) ?? .left, default: []].append(row[1])
        }
        return carried
    }

    /// One side's query: the day's items and the carried ones, filtered, keyed, in key order
    /// (summed per key when the side is grouped).
    private func query(_ rule: ReconRule, side: ReconSide, source: ReconSource, sql: SourceSQL,
                       other: SourceSQL, carried: Carried) throws -> SideQuery {
        // Key parts compare as bytes: numbers zero-padded, dates as their day, the rest as text.
        var keyParts: [String] = []
        for pair in rule.key {
            let mine = try sql.expression(side == .left ? pair.left : pair.right)
            let theirs = try other.expression(side == .left ? pair.right : pair.left)
            let numeric = [mine.kind, theirs.kind].allSatisfy { $0 == .amount || $0 == .integer }
            if numeric {
                keyParts.append("coalesce(printf('%020d', \(mine.expression)), '')")
            } else if mine.kind == .date && theirs.kind == .date {
                keyParts.append("coalesce(substr(\(mine.expression), 1, 10), '')")
            } else {
                keyParts.append("coalesce(CAST(\(mine.expression) AS TEXT), '')")
            }
        }
        let key = keyParts.joined(separator: " || char(31) || ")
        var values: [String] = []
        for (index, field) in rule.compared.enumerated() {
            values.append("\(try sql.expression(side == .left ? field.fields.left : field.fields.right).expression) AS v\(index)")
        }
        var failedConditions = side == .left ? rule.failedLeft : rule.failedRight
        let anyFailed = !failedConditions.isEmpty
        var sideConditions = source.conditions
        let grouped = side == .left ? rule.grouping.groupsLeft : rule.grouping.groupsRight
        // Fields kept in an event's JSON that the rule compares or tests on a side taken item
        // by item are read with one json_extract of several paths (one parse per item, not
        // one per field) and compared and tested here.
        var json: JSONFieldPlan?
        if !grouped && sql.groupBy == nil {
            var plan = JSONFieldPlan()
            func jsonKey(_ ref: FieldRef) -> String? {
                guard !ref.negated, let expression = sql.fields[ref.name]?.expression else { return nil }
                return ReconSources.jsonKey(expression)
            }
            func testable(_ ref: FieldRef) -> String? {
                guard let kind = sql.fields[ref.name]?.kind, kind == .text || kind == .integer else { return nil }
                return jsonKey(ref)
            }
            var jsonValues: [(compared: Int, path: Int)] = []
            for (index, field) in rule.compared.enumerated() {
                if let key = jsonKey(side == .left ? field.fields.left : field.fields.right) { jsonValues.append((index, plan.path(key))) }
            }
            var keptConditions: [FieldCondition] = []
            for condition in sideConditions {
                if let key = testable(condition.field) { plan.filters.append((plan.path(key), condition)) } else { keptConditions.append(condition) }
            }
            var keptFailed: [FieldCondition] = []
            for condition in failedConditions {
                if let key = testable(condition.field) { plan.failed.append((plan.path(key), condition)) } else { keptFailed.append(condition) }
            }
            plan.values = jsonValues
            plan.daysOnly = plan.paths.indices.map { path in
                let reads = jsonValues.filter { $0.path == path }.map { rule.compared[$0.compared].kind }
                return !reads.isEmpty && reads.allSatisfy { $0 == .date } && !plan.filters.contains { $0.path == path }
                    && !plan.failed.contains { $0.path == path }
            }
            if plan.paths.count >= 2 {
                json = plan
                sideConditions = keptConditions
                failedConditions = keptFailed
                for slot in jsonValues { values[slot.compared] = "NULL AS v\(slot.compared)" }
                values.append("\(FlatJSONFields.sql("e.other_fields", keys: plan.paths)) AS j")
            }
        }
        // A failed-attempt condition on a text field the rule compares is tested on the value
        // read (once) for the comparison; others in SQL. Not on grouped sides (their values
        // are a group's).
        var failedTests: [(index: Int, condition: FieldCondition)] = []
        if !grouped {
            let tests = failedConditions.map { condition in
                (rule.compared.firstIndex { field in
                    let ref = side == .left ? field.fields.left : field.fields.right
                    return ref.name == condition.field.name && !ref.negated && field.kind == .text
                }, condition)
            }
            if !tests.isEmpty, tests.allSatisfy({ $0.0 != nil }) {
                failedTests = tests.map { ($0.0!, $0.1) }
                failedConditions = []
            }
        }
        let failed = try ReconSources.conditions(failedConditions, in: sql)
        let filter = try ReconSources.conditions(sideConditions, in: sql)
        // All tested here: SQL says yes, and the tests here decide.
        let failedColumn = !anyFailed ? "0" : failedConditions.isEmpty ? "1" : "CASE WHEN \(failed.sql) THEN 1 ELSE 0 END"
        let select = "SELECT \(sql.ref) AS ref, \(key) AS k, \(sql.day) AS d, \(failedColumn) AS failed"
            + (values.isEmpty ? "" : ", " + values.joined(separator: ", "))
        let selectArguments = failedConditions.isEmpty ? [] : failed.arguments
        // Left out only when finance settled some of this side's items by hand.
        let excludedRefs = carried.excluded[side] ?? []
        let excluded = excludedRefs.isEmpty ? "1" : "(\(sql.ref)) NOT IN (SELECT value FROM json_each(?))"
        let excludedArguments: [DatabaseValue] = excludedRefs.isEmpty ? []
            : [("[" + excludedRefs.map(JSONText.quote).joined(separator: ",") + "]").databaseValue]
        // Conditions on an aggregate source apply to its groups.
        let grouping = sql.groupBy != nil
        let (whereFilter, having) = grouping ? ("1", " GROUP BY \(sql.groupBy!) HAVING \(filter.sql)") : (filter.sql, "")
        let whereArguments = grouping ? [] : filter.arguments, havingArguments = grouping ? filter.arguments : []
        // In the order the placeholders appear: the carried rows' table first.
        var arguments: [DatabaseValue] = [carried.json.databaseValue]
        let union: String
        let carries = sql.groupBy != nil ? !carried.json.isEmptyArray : carried.sides.contains(side)
        if !carries {
            union = "\(select) FROM \(sql.from) WHERE (\(sql.dayScope.clause)) AND \(whereFilter) AND \(excluded)\(having)"
            arguments += selectArguments + sql.dayScope.arguments + whereArguments + excludedArguments + havingArguments
        } else if let carriedCondition = sql.carriedCondition {
            union = "\(select) FROM \(sql.from) WHERE ((\(sql.dayScope.clause)) OR \(carriedCondition)) AND \(whereFilter) AND \(excluded)\(having)"
            arguments += selectArguments + sql.dayScope.arguments + [side.rawValue.databaseValue] + whereArguments + excludedArguments
                + havingArguments
        } else {
            let dayPart = "\(select) FROM \(sql.from) WHERE (\(sql.dayScope.clause)) AND \(whereFilter) AND \(excluded)\(having)"
            let carriedPart = "\(select) FROM \(sql.carriedFrom) WHERE \(sql.carriedScope) AND NOT (\(sql.dayScope.clause)) AND \(whereFilter) AND \(excluded)\(having)"
            union = "\(dayPart) UNION ALL \(carriedPart)"
            arguments += selectArguments + sql.dayScope.arguments + whereArguments + excludedArguments + havingArguments
            arguments += selectArguments + [side.rawValue.databaseValue] + sql.dayScope.arguments + whereArguments + excludedArguments
                + havingArguments
        }
        let carriedTable = """
            WITH recon_carried(side, ref, num, loan, period) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]') FROM json_each(?))
            """
        if grouped {
            let sums = rule.compared.enumerated().map { index, field in
                field.kind == .amount ? "sum(v\(index))" : "min(v\(index))"
            }
            return ("\(carriedTable) SELECT min(ref), k, min(d), max(failed), group_concat(ref, ' ')" + sums.map { ", " + $0 }.joined()
                        + " FROM (\(union)) GROUP BY k ORDER BY k", arguments, failedTests, json)
        }
        // The day's own items have the step's day: NULL in the sorted rows (ten bytes less an
        // item to sort), the cursor's default day (``SideCursor``).
        return ("\(carriedTable) SELECT ref, k, nullif(d, '\(date)'), failed, NULL" + rule.compared.indices.map { ", v\($0)" }.joined()
                    + (json == nil ? "" : ", j") + " FROM (\(union)) ORDER BY k, ref", arguments, failedTests, json)
    }

    // MARK: Statement checks

    private mutating func checkStatements(_ rule: ReconRule, _ check: StatementCheck, writer: inout BreakWriter,
                                          outcome: inout RuleOutcome) throws {
        let balances = try ReconSources.sql(check.balances, day: date, db: db, config: config, specs: &specs)
        let entries = try ReconSources.sql(check.entries, day: date, db: db, config: config, specs: &specs)
        func expression(_ ref: FieldRef?, _ sql: SourceSQL) throws -> String { try ref.map { try sql.expression($0).expression } ?? "NULL" }
        let filter = try ReconSources.conditions(check.balances.conditions, in: balances)
        let rows = try Row.fetchAll(db, sql: """
            SELECT e.id, e.file_id, \(try expression(check.statementID, balances)), \(try expression(check.account, balances)),
                   \(try expression(check.opening, balances)), \(try expression(check.openingDirection, balances)),
                   \(try expression(check.closing, balances)), \(try expression(check.closingDirection, balances))
            FROM \(balances.from) WHERE (\(balances.dayScope.clause)) AND \(filter.sql) ORDER BY e.id
            """, arguments: StatementArguments(balances.dayScope.arguments + filter.arguments))
        let entryFilter = try ReconSources.conditions(check.entries.conditions, in: entries)
        for row in rows {
            if shouldStop() { throw Abandoned() }
            outcome.leftItems += 1
            let eventID: Int64 = row[0]
            let statementID: String = row[2] ?? ""
            let account: String = row[3] ?? ""
            let opening = Self.signed(row[4], direction: row[5])
            let closing = Self.signed(row[6], direction: row[7])
            let entrySum = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(\(try expression(check.entryAmount, entries))), 0), count(*) FROM \(entries.from)
                WHERE (\(entries.dayScope.clause)) AND e.file_id = ? AND \(try expression(check.entryStatementID, entries)) = ? AND \(entryFilter.sql)
                """, arguments: StatementArguments(entries.dayScope.arguments + [(row[1] as Int64).databaseValue, statementID.databaseValue]
                                                   + entryFilter.arguments))!
            let entriesMinor: Int64 = entrySum[0]
            outcome.rightItems += entrySum[1] as Int
            let ref = "e\(eventID)"
            let subject = "account \(account) statement \(statementID)"
            var clean = true
            if let opening, let closing {
                let expected = opening + entriesMinor
                if expected != closing {
                    clean = false
                    try writer.emitStatement(.statementArithmetic, ref: ref, identity: "\(account)|\(statementID)|arithmetic", amount: closing - expected,
                                             fields: [("opening", opening, nil), ("entries", entriesMinor, nil), ("closing", expected, closing)],
                                             summary: "\(subject): opening \(AmountText.printed(units: opening)) + entries \(AmountText.printed(units: entriesMinor)) = \(AmountText.printed(units: expected)), but the closing balance is \(AmountText.printed(units: closing)) (\(AmountText.signed(units: closing - expected)))",
                                             outcome: &outcome)
                }
            }
            if let opening, let previous = try previousClosing(check, balances: balances, account: account, accountExpression: try expression(check.account, balances)),
               previous.closing != opening {
                clean = false
                try writer.emitStatement(.statementContinuity, ref: ref, identity: "\(account)|\(statementID)|continuity", amount: opening - previous.closing,
                                         fields: [("opening", previous.closing, opening)],
                                         summary: "\(subject): opening balance \(AmountText.printed(units: opening)) is not the closing balance \(AmountText.printed(units: previous.closing)) of the statement of \(previous.day) (\(AmountText.signed(units: opening - previous.closing)))",
                                         outcome: &outcome, counterpart: "e\(previous.eventID)")
            }
            if let closing, let line = check.warningBelowMinor, closing < line {
                clean = false
                let message = "\(subject): closing balance \(AmountText.printed(units: closing)) on \(date) is below the warning line \(AmountText.printed(units: line))"
                try writer.emitStatement(.balanceBelowWarning, ref: ref, identity: "\(account)|\(statementID)|warning", amount: line - closing,
                                         fields: [("closing", line, closing)], summary: message, outcome: &outcome)
                writer.balanceAlerts.append((subject: "\(account) \(date)", message: message))
            }
            if clean {
                outcome.matched += 1
                outcome.matchedMinor += closing ?? 0
            }
        }
    }

    /// The closing balance of the account's latest statement from an earlier day.
    private func previousClosing(_ check: StatementCheck, balances: SourceSQL, account: String,
                                 accountExpression: String) throws -> (closing: Int64, day: String, eventID: Int64)? {
        guard case .events(let event, let partner, let fileType) = check.balances.origin else { return nil }
        func expression(_ ref: FieldRef?) throws -> String { try ref.map { try balances.expression($0).expression } ?? "NULL" }
        guard let row = try Row.fetchOne(db, sql: """
            SELECT \(try expression(check.closing)), \(try expression(check.closingDirection)), f.business_date, e.id
            FROM event e JOIN received_file f ON f.id = e.file_id
            WHERE e.kind = ? AND e.active = 1 AND f.partner = ? AND f.file_type = ? AND f.status = 'posted'
              AND f.business_date < ? AND \(accountExpression) = ?
            ORDER BY f.business_date DESC, e.id DESC LIMIT 1
            """, arguments: [event.rawValue, partner, fileType, date.description, account]),
            let closing = Self.signed(row[0], direction: row[1]) else { return nil }
        return (closing, row[2], row[3])
    }

    static func signed(_ value: DatabaseValue, direction: DatabaseValue) -> Int64? {
        guard let amount = Int64.fromDatabaseValue(value) else { return nil }
        return StatementCheck.isDebit(String.fromDatabaseValue(direction)) ? -amount : amount
    }
}

extension Ledger {
    /// Runs the reconcile step for a business day in one transaction: every rule of
    /// `reckon.yaml`, or the one named.
    /// `shouldStop`, asked at each rule and every few thousand keys, abandons the step when it
    /// turns true: its transaction is rolled back whole and the error's
    /// ``LedgerError/abandoned`` is true.
    public func runReconcileStep(date: CivilDate, config: ReckonConfig, reference: ReferenceData,
                                 rule: String? = nil, shouldStop: @escaping () -> Bool = { false }) throws(LedgerError) -> ReconcileReport {
        var rules = config.reconciliation.rules
        if let rule {
            guard let named = config.reconciliation.rule(rule) else {
                throw LedgerError("no reconciliation rule '\(rule)'; rules are \(rules.map(\.name).joined(separator: ", "))")
            }
            rules = [named]
        }
        return try write(crashBefore: .reconcileCommitBefore, crashAfter: .reconcileCommitAfter) { db in
            var step = ReconcileStep(db: db, config: config, reference: reference, date: date, rules: rules,
                                     reader: database as? DatabasePool)
            step.shouldStop = shouldStop
            do {
                return try step.run()
            } catch is Abandoned {
                throw LedgerError.stepAbandoned(.reconcile, date: date)
            }
        }
    }
}

extension String {
    /// `[]`: a JSON array with nothing in it.
    fileprivate var isEmptyArray: Bool { self == "[]" }
}
