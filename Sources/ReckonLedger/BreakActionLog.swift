import Crypto
import Foundation
import GRDB
import ReckonCore

/// The action log's hash chain (`recon_action`, append-only by trigger). Each row's `hash`
/// is SHA-256, in lowercase hex, over the bytes of
///
///     previous_hash "\n" canonical
///
/// where `previous_hash` is the hash of the row before (64 zeros for the first) and
/// `canonical` is the row's other columns in this order, one line each:
///
///     id=<value>\n action=<value>\n break_ids=<value>\n actor=<value>\n
///     acted_at=<value>\n reason=<value>\n note=<value>\n detail=<value>\n
///
/// a value being `-` for NULL, else its UTF-8 byte count, `:`, and its bytes as stored (the
/// id in decimal), so no value can be read as another whatever it holds:
/// `id=2:12\naction=5:match\nbreak_ids=6:[3,4]\n…\nreason=-\n…`.
public enum BreakActionLog {
    /// The first row's `previous_hash`.
    public static let firstPreviousHash = String(repeating: "0", count: 64)

    /// The columns the hash covers, in order.
    public static let hashedColumns = ["id", "action", "break_ids", "actor", "acted_at", "reason", "note", "detail"]

    /// The canonical serialisation of a row's hashed columns (values in ``hashedColumns`` order).
    public static func canonical(_ values: [String?]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in zip(hashedColumns, values) {
            bytes += Array(name.utf8) + [UInt8(ascii: "=")]
            if let value {
                bytes += Array("\(value.utf8.count):".utf8) + Array(value.utf8)
            } else {
                bytes.append(UInt8(ascii: "-"))
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// A row's hash from the hash before it and its hashed columns.
    public static func hash(previousHash: String, values: [String?]) -> String {
        let bytes = Array(previousHash.utf8) + [UInt8(ascii: "\n")] + canonical(values)
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// `[3,4]`: how a row lists its breaks.
    static func breakIDsText(_ ids: [Int64]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }

    static func breakIDs(_ text: String) -> [Int64] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",").compactMap {
            Int64($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Appends a row, chained to the last one.
    static func append(_ db: Database, action: String, breakIDs: [Int64], actor: String, at: String, reason: String?, note: String?,
                       detail: String?) throws -> BreakAction {
        let last = try Row.fetchOne(db, sql: "SELECT id, hash FROM recon_action ORDER BY id DESC LIMIT 1")
        let id = (last.map { $0[0] as Int64 } ?? 0) + 1
        let previous = last.map { $0[1] as String } ?? firstPreviousHash
        let ids = breakIDsText(breakIDs)
        let hash = hash(previousHash: previous, values: [String(id), action, ids, actor, at, reason, note, detail])
        try db.execute(sql: """
            INSERT INTO recon_action (id, action, break_ids, actor, acted_at, reason, note, detail, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, action, ids, actor, at, reason, note, detail, previous, hash])
        return BreakAction(id: id, action: action, breakIDs: breakIDs, actor: actor, actedAt: at, reason: reason, note: note,
                           detail: detail, previousHash: previous, hash: hash)
    }
}

/// What `breaks audit` found: the chain intact, or its first broken link.
public struct BreakAudit: Sendable, Equatable {
    public enum Problem: String, Sendable {
        /// A row's columns do not give its stored hash: the row was changed.
        case editedRow = "edited_row"
        /// Ids jump, or the breaks' history names actions the log no longer holds.
        case missingRows = "missing_rows"
        /// A row's previous_hash is not the hash of the row before it.
        case wrongPreviousHash = "wrong_previous_hash"
        /// The log's row is not the action the breaks' history names: it was replaced.
        case replacedRow = "replaced_row"
    }

    /// The first broken link: the row it is at, what is wrong, what was expected and found.
    public struct Link: Sendable, Equatable {
        public let rowID: Int64
        public let problem: Problem
        public let message: String
        public let expected: String?
        public let found: String?
    }

    /// Rows in the log.
    public let actions: Int
    /// The last row, and its hash: the chain's head (kept outside the ledger, it also shows
    /// a log rewritten whole).
    public let lastID: Int64?
    public let lastHash: String?
    public let firstBroken: Link?

    public var intact: Bool { firstBroken == nil }
}

extension Ledger {
    /// Recomputes the action log's hash chain row by row (in flat memory) and checks it
    /// against the breaks' history, naming the first broken link: a row edited, rows
    /// deleted (a gap in the ids, or actions the history names past the log's end), or a
    /// row whose previous_hash is not the hash before it.
    public func auditBreakActions() throws(LedgerError) -> BreakAudit {
        try read { db in
            var count = 0
            var last: (id: Int64, hash: String)?
            var broken: BreakAudit.Link?
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.actionColumns) FROM recon_action ORDER BY id")
            while let row = try rows.next() {
                count += 1
                let id: Int64 = row[0], previous: String = row[8], stored: String = row[9]
                defer { last = (id, stored) }
                guard broken == nil else { continue }
                let expectedID = (last?.id ?? 0) + 1
                if id != expectedID {
                    let missing = expectedID == id - 1 ? "row #\(expectedID) is missing" : "rows #\(expectedID) to #\(id - 1) are missing"
                    let place = last.map { "the log goes from row #\($0.id) to row #\(id)" } ?? "the log starts at row #\(id)"
                    broken = .init(rowID: expectedID, problem: .missingRows, message: "\(missing): \(place) (rows were deleted)",
                                   expected: String(expectedID), found: String(id))
                    continue
                }
                let before = last?.hash ?? BreakActionLog.firstPreviousHash
                if previous != before {
                    let what = last.map { "the hash of row #\($0.id)" } ?? "64 zeros (it is the first row)"
                    broken = .init(rowID: id, problem: .wrongPreviousHash,
                                   message: "row #\(id)'s previous_hash is \(previous), not \(what), \(before): "
                                       + (last == nil ? "the start of the log was changed" : "row #\(id - 1) was changed and its hash recomputed, or rows were replaced"),
                                   expected: before, found: previous)
                    continue
                }
                let values: [String?] = [String(id), row[1], row[2], row[3], row[4], row[5], row[6], row[7]]
                let recomputed = BreakActionLog.hash(previousHash: previous, values: values)
                if recomputed != stored {
                    broken = .init(rowID: id, problem: .editedRow,
                                   message: "row #\(id) was edited: its columns hash to \(recomputed), not its stored hash \(stored)",
                                   expected: recomputed, found: stored)
                }
            }
            if broken == nil { broken = try Self.historyCheck(db, lastID: last?.id) }
            return BreakAudit(actions: count, lastID: last?.id, lastHash: last?.hash, firstBroken: broken)
        }
    }

    /// The breaks' history rows that name an action the log does not hold as it was.
    static func historyCheck(_ db: Database, lastID: Int64?) throws -> BreakAudit.Link? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT h.action_id, h.break_id, h.at, a.id FROM recon_break_history h LEFT JOIN recon_action a ON a.id = h.action_id
            WHERE h.action_id IS NOT NULL AND (a.id IS NULL OR a.acted_at <> h.at
                OR NOT EXISTS (SELECT 1 FROM json_each(a.break_ids) WHERE value = h.break_id))
            ORDER BY h.action_id LIMIT 1
            """) else { return nil }
        let actionID: Int64 = row[0], breakID: Int64 = row[1], at: String = row[2], present: Int64? = row[3]
        if present == nil {
            let end = lastID.map { "after the log's last row #\($0)" } ?? "and the log is empty"
            let removed = (lastID ?? 0) < actionID ? "rows were deleted from the end of the log" : "rows were deleted"
            return .init(rowID: actionID, problem: .missingRows,
                         message: "row #\(actionID) is missing: break #\(breakID)'s history names action #\(actionID) at \(at), \(end): \(removed)",
                         expected: String(actionID), found: nil)
        }
        return .init(rowID: actionID, problem: .replacedRow,
                     message: "row #\(actionID) is not the action break #\(breakID)'s history names (at \(at) on break #\(breakID)): "
                         + "the log's row was replaced", expected: at, found: nil)
    }
}
