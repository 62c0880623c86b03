import Foundation
import GRDB
import ReckonCore

/// One file's trip into the ledger, inside the write transaction. A thread of its own reads
/// and checks the file and encodes its events (``EventReading``); this side claims record
/// keys, writes the events and posts their entries, through statements prepared once and
/// values bound straight from bytes.
final class FilePosting {
    struct Outcome {
        var fileID: Int64
        var report: FileReport
        var events = 0
        var entries = 0
        /// Report lines for the first duplicates (as many as the report's problem limit).
        var duplicates: [String] = []
        var duplicateCount = 0
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
    /// The business date as entries store it, made once.
    private let businessDay: String
    /// Whether any product freezes margin: when none does, a repayment need not look up its
    /// loan's product (the margin rate would be nil whatever the product).
    private let anyProductFreezesMargin: Bool
    /// The posting rules' context for the reading thread when it needs nothing from the
    /// ledger (no product freezes margin); nil: the rules run here.
    private let recordOnlyRules: RecordOnlyRules?
    private var balanceDeltas: [BalanceKey: Int64] = [:]
    private var knownAccounts = Set<String>()
    private var products: [String: String?] = [:]
    /// By record kind index; nil for kinds that are not events.
    private let plans: [KindPlan?]

    // Prepared once per file.
    private let claimKey: Prepared
    private let insertEvent: Prepared
    private let insertEntry: Prepared
    private let insertPosting: Prepared
    private let insertAccount: Prepared
    private let upsertBalance: Prepared
    private let storedBalance: Prepared
    private let productOfLoan: Prepared
    /// Event ids are given out here, in file order, so a file's events are one id range and
    /// a record's key can be claimed before its event is written.
    private var nextEventID: Int64 = 0

    /// Bounds the balance changes held in memory before they are written (still inside the
    /// file's transaction), so memory stays flat however many loans a file touches.
    static let balanceFlushThreshold = 20_000

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
        businessDay = businessDate.description
        recordOnlyRules = RecordOnlyRules(config: config, partnerChannelCode: request.partner.channelCode)
        anyProductFreezesMargin = recordOnlyRules == nil
        plans = spec.kinds.map { kind in kind.event.map { KindPlan(kind: kind, event: $0, partner: request.partner.id) } }
        // A key held by a retired (superseded) event passes to the new one; a key held by an
        // active event refuses the record as a duplicate (no row changed).
        claimKey = try Prepared(db, """
            INSERT INTO record_key (key, event_id) VALUES (?, ?)
            ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id
            WHERE (SELECT active FROM event WHERE id = record_key.event_id) IS NOT 1
            """)
        insertEvent = try Prepared(db, """
            INSERT INTO event (id, file_id, line, kind, loan_id, period, event_date, principal_minor, interest_minor,
                penalty_minor, fee_minor, amount_minor, currency, reference, other_fields)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertEntry = try Prepared(db, """
            INSERT INTO journal_entry (kind, file_id, event_id, line, business_date, reverses) VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertPosting = try Prepared(db, "INSERT INTO posting (entry_id, leg, account, amount_minor, currency) VALUES (?, ?, ?, ?, ?)")
        insertAccount = try Prepared(db, "INSERT OR IGNORE INTO account (code, kind, loan_id) VALUES (?, ?, ?)")
        upsertBalance = try Prepared(db, """
            INSERT INTO balance (account, currency, amount_minor) VALUES (?, ?, ?)
            ON CONFLICT(account, currency) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor
            """)
        storedBalance = try Prepared(db, "SELECT amount_minor FROM balance WHERE account = ? AND currency = ?")
        productOfLoan = try Prepared(db, """
            SELECT json_extract(other_fields, '$.product') FROM event WHERE kind = 'loan_disbursed' AND loan_id = ? AND active = 1 LIMIT 1
            """)
    }

