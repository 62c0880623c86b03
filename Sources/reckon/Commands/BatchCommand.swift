import ArgumentParser
import ReckonCore
import ReckonFiles
import ReckonLedger
import ReckonSFTP
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
            record is present), after unpacking the partners' zip archives of the day (archives: in \
            reckon.yaml) into their drops, each once; a refused archive (a limit, a name with .., \
            a link) is quarantined whole with a report, raises inbound_archive_refused and fails \
            the run. ingest archives each file, reads it through its spec and posts it in one \
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
            one dead records it as interrupted and says what it takes again. Last, the run passes \
            each new alert to its code's command in reckon.yaml and writes the day's alerts to \
            <outbox>/alerts/<date>.jsonl (see reckon alerts).

            Exit status:
              0  succeeded: every file taken in and posted whole, every expected file there \
            (files of types not expected that day may still be waiting for a later run);
              1  failed: a file was refused, could not be taken in, or had records that were not \
            posted (a lenient file's rejected records and duplicates); an earlier version was sent \
            again; a refused file of the day awaits an operator; a step failed; an alert command \
            failed; or another run holds the ledger;
              2  the configuration cannot be used;
              3  incomplete: nothing failed, but expected files have not come (or are not \
            complete yet), a file is past its deadline, or a step was paused.

            Console switches: a step paused with reckon pause is skipped (a run already doing it \
            stops before its next file), and the run is incomplete and says which steps were paused \
            and by whom (reckon resume, reckon switches). At its end the run checks the expected \
            files' deadlines (expected: {…, by: "08:30"}, in reckon.yaml's timezone) against the \
            clock: a file past its deadline and not received raises file_late; one received since \
            clears it. When another process holds the ledger, --wait-for-lock waits for it a bounded \
            time; the refusal names the holder (pid, host, since when).
            """
    )

    @Option(help: "The business date, 2024-12-15 or 20241215.")
    var date: BusinessDate

    @Option(help: "The steps to run, comma-separated (\(BatchStep.allCases.map(\.rawValue).joined(separator: ", "))).")
    var steps: String = BatchStep.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Only this partner.")
    var partner: String?

    @Flag(help: "Collect and read the files through their specs, but post nothing and record nothing (no run, no archive copy).")
    var dryRun = false

    @Option(help: "How long to watch files whose size may still be changing, in seconds.")
    var waitSeconds: Double = 30

    @Flag(help: """
        Print one JSON object instead of text: run_id, business_date, status (succeeded, failed, incomplete; as \
        in reckon status --json), started_at, finished_at, \
        duration_seconds, recovered, archives (the day's inbound zips: unpacked, each with path, partner, archive, \
        entries, earlier; refused, each with path, partner, archive, entry, reason, quarantine, report, earlier; \
        null when none was ready), ready, waiting, unknown, files (each as reckon ingest --json), checked \
        (a dry run's files), failed, day (as in reckon status --json), plans, reconciliation (rules as in reckon \
        reconcile --json, new_alerts, summary), delivery (partners: partner, version, uploaded \
        remote paths; uploaded: their count; summary), incomplete_repayments, \
        alert_commands (ran, failed: the failures' messages), alert_file (path, alerts), errors, summary. The exit status is the same.
        """)
    var json = false

    @OptionGroup var lockWait: LockWaitOption

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
        var batchOptions = BatchHooks.options(date.date, steps: chosen, partner: partner, config: config)
        batchOptions.dryRun = dryRun
        batchOptions.maximumWaitSeconds = waitSeconds
        batchOptions.lockWaitSeconds = lockWait.seconds(config)
        do {
            report = try Batch.run(batchOptions, config: config, ledger: ledger) { progress.show($0) }
        } catch {
            progress.clear()
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        progress.clear()
        if json {
            print(BatchText.json(report, date: date.date, steps: chosen, partner: partner, dryRun: dryRun))
        } else {
            BatchText.show(report, date: date.date, steps: chosen, dryRun: dryRun)
        }
        switch report.outcome {
        case .succeeded: return
        case .failed: throw ExitCode.failure
        case .incomplete: throw ExitCode(3)
        }
    }
}

/// `reckon batch`'s report, as text and as JSON.
enum BatchText {
    /// The alerts of the plan step listed after its line, at most.
    static let alertsShown = 10

    /// A run's log: one line per item, never wrapped, so that a log can be searched line by
    /// line; the last is the outcome with the run's summary.
    static func show(_ report: BatchReport, date: CivilDate, steps: [BatchStep], dryRun: Bool) {
        let run = dryRun ? "dry run" : "batch run #\(report.runID ?? 0)"
        print("\(run) for \(date) (\(steps.map(\.rawValue).joined(separator: ",")))")
        if !report.pausedSwitches.isEmpty { print("⏸ " + SwitchText.paused(report.pausedSwitches) + "; skipped (reckon resume STEP)") }
        if !report.filesLeftByPause.isEmpty {
            print("⏸ ingest paused while the run took the files: \(Plural.count(report.filesLeftByPause.count, "file")) left in their drops")
            for path in report.filesLeftByPause { print("  … \(DisplayText.escaped(path))") }
        }
        for line in report.recovered { print("recovered: \(line)") }
        for archive in report.archives?.unpacked ?? [] {
            print("  ⇣ \(DisplayText.escaped(archive.path)) (\(archive.partner)/\(archive.archiveType)): "
                  + (archive.earlier ? "unpacked on an earlier run" : "unpacked \(Plural.count(archive.entries.count, "entry"))")
                  + ": " + archive.entries.map { DisplayText.escaped($0) }.joined(separator: ", "))
        }
        print("collected: \(AmountText.grouped(report.collected.ready.count)) ready, \(AmountText.grouped(report.collected.waiting.count)) waiting")
        for file in report.collected.waiting { print("  … \(file.path): waiting, \(file.reason)") }
        for path in report.collected.unknown { print("  ? \(path): fits no file type of its partner") }
        for result in report.ingested { print(IngestText.render(result)) }
        for failed in report.failedFiles { print("✗ \(DisplayText.escaped(failed.path)) (\(failed.partner)/\(failed.fileType)): could not be taken in: \(failed.reason)") }
        for checked in report.checked {
            print("\(checked.isClean ? "✓" : "✗") \(checked.file): \(Plural.count(checked.recordsRead, "record")) read, "
                  + "\(AmountText.grouped(checked.recordsRejected)) rejected\(checked.controlsHold ? "" : ", control totals fail")"
                  + (checked.warningCount > 0 ? ", \(Plural.count(checked.warningCount, "warning"))" : ""))
        }
        if let day = report.day { print(DayText.render(day, skipping: Set(report.ingested.compactMap(\.fileID))), terminator: "") }
        if let plans = report.plans {
            print("plans: \(plans.summary)")
            for alert in plans.alerts.prefix(alertsShown) { print("  ! \(alert)") }
            if plans.alertCount > alertsShown {
                print("  … \(Plural.count(plans.alertCount - alertsShown, "more alert")) (reckon plan alerts --date \(date))")
            }
        }
        if !report.incompleteRepayments.isEmpty {
            print("plans made over incomplete repayments:")
            for line in report.incompleteRepayments { print("  ! \(line)") }
        }
        if let reconciliation = report.reconciliation, reconciliation.rules.contains(where: { !$0.skipped }) {
            var line = "reconciliation: \(reconciliation.summary)"
            if reconciliation.newAlerts > 0 { line += ", \(Plural.count(reconciliation.newAlerts, "new alert"))" }
            print(line)
            if reconciliation.openBreaks > 0 { print("  breaks: reckon breaks list; the day's report: reckon report --date \(date)") }
        }
        if let delivery = report.delivery {
            print("delivery: \(delivery.summary)")
            for path in delivery.partners.flatMap(\.uploaded) { print("  ↑ \(path)") }
        }
        if let commands = report.alertCommands, commands.ran > 0 {
            print("alert commands: \(AmountText.grouped(commands.ran)) run, \(AmountText.grouped(commands.failures.count)) failed")
        }
        for file in report.lateFiles { print("⏰ late: \(file)") }
        if let path = report.alertFile { print("alerts of the day: \(Plural.count(report.alertFileCount, "alert")) in \(path)") }
        let fileErrors = Set(report.failedFiles.map(\.description))
        for error in report.errors where !fileErrors.contains(error) { print("✗ \(error)") }
        if let finished = report.finishedAt {
            print("\(run) " + TimeText.span(started: report.startedAt, finished: finished))
        }
        if dryRun {
            print("dry run: nothing posted, nothing recorded; \(Plural.count(report.checked.count, "file")) read, "
                  + "\(AmountText.grouped(report.checked.filter { !$0.isClean }.count)) not clean, "
                  + "\(AmountText.grouped(report.failedFiles.count)) could not be read")
        } else {
            print("\(report.outcome.rawValue): " + Batch.summary(report))
        }
    }

    /// The deliver step's outcome: partners (partner, version, uploaded remote paths),
    /// uploaded (their count), summary.
    static func delivery(_ delivery: DeliverReport) -> String {
        typealias J = JSONShape
        return J.object([("partners", J.array(delivery.partners.map { partner in
            J.object([("partner", J.string(partner.partner)), ("version", J.number(partner.version)),
                      ("uploaded", J.strings(partner.uploaded))])
        })), ("uploaded", String(delivery.uploadCount)), ("summary", J.string(delivery.summary))])
    }

    static func json(_ report: BatchReport, date: CivilDate, steps: [BatchStep], partner: String?, dryRun: Bool) -> String {
        typealias J = JSONShape
        let ready = report.collected.ready.map {
            J.object([("path", J.string($0.path)), ("partner", J.string($0.partner)), ("file_type", J.string($0.fileType))])
        }
        let waiting = report.collected.waiting.map {
            J.object([("path", J.string($0.path)), ("partner", J.string($0.partner)), ("file_type", J.string($0.fileType)),
                      ("reason", J.string($0.reason))])
        }
        let checked = report.checked.map { J.object([("file", J.string($0.file)), ("clean", J.bool($0.isClean))] + J.check($0)) }
        let failed = report.failedFiles.map {
            J.object([("path", J.string($0.path)), ("partner", J.string($0.partner)), ("file_type", J.string($0.fileType)),
                      ("reason", J.string($0.reason))])
        }
        return J.object([
            ("run_id", J.number(report.runID)), ("business_date", J.string(date.description)), ("dry_run", J.bool(dryRun)),
            ("steps", J.strings(steps.map(\.rawValue))), ("partner", J.string(partner)),
            ("status", J.string(report.outcome.rawValue)),
            ("started_at", J.string(report.startedAt)), ("finished_at", J.string(report.finishedAt)),
            ("duration_seconds", J.number(TimeText.seconds(from: report.startedAt, to: report.finishedAt))),
            ("recovered", J.strings(report.recovered)),
            ("archives", report.archives.map { archives in
                J.object([
                    ("unpacked", J.array(archives.unpacked.map {
                        J.object([("path", J.string($0.path)), ("partner", J.string($0.partner)), ("archive", J.string($0.archiveType)),
                                  ("entries", J.strings($0.entries)), ("earlier", J.bool($0.earlier))])
                    })),
                    ("refused", J.array(archives.refused.map {
                        J.object([("path", J.string($0.path)), ("partner", J.string($0.partner)), ("archive", J.string($0.archiveType)),
                                  ("entry", J.string($0.entry)), ("reason", J.string($0.reason)),
                                  ("quarantine", J.string($0.quarantinePath)), ("report", J.string($0.reportPath)),
                                  ("earlier", J.bool($0.earlier))])
                    })),
                ])
            } ?? "null"),
            ("ready", J.array(ready)), ("waiting", J.array(waiting)), ("unknown", J.strings(report.collected.unknown)),
            ("files", J.array(report.ingested.map(J.ingest))), ("checked", J.array(checked)), ("failed", J.array(failed)),
            ("day", report.day.map(DayText.json) ?? "null"), ("plans", report.plans.map(J.plans) ?? "null"),
            ("reconciliation", report.reconciliation.map { reconciliation in
                J.object([("rules", J.array(reconciliation.rules.map(ReconcileText.rule))),
                          ("new_alerts", J.number(reconciliation.newAlerts)), ("summary", J.string(reconciliation.summary))])
            } ?? "null"),
            ("delivery", report.delivery.map(delivery) ?? "null"),
            ("incomplete_repayments", J.strings(report.incompleteRepayments)),
            ("paused_steps", J.array(report.pausedSwitches.map { J.object(SwitchText.item($0)) })),
            ("left_by_pause", J.strings(report.filesLeftByPause)),
            ("late", J.array(report.lateFiles.map(DayText.late))),
            ("alert_commands", report.alertCommands.map {
                J.object([("ran", String($0.ran)), ("failed", J.strings($0.failures))])
            } ?? "null"),
            ("alert_file", report.alertFile.map { J.object([("path", J.string($0)), ("alerts", String(report.alertFileCount))]) } ?? "null"),
            ("errors", J.strings(report.errors)),
            ("summary", dryRun ? "null" : J.string(Batch.summary(report))),
        ])
    }
}

/// The deliver step's uploads over a partner's SFTP drop (its server, user, key and pinned
/// host key), through ReckonSFTP's ``SFTPSetDelivery``: names checked first, the remote folder
/// made when missing, each upload tried again with backoff on a retryable error, in order,
/// stopping at the first failure so that the marker never goes after a failed file. The
/// deliver step's crash points are hit here, where the files go up.
enum SFTPDelivery {
    static func deliver(_ delivery: OutboundDelivery, config: ReckonConfig) -> OutboundDelivered {
        guard let drop = config.partner(delivery.partner)?.sftp else {
            return OutboundDelivered(problem: "\(delivery.partner) has no SFTP drop to deliver to")
        }
        let files = delivery.files.map { SetFile(localPath: $0.localPath, name: $0.name) }
        let delivered = SFTPSetDelivery(log: { printError($0) })
            .deliver(files, to: delivery.remoteFolder, marker: delivery.markerName, settings: SFTPDropFetcher.settings(drop)) { _ in
                CrashPoints.hit(.deliverFileUploaded)
            }
        return OutboundDelivered(remotePaths: delivered.remotePaths, problem: delivered.problem)
    }
}
