import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What the deliver step asks its deliverer (ReckonSFTP's client, wired by the CLI) to put on
/// a partner's server: the files, in order, each under its own name in `remoteFolder`. The
/// manifest-listed files come first, then the zip, the manifest, and the `.done` marker last.
public struct OutboundDelivery: Sendable {
    public struct File: Sendable, Equatable {
        public let localPath: String
        public let name: String
    }

    public let partner: String
    public let date: CivilDate
    public let remoteFolder: String
    public let files: [File]
    /// The set's `.done` marker (the last file), withdrawn from the server before the others
    /// go up: an earlier version's marker never stands beside a half-replaced set.
    public let markerName: String?
}

/// What a deliverer did: the remote path of each file fully uploaded and renamed into place,
/// by name, and what went wrong (it stops at its first failure, so the marker never goes
/// after a failed file).
public struct OutboundDelivered: Sendable {
    public var remotePaths: [String: String] = [:]
    public var problem: String?

    public init(remotePaths: [String: String] = [:], problem: String? = nil) {
        self.remotePaths = remotePaths
        self.problem = problem
    }
}

/// The deliver step's outcome.
public struct DeliverReport: Sendable {
    public struct Partner: Sendable {
        public let partner: String
        /// The version of the day's set delivered (or already delivered); nil: none settled.
        public let version: Int?
        /// The remote paths uploaded by this run, in upload order.
        public let uploaded: [String]
    }

    public var partners: [Partner] = []
    /// One line per partner whose set could not be delivered: the step and the run fail.
    public var errors: [String] = []

    public var uploadCount: Int { partners.reduce(0) { $0 + $1.uploaded.count } }

    /// `platform v1 (3 files uploaded), bank v1 (already delivered)`.
    public var summary: String {
        var parts = partners.map { partner -> String in
            guard let version = partner.version else { return "\(partner.partner) (nothing settled)" }
            return "\(partner.partner) v\(version) ("
                + (partner.uploaded.isEmpty ? "already delivered" : "\(Plural.count(partner.uploaded.count, "file")) uploaded") + ")"
        }
        if !errors.isEmpty { parts.append("\(Plural.count(errors.count, "partner")) not delivered: " + errors.joined(separator: "; ")) }
        return parts.isEmpty ? "no partner's files are delivered (outbound: deliver: in reckon.yaml)" : parts.joined(separator: ", ")
    }
}

extension Ledger {
    /// The deliver step: for each partner whose `outbound:` has `deliver:`, the day's current
    /// set goes to its server unless every file of that version is recorded delivered. The
    /// files the manifest lists are checked against it (size, SHA-256) first; what was fully
    /// uploaded is recorded delivered (`delivered_at`, `remote_name`) for that version once the
    /// whole set went up, so a new version is delivered again, an unchanged one is not, and
    /// one cut short is delivered again whole.
    public func runDeliverStep(date: CivilDate, config: ReckonConfig, partner only: String? = nil,
                               deliver: (OutboundDelivery) -> OutboundDelivered) throws(LedgerError) -> DeliverReport {
        var report = DeliverReport()
        for partner in config.partners where (only == nil || partner.id == only) {
            guard let remoteFolder = partner.outbound?.deliverPath else { continue }
            let current = try OutboundFiles.list(in: self, date: date, partner: partner.id).filter(\.isCurrent)
            guard let version = current.first?.version else {
                report.partners.append(.init(partner: partner.id, version: nil, uploaded: []))
                continue
            }
            let due = current.filter { $0.deliveredAt == nil }
            guard !due.isEmpty else {
                report.partners.append(.init(partner: partner.id, version: version, uploaded: []))
                continue
            }
            let day = OutboxDay(outboxRoot: config.outboxFolder, archiveRoot: config.archiveFolder + "/outbound", partner: partner.id, date: date)
            let files: [OutboundDelivery.File]
            let marker: String?
            do {
                (files, marker) = try Self.deliveryFiles(day, version: version, due: Set(due.map(\.name)))
            } catch {
                report.errors.append("\(partner.id) \(date): \(error)")
                report.partners.append(.init(partner: partner.id, version: version, uploaded: []))
                continue
            }
            let delivered = deliver(OutboundDelivery(partner: partner.id, date: date, remoteFolder: remoteFolder, files: files,
                                                      markerName: marker))
            let stamp = timestamp()
            // Recorded only once the whole set is on the server, marker last: a set cut short
            // (a file or the marker refused) stays due, so every run delivers it again and
            // fails until it goes whole; never "already delivered" without its marker.
            try write(crashBefore: .deliverRecordBefore, crashAfter: .deliverRecorded) { db in
                guard delivered.problem == nil else { return }
                for row in due {
                    guard let remote = delivered.remotePaths[row.name] else { continue }
                    try db.execute(sql: """
                        UPDATE outbound_file SET delivered_at = ?, remote_name = ?
                        WHERE partner = ? AND business_date = ? AND name = ? AND version = ?
                        """, arguments: [stamp, remote, partner.id, date.description, row.name, version])
                }
            }
            if let problem = delivered.problem { report.errors.append("\(partner.id) \(date): \(problem)") }
            report.partners.append(.init(partner: partner.id, version: version,
                                         uploaded: files.compactMap { delivered.remotePaths[$0.name] }))
        }
        return report
    }

    /// The installed set's files to upload, in order: the due manifest-listed ones (each
    /// checked by size and SHA-256 against the manifest), the zip, the manifest, the marker.
    static func deliveryFiles(_ day: OutboxDay, version: Int, due: Set<String>) throws -> ([OutboundDelivery.File], marker: String?) {
        guard let manifest = try day.installedManifest() else {
            throw LedgerError("\(day.manifestPath): no installed set, though the ledger records version \(version)")
        }
        guard manifest.version == version else {
            throw LedgerError("\(day.manifestPath) is version \(manifest.version), but the ledger's current one is \(version)")
        }
        var files: [OutboundDelivery.File] = []
        for file in manifest.files where due.contains(file.name) {
            let path = day.dayFolder + "/" + file.name
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            guard size == file.sizeBytes else {
                throw LedgerError("\(path): \(size.map { "\($0) bytes" } ?? "missing"), but the manifest lists \(file.sizeBytes) bytes")
            }
            let digest = try OutboxDigest.sha256Hex(path: path)
            guard digest == file.sha256 else {
                throw LedgerError("\(path): SHA-256 \(digest), but the manifest lists \(file.sha256)")
            }
            files.append(.init(localPath: path, name: file.name))
        }
        for name in [manifest.zip, OutboxManifest.fileName, manifest.doneMarker].compactMap({ $0 }) {
            files.append(.init(localPath: day.dayFolder + "/" + name, name: name))
        }
        return (files, manifest.doneMarker)
    }
}