    func run(started: UInt64, progress: (Int) -> Void) throws -> Outcome {
        try db.execute(sql: """
            INSERT INTO received_file (partner, file_type, business_date, name, size, sha256, status, received_at, archive_path,
                run_id, reinstates)
            VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)
            """, arguments: [request.partner.id, request.fileType.id, businessDate.description, request.receivedName, digest.size,
                             digest.hex, timestamp(), archivePath, request.runID, request.reinstatement?.fileID])
        let fileID = db.lastInsertedRowID
        let superseded = try supersedeEarlierFile(newFileID: fileID)
        nextEventID = (try Int64.fetchOne(db, sql: "SELECT max(id) FROM event") ?? 0) + 1
        let firstEventID = nextEventID

        var events = 0, entries = 0
        var duplicates: [String] = []
        var duplicateCount = 0
        // Refusals by posting: the first ones described, all of them counted.
        var refusals: [(kindIndex: Int, location: RecordLocation, problem: FieldProblem)] = []
        var undescribedRefusals = [Int](repeating: 0, count: spec.kinds.count)
        let channel = BatchChannel()
        EventReading.start(path: request.path, spec: spec, options: options, plans: plans,
                           keepValues: request.fileType.posts,
                           rules: recordOnlyRules, channel: channel)
        do {
            // However this loop ends, the reading thread is stopped and waited for.
            defer {
                channel.cancel()
                _ = channel.waitForReader()
            }
            batches: while let batch = channel.receive() {
                try batch.bytes.withUnsafeBytes { bytes in
                    for row in batch.rows {
                        switch try store(row, bytes: bytes, fileID: fileID) {
                        case .stored(let entryCount):
                            events += 1
                            entries += entryCount
                        case .duplicate(let problem):
                            // A record that cannot be posted: a strict file is refused for
                            // it, a lenient one posts the rest and reports the shortfall.
                            duplicateCount += 1
                            if refusals.count < options.maxProblems {
                                let described = try problem()
                                refusals.append((row.kindIndex, row.location, described))
                                duplicates.append("\(row.location): \(spec.kinds[row.kindIndex].name) \(described)")
                            } else {
                                undescribedRefusals[row.kindIndex] += 1
                            }
                            if options.stopAtFirstError { return }
                        case .refused(let problem):
                            if refusals.count < options.maxProblems {
                                refusals.append((row.kindIndex, row.location, problem))
                            } else {
                                undescribedRefusals[row.kindIndex] += 1
                            }
                            if options.stopAtFirstError { return }
                        }
                    }
                }
                if options.stopAtFirstError && !refusals.isEmpty { break batches }
                progress(events + duplicateCount)
                if request.shouldAbandon?() == true { throw Abandoned() }
            }
        }
        var check = channel.waitForReader()
        for refusal in refusals {
            check.reject(kindIndex: refusal.kindIndex, location: refusal.location, refusal.problem)
        }
        for (kindIndex, count) in undescribedRefusals.enumerated() where count > 0 {
            check.rejectUndescribed(kindIndex: kindIndex, count: count)
        }
        if options.stopAtFirstError && !refusals.isEmpty { check.stopEarly() }
        let report = check.finish()
        let rejected = report.failure != nil || !report.controlsHold || !report.structure.isEmpty
            || (!request.fileType.lenient && report.recordsRejected > 0)
        if rejected {
            return Outcome(fileID: fileID, report: report, duplicates: duplicates, duplicateCount: duplicateCount, rejected: true)
        }
        try flushBalances()
        try db.execute(sql: """
            UPDATE received_file SET status = 'posted', records_read = ?, records_rejected = ?, duplicates = ?, events = ?,
                entries = ?, finished_at = ?, elapsed_ms = ?, supersedes = ?, first_event_id = ?, last_event_id = ? WHERE id = ?
            """, arguments: [report.recordsRead, report.recordsRejected, duplicateCount, events, entries, timestamp(),
                             Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000), superseded,
                             events > 0 ? firstEventID : nil, events > 0 ? nextEventID - 1 : nil, fileID])
        return Outcome(fileID: fileID, report: report, events: events, entries: entries, duplicates: duplicates,
                       duplicateCount: duplicateCount, superseded: superseded)
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
        // Prepared once for all of them: a file's ten thousand entries each prepared anew
        // were half the time of a corrected re-send.
        let postingsOfEntry = try db.cachedStatement(sql: "SELECT account, amount_minor, currency FROM posting WHERE entry_id = ? ORDER BY leg")
        for entry in entries {
            let entryID: Int64 = entry[0]
            let postings = try Row.fetchAll(postingsOfEntry, arguments: [entryID])
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
        // Its keys pass to this file's events as they are claimed (see claimKey).
        try db.execute(sql: """
            UPDATE event SET active = 0 WHERE id BETWEEN
                (SELECT first_event_id FROM received_file WHERE id = ?1) AND (SELECT last_event_id FROM received_file WHERE id = ?1)
            """, arguments: [earlier])
        try db.execute(sql: "UPDATE received_file SET status = 'superseded' WHERE id = ?", arguments: [earlier])
        return earlier
    }

    // MARK: Records

    enum Stored {
        case stored(entries: Int)
        /// The problem is described only when asked for: past the report's limit, only counted.
        case duplicate(problem: () throws -> FieldProblem)
        case refused(FieldProblem)
    }

