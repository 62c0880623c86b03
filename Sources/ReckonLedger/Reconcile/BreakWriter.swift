import Foundation
import GRDB
import ReckonCore

/// Writes what one rule's run found: breaks by identity (found, changed, closed, each step
/// in the break's history), with the items on both sides and where they came from.
struct BreakWriter {
    let db: Database
    let rule: ReconRule
    let date: CivilDate
    /// The day whether an item still waits is judged on (the latest day the rule ran for).
    let asOf: CivilDate
    let time: String
    let calendar: @Sendable (CivilDate, CivilDate) -> Int
    let currency: String
    /// Items of the rule's pending and open breaks: `side|ref` → break id.
    private var carried: [String: Int64] = [:]
    /// Identities written in this run.
    private var seen = Set<String>()
    /// Breaks closed in this run because their items matched.
    private var closedByMatch = Set<Int64>()
    /// Breaks per key in this run, for the ordinal in their identity.
    private var ordinals: [String: Int] = [:]
    /// Days of the items of breaks that are new or became open in this run.
    private(set) var openedDays = Set<CivilDate>()
    /// A plan rule's loans whose plan became missing on their side, or came.
    private(set) var missingPlansOpened: [String: CivilDate] = [:]
    private(set) var missingPlansClosed = Set<String>()
    /// Days of the items of breaks closed in this run.
    private(set) var closedDays = Set<String>()
    private(set) var newBreaks = 0
    private(set) var newBreaksMinor: Int64 = 0
    var balanceAlerts: [(subject: String, message: String)] = []
    /// Unmatched items waiting to be reported as one break per leading key parts.
    private var missingPrefix: [UInt8]?
    private var missingItems: [ReconSide: [ReconItem]] = [:]

    init(db: Database, rule: ReconRule, date: CivilDate, asOf: CivilDate, time: String, calendar: @escaping @Sendable (CivilDate, CivilDate) -> Int,
         currency: String) throws {
        self.db = db
        self.rule = rule
        self.date = date
        self.asOf = asOf
        self.time = time
        self.calendar = calendar
        self.currency = currency
        for row in try Row.fetchAll(db, sql: """
            SELECT i.side, i.ref, b.id FROM recon_break b JOIN recon_break_item i ON i.break_id = b.id
            WHERE b.rule = ? AND b.status IN ('pending', 'open') AND i.role = 'item'
            """, arguments: [rule.name]) {
            carried["\(row[0] as String)|\(row[1] as String)"] = row[2]
        }
    }

    // MARK: Outcomes

    /// One item matched one, every field agreeing.
    mutating func recordMatch(left: ReconItem, right: ReconItem, outcome: inout RuleOutcome) throws {
        outcome.matched += 1
        outcome.matchedMinor += left.amountMinor
        if !carried.isEmpty { try closeMatched(left: [left], right: [right]) }
    }

    /// ``recordMatch(left:right:outcome:)`` of two items read in place (the pairing thread's
    /// common case: nothing copied unless the rule has breaks the pair may close).
    mutating func recordMatch(left: UnsafePointer<ReconItem>, right: UnsafePointer<ReconItem>, outcome: inout RuleOutcome) throws {
        outcome.matched += 1
        outcome.matchedMinor += left.pointee.amountMinor
        if !carried.isEmpty { try closeMatched(left: [left.pointee], right: [right.pointee]) }
    }

