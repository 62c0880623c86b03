import Foundation
import ReckonCore
import ReckonFiles

/// Where a record kind's fields go in the event row, found once per file.
final class KindPlan: Sendable {
    let event: CanonicalEvent
    let eventName: [UInt8]
    /// The key's leading part, `partner|event|`: keys are unique per partner and event.
    let keyPrefix: [UInt8]
    let keyIndexes: [Int]
    let loan: Int?
    let period: Int?
    /// The event's own day (paid on, due on, booked on…).
    let day: Int?
    let principal: Int?
    let interest: Int?
    let penalty: Int?
    let fee: Int?
    /// The event's headline amount: a repayment's total, a line's amount, a balance.
    let amount: Int?
    let currency: Int?
    let reference: Int?
    /// Fields held in columns, by field index: left out of `other_fields` (a moment's time
    /// has no column, so a date-and-time field stays there too).
    let inColumns: [Bool]

    init(kind: RecordKind, event: CanonicalEvent, partner: String) {
        func first(_ names: String...) -> Int? { names.lazy.compactMap { kind.fieldIndex(named: $0) }.first }
        self.event = event
        eventName = Array(event.rawValue.utf8)
        keyPrefix = Array("\(partner)|\(event.rawValue)|".utf8)
        keyIndexes = kind.key.compactMap { kind.fieldIndex(named: $0) }
        loan = first("loan_id")
        period = first("period")
        let dayNames = event.requiredFields.first { $0.kind == .day }?.name.split(separator: "|").map(String.init) ?? []
        day = dayNames.lazy.compactMap { kind.fieldIndex(named: $0) }.first
        principal = first("principal")
        interest = first("interest")
        penalty = first("penalty")
        fee = first("fee")
        amount = first("total", "amount", "closing_balance", "outstanding_principal", "principal")
        currency = first("currency")
        reference = first("reference", "channel_reference")
        var inColumns = [Bool](repeating: false, count: kind.fields.count)
        for index in [loan, period, principal, interest, penalty, fee, amount, currency, reference].compactMap({ $0 }) {
            inColumns[index] = true
        }
        if let day, case .date = kind.fields[day].type { inColumns[day] = true }
        self.inColumns = inColumns
    }

    /// Encodes a record as an event row at the end of `batch`. With `keepValues`, the row
    /// also carries the record's values, for the posting rules, and with `rules` (the
    /// context of ``RecordOnlyRules``) their entries.
    func encode(_ record: RecordView, kind: RecordKind, into batch: inout EventBatch, keepValues: Bool, rules: PostingContext?) {
        var row = EventRow(kindIndex: record.kindIndex, location: record.location)
        if !keyIndexes.isEmpty {
            // A key with an empty part identifies nothing: such a record is stored without one.
            row.key = batch.append { bytes in
                bytes += keyPrefix
                for (position, index) in keyIndexes.enumerated() {
                    if position > 0 { bytes.append(UInt8(ascii: "|")) }
                    if !record.appendText(at: index, to: &bytes) { return false }
                }
                return true
            }
        }
        if let loan { row.loan = batch.append { record.appendText(at: loan, to: &$0) } }
        if let period, let value = record.amount(at: period), value.scale == 0 { row.period = value.units }
        if let day, let date = record.day(at: day) {
            row.day = batch.append { bytes in
                date.appendISO8601(to: &bytes)
                return true
            }
        }
        // Amounts too fine for minor units keep their exact value in other_fields.
        var keptWhole: [Int] = []
        func minor(_ index: Int?) -> Int64? {
            guard let index, let value = record.amount(at: index) else { return nil }
            if value.scale <= 2, let minor = value.rescaled(to: 2) { return minor.units }
            keptWhole.append(index)
            return nil
        }
        row.principal = minor(principal)
        row.interest = minor(interest)
        row.penalty = minor(penalty)
        row.fee = minor(fee)
        row.amount = minor(amount)
        if let currency { row.currency = batch.append { record.appendText(at: currency, to: &$0) } }
        if let reference { row.reference = batch.append { record.appendText(at: reference, to: &$0) } }
        row.otherFields = batch.append { bytes in
            let start = bytes.count
            if keptWhole.isEmpty {
                record.appendJSON(to: &bytes, omitting: inColumns)
            } else {
                var omitting = inColumns
                for index in keptWhole { omitting[index] = false }
                record.appendJSON(to: &bytes, omitting: omitting)
            }
            return bytes.count - start > 2 // not `{}`
        }
        if keepValues {
            let values = record.materialize().values
            row.values = values
            if let rules { row.entries = PostingRules.entries(for: event, kind: kind, values: values, context: rules) }
        }
        batch.rows.append(row)
    }
}

/// The posting rules' context when it depends on nothing the ledger holds: no configured
/// product freezes margin, so no rule asks for a loan's product or its frozen margin. The
/// reading thread then works out each record's entries, beside the writing thread's
/// inserts, with the same rules and configuration as the writer would.
struct RecordOnlyRules: Sendable {
    let config: ReckonConfig
    let partnerChannelCode: String?

    /// Nil when a product freezes margin: the rules then read the ledger, on the writer.
    init?(config: ReckonConfig, partnerChannelCode: String?) {
        guard !config.products.contains(where: { $0.marginRate != nil }) else { return nil }
        self.config = config
        self.partnerChannelCode = partnerChannelCode
    }

    var context: PostingContext {
        PostingContext(currency: config.currency, partnerChannelCode: partnerChannelCode,
                       marginRate: { [config] product in config.product(product)?.marginRate },
                       productOfLoan: { _ in nil }, frozenMargin: { _ in 0 }, products: config.products)
    }
}

