import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// A partner file to take into the ledger.
public struct IngestRequest: Sendable {
    public let path: String
    public let partner: PartnerConfig
    public let fileType: FileTypeConfig
    /// The business date; nil to take it from the file name's date placeholder.
    public let businessDate: CivilDate?
    /// The batch run taking the file in, recorded with it (nil outside a run).
    public var runID: Int64?
    /// Asked between batches of records and before the commit: when true the file is
    /// abandoned, its transaction rolled back whole, and ingest throws an error whose
    /// ``LedgerError/abandoned`` is true (the daemon's graceful stop).
    public var shouldAbandon: (@Sendable () -> Bool)?
    /// Set when an operator makes an earlier version current again (``Ledger/reinstate``):
    /// its archived copy is posted although its bytes were received before.
    var reinstatement: Reinstatement?

    struct Reinstatement: Sendable {
        /// The version made current again.
        let fileID: Int64
        /// Its name as received (the archived copy's may carry a digest suffix).
        let name: String
    }

    /// The file's name as received.
    var receivedName: String { reinstatement?.name ?? (path as NSString).lastPathComponent }

    public init(path: String, partner: PartnerConfig, fileType: FileTypeConfig, businessDate: CivilDate? = nil) {
        self.path = path
        self.partner = partner
        self.fileType = fileType
        self.businessDate = businessDate
    }
}

/// What became of a file.
public struct IngestResult: Sendable {
    public enum Outcome: String, Sendable {
        /// Read and stored (posted, when its type posts).
        case posted
        /// The same bytes were received before: nothing done.
        case repeated
        /// Refused as a whole and quarantined with a report.
        case rejected
        /// An earlier version of the day's file, sent again after a correction replaced
        /// it: nothing posted, an alert raised; an operator decides (``Ledger/reinstate``).
        case stale
        /// The same bytes were refused before and an operator set them aside: nothing done.
        case setAside = "set aside"
    }

    public let outcome: Outcome
    public let file: String
    public let partner: String
    public let fileType: String
    public let businessDate: CivilDate
    /// The file's row in the ledger (for a repeat, the earlier delivery's).
    public let fileID: Int64?
    public let report: FileReport?
    public let events: Int
    public let entries: Int
    /// Records whose key was stored before, as lines for people: the first ones, up to the
    /// report's problem limit.
    public let duplicates: [String]
    /// How many records were duplicates.
    public let duplicateCount: Int
    /// The earlier file of the same partner, type and day that this one replaced.
    public let superseded: Int64?
    public let archivePath: String?
    public let quarantinePath: String?
    /// A stale delivery: the version it repeats and the version that stays current.
    public var versions: FileVersions?
    /// A delivery set aside: the operator's decision.
    public var setAside: FileAction?
    /// A refused file's report (one per attempt).
    public var reportPath: String?

    /// Records of a posted (lenient) file that were not posted: rejected or duplicates.
    /// The run reports them as a shortfall: the posted total differs from the file's.
    public var recordsNotPosted: Int { outcome == .posted ? report?.recordsRejected ?? 0 : 0 }

    /// The result with the paths it names — the received file's, its archive and
    /// quarantine copies', its report's, all holding the name the partner gave it — escaped
    /// as ``DisplayText`` says, for printing: a name's control bytes never reach a terminal.
    public var escapedForDisplay: IngestResult {
        let shown = { (path: String?) in path.map(DisplayText.escaped) }
        var result = IngestResult(outcome: outcome, file: DisplayText.escaped(file), partner: partner, fileType: fileType,
                                  businessDate: businessDate, fileID: fileID, report: report, events: events, entries: entries,
                                  duplicates: duplicates, duplicateCount: duplicateCount, superseded: superseded,
                                  archivePath: shown(archivePath), quarantinePath: shown(quarantinePath))
        result.versions = versions
        result.setAside = setAside
        result.reportPath = shown(reportPath)
        return result
    }
}

