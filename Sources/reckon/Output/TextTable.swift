import ReckonCore

/// How wide reckon's text output may be: tables and listings fit this many columns (a
/// terminal beside another, a CI log); what does not fit is wrapped, or said how to get.
let outputColumns = 120

/// Columns sized to their widest cell (East Asian characters count two), two spaces apart,
/// numbers aligned right, trailing spaces trimmed.
struct TextTable {
    let headers: [String]
    /// Per column: aligned right (numbers, amounts).
    let right: [Bool]

    /// Per column: at least this wide (so that separate listings line up).
    let minimumWidths: [Int]

    init(_ columns: [(header: String, right: Bool)], minimumWidths: [Int] = []) {
        headers = columns.map(\.header)
        right = columns.map(\.right)
        self.minimumWidths = minimumWidths
    }

    func render(_ rows: [[String]], indent: String = "") -> [String] {
        var widths = headers.enumerated().map { max(displayWidth($0.element), $0.offset < minimumWidths.count ? minimumWidths[$0.offset] : 0) }
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count { widths[column] = max(widths[column], displayWidth(cell)) }
        }
        func line(_ cells: [String]) -> String {
            var text = indent
            for (column, cell) in cells.enumerated() {
                let gap = String(repeating: " ", count: max(0, widths[column] - displayWidth(cell)))
                if column > 0 { text += "  " }
                text += right[column] ? gap + cell : cell + gap
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        return [line(headers)] + rows.map(line)
    }
}

/// Breaks a line of prose at spaces so that no line passes `width` columns; the lines after
/// the first start with the first's leading spaces and `indent`. Spacing inside a line is
/// kept; a word longer than the width (a path) stays whole.
func wrapped(_ text: String, width: Int = outputColumns, indent: String = "    ") -> [String] {
    guard displayWidth(text) > width else { return [text] }
    let prefix = String(text.prefix { $0 == " " }) + indent
    var lines: [String] = []
    var rest = Substring(text)
    var lead = ""
    while displayWidth(lead) + displayWidth(String(rest)) > width {
        // The last space at which the line still fits (past the leading spaces), or else the
        // first space at all.
        var used = displayWidth(lead)
        var fits: String.Index?
        var first: String.Index?
        var index = rest.startIndex
        while index < rest.endIndex {
            let character = rest[index]
            if character == " " && rest[rest.startIndex..<index].contains(where: { $0 != " " }) {
                if used <= width { fits = index }
                if first == nil { first = index }
            }
            used += displayWidth(String(character))
            if used > width && fits != nil { break }
            index = rest.index(after: index)
        }
        guard let cut = fits ?? first else { break }
        var line = lead + rest[..<cut]
        while line.last == " " { line.removeLast() }
        lines.append(line)
        rest = rest[cut...].drop { $0 == " " }
        lead = prefix
    }
    if !rest.isEmpty { lines.append(lead + rest) }
    return lines
}
