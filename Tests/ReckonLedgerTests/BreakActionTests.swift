import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// A scratch ledger holding the sample platform repayments and channel bill of 2024-12-15,
/// with breaks written straight into the break tables (as the reconcile step writes them)
/// about those records, and a reconcile run for 2024-12-16.
final class BreakBook {
    let space: Workspace
    /// Event ids by file line.
    let repayments: [Int: Int64]
    let bill: [Int: Int64]
    let repaymentsFile: Int64
    let billFile: Int64
    let ages: WorkingDayCount

    init() throws {
        space = try Workspace()
        _ = try space.ingest(try space.file("platform/PLAT_LOAN_20241115.csv"), "platform", "loans")
        repaymentsFile = try #require(try space.ingest(try space.file("platform/PLAT_REPAY_20241215.csv"), "platform", "repayments").fileID)
        billFile = try #require(try space.ingest(try space.file("channel/PAY_BILL_20241215.csv"), "channel", "bills").fileID)
        let ledger = space.ledger
        func events(_ file: Int64) throws -> [Int: Int64] {
            try ledger.read { db in
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT line, id FROM event WHERE file_id = ?", arguments: [file])
                    .map { ($0[0] as Int, $0[1] as Int64) })
            }
        }
        repayments = try events(repaymentsFile)
        bill = try events(billFile)
        let calendarPath = try #require(space.config.calendarPath)
        ages = WorkingDayCount(calendar: try BusinessCalendar.load(yaml: String(contentsOfFile: calendarPath, encoding: .utf8), origin: calendarPath),
                               calendarPath: calendarPath, rules: [])
        try ran("bill", on: "2024-12-16")
    }

    var ledger: Ledger { space.ledger }

    /// Records that `rule` ran for `day`.
    func ran(_ rule: String, on day: String) throws {
        try ledger.write { db in
            try db.execute(sql: """
                INSERT INTO recon_run (rule, business_date, partner, ran_at, left_items, right_items, matched, matched_minor, pending,
                    pending_minor, broken, broken_minor) VALUES (?, ?, 'channel', '2024-12-16T17:00:00Z', 5, 5, 3, 0, 0, 0, 2, 0)
                """, arguments: [rule, day])
        }
    }

    struct Item {
        let side: String
        let ref: String
        var role = "item"
        var fileID: Int64? = nil
        var line: Int? = nil
    }

    /// Writes a break (and its first history row) as the reconcile step does; returns its id.
    @discardableResult
    func add(_ kind: String, key: String, amountMinor: Int64, status: String = "open", rule: String = "bill", partner: String = "channel",
             day: String = "2024-12-15", fields: String? = nil, summary: String? = nil, items: [Item] = []) throws -> Int64 {
        try ledger.write { db in
            try db.execute(sql: """
                INSERT INTO recon_break (identity, rule, partner, kind, status, business_date, found_on, updated_on, closed_on, match_key,
                    amount_minor, currency, fields, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'CNY', ?, ?)
                """, arguments: ["\(rule)/\(key)/\(kind)", rule, partner, kind, status, day, day, "2024-12-16",
                                 status == "closed" ? "2024-12-16" : nil, key, amountMinor, fields, summary ?? "\(kind) \(key)"])
            let id = db.lastInsertedRowID
            for item in items {
                try db.execute(sql: "INSERT INTO recon_break_item (break_id, side, ref, role, file_id, line) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [id, item.side, item.ref, item.role, item.fileID, item.line])
            }
            try db.execute(sql: """
                INSERT INTO recon_break_history (break_id, business_date, at, status, kind, what) VALUES (?, ?, '2024-12-16T17:00:00Z', ?, ?, 'found')
                """, arguments: [id, day, status, kind])
            return id
        }
    }

    /// The sample day's breaks: R…0002's amount a cent off (#1), R…0001 missing from the bill
    /// (#2), and a bill line for R…0001 under another reference the platform does not know (#3).
    func sampleBreaks() throws -> (amount: Int64, missingTheirs: Int64, missingOurs: Int64) {
        let amount = try add("amount", key: "R202412150002", amountMinor: 351_333,
                             fields: #"[{"name":"amount","left":351333,"right":351334,"delta":1},{"name":"paid_on","left":"2024-12-13","right":"2024-12-16","delta":1},{"name":"status","left":"SUCCESS","right":"SUCCESS","delta":null}]"#,
                             summary: "R202412150002: the channel's amount is 3,513.34, ours 3,513.33",
                             items: [Item(side: "left", ref: "e\(repayments[3]!)"), Item(side: "right", ref: "e\(bill[3]!)", role: "counterpart")])
        let missingTheirs = try add("missing_theirs", key: "R202412150001", amountMinor: 104_942,
                                    items: [Item(side: "left", ref: "e\(repayments[2]!)", fileID: repaymentsFile, line: 2)])
        let missingOurs = try add("missing_ours", key: "R202412159999", amountMinor: 104_942,
                                  items: [Item(side: "right", ref: "e\(bill[2]!)")])
        return (amount, missingTheirs, missingOurs)
    }

    func row(_ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try ledger.read { db in try Row.fetchOne(db, sql: sql, arguments: arguments) }
    }

    /// A row's columns as text (nil for NULL).
    func strings(_ sql: String, _ arguments: StatementArguments = []) throws -> [String?] {
        try #require(try row(sql, arguments)).databaseValues.map { $0.isNull ? nil : String.fromDatabaseValue($0) ?? $0.description }
    }

    func status(_ id: Int64) throws -> String? {
        try row("SELECT status FROM recon_break WHERE id = ?", [id])?[0]
    }

    func history(_ id: Int64) throws -> [String] {
        try ledger.read { db in
            try String.fetchAll(db, sql: "SELECT status || ' | ' || what FROM recon_break_history WHERE break_id = ? ORDER BY id", arguments: [id])
        }
    }

    /// Runs SQL the way someone with the sqlite3 shell would, outside reckon.
    func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: space.config.databasePath)
        try queue.writeWithoutTransaction { try $0.execute(sql: sql) }
    }
}

