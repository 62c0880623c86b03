import GRDB
import ReckonCore

/// A break resolved with an adjustment (`reckon breaks resolve ID --reason adjusted --amount
/// 0.01 --note …`): a normal balanced journal entry that names the break (Dr
/// `adjustment:breaks`, Cr `bank:settlement` by the amount; a negative amount the other
/// way), dated the day the resolution applies, and carried by the next day's settlement
/// file, whose name the break then keeps (`fixed_by_file`).
extension Ledger {
    /// Checks an adjustment asked for with a resolution: only `adjusted` resolutions carry
    /// one, and it is not zero.
    static func checkedAdjustment(_ amountMinor: Int64?, reason: ResolutionReason) throws(LedgerError) -> Int64? {
        guard let amountMinor else { return nil }
        guard reason == .adjusted else {
            throw LedgerError("an amount (--amount) is an adjustment: give it with --reason adjusted, not \(reason.rawValue)")
        }
        guard amountMinor != 0 else { throw LedgerError("an adjustment of 0.00 adjusts nothing: leave out --amount") }
        return amountMinor
    }

    /// Books the break's adjustment: the entry (against the file of the break's first item,
    /// which is what the entry's file says), the balances, and the day its settlement file
    /// carries it (the day after `day`).
    static func postAdjustment(_ db: Database, breakID: Int64, amountMinor: Int64, currency: String, day: CivilDate) throws {
        guard let fileID = try Int64.fetchOne(db, sql: """
            SELECT file_id FROM recon_break_item WHERE break_id = ? AND file_id IS NOT NULL ORDER BY side, role DESC, ref LIMIT 1
            """, arguments: [breakID]) else {
            throw LedgerError("break #\(breakID) has no item from a file to book its adjustment against; resolve it without --amount")
        }
        let draft = try EntryDraft(.adjustment, [Posting(Account.breakAdjustments, amountMinor, currency),
                                                 Posting(Account.bankSettlement, -amountMinor, currency)])
        try db.execute(sql: "INSERT INTO journal_entry (kind, file_id, event_id, line, business_date, reverses, break_id) VALUES (?, ?, NULL, NULL, ?, NULL, ?)",
                       arguments: [draft.kind.rawValue, fileID, day.description, breakID])
        let entryID = db.lastInsertedRowID
        for (leg, posting) in zip(1..., draft.postings) {
            try db.execute(sql: "INSERT OR IGNORE INTO account (code, kind, loan_id) VALUES (?, ?, NULL)",
                           arguments: [posting.account, String(posting.account.split(separator: ":").first ?? "")])
            try db.execute(sql: "INSERT INTO posting (entry_id, leg, account, amount_minor, currency) VALUES (?, ?, ?, ?, ?)",
                           arguments: [entryID, leg, posting.account, posting.amountMinor, posting.currency])
            try db.execute(sql: """
                INSERT INTO balance (account, currency, amount_minor) VALUES (?1, ?2, ?3)
                ON CONFLICT (account, currency) DO UPDATE SET amount_minor = amount_minor + ?3
                """, arguments: [posting.account, posting.currency, posting.amountMinor])
        }
        try db.execute(sql: "UPDATE recon_break SET adjustment_minor = ?, adjustment_entry_id = ?, settle_on = ?, fixed_by_file = NULL WHERE id = ?",
                       arguments: [amountMinor, entryID, (day.adding(days: 1) ?? day).description, breakID])
    }

    /// A resolution proposed above the approval line keeps its adjustment until approved.
    static func proposeAdjustment(_ db: Database, breakID: Int64, amountMinor: Int64) throws {
        try db.execute(sql: "UPDATE recon_break SET adjustment_minor = ? WHERE id = ? AND adjustment_entry_id IS NULL",
                       arguments: [amountMinor, breakID])
    }

    /// The adjustment a proposal carried, to post when it is approved.
    static func proposedAdjustment(_ db: Database, breakID: Int64) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT adjustment_minor FROM recon_break WHERE id = ? AND adjustment_entry_id IS NULL",
                           arguments: [breakID])
    }

    /// A withdrawn proposal takes its adjustment with it.
    static func dropProposedAdjustment(_ db: Database, breakID: Int64) throws {
        try db.execute(sql: "UPDATE recon_break SET adjustment_minor = NULL WHERE id = ? AND adjustment_entry_id IS NULL",
                       arguments: [breakID])
    }

    /// A break's adjustment as booked: the amount, the entry, the day its settlement file
    /// carries it and that file's name once written.
    public struct BreakAdjustmentState: Sendable, Equatable {
        public let amountMinor: Int64
        public let entryID: Int64?
        public let settleOn: CivilDate?
        public let fixedByFile: String?
    }

    /// The break's adjustment, if it has one (proposed or booked).
    public func breakAdjustment(_ id: Int64) throws(LedgerError) -> BreakAdjustmentState? {
        try read { db in try Self.adjustment(db, breakID: id) }
    }

    static func adjustment(_ db: Database, breakID id: Int64) throws -> BreakAdjustmentState? {
            guard let row = try Row.fetchOne(db, sql: """
                SELECT adjustment_minor, adjustment_entry_id, settle_on, fixed_by_file FROM recon_break WHERE id = ? AND adjustment_minor IS NOT NULL
                """, arguments: [id]) else { return nil }
            return BreakAdjustmentState(amountMinor: row[0], entryID: row[1], settleOn: (row[2] as String?).flatMap(CivilDate.init(iso:)),
                                        fixedByFile: row[3])
    }
}