    mutating func record(_ outcomes: [ReconOutcome], outcome: inout RuleOutcome) throws {
        for result in outcomes {
            switch result {
            case .matched(let left, let right, _):
                outcome.matched += 1
                outcome.matchedMinor += left.first?.amountMinor ?? 0
                if !carried.isEmpty { try closeMatched(left: left, right: right) }
            case .broken(let kind, let left, let right, let fields):
                try flushMissingIfNeeded(before: (left.first ?? right.first)?.key, outcome: &outcome)
                try emitPair(kind, left: left, right: right, fields: fields, outcome: &outcome)
            case .unmatched(let side, let item, let keySeen):
                try flushMissingIfNeeded(before: item.key, outcome: &outcome)
                if keySeen {
                    try emitPair(.duplicate, left: side == .left ? [item] : [], right: side == .right ? [item] : [], fields: [],
                                 outcome: &outcome)
                } else if rule.missingPerKeyParts != nil {
                    missingPrefix = keyPrefix(item.key)
                    missingItems[side, default: []].append(item)
                } else {
                    try emitMissing(side, [item], key: item.keyText, outcome: &outcome)
                }
            }
        }
    }

    /// Reports the unmatched items held for one break per leading key parts.
    mutating func flushMissing(outcome: inout RuleOutcome) throws {
        guard let prefix = missingPrefix else { return }
        let keyText = ReconItem.keyText(prefix)
        for side in [ReconSide.left, .right] {
            if let items = missingItems[side], !items.isEmpty { try emitMissing(side, items, key: keyText, outcome: &outcome) }
        }
        missingPrefix = nil
        missingItems = [:]
    }

    private mutating func flushMissingIfNeeded(before key: [UInt8]?, outcome: inout RuleOutcome) throws {
        guard let missingPrefix, let key, keyPrefix(key) != missingPrefix else { return }
        try flushMissing(outcome: &outcome)
    }

    private func keyPrefix(_ key: [UInt8]) -> [UInt8] {
        guard let parts = rule.missingPerKeyParts else { return key }
        return Array(key.split(separator: 0x1F, maxSplits: parts, omittingEmptySubsequences: false).prefix(parts)
            .joined(separator: [0x1F]))
    }

    private mutating func emitMissing(_ side: ReconSide, _ items: [ReconItem], key: String, outcome: inout RuleOutcome) throws {
        let day = items.map(\.day).min()!
        let waiting = calendar(day, asOf) < rule.pendingDays
        let amount = items.reduce(Int64(0)) { $0 + $1.amountMinor }
        let kind: BreakKind = side == .left ? .missingTheirs : .missingOurs
        let (here, there) = side == .left ? (label(.left), label(.right)) : (label(.right), label(.left))
        let what = items.count == 1 ? "\(here) \(key) (\(AmountText.printed(units: amount)))"
            : "\(here) \(key): \(items.count) items (\(AmountText.printed(units: amount)))"
        let summary = waiting
            ? "\(what) has no counterpart in \(there) yet: pending while it may still come (\(Plural.count(rule.pendingDays, "working day")))"
            : "\(what) has no counterpart in \(there)"
        try upsert(identity: "\(side.rawValue)|\(key)", kind: kind, status: waiting ? "pending" : "open", day: day, key: key,
                   amount: amount, fields: [], summary: summary,
                   items: items.map { (side, $0) }, outcome: &outcome)
    }

    private mutating func emitPair(_ kind: BreakKind, left: [ReconItem], right: [ReconItem], fields: [FieldComparison],
                                   outcome: inout RuleOutcome) throws {
        let key = (left.first ?? right.first)!.keyText
        let ordinal = ordinals[key, default: 0]
        ordinals[key] = ordinal + 1
        let items = left.map { (ReconSide.left, $0) } + right.map { (ReconSide.right, $0) }
        let amount = items.map { $0.1.amountMinor.magnitude }.max().map { Int64(clamping: $0) } ?? 0
        let day = items.map(\.1.day).min()!
        let summary: String
        switch kind {
        case .ambiguous:
            summary = "\(key): \(left.count) item\(left.count == 1 ? "" : "s") in \(label(.left)) and \(right.count) in \(label(.right)) qualify equally; nothing is picked"
        case .duplicate:
            let side: ReconSide = left.isEmpty ? .right : .left
            summary = "\(label(side)) \(key) (\(AmountText.printed(units: amount))) repeats a key whose counterpart is already taken"
        case .status where fields.isEmpty:
            let side: ReconSide = left.isEmpty ? .right : .left
            summary = "\(label(side)) \(key) (\(AmountText.printed(units: amount))) is a failed attempt with no counterpart in \(label(side == .left ? .right : .left)): nothing moved"
        default:
            summary = "\(key): " + fields.filter { !$0.holds }.map(describe).joined(separator: "; ")
        }
        try upsert(identity: "\(key)|\(ordinal)", kind: kind, status: "open", day: day, key: key, amount: amount, fields: fields,
                   summary: summary, items: items, outcome: &outcome)
    }