extension Ledger {
    /// Takes one partner file into the ledger in one transaction: all of it or none of it.
    ///
    /// The same bytes posted before are a repeated delivery and change nothing; bytes refused
    /// before are tried again (unless an operator set them aside); an earlier version sent
    /// again after its correction is recorded as a stale delivery with an alert, not posted.
    /// A record whose key was stored before (by any earlier file of the partner, or an
    /// earlier line of this one) is a duplicate and cannot be posted. A different file for
    /// the same partner, type and business day is a corrected re-send: the earlier file's
    /// entries are reversed by new entries, its events retired, and the new file posted;
    /// both stay visible with their status. A strict file with any rejected or duplicate
    /// record, and any file whose control totals fail, posts nothing and goes to quarantine
    /// with a report naming every problem; a lenient file posts the rest and its result
    /// says how many records were not posted. Every file received is first archived
    /// unchanged.
    ///
    /// `progress` hears how many records have been stored so far, every few thousand.
    public func ingest(_ request: IngestRequest, config: ReckonConfig, options: CheckOptions = CheckOptions(),
                       progress: (Int) -> Void = { _ in }) throws(LedgerError) -> IngestResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let name = request.receivedName
        // The received path as errors show it: a name's control bytes escaped.
        let shownPath = DisplayText.escaped(request.path)
        // An error in keeping the file, said once in one line: `PATH: writing the archive copy
        // to … failed: No space left on device`; `doing` says what was under way otherwise.
        func failure(_ doing: String, _ error: any Error) -> LedgerError {
            switch error {
            case let write as FileWriteError:
                return LedgerError("\(shownPath): \(DisplayText.escaped(write.description))")
            case let access as FileAccessError where access.path == request.path:
                return LedgerError("\(shownPath): \(DisplayText.escaped(access.reason))")
            default:
                return LedgerError("\(doing) \(shownPath): \(DisplayText.escaped("\(error)"))")
            }
        }
        let matched = request.fileType.name.match(name)
        guard let businessDate = request.businessDate ?? matched.date else {
            throw LedgerError("\(shownPath): no business date: the name does not fit \(request.fileType.name) and no --date was given")
        }
        let spec: MappingSpec
        do {
            spec = try SpecFile.load(request.fileType.specPath)
        } catch {
            throw LedgerError("\(error)")
        }
        let digest: FileDigest
        do {
            digest = try FileDigest(path: request.path)
        } catch {
            throw failure("reading", error)
        }
        try register([request.partner])

        func result(_ outcome: IngestResult.Outcome, fileID: Int64?, report: FileReport? = nil, events: Int = 0, entries: Int = 0,
                    duplicates: [String] = [], duplicateCount: Int = 0, superseded: Int64? = nil, archive: String? = nil, quarantine: String? = nil) -> IngestResult {
            IngestResult(outcome: outcome, file: request.path, partner: request.partner.id, fileType: request.fileType.id,
                         businessDate: businessDate, fileID: fileID, report: report, events: events, entries: entries,
                         duplicates: duplicates, duplicateCount: duplicateCount, superseded: superseded, archivePath: archive, quarantinePath: quarantine)
        }

        // The same bytes before: posted (a repeat), an earlier version (stale), refused
        // and set aside, or refused and tried again.
        if request.reinstatement == nil {
            switch try priorDelivery(of: digest, request: request, businessDate: businessDate) {
            case .none, .refused:
                break
            case .posted(let earlier):
                return result(.repeated, fileID: earlier)
            case .setAside(let earlier, let action):
                var setAside = result(.setAside, fileID: earlier)
                setAside.setAside = action
                return setAside
            case .earlierVersion(let version, let current):
                let (fileID, versions) = try recordStaleDelivery(request, name: name, digest: digest, businessDate: businessDate,
                                                                 version: version, current: current)
                var stale = result(.stale, fileID: fileID, archive: version.archivePath)
                stale.versions = versions
                return stale
            }
        }

        // The archive copy is made (and checked against the digest) while the file is read
        // and posted; the transaction commits only once the copy is safely on disk.
        let archivePath: String
        let archiving: BackgroundWork?
        do {
            let place = try FileStore.placement(of: request.path, digest: digest,
                                                in: "\(config.archiveFolder)/\(businessDate)/\(request.partner.id)", what: "the archive copy")
            archivePath = place.path
            let source = request.path
            archiving = place.exists ? nil : BackgroundWork(name: "reckon-archive") {
                CrashPoints.hit(.archiveCopyBefore)
                try FileStore.copy(source, to: place.path, digest: digest, what: "the archive copy")
                CrashPoints.hit(.archiveCopyAfter)
            }
        } catch {
            throw failure("archiving", error)
        }
        func archived() throws(LedgerError) {
            do {
                try archiving?.wait()
            } catch {
                throw failure("archiving", error)
            }
        }

        // Everything else happens in one transaction; a rejected file rolls it all back.
        var outcome: FilePosting.Outcome?
        do {
            defer { try? archiving?.wait() }
            try database.writeWithoutTransaction { db in
                // SQLite does not check references while a file posts: every row the file
                // writes refers to a row this transaction wrote or read just before (its file
                // row, its events, its entries, accounts inserted ahead of their postings), and
                // the checks were a third of each insert. `ledger verify` (and every test that
                // calls it) checks them all with PRAGMA foreign_key_check.
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                // Back on for the connection's other writes, whatever the transaction did; a
                // failure to turn them back on is an error of its own, not lost.
                let posted = Result { try db.inTransaction(.immediate) {
                    let posting = try FilePosting(db: db, request: request, spec: spec, config: config, businessDate: businessDate,
                                                  digest: digest, archivePath: archivePath, options: options)
                    let finished = try posting.run(started: started, progress: progress)
                    outcome = finished
                    if finished.rejected { throw Rollback() }
                    try archived()
                    CrashPoints.hit(.fileCommitBefore)
                    if request.shouldAbandon?() == true { throw Abandoned() }
                    return .commit
                } }
                let checksBack = Result { try db.execute(sql: "PRAGMA foreign_keys = ON") }
                try posted.get()
                try checksBack.get()
            }
        } catch is Rollback {
            // Fall through to quarantine below.
        } catch is Abandoned {
            throw LedgerError.abandoned(shownPath)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError("\(shownPath): the ledger refused the file: \(DisplayText.escaped("\(error)"))")
        }
        try archived()
        guard let outcome else { throw LedgerError("\(shownPath): ingest ended without an outcome") }

