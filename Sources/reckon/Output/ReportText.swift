import ReckonCore

/// The human-readable report of `reckon spec check`.
enum ReportText {
    static func render(_ report: FileReport, spec: MappingSpec, shown: [ParsedRecord], terminal: Bool) -> String {
        let ok = terminal ? "\u{1B}[32m✓\u{1B}[0m" : "✓"
        let bad = terminal ? "\u{1B}[31m✗\u{1B}[0m" : "✗"
        var lines: [String] = []
        lines.append("\(report.file) — \(spec.origin) (\(spec.format.name), \(spec.encoding.rawValue))")

        let kinds = report.counts.filter { $0.total > 0 }
            .map { "\($0.kind) \($0.read)" + ($0.rejected > 0 ? " (+\($0.rejected) rejected)" : "") }
        var summary = "\(report.recordsRead) read, \(report.recordsRejected) rejected"
        if report.unmatched > 0 { summary += " (\(report.unmatched) matching no kind)" }
        if report.skipped > 0 { summary += ", \(report.skipped) line\(report.skipped == 1 ? "" : "s") skipped" }
        lines.append("  records   " + summary)
        if !kinds.isEmpty { lines.append("            " + kinds.joined(separator: " · ")) }

        if report.controls.isEmpty {
            lines.append("  controls  " + (spec.controls.isEmpty ? "none declared" : "not checked (reading stopped early)"))
        } else {
            let width = report.controls.map { displayWidth($0.control) }.max() ?? 0
            for (index, verdict) in report.controls.enumerated() {
                var text = "\(verdict.holds ? ok : bad) \(padded(verdict.control, to: width))"
                if let location = verdict.location { text += "  \(location)" }
                if let declared = verdict.declared {
                    text += ": declared \(declared), found \(verdict.actual)"
                }
                if let note = verdict.note { text += " — \(note)" }
                lines.append((index == 0 ? "  controls  " : "            ") + text)
            }
        }
        for item in report.structure { lines.append("  structure \(bad) \(item)") }

        if !shown.isEmpty {
            lines.append("  first \(shown.count) record\(shown.count == 1 ? "" : "s")")
            lines += table(shown, spec: spec).map { "    " + $0 }
        }

        if !report.problems.isEmpty {
            lines.append("  problems")
            for problem in report.problems { lines.append("    \(problem)") }
            if report.problemsOmitted > 0 { lines.append("    … and \(report.problemsOmitted) more") }
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
            if report.recordsRejected > 0 { reasons.append("\(report.recordsRejected) record\(report.recordsRejected == 1 ? "" : "s") rejected") }
            if !report.controlsHold { reasons.append("control totals fail") }
            if !report.structure.isEmpty { reasons.append("structure") }
            verdict = "\(bad) " + reasons.joined(separator: ", ")
        }
        lines.append("  verdict   " + verdict)
        return lines.joined(separator: "\n")
    }

    /// One table per run of records of the same kind, columns sized to fit.
    static func table(_ records: [ParsedRecord], spec: MappingSpec) -> [String] {
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
                [String(record.location.line), kind.name] + record.values.map { clip($0.description, to: 28) }
            }
            var widths = headers.map(displayWidth)
            for row in rows {
                for (column, cell) in row.enumerated() { widths[column] = max(widths[column], displayWidth(cell)) }
            }
            let format = { (cells: [String]) in
                zip(cells, widths).map { padded($0, to: $1) }.joined(separator: "  ").replacingTrailingSpaces()
            }
            lines.append(format(headers))
            lines += rows.map(format)
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