    /// `interest: ours 36.00, theirs 36.01 (+0.01)`.
    private func describe(_ field: FieldComparison) -> String {
        func text(_ value: ReconValue?) -> String {
            switch value {
            case .amount(let minor)?: return AmountText.printed(units: minor)
            case .date(let day)?: return day.description
            case .text(let text)?: return text
            case nil: return "none"
            }
        }
        var line = "\(field.name): \(label(.left, short: true)) \(text(field.left)), \(label(.right, short: true)) \(text(field.right))"
        if let delta = field.delta {
            if case .date? = field.left {
                line += " (\(delta > 0 ? "+" : "")\(delta) working day\(delta.magnitude == 1 ? "" : "s"))"
            } else {
                line += " (\(AmountText.signed(units: delta)))"
            }
        }
        return line
    }

    /// A side as people read it: `platform/repayments`, `our plan`.
    private func label(_ side: ReconSide, short: Bool = false) -> String {
        guard let sources = rule.sources else { return side.rawValue }
        let source = side == .left ? sources.left : sources.right
        switch source.origin {
        case .events(_, let partner, let fileType): return short ? partner : "\(partner)/\(fileType)"
        case .planLines: return short ? "ours" : "our plan"
        case .allocations: return short ? "ours" : "our allocation"
        }
    }

    // MARK: Statement checks

    mutating func emitStatement(_ kind: BreakKind, ref: String, identity: String, amount: Int64,
                                fields: [(name: String, left: Int64?, right: Int64?)], summary: String,
                                outcome: inout RuleOutcome, counterpart: String? = nil) throws {
        let comparisons = fields.map { field in
            FieldComparison(name: field.name, left: field.left.map(ReconValue.amount), right: field.right.map(ReconValue.amount),
                            delta: field.left.flatMap { l in field.right.map { $0 - l } }, holds: field.left == nil || field.right == nil || field.left == field.right,
                            exact: field.left == field.right)
        }
        let item = ReconItem(ref: ref, key: Array(identity.utf8), day: date, values: [], amountMinor: amount)
        var items = [(ReconSide.left, item)]
        if let counterpart { items.append((.right, ReconItem(ref: counterpart, key: [], day: date, values: [], amountMinor: 0))) }
        try upsert(identity: identity, kind: kind, status: "open", day: date, key: identity.split(separator: "|").prefix(2).joined(separator: " / "),
                   amount: amount.magnitude > UInt64(Int64.max) ? Int64.max : Int64(amount.magnitude), fields: comparisons,
                   summary: summary, items: items, outcome: &outcome)
    }

    // MARK: Writing