        if !outcome.rejected {
            CrashPoints.hit(.fileCommitAfter)
            return result(.posted, fileID: outcome.fileID, report: outcome.report, events: outcome.events, entries: outcome.entries,
                          duplicates: outcome.duplicates, duplicateCount: outcome.duplicateCount, superseded: outcome.superseded,
                          archive: archivePath)
        }

        // Quarantine: the file and a report beside it; the ledger keeps a row saying so.
        // One folder per file type, a copy per digest, a report per attempt: nothing
        // refused overwrites another refusal's copy or report.
        let folder = "\(config.quarantineFolder)/\(businessDate)/\(request.partner.id)/\(request.fileType.id)"
        let quarantined: String
        let reportPath: String
        do {
            CrashPoints.hit(.quarantineCopyBefore)
            quarantined = try FileStore.keep(request.path, digest: digest, in: folder, what: "the quarantine copy")
            CrashPoints.hit(.quarantineCopyAfter)
            reportPath = FileStore.reportPath(for: quarantined, attempt: try refusalAttempt(of: digest, request: request))
            CrashPoints.hit(.quarantineReportBefore)
            try FileStore.writeAtomically(reportPath, Self.quarantineReport(outcome, spec: spec, request: request, businessDate: businessDate),
                                          what: "the quarantine report")
            CrashPoints.hit(.quarantineReportAfter)
        } catch {
            throw failure("quarantining", error)
        }
        let report = outcome.report
        let fileID = try write(crashAfter: .refusalRecorded) { db in
            try db.execute(sql: """
                INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, records_read,
                    records_rejected, duplicates, received_at, finished_at, elapsed_ms, archive_path, report_path, run_id)
                VALUES (?, ?, ?, ?, ?, ?, 'rejected', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [request.partner.id, request.fileType.id, businessDate.description, name, digest.size, digest.hex,
                                 report.recordsRead, report.recordsRejected, outcome.duplicateCount, timestamp(), timestamp(),
                                 Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000), archivePath, reportPath,
                                 request.runID])
            return db.lastInsertedRowID
        }
        var rejected = result(.rejected, fileID: fileID, report: report, duplicates: outcome.duplicates,
                              duplicateCount: outcome.duplicateCount, archive: archivePath, quarantine: quarantined)
        rejected.reportPath = reportPath
        return rejected
    }

    static func quarantineReport(_ outcome: FilePosting.Outcome, spec: MappingSpec, request: IngestRequest, businessDate: CivilDate) -> String {
        var text = "reckon refused \(DisplayText.escaped(request.path))\n"
        text += "partner \(request.partner.id), file type \(request.fileType.id), business date \(businessDate), \(request.fileType.lenient ? "lenient" : "strict")\n"
        text += "nothing from this file was posted.\n\n"
        text += ReportText.render(outcome.report, spec: spec) + "\n"
        if request.fileType.lenient && outcome.report.failure == nil && outcome.report.controlsHold {
            text += "\n(a lenient file is only refused when its control totals fail or it cannot be read)\n"
        }
        return text
    }
}

private struct Rollback: Error {}

/// Work abandoned on request (a graceful stop: ``IngestRequest/shouldAbandon``, a step's
/// `shouldStop`): its transaction rolls back.
struct Abandoned: Error {}

extension LedgerError {
    /// The error of a file abandoned whole on request: nothing of it was kept.
    static func abandoned(_ shownPath: String) -> LedgerError {
        var error = LedgerError("\(shownPath): abandoned (asked to stop); nothing of it was posted, the next run takes it again")
        error.abandoned = true
        return error
    }

    /// The error of a day's alerts left on request: those not yet passed on or written out
    /// are the next run's.
    static func alertsAbandoned(_ date: CivilDate) -> LedgerError {
        var error = LedgerError("the alerts of \(date) were left (asked to stop); the next run passes them on and writes them out")
        error.abandoned = true
        return error
    }

    /// The error of a day's step abandoned on request: the plan and reconcile steps kept
    /// nothing (one transaction each); the settle step discarded the set it was writing.
    static func stepAbandoned(_ step: BatchStep, date: CivilDate) -> LedgerError {
        let kept = step == .settle ? "the set it was writing was discarded (sets installed before it stay)" : "nothing of it was kept"
        var error = LedgerError("the \(step.rawValue) step for \(date) was abandoned (asked to stop); \(kept), "
                                + "the next run does it again")
        error.abandoned = true
        return error
    }
}
