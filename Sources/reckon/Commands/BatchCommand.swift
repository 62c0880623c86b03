import ArgumentParser
import ReckonCore
import ReckonFiles
import ReckonLedger
#if canImport(Glibc)
import Glibc
#endif

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run a business day: collect the partners' files, ingest them, bring plans to the day.",
        discussion: """
            collect takes every partner file for the day from its drop once it is complete (its \
            marker file is there, its size has stayed the same for its type's time, or its trailer \
            record is present); ingest archives each, reads it through its spec and posts it in one \
            transaction. Running a day again posts nothing twice: repeated files are recognised, and \
            a corrected re-send supersedes the earlier file. plan makes and stores the plans of the \
            loans disbursed that day, applies the day's repayments to plan lines, accrues overdue \
            status and penalty interest as of the day, compares partners' plans with ours and raises \
            an alert for a loan disbursed the day before without a partner plan (see reckon plan). \
            Every run is recorded (see reckon status).

            The day's files are checked against what reckon.yaml expects of each file type \
            (expected: every-day, working-days or on-demand): an expected file that has not come \
            is listed and raises a file_missing alert. A file refused on an earlier run is tried \
            again; it keeps the day from succeeding until it posts or an operator sets it aside \
            (reckon files set-aside). An earlier version of a file sent again after its correction \
            is not posted: it raises an earlier_version_resent alert (reckon files reinstate makes \
            it current again). One run writes the ledger at a time; a run that finds an earlier \
            one dead records it as interrupted and says what it takes again.

            Exit status:
              0  succeeded: every file taken in and posted whole, every expected file there \
            (files of types not expected that day may still be waiting for a later run);
              1  failed: a file was refused, could not be taken in, or had records that were not \
            posted (a lenient file's rejected records and duplicates); an earlier version was sent \
            again; a refused file of the day awaits an operator; a step failed; or another run \
            holds the ledger;
              2  the configuration cannot be used;
              3  incomplete: nothing failed, but expected files have not come (or are not \
            complete yet).
            """
    )

    @Option(help: "The business date, 2024-12-15 or 20241215.")
    var date: BusinessDate

    @Option(help: "The steps to run, comma-separated (\(BatchStep.allCases.map(\.rawValue).joined(separator: ", "))).")
    var steps: String = BatchStep.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Only this partner.")
    var partner: String?

    @Flag(help: "Collect and read the files, but post and record nothing.")
    var dryRun = false

    @Option(help: "How long to watch files whose size may still be changing, in seconds.")
    var waitSeconds: Double = 30

    @OptionGroup var options: ConfigOptions

    func run() throws {
        var chosen: [BatchStep] = []
        for name in steps.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let step = BatchStep(rawValue: name) else {
                throw ValidationError("unknown step '\(name)'; the steps are \(BatchStep.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            chosen.append(step)
        }
        let config = try options.load()
        if let partner, config.partner(partner) == nil {
            throw ValidationError("no partner '\(partner)'; the configuration has \(config.partners.map(\.id).joined(separator: ", "))")
        }
        let ledger = try options.ledger(config)
        let progress = ProgressLine()
        let report: BatchReport
        do {
            report = try Batch.run(BatchOptions(date: date.date, steps: chosen, partner: partner, dryRun: dryRun,
                                                maximumWaitSeconds: waitSeconds),
                                   config: config, ledger: ledger) { progress.show($0) }
        } catch {
            progress.clear()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        progress.clear()

        let title = dryRun ? "dry run for \(date.date)" : "batch run #\(report.runID ?? 0) for \(date.date)"
        for line in report.recovered { print("recovered: \(line)") }
        print("\(title): \(report.collected.ready.count) ready, \(report.collected.waiting.count) waiting")
        for file in report.collected.waiting { print("  … \(file.path): waiting, \(file.reason)") }
        for path in report.collected.unknown { print("  ? \(path): fits no file type of its partner") }
        for result in report.ingested { print(IngestText.render(result)) }
        for failed in report.failedFiles { print("✗ \(failed.path) (\(failed.partner)/\(failed.fileType)): could not be taken in: \(failed.reason)") }
        for checked in report.checked {
            print("\(checked.isClean ? "✓" : "✗") \(checked.file): \(checked.recordsRead) records read, \(checked.recordsRejected) rejected\(checked.controlsHold ? "" : ", control totals fail")")
        }
        if let day = report.day { print(DayText.render(day, skipping: Set(report.ingested.compactMap(\.fileID))), terminator: "") }
        if let plans = report.plans {
            print("plans: \(plans.summary)")
            let shown = 10
            for alert in plans.alerts.prefix(shown) { print("  ! \(alert)") }
            if plans.alertCount > shown { print("  … \(plans.alertCount - shown) more alerts (reckon plan alerts --date \(date.date))") }
        }
        for line in report.incompleteRepayments { print("  ! \(line)") }
        let fileErrors = Set(report.failedFiles.map(\.description))
        for error in report.errors where !fileErrors.contains(error) { print("✗ \(error)") }
        if !dryRun { print("\(report.outcome.rawValue): " + Batch.summary(report)) }
        switch report.outcome {
        case .succeeded: return
        case .failed: throw ExitCode.failure
        case .incomplete: throw ExitCode(3)
        }
    }
}
