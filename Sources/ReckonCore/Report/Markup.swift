/// Text placed in HTML or SVG: whatever a name holds (a rule called `<script>`, a quote in a
/// partner's name, a control character from a file) shows as text and never becomes markup.
public enum Markup {
    /// `text` with `& < > " '` as character references and control characters written as
    /// ``DisplayText`` writes them (`\u{1B}`): safe in element content and in quoted
    /// attribute values alike.
    public static func text(_ text: String) -> String {
        let shown = DisplayText.escaped(text)
        guard shown.contains(where: { "&<>\"'".contains($0) }) else { return shown }
        var out = ""
        out.reserveCapacity(shown.utf8.count + 16)
        for character in shown {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A length in tenths of a pixel as SVG writes it: `123.4`.
    static func tenths(_ value: Int) -> String {
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }
}
