import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// The ledger's record of outbound files: a row per installed version of each file
/// (`outbound_file`, migration 013), with, for issue 12's deliver step, when and as what it
/// was delivered.
public enum OutboundFiles {
    /// One installed version of one outbound file.
    public struct Row: Sendable, Equatable {
        public let partner: String
        public let businessDate: String
        public let name: String
        public let version: Int
        public let fileType: String
        public let spec: String
        public let sizeBytes: Int
        public let recordCount: Int
        public let sha256Hex: String
        public let controlTotals: [ControlTotalValue]
        public let reason: String
        /// UTC as stored (`2024-12-16T01:00:03Z`): when the version was first recorded.
        public let writtenAt: String
        public let deliveredAt: String?
        public let remoteName: String?
        /// Whether this is the version the day's set holds (the highest recorded for the
        /// partner and day); the others are in the archive.
        public let isCurrent: Bool
    }

    /// Records what an install left as the day's set: a row per file of its version,
    /// stamped now. Idempotent: a version already recorded keeps its row (and its
    /// delivery), so a crash between install and record is repaired by the next run's
    /// install (unchanged) and record.
    public static func record(_ install: OutboxInstall, in ledger: Ledger, writtenAt: String? = nil) throws(LedgerError) {
        let stamp = writtenAt ?? timestamp()
        try ledger.write { db in
            let statement = try db.makeStatement(sql: """
                INSERT INTO outbound_file (partner, business_date, name, version, file_type, spec, size_bytes, record_count,
                                           sha256, control_totals, reason, written_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (partner, business_date, name, version) DO NOTHING
                """)
            for file in install.files {
                try statement.execute(arguments: [install.partner, install.date.description, file.fileName, install.version, file.fileType,
                                                  file.spec, file.sizeBytes, file.recordCount, file.sha256Hex,
                                                  controlTotalsJSON(file.controlTotals), install.reason, stamp])
                // The same version with other bytes: the outbox's folders and the ledger
                // disagree (a day's folder removed by hand starts its versions again).
                let recorded = try String.fetchOne(db, sql: """
                    SELECT sha256 FROM outbound_file WHERE partner = ? AND business_date = ? AND name = ? AND version = ?
                    """, arguments: [install.partner, install.date.description, file.fileName, install.version])
                if let recorded, recorded != file.sha256Hex {
                    throw LedgerError("outbound file \(install.partner) \(install.date) \(file.fileName) v\(install.version) is recorded "
                                      + "with SHA-256 \(recorded), but the installed one has \(file.sha256Hex): was the day's outbox "
                                      + "folder removed by hand?")
                }
            }
        }
    }

    /// Every recorded version, by business day, partner, name and version; of one day or
    /// partner when given.
    public static func list(in ledger: Ledger, date: CivilDate? = nil, partner: String? = nil) throws(LedgerError) -> [Row] {
        try ledger.read { db in
            // A ledger from before migration 013 (opened read-only, unmigrated) has none.
            guard try db.tableExists("outbound_file") else { return [] }
            let rows = try GRDB.Row.fetchAll(db, sql: """
                SELECT f.partner, f.business_date, f.name, f.version, f.file_type, f.spec, f.size_bytes, f.record_count, f.sha256,
                       f.control_totals, f.reason, f.written_at, f.delivered_at, f.remote_name,
                       f.version = (SELECT max(version) FROM outbound_file c
                                    WHERE c.partner = f.partner AND c.business_date = f.business_date)
                FROM outbound_file f
                WHERE (?1 IS NULL OR f.business_date = ?1) AND (?2 IS NULL OR f.partner = ?2)
                ORDER BY f.business_date, f.partner, f.name, f.version
                """, arguments: [date?.description, partner])
            return rows.map { row in
                Row(partner: row[0], businessDate: row[1], name: row[2], version: row[3], fileType: row[4], spec: row[5],
                    sizeBytes: row[6], recordCount: row[7], sha256Hex: row[8], controlTotals: controlTotals(row[9]), reason: row[10],
                    writtenAt: row[11], deliveredAt: row[12], remoteName: row[13], isCurrent: row[14])
            }
        }
    }

    /// `[{"name":"total_count","value":"12"}, …]`, in the spec's control order.
    static func controlTotalsJSON(_ totals: [ControlTotalValue]) -> String {
        "[" + totals.map { JSONText.object([("name", JSONText.quote($0.name)), ("value", JSONText.quote($0.value))]) }
            .joined(separator: ",") + "]"
    }

    static func controlTotals(_ json: String) -> [ControlTotalValue] {
        (try? JSONDecoder().decode([ControlTotalValue].self, from: Data(json.utf8))) ?? []
    }
}