    private mutating func upsert(identity localIdentity: String, kind: BreakKind, status proposed: String, day: CivilDate, key: String,
                                 amount: Int64, fields: [FieldComparison], summary: String,
                                 items: [(ReconSide, ReconItem)], outcome: inout RuleOutcome) throws {
        let identity = "\(rule.name)|\(localIdentity)"
        guard seen.insert(identity).inserted else { return }
        let fieldsJSON = Self.json(fields)
        let existing = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, status, kind, amount_minor, fields, summary FROM recon_break WHERE identity = ?
            """), arguments: [identity])
        var status = proposed
        let breakID: Int64
        if let existing {
            breakID = existing[0]
            let before: String = existing[1]
            // Finance decided it: the matcher leaves it alone (its items are not even read).
            if before == "matched" || before == "resolved" { return }
            // Once open, a break does not go back to waiting.
            if before == "open" { status = "open" }
            let changed = before != status || existing[2] != kind.rawValue || existing[3] != amount
                || existing[4] as String? != fieldsJSON || existing[5] != summary
            if changed {
                try db.cachedStatement(sql: """
                    UPDATE recon_break SET status = ?, kind = ?, amount_minor = ?, fields = ?, summary = ?, updated_on = ?,
                        closed_on = NULL, business_date = min(business_date, ?) WHERE id = ?
                    """).execute(arguments: [status, kind.rawValue, amount, fieldsJSON, summary, date.description, day.description, breakID])
                let what = before == "closed" ? "found again: \(summary)"
                    : before != status ? "\(before) → \(status): \(summary)" : "changed: \(summary)"
                try history(breakID, status: status, kind: kind, what: what)
                if status == "open" && before != "open" { countNew(amount, day: day, kind: kind, key: key) }
            }
            try db.cachedStatement(sql: "DELETE FROM recon_break_item WHERE break_id = ? AND role = 'item'").execute(arguments: [breakID])
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO recon_break (identity, rule, partner, kind, status, business_date, found_on, updated_on, match_key,
                    amount_minor, currency, fields, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [identity, rule.name, rule.partner, kind.rawValue, status, day.description, date.description,
                                         date.description, key, amount, currency, fieldsJSON, summary])
            breakID = db.lastInsertedRowID
            try history(breakID, status: status, kind: kind, what: "found: \(summary)")
            if status == "open" { countNew(amount, day: day, kind: kind, key: key) }
        }
        try addItems(breakID, items, role: "item")
        if status == "pending" {
            outcome.pending += 1
            outcome.pendingMinor += amount
        } else {
            outcome.broken += 1
            outcome.brokenMinor += amount
        }
    }

    private mutating func countNew(_ amount: Int64, day: CivilDate, kind: BreakKind, key: String) {
        newBreaks += 1
        newBreaksMinor += amount
        openedDays.insert(day)
        if kind == .missingTheirs, let loan = planLoan(key) { missingPlansOpened[loan] = day }
    }

    /// The first day an item of `day` no longer waits for its counterpart.
    func waitEnds(_ day: CivilDate) -> CivilDate {
        var end = day
        // Bounded: a wait is at most a year of working days.
        for _ in 0..<800 where calendar(day, end) < rule.pendingDays {
            end = end.adding(days: 1)!
        }
        return end
    }

    /// The loan of a plan rule's key (its first part), when the rule's left side is our plan.
    private func planLoan(_ key: String) -> String? {
        guard rule.sources?.left.origin == .planLines else { return nil }
        return key.components(separatedBy: " / ").first
    }

    private func addItems(_ breakID: Int64, _ items: [(ReconSide, ReconItem)], role: String) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO recon_break_item (break_id, side, ref, role, file_id, line)
            VALUES (?1, ?2, ?3, ?4, (SELECT file_id FROM event WHERE id = ?5), (SELECT line FROM event WHERE id = ?5))
            """)
        for (side, item) in items {
            let refs = item.members.isEmpty ? [item.ref] : item.members.sorted().prefix(ReconcileStep.maximumBreakItems).map { $0 }
            for ref in refs {
                // Events and allocations (a repayment event's) point at a file line.
                let eventID = ref.first == "e" || ref.first == "a" ? Int64(ref.dropFirst()) : nil
                try insert.execute(arguments: [breakID, side.rawValue, ref, role, eventID])
            }
        }
    }

    private func history(_ breakID: Int64, status: String, kind: BreakKind, what: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO recon_break_history (break_id, business_date, at, status, kind, what, actor) VALUES (?, ?, ?, ?, ?, ?, NULL)
            """).execute(arguments: [breakID, date.description, time, status, kind.rawValue, what])
    }

    /// A pending or open break whose item just matched is closed by the file that brought its
    /// counterpart; the counterpart is kept with it.
    private mutating func closeMatched(left: [ReconItem], right: [ReconItem]) throws {
        let all = left.map { (ReconSide.left, $0) } + right.map { (ReconSide.right, $0) }
        var breaks = Set<Int64>()
        for (side, item) in all {
            for ref in item.members.isEmpty ? [item.ref] : item.members {
                if let id = carried["\(side.rawValue)|\(ref)"] { breaks.insert(id) }
            }
        }
        for breakID in breaks.sorted() where closedByMatch.insert(breakID).inserted {
            let row = try Row.fetchOne(db, sql: "SELECT kind, status, match_key, business_date FROM recon_break WHERE id = ?", arguments: [breakID])!
            closedDays.insert(row[3])
            if row[0] == BreakKind.missingTheirs.rawValue, let loan = planLoan(row[2]) { missingPlansClosed.insert(loan) }
            // The break's own items stay items (kept by INSERT OR IGNORE); what closed it is
            // listed as counterpart.
            try addItems(breakID, all, role: "counterpart")
            try db.execute(sql: "UPDATE recon_break SET status = 'closed', closed_on = ?, updated_on = ? WHERE id = ?",
                           arguments: [date.description, date.description, breakID])
            let counterparts = all.map { "\($0.0.rawValue) \($0.1.ref)" }.joined(separator: ", ")
            try history(breakID, status: "closed", kind: BreakKind(rawValue: row[0]) ?? .amount,
                        what: "closed (was \(row[1] as String)): matched \(counterparts) on \(date)")
        }
    }

    /// Closes the rule's pending and open breaks this run did not find again (for a
    /// statement check, those of the day): what they were about no longer differs.
    mutating func closeUnseen(statementDay: CivilDate?) throws -> Int {
        var closed = closedByMatch.count
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, identity, kind, status, match_key, business_date FROM recon_break WHERE rule = ? AND status IN ('pending', 'open')
              AND (?2 IS NULL OR business_date = ?2)
            """, arguments: [rule.name, statementDay?.description])
        for row in rows where !seen.contains(row[1] as String) && !closedByMatch.contains(row[0] as Int64) {
            if row[2] == BreakKind.missingTheirs.rawValue, let loan = planLoan(row[4]) { missingPlansClosed.insert(loan) }
            closedDays.insert(row[5])
            try db.execute(sql: "UPDATE recon_break SET status = 'closed', closed_on = ?, updated_on = ? WHERE id = ?",
                           arguments: [date.description, date.description, row[0] as Int64])
            try history(row[0], status: "closed", kind: BreakKind(rawValue: row[2]) ?? .amount,
                        what: "closed (was \(row[3] as String)): no longer found on \(date) (its records were corrected or replaced)")
            closed += 1
        }
        return closed
    }

    /// The compared fields as stored: `[{"name":…,"kind":…,"left":…,"right":…,"delta":…,"holds":…}]`,
    /// amounts in minor units, dates as days. Nil when there are none.
    static func json(_ fields: [FieldComparison]) -> String? {
        guard !fields.isEmpty else { return nil }
        func value(_ value: ReconValue?) -> String {
            switch value {
            case .amount(let minor)?: return String(minor)
            case .date(let day)?: return "\"\(day)\""
            case .text(let text)?: return JSONText.quote(text)
            case nil: return "null"
            }
        }
        func kind(_ field: FieldComparison) -> String {
            switch field.left ?? field.right {
            case .amount?: return "amount"
            case .date?: return "date"
            default: return "text"
            }
        }
        return "[" + fields.map { field in
            "{\"name\":\(JSONText.quote(field.name)),\"kind\":\"\(kind(field))\",\"left\":\(value(field.left)),\"right\":\(value(field.right)),"
                + "\"delta\":\(field.delta.map(String.init) ?? "null"),\"holds\":\(field.holds)}"
        }.joined(separator: ",") + "]"
    }
}
