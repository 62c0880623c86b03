import Testing
@testable import ReckonCore
@testable import ReckonLedger

/// A side's items cross to the pairing thread in batches, each marked alone with its key or
/// not: the marks follow the keys across batch boundaries, and no item is lost or reordered.
@Suite struct SideBatchesTests {
    static func item(_ ref: String, _ key: String) -> ReconItem {
        ReconItem(ref: ref, key: Array(key.utf8), day: CivilDate(year: 2024, month: 12, day: 16)!, values: [.amount(1)], amountMinor: 1)
    }

    /// Every item out of the builder's batches with its mark, in order.
    static func marked(_ keys: [String], capacity: Int) -> [String] {
        var builder = BatchBuilder(capacity: capacity)
        var batches: [ItemBatch] = []
        for (index, key) in keys.enumerated() {
            if let full = builder.add(item("e\(index)", key)) { batches.append(full) }
        }
        if let last = builder.finish() { batches.append(last) }
        var out: [String] = []
        for batch in batches {
            #expect(batch.count <= capacity)
            while batch.head != nil {
                let alone = batch.headAlone
                let taken = batch.take()
                out.append("\(taken.ref):\(String(decoding: taken.key, as: UTF8.self))\(alone ? "" : "+")")
            }
        }
        return out
    }

    @Test func anItemIsAloneWhenNeitherNeighbourOnItsSideHasItsKey() {
        // Batches of two: the repeated keys straddle the boundaries.
        #expect(Self.marked(["a", "a", "b", "c", "c", "c", "d", "e", "e"], capacity: 2) == [
            "e0:a+", "e1:a+", "e2:b", "e3:c+", "e4:c+", "e5:c+", "e6:d", "e7:e+", "e8:e+",
        ])
        #expect(Self.marked(["a"], capacity: 2) == ["e0:a"])
        #expect(Self.marked([], capacity: 2) == [])
        #expect(Self.marked(["a", "b", "b"], capacity: 1) == ["e0:a", "e1:b+", "e2:b+"])
    }

    @Test func anyMarksAgreeWithTheKeysAroundEachItem() {
        // Property: against a brute-force reading of the keys, for many random sequences.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 0..<40, using: &generator)
            var keys: [String] = []
            for _ in 0..<count { keys.append(String(UnicodeScalar(UInt8.random(in: 97...100, using: &generator)))) }
            keys.sort()
            let expected = keys.indices.map { index in
                let alone = (index == 0 || keys[index - 1] != keys[index]) && (index == keys.count - 1 || keys[index + 1] != keys[index])
                return "e\(index):\(keys[index])\(alone ? "" : "+")"
            }
            #expect(Self.marked(keys, capacity: Int.random(in: 1...5, using: &generator)) == expected, "\(keys)")
        }
    }

    @Test func aBatchHandsOutItsItemsInOrderTakenOrDropped() {
        let batch = ItemBatch(capacity: 3)
        batch.append(Self.item("e1", "a"), alone: false)
        batch.append(Self.item("e2", "a"), alone: false)
        batch.append(Self.item("e3", "c"), alone: true)
        #expect(batch.isFull)
        #expect(batch.head?.pointee.ref == "e1" && !batch.headAlone)
        #expect(batch.take().ref == "e1")
        batch.drop()
        #expect(batch.head?.pointee.ref == "e3" && batch.headAlone)
        #expect(batch.take().key == Array("c".utf8))
        #expect(batch.head == nil)
    }
}