extension PostingRules {
    /// A record's entries from its values, by its kind's field names.
    static func entries(for event: CanonicalEvent, kind: RecordKind, values: [FieldValue],
                        context: PostingContext) -> Result<[EntryDraft], PostingError> {
        let value = { (name: String) -> FieldValue? in kind.fieldIndex(named: name).map { values[$0] } }
        do throws(PostingError) {
            return .success(try entries(for: event, value: value, context: context))
        } catch {
            return .failure(error)
        }
    }
}

/// A run of bytes in an ``EventBatch``'s buffer.
struct ByteRange: Sendable {
    let start: Int32
    let count: Int32
}

/// One event row as the reading thread encodes it from a record: plain values and byte
/// ranges, which the writing thread binds without looking at the record again.
struct EventRow: Sendable {
    var kindIndex: Int
    var location: RecordLocation
    var key: ByteRange?
    var loan: ByteRange?
    var period: Int64?
    var day: ByteRange?
    var principal: Int64?
    var interest: Int64?
    var penalty: Int64?
    var fee: Int64?
    var amount: Int64?
    var currency: ByteRange?
    var reference: ByteRange?
    var otherFields: ByteRange?
    /// The record's values, for file types whose records post journal entries.
    var values: [FieldValue]?
    /// The posting rules' entries for the record (or why they refuse it), worked out by the
    /// reading thread when they depend on the record alone (``RecordOnlyRules``); nil: the
    /// writing thread works them out.
    var entries: Result<[EntryDraft], PostingError>?

    init(kindIndex: Int, location: RecordLocation) {
        self.kindIndex = kindIndex
        self.location = location
    }
}

/// Event rows handed from the reading thread to the writing one, their text in one buffer.
struct EventBatch: Sendable {
    /// Rows per batch: large enough that hand-overs cost nothing, small enough that the
    /// batches in flight stay a few megabytes.
    static let rowLimit = 2_048

    var bytes: [UInt8] = []
    var rows: [EventRow] = []

    init() {
        bytes.reserveCapacity(Self.rowLimit * 160)
        rows.reserveCapacity(Self.rowLimit)
    }

    var isFull: Bool { rows.count >= Self.rowLimit }

    /// Appends what `fill` writes and returns its range; nil (and nothing kept) when `fill`
    /// returns false.
    mutating func append(_ fill: (inout [UInt8]) -> Bool) -> ByteRange? {
        let start = bytes.count
        guard fill(&bytes) else {
            bytes.removeSubrange(start...)
            return nil
        }
        return ByteRange(start: Int32(start), count: Int32(bytes.count - start))
    }
}

/// A bounded hand-over of batches from the reading thread to the writing one. The reader
/// waits while `capacity` batches are queued, so memory stays flat however fast it reads;
/// the writer can stop the reader (a refusal in stop-at-first-error mode, a failed write).
final class BatchChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [EventBatch] = []
    private var readerDone = false
    private var cancelled = false
    private var check: FileCheck?
    let capacity: Int

    init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// Queues a batch; false when the writer has stopped reading.
    func send(_ batch: EventBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        queue.append(batch)
        condition.broadcast()
        return true
    }

    /// The next batch; nil once the reader is done and everything is taken, or after cancel.
    func receive() -> EventBatch? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !readerDone && !cancelled { condition.wait() }
        if cancelled || queue.isEmpty { return nil }
        let batch = queue.removeFirst()
        condition.broadcast()
        return batch
    }

    /// Tells the reader to stop and drops what is queued.
    func cancel() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// The reader's last word: its check of the file, counts and problems so far.
    func finish(_ check: FileCheck) {
        condition.lock()
        self.check = check
        readerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the reader to finish and takes its check.
    func waitForReader() -> FileCheck {
        condition.lock()
        defer { condition.unlock() }
        while !readerDone { condition.wait() }
        return check!
    }
}

/// Reads a partner file on a thread of its own, checking every record and encoding the
/// events into batches for the writer: reading and validating overlap with writing.
enum EventReading {
    static func start(path: String, spec: MappingSpec, options: CheckOptions, plans: [KindPlan?],
                      keepValues: Bool, rules: RecordOnlyRules?, channel: BatchChannel) {
        let thread = Thread {
            channel.finish(read(path: path, spec: spec, options: options, plans: plans, keepValues: keepValues, rules: rules,
                                channel: channel))
        }
        thread.name = "reckon-read"
        thread.stackSize = 8 << 20
        thread.start()
    }

    private static func read(path: String, spec: MappingSpec, options: CheckOptions, plans: [KindPlan?],
                             keepValues: Bool, rules: RecordOnlyRules?, channel: BatchChannel) -> FileCheck {
        // Made once, here: the context and its closures stay on this thread.
        let context = rules?.context
        var check = FileCheck(spec: spec, file: path, options: options)
        let source: FileByteSource
        do {
            source = try FileByteSource(path: path)
        } catch {
            check.fail(FileFailure(location: nil, reason: error.reason))
            return check
        }
        var reader = PartnerFile.reader(spec: spec, source: source)
        var batch = EventBatch()
        do {
            while let event = try reader.next() {
                // The record view stays valid until the next read: encode it, then count it.
                if case .record(let record) = event, let plan = plans[record.kindIndex] {
                    plan.encode(record, kind: spec.kinds[record.kindIndex], into: &batch, keepValues: keepValues, rules: context)
                }
                if !check.take(event) { break }
                if batch.isFull {
                    guard channel.send(batch) else { return check }
                    batch = EventBatch()
                }
            }
        } catch {
            check.fail(error)
        }
        if !batch.rows.isEmpty { _ = channel.send(batch) }
        return check
    }
}