/// Finance working the breaks (issue 10, item 5): match by hand, resolve, maker-checker
/// approval, reopen, and the hash-chained action log with its audit.
@Suite("Working the breaks", .serialized)
struct BreakActionTests {
    let line: Int64 = 5_000_000  // 50,000.00

    @Test func aManualMatchMatchesEveryBreakNamedAndRecordsTheirItems() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        let outcome = try book.ledger.matchBreaks([missingTheirs, missingOurs], note: "one payment, the channel mistyped the reference",
                                                  actor: "alice", approvalAboveMinor: line)
        #expect(outcome.applied && outcome.status == .matched && outcome.previousStatus == .open)
        #expect(outcome.breakIDs == [missingTheirs, missingOurs] && outcome.amountMinor == 104_942)
        for id in [missingTheirs, missingOurs] {
            #expect(try book.strings("SELECT status, note, acted_by, closed_on, updated_on, awaiting_approval FROM recon_break WHERE id = ?", [id])
                    == ["matched", "one payment, the channel mistyped the reference", "alice", "2024-12-16", "2024-12-16", nil])
        }
        #expect(try book.history(missingTheirs).last == "matched | matched by hand by alice with #\(missingOurs): one payment, the channel mistyped the reference")
        #expect(try book.history(missingOurs).last == "matched | matched by hand by alice with #\(missingTheirs): one payment, the channel mistyped the reference")
        #expect(try book.status(amount) == "open")
        let action = try #require(try book.ledger.breakActions().only)
        #expect(action.id == 1 && action.action == "match" && action.breakIDs == [missingTheirs, missingOurs] && action.actor == "alice")
        #expect(action.detail == #"{"status":"applied","amount_minor":104942,"currency":"CNY","approval_above_minor":5000000,"items":["#
                + #"{"break_id":\#(missingTheirs),"side":"left","ref":"e\#(book.repayments[2]!)","role":"item","file_id":\#(book.repaymentsFile),"line":2},"#
                + #"{"break_id":\#(missingOurs),"side":"right","ref":"e\#(book.bill[2]!)","role":"item","file_id":null,"line":null}]}"#)
        // The history row names the action, at the action's time.
        let history = try #require(try book.row("SELECT at, actor, action_id FROM recon_break_history WHERE break_id = ? ORDER BY id DESC", [missingOurs]))
        #expect(history[0] == action.actedAt && history[1] == "alice" && history[2] == action.id)

        let again = try #require(throws: LedgerError.self) {
            try book.ledger.matchBreaks([missingOurs, amount], note: "again", actor: "alice", approvalAboveMinor: line)
        }
        #expect(again.message == "break #\(missingOurs) was matched by hand by alice on 2024-12-16: reopen it first to match it (reckon breaks reopen \(missingOurs) --note …)")
    }

    @Test func aMatchIsRefusedAcrossRulesAndForBreaksNamedTwiceOrUnknown() throws {
        let book = try BreakBook()
        let (amount, _, missingOurs) = try book.sampleBreaks()
        let plan = try book.add("plan_mismatch", key: "L202411150001 / 1", amountMinor: 1, rule: "bank_plan", partner: "bank")
        let across = try #require(throws: LedgerError.self) {
            try book.ledger.matchBreaks([amount, plan], note: "n", actor: "alice", approvalAboveMinor: nil)
        }
        #expect(across.message == "break #\(amount) is of rule bill and break #\(plan) of rule bank_plan: a match pairs breaks of one rule")
        let twice = try #require(throws: LedgerError.self) {
            try book.ledger.matchBreaks([missingOurs, missingOurs], note: "n", actor: "alice", approvalAboveMinor: nil)
        }
        #expect(twice.message == "break #\(missingOurs) is named twice")
        let unknown = try #require(throws: LedgerError.self) {
            try book.ledger.matchBreaks([missingOurs, 99], note: "n", actor: "alice", approvalAboveMinor: nil)
        }
        #expect(unknown.message == "no break #99 in the ledger (reckon breaks list --status all lists them)")
        let noNote = try #require(throws: LedgerError.self) {
            try book.ledger.matchBreaks([missingOurs], note: "  ", actor: "alice", approvalAboveMinor: nil)
        }
        #expect(noNote.message == "give a note (--note): it is kept with the action")
        // Nothing refused left a trace.
        #expect(try book.ledger.breakActions().isEmpty)
        #expect(try book.status(amount) == "open" && book.status(missingOurs) == "open")
    }

    @Test func aResolutionKeepsItsReasonAndNote() throws {
        let book = try BreakBook()
        let (amount, _, _) = try book.sampleBreaks()
        let outcome = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent, written off", actor: "alice",
                                                   approvalAboveMinor: line)
        #expect(outcome.applied && outcome.status == .resolved)
        #expect(try book.strings("SELECT status, reason, note, acted_by, closed_on FROM recon_break WHERE id = ?", [amount])
                == ["resolved", "written_off", "a cent, written off", "alice", "2024-12-16"])
        #expect(try book.history(amount).last == "resolved | resolved by alice (written_off): a cent, written off")
        let action = try #require(try book.ledger.breakActions(breakID: amount).only)
        #expect(action.action == "resolve" && action.reason == "written_off" && action.note == "a cent, written off")
        #expect(action.detail == #"{"status":"applied","amount_minor":351333,"currency":"CNY","approval_above_minor":5000000}"#)
        #expect(ResolutionReason.allCases.map(\.rawValue) == ["adjusted", "partner_corrected", "timing", "written_off", "not_a_break"])
    }

    @Test func aboveTheApprovalLineAMatchWaitsForASecondPersonAndTheMakerCannotApproveIt() throws {
        let book = try BreakBook()
        let big = try book.add("missing_theirs", key: "R1", amountMinor: 6_000_000)
        let small = try book.add("missing_ours", key: "R1X", amountMinor: -5_999_999)
        let proposed = try book.ledger.matchBreaks([big, small], note: "one transfer", actor: "alice", approvalAboveMinor: line)
        #expect(!proposed.applied && proposed.status == .open)
        let proposal = try #require(proposed.proposal)
        #expect(proposal == BreakProposal(action: "match", maker: "alice", at: proposed.action.actedAt, reason: nil, note: "one transfer",
                                          breakIDs: [big, small], amountMinor: 6_000_000, approvalAboveMinor: line, actionID: 1))
        for id in [big, small] {
            #expect(try book.status(id) == "open")
            let stored: String? = try book.row("SELECT awaiting_approval FROM recon_break WHERE id = ?", [id])?[0]
            #expect(stored == #"{"action":"match","maker":"alice","at":"\#(proposal.at)","reason":null,"note":"one transfer","#
                    + #""break_ids":[\#(big),\#(small)],"amount_minor":6000000,"approval_above_minor":5000000,"action_id":1}"#)
        }
        #expect(try book.history(big).last == "open | match with #\(small) proposed by alice awaits a second person's approval "
                + "(60,000.00 CNY is above the approval line 50,000.00): one transfer")
        let listed = try book.ledger.breaks(BreakFilter(), ages: book.ages).breaks.first { $0.id == big }
        #expect(listed?.awaitingApproval == proposal)

        // Nothing else happens to it meanwhile, and its maker cannot approve it.
        let other = try #require(throws: LedgerError.self) {
            try book.ledger.resolveBreak(big, reason: .timing, note: "n", actor: "carol", approvalAboveMinor: line)
        }
        #expect(other.message == "break #\(big) awaits approval of the match alice proposed at \(proposal.at): another person approves it "
                + "(reckon breaks approve \(big)), or reckon breaks reopen \(big) withdraws it")
        let own = try #require(throws: LedgerError.self) { try book.ledger.approveBreak(small, actor: "alice") }
        #expect(own.message == "break #\(small): alice proposed this match at \(proposal.at) and cannot approve it too; "
                + "a second person approves it (maker-checker)")
        #expect(try book.status(big) == "open")

        let approved = try book.ledger.approveBreak(small, actor: "bob", note: "checked the bank statement")
        #expect(approved.applied && approved.status == .matched && approved.breakIDs == [big, small] && approved.proposal == proposal)
        for id in [big, small] {
            #expect(try book.strings("SELECT status, note, acted_by, awaiting_approval FROM recon_break WHERE id = ?", [id])
                    == ["matched", "one transfer", "alice", nil])
        }
        #expect(try book.history(small).last == "matched | matched by hand with #\(big) as alice proposed at \(proposal.at), "
                + "approved by bob: checked the bank statement")
        let actions = try book.ledger.breakActions()
        #expect(actions.map(\.action) == ["match", "approve"] && actions.map(\.actor) == ["alice", "bob"])
        #expect(actions[1].detail?.hasPrefix(#"{"applies":"match","maker":"alice","proposed_at":"\#(proposal.at)","proposal_action_id":1,"#
                                              + #""amount_minor":6000000,"approval_above_minor":5000000,"items":[]}"#) == true)

        let nothing = try #require(throws: LedgerError.self) { try book.ledger.approveBreak(big, actor: "carol") }
        #expect(nothing.message == "break #\(big) has nothing awaiting approval (it is matched); "
                + "a match or resolution above the approval line is what waits for one")
    }

    @Test func theApprovalLineIsStrictlyAboveAndCountsEitherSign() throws {
        let book = try BreakBook()
        let atTheLine = try book.add("amount", key: "A", amountMinor: 5_000_000)
        let aCentAbove = try book.add("amount", key: "B", amountMinor: -5_000_001)
        #expect(try book.ledger.resolveBreak(atTheLine, reason: .adjusted, note: "n", actor: "alice", approvalAboveMinor: line).applied)
        #expect(try !book.ledger.resolveBreak(aCentAbove, reason: .adjusted, note: "n", actor: "alice", approvalAboveMinor: line).applied)
        // No line configured: nothing waits.
        let big = try book.add("amount", key: "C", amountMinor: 900_000_000_00)
        #expect(try book.ledger.resolveBreak(big, reason: .adjusted, note: "n", actor: "alice", approvalAboveMinor: nil).applied)
    }

    @Test func aResolutionAboveTheLineIsApprovedByAnotherOrWithdrawnByReopen() throws {
        let book = try BreakBook()
        let big = try book.add("amount", key: "A", amountMinor: 7_500_000)
        let proposed = try book.ledger.resolveBreak(big, reason: .partnerCorrected, note: "bank re-sends", actor: "alice", approvalAboveMinor: line)
        #expect(!proposed.applied && proposed.proposal?.reason == "partner_corrected")
        #expect(try book.history(big).last == "open | resolution (partner_corrected) proposed by alice awaits a second person's approval "
                + "(75,000.00 CNY is above the approval line 50,000.00): bank re-sends")

        let withdrawn = try book.ledger.reopenBreak(big, note: "wrong break", actor: "alice")
        #expect(withdrawn.action.action == "withdraw" && withdrawn.status == .open)
        #expect(try book.row("SELECT awaiting_approval FROM recon_break WHERE id = ?", [big])?[0] as String? == nil)
        #expect(try book.history(big).last == "open | the resolve alice proposed at \(proposed.action.actedAt) was withdrawn by alice: wrong break")
        let none = try #require(throws: LedgerError.self) { try book.ledger.approveBreak(big, actor: "bob") }
        #expect(none.message.hasPrefix("break #\(big) has nothing awaiting approval (it is open)"))

        _ = try book.ledger.resolveBreak(big, reason: .partnerCorrected, note: "bank re-sends", actor: "alice", approvalAboveMinor: line)
        let approved = try book.ledger.approveBreak(big, actor: "bob")
        #expect(approved.status == .resolved)
        #expect(try book.strings("SELECT status, reason, note, acted_by FROM recon_break WHERE id = ?", [big])
                == ["resolved", "partner_corrected", "bank re-sends", "alice"])
        #expect(try book.ledger.breakActions().map(\.action) == ["resolve", "withdraw", "resolve", "approve"])
    }

    @Test func reopeningNeedsNoApprovalAndReopensWhatWasMatchedTogether() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        let closed = try book.add("amount", key: "R202412150003", amountMinor: 9_000, status: "closed")
        _ = try book.ledger.matchBreaks([missingTheirs, missingOurs], note: "one payment", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent", actor: "alice", approvalAboveMinor: line)

        let reopened = try book.ledger.reopenBreak(missingOurs, note: "the channel says it is another payment", actor: "carol")
        #expect(reopened.breakIDs == [missingTheirs, missingOurs] && reopened.status == .open && reopened.previousStatus == .matched)
        for id in [missingTheirs, missingOurs] {
            #expect(try book.strings("SELECT status, closed_on, note, acted_by, reason FROM recon_break WHERE id = ?", [id])
                    == ["open", nil, "the channel says it is another payment", "carol", nil])
        }
        #expect(try book.history(missingTheirs).last == "open | reopened by carol; it was matched (matched together with #\(missingOurs)): "
                + "the channel says it is another payment")
        #expect(try book.ledger.reopenBreak(amount, note: "not a cent after all", actor: "carol").breakIDs == [amount])
        #expect(try book.status(amount) == "open")
        #expect(try book.ledger.reopenBreak(closed, note: "the late file was wrong", actor: "carol").previousStatus == .closed)
        #expect(try book.status(closed) == "open")

        let open = try #require(throws: LedgerError.self) { try book.ledger.reopenBreak(amount, note: "n", actor: "carol") }
        #expect(open.message == "break #\(amount) is open already: only a matched, resolved or closed break is reopened")
        #expect(try book.ledger.breakActions().map(\.action) == ["match", "resolve", "reopen", "reopen", "reopen"])
    }

    /// Each row's hash is SHA-256 over the previous hash and the documented canonical form,
    /// recomputed here by `sha256sum`, not by reckon's code.
    @Test func actionsAreHashChainedAsTheREADMEDocuments() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        _ = try book.ledger.matchBreaks([missingTheirs, missingOurs], note: "one payment", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent — 一分钱", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.reopenBreak(amount, note: "recheck", actor: "bob")
        let actions = try book.ledger.breakActions()
        #expect(actions.map(\.id) == [1, 2, 3])
        var previous = String(repeating: "0", count: 64)
        for action in actions {
            #expect(action.previousHash == previous)
            func field(_ name: String, _ value: String?) -> String {
                name + "=" + (value.map { "\($0.utf8.count):\($0)" } ?? "-") + "\n"
            }
            let text = previous + "\n" + field("id", String(action.id)) + field("action", action.action)
                + field("break_ids", "[" + action.breakIDs.map(String.init).joined(separator: ",") + "]") + field("actor", action.actor)
                + field("acted_at", action.actedAt) + field("reason", action.reason) + field("note", action.note) + field("detail", action.detail)
            #expect(action.hash == (try sha256sum(text)), "row \(action.id)")
            previous = action.hash
        }
        #expect(actions[1].reason == "written_off" && actions[2].reason == nil)
        let audit = try book.ledger.auditBreakActions()
        #expect(audit == BreakAudit(actions: 3, lastID: 3, lastHash: previous, firstBroken: nil))
    }

    @Test func theLogRefusesEditsAndTheAuditNamesAnEditedRow() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        _ = try book.ledger.matchBreaks([missingTheirs, missingOurs], note: "one payment", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.reopenBreak(amount, note: "recheck", actor: "bob")
        let refused = #expect(throws: DatabaseError.self) { try book.tamper("UPDATE recon_action SET actor = 'mallory' WHERE id = 2") }
        #expect(refused?.message == "the break action log is append-only")
        #expect(throws: DatabaseError.self) { try book.tamper("DELETE FROM recon_action WHERE id = 2") }

        // An attacker with the sqlite3 shell drops the trigger first.
        try book.tamper("DROP TRIGGER recon_action_is_append_only_update; UPDATE recon_action SET actor = 'mallory' WHERE id = 2")
        let audit = try book.ledger.auditBreakActions()
        let broken = try #require(audit.firstBroken)
        let stored = try book.ledger.breakActions()[1]
        let recomputed = BreakActionLog.hash(previousHash: stored.previousHash, values: [
            "2", stored.action, "[\(amount)]", "mallory", stored.actedAt, stored.reason, stored.note, stored.detail])
        #expect(broken == BreakAudit.Link(rowID: 2, problem: .editedRow,
                                          message: "row #2 was edited: its columns hash to \(recomputed), not its stored hash \(stored.hash)",
                                          expected: recomputed, found: stored.hash))
        #expect(!audit.intact && audit.actions == 3)

        // Recomputing the edited row's hash moves the break to the next link.
        try book.tamper("UPDATE recon_action SET hash = '\(recomputed)' WHERE id = 2")
        let next = try #require(try book.ledger.auditBreakActions().firstBroken)
        #expect(next.rowID == 3 && next.problem == .wrongPreviousHash)
        #expect(next.message == "row #3's previous_hash is \(stored.hash), not the hash of row #2, \(recomputed): "
                + "row #2 was changed and its hash recomputed, or rows were replaced")
    }

    @Test func theAuditNamesADeletedRowAndRowsDeletedFromTheEnd() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        _ = try book.ledger.matchBreaks([missingTheirs, missingOurs], note: "one payment", actor: "alice", approvalAboveMinor: line)
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent", actor: "alice", approvalAboveMinor: line)
        let last = try book.ledger.reopenBreak(amount, note: "recheck", actor: "bob").action
        try book.tamper("DROP TRIGGER recon_action_is_append_only_delete")

        try book.tamper("DELETE FROM recon_action WHERE id = 3")
        let end = try #require(try book.ledger.auditBreakActions().firstBroken)
        #expect(end == BreakAudit.Link(rowID: 3, problem: .missingRows,
                                       message: "row #3 is missing: break #\(amount)'s history names action #3 at \(last.actedAt), "
                                           + "after the log's last row #2: rows were deleted from the end of the log",
                                       expected: "3", found: nil))

        try book.tamper("DELETE FROM recon_action WHERE id = 1")
        let audit = try book.ledger.auditBreakActions()
        #expect(audit.actions == 1 && audit.firstBroken == BreakAudit.Link(
            rowID: 1, problem: .missingRows, message: "row #1 is missing: the log starts at row #2 (rows were deleted)",
            expected: "1", found: "2"))
    }

    @Test func theAuditNamesAGapInTheMiddle() throws {
        let book = try BreakBook()
        let ids = try (1...4).map { try book.add("amount", key: "K\($0)", amountMinor: 100) }
        for id in ids { _ = try book.ledger.resolveBreak(id, reason: .timing, note: "n", actor: "alice", approvalAboveMinor: nil) }
        try book.tamper("DROP TRIGGER recon_action_is_append_only_delete; DELETE FROM recon_action WHERE id IN (2, 3)")
        let broken = try #require(try book.ledger.auditBreakActions().firstBroken)
        #expect(broken.rowID == 2 && broken.problem == .missingRows)
        #expect(broken.message == "rows #2 to #3 are missing: the log goes from row #1 to row #4 (rows were deleted)")
    }

    @Test func breaksAgeInTheirRulesWorkingDaysAndListByFilter() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, missingOurs) = try book.sampleBreaks()
        let plan = try book.add("plan_mismatch", key: "L202411150001 / 1", amountMinor: 1, rule: "bank_plan", partner: "bank", day: "2024-12-16")
        let pending = try book.add("missing_theirs", key: "R9", amountMinor: 5, status: "pending", day: "2024-12-16")
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent", actor: "alice", approvalAboveMinor: nil)

        let listing = try book.ledger.breaks(BreakFilter(), ages: book.ages)
        #expect(listing.asOf == CivilDate(iso: "2024-12-16"))
        #expect(listing.breaks.map(\.id) == [missingTheirs, missingOurs, plan, pending])
        // 2024-12-15 is a Sunday: one working day (Monday the 16th) to the 16th.
        #expect(listing.breaks.map(\.ageWorkingDays) == [1, 1, 0, 0])
        #expect(try book.ledger.breaks(BreakFilter(statuses: nil), ages: book.ages).breaks.map(\.id) == [amount, missingTheirs, missingOurs, plan, pending])
        #expect(try book.ledger.breaks(BreakFilter(statuses: [.resolved]), ages: book.ages).breaks.map(\.id) == [amount])
        #expect(try book.ledger.breaks(BreakFilter(partner: "bank"), ages: book.ages).breaks.map(\.id) == [plan])
        #expect(try book.ledger.breaks(BreakFilter(rule: "bill", kind: .missingOurs), ages: book.ages).breaks.map(\.id) == [missingOurs])
        #expect(try book.ledger.breaks(BreakFilter(statuses: [.pending]), ages: book.ages).breaks.map(\.id) == [pending])
        #expect(try book.ledger.breaks(BreakFilter(olderThanWorkingDays: 0), ages: book.ages).breaks.map(\.id) == [missingTheirs, missingOurs])
        #expect(try book.ledger.breaks(BreakFilter(olderThanWorkingDays: 1), ages: book.ages).breaks.isEmpty)
        // As of the 15th, the 16th's breaks are not there yet; as of the 20th (a Friday) the 15th's are 5 working days old.
        #expect(try book.ledger.breaks(BreakFilter(asOf: CivilDate(iso: "2024-12-15")), ages: book.ages).breaks.map(\.id) == [missingTheirs, missingOurs])
        let later = try book.ledger.breaks(BreakFilter(asOf: CivilDate(iso: "2024-12-20"), statuses: nil), ages: book.ages).breaks
        #expect(later.map(\.ageWorkingDays) == [1, 5, 5, 4, 4], "a resolved break ages no more after the day it was resolved (the 16th)")
        // The latest run, not the breaks, says which day ages count to.
        try book.ran("bill", on: "2024-12-18")
        #expect(try book.ledger.breaks(BreakFilter(), ages: book.ages).breaks.map(\.ageWorkingDays) == [3, 3, 2, 2])
    }

    @Test func workingDaysCountByTheRulesCalendar() throws {
        let book = try BreakBook()
        let calendar = try #require(book.ages.count.configured)
        let ages = WorkingDayCount(calendar: calendar, calendarPath: book.space.config.calendarPath, rules: [
            ReconRule(name: "every", partner: "bank", kind: .match(left: .init(origin: .planLines), right: .init(origin: .planLines)),
                      calendar: ReconRule.everyDay),
            ReconRule(name: "weekdays", partner: "bank", kind: .match(left: .init(origin: .planLines), right: .init(origin: .planLines)),
                      calendar: ReconRule.weekdays),
        ])
        // Friday 2024-09-27 to Tuesday 2024-10-08 across China's National Day holiday: the 29th
        // (a Sunday) and the 30th are working days, 1–7 October are not, the 8th is.
        let start = try #require(CivilDate(iso: "2024-09-27")), end = try #require(CivilDate(iso: "2024-10-08"))
        #expect(ages.workingDays(rule: "other", from: start, to: end) == 3)
        #expect(ages.calendarName(rule: "other") == "cn")
        #expect(ages.workingDays(rule: "weekdays", from: start, to: end) == 7)
        #expect(ages.workingDays(rule: "every", from: start, to: end) == 11)
        #expect(ages.workingDays(rule: "every", from: end, to: start) == 0)
        #expect(WorkingDayCount(calendar: nil, calendarPath: nil, rules: []).calendarName(rule: "x") == "weekdays")
    }

    @Test func aBreaksDetailHasItsFieldsItemsHistoryAndActions() throws {
        let book = try BreakBook()
        let (amount, missingTheirs, _) = try book.sampleBreaks()
        _ = try book.ledger.resolveBreak(amount, reason: .writtenOff, note: "a cent", actor: "alice", approvalAboveMinor: nil)
        let detail = try book.ledger.breakDetail(amount, ages: book.ages)
        #expect(detail.reconBreak.fields == [
            BreakField(name: "amount", ours: .amount(351_333), theirs: .amount(351_334), delta: 1),
            BreakField(name: "paid_on", ours: .date(CivilDate(iso: "2024-12-13")!), theirs: .date(CivilDate(iso: "2024-12-16")!), delta: 1),
            BreakField(name: "status", ours: .text("SUCCESS"), theirs: .text("SUCCESS"), delta: nil),
        ])
        #expect(detail.reconBreak.fields.map(\.kind) == [.amount, .date, .text])
        #expect(detail.items.map(\.ref) == ["e\(book.repayments[3]!)", "e\(book.bill[3]!)"])
        #expect(detail.items.map(\.role) == ["item", "counterpart"])
        // Without a file and line on the item, the event's own are shown.
        #expect(detail.items.map(\.fileName) == ["PLAT_REPAY_20241215.csv", "PAY_BILL_20241215.csv"])
        #expect(detail.items.map(\.line) == [3, 3])
        let ours = try #require(detail.items.first?.record)
        #expect(ours.source == .event && ours.kind == "repayment" && ours.loanID == "L202411150002" && ours.period == 1)
        #expect(ours.amountMinor == 351_333 && ours.principalMinor == 333_333 && ours.interestMinor == 18_000)
        #expect(ours.reference == "4200002024121500000002" && ours.otherFields?.contains(#""repay_id":"R202412150002""#) == true)
        #expect(detail.history.map(\.what) == ["found", "resolved by alice (written_off): a cent"])
        #expect(detail.history.map(\.actionID) == [nil, 1])
        #expect(detail.actions.map(\.action) == ["resolve"])
        #expect(try book.ledger.breakDetail(missingTheirs, ages: book.ages).items.map(\.line) == [2])

        // The stored form reads back what it wrote.
        #expect(try BreakField.parse(BreakField.json(detail.reconBreak.fields)) == detail.reconBreak.fields)
        #expect(try BreakField.parse(nil).isEmpty)
    }

    @Test func ourPlanLinesAndAllocationsShowWhatTheyHold() throws {
        let book = try BreakBook()
        try book.ledger.write { db in
            try db.execute(sql: """
                INSERT INTO loan (loan_id, event_id, partner, product, currency, principal_minor, disbursed_on, contract, annual_rate, status, as_of, planned_on)
                VALUES ('L202411150001', 1, 'platform', 'P', 'CNY', 1200000, '2024-11-15', '{}', '0.09', 'active', '2024-12-16', '2024-11-15');
                INSERT INTO plan_line (loan_id, period, accrual_start, scheduled_on, due_on, days, annual_rate, principal_minor, interest_minor,
                    fee_minor, balance_minor, interest_due_minor, fee_due_minor, status)
                VALUES ('L202411150001', 1, '2024-11-15', '2024-12-15', '2024-12-15', 30, '0.09', 95942, 9000, 0, 1104058, 9000, 0, 'paid');
                """)
            try db.execute(sql: """
                INSERT INTO repayment_allocation (event_id, period, loan_id, penalty_minor, fee_minor, interest_minor, principal_minor)
                VALUES (?, 1, 'L202411150001', 0, 0, 9000, 95942)
                """, arguments: [book.repayments[2]!])
        }
        let id = try book.add("plan_mismatch", key: "L202411150001 / 1", amountMinor: 104_942, rule: "bank_plan", partner: "bank",
                              items: [.init(side: "right", ref: "pL202411150001/1"), .init(side: "left", ref: "a\(book.repayments[2]!)"),
                                      .init(side: "left", ref: "pL404/1", role: "counterpart")])
        let items = try book.ledger.breakDetail(id, ages: book.ages).items
        #expect(items.map(\.ref) == ["a\(book.repayments[2]!)", "pL404/1", "pL202411150001/1"])
        let allocation = try #require(items[0].record)
        #expect(allocation.source == .allocation && allocation.amountMinor == 104_942 && allocation.interestMinor == 9_000 && allocation.period == 1)
        #expect(items[0].fileName == "PLAT_REPAY_20241215.csv" && items[0].line == 2)
        #expect(items[1].record == nil)
        let plan = try #require(items[2].record)
        #expect(plan.source == .planLine && plan.date == "2024-12-15" && plan.amountMinor == 104_942 && plan.status == "paid")
        #expect(items[2].fileName == nil)
    }
}

extension Collection {
    /// The one element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}

/// `sha256sum` of the text's UTF-8 bytes: an oracle outside reckon's code.
func sha256sum(_ text: String) throws -> String {
    let file = NSTemporaryDirectory() + "reckon-hash-" + UUID().uuidString
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: data, as: UTF8.self).prefix(64))
}
