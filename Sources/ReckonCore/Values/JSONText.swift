/// JSON text for reckon's outputs: strings escaped per RFC 8259 (and control characters
/// beyond C0, see ``DisplayText``), objects with members in
/// the order given (so output is stable), field values with amounts in minor units.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Beyond what JSON requires (C0), the characters a terminal acts on or hides
                // are escaped too (see DisplayText), so the output is safe to print.
                if DisplayText.needsEscape(scalar) {
                    let hexDigits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hexDigits.count) + hexDigits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A field value: numbers as integers (decimals in minor units), dates and times as
    /// ISO 8601 strings, no value as null.
    public static func value(_ value: FieldValue) -> String {
        switch value {
        case .empty: return "null"
        case .text(let text): return quote(text)
        case .integer(let n): return String(n)
        case .decimal(let amount): return String(amount.units)
        case .date, .time, .dateTime: return quote(value.description)
        }
    }
}
