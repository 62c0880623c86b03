import Foundation
import GRDB
import ReckonCore

/// A received file as one version of its day's file (partner, type, business date), for
/// people: name, digest, when it came.
public struct FileVersion: Sendable, Equatable, CustomStringConvertible {
    public let fileID: Int64
    public let name: String
    public let sha256: String
    public let receivedAt: String
    public let archivePath: String?

    /// `PLAT_LOAN_20241115.csv (file #1, SHA-256 1a2b3c4d5e6f…, received 2024-11-15T09:00:00Z)`
    public var description: String {
        "\(DisplayText.escaped(name)) (file #\(fileID), SHA-256 \(sha256.prefix(12))…, received \(receivedAt))"
    }
}

/// An earlier version sent again: the delivery, the version it repeats and the version that
/// stays current.
public struct FileVersions: Sendable, Equatable {
    public let delivery: FileVersion
    public let repeats: FileVersion
    public let current: FileVersion
}

/// An operator's decision about a day's file: set aside (a refused file, a stale delivery,
/// or a file that never came), or an earlier version reinstated.
public struct FileAction: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case setAside = "set_aside"
        case reinstate
    }

    public let kind: Kind
    public let fileID: Int64?
    public let partner: String
    public let fileType: String
    public let businessDate: String
    public let reason: String
    public let actor: String
    public let actedAt: String

    /// `set aside by alice at 2024-12-17T08:00:00Z: the partner re-sends tomorrow`
    public var description: String {
        "\(kind == .setAside ? "set aside" : "reinstated") by \(actor) at \(actedAt): \(reason)"
    }
}

/// What the ledger already knows about a file's bytes.
enum PriorDelivery {
    /// Never received (for this partner and type).
    case none
    /// Posted (and current, or superseded and then reinstated): a repeated delivery.
    case posted(Int64)
    /// Refused before and set aside by an operator.
    case setAside(Int64, FileAction)
    /// An earlier version of its day's file, replaced by a correction that stays current.
    case earlierVersion(FileVersion, current: FileVersion)
    /// Refused before: tried again.
    case refused
}

extension Ledger {
    static let versionColumns = "id, name, sha256, received_at, archive_path"

    static func version(_ row: Row) -> FileVersion {
        FileVersion(fileID: row[0], name: row[1], sha256: row[2], receivedAt: row[3], archivePath: row[4])
    }

