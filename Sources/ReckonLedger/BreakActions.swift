import Foundation
import GRDB
import ReckonCore

/// What a person's action on breaks did.
public struct BreakActionOutcome: Sendable {
    /// The action log's row it appended.
    public let action: BreakAction
    /// The breaks it was about (a match's, a proposal's, the breaks reopened together).
    public let breakIDs: [Int64]
    /// False when it awaits a second person's approval: nothing changed but the proposal.
    public let applied: Bool
    /// The breaks' status after it.
    public let status: BreakStatus
    /// The breaks' status before it.
    public let previousStatus: BreakStatus
    /// The proposal stored (awaiting approval), applied (approve) or withdrawn.
    public let proposal: BreakProposal?
    /// The largest amount of the breaks, and its currency.
    public let amountMinor: Int64
    public let currency: String
}

/// Finance's actions on breaks (README, "Working the breaks"): match by hand, resolve with
/// a reason, reopen, approve. Each is kept with who and when, in the break's history and in
/// the hash-chained action log. Above the approval line a match or resolution is only
/// proposed, until a second person approves it.
extension Ledger {
    /// Matches breaks by hand (a missing-ours and a missing-theirs that are one payment, an
    /// amount break finance accepts as matched): all become `matched`, their items recorded
    /// in the action. Above `approvalAboveMinor` (the largest of their amounts) it awaits a
    /// second person's approval instead.
    public func matchBreaks(_ ids: [Int64], note: String, actor: String,
                            approvalAboveMinor: Int64?) throws(LedgerError) -> BreakActionOutcome {
        let note = try Self.checkedNote(note), actor = try Self.checkedActor(actor)
        guard !ids.isEmpty else { throw LedgerError("name the breaks to match") }
        var seen = Set<Int64>()
        if let twice = ids.first(where: { !seen.insert($0).inserted }) { throw LedgerError("break #\(twice) is named twice") }
        return try write { db in
            let breaks = try ids.map { try Self.fetchBreak(db, $0) }
            for reconBreak in breaks { try Self.checkWorkable(reconBreak, doing: "match") }
            let first = breaks[0]
            if let other = breaks.first(where: { $0.rule != first.rule }) {
                throw LedgerError("break #\(first.id) is of rule \(first.rule) and break #\(other.id) of rule \(other.rule): a match pairs breaks of one rule")
            }
            if let other = breaks.first(where: { $0.currency != first.currency }) {
                throw LedgerError("break #\(first.id) is in \(first.currency) and break #\(other.id) in \(other.currency): a match pairs breaks of one currency")
            }
            let items = try Self.itemsJSON(db, ids)
            let largest = Self.largest(breaks)
            let day = try Self.actionDay(db, breaks), at = timestamp()
            if let line = approvalAboveMinor, largest > line {
                return try Self.propose("match", breaks, reason: nil, note: note, maker: actor, amountMinor: largest, line: line,
                                        items: items, day: day, at: at, db)
            }
            let detail = JSONText.object([("status", "\"applied\""), ("amount_minor", String(largest)),
                                          ("currency", JSONText.quote(first.currency)),
                                          ("approval_above_minor", approvalAboveMinor.map(String.init) ?? "null"), ("items", items)])
            let action = try BreakActionLog.append(db, action: "match", breakIDs: ids, actor: actor, at: at, reason: nil, note: note,
                                                   detail: detail)
            try Self.apply(db, "match", to: breaks, reason: nil, note: note, maker: actor, day: day, at: at, actor: actor,
                           actionID: action.id) { "matched by hand by \(actor)" + Self.with($0, ids) + ": \(note)" }
            return BreakActionOutcome(action: action, breakIDs: ids, applied: true, status: .matched, previousStatus: first.status,
                                      proposal: nil, amountMinor: largest, currency: first.currency)
        }
    }