    private func store(_ row: EventRow, bytes: UnsafeRawBufferPointer, fileID: Int64) throws -> Stored {
        guard let plan = plans[row.kindIndex] else { preconditionFailure("an event row of a kind that is not an event") }
        func slice(_ range: ByteRange) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[Int(range.start)..<Int(range.start + range.count)])
        }

        var drafts: [EntryDraft] = []
        var product: String?
        if request.fileType.posts, let values = row.values {
            let kind = spec.kinds[row.kindIndex]
            let value = { (name: String) -> FieldValue? in kind.fieldIndex(named: name).map { values[$0] } }
            // Worked out by the reading thread when they depend on the record alone.
            let outcome = row.entries ?? PostingRules.entries(for: plan.event, kind: kind, values: values, context: postingContext)
            switch outcome {
            case .success(let made):
                drafts = made
                if plan.event == .loanDisbursed { product = value("product")?.description }
            case .failure(let error):
                let raw = error.field.flatMap(value)?.description
                return .refused(FieldProblem(field: error.field, rawValue: raw, reason: error.reason))
            }
        }

        let eventID = nextEventID
        if let key = row.key {
            claimKey.bind(1, slice(key))
            claimKey.bind(2, eventID)
            if try claimKey.run() == 0 {
                let keyText = String(decoding: slice(key), as: UTF8.self)
                return .duplicate { [unowned self] in try duplicateProblem(row, key: keyText, plan: plan, fileID: fileID) }
            }
        }
        nextEventID += 1

        func bind(_ column: Int32, _ range: ByteRange?) {
            if let range { insertEvent.bind(column, slice(range)) } else { insertEvent.bindNull(column) }
        }
        func bind(_ column: Int32, _ value: Int64?) {
            if let value { insertEvent.bind(column, value) } else { insertEvent.bindNull(column) }
        }
        insertEvent.bind(1, eventID)
        insertEvent.bind(2, fileID)
        insertEvent.bind(3, row.location.line)
        insertEvent.bind(4, plan.eventName)
        bind(5, row.loan)
        bind(6, row.period)
        bind(7, row.day)
        bind(8, row.principal)
        bind(9, row.interest)
        bind(10, row.penalty)
        bind(11, row.fee)
        bind(12, row.amount)
        if let currency = row.currency { insertEvent.bind(13, slice(currency)) } else { insertEvent.bind(13, config.currency) }
        bind(14, row.reference)
        bind(15, row.otherFields)
        try insertEvent.run()

