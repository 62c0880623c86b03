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

            Exit status: 0 when nothing was rejected (files still waiting are collected by a later \
            run), 1 otherwise, 2 for an unusable configuration.
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
        print("\(title): \(report.collected.ready.count) ready, \(report.collected.waiting.count) waiting")
        for file in report.collected.waiting { print("  … \(file.path): waiting, \(file.reason)") }
        for path in report.collected.unknown { print("  ? \(path): fits no file type of its partner") }
        for result in report.ingested { print(IngestText.render(result)) }
        for checked in report.checked {
            print("\(checked.isClean ? "✓" : "✗") \(checked.file): \(checked.recordsRead) records read, \(checked.recordsRejected) rejected\(checked.controlsHold ? "" : ", control totals fail")")
        }
        if let plans = report.plans {
            print("plans: \(plans.summary)")
            let shown = 10
            for alert in plans.alerts.prefix(shown) { print("  ! \(alert)") }
            if plans.alertCount > shown { print("  … \(plans.alertCount - shown) more alerts (reckon plan alerts --date \(date.date))") }
        }
        for error in report.errors { print("✗ \(error)") }
        if !dryRun { print(Batch.summary(report)) }
        if !report.succeeded { throw ExitCode.failure }
    }
}