    /// Resolves a break with a reason from the documented set and a note. Above
    /// `approvalAboveMinor` it awaits a second person's approval instead. An `adjusted`
    /// resolution may carry an adjustment (`adjustmentMinor`): a journal entry naming the
    /// break, carried by the next day's settlement file (``postAdjustment``); the approval
    /// line compares the larger of it and the break's amount.
    public func resolveBreak(_ id: Int64, reason: ResolutionReason, note: String, actor: String,
                             approvalAboveMinor: Int64?, adjustmentMinor: Int64? = nil) throws(LedgerError) -> BreakActionOutcome {
        let note = try Self.checkedNote(note), actor = try Self.checkedActor(actor)
        let adjustment = try Self.checkedAdjustment(adjustmentMinor, reason: reason)
        return try write { db in
            let reconBreak = try Self.fetchBreak(db, id)
            try Self.checkWorkable(reconBreak, doing: "resolve")
            if adjustment != nil, let booked = try Self.adjustment(db, breakID: id), let entry = booked.entryID {
                // The file that carried it is the bank's record of it: a second one would move it.
                throw LedgerError("break #\(id) has an adjustment booked already (\(AmountText.printed(units: booked.amountMinor)) "
                                  + "\(reconBreak.currency), journal entry #\(entry)\(booked.fixedByFile.map { ", carried by \($0)" } ?? "")); "
                                  + "resolve it without --amount")
            }
            let amount = max(Self.largest([reconBreak]), Int64(clamping: adjustment?.magnitude ?? 0))
            let day = try Self.actionDay(db, [reconBreak]), at = timestamp()
            if let line = approvalAboveMinor, amount > line {
                if let adjustment { try Self.proposeAdjustment(db, breakID: id, amountMinor: adjustment) }
                return try Self.propose("resolve", [reconBreak], reason: reason.rawValue, note: note, maker: actor, amountMinor: amount,
                                        line: line, items: nil, day: day, at: at, db, adjustmentMinor: adjustment)
            }
            var members: [(String, String)] = [("status", "\"applied\""), ("amount_minor", String(amount)),
                                               ("currency", JSONText.quote(reconBreak.currency)),
                                               ("approval_above_minor", approvalAboveMinor.map(String.init) ?? "null")]
            if let adjustment { members.append(("adjustment_minor", String(adjustment))) }
            let action = try BreakActionLog.append(db, action: "resolve", breakIDs: [id], actor: actor, at: at, reason: reason.rawValue,
                                                   note: note, detail: JSONText.object(members))
            let adjusting = adjustment.map { " with an adjustment of \(AmountText.printed(units: $0)) \(reconBreak.currency)" } ?? ""
            try Self.apply(db, "resolve", to: [reconBreak], reason: reason.rawValue, note: note, maker: actor, day: day, at: at,
                           actor: actor, actionID: action.id) { _ in "resolved by \(actor) (\(reason.rawValue))\(adjusting): \(note)" }
            if let adjustment {
                try Self.postAdjustment(db, breakID: id, amountMinor: adjustment, currency: reconBreak.currency, day: day)
            }
            return BreakActionOutcome(action: action, breakIDs: [id], applied: true, status: .resolved, previousStatus: reconBreak.status,
                                      proposal: nil, amountMinor: amount, currency: reconBreak.currency)
        }
    }

    /// Reopens a matched, resolved or closed break (no approval needed); the breaks matched
    /// by hand together with it are reopened with it. On a break whose match or resolution
    /// awaits approval, withdraws that proposal instead.
    public func reopenBreak(_ id: Int64, note: String, actor: String) throws(LedgerError) -> BreakActionOutcome {
        let note = try Self.checkedNote(note), actor = try Self.checkedActor(actor)
        return try write { db in
            let reconBreak = try Self.fetchBreak(db, id)
            if let proposal = reconBreak.awaitingApproval {
                return try Self.withdraw(proposal, note: note, actor: actor, db)
            }
            guard !reconBreak.status.isOutstanding else {
                throw LedgerError("break #\(id) is \(reconBreak.status.rawValue) already: only a matched, resolved or closed break is reopened")
            }
            var ids = [id]
            if reconBreak.status == .matched {
                ids = try Self.matchedTogether(db, reconBreak)
            }
            let breaks = try ids.map { try Self.fetchBreak(db, $0) }
            let day = try Self.actionDay(db, breaks), at = timestamp()
            let detail = JSONText.object([("from", JSONText.quote(reconBreak.status.rawValue))])
            let action = try BreakActionLog.append(db, action: "reopen", breakIDs: ids, actor: actor, at: at, reason: nil, note: note,
                                                   detail: detail)
            for each in breaks {
                try db.execute(sql: """
                    UPDATE recon_break SET status = 'open', closed_on = NULL, reason = NULL, note = ?, acted_by = ?, updated_on = ?,
                        awaiting_approval = NULL WHERE id = ?
                    """, arguments: [note, actor, day.description, each.id])
                let together = ids.count > 1 ? " (matched together with \(ids.filter { $0 != each.id }.map { "#\($0)" }.joined(separator: ", ")))" : ""
                try Self.addHistory(db, each, day: day, at: at, status: .open,
                                    what: "reopened by \(actor); it was \(each.status.rawValue)\(together): \(note)", actor: actor,
                                    actionID: action.id)
            }
            return BreakActionOutcome(action: action, breakIDs: ids, applied: true, status: .open, previousStatus: reconBreak.status,
                                      proposal: nil, amountMinor: Self.largest(breaks), currency: reconBreak.currency)
        }
    }