        for draft in drafts {
            try insert(draft, fileID: fileID, eventID: eventID, line: row.location.line, reverses: nil)
        }
        if let freeze = drafts.first(where: { $0.kind == .marginFreeze }),
           let frozen = freeze.postings.first(where: { $0.amountMinor > 0 }), frozen.account.hasPrefix("margin:frozen:") {
            let loan = String(frozen.account.dropFirst("margin:frozen:".count))
            if let product, let rate = config.product(product)?.marginRate {
                try releaseMarginRepaidBefore(loan: loan, disbursement: eventID, rate: rate, currency: frozen.currency)
            }
        }
        return .stored(entries: drafts.count)
    }

    /// A loan's first disbursement posted after repayments of it (an earlier day run after
    /// later ones): each of those repayments releases the margin it would have released had
    /// the loan been known, in the order the days ran (business day, then file order), and
    /// the release is posted as the repayment's (its file, line and day), as it is when the
    /// days run in order. A later disbursement of the loan (a corrected re-send) finds them
    /// released already.
    private func releaseMarginRepaidBefore(loan: String, disbursement: Int64, rate: DecimalAmount, currency: String) throws {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT e.kind, e.id, e.file_id, e.line, e.principal_minor, json_extract(e.other_fields, '$.repay_type'),
                   f.business_date, f.partner, f.file_type
            FROM event e JOIN received_file f ON f.id = e.file_id
            WHERE e.loan_id = ? AND e.id < ? AND (e.kind = 'loan_disbursed' OR (e.kind = 'repayment' AND e.active = 1))
            ORDER BY f.business_date, e.id
            """), arguments: [loan, disbursement])
        guard !rows.contains(where: { $0[0] as String == CanonicalEvent.loanDisbursed.rawValue }) else { return }
        for row in rows where config.partner(row[7])?.fileType(row[8])?.posts == true {
            guard let release = try PostingRules.marginRelease(
                loan: loan, principalMinor: row[4] ?? 0, repayType: row[5] ?? "normal",
                frozenMinor: balance(Account.marginFrozen(loan), currency), rate: rate, currency: currency) else { continue }
            try insert(release, fileID: row[2], eventID: row[1], line: row[3], reverses: nil, businessDate: row[6])
            try db.execute(sql: "UPDATE received_file SET entries = entries + 1 WHERE id = ?", arguments: [row[2] as Int64])
        }
    }

    /// Which line had the key first: earlier in this file, or in a file stored before.
    private func duplicateProblem(_ row: EventRow, key keyText: String, plan: KindPlan, fileID: Int64) throws -> FieldProblem {
        let earlier = try Row.fetchOne(db, sql: """
            SELECT f.id, f.name, e.line FROM record_key k JOIN event e ON e.id = k.event_id JOIN received_file f ON f.id = e.file_id
            WHERE k.key = ?
            """, arguments: [keyText])
        // The key's parts, as the record had them.
        let parts = String(decoding: keyText.utf8.dropFirst(plan.keyPrefix.count), as: UTF8.self).replacingOccurrences(of: "|", with: " ")
        let file: String = earlier?[1] ?? "?", line: Int = earlier?[2] ?? 0
        if let holder = earlier?[0] as Int64?, holder == fileID {
            return FieldProblem(field: nil, rawValue: nil, reason: "repeats line \(line), key \(parts)")
        }
        return FieldProblem(field: nil, rawValue: nil, reason: "key \(parts) was stored before, from \(file) line \(line)")
    }

    /// Made once per file: the rules consult it for every record.
    private lazy var postingContext = PostingContext(
        currency: config.currency,
        partnerChannelCode: request.partner.channelCode,
        marginRate: { [config] product in config.product(product)?.marginRate },
        productOfLoan: { [unowned self] loan in self.product(of: loan) },
        frozenMargin: { [unowned self] loan in self.balance(Account.marginFrozen(loan), self.config.currency) },
        products: config.products)

    /// The product a loan was disbursed under, from its disbursement event.
    private func product(of loan: String) -> String? {
        guard anyProductFreezesMargin else { return nil }
        if let cached = products[loan] { return cached }
        productOfLoan.bind(1, loan)
        let product = (try? productOfLoan.text()) ?? nil
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

    /// Posts an entry: of this file (or, for `businessDate`, of an earlier file whose line
    /// it belongs to).
    private func insert(_ draft: EntryDraft, fileID: Int64, eventID: Int64?, line: Int?, reverses: Int64?,
                        businessDate: String? = nil) throws {
        insertEntry.bind(1, draft.kind.rawValue)
        insertEntry.bind(2, fileID)
        if let eventID { insertEntry.bind(3, eventID) } else { insertEntry.bindNull(3) }
        if let line { insertEntry.bind(4, line) } else { insertEntry.bindNull(4) }
        insertEntry.bind(5, businessDate ?? businessDay)
        if let reverses { insertEntry.bind(6, reverses) } else { insertEntry.bindNull(6) }
        try insertEntry.run()
        let entryID = db.lastInsertedRowID
        for (leg, posting) in zip(1..., draft.postings) {
            if knownAccounts.insert(posting.account).inserted {
                if knownAccounts.count > Self.balanceFlushThreshold { knownAccounts = [posting.account] }
                let (kind, loan) = Account.kindAndLoan(of: posting.account)
                insertAccount.bind(1, posting.account)
                insertAccount.bind(2, kind)
                if let loan { insertAccount.bind(3, loan) } else { insertAccount.bindNull(3) }
                try insertAccount.run()
            }
            insertPosting.bind(1, entryID)
            insertPosting.bind(2, leg)
            insertPosting.bind(3, posting.account)
            insertPosting.bind(4, posting.amountMinor)
            insertPosting.bind(5, posting.currency)
            try insertPosting.run()
            balanceDeltas[BalanceKey(account: posting.account, currency: posting.currency), default: 0] += posting.amountMinor
        }
        if balanceDeltas.count > Self.balanceFlushThreshold { try flushBalances() }
    }

    private func flushBalances() throws {
        // An account this file posted to and back (a loan's margin frozen and released in
        // one file) still gets its balance row: every account with postings has one.
        // Written in key order, so each page of the balance index is visited once; ordered
        // by their bytes (only the order of the writes depends on it, not what is written).
        var ordered = balanceDeltas.map { (order: Array("\($0.key.account)\u{0}\($0.key.currency)".utf8), key: $0.key, delta: $0.value) }
        ordered.sort { Self.bytesPrecede($0.order, $1.order) }
        for (_, key, delta) in ordered {
            upsertBalance.bind(1, key.account)
            upsertBalance.bind(2, key.currency)
            upsertBalance.bind(3, delta)
            try upsertBalance.run()
        }
        balanceDeltas.removeAll(keepingCapacity: true)
    }

    private static func bytesPrecede(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        let order = a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in memcmp(a.baseAddress!, b.baseAddress!, common) } }
        return order != 0 ? order < 0 : a.count < b.count
    }
}
