import ArgumentParser
import ReckonCore
import ReckonFiles

struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec",
        abstract: "Check partner files against mapping specs, and test the specs themselves.",
        subcommands: [SpecCheck.self, SpecTest.self]
    )
}

/// Exit status 2: the spec itself cannot be used.
let unusableSpec = ExitCode(2)

struct SpecCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Read files through a spec and report what it finds.",
        discussion: """
            For every file: the records read per kind, whether the control totals the file \
            declares hold, the first records, and every problem with its line, field, raw value \
            and reason. The first records are those read, in file order, leaving out ignored kinds \
            (they are counted); problems are listed apart. The records' table shows values as read, \
            in the columns that fit 120 (--wide: every column). --json prints JSON lines instead: one object per record \
            (type "record", file, line, kind, fields by their canonical names, decimals as \
            integers in units of the field's scale, which "scales" gives per field: -16.85 at scale 4 \
            is -168500 with "scales": {"amount": 4}; at scale 2, minor units of the currency), then one per file (type "result": \
            counts, controls with declared and found at their scale, problems).

            Exit status: 0 when every file is clean; 1 when a record was rejected, a control \
            total failed or a file could not be read; 2 when the spec is unusable.
            """
    )

    @Argument(help: "The mapping spec (YAML).")
    var spec: String

    @Argument(help: "Partner files to read through it.")
    var files: [String]

    @Option(name: .long, help: "Show the first N records read, in file order, ignored kinds left out (default 5 as a table; every record with --json).")
    var show: Int?

    @Flag(name: .long, help: "Print records and results as JSON lines instead of tables (see above).")
    var json = false

    @Flag(name: .long, help: "Show every column of the records' table, however wide.")
    var wide = false

    @Flag(name: .long, help: "Stop reading a file at its first rejected record.")
    var stopAtFirstError = false

    @Option(name: .long, help: "Keep at most this many problems per file (counts stay exact).")
    var maxProblems = 100

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file to check") }
        if let show, show < 0 { throw ValidationError("--show takes a count of 0 or more") }
        if maxProblems < 1 { throw ValidationError("--max-problems takes a count of 1 or more") }
    }

    func run() throws {
        let loaded: MappingSpec
        do {
            loaded = try SpecFile.load(spec)
        } catch {
            printError("reckon: \(error)")
            throw unusableSpec
        }
        let options = CheckOptions(stopAtFirstError: stopAtFirstError, maxProblems: maxProblems)
        let limit = show ?? (json ? Int.max : 5)
        var clean = true
        for (index, file) in files.enumerated() {
            var shown: [ParsedRecord] = []
            var shownCount = 0
            let report = PartnerFile.check(file, spec: loaded, options: options) { record in
                // Ignored kinds (filler, banners) have no fields to show; they are counted.
                guard shownCount < limit, !loaded.kinds[record.kindIndex].ignored else { return }
                shownCount += 1
                if json {
                    print(JSONLines.record(record.materialize(), spec: loaded, file: file))
                } else {
                    shown.append(record.materialize())
                }
            }
            if json {
                print(JSONLines.result(report))
            } else {
                if index > 0 { print() }
                print(ReportText.render(report, spec: loaded, shown: shown, terminal: isTerminal,
                                        tableColumns: wide ? nil : outputColumns, moreColumnsHint: "; --wide shows them"))
            }
            clean = clean && report.isClean
        }
        if !clean { throw ExitCode(1) }
    }
}

struct SpecTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the examples each spec names and compare with what they declare.",
        discussion: """
            A spec's examples: section names sample files with the record counts, rejections, \
            control verdict and sums they must give. With no arguments every spec in mappings/ \
            is tested. Exit status: 0 when every example holds, 1 when one does not, 2 when a spec \
            is unusable.
            """
    )

    @Argument(help: "Specs to test (default: mappings/*.yaml).")
    var specs: [String] = []

    @Option(name: .long, help: "The folder of specs when none are named.")
    var mappings = "mappings"

    @Flag(help: """
        Print one JSON object instead of text: examples (spec, file, holds, summary, mismatches), held, \
        total, specs, unusable (specs that could not be loaded, with why). The exit status is the same.
        """)
    var json = false

    func run() throws {
        let paths = specs.isEmpty ? SpecDirectory.list(mappings) : specs
        if paths.isEmpty {
            printError("reckon: no specs found in \(mappings)/")
            throw unusableSpec
        }
        var outcomes: [ExampleOutcome] = []
        var unusable: [String] = []
        for path in paths {
            let spec: MappingSpec
            do {
                spec = try SpecFile.load(path)
            } catch {
                if !json { printError("✗ \(error)") }
                unusable.append("\(error)")
                continue
            }
            for outcome in SpecExamples.run(spec) {
                outcomes.append(outcome)
                guard !json else { continue }
                if outcome.holds {
                    print("✓ \(path)  \(outcome.file)  \(outcome.summary)")
                } else {
                    print("✗ \(path)  \(outcome.file)")
                    for mismatch in outcome.mismatches { print("    \(mismatch)") }
                }
            }
        }
        let held = outcomes.filter(\.holds).count
        if json {
            typealias J = JSONShape
            print(J.object([
                ("examples", J.array(outcomes.map {
                    J.object([("spec", J.string($0.spec)), ("file", J.string($0.file)), ("holds", J.bool($0.holds)),
                              ("summary", J.string($0.summary)), ("mismatches", J.strings($0.mismatches))])
                })),
                ("held", String(held)), ("total", String(outcomes.count)), ("specs", String(paths.count)),
                ("unusable", J.strings(unusable)),
            ]))
        } else {
            print("\(AmountText.grouped(held)) of \(Plural.count(outcomes.count, "example")) "
                  + "\(outcomes.count == 1 ? "holds" : "hold") in \(Plural.count(paths.count, "spec"))")
        }
        if !unusable.isEmpty { throw unusableSpec }
        if held < outcomes.count { throw ExitCode(1) }
    }
}