    /// Approves the match or resolution awaiting approval on a break, which then applies (to
    /// every break it names). The person who proposed it cannot approve it.
    public func approveBreak(_ id: Int64, actor: String, note: String? = nil) throws(LedgerError) -> BreakActionOutcome {
        let actor = try Self.checkedActor(actor)
        let note = note.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        return try write { db in
            let reconBreak = try Self.fetchBreak(db, id)
            guard let proposal = reconBreak.awaitingApproval else {
                throw LedgerError("break #\(id) has nothing awaiting approval (it is \(reconBreak.status.rawValue)); "
                                  + "a match or resolution above the approval line is what waits for one")
            }
            guard proposal.maker != actor else {
                throw LedgerError("break #\(id): \(actor) proposed this \(proposal.action) at \(proposal.at) and cannot approve it too; "
                                  + "a second person approves it (maker-checker)")
            }
            let breaks = try proposal.breakIDs.map { try Self.fetchBreak(db, $0) }
            for each in breaks where each.awaitingApproval?.actionID != proposal.actionID || !each.status.isOutstanding {
                throw LedgerError("break #\(id): the \(proposal.action) proposed by \(proposal.maker) no longer stands: break #\(each.id) is "
                                  + "\(each.status.rawValue)\(each.awaitingApproval == nil ? " with nothing awaiting approval" : " with another proposal")")
            }
            let items = proposal.action == "match" ? try Self.itemsJSON(db, proposal.breakIDs) : nil
            var members: [(String, String)] = [("applies", JSONText.quote(proposal.action)), ("maker", JSONText.quote(proposal.maker)),
                                               ("proposed_at", JSONText.quote(proposal.at)),
                                               ("proposal_action_id", String(proposal.actionID)),
                                               ("amount_minor", String(proposal.amountMinor)),
                                               ("approval_above_minor", String(proposal.approvalAboveMinor))]
            if let items { members.append(("items", items)) }
            let day = try Self.actionDay(db, breaks), at = timestamp()
            let action = try BreakActionLog.append(db, action: "approve", breakIDs: proposal.breakIDs, actor: actor, at: at,
                                                   reason: proposal.reason, note: note, detail: JSONText.object(members))
            let done = proposal.action == "match" ? "matched by hand" : "resolved (\(proposal.reason ?? "?"))"
            try Self.apply(db, proposal.action, to: breaks, reason: proposal.reason, note: proposal.note, maker: proposal.maker, day: day,
                           at: at, actor: actor, actionID: action.id) { each in
                "\(done)\(proposal.action == "match" ? Self.with(each, proposal.breakIDs) : "") as \(proposal.maker) proposed at "
                    + "\(proposal.at), approved by \(actor)" + (note.map { ": \($0)" } ?? "")
            }
            if proposal.action == "resolve" {
                for each in breaks {
                    if let adjustment = try Self.proposedAdjustment(db, breakID: each.id) {
                        try Self.postAdjustment(db, breakID: each.id, amountMinor: adjustment, currency: each.currency, day: day)
                    }
                }
            }
            return BreakActionOutcome(action: action, breakIDs: proposal.breakIDs, applied: true,
                                      status: proposal.action == "match" ? .matched : .resolved, previousStatus: reconBreak.status,
                                      proposal: proposal, amountMinor: proposal.amountMinor, currency: reconBreak.currency)
        }
    }

    // MARK: Steps

