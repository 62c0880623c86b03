import GRDB
import ReckonCore
import ReckonFiles

/// One outbound file as the settle step wrote it (or, in a dry run, would write it).
public struct SettledFile: Sendable {
    public let kind: OutboundFileKind
    public let fileName: String
    public let spec: String
    public let sizeBytes: Int
    public let recordCount: Int
    public let controlTotals: [ControlTotalValue]
    public let sha256Hex: String
}

/// A partner's day as the settle step left it: its files, and the version of the set
/// installed in `outbox/<partner>/<date>/` (nil in a dry run).
public struct SettledPartner: Sendable {
    public let partner: String
    public let files: [SettledFile]
    public let version: Int?
    /// False when the files written were byte for byte the set already installed.
    public let changed: Bool?
    public let manifestPath: String?
    public let folder: String
}

/// What the settle step did for a business day.
public struct SettleReport: Sendable {
    public let date: CivilDate
    public let dryRun: Bool
    public var partners: [SettledPartner] = []
    /// A partner whose files could not all be written, with why: the step fails.
    public var errors: [String] = []

    public var succeeded: Bool { errors.isEmpty }

    /// `bank v1 (2 files, 27 records), platform v1 unchanged (…)`, as the run's step records it.
    public var summary: String {
        var parts = partners.map { partner -> String in
            let records = partner.files.reduce(0) { $0 + $1.recordCount }
            let version = dryRun ? "(dry run)" : "v\(partner.version ?? 0)" + (partner.changed == false ? " unchanged" : "")
            return "\(partner.partner) \(version) (\(Plural.count(partner.files.count, "file")), \(Plural.count(records, "record")))"
        }
        if !errors.isEmpty { parts.append("\(Plural.count(errors.count, "partner")) not settled: " + errors.joined(separator: "; ")) }
        return parts.isEmpty ? "no partner receives files (outbound: in reckon.yaml)" : parts.joined(separator: ", ")
    }
}

/// The settle step (DESIGN.md, "The pipeline", step 5): for each partner that receives files
/// (`outbound:` in reckon.yaml), renders each of its files for the day through its spec into
/// the day's staging folder (``OutboxDay``), installs them as one set (a new version only
/// when the bytes changed; the old set archived), and records the installed files in the
/// ledger (``OutboundFiles``). The files are made from the ledger alone, read in one
/// transaction each, in an order that depends only on what it holds: settling a day again
/// with an unchanged ledger writes the same bytes and no new version. A partner whose files
/// could not all be written keeps its previous set (nothing is installed) and fails the step.
extension Ledger {
    /// `shouldStop` (a graceful stop), asked before each partner and file and every few
    /// thousand records, abandons the step when it turns true: the set being written is
    /// discarded (its partner keeps its previous set), sets installed before it stay, and the
    /// error's ``LedgerError/abandoned`` is true.
    public func runSettleStep(date: CivilDate, config: ReckonConfig, partner only: String? = nil, dryRun: Bool = false,
                              progress: (String) -> Void = { _ in },
                              shouldStop: () -> Bool = { false }) throws(LedgerError) -> SettleReport {
        if let only {
            guard let partner = config.partner(only) else { throw LedgerError("no partner '\(only)' in \(config.origin)") }
            guard partner.outbound != nil else { throw LedgerError("partner \(only) receives no files (no outbound: in \(config.origin))") }
        }
        var report = SettleReport(date: date, dryRun: dryRun)
        for partner in config.partners where partner.outbound != nil && (only == nil || partner.id == only) {
            if shouldStop() { throw LedgerError.stepAbandoned(.settle, date: date) }
            progress("settle \(date): \(partner.id)")
            do {
                report.partners.append(try settle(partner, date: date, config: config, dryRun: dryRun, shouldStop: shouldStop))
            } catch let error as LedgerError where error.abandoned {
                throw error
            } catch {
                report.errors.append("\(partner.id): \(error)")
            }
        }
        return report
    }

