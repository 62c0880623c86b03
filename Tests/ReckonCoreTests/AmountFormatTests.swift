import PropertyBased
import ReckonCore
import Testing

/// One way to print amounts and counts (issue 9, item 22): grouped by three, the sign before
/// the digits, read back the way they print.
@Suite("Amounts and counts as reckon prints them")
struct AmountFormatTests {
    @Test func amountsAreGroupedWithTheSignFirst() {
        #expect(AmountText.printed(units: -90_458_955) == "-904,589.55")
        #expect(AmountText.printed(units: 1_200_000) == "12,000.00")
        #expect(AmountText.printed(units: 100_000) == "1,000.00")
        #expect(AmountText.printed(units: 99_999) == "999.99")
        #expect(AmountText.printed(units: 5) == "0.05")
        #expect(AmountText.printed(units: -5) == "-0.05")
        #expect(AmountText.printed(units: 0) == "0.00")
        #expect(AmountText.printed(units: Int64.min) == "-92,233,720,368,547,758.08")
        #expect(AmountText.printed(DecimalAmount(units: 12_345_678, scale: 4)) == "1,234.5678")
        #expect(AmountText.printed(DecimalAmount(units: 1_000_000, scale: 0)) == "1,000,000")
        #expect(AmountText.grouped(20_000) == "20,000")
    }

    /// Whatever the amount, reading what was printed gives it back, and what was printed has
    /// its separators exactly every three digits.
    @Test func whatPrintsReadsBack() async {
        await propertyCheck(count: 1000, input: Gen.int64(in: -999_999_999_999_999...999_999_999_999_999)) { minor in
            let text = AmountText.printed(units: minor)
            #expect(AmountText.minor(text) == .success(minor), "\(minor) printed as \(text)")
            #expect(text.range(of: #"^-?\d{1,3}(,\d{3})*\.\d\d$"#, options: .regularExpression) != nil, "\(text)")
        }
    }

    @Test func countsAgreeWithTheirNouns() {
        #expect(Plural.count(1, "alert") == "1 alert")
        #expect(Plural.count(0, "alert") == "0 alerts")
        #expect(Plural.count(2, "plan difference") == "2 plan differences")
        #expect(Plural.count(1, "entry") == "1 entry")
        #expect(Plural.count(34, "entry") == "34 entries")
        #expect(Plural.count(3, "day") == "3 days")
        #expect(Plural.count(2, "box") == "2 boxes")
        #expect(Plural.count(20_000, "loan") == "20,000 loans")
        #expect(Plural.count(2, "person", "people") == "2 people")
    }
}
