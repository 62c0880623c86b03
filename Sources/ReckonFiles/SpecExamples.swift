import ReckonCore

/// The outcome of one example a spec names.
public struct ExampleOutcome: Sendable {
    public let spec: String
    public let file: String
    /// Empty when the example holds.
    public let mismatches: [String]
    public let report: FileReport?
    /// What the example declares (nil when the spec names none).
    public let example: SpecExample?

    public var holds: Bool { mismatches.isEmpty }

    /// What a holding example showed, as the example declared it: "7 records, controls
    /// hold", "48 records, controls fail as expected", "fails as expected: …".
    public var summary: String {
        guard let report else { return "" }
        if let failure = example?.failure {
            let actual = report.failure?.description ?? report.structure.first { $0.contains(failure) } ?? failure
            return "fails as expected: \(DisplayText.escaped(actual))"
        }
        var parts = [Plural.count(report.recordsRead, "record")]
        if report.recordsRejected > 0 {
            parts.append("\(report.recordsRejected) rejected" + (example?.rejected == report.recordsRejected ? " as expected" : ""))
        }
        if report.controls.isEmpty {
            parts.append("no controls")
        } else if report.controlsHold {
            parts.append("controls hold")
        } else {
            parts.append("controls fail" + (example?.controlsHold == false ? " as expected" : ""))
        }
        return parts.joined(separator: ", ")
    }
}

/// Runs the examples a spec names (`examples:`): each sample file must give the declared
/// record counts, rejections, control verdict, sums, or failure.
public enum SpecExamples {
    public static func run(_ spec: MappingSpec) -> [ExampleOutcome] {
        let directory = spec.origin.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        guard !spec.examples.isEmpty else {
            return [ExampleOutcome(spec: spec.origin, file: "-", mismatches: ["the spec names no examples; add at least one sample file with its expected counts"],
                                   report: nil, example: nil)]
        }
        return spec.examples.map { example in
            let path = example.file.hasPrefix("/") || directory.isEmpty ? example.file : directory + "/" + example.file
            return run(example, path: path, spec: spec)
        }
    }

    static func run(_ example: SpecExample, path: String, spec: MappingSpec) -> ExampleOutcome {
        var sums: [String: DecimalAmount] = [:]
        let wanted = example.sums.map { (kind: spec.kind(named: $0.kind)!.index, field: spec.kind(named: $0.kind)!.fieldIndex(named: $0.field)!, key: "\($0.kind).\($0.field)") }
        let report = PartnerFile.check(path, spec: spec) { record in
            for sum in wanted where sum.kind == record.kindIndex {
                guard let value = record.amount(at: sum.field) else { continue }
                let previous = sums[sum.key] ?? DecimalAmount(units: 0, scale: value.scale)
                sums[sum.key] = DecimalAmount(units: previous.units + value.units, scale: value.scale)
            }
        }
        var mismatches: [String] = []
        if let failure = example.failure {
            if let actual = report.failure {
                if !actual.reason.contains(failure) && !actual.description.contains(failure) {
                    mismatches.append("expected a failure mentioning '\(failure)', got: \(actual)")
                }
            } else if !report.structure.contains(where: { $0.contains(failure) }) {
                mismatches.append("expected a failure mentioning '\(failure)', but the file was read (\(Plural.count(report.recordsRead, "record")))")
            }
            return ExampleOutcome(spec: spec.origin, file: path, mismatches: mismatches, report: report, example: example)
        }
        if let failure = report.failure {
            mismatches.append("the file failed: \(failure)")
        }
        for (kind, expected) in example.records.sorted(by: { $0.key < $1.key }) {
            let actual = report.count(of: kind)?.read ?? 0
            if actual != expected { mismatches.append("\(kind): expected \(Plural.count(expected, "record")), read \(actual)") }
        }
        let rejected = report.recordsRejected
        if rejected != (example.rejected ?? 0) {
            let first = report.problems.first.map { " (first: \($0))" } ?? ""
            mismatches.append("expected \(example.rejected ?? 0) rejected records, got \(rejected)\(first)")
        }
        if let hold = example.controlsHold, hold != report.controlsHold {
            let failing = report.controls.filter { !$0.holds }.map(\.control)
            mismatches.append(hold ? "expected the control totals to hold; failing: \(failing.joined(separator: ", "))"
                                   : "expected a control total to fail, but all held")
        }
        if example.controlsHold != false, !report.structure.isEmpty {
            mismatches += report.structure
        }
        for sum in example.sums {
            let key = "\(sum.kind).\(sum.field)"
            let actual = sums[key]?.units ?? 0
            if actual != sum.total { mismatches.append("\(key): expected a sum of \(sum.total) minor units, got \(actual)") }
        }
        return ExampleOutcome(spec: spec.origin, file: path, mismatches: mismatches, report: report, example: example)
    }
}
