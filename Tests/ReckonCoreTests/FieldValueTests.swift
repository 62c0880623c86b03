import Foundation
import PropertyBased
import ReckonCore
import Testing

@Suite("Field types and checks")
struct FieldValueTests {
    /// A one-column delimited spec with one field, for reading single values.
    func field(_ definition: String, extraFields: String = "") throws -> MappingSpec {
        try loadSpec("""
            format: delimited
            delimiter: "|"
            records:
              r:
                fields:
                  v: {column: 1, \(definition)}
            \(extraFields)
            """)
    }

    /// What reading one value gave: the value, or the reason it was refused.
    enum Outcome: Equatable {
        case success(FieldValue)
        case failure(String)

        func get() throws -> FieldValue {
            guard case .success(let value) = self else { throw Refused() }
            return value
        }
    }

    struct Refused: Error {}

    func values(_ spec: MappingSpec, _ inputs: [String]) -> [Outcome] {
        inputs.map { input in
            // A second column keeps an empty value from making the line blank (blank lines are skipped).
            let (report, records) = read(spec, input + "|end\n")
            if let record = records.first { return .success(record.values[0]) }
            return .failure(report.problems.first?.problem.reason ?? "no record")
        }
    }

    @Test func explicitPointDecimals() throws {
        let spec = try field("type: decimal, scale: 2")
        #expect(values(spec, ["1049.42", "0.5", "12", "-3.06", "+7.10", "18.150"]).map { try? $0.get() } == [
            amount(104942), amount(50), amount(1200), amount(-306), amount(710), amount(1815),
        ])
    }

    /// Every short number goes through the fast paths (plain digits, digits with a point),
    /// longer and signed ones through the general parse: both must agree with a plain
    /// reading of the grammar (an optional leading sign, digits, at most one point, no
    /// decimals beyond the scale but zeros, 64 bits).
    @Test(arguments: [0, 2, 4])
    func decimalsAgreeWithAnOracle(scale: Int) async throws {
        let spec = try field("type: decimal, scale: \(scale)")
        let implied = try field("type: decimal, scale: \(scale), implied: true")
        let alphabet = Array("0123456789000999.-+x")
        await propertyCheck(count: 400, input: Gen.int(in: 0..<alphabet.count).array(of: 1...24)) { indexes in
            let text = String(indexes.map { alphabet[$0] })
            let outcome = values(spec, [text])[0]
            let expected = Self.oracle(text, scale: scale, implied: false)
            #expect((try? outcome.get()) == expected.map { amount($0, scale: scale) }, "'\(text)' at scale \(scale): \(outcome)")
            let impliedOutcome = values(implied, [text])[0]
            let impliedExpected = Self.oracle(text, scale: scale, implied: true)
            #expect((try? impliedOutcome.get()) == impliedExpected.map { amount($0, scale: scale) },
                    "'\(text)' implied at scale \(scale): \(impliedOutcome)")
        }
    }

    /// The number grammar read the plain way, digit by digit; nil when refused.
    static func oracle(_ text: String, scale: Int, implied: Bool) -> Int64? {
        var bytes = Array(text.utf8)
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, !(implied && parts.count == 2) else { return nil }
        let whole = Array(parts[0]), fraction = parts.count == 2 ? Array(parts[1]) : []
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        guard whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit), !(whole.isEmpty && fraction.isEmpty) else { return nil }
        guard fraction.dropFirst(implied ? fraction.count : scale).allSatisfy({ $0 == 0x30 }) else { return nil }
        var digits = whole + fraction.prefix(scale)
        if !implied { digits += Array(repeating: 0x30, count: scale - min(scale, fraction.count)) }
        var units: Int64 = 0
        for byte in digits {
            let (shifted, o1) = units.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(Int64(byte - 0x30))
            if o1 || o2 { return nil }
            units = sum
        }
        return negative ? -units : units
    }

    @Test func decimalsAreNeverRounded() throws {
        let spec = try field("type: decimal, scale: 2")
        let result = values(spec, ["18.155"])[0]
        guard case .failure(let reason) = result else { Issue.record("18.155 was accepted"); return }
        #expect(reason == "has more than 2 decimal places; amounts are never rounded on input")
    }

    @Test func impliedScale() throws {
        let spec = try field("type: decimal, scale: 2, implied: true")
        // DESIGN.md's example: 000000389786 is 3897.86.
        #expect(values(spec, ["000000389786", "0000000000", "5"]).map { try? $0.get() } == [amount(389786), amount(0), amount(5)])
        #expect((try? values(spec, ["3897.86"])[0].get()) == nil)
    }

    @Test func trailingMinusAndSignRules() throws {
        let trailing = try field("type: decimal, scale: 2, sign: trailing")
        #expect(values(trailing, ["123.45-", "123.45+", "123.45"]).map { try? $0.get() } == [amount(-12345), amount(12345), amount(12345)])
        guard case .failure(let reason) = values(trailing, ["-123.45"])[0] else { Issue.record("leading sign accepted"); return }
        #expect(reason.contains("a leading sign is not allowed"))
        let unsigned = try field("type: decimal, sign: none")
        guard case .failure(let unsignedReason) = values(unsigned, ["-1.00"])[0] else { Issue.record("sign accepted"); return }
        #expect(unsignedReason == "a sign is not allowed here")
        let either = try field("type: integer, sign: any")
        #expect(values(either, ["-5", "5-", "+5"]).map { try? $0.get() } == [FieldValue.integer(-5), .integer(-5), .integer(5)])
    }

    @Test func creditDebitIndicators() throws {
        let spec = try loadSpec("""
            format: delimited
            records:
              r:
                fields:
                  amount: {column: 1, type: decimal, sign: {field: cd, negative: [D, DBIT], positive: [C, CRDT]}}
                  cd: {column: 2}
            """)
        let (report, records) = read(spec, "10.00,D\n10.00,C\n10.00,DBIT\n10.00,X\n")
        #expect(records.map { $0.values[0] } == [amount(-1000), amount(1000), amount(-1000)])
        #expect(report.recordsRejected == 1)
        #expect(problemTexts(report) == ["line 4: r field 'cd' = 'X': is not a sign indicator (expected D or DBIT or C or CRDT)"])
    }

    @Test func thousandsSeparators() throws {
        let spec = try field("type: decimal, scale: 2, thousands: \",\"")
        // The delimiter is "|" here, so the comma is data.
        #expect(values(spec, ["1,234.56", "9,876,543.21", "12"]).map { try? $0.get() } == [amount(123456), amount(987654321), amount(1200)])
        let plain = try field("type: decimal, scale: 2")
        guard case .failure(let reason) = values(plain, ["1,234.56"])[0] else { Issue.record("separator accepted"); return }
        #expect(reason == "unexpected character ',' in a number")
    }

    @Test func commaAsDecimalPoint() throws {
        let spec = try field("type: decimal, scale: 2, point: \",\", thousands: \".\"")
        #expect(values(spec, ["1.234,56"]).map { try? $0.get() } == [amount(123456)])
    }

    @Test func overflowIsAnError() throws {
        let spec = try field("type: decimal, scale: 2")
        guard case .failure(let reason) = values(spec, ["99999999999999999999.00"])[0] else { Issue.record("overflow accepted"); return }
        #expect(reason.contains("too large"))
    }

    @Test func integers() throws {
        let spec = try field("type: integer")
        #expect(values(spec, ["42", "-7", "000123"]).map { try? $0.get() } == [FieldValue.integer(42), .integer(-7), .integer(123)])
        #expect((try? values(spec, ["4.2"])[0].get()) == nil)
    }

    @Test func datesInTheirFormats() throws {
        #expect(values(try field("type: date, format: yyyyMMdd"), ["20241115", "20240229"]).map { try? $0.get() }
            == [FieldValue.date(date(2024, 11, 15)), .date(date(2024, 2, 29))])
        #expect(values(try field("type: date, format: yyMMdd"), ["110805"]).map { try? $0.get() } == [FieldValue.date(date(2011, 8, 5))])
        #expect(values(try field("type: date, format: yyyy/MM/dd"), ["2023/01/18"]).map { try? $0.get() } == [FieldValue.date(date(2023, 1, 18))])
        // Not real days.
        let strict = try field("type: date, format: yyyyMMdd")
        for bad in ["20230229", "20241301", "20241100", "2024111", "2024-11-15"] {
            guard case .failure(let reason) = values(strict, [bad])[0] else { Issue.record("\(bad) accepted"); continue }
            #expect(reason == "not a date in the format yyyyMMdd")
        }
    }

    @Test func isoBytesAgreeWithTheDescription() async {
        await propertyCheck(count: 300, input: Gen.int(in: 1...9999), Gen.int(in: 1...12), Gen.int(in: 1...31)) { year, month, day in
            guard let civil = CivilDate(year: year, month: month, day: day) else { return }
            var bytes: [UInt8] = [0x41]
            civil.appendISO8601(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == "A" + civil.description)
        }
    }

    @Test func timesAndDateTimes() throws {
        #expect(values(try field("type: time, format: HHmm"), ["2100"]).map { try? $0.get() }
            == [FieldValue.time(TimeOfDay(hour: 21, minute: 0, second: 0)!)])
        let local = try field("type: datetime, format: \"yyyy-MM-dd HH:mm:ss\"")
        let value = try values(local, ["2023-01-18 10:17:29"])[0].get()
        #expect(value.description == "2023-01-18T10:17:29")
        let iso = try field("type: datetime, format: iso8601")
        #expect(try values(iso, ["2013-12-27T22:04:52.0+01:00"])[0].get().description == "2013-12-27T22:04:52+01:00")
        #expect(try values(iso, ["2023-06-20T23:59:59Z"])[0].get().description == "2023-06-20T23:59:59Z")
        #expect(try values(iso, ["2015-03-10T18:43:50.123"])[0].get().description == "2015-03-10T18:43:50.123")
        #expect((try? values(iso, ["2015-03-10T25:00:00"])[0].get()) == nil)
    }

    @Test func codeMaps() throws {
        let spec = try field("codes: {\"01\": normal, \"02\": early_settlement}")
        #expect(values(spec, ["01", "02"]).map { try? $0.get() } == [FieldValue.text("normal"), .text("early_settlement")])
        guard case .failure(let reason) = values(spec, ["09"])[0] else { Issue.record("unknown code accepted"); return }
        #expect(reason == "code '09' is not in the code map (01, 02)")
        let keeping = try field("codes: {\"01\": normal}, unmapped: keep")
        #expect(values(keeping, ["07"]).map { try? $0.get() } == [FieldValue.text("07")])
    }

    @Test func requiredPatternLengthAndRange() throws {
        let required = try field("required: true")
        #expect(values(required, ["  "]).map { r -> String? in if case .failure(let m) = r { return m }; return nil } == ["required value is missing"])
        #expect(values(try field("required: false"), [""]).map { try? $0.get() } == [.empty])

        let pattern = try field("pattern: \"[A-Z]{3}\"")
        #expect((try? values(pattern, ["CNY"])[0].get()) == .text("CNY"))
        #expect(values(pattern, ["CN1"]).map { r -> String? in if case .failure(let m) = r { return m }; return nil }
            == ["does not match the pattern [A-Z]{3}"])

        let length = try field("min_length: 2, max_length: 4")
        #expect((try? values(length, ["张伟"])[0].get()) == .text("张伟"))
        #expect((try? values(length, ["张"])[0].get()) == nil)
        #expect((try? values(length, ["abcde"])[0].get()) == nil)

        let range = try field("type: decimal, min: \"0.01\", max: \"1000\"")
        #expect((try? values(range, ["0.01"])[0].get()) == amount(1))
        #expect(values(range, ["0.00", "1000.01"]).map { r -> String? in if case .failure(let m) = r { return m }; return nil }
            == ["is below the minimum 0.01", "is above the maximum 1000.00"])

        // Bounds are plain values, whatever the field's own layout.
        let implied = try field("type: decimal, scale: 4, implied: true, max: \"100\"")
        #expect((try? values(implied, ["0000031000"])[0].get()) == amount(31000, scale: 4))
        #expect((try? values(implied, ["0001000001"])[0].get()) == nil)

        let dates = try field("type: date, format: yyyy-MM-dd, min: 2024-01-01")
        #expect((try? values(dates, ["2023-12-31"])[0].get()) == nil)
    }

    @Test func affixesMarkersAndExtraction() throws {
        #expect(values(try field("type: decimal, strip: \"¥\""), ["¥28.16"]).map { try? $0.get() } == [amount(2816)])
        #expect(values(try field("strip: \"`\""), ["`4200001234"]).map { try? $0.get() } == [FieldValue.text("4200001234")])
        #expect(values(try field("empty: [\"/\", \"-\"]"), ["/", "-", "x"]).map { try? $0.get() } == [FieldValue.empty, .empty, .text("x")])
        let fee = try field("type: decimal, extract: \"服务费¥([0-9.]+)\"")
        #expect(values(fee, ["服务费¥0.10", "/"]).map { try? $0.get() } == [amount(10), .empty])
        // Padding: spaces, TABs and the ideographic space are trimmed.
        #expect(values(try field("type: string"), ["  交易成功\t", "\u{3000}x\u{3000}"]).map { try? $0.get() } == [FieldValue.text("交易成功"), .text("x")])
    }

    @Test func decimalDescriptionAndComparison() {
        #expect(DecimalAmount(units: -5, scale: 2).description == "-0.05")
        #expect(DecimalAmount(units: 123, scale: 0).description == "123")
        #expect(DecimalAmount(units: 1000, scale: 3).numericallyEquals(DecimalAmount(units: 100, scale: 2)))
        #expect(DecimalAmount(units: 999, scale: 3) < DecimalAmount(units: 100, scale: 2))
    }
}

@Suite("Implied-decimal digits, eight at a time")
struct DigitParsingTests {
    @Test func agreesWithANaiveParse() async throws {
        let spec = try loadSpec("format: fixed-width\nrecord_length: 18\nrecords: {r: {fields: {v: {start: 1, length: 18, type: decimal, implied: true, sign: none}}}}")
        let alphabet = Array("0123456789/:A 0123456789")
        await propertyCheck(count: 500, input: Gen.int(in: 0..<alphabet.count).array(of: 1...18)) { indexes in
            let text = String(indexes.map { alphabet[$0] })
            // Padded to the record's length, as the sender pads the field.
            let (report, records) = read(spec, text + String(repeating: " ", count: 18 - text.count) + "\n")
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCIIDigitCharacter), let expected = Int64(trimmed) {
                #expect(records.first?.values == [amount(expected)], "'\(text)'")
            } else if trimmed.isEmpty {
                #expect(records.first?.values == [.empty], "'\(text)'")
            } else {
                #expect(report.recordsRejected == 1, "'\(text)'")
            }
        }
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
