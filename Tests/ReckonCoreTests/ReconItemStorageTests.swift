import Testing
@testable import ReckonCore

/// Keys and compared values kept inline: the same bytes, order and equality as the arrays
/// they replace, on both sides of the inline capacity.
@Suite struct ReconItemStorageTests {
    @Test func keysKeepTheirBytesAndSortAsTheirBytesDoInlineOrNot() {
        var generator = SystemRandomNumberGenerator()
        // Lengths around the inline capacity, bytes from a small alphabet so that prefixes
        // and equal keys are common.
        var keys: [[UInt8]] = [[], [0], [0, 0], Array(repeating: 0x31, count: 32), Array(repeating: 0x31, count: 33)]
        for _ in 0..<300 {
            let count = Int.random(in: 0...40, using: &generator)
            keys.append((0..<count).map { _ in [0x00, 0x1F, 0x30, 0x31, 0xE4][Int.random(in: 0..<5, using: &generator)] })
        }
        for a in keys {
            let key = ReconKey(a)
            #expect(key.bytes == a && key.count == a.count)
            for b in keys.prefix(60) {
                let other = ReconKey(b)
                #expect((key == other) == (a == b), "\(a) \(b)")
                #expect(key.precedes(other) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
                if a == b { #expect(key.hashValue == other.hashValue) }
            }
        }
    }

    @Test func comparedValuesKeepTheirPlacesInlineOrNot() {
        let all: [ReconValue?] = [.amount(12_000), nil, .text("success"), .date(CivilDate(year: 2024, month: 12, day: 16)!), .text("长文本的状态值超过十五个字节"), .amount(-1)]
        for count in 0...all.count {
            let values = Array(all.prefix(count))
            var stored = ReconValues(values)
            #expect(Array(stored) == values && stored.count == count)
            #expect(stored == ReconValues(values) && stored.hashValue == ReconValues(values).hashValue)
            if count > 0 {
                stored[count - 1] = .amount(7)
                #expect(stored[count - 1] == .amount(7) && stored != ReconValues(values))
            }
        }
        #expect(ReconValues(absent: 5).allSatisfy { $0 == nil })
        let item = ReconItem(ref: "e1", key: Array("K".utf8), day: CivilDate(year: 2024, month: 12, day: 16)!, values: [.amount(5), nil], amountMinor: 5)
        #expect(item.values == [.amount(5), nil] && item.key == Array("K".utf8))
    }
}
