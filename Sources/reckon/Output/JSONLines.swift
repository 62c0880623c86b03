import ReckonCore

/// `spec check --json`: one JSON object per line, records first, then a result per file.
/// Field names are the spec's canonical names; decimals are integers at the field's scale
/// (minor units for amounts), the scales named in `scales`. Field
/// values are the data (JSON escapes any control character); messages about a file —
/// problems' raw values and reasons, notes, failures — are escaped as `DisplayText` says,
/// as they are in the text report.
enum JSONLines {
    static func record(_ record: ParsedRecord, spec: MappingSpec, file: String) -> String {
        let kind = spec.kinds[record.kindIndex]
        var fields: [(String, String)] = []
        var scales: [(String, String)] = []
        for (field, value) in zip(kind.fields, record.values) {
            fields.append((field.name, json(value)))
            if case .decimal(let format) = field.type { scales.append((field.name, String(format.scale))) }
        }
        var members: [(String, String)] = [
            ("type", quote("record")), ("file", quote(file)), ("line", String(record.location.line)),
        ]
        if let path = record.location.xmlPath { members.append(("path", quote(path))) }
        members.append(("kind", quote(kind.name)))
        members.append(("fields", object(fields)))
        members.append(("scales", object(scales)))
        return object(members)
    }

    static func result(_ report: FileReport) -> String {
        let counts = report.counts.map { ($0.kind, object([("read", String($0.read)), ("rejected", String($0.rejected))])) }
        let controls = report.controls.map { verdict -> String in
            var members: [(String, String)] = [("name", quote(verdict.control)), ("holds", verdict.holds ? "true" : "false")]
            if let location = verdict.location { members.append(("line", String(location.line))) }
            if let declared = verdict.declared { members.append(("declared", String(declared.units))) }
            members.append(("actual", String(verdict.actual.units)))
            members.append(("scale", String(verdict.actual.scale)))
            if let note = verdict.note { members.append(("note", quote(DisplayText.escaped(note)))) }
            return object(members)
        }
        let problems = (report.problems + report.warnings).map { problem -> String in
            var members: [(String, String)] = [("file", quote(report.file)), ("line", String(problem.location.line))]
            if let path = problem.location.xmlPath { members.append(("path", quote(path))) }
            if let kind = problem.kind { members.append(("kind", quote(kind))) }
            if let field = problem.problem.field { members.append(("field", quote(field))) }
            if let raw = problem.problem.rawValue { members.append(("raw", quote(DisplayText.escaped(raw)))) }
            members.append(("reason", quote(DisplayText.escaped(problem.problem.reason))))
            if let offset = problem.problem.byteOffset { members.append(("byte_offset", String(offset))) }
            if let line = problem.problem.line { members.append(("part_line", String(line))) }
            return object(members)
        }
        var members: [(String, String)] = [
            ("type", quote("result")), ("file", quote(report.file)), ("spec", quote(report.spec)),
            ("clean", report.isClean ? "true" : "false"),
            ("read", String(report.recordsRead)), ("rejected", String(report.recordsRejected)),
            ("skipped", String(report.skipped)),
            ("unmatched", String(report.unmatched)), ("blank_lines", String(report.blankLines)),
            ("kinds", object(counts)),
            ("controls_hold", report.controlsHold ? "true" : "false"),
            ("controls", "[" + controls.joined(separator: ",") + "]"),
            ("problems", "[" + problems.prefix(report.problems.count).joined(separator: ",") + "]"),
            ("problems_omitted", String(report.problemsOmitted)),
            ("warnings", "[" + problems.dropFirst(report.problems.count).joined(separator: ",") + "]"),
            ("warnings_count", String(report.warningCount)),
            ("structure", "[" + report.structure.map { quote(DisplayText.escaped($0)) }.joined(separator: ",") + "]"),
        ]
        if let failure = report.failure { members.append(("failure", quote(failure.description))) }
        return object(members)
    }

    static func json(_ value: FieldValue) -> String { JSONText.value(value) }
    static func object(_ members: [(String, String)]) -> String { JSONText.object(members) }
    static func quote(_ text: String) -> String { JSONText.quote(text) }
}
