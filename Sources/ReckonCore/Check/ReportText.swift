/// The human-readable report of a file read through a spec: what `reckon spec check`
/// prints and what a quarantined file's report says. Whatever came from the file (values,
/// names, messages quoting it) is escaped as ``DisplayText`` says.
public enum ReportText {
    /// `tableColumns`: the widest a table of shown records may be (its columns beyond are left
    /// out and named, with `moreColumnsHint` saying how to see them); nil for every column.
    public static func render(_ report: FileReport, spec: MappingSpec, shown: [ParsedRecord] = [], terminal: Bool = false,
                              tableColumns: Int? = nil, moreColumnsHint: String = "") -> String {
        let ok = terminal ? "\u{1B}[32m✓\u{1B}[0m" : "✓"
        let bad = terminal ? "\u{1B}[31m✗\u{1B}[0m" : "✗"
        var lines: [String] = []
        let show = DisplayText.escaped
        lines.append("\(show(report.file)) — \(show(spec.origin)) (\(spec.format.name), \(spec.encoding.rawValue))")

        let kinds = report.counts.filter { $0.total > 0 }
            .map { "\($0.kind) \($0.read)" + ($0.rejected > 0 ? " (+\($0.rejected) rejected)" : "") }
        var summary = "\(report.recordsRead) read, \(report.recordsRejected) rejected"
        var apart: [String] = []
        if report.unmatched > 0 { apart.append("\(report.unmatched) matching no kind") }
        if report.blankLines > 0 { apart.append(Plural.count(report.blankLines, "empty line")) }
        if !apart.isEmpty { summary += " (\(apart.joined(separator: ", ")))" }
        if report.skipped > 0 { summary += ", \(Plural.count(report.skipped, "line")) skipped" }
        if report.warningCount > 0 { summary += ", \(Plural.count(report.warningCount, "warning"))" }
        lines.append("  records   " + summary)
        if !kinds.isEmpty { lines.append("            " + kinds.joined(separator: " · ")) }

        if report.controls.isEmpty {
            lines.append("  controls  " + (spec.controls.isEmpty ? "none declared" : "not checked (reading stopped early)"))
        } else {
            let width = report.controls.map { displayWidth(show($0.control)) }.max() ?? 0
            for (index, verdict) in report.controls.enumerated() {
                var text = "\(verdict.holds ? ok : bad) \(padded(show(verdict.control), to: width))"
                if let location = verdict.location { text += "  \(location)" }
                if let declared = verdict.declared {
                    // Printed as amounts are (125,183.57), except a hash kept modulo a power of
                    // ten (NACHA's entry hash), which is digits, not a quantity.
                    let isHash = spec.controls.first { $0.name == verdict.control }?.modulo != nil
                    let shown = isHash ? { (amount: DecimalAmount) in amount.description } : AmountText.printed
                    text += ": declared \(shown(declared)), found \(shown(verdict.actual))"
                }
                if let note = verdict.note { text += " — \(show(note))" }
                lines.append((index == 0 ? "  controls  " : "            ") + text)
            }
        }
        for item in report.structure { lines.append("  structure \(bad) \(show(item))") }

        if !shown.isEmpty {
            lines.append("  first \(Plural.count(shown.count, "record"))")
            lines += table(shown, spec: spec, columns: tableColumns.map { $0 - 4 }, moreColumnsHint: moreColumnsHint).map { "    " + $0 }
        }

        if !report.problems.isEmpty {
            lines.append("  problems")
            for problem in report.problems { lines.append("    \(problem)") }
            if report.problemsOmitted > 0 { lines.append("    … and \(report.problemsOmitted) more") }
        }
        if !report.warnings.isEmpty {
            lines.append("  warnings")
            for warning in report.warnings { lines.append("    \(warning)") }
            if report.warningsOmitted > 0 { lines.append("    … and \(report.warningsOmitted) more") }
        }
        if let failure = report.failure {
            lines.append("  \(bad) reading stopped: \(failure)")
        } else if report.stoppedEarly {
            lines.append("  reading stopped at the first rejected record (--stop-at-first-error)")
        }
        let verdict: String
        if report.isClean {
            verdict = "\(ok) clean"
        } else if report.failure != nil {
            verdict = "\(bad) unreadable"
        } else {
            var reasons: [String] = []
            if report.recordsRejected > 0 { reasons.append("\(Plural.count(report.recordsRejected, "record")) rejected") }
            if !report.controlsHold { reasons.append("control totals fail") }
            if !report.structure.isEmpty { reasons.append("structure") }
            verdict = "\(bad) " + reasons.joined(separator: ", ")
        }
        lines.append("  verdict   " + verdict + (report.warningCount > 0 ? " (\(Plural.count(report.warningCount, "warning")))" : ""))
        return lines.joined(separator: "\n")
    }

    /// One table per run of records of the same kind, columns sized to fit; at most
    /// `columns` wide when given, the fields beyond left out and named after the table.
    public static func table(_ records: [ParsedRecord], spec: MappingSpec, columns: Int? = nil,
                             moreColumnsHint: String = "") -> [String] {
        var lines: [String] = []
        var index = 0
        while index < records.count {
            let kind = spec.kinds[records[index].kindIndex]
            var run: [ParsedRecord] = []
            while index < records.count, records[index].kindIndex == kind.index {
                run.append(records[index])
                index += 1
            }
            let headers = ["line", "kind"] + kind.fields.map(\.name)
            let rows = run.map { record in
                [String(record.location.line), kind.name] + record.values.map { clip(DisplayText.escaped($0.description), to: 28) }
            }
            var widths = headers.map(displayWidth)
            for row in rows {
                for (column, cell) in row.enumerated() { widths[column] = max(widths[column], displayWidth(cell)) }
            }
            // The columns that fit (line, kind and the first field always do).
            var kept = widths.count
            if let columns {
                var used = 0
                for (column, width) in widths.enumerated() {
                    used += (column > 0 ? 2 : 0) + width
                    if used > columns && column > 2 { kept = column; break }
                }
            }
            let format = { (cells: [String]) in
                zip(cells.prefix(kept), widths).map { padded($0, to: $1) }.joined(separator: "  ").replacingTrailingSpaces()
            }
            lines.append(format(headers))
            lines += rows.map(format)
            if kept < headers.count {
                // Named as far as the line fits.
                let left = Array(headers[kept...])
                var named = left.count
                func note() -> String {
                    "(\(Plural.count(left.count, "more column")): \(left.prefix(named).joined(separator: ", "))"
                        + (named < left.count ? ", …" : "") + "\(moreColumnsHint))"
                }
                while let columns, named > 1, displayWidth(note()) > columns { named -= 1 }
                lines.append(note())
            }
        }
        return lines
    }
}

extension String {
    func replacingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// Columns a string takes in a terminal: East Asian wide characters take two.
public func displayWidth(_ text: String) -> Int {
    var width = 0
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
            width += 2
        case 0x0300...0x036F, 0x200B...0x200F:
            break
        default:
            width += 1
        }
    }
    return width
}

/// Cuts `text` to at most `limit` columns, marking the cut with an ellipsis.
public func clip(_ text: String, to limit: Int) -> String {
    guard displayWidth(text) > limit else { return text }
    var result = ""
    var width = 0
    for character in text {
        let w = displayWidth(String(character))
        if width + w > limit - 1 { break }
        result.append(character)
        width += w
    }
    return result + "…"
}

public func padded(_ text: String, to width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - displayWidth(text)))
}
