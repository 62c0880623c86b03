import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What the collect step did with the day's inbound archives.
public struct InboundArchivesReport: Sendable {
    public struct Unpacked: Sendable, Equatable {
        public let path: String
        public let partner: String
        public let archiveType: String
        /// Its entries, now files of the partner's drop.
        public let entries: [String]
        /// Unpacked by an earlier run (the same bytes): nothing was done.
        public let earlier: Bool

        public init(path: String, partner: String, archiveType: String, entries: [String], earlier: Bool) {
            self.path = path
            self.partner = partner
            self.archiveType = archiveType
            self.entries = entries
            self.earlier = earlier
        }
    }

    public struct Refused: Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let partner: String
        public let archiveType: String
        /// The entry that broke a rule, when one did.
        public let entry: String?
        public let reason: String
        /// Where the archive and its report were quarantined (nil in a dry run).
        public let quarantinePath: String?
        public let reportPath: String?
        /// Refused by an earlier run (the same bytes): not quarantined again.
        public let earlier: Bool

        public init(path: String, partner: String, archiveType: String, entry: String?, reason: String,
                    quarantinePath: String?, reportPath: String?, earlier: Bool) {
            self.path = path
            self.partner = partner
            self.archiveType = archiveType
            self.entry = entry
            self.reason = reason
            self.quarantinePath = quarantinePath
            self.reportPath = reportPath
            self.earlier = earlier
        }

        /// `inbound archive inbox/bank/BANK_20241216.zip refused: entry "../x": …; quarantined as …`.
        public var description: String {
            "inbound archive \(DisplayText.escaped(path)) refused\(earlier ? " on an earlier run" : ""): "
                + (entry.map { "entry \"\(DisplayText.escaped($0))\": " } ?? "") + reason
                + (quarantinePath.map { "; quarantined whole as \($0) with its report \(reportPath ?? "")" } ?? "")
        }
    }

    public var unpacked: [Unpacked] = []
    public var refused: [Refused] = []
    /// What went wrong besides a refusal (the archive could not be read or quarantined).
    public var errors: [String] = []

    public init() {}
}

extension Ledger {
    /// Unpacks the day's ready inbound archives (``Collector/collectArchives``) into their
    /// partners' drops, each once: an archive recorded unpacked (same partner, name and
    /// SHA-256) is not touched again, and one recorded refused is named again (the run
    /// fails while it sits in the drop) but not quarantined again. A refused archive is
    /// copied whole into `<quarantine>/<date>/<partner>/archives/` with a report beside it
    /// (the entry and the limit or rule), recorded, and raises `inbound_archive_refused`.
    /// A dry run unpacks (collect is a file operation, as fetching SFTP drops is) but records
    /// and quarantines nothing.
    public func unpackArchives(_ ready: [CollectedFile], date: CivilDate, config: ReckonConfig,
                               dryRun: Bool = false) throws(LedgerError) -> InboundArchivesReport {
        var report = InboundArchivesReport()
        for file in ready {
            guard let partner = config.partner(file.partner), let drop = partner.drop,
                  let archive = partner.archives.first(where: { $0.id == file.fileType }) else { continue }
            let name = (file.path as NSString).lastPathComponent
            let digest: FileDigest
            do {
                digest = try FileDigest(path: file.path)
            } catch {
                report.errors.append("inbound archive \(DisplayText.escaped(file.path)): \(error)")
                continue
            }
            if !dryRun, let earlier = try recordedArchive(partner: partner.id, name: name, sha256: digest.hex) {
                if earlier.status == "unpacked" {
                    report.unpacked.append(.init(path: file.path, partner: partner.id, archiveType: archive.id,
                                                 entries: earlier.entries, earlier: true))
                } else {
                    report.refused.append(.init(path: file.path, partner: partner.id, archiveType: archive.id, entry: nil,
                                                reason: earlier.reason ?? "", quarantinePath: earlier.quarantinePath,
                                                reportPath: earlier.quarantinePath.map { FileStore.reportPath(for: $0, attempt: 1) },
                                                earlier: true))
                }
                continue
            }
            let unpacked: UnpackedArchive
            do {
                unpacked = try InboundArchive.unpack(file.path, into: drop, limits: archive.limits)
            } catch {
                do {
                    report.refused.append(try refuse(file, error, digest: digest, archive: archive, date: date, config: config,
                                                     dryRun: dryRun))
                } catch {
                    report.errors.append("inbound archive \(DisplayText.escaped(file.path)) refused (\(error.reason)), "
                                         + "but could not be quarantined: \(error)")
                }
                continue
            }
            if !dryRun {
                try write { db in
                    try Self.recordArchive(db, partner: partner.id, name: name, digest: digest, date: date, type: archive.id,
                                           status: "unpacked", entries: unpacked.entries)
                }
            }
            report.unpacked.append(.init(path: file.path, partner: partner.id, archiveType: archive.id,
                                         entries: unpacked.entries, earlier: false))
        }
        return report
    }

