import Foundation

/// Amounts as people write them and as reckon prints them: `12,000.00`, `12000`, `12000.5`.
public enum AmountText {
    public enum Problem: Error, Sendable, Equatable {
        /// Not digits with at most one point, or thousands separators out of place.
        case notAnAmount
        /// A non-zero digit after the second decimal: refused, never rounded.
        case tooManyDecimals
        /// Beyond what 64-bit minor units hold.
        case tooLarge
    }

    /// The amount in minor units (cents), negative with a leading `-`. Thousands separators
    /// are accepted where `PlanText.money` prints them: every third digit of the whole part.
    public static func minor(_ text: String) -> Result<Int64, Problem> {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if body.first == "-" || body.first == "+" {
            negative = body.first == "-"
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first else { return .failure(.notAnAmount) }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), fraction.allSatisfy(isDigit) else { return .failure(.notAnAmount) }
        var digits = Substring(whole)
        if whole.contains(",") {
            let groups = whole.split(separator: ",", omittingEmptySubsequences: false)
            guard (1...3).contains(groups[0].count), groups.dropFirst().allSatisfy({ $0.count == 3 }) else { return .failure(.notAnAmount) }
            digits = Substring(groups.joined())
        }
        guard digits.allSatisfy(isDigit) else { return .failure(.notAnAmount) }
        guard fraction.dropFirst(2).allSatisfy({ $0 == "0" }) else { return .failure(.tooManyDecimals) }
        var cents = Array(fraction.prefix(2))
        while cents.count < 2 { cents.append("0") }
        var value: Int64 = 0
        for digit in digits + Substring(String(cents)) {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(Int64(digit.asciiValue! - 48))
            guard !overflow, !carry else { return .failure(.tooLarge) }
            value = sum
        }
        return .success(negative ? -value : value)
    }

    private static func isDigit(_ character: Character) -> Bool { character.isASCII && character.isNumber }
}

/// How reckon prints amounts and counts for people, everywhere: digits grouped by three with
/// commas, a minus sign before the digits, exactly the amount's decimals (`-904,589.55`,
/// `1,000,000`). ``AmountText/minor(_:)`` reads amounts back in the same form.
extension AmountText {
    /// `units` at `scale` decimals: `printed(units: 90458955, scale: 2)` is `904,589.55`.
    public static func printed(units: Int64, scale: Int = 2) -> String {
        var digits = String(units.magnitude)
        if scale > 0 && digits.count <= scale {
            digits = String(repeating: "0", count: scale - digits.count + 1) + digits
        }
        let whole = digits.dropLast(scale), fraction = digits.suffix(scale)
        var text = ""
        for (index, digit) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { text += "," }
            text.append(digit)
        }
        if scale > 0 { text += "." + fraction }
        return (units < 0 ? "-" : "") + text
    }

    /// A difference with its sign always shown: `+0.01`, `-1,000.00`, `0.00`.
    public static func signed(units: Int64, scale: Int = 2) -> String {
        (units > 0 ? "+" : "") + printed(units: units, scale: scale)
    }

    /// A decimal as printed, at its own scale: `12345.6` at scale 2 is `12,345.60`.
    public static func printed(_ amount: DecimalAmount) -> String {
        printed(units: amount.units, scale: amount.scale)
    }

    /// A count grouped as amounts are: `20000` is `20,000`.
    public static func grouped(_ count: Int) -> String {
        printed(units: Int64(count), scale: 0)
    }
}

/// Counts with their nouns in agreement, for every message reckon builds: `1 alert`,
/// `2 alerts`, `1 plan difference`, `20,000 entries`.
public enum Plural {
    /// The count (grouped, as amounts are) and the noun in the number it takes.
    public static func count(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        AmountText.grouped(count) + " " + noun(count, singular, plural)
    }

    /// The noun alone in the number `count` takes: one is singular, anything else plural.
    public static func noun(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        count == 1 ? singular : plural ?? regularPlural(singular)
    }

    /// English's regular plural of a noun phrase's last word: entry → entries, box → boxes.
    static func regularPlural(_ singular: String) -> String {
        let vowels: Set<Character> = ["a", "e", "i", "o", "u"]
        if singular.hasSuffix("y"), let before = singular.dropLast().last, !vowels.contains(before) {
            return singular.dropLast() + "ies"
        }
        for ending in ["s", "x", "z", "ch", "sh"] where singular.hasSuffix(ending) { return singular + "es" }
        return singular + "s"
    }
}
