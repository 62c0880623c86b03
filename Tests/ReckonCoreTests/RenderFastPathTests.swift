import PropertyBased
@testable import ReckonCore
import Testing

/// The renderer's in-place fast path (numbers, dates, ASCII text, code maps, byte-level
/// patterns written straight into their slots) against its general path, the oracle: the
/// same bytes for every record, the same refusal for every value either would refuse.
@Suite("Render fast path against the general path")
struct RenderFastPathTests {
    /// Text values that exercise the code maps and patterns: canonical values, codes,
    /// near misses, padding, line breaks, non-ASCII, empty.
    static let awkwardTexts = [
        "normal", "early_settlement", "overdue", "compensation", "settled", "failed", "01", "S", "F",
        "Normal", "normal ", " normal", "CNY", "cny", "USD", "CN", "CNYY", "C1Y", " CNY", "提前结清", "a\nb",
        "", "pending", "L2024100000000001", "x", "00", "SETTLE", "BKCN0001", "C", "D", "CRDT", "DBIT",
    ]

    static func outcome(_ renderer: RecordRenderer, _ kind: RecordKind, _ values: [FieldValue]) -> String {
        do { return "\(try renderer.render(kind, values))" }
        catch { return "error: \(error)" }
    }

    @Test(arguments: writableShippedSpecs)
    func theFastPathWritesWhatTheGeneralPathWrites(_ name: String) async throws {
        let spec = try shippedSpec(name)
        guard case .fixedWidth = spec.format else { return }
        let fast = try RecordRenderer(spec: spec)
        var general = try RecordRenderer(spec: spec)
        general.inPlace = false
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var generator = RecordGenerator(spec: spec, rng: SplitMix64(seed: seed))
            for kind in generator.writableKinds {
                var values = generator.record(kind)
                // Some fields get an awkward text or nothing in place of a valid value.
                for index in values.indices where Int.random(in: 0..<4, using: &generator.rng) == 0 {
                    values[index] = Bool.random(using: &generator.rng)
                        ? .text(Self.awkwardTexts.randomElement(using: &generator.rng)!) : .empty
                }
                #expect(Self.outcome(fast, kind, values) == Self.outcome(general, kind, values), "seed \(seed), kind \(kind.name)")
            }
        }
    }

    /// Each shipped settlement value a code map or pattern governs goes the fast way and
    /// writes its code; a value outside the map is refused as before.
    @Test func codeMapsAndPatternsWriteTheirCodes() throws {
        let spec = try shippedSpec("bank-settlement.yaml")
        let kind = try #require(spec.kind(named: "repayment"))
        var values = [FieldValue](repeating: .empty, count: kind.fields.count)
        let named: [String: FieldValue] = [
            "sequence": .integer(7), "loan_id": .text("L001"), "period": .integer(3), "repay_type": .text("early_settlement"),
            "paid_on": .date(CivilDate(year: 2024, month: 12, day: 16)!), "principal": amount(12_000), "interest": amount(345),
            "penalty": amount(0), "fee": amount(0), "total": amount(12_345), "currency": .text("CNY"), "status": .text("failed"),
        ]
        for (name, value) in named { values[kind.fieldIndex(named: name)!] = value }
        let renderer = try RecordRenderer(spec: spec)
        let bytes = try renderer.render(kind, values)
        #expect(Array(bytes[36..<38]) == Array("02".utf8))
        #expect(bytes[156] == UInt8(ascii: "F"))
        #expect(Array(bytes[121..<124]) == Array("CNY".utf8))
        values[kind.fieldIndex(named: "currency")!] = .text("CN1")
        #expect(throws: RenderError.self) { try renderer.render(kind, values) }
        #expect((try? renderer.render(kind, values)) == nil)
        do { _ = try renderer.render(kind, values) } catch {
            #expect(error.description == "record kind 'repayment', field 'currency': 'CN1' does not match the pattern [A-Z]{3}")
        }
    }
}
