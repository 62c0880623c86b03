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
    /// Records whose key was stored before, as lines for people.
    public let duplicates: [String]
    /// The earlier file of the same partner, type and day that this one replaced.
    public let superseded: Int64?
    public let archivePath: String?
    public let quarantinePath: String?
}

extension Ledger {
    /// Takes one partner file into the ledger in one transaction: all of it or none of it.
    ///
    /// The same bytes again are a repeated delivery and change nothing. A record whose key
    /// was stored before (by any earlier file of the partner) is a duplicate: reported, not
    /// stored. A different file for the same partner, type and business day is a corrected
    /// re-send: the earlier file's entries are reversed by new entries, its events retired,
    /// and the new file posted; both stay visible with their status. A strict file with any
    /// rejected record, and any file whose control totals fail, posts nothing and goes to
    /// quarantine with a report naming every problem. Every file received is first archived
    /// unchanged.
    public func ingest(_ request: IngestRequest, config: ReckonConfig, options: CheckOptions = CheckOptions()) throws(LedgerError) -> IngestResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let name = (request.path as NSString).lastPathComponent
        let matched = request.fileType.name.match(name)
        guard let businessDate = request.businessDate ?? matched.date else {
            throw LedgerError("\(request.path): no business date: the name does not fit \(request.fileType.name) and no --date was given")
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
            throw LedgerError("\(error)")
        }
        try register([request.partner])

        func result(_ outcome: IngestResult.Outcome, fileID: Int64?, report: FileReport? = nil, events: Int = 0, entries: Int = 0,
                    duplicates: [String] = [], superseded: Int64? = nil, archive: String? = nil, quarantine: String? = nil) -> IngestResult {
            IngestResult(outcome: outcome, file: request.path, partner: request.partner.id, fileType: request.fileType.id,
                         businessDate: businessDate, fileID: fileID, report: report, events: events, entries: entries,
                         duplicates: duplicates, superseded: superseded, archivePath: archive, quarantinePath: quarantine)
        }

        if let earlier = try read({ db in
            try Int64.fetchOne(db, sql: "SELECT id FROM received_file WHERE sha256 = ? AND partner = ? AND file_type = ? ORDER BY id LIMIT 1",
                               arguments: [digest.hex, request.partner.id, request.fileType.id])
        }) {
            return result(.repeated, fileID: earlier)
        }

        let archivePath: String
        do {
            archivePath = try FileStore.keep(request.path, digest: digest,
                                             in: "\(config.archiveFolder)/\(businessDate)/\(request.partner.id)")
        } catch {
            throw LedgerError("archiving \(request.path): \(error)")
        }

        // Everything else happens in one transaction; a rejected file rolls it all back.
        var outcome: FilePosting.Outcome?
        do {
            try pool.write { db in
                let posting = try FilePosting(db: db, request: request, spec: spec, config: config, businessDate: businessDate,
                                              digest: digest, archivePath: archivePath, options: options)
                let finished = try posting.run(started: started)
                outcome = finished
                if finished.rejected { throw Rollback() }
            }
        } catch is Rollback {
            // Fall through to quarantine below.
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError("\(request.path): the ledger refused the file: \(error)")
        }
        guard let outcome else { throw LedgerError("\(request.path): ingest ended without an outcome") }

        if !outcome.rejected {
            return result(.posted, fileID: outcome.fileID, report: outcome.report, events: outcome.events, entries: outcome.entries,
                          duplicates: outcome.duplicates, superseded: outcome.superseded, archive: archivePath)
        }

