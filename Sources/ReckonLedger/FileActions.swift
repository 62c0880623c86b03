import Foundation
import GRDB
import ReckonCore

/// Operators' decisions about a day's files: set a refused file (or an earlier version sent
/// again, or a file that never came) aside, or make an earlier version current again. Each
/// is kept with who, when and why; nothing is deleted.
extension Ledger {
    /// Sets aside a refused file, or an earlier version sent again: its day no longer waits
    /// for it, and the same bytes sent again are not tried again.
    public func setAside(fileID: Int64, reason: String, actor: String) throws(LedgerError) -> FileAction {
        let reason = try Self.checkedReason(reason)
        return try write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT partner, file_type, business_date, name, status, sha256 FROM received_file WHERE id = ?
                """, arguments: [fileID]) else { throw LedgerError("no file #\(fileID) in the ledger (reckon status lists them)") }
            let status: String = row[4], name: String = row[3]
            guard status == "rejected" || status == "stale" else {
                throw LedgerError("file #\(fileID) (\(name)) is \(status): only a refused file, or an earlier version sent again, can be set aside")
            }
            if let action = try Self.setAsideAction(db, fileID: fileID) {
                throw LedgerError("file #\(fileID) (\(name)) was \(action.description)")
            }
            if try Self.postedLater(db, fileID: fileID) {
                throw LedgerError("file #\(fileID) (\(name)) needs nothing: a later delivery of its day's file was posted")
            }
            let (partner, fileType, day): (String, String, String) = (row[0], row[1], row[2])
            // Each attempt replaces the one before: the latest is the one to decide about.
            if let later = try Row.fetchOne(db, sql: """
                SELECT id, name FROM received_file WHERE partner = ? AND file_type = ? AND business_date = ? AND status = ? AND id > ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [partner, fileType, day, status, fileID]) {
                throw LedgerError("file #\(fileID) (\(name)) was followed by file #\(later[0] as Int64) (\(later[1] as String)), "
                                  + "a later \(status == "stale" ? "delivery" : "attempt"): set that one aside")
            }
            let action = try Self.record(db, .setAside, fileID: fileID, partner: partner, fileType: fileType, day: day,
                                         reason: reason, actor: actor)
            let slot = "\(partner)/\(fileType)/\(day)"
            if status == "stale" {
                try AlertBook.clear(db, .earlierVersionResent, subject: slot + "/" + (row[5] as String).prefix(12), day: day)
            } else {
                try AlertBook.clear(db, .repaymentsIncomplete, subject: slot, day: day)
            }
            return action
        }
    }

    /// Sets aside an expected file that has not come (the partner says there is none): its
    /// day no longer waits for it.
    public func setAsideMissing(partner: String, fileType: String, date: CivilDate, reason: String,
                                actor: String) throws(LedgerError) -> FileAction {
        let reason = try Self.checkedReason(reason)
        return try write { db in
            let files = try Row.fetchAll(db, sql: """
                SELECT id, name, status FROM received_file WHERE partner = ? AND file_type = ? AND business_date = ? ORDER BY id
                """, arguments: [partner, fileType, date.description])
            if let posted = files.first(where: { ["posted", "superseded"].contains($0[2] as String) }) {
                throw LedgerError("\(partner)/\(fileType) for \(date) came: file #\(posted[0] as Int64) (\(posted[1] as String)) was posted")
            }
            if let refused = files.last(where: { $0[2] == "rejected" }) {
                throw LedgerError("\(partner)/\(fileType) for \(date) came and was refused: set aside file #\(refused[0] as Int64) (\(refused[1] as String)) itself")
            }
            if let earlier = try Row.fetchOne(db, sql: """
                SELECT actor, acted_at, reason FROM file_action
                WHERE partner = ? AND file_type = ? AND business_date = ? AND action = 'set_aside' AND file_id IS NULL
                """, arguments: [partner, fileType, date.description]) {
                throw LedgerError("\(partner)/\(fileType) for \(date) was set aside by \(earlier[0] as String) at \(earlier[1] as String): \(earlier[2] as String)")
            }
            let action = try Self.record(db, .setAside, fileID: nil, partner: partner, fileType: fileType, day: date.description,
                                         reason: reason, actor: actor)
            let slot = "\(partner)/\(fileType)/\(date)"
            try AlertBook.clear(db, .fileMissing, subject: slot, day: date.description)
            try AlertBook.clear(db, .repaymentsIncomplete, subject: slot, day: date.description)
            return action
        }
    }

    /// Makes an earlier version of a day's file current again: its archived copy is posted
    /// as a corrected re-send of the version now current, whose entries are reversed (both
    /// stay visible). `fileID` is the earlier version, or a delivery of it sent again. The
    /// plans follow on the next `reckon batch` of the day.
    public func reinstate(fileID: Int64, reason: String, actor: String, config: ReckonConfig) throws(LedgerError) -> IngestResult {
        let reason = try Self.checkedReason(reason)
        let target = try read { db -> (version: FileVersion, partner: String, fileType: String, day: String) in
            guard var row = try Row.fetchOne(db, sql: """
                SELECT \(Self.versionColumns), status, repeats, partner, file_type, business_date FROM received_file WHERE id = ?
                """, arguments: [fileID]) else { throw LedgerError("no file #\(fileID) in the ledger (reckon status lists them)") }
            if row[5] == "stale", let repeats = row[6] as Int64? {
                row = try Row.fetchOne(db, sql: """
                    SELECT \(Self.versionColumns), status, repeats, partner, file_type, business_date FROM received_file WHERE id = ?
                    """, arguments: [repeats])!
            }
            let status: String = row[5]
            guard status == "superseded" else {
                throw LedgerError(status == "posted"
                    ? "file #\(row[0] as Int64) (\(row[1] as String)) is the current version already"
                    : "file #\(row[0] as Int64) (\(row[1] as String)) is \(status): only a version a correction replaced can be reinstated")
            }
            return (Self.version(row), row[7], row[8], row[9])
        }
        guard let partner = config.partner(target.partner), let fileType = partner.fileType(target.fileType) else {
            throw LedgerError("file #\(target.version.fileID) is of \(target.partner)/\(target.fileType), which \(config.origin) no longer configures")
        }
        guard let archived = target.version.archivePath, let date = CivilDate(iso: target.day) else {
            throw LedgerError("file #\(target.version.fileID) (\(target.version.name)) has no archived copy to post")
        }
        let digest: FileDigest
        do {
            digest = try FileDigest(path: archived)
        } catch {
            throw LedgerError("file #\(target.version.fileID)'s archived copy cannot be read: \(error)")
        }
        guard digest.hex == target.version.sha256 else {
            throw LedgerError("file #\(target.version.fileID)'s archived copy \(archived) has changed (SHA-256 \(digest.hex.prefix(12))…, "
                              + "received as \(target.version.sha256.prefix(12))…): it is not reinstated")
        }
        var request = IngestRequest(path: archived, partner: partner, fileType: fileType, businessDate: date)
        request.reinstatement = .init(fileID: target.version.fileID, name: target.version.name)
        let result = try ingest(request, config: config)
        guard result.outcome == .posted else { return result }
        try write { db in
            _ = try Self.record(db, .reinstate, fileID: target.version.fileID, partner: target.partner, fileType: target.fileType,
                                day: target.day, reason: reason, actor: actor)
            try AlertBook.clear(db, .earlierVersionResent,
                                subject: "\(target.partner)/\(target.fileType)/\(target.day)/\(target.version.sha256.prefix(12))", day: target.day)
        }
        return result
    }

    /// Operators' decisions, oldest first; of one business day when given.
    public func fileActions(date: CivilDate? = nil) throws(LedgerError) -> [FileAction] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT action, file_id, partner, file_type, business_date, reason, actor, acted_at FROM file_action
                WHERE ?1 IS NULL OR business_date = ?1 ORDER BY id
                """, arguments: [date?.description]).map(Self.action)
        }
    }

    static func checkedReason(_ reason: String) throws(LedgerError) -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LedgerError("give a reason (--reason): it is kept with the decision") }
        return trimmed
    }

    /// Whether a later delivery of the file's day was posted (it then needs no decision).
    static func postedLater(_ db: Database, fileID: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM received_file f JOIN received_file later
                ON later.partner = f.partner AND later.file_type = f.file_type AND later.business_date = f.business_date
                WHERE f.id = ? AND later.id > f.id AND later.status IN ('posted', 'superseded'))
            """, arguments: [fileID]) ?? false
    }

    private static func record(_ db: Database, _ kind: FileAction.Kind, fileID: Int64?, partner: String, fileType: String,
                               day: String, reason: String, actor: String) throws -> FileAction {
        let now = timestamp()
        try db.execute(sql: """
            INSERT INTO file_action (file_id, partner, file_type, business_date, action, reason, actor, acted_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [fileID, partner, fileType, day, kind.rawValue, reason, actor, now])
        return FileAction(kind: kind, fileID: fileID, partner: partner, fileType: fileType, businessDate: day, reason: reason,
                          actor: actor, actedAt: now)
    }
}
