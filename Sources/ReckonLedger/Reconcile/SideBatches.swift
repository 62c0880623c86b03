import ReckonCore

/// Items of one side in key order, built on the side's thread and read in place, or moved
/// out, on the pairing thread: in memory of their own, so that an item is neither copied
/// (a retain and a release of its strings) nor moved through an iterator's layers on the
/// way. Each item carries whether it is alone with its key on its side, which the side's
/// thread knows from its neighbours: a key alone on both sides is paired without gathering
/// a group.
final class ItemBatch: @unchecked Sendable {
    private let items: UnsafeMutablePointer<ReconItem>
    private let alone: UnsafeMutablePointer<Bool>
    let capacity: Int
    private(set) var count = 0
    private var taken = 0

    init(capacity: Int) {
        items = .allocate(capacity: capacity)
        alone = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    var isFull: Bool { count == capacity }

    func append(_ item: consuming ReconItem, alone isAlone: Bool) {
        precondition(count < capacity, "a batch of reconciliation items overfilled")
        (items + count).initialize(to: item)
        alone[count] = isAlone
        count += 1
    }

    /// Whether the last item appended has this key.
    func repeatsLastKey(_ key: ReconKey) -> Bool { count > 0 && items[count - 1].matchKey == key }

    /// The last item appended is not alone with its key.
    func markLastRepeated() { alone[count - 1] = false }

    /// The item at hand, in place; nil when all are taken.
    var head: UnsafeMutablePointer<ReconItem>? { taken < count ? items + taken : nil }

    /// Whether the item at hand is the only one with its key on its side.
    var headAlone: Bool { alone[taken] }

    /// The item at hand, moved out.
    func take() -> ReconItem {
        precondition(taken < count, "no reconciliation item left in the batch")
        taken += 1
        return (items + taken - 1).move()
    }

    /// Done with the item at hand.
    func drop() {
        precondition(taken < count, "no reconciliation item left in the batch")
        (items + taken).deinitialize(count: 1)
        taken += 1
    }

    deinit {
        (items + taken).deinitialize(count: count - taken)
        items.deallocate()
        alone.deallocate()
    }
}

/// Fills batches on a side's thread, each item marked alone or not. An item goes into its
/// batch as it comes, alone until the next one repeats its key; a full batch is handed over
/// when the next item comes, which settles its last item's mark.
struct BatchBuilder {
    let capacity: Int
    private var batch: ItemBatch

    init(capacity: Int) {
        self.capacity = capacity
        batch = ItemBatch(capacity: capacity)
    }

    /// Adds an item; a batch ready to hand over, if any.
    mutating func add(_ item: consuming ReconItem) -> ItemBatch? {
        let repeats = batch.repeatsLastKey(item.matchKey)
        if repeats { batch.markLastRepeated() }
        var ready: ItemBatch?
        if batch.isFull {
            ready = batch
            batch = ItemBatch(capacity: capacity)
        }
        batch.append(item, alone: !repeats)
        return ready
    }

    /// The last batch; nil when it is empty.
    mutating func finish() -> ItemBatch? {
        defer { batch = ItemBatch(capacity: capacity) }
        return batch.count > 0 ? batch : nil
    }
}

/// A side's items read on the step's own connection (a ledger without reader connections),
/// batched as a side's thread would.
final class CursorBatches {
    let cursor: SideCursor
    private var builder = BatchBuilder(capacity: SideStream.batchItems)
    private var finished = false

    init(_ cursor: SideCursor) { self.cursor = cursor }

    func nextBatch() -> ItemBatch? {
        guard !finished else { return nil }
        while let item = cursor.next() {
            if let full = builder.add(item) { return full }
        }
        finished = true
        return builder.finish()
    }
}

/// The item at the head of one side, read in place from its batches.
struct SideHead {
    private let nextBatch: () -> ItemBatch?
    private var batch: ItemBatch?
    private var finished = false

    init(_ nextBatch: @escaping () -> ItemBatch?) { self.nextBatch = nextBatch }

    /// The item at hand (waiting for the side's next batch when needed); nil at the end.
    mutating func head() -> UnsafeMutablePointer<ReconItem>? {
        while true {
            if let item = batch?.head { return item }
            guard !finished else { return nil }
            batch = nil
            batch = nextBatch()
            if batch == nil { finished = true }
        }
    }

    /// Whether the item at hand (after ``head()``) is the only one with its key on its side.
    var alone: Bool { batch!.headAlone }

    mutating func take() -> ReconItem { batch!.take() }

    mutating func drop() { batch!.drop() }
}