        // Quarantine: the file and a report beside it; the ledger keeps a row saying so.
        let folder = "\(config.quarantineFolder)/\(businessDate)/\(request.partner.id)"
        let quarantined: String
        let reportPath: String
        do {
            quarantined = try FileStore.keep(request.path, digest: digest, in: folder)
            reportPath = quarantined + ".report.txt"
            try FileStore.writeAtomically(reportPath, Self.quarantineReport(outcome, spec: spec, request: request, businessDate: businessDate))
        } catch {
            throw LedgerError("quarantining \(request.path): \(error)")
        }
        let report = outcome.report
        let fileID = try write { db in
            try db.execute(sql: """
                INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, records_read,
                    records_rejected, duplicates, received_at, finished_at, elapsed_ms, archive_path, report_path)
                VALUES (?, ?, ?, ?, ?, ?, 'rejected', ?, ?, 0, ?, ?, ?, ?, ?)
                """, arguments: [request.partner.id, request.fileType.id, businessDate.description, name, digest.size, digest.hex,
                                 report.recordsRead, report.recordsRejected, timestamp(), timestamp(),
                                 Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000), archivePath, reportPath])
            return db.lastInsertedRowID
        }
        return result(.rejected, fileID: fileID, report: report, archive: archivePath, quarantine: quarantined)
    }

    static func quarantineReport(_ outcome: FilePosting.Outcome, spec: MappingSpec, request: IngestRequest, businessDate: CivilDate) -> String {
        var text = "reckon refused \(request.path)\n"
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

/// One file's trip into the ledger, inside the write transaction.
final class FilePosting {
    struct Outcome {
        var fileID: Int64
        var report: FileReport
        var events = 0
        var entries = 0
        var duplicates: [String] = []
        var superseded: Int64?
        var rejected = false
    }

    let db: Database
    let request: IngestRequest
    let spec: MappingSpec
    let config: ReckonConfig
    let businessDate: CivilDate
    let digest: FileDigest
    let archivePath: String
    let options: CheckOptions
    private var balanceDeltas: [BalanceKey: Int64] = [:]
    private var knownAccounts = Set<String>()
    private var products: [String: String?] = [:]

    struct BalanceKey: Hashable {
        let account: String
        let currency: String
    }

    init(db: Database, request: IngestRequest, spec: MappingSpec, config: ReckonConfig, businessDate: CivilDate,
         digest: FileDigest, archivePath: String, options: CheckOptions) throws {
        self.db = db
        self.request = request
        self.spec = spec
        self.config = config
        self.businessDate = businessDate
        self.digest = digest
        self.archivePath = archivePath
        self.options = options
    }

    func run(started: UInt64) throws -> Outcome {
        let name = (request.path as NSString).lastPathComponent
        try db.execute(sql: """
            INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, received_at, archive_path)
            VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?)
            """, arguments: [request.partner.id, request.fileType.id, businessDate.description, name, digest.size, digest.hex,
                             timestamp(), archivePath])
        let fileID = db.lastInsertedRowID
        let superseded = try supersedeEarlierFile(newFileID: fileID)

        var check = FileCheck(spec: spec, file: request.path, options: options)
        var events = 0, entries = 0
        var duplicates: [String] = []
        let source: FileByteSource
        do {
            source = try FileByteSource(path: request.path)
        } catch {
            check.fail(FileFailure(location: nil, reason: error.reason))
            return Outcome(fileID: fileID, report: check.finish(), rejected: true)
        }
        var reader = PartnerFile.reader(spec: spec, source: source)
        do {
            while let event = try reader.next() {
                // The record view stays valid until the next read: store it, then count it.
                var refusal: FieldProblem?
                if case .record(let record) = event {
                    switch try store(record, fileID: fileID) {
                    case .stored(let entryCount):
                        events += 1
                        entries += entryCount
                    case .duplicate(let line):
                        duplicates.append(line)
                    case .notAnEvent:
                        break
                    case .refused(let problem):
                        refusal = problem
                    }
                }
                _ = check.take(event)
                if let refusal, case .record(let record) = event {
                    check.reject(afterReading: record, refusal)
                    if options.stopAtFirstError { break }
                }
                if options.stopAtFirstError, case .rejected = event { break }
            }
        } catch let error as FileFailure {
            check.fail(error)
        }
        let report = check.finish()
        let rejected = report.failure != nil || !report.controlsHold || !report.structure.isEmpty
            || (!request.fileType.lenient && report.recordsRejected > 0)
        if rejected {
            return Outcome(fileID: fileID, report: report, duplicates: duplicates, rejected: true)
        }
        try flushBalances()
        try db.execute(sql: """
            UPDATE received_file SET status = 'posted', records_read = ?, records_rejected = ?, duplicates = ?, events = ?,
                entries = ?, finished_at = ?, elapsed_ms = ?, supersedes = ? WHERE id = ?
            """, arguments: [report.recordsRead, report.recordsRejected, duplicates.count, events, entries, timestamp(),
                             Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000), superseded, fileID])
        return Outcome(fileID: fileID, report: report, events: events, entries: entries, duplicates: duplicates, superseded: superseded)
    }

    // MARK: Corrected re-sends

    /// Reverses the entries of the posted file this one replaces, retires its events, and
    /// marks it superseded. Returns its id.
    private func supersedeEarlierFile(newFileID: Int64) throws -> Int64? {
        guard let earlier = try Int64.fetchOne(db, sql: """
            SELECT id FROM received_file WHERE partner = ? AND file_type = ? AND business_date = ? AND status = 'posted'
            ORDER BY id DESC LIMIT 1
            """, arguments: [request.partner.id, request.fileType.id, businessDate.description]) else { return nil }
        // Its own entries, not reversals it made of an even earlier file.
        let entries = try Row.fetchAll(db, sql: """
            SELECT id, event_id, line FROM journal_entry WHERE file_id = ? AND kind <> 'reversal' ORDER BY id
            """, arguments: [earlier])
        for entry in entries {
            let entryID: Int64 = entry[0]
            let postings = try Row.fetchAll(db, sql: "SELECT account, amount_minor, currency FROM posting WHERE entry_id = ? ORDER BY id",
                                            arguments: [entryID])
            let reversed = try postings.map { row throws -> Posting in
                let amount: Int64 = row[1]
                return Posting(row[0], -amount, row[2])
            }
            let draft: EntryDraft
            do {
                draft = try EntryDraft(.reversal, reversed)
            } catch {
                throw LedgerError("entry \(entryID) of file \(earlier) does not balance and cannot be reversed: \(error)")
            }
            try insert(draft, fileID: newFileID, eventID: entry[1], line: entry[2], reverses: entryID)
        }
        try db.execute(sql: "UPDATE event SET active = 0 WHERE file_id = ?", arguments: [earlier])
        try db.execute(sql: "UPDATE received_file SET status = 'superseded' WHERE id = ?", arguments: [earlier])
        return earlier
    }

    // MARK: Records

    enum Stored {
        case stored(entries: Int)
        case duplicate(String)
        case notAnEvent
        case refused(FieldProblem)
    }

    private func store(_ record: RecordView, fileID: Int64) throws -> Stored {
        guard let event = record.kind.event else { return .notAnEvent }
        let kind = record.kind

        // A key with an empty part identifies nothing: such a record is stored without one.
        var key: String?
        let parts = kind.key.map { record.value(named: $0)?.description ?? "" }
        if !parts.isEmpty, !parts.contains(where: \.isEmpty) {
            key = ([request.partner.id, event.rawValue] + parts).joined(separator: "|")
            if let earlier = try Row.fetchOne(db, sql: """
                SELECT f.name, e.line FROM event e JOIN received_file f ON f.id = e.file_id
                WHERE e.record_key = ? AND e.active = 1
                """, arguments: [key]) {
                let file: String = earlier[0], line: Int = earlier[1]
                return .duplicate("\(record.location): \(kind.name) \(parts.joined(separator: " ")) was stored before, from \(file) line \(line)")
            }
        }

        var drafts: [EntryDraft] = []
        if request.fileType.posts {
            let context = postingContext()
            let values = record.materialize()
            let value = { (name: String) -> FieldValue? in kind.fieldIndex(named: name).map { values.values[$0] } }
            let outcome: Result<[EntryDraft], PostingError>
            do throws(PostingError) {
                outcome = .success(try PostingRules.entries(for: event, value: value, context: context))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let made):
                drafts = made
            case .failure(let error):
                let raw = error.field.flatMap(value)?.description
                return .refused(FieldProblem(field: error.field, rawValue: raw, reason: error.reason))
            }
        }

        var members: [(String, String)] = []
        for index in 0..<record.count {
            members.append((kind.fields[index].name, JSONText.value(record[index])))
        }
        let loan = record.value(named: "loan_id").flatMap { $0.isEmpty ? nil : $0.description }
        let amount = ["total", "amount", "principal"].lazy.compactMap { record.value(named: $0) }.first { !$0.isEmpty }
        var amountMinor: Int64?
        if case .decimal(let d)? = amount, d.scale <= 2 { amountMinor = d.rescaled(to: 2)?.units }
        let currency = record.value(named: "currency").flatMap { $0.isEmpty ? nil : $0.description } ?? config.currency
        try db.cachedStatement(sql: """
            INSERT INTO event (file_id, line, kind, record_kind, record_key, loan_id, amount_minor, currency, business_date, fields)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [fileID, record.location.line, event.rawValue, kind.name, key, loan, amountMinor, currency,
                                     businessDate.description, JSONText.object(members)])
        let eventID = db.lastInsertedRowID
        for draft in drafts {
            try insert(draft, fileID: fileID, eventID: eventID, line: record.location.line, reverses: nil)
        }
        return .stored(entries: drafts.count)
    }

    private func postingContext() -> PostingContext {
        PostingContext(
            currency: config.currency,
            partnerChannelCode: request.partner.channelCode,
            marginRate: { [config] product in config.product(product)?.marginRate },
            productOfLoan: { [unowned self] loan in self.product(of: loan) },
            frozenMargin: { [unowned self] loan in self.balance(Account.marginFrozen(loan), self.config.currency) })
    }

    /// The product a loan was disbursed under, from its disbursement event.
    private func product(of loan: String) -> String? {
        if let cached = products[loan] { return cached }
        let product = (try? String.fetchOne(db, sql: """
            SELECT json_extract(fields, '$.product') FROM event WHERE kind = 'loan_disbursed' AND loan_id = ? AND active = 1 LIMIT 1
            """, arguments: [loan])) ?? nil
        products[loan] = product
        return product
    }

    /// An account's balance including what this file has posted so far.
    private func balance(_ account: String, _ currency: String) -> Int64 {
        let stored = (try? Int64.fetchOne(db, sql: "SELECT amount_minor FROM balance WHERE account = ? AND currency = ?",
                                          arguments: [account, currency])) ?? nil
        return (stored ?? 0) + balanceDeltas[BalanceKey(account: account, currency: currency), default: 0]
    }

    // MARK: The journal

    private func insert(_ draft: EntryDraft, fileID: Int64, eventID: Int64?, line: Int?, reverses: Int64?) throws {
        try db.cachedStatement(sql: """
            INSERT INTO journal_entry (kind, file_id, event_id, line, business_date, reverses) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [draft.kind.rawValue, fileID, eventID, line, businessDate.description, reverses])
        let entryID = db.lastInsertedRowID
        let statement = try db.cachedStatement(sql: "INSERT INTO posting (entry_id, account, amount_minor, currency) VALUES (?, ?, ?, ?)")
        for posting in draft.postings {
            if knownAccounts.insert(posting.account).inserted {
                let parts = posting.account.split(separator: ":").map(String.init)
                let loan = parts.first == "loan" ? parts[1] : (parts.count == 3 && parts[0] == "margin" ? parts[2] : nil)
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO account (code, kind, loan_id) VALUES (?, ?, ?)")
                    .execute(arguments: [posting.account, parts.first ?? posting.account, loan])
            }
            try statement.execute(arguments: [entryID, posting.account, posting.amountMinor, posting.currency])
            balanceDeltas[BalanceKey(account: posting.account, currency: posting.currency), default: 0] += posting.amountMinor
        }
    }

    private func flushBalances() throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO balance (account, currency, amount_minor) VALUES (?, ?, ?)
            ON CONFLICT(account, currency) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor
            """)
        for (key, delta) in balanceDeltas.sorted(by: { ($0.key.account, $0.key.currency) < ($1.key.account, $1.key.currency) }) where delta != 0 {
            try statement.execute(arguments: [key.account, key.currency, delta])
        }
        balanceDeltas.removeAll()
    }
}