    /// Quarantines a refused archive whole with its report, records it and raises its alert.
    private func refuse(_ file: CollectedFile, _ refusal: ZipError, digest: FileDigest, archive: InboundArchiveConfig,
                        date: CivilDate, config: ReckonConfig, dryRun: Bool) throws(ArchiveQuarantineError) -> InboundArchivesReport.Refused {
        // The error's archive path is the one given: the reason alone, and the entry apart.
        let reason = refusal.reason
        guard !dryRun else {
            return .init(path: file.path, partner: file.partner, archiveType: archive.id, entry: refusal.entry, reason: reason,
                         quarantinePath: nil, reportPath: nil, earlier: false)
        }
        let folder = "\(config.quarantineFolder)/\(date)/\(file.partner)/archives"
        do {
            let copy = try FileStore.keep(file.path, digest: digest, in: folder, what: "the quarantine copy")
            let reportPath = FileStore.reportPath(for: copy, attempt: 1)
            try FileStore.writeAtomically(reportPath, Self.archiveReport(file, refusal, digest: digest, archive: archive, date: date),
                                          what: "the quarantine report")
            let refused = InboundArchivesReport.Refused(path: file.path, partner: file.partner, archiveType: archive.id,
                                                        entry: refusal.entry, reason: reason, quarantinePath: copy,
                                                        reportPath: reportPath, earlier: false)
            try write { db in
                let name = (file.path as NSString).lastPathComponent
                let stored = (refusal.entry.map { "entry \"\(DisplayText.escaped($0))\": " } ?? "") + reason
                try Self.recordArchive(db, partner: file.partner, name: name, digest: digest, date: date, type: archive.id,
                                       status: "refused", entries: [], reason: stored, quarantine: copy)
                _ = try AlertBook.raise(db, .inboundArchiveRefused, subject: "\(file.partner)/\(name)", day: date.description,
                                    message: refused.description, reopening: true)
            }
            return refused
        } catch {
            throw ArchiveQuarantineError(reason: reason, message: "\(error)")
        }
    }

    struct RecordedArchive {
        let status: String
        let entries: [String]
        let reason: String?
        let quarantinePath: String?
    }

    func recordedArchive(partner: String, name: String, sha256: String) throws(LedgerError) -> RecordedArchive? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT status, entries, reason, quarantine_path FROM inbound_archive WHERE partner = ? AND name = ? AND sha256 = ?
                """, arguments: [partner, name, sha256]).map { row in
                let entries: String = row[1]
                return RecordedArchive(status: row[0], entries: entries.split(separator: "\n").map(String.init),
                                       reason: row[2], quarantinePath: row[3])
            }
        }
    }

    static func recordArchive(_ db: Database, partner: String, name: String, digest: FileDigest, date: CivilDate, type: String,
                              status: String, entries: [String], reason: String? = nil, quarantine: String? = nil) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO inbound_archive (partner, name, sha256, business_date, archive_type, size_bytes, status, entries,
                                                   reason, quarantine_path, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [partner, name, digest.hex, date.description, type, digest.size, status,
                             entries.joined(separator: "\n"), reason, quarantine, timestamp()])
    }

    /// The report beside a quarantined archive: what it is, what broke which rule, the limits.
    static func archiveReport(_ file: CollectedFile, _ refusal: ZipError, digest: FileDigest, archive: InboundArchiveConfig,
                              date: CivilDate) -> String {
        let limits = archive.limits
        var lines = [
            "inbound archive refused: \(DisplayText.escaped(file.path))",
            "partner: \(file.partner) (archives: \(archive.id), \(archive.name))",
            "business date: \(date)",
            "size: \(digest.size) bytes, SHA-256 \(digest.hex)",
        ]
        if let entry = refusal.entry { lines.append("entry: \"\(DisplayText.escaped(entry))\"") }
        lines.append("reason: \(refusal.reason)")
        lines.append("limits: at most \(limits.maxEntries) entries, \(limits.maxEntryBytes) bytes an entry, "
                     + "\(limits.maxTotalBytes) bytes in all, \(limits.maxCompressionRatio) times an entry's compressed size; "
                     + "no .., absolute or hidden names, folders or links")
        lines.append("nothing of it was unpacked into the drop; the same archive is not tried again "
                     + "(remove it from the drop once the partner has sent a proper one)")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A refused archive that could not be quarantined (a full disk, a ledger that cannot be written).
struct ArchiveQuarantineError: Error, CustomStringConvertible {
    let reason: String
    let message: String
    var description: String { message }
}
