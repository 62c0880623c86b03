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

/// One file's trip into the ledger, inside the write transaction. The statements are
/// prepared once, and each record's values are bound from its bytes: storing a record makes
/// no strings.
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
    private var plans: [Int: KindPlan] = [:]
    private var scratch: [UInt8] = []
    private var key: [UInt8] = []
    private var loan: [UInt8] = []

    // Prepared once per file.
    private let insertEvent: Prepared
    private let insertEntry: Prepared
    private let insertPosting: Prepared
    private let insertAccount: Prepared
    private let upsertBalance: Prepared
    private let storedBalance: Prepared

    /// Bounds the balance changes held in memory before they are written (still inside the
    /// file's transaction), so memory stays flat however many loans a file touches.
    static let balanceFlushThreshold = 20_000

    struct BalanceKey: Hashable {
        let account: String
        let currency: String
    }

    /// Where a kind's special fields are, found once.
    struct KindPlan {
        let event: CanonicalEvent
        let eventName: [UInt8]
        let kindName: [UInt8]
        let keyIndexes: [Int]
        let loanIndex: Int?
        let amountIndex: Int?
        let currencyIndex: Int?
        /// Fields kept in columns of their own, left out of the `fields` JSON.
        let inColumns: Set<Int>
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
        insertEvent = try Prepared(db, """
            INSERT INTO event (file_id, line, kind, record_kind, record_key, loan_id, amount_minor, currency, business_date, fields)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (record_key) WHERE active = 1 AND record_key IS NOT NULL DO NOTHING
            """)
        insertEntry = try Prepared(db, """
            INSERT INTO journal_entry (kind, file_id, event_id, line, business_date, reverses) VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertPosting = try Prepared(db, "INSERT INTO posting (entry_id, account, amount_minor, currency) VALUES (?, ?, ?, ?)")
        insertAccount = try Prepared(db, "INSERT OR IGNORE INTO account (code, kind, loan_id) VALUES (?, ?, ?)")
        upsertBalance = try Prepared(db, """
            INSERT INTO balance (account, currency, amount_minor) VALUES (?, ?, ?)
            ON CONFLICT(account, currency) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor
            """)
        storedBalance = try Prepared(db, "SELECT amount_minor FROM balance WHERE account = ? AND currency = ?")
        for kind in spec.kinds {
            guard let event = kind.event else { continue }
            plans[kind.index] = KindPlan(
                event: event, eventName: Array(event.rawValue.utf8), kindName: Array(kind.name.utf8),
                keyIndexes: kind.key.compactMap { kind.fieldIndex(named: $0) },
                loanIndex: kind.fieldIndex(named: "loan_id"),
                amountIndex: ["total", "amount", "principal"].lazy.compactMap { kind.fieldIndex(named: $0) }.first,
                currencyIndex: kind.fieldIndex(named: "currency"),
                inColumns: Set([kind.fieldIndex(named: "loan_id"), kind.fieldIndex(named: "currency")].compactMap { $0 }))
        }
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
                if case .record(let record) = event, let plan = plans[record.kindIndex] {
                    switch try store(record, plan: plan, fileID: fileID) {
                    case .stored(let entryCount):
                        events += 1
                        entries += entryCount
                    case .duplicate(let line):
                        duplicates.append(line)
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
            let reversed = postings.map { row -> Posting in
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
        case refused(FieldProblem)
    }

    private func store(_ record: RecordView, plan: KindPlan, fileID: Int64) throws -> Stored {
        // A key with an empty part identifies nothing: such a record is stored without one.
        key.removeAll(keepingCapacity: true)
        var hasKey = !plan.keyIndexes.isEmpty
        if hasKey {
            key += Array(request.partner.id.utf8)
            key.append(UInt8(ascii: "|"))
            key += plan.eventName
            for index in plan.keyIndexes {
                key.append(UInt8(ascii: "|"))
                if !record.appendText(at: index, to: &key) { hasKey = false; break }
            }
        }

        var drafts: [EntryDraft] = []
        if request.fileType.posts {
            let context = postingContext()
            let value = { (name: String) -> FieldValue? in record.kind.fieldIndex(named: name).map { record[$0] } }
            let outcome: Result<[EntryDraft], PostingError>
            do throws(PostingError) {
                outcome = .success(try PostingRules.entries(for: plan.event, value: value, context: context))
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

        scratch.removeAll(keepingCapacity: true)
        record.appendJSON(to: &scratch, omitting: plan.inColumns)
        insertEvent.bind(1, fileID)
        insertEvent.bind(2, record.location.line)
        insertEvent.bind(3, plan.eventName)
        insertEvent.bind(4, plan.kindName)
        if hasKey { insertEvent.bind(5, key) } else { insertEvent.bindNull(5) }
        loan.removeAll(keepingCapacity: true)
        if let index = plan.loanIndex, record.appendText(at: index, to: &loan) { insertEvent.bind(6, loan) } else { insertEvent.bindNull(6) }
        if let index = plan.amountIndex, let amount = record.amount(at: index), amount.scale <= 2,
           let minor = amount.rescaled(to: 2)?.units {
            insertEvent.bind(7, minor)
        } else {
            insertEvent.bindNull(7)
        }
        loan.removeAll(keepingCapacity: true)
        if let index = plan.currencyIndex, record.appendText(at: index, to: &loan) {
            insertEvent.bind(8, loan)
        } else {
            insertEvent.bind(8, config.currency)
        }
        insertEvent.bind(9, businessDate.description)
        insertEvent.bind(10, scratch)
        if try insertEvent.run() == 0 {
            // The unique key refused it: which file had it first?
            let keyText = String(decoding: key, as: UTF8.self)
            let earlier = try Row.fetchOne(db, sql: """
                SELECT f.name, e.line FROM event e JOIN received_file f ON f.id = e.file_id
                WHERE e.record_key = ? AND e.active = 1
                """, arguments: [keyText])
            let parts = plan.keyIndexes.map { record[$0].description }.joined(separator: " ")
            let file: String = earlier?[0] ?? "?", line: Int = earlier?[1] ?? 0
            return .duplicate("\(record.location): \(record.kind.name) \(parts) was stored before, from \(file) line \(line)")
        }
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
        if products.count > Self.balanceFlushThreshold { products.removeAll() }
        products[loan] = product
        return product
    }

    /// An account's balance including what this file has posted so far.
    private func balance(_ account: String, _ currency: String) -> Int64 {
        storedBalance.bind(1, account)
        storedBalance.bind(2, currency)
        let stored = (try? storedBalance.int64()) ?? nil
        return (stored ?? 0) + balanceDeltas[BalanceKey(account: account, currency: currency), default: 0]
    }

    // MARK: The journal

    private func insert(_ draft: EntryDraft, fileID: Int64, eventID: Int64?, line: Int?, reverses: Int64?) throws {
        insertEntry.bind(1, draft.kind.rawValue)
        insertEntry.bind(2, fileID)
        if let eventID { insertEntry.bind(3, eventID) } else { insertEntry.bindNull(3) }
        if let line { insertEntry.bind(4, line) } else { insertEntry.bindNull(4) }
        insertEntry.bind(5, businessDate.description)
        if let reverses { insertEntry.bind(6, reverses) } else { insertEntry.bindNull(6) }
        try insertEntry.run()
        let entryID = db.lastInsertedRowID
        for posting in draft.postings {
            if knownAccounts.insert(posting.account).inserted {
                if knownAccounts.count > Self.balanceFlushThreshold { knownAccounts = [posting.account] }
                let parts = posting.account.split(separator: ":").map(String.init)
                let loan = parts.first == "loan" ? parts[1] : (parts.count == 3 && parts[0] == "margin" ? parts[2] : nil)
                insertAccount.bind(1, posting.account)
                insertAccount.bind(2, parts.first ?? posting.account)
                if let loan { insertAccount.bind(3, loan) } else { insertAccount.bindNull(3) }
                try insertAccount.run()
            }
            insertPosting.bind(1, entryID)
            insertPosting.bind(2, posting.account)
            insertPosting.bind(3, posting.amountMinor)
            insertPosting.bind(4, posting.currency)
            try insertPosting.run()
            balanceDeltas[BalanceKey(account: posting.account, currency: posting.currency), default: 0] += posting.amountMinor
        }
        if balanceDeltas.count > Self.balanceFlushThreshold { try flushBalances() }
    }

    private func flushBalances() throws {
        for (key, delta) in balanceDeltas.sorted(by: { ($0.key.account, $0.key.currency) < ($1.key.account, $1.key.currency) }) where delta != 0 {
            upsertBalance.bind(1, key.account)
            upsertBalance.bind(2, key.currency)
            upsertBalance.bind(3, delta)
            try upsertBalance.run()
        }
        balanceDeltas.removeAll(keepingCapacity: true)
    }
}