    /// What became of these bytes before, for this partner and file type.
    func priorDelivery(of digest: FileDigest, request: IngestRequest, businessDate: CivilDate) throws(LedgerError) -> PriorDelivery {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, status, business_date FROM received_file WHERE sha256 = ? AND partner = ? AND file_type = ? ORDER BY id
                """, arguments: [digest.hex, request.partner.id, request.fileType.id])
            if let posted = rows.first(where: { $0[1] == "posted" }) { return .posted(posted[0]) }
            for row in rows.reversed() where row[1] == "rejected" || row[1] == "stale" {
                if let action = try Self.setAsideAction(db, fileID: row[0]) { return .setAside(row[0], action) }
            }
            if let superseded = rows.last(where: { $0[1] == "superseded" }) {
                let slot: String = superseded[2]
                if let current = try Row.fetchOne(db, sql: """
                    SELECT \(Self.versionColumns) FROM received_file
                    WHERE partner = ? AND file_type = ? AND business_date = ? AND status = 'posted' ORDER BY id DESC LIMIT 1
                    """, arguments: [request.partner.id, request.fileType.id, slot]),
                   let version = try Row.fetchOne(db, sql: "SELECT \(Self.versionColumns) FROM received_file WHERE id = ?",
                                                  arguments: [superseded[0] as Int64]) {
                    return .earlierVersion(Self.version(version), current: Self.version(current))
                }
                // Nothing current replaced it: the bytes are as good as posted.
                return .posted(superseded[0])
            }
            return rows.contains { $0[1] == "rejected" } ? .refused : .none
        }
    }

    static func setAsideAction(_ db: Database, fileID: Int64) throws -> FileAction? {
        try Row.fetchOne(db, sql: """
            SELECT action, file_id, partner, file_type, business_date, reason, actor, acted_at FROM file_action
            WHERE file_id = ? AND action = 'set_aside' ORDER BY id DESC LIMIT 1
            """, arguments: [fileID]).map(action)
    }

    static func action(_ row: Row) -> FileAction {
        FileAction(kind: FileAction.Kind(rawValue: row[0]) ?? .setAside, fileID: row[1], partner: row[2], fileType: row[3],
                   businessDate: row[4], reason: row[5], actor: row[6], actedAt: row[7])
    }

    /// Records an earlier version sent again after its correction: a 'stale' delivery
    /// (once: while it is undecided, sending it again adds nothing) and an alert naming
    /// both versions. Nothing is posted; the correction stays current.
    func recordStaleDelivery(_ request: IngestRequest, name: String, digest: FileDigest, businessDate: CivilDate,
                             version: FileVersion, current: FileVersion) throws(LedgerError) -> (Int64, FileVersions) {
        try write { db in
            let slot = [request.partner.id, request.fileType.id, businessDate.description]
            let delivery: FileVersion
            if let open = try Row.fetchOne(db, sql: """
                SELECT \(Self.versionColumns) FROM received_file s
                WHERE partner = ? AND file_type = ? AND business_date = ? AND status = 'stale' AND sha256 = ?
                  AND NOT EXISTS (SELECT 1 FROM received_file later WHERE later.partner = s.partner AND later.file_type = s.file_type
                                  AND later.business_date = s.business_date AND later.id > s.id AND later.status IN ('posted', 'superseded'))
                ORDER BY id DESC LIMIT 1
                """, arguments: StatementArguments(slot + [digest.hex])) {
                delivery = Self.version(open)
            } else {
                let now = timestamp()
                try db.execute(sql: """
                    INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, received_at, finished_at,
                        archive_path, run_id, repeats)
                    VALUES (?, ?, ?, ?, ?, ?, 'stale', ?, ?, ?, ?, ?)
                    """, arguments: [request.partner.id, request.fileType.id, businessDate.description, name, digest.size, digest.hex,
                                     now, now, version.archivePath, request.runID, version.fileID])
                delivery = FileVersion(fileID: db.lastInsertedRowID, name: name, sha256: digest.hex, receivedAt: now,
                                       archivePath: version.archivePath)
            }
            let versions = FileVersions(delivery: delivery, repeats: version, current: current)
            let message = Self.staleMessage(partner: request.partner.id, fileType: request.fileType.id,
                                            businessDate: businessDate.description, versions)
            try AlertBook.raise(db, .earlierVersionResent,
                                subject: "\(request.partner.id)/\(request.fileType.id)/\(businessDate)/\(digest.hex.prefix(12))",
                                day: businessDate.description, message: message, reopening: true)
            return (delivery.fileID, versions)
        }
    }

    static func staleMessage(partner: String, fileType: String, businessDate: String, _ versions: FileVersions) -> String {
        "\(partner)/\(fileType) \(businessDate): \(versions.delivery.name) was sent again (SHA-256 \(versions.delivery.sha256.prefix(12))…, "
            + "received \(versions.delivery.receivedAt)); it is the earlier version \(versions.repeats), which "
            + "\(versions.current) corrected. The correction stays current and nothing was posted; "
            + "`reckon files reinstate \(versions.repeats.fileID) --reason …` makes the earlier version current again."
    }

    /// Which attempt at these bytes (for this partner and type) a refusal is: 1 for the first.
    func refusalAttempt(of digest: FileDigest, request: IngestRequest) throws(LedgerError) -> Int {
        try read { db in
            1 + (try Int.fetchOne(db, sql: """
                SELECT count(*) FROM received_file WHERE sha256 = ? AND partner = ? AND file_type = ? AND status = 'rejected'
                """, arguments: [digest.hex, request.partner.id, request.fileType.id]) ?? 0)
        }
    }
}
