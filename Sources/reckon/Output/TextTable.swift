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

/// Breaks a line of prose at spaces so that no line passes `width` columns, after a comma or
/// a semicolon when one comes late enough in the line (`0 overdue lines, 0 plan differences`
/// keeps its phrases whole); the lines after the first start with the first's leading spaces
/// and `indent`. Spacing inside a line is kept. A word too long for any line (a path) is not
/// moved to a line of its own: it stays where it is and the line runs over.
func wrapped(_ text: String, width: Int = outputColumns, indent: String = "    ") -> [String] {
    guard displayWidth(text) > width else { return [text] }
    let lead = String(text.prefix { $0 == " " })
    let prefix = lead + indent
    // The words, each with the spaces before it.
    var words: [(spaces: String, word: String)] = []
    var spaces = "", word = ""
    for character in text.dropFirst(lead.count) {
        if character == " " {
            if !word.isEmpty { words.append((spaces, word)); spaces = ""; word = "" }
            spaces.append(character)
        } else {
            word.append(character)
        }
    }
    if !word.isEmpty { words.append((spaces, word)) }

    var lines: [String] = []
    var line: [(spaces: String, word: String)] = []
    func joined(_ words: ArraySlice<(spaces: String, word: String)>, start: String) -> String {
        words.enumerated().reduce(start) { $0 + ($1.offset == 0 ? "" : $1.element.spaces) + $1.element.word }
    }
    let room = width - displayWidth(prefix)
    for next in words {
        let start = lines.isEmpty ? lead : prefix
        let candidate = joined(ArraySlice(line + [next]), start: start)
        guard !line.isEmpty, displayWidth(candidate) > width, displayWidth(next.word) <= room else {
            line.append(next)
            continue
        }
        // Break after the last comma or semicolon past two thirds of the line, else here.
        var cut = line.count
        if let phrase = line.indices.last(where: { index in
            (line[index].word.hasSuffix(",") || line[index].word.hasSuffix(";"))
                && displayWidth(joined(line[...index], start: start)) >= width * 2 / 3
        }) {
            cut = phrase + 1
        }
        lines.append(joined(line[..<cut], start: start))
        line = Array(line[cut...]) + [next]
    }
    lines.append(joined(ArraySlice(line), start: lines.isEmpty ? lead : prefix))
    return lines
}