    static func checkedNote(_ note: String) throws(LedgerError) -> String {
        let trimmed = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LedgerError("give a note (--note): it is kept with the action") }
        return trimmed
    }

    static func checkedActor(_ actor: String) throws(LedgerError) -> String {
        let trimmed = actor.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LedgerError("say who acts (--as NAME, or $USER)") }
        return trimmed
    }

    /// A break finance may match or resolve: pending or open, nothing awaiting approval.
    static func checkWorkable(_ reconBreak: ReconBreak, doing verb: String) throws(LedgerError) {
        let id = reconBreak.id
        if let proposal = reconBreak.awaitingApproval {
            throw LedgerError("break #\(id) awaits approval of the \(proposal.action) \(proposal.maker) proposed at \(proposal.at): "
                              + "another person approves it (reckon breaks approve \(id)), or reckon breaks reopen \(id) withdraws it")
        }
        let by = reconBreak.actedBy.map { " by \($0)" } ?? ""
        let on = reconBreak.closedOn.map { " on \($0)" } ?? ""
        let reopen = "reopen it first to \(verb) it (reckon breaks reopen \(id) --note …)"
        switch reconBreak.status {
        case .pending, .open: return
        case .matched: throw LedgerError("break #\(id) was matched by hand\(by)\(on): \(reopen)")
        case .resolved: throw LedgerError("break #\(id) was resolved (\(reconBreak.reason ?? "?"))\(by)\(on): \(reopen)")
        case .closed: throw LedgerError("break #\(id) was closed\(on) by a later file: \(reopen)")
        }
    }

    /// The largest magnitude of the breaks' amounts: what the approval line is compared with.
    static func largest(_ breaks: [ReconBreak]) -> Int64 {
        Int64(clamping: breaks.map(\.amountMinor.magnitude).max() ?? 0)
    }

    /// The business day an action is dated: the latest day reconciled (finance works the
    /// breaks of the days the reconcile step has run), never before the breaks' last update.
    static func actionDay(_ db: Database, _ breaks: [ReconBreak]) throws -> CivilDate {
        let latest = try latestReconciledDay(db)
        return ([latest].compactMap { $0 } + breaks.map(\.updatedOn)).max()!
    }

    /// ` with #13, #14`: the other breaks of a match.
    static func with(_ reconBreak: ReconBreak, _ ids: [Int64]) -> String {
        let others = ids.filter { $0 != reconBreak.id }
        return others.isEmpty ? "" : " with " + others.map { "#\($0)" }.joined(separator: ", ")
    }

    /// The items of the breaks, as the action records them.
    static func itemsJSON(_ db: Database, _ ids: [Int64]) throws -> String {
        var members: [String] = []
        for id in ids {
            for row in try Row.fetchAll(db, sql: """
                SELECT side, ref, role, file_id, line FROM recon_break_item WHERE break_id = ? ORDER BY side, role DESC, ref
                """, arguments: [id]) {
                members.append(JSONText.object([("break_id", String(id)), ("side", JSONText.quote(row[0])), ("ref", JSONText.quote(row[1])),
                                                ("role", JSONText.quote(row[2])), ("file_id", (row[3] as Int64?).map(String.init) ?? "null"),
                                                ("line", (row[4] as Int64?).map(String.init) ?? "null")]))
            }
        }
        return "[" + members.joined(separator: ",") + "]"
    }

    /// Records a match or resolution above the approval line: the breaks keep their status
    /// and carry the proposal until someone else approves it.
    static func propose(_ verb: String, _ breaks: [ReconBreak], reason: String?, note: String, maker: String, amountMinor: Int64,
                        line: Int64, items: String?, day: CivilDate, at: String, _ db: Database,
                        adjustmentMinor: Int64? = nil) throws -> BreakActionOutcome {
        let ids = breaks.map(\.id), currency = breaks[0].currency
        var members: [(String, String)] = [("status", "\"awaiting_approval\""), ("amount_minor", String(amountMinor)),
                                           ("currency", JSONText.quote(currency)), ("approval_above_minor", String(line))]
        if let items { members.append(("items", items)) }
        if let adjustmentMinor { members.append(("adjustment_minor", String(adjustmentMinor))) }
        let action = try BreakActionLog.append(db, action: verb, breakIDs: ids, actor: maker, at: at, reason: reason, note: note,
                                               detail: JSONText.object(members))
        let proposal = BreakProposal(action: verb, maker: maker, at: at, reason: reason, note: note, breakIDs: ids,
                                     amountMinor: amountMinor, approvalAboveMinor: line, actionID: action.id)
        let above = "\(AmountText.printed(units: amountMinor)) \(currency) is above the approval line \(AmountText.printed(units: line))"
        for reconBreak in breaks {
            try db.execute(sql: "UPDATE recon_break SET awaiting_approval = ? WHERE id = ?", arguments: [proposal.json, reconBreak.id])
            let what = verb == "match" ? "match\(with(reconBreak, ids))" : "resolution (\(reason ?? "?"))"
            try addHistory(db, reconBreak, day: day, at: at, status: reconBreak.status,
                           what: "\(what) proposed by \(maker) awaits a second person's approval (\(above)): \(note)", actor: maker,
                           actionID: action.id)
        }
        return BreakActionOutcome(action: action, breakIDs: ids, applied: false, status: breaks[0].status,
                                  previousStatus: breaks[0].status, proposal: proposal, amountMinor: amountMinor, currency: currency)
    }

    /// Sets the breaks matched or resolved, with the maker's reason and note.
    static func apply(_ db: Database, _ verb: String, to breaks: [ReconBreak], reason: String?, note: String?, maker: String, day: CivilDate,
                      at: String, actor: String, actionID: Int64, what: (ReconBreak) -> String) throws {
        let status: BreakStatus = verb == "match" ? .matched : .resolved
        for reconBreak in breaks {
            try db.execute(sql: """
                UPDATE recon_break SET status = ?, reason = ?, note = ?, acted_by = ?, closed_on = ?, updated_on = ?,
                    awaiting_approval = NULL WHERE id = ?
                """, arguments: [status.rawValue, reason, note, maker, day.description, day.description, reconBreak.id])
            try addHistory(db, reconBreak, day: day, at: at, status: status, what: what(reconBreak), actor: actor,
                           actionID: actionID)
        }
    }

    /// Withdraws a proposal awaiting approval from every break it names.
    static func withdraw(_ proposal: BreakProposal, note: String, actor: String, _ db: Database) throws -> BreakActionOutcome {
        let breaks = try proposal.breakIDs.map { try fetchBreak(db, $0) }.filter { $0.awaitingApproval?.actionID == proposal.actionID }
        let ids = breaks.map(\.id)
        let day = try actionDay(db, breaks), at = timestamp()
        let detail = JSONText.object([("withdraws", JSONText.quote(proposal.action)), ("maker", JSONText.quote(proposal.maker)),
                                      ("proposed_at", JSONText.quote(proposal.at)), ("proposal_action_id", String(proposal.actionID))])
        let action = try BreakActionLog.append(db, action: "withdraw", breakIDs: ids, actor: actor, at: at, reason: proposal.reason,
                                               note: note, detail: detail)
        for reconBreak in breaks {
            try db.execute(sql: "UPDATE recon_break SET awaiting_approval = NULL WHERE id = ?", arguments: [reconBreak.id])
            try dropProposedAdjustment(db, breakID: reconBreak.id)
            try addHistory(db, reconBreak, day: day, at: at, status: reconBreak.status,
                           what: "the \(proposal.action) \(proposal.maker) proposed at \(proposal.at) was withdrawn by \(actor): \(note)",
                           actor: actor, actionID: action.id)
        }
        return BreakActionOutcome(action: action, breakIDs: ids, applied: true, status: breaks.first?.status ?? .open,
                                  previousStatus: breaks.first?.status ?? .open, proposal: proposal,
                                  amountMinor: proposal.amountMinor, currency: breaks.first?.currency ?? "")
    }

    /// The breaks matched by hand together with this one (by the action that matched it)
    /// that are still matched; the break alone when it was matched on its own.
    static func matchedTogether(_ db: Database, _ reconBreak: ReconBreak) throws -> [Int64] {
        struct Probe: Decodable { let status: String?; let applies: String? }
        for action in try actions(db, breakID: reconBreak.id).reversed() {
            let probe = try? JSONDecoder().decode(Probe.self, from: Data((action.detail ?? "{}").utf8))
            let matched = (action.action == "match" && probe?.status == "applied") || (action.action == "approve" && probe?.applies == "match")
            guard matched else { continue }
            var ids: [Int64] = []
            for id in action.breakIDs where try fetchBreak(db, id).status == .matched { ids.append(id) }
            return ids.contains(reconBreak.id) ? ids : [reconBreak.id]
        }
        return [reconBreak.id]
    }

    static func addHistory(_ db: Database, _ reconBreak: ReconBreak, day: CivilDate, at: String, status: BreakStatus, what: String,
                           actor: String, actionID: Int64) throws {
        try db.execute(sql: """
            INSERT INTO recon_break_history (break_id, business_date, at, status, kind, what, actor, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [reconBreak.id, day.description, at, status.rawValue, reconBreak.kind.rawValue, what, actor, actionID])
    }
}