    private func settle(_ partner: PartnerConfig, date: CivilDate, config: ReckonConfig, dryRun: Bool,
                        shouldStop: () -> Bool) throws -> SettledPartner {
        let outbound = partner.outbound!
        let day = OutboxDay(outboxRoot: config.outboxFolder, archiveRoot: config.archiveFolder + "/outbound", partner: partner.id, date: date)
        var staged: [StagedFile] = []
        var settled: [SettledFile] = []
        do {
            for file in outbound.files {
                if shouldStop() { throw LedgerError.stepAbandoned(.settle, date: date) }
                let rendered = try render(file, partner: partner, date: date, config: config, day: day, shouldStop: shouldStop)
                staged.append(rendered.staged)
                settled.append(rendered.settled)
                CrashPoints.hit(.settleFileRendered)
            }
        } catch {
            try? day.discardStaging()
            throw error
        }
        let folder = config.outboxFolder + "/\(partner.id)/\(date)"
        if dryRun {
            try day.discardStaging()
            return SettledPartner(partner: partner.id, files: settled, version: nil, changed: nil, manifestPath: nil, folder: folder)
        }
        CrashPoints.hit(.settleStaged)
        let reason = try settleReason(partner, date: date)
        let options = OutboxOptions(zipName: outbound.zipName?.name(for: date), doneMarkerName: outbound.doneName?.name(for: date))
        let install = try day.install(staged, options: options, reason: reason)
        let settlementName = outbound.files.first { $0.kind == .settlement }.map { "\(partner.id)/\($0.name.name(for: date))" }
        try OutboundFiles.record(install, in: self)
        try write(crashAfter: .settleRecorded) { db in
            if let settlementName {
                // The breaks whose adjustments this settlement file carries name it.
                try db.execute(sql: """
                    UPDATE recon_break SET fixed_by_file = ? WHERE settle_on = ? AND adjustment_entry_id IS NOT NULL
                        AND fixed_by_file IS NOT ?
                    """, arguments: [settlementName, date.description, settlementName])
            }
        }
        return SettledPartner(partner: partner.id, files: settled, version: install.version, changed: install.changed,
                              manifestPath: install.manifestPath, folder: folder)
    }

    /// Renders one file through its spec into the staging folder, flushed.
    private func render(_ file: OutboundFileConfig, partner: PartnerConfig, date: CivilDate, config: ReckonConfig,
                        day: OutboxDay, shouldStop: () -> Bool) throws -> (staged: StagedFile, settled: SettledFile) {
        let spec = try SpecFile.load(file.specPath)
        let name = file.name.name(for: date)
        let path = try day.stagingPath(for: name)
        let writer = try SpecFileWriter(spec: spec, path: path)
        let content = file.kind.content(partner: partner, date: date, config: config)
        var records = 0
        try read { db in
            try content.records(db) { values in
                records += 1
                if records % Self.settleRecordsBetweenStopChecks == 0, shouldStop() { throw LedgerError.stepAbandoned(.settle, date: date) }
                try writer.add(kind: file.kind.detailKind, values: values)
            }
        }
        var given: [String: FieldValue] = ["business_date": .date(date), "currency": .text(config.currency), "partner": .text(partner.id)]
        for (field, value) in file.header { given[field] = .text(value) }
        func values(_ kind: String?) -> [String: FieldValue] {
            let names = Set(kind.flatMap(spec.kind(named:))?.fields.map(\.name) ?? [])
            return given.filter { names.contains($0.key) }
        }
        let rendered = try writer.finish(header: values(spec.output.headerKind), trailer: values(spec.output.trailerKind))
        let staged = StagedFile(fileName: name, fileType: file.kind.rawValue, spec: spec.name, path: rendered.path,
                                sizeBytes: rendered.sizeBytes, recordCount: rendered.recordCount,
                                controlTotals: rendered.controlTotals, sha256Hex: rendered.sha256Hex)
        let settled = SettledFile(kind: file.kind, fileName: name, spec: spec.name, sizeBytes: rendered.sizeBytes,
                                  recordCount: rendered.recordCount, controlTotals: rendered.controlTotals, sha256Hex: rendered.sha256Hex)
        return (staged, settled)
    }

    /// Records written between two asks whether to stop.
    static let settleRecordsBetweenStopChecks = 4_096

    /// Why the day's set is what it is, as the manifest records a new version: what the
    /// ledger holds that a first settle did not have (a corrected file, an adjustment).
    private func settleReason(_ partner: PartnerConfig, date: CivilDate) throws(LedgerError) -> String {
        try read { db in
            var parts = ["settle \(date)"]
            let corrected = try Row.fetchAll(db, sql: """
                SELECT f.name, f.id, f.supersedes FROM received_file f
                WHERE f.business_date = ? AND f.status = 'posted' AND f.supersedes IS NOT NULL ORDER BY f.name, f.id
                """, arguments: [date.description])
            if !corrected.isEmpty {
                parts.append("corrected files: " + corrected.map { "\($0[0] as String) #\($0[1] as Int64) replaces #\($0[2] as Int64)" }
                    .joined(separator: ", "))
            }
            let adjusted = try Row.fetchAll(db, sql: "SELECT id, adjustment_minor FROM recon_break WHERE settle_on = ? AND adjustment_entry_id IS NOT NULL ORDER BY id",
                                            arguments: [date.description])
            if !adjusted.isEmpty {
                parts.append("adjustments: " + adjusted.map { "break #\($0[0] as Int64) \(AmountText.printed(units: $0[1]))" }
                    .joined(separator: ", "))
            }
            let acted = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM recon_break WHERE business_date = ? AND status IN ('matched', 'resolved')
                """, arguments: [date.description]) ?? 0
            if acted > 0 { parts.append("\(Plural.count(acted, "break")) of the day matched or resolved") }
            return parts.joined(separator: "; ")
        }
    }
}
