import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// How runs end and what a day still lacks: interrupted runs, one writer, failed files,
/// expected files, plans over incomplete repayments (issue 9, items 9, 13, 17 and 18).
@Suite("Runs and days", .serialized)
struct RunStateTests {
    let sampleDay = CivilDate(year: 2024, month: 12, day: 16)!

    /// A process id that is not running: a child that has exited.
    func deadPID() throws -> Int64 {
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        return Int64(gone.processIdentifier)
    }

    /// A run row as a process killed during its ingest step leaves it: still running, its
    /// collect step done (two files ready), neither taken in yet.
    func leaveADeadRun(_ ledger: Ledger, _ folder: DayFolder, pid: Int64) throws -> Int64 {
        let inbox = folder.root + "/inbox/platform/"
        return try ledger.write { db in
            try db.execute(sql: """
                INSERT INTO batch_run (business_date, steps, dry_run, status, started_at, pid, host)
                VALUES ('2024-11-15', 'collect,ingest,plan', 0, 'running', '2024-11-16T01:00:00Z', ?, ?)
                """, arguments: [pid, ProcessState.hostName])
            let run = db.lastInsertedRowID
            try db.execute(sql: """
                INSERT INTO batch_step (run_id, step, status, started_at, finished_at, detail)
                VALUES (?, 'collect', 'succeeded', '2024-11-16T01:00:00Z', '2024-11-16T01:00:01Z', ?)
                """, arguments: [run, "ready\tplatform/loans\t\(inbox)PLAT_LOAN_20241115.csv\nready\tplatform/repayments\t\(inbox)PLAT_REPAY_20241115.csv"])
            try db.execute(sql: "INSERT INTO batch_step (run_id, step, status, started_at) VALUES (?, 'ingest', 'running', '2024-11-16T01:00:01Z')",
                           arguments: [run])
            return run
        }
    }

    @Test func aRunWhoseProcessIsGoneIsInterruptedAndTheNextRunSaysWhatItRecovered() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        let ledger = try folder.ledger()
        let pid = try deadPID()
        let dead = try leaveADeadRun(ledger, folder, pid: pid)
        // Nobody holds the writer lock and its pid is gone: status shows it interrupted.
        let shown = try #require(try ledger.batchRuns().first)
        #expect(shown.status == "running" && shown.isGone && shown.state == "interrupted" && shown.lastStep == "ingest")

        let report = try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: folder.config, ledger: ledger)
        let host = ProcessState.hostName
        #expect(report.recovered == ["run \(dead) of 2024-11-15 was interrupted during ingest (pid \(pid) on \(host), started 2024-11-16T01:00:00Z); "
                                     + "its files PLAT_LOAN_20241115.csv, PLAT_REPAY_20241115.csv were not posted and are taken again"])
        #expect(report.ingested.map(\.outcome) == [.posted])
        let runs = try ledger.batchRuns()
        #expect(runs.map(\.state) == ["succeeded", "interrupted"])
        #expect(runs.last?.summary == report.recovered.first)
        let steps = try ledger.read { db in try String.fetchAll(db, sql: "SELECT status FROM batch_step WHERE run_id = ? ORDER BY id", arguments: [dead]) }
        #expect(steps == ["succeeded", "interrupted"])
        // Recovered once: the next run has nothing to say.
        #expect(try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: folder.config, ledger: ledger).recovered.isEmpty)
    }

    @Test func aRunOfAnotherDayNamesTheRunThatTakesItsFiles() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        let ledger = try folder.ledger()
        let dead = try leaveADeadRun(ledger, folder, pid: try deadPID())
        let report = try Batch.run(BatchOptions(date: CivilDate(year: 2024, month: 12, day: 15)!, partner: "platform"), config: folder.config, ledger: ledger)
        #expect(report.recovered.first?.hasPrefix("run \(dead) of 2024-11-15 was interrupted during ingest (") == true)
        #expect(report.recovered.first?.hasSuffix("its files PLAT_LOAN_20241115.csv, PLAT_REPAY_20241115.csv were not posted and wait for `reckon batch --date 2024-11-15`") == true)
    }

    @Test func oneWriterAtATimeAndARunningRowIsRunningOnlyWhileItsProcessHoldsTheLock() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        let ledger = try folder.ledger()
        // A row of this (live) process: running while the lock is held, gone when it is not.
        let run = try leaveADeadRun(ledger, folder, pid: Int64(getpid()))
        let lock = try WriterLock.acquire(ledger)
        #expect(try ledger.batchRuns().first.map { "\($0.state) \($0.isGone)" } == "running false")
        let refusal = "another reckon process is writing the ledger \(ledger.path) (batch run #\(run) for 2024-11-15, "
            + "pid \(getpid()) on \(ProcessState.hostName), started 2024-11-16T01:00:00Z); one writer at a time: try again when it ends"
        do {
            _ = try Batch.run(BatchOptions(date: disbursementDay), config: folder.config, ledger: ledger)
            Issue.record("a second writer ran")
        } catch {
            #expect(error.message == refusal)
        }
        // The lock, taken through another connection of this process, says the same.
        let second = try #require(throws: LedgerError.self) { try WriterLock.acquire(try Ledger(path: ledger.path)) }
        #expect(second.message == refusal)
        lock.release()
        #expect(try ledger.batchRuns().first.map { "\($0.state) \($0.isGone)" } == "interrupted true")
        #expect(!WriterLock.isHeld(ledgerPath: ledger.path))
    }

    @Test func aRunThatCouldNotRecordItsEndLeavesItsLastWordsForTheNextRun() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        let ledger = try folder.ledger()
        let run = try leaveADeadRun(ledger, folder, pid: try deadPID())
        let reason = "0 posted, 0 repeated, 0 rejected, 1 failed, 0 waiting; 1 file could not be taken in (…: database or disk is full)"
        do {
            let lock = try WriterLock.acquire(ledger)
            #expect(lock.writeNote(.init(runID: run, status: "failed", reason: reason)))
        }
        let shown = try #require(try ledger.batchRuns().first)
        #expect(shown.state == "failed" && shown.lastWords?.reason == reason)
        let report = try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: folder.config, ledger: ledger)
        #expect(report.recovered.count == 1 && report.recovered[0].hasSuffix(" failed: \(reason)"))
        let recorded = try #require(try ledger.batchRuns().last)
        #expect(recorded.status == "failed")
        #expect(recorded.summary == reason + " (recorded by the next run: the ledger could not be written as the run ended)")
        #expect(WriterLock.note(ledgerPath: ledger.path) == nil)
    }

    @Test func aRunWhereEveryFileFailedCountsThemAndSaysWhy() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady) { yaml in
            yaml.replacingOccurrences(of: "mappings/platform-loans", with: "mappings/gone-platform-loans")
                .replacingOccurrences(of: "mappings/platform-repayments", with: "mappings/gone-platform-repayments")
        }
        let ledger = try folder.ledger()
        let report = try Batch.run(BatchOptions(date: sampleDay.adding(days: -1)!, steps: [.collect, .ingest], partner: "platform"),
                                   config: folder.config, ledger: ledger)
        #expect(report.failedFiles.count == 1)
        #expect(report.outcome == .failed)
        let spec = repositoryRoot + "/mappings/gone-platform-repayments.yaml"
        let reason = try #require(report.failedFiles.first?.reason)
        #expect(reason.hasPrefix(spec))
        #expect(Batch.summary(report) == "0 posted, 0 repeated, 0 rejected, 1 failed, 0 waiting; 1 file could not be taken in "
                + "(\(folder.root)/inbox/platform/PLAT_REPAY_20241215.csv: \(reason))")
        #expect(try ledger.batchRuns().first.map { "\($0.status): \($0.summary ?? "")" } == "failed: " + Batch.summary(report))
    }

    // MARK: Expected files

    /// The generated sample day (and its history) in a folder configured as shipped,
    /// expected files included.
    func sampleDay(repayments change: ((String) throws -> String)? = nil) throws -> (DayFolder, Ledger) {
        let folder = try DayFolder(readiness: PlanStepTests.allReady, copy: false, expectedFiles: true)
        let written = try SampleDay(date: sampleDay, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/inbox")
        if let change {
            let path = folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv"
            try change(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
        }
        let ledger = try folder.ledger()
        for earlier in written.historyDays {
            let report = try Batch.run(BatchOptions(date: earlier), config: folder.config, ledger: ledger)
            #expect(report.outcome == .succeeded, "\(earlier): \(Batch.summary(report))")
        }
        return (folder, ledger)
    }

    @Test func aDayWithoutItsExpectedFilesIsIncompleteAndRaisesAnAlertForEach() throws {
        let (folder, ledger) = try sampleDay()
        let complete = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(complete.outcome == .succeeded, "\(Batch.summary(complete))")
        #expect(complete.day?.isComplete == true)

        // The next day, a Tuesday, nothing comes.
        let tuesday = sampleDay.adding(days: 1)!
        let empty = try Batch.run(BatchOptions(date: tuesday), config: folder.config, ledger: ledger)
        #expect(empty.outcome == .incomplete)
        #expect(empty.day?.missing.map(\.description) == [
            "platform/loans PLAT_LOAN_20241217.csv (expected every day from 2024-12-16)",
            "platform/repayments PLAT_REPAY_20241217.csv (expected every day from 2024-12-16)",
            "bank/plans BANK_PLAN_20241217.txt (expected every day from 2024-12-16)",
            "bank/settlements BANK_SETTLE_20241217.txt (expected on working days from 2024-12-16)",
            "bank/statements BANK_STMT_20241217.xml (expected on working days from 2024-12-16)",
            "channel/bills PAY_BILL_20241217.csv (expected every day from 2024-12-16)",
            "core/loan_ledger CORE_LOAN_20241217.txt (expected on working days from 2024-12-16)",
        ])
        #expect(Batch.summary(empty).contains("; 7 expected files missing: PLAT_LOAN_20241217.csv, PLAT_REPAY_20241217.csv, "
                                             + "BANK_PLAN_20241217.txt, BANK_SETTLE_20241217.txt, BANK_STMT_20241217.xml, PAY_BILL_20241217.csv, CORE_LOAN_20241217.txt;"))
        #expect(try ledger.batchRuns().first?.status == "incomplete")
        let missingAlerts = try ledger.alerts(date: tuesday).filter { $0.kind == "file_missing" }
        #expect(missingAlerts.count == 7)
        #expect(missingAlerts.first { $0.subject == "bank/statements/2024-12-17" }?.message
                == "bank/statements 2024-12-17: BANK_STMT_20241217.xml has not come (expected on working days from 2024-12-16)")
        // The plans were made without the day's repayments: said, and an alert.
        #expect(empty.incompleteRepayments == ["platform/repayments 2024-12-17: the day's repayments are incomplete: PLAT_REPAY_20241217.csv "
                                               + "has not come; the plans, overdue status and penalty as of 2024-12-17 were worked out without it "
                                               + "and may change when it comes"])

        // On a Saturday only the every-day files are expected.
        let saturday = CivilDate(year: 2024, month: 12, day: 21)!
        let weekend = try Batch.run(BatchOptions(date: saturday, steps: [.collect, .ingest]), config: folder.config, ledger: ledger)
        #expect(weekend.day?.missing.map(\.fileType) == ["loans", "repayments", "plans", "bills"])

        // The loans file comes late, the core system's loan ledger is set aside: neither is
        // missing any more, and their alerts are cleared.
        try FileManager.default.copyItem(atPath: folder.root + "/inbox/platform/PLAT_LOAN_20241216.csv",
                                         toPath: folder.root + "/inbox/platform/PLAT_LOAN_20241217.csv")
        let empty2 = try String(contentsOfFile: folder.root + "/inbox/platform/PLAT_LOAN_20241217.csv", encoding: .utf8)
        try (empty2.split(separator: "\n").prefix(1).joined() + "\n#TOTAL,0,0.00\n")
            .write(toFile: folder.root + "/inbox/platform/PLAT_LOAN_20241217.csv", atomically: true, encoding: .utf8)
        _ = try ledger.setAsideMissing(partner: "core", fileType: "loan_ledger", date: tuesday, reason: "core system outage", actor: "dave")
        let later = try Batch.run(BatchOptions(date: tuesday), config: folder.config, ledger: ledger)
        #expect(later.ingested.map(\.outcome) == [.posted], "\(later.ingested.map { IngestResultText.text($0) })")
        #expect(later.day?.missing.map(\.fileType) == ["repayments", "plans", "settlements", "statements", "bills"])
        #expect(later.day?.setAside.map { "\($0.partner)/\($0.fileType) \($0.actor): \($0.reason)" } == ["core/loan_ledger dave: core system outage"])
        let cleared = try ledger.alerts(date: tuesday).filter { $0.clearedOn != nil }.map(\.subject)
        #expect(cleared == ["core/loan_ledger/2024-12-17", "platform/loans/2024-12-17"])
    }

    @Test func plansOverARefusedRepaymentsFileSayTheDayIsIncompleteAndNameTheFile() throws {
        // The platform's repayments of the day declare one record too many.
        let (folder, ledger) = try sampleDay { text in
            let total = try #require(text.split(separator: "\n").last { $0.hasPrefix("#TOTAL,") })
            let count = try #require(Int(try total.split(separator: ",").element(at: 1)))
            return text.replacingOccurrences(of: "#TOTAL,\(count),", with: "#TOTAL,\(count + 1),")
        }
        let report = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(report.outcome == .failed)
        let refused = try #require(report.ingested.first { $0.fileType == "repayments" })
        #expect(refused.outcome == .rejected)
        // The plan step ran all the same.
        #expect(report.plans?.planned == 20)
        let sha = try FileDigest(path: folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv").hex.prefix(12)
        let message = "platform/repayments 2024-12-16: the day's repayments are incomplete: PLAT_REPAY_20241216.csv "
            + "(file #\(refused.fileID!), SHA-256 \(sha)…) was refused (report: \(refused.reportPath!)); the plans, overdue status "
            + "and penalty as of 2024-12-16 were worked out without it and may change when it is posted"
        #expect(report.incompleteRepayments == [message])
        #expect(Batch.summary(report).contains("; plans made over incomplete repayments (1); "))
        #expect(try ledger.incompleteRepayments(partner: "platform", through: sampleDay).map(\.message) == [message])
        #expect(try ledger.incompleteRepayments(partner: "platform", through: sampleDay.adding(days: -1)).isEmpty)
        #expect(try ledger.incompleteRepayments(partner: "bank", through: sampleDay).isEmpty)

        // The platform sends the day right: posted, and the alert is cleared.
        let written = try SampleDay(date: sampleDay, loans: 20, mappings: repositoryRoot + "/mappings").write(into: folder.root + "/fresh")
        _ = written
        try FileManager.default.removeItem(atPath: folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv")
        try FileManager.default.copyItem(atPath: folder.root + "/fresh/platform/PLAT_REPAY_20241216.csv",
                                         toPath: folder.root + "/inbox/platform/PLAT_REPAY_20241216.csv")
        let again = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(again.outcome == .succeeded, "\(Batch.summary(again))")
        #expect(try ledger.incompleteRepayments(partner: "platform", through: sampleDay).isEmpty)
        #expect(try ledger.alerts().filter { $0.kind == "repayments_incomplete" }.map(\.clearedOn) == ["2024-12-16"])
    }
}

enum IngestResultText {
    static func text(_ result: IngestResult) -> String {
        "\(result.outcome) \(result.file) \(result.report.map { $0.problems.map(\.description).joined(separator: "; ") } ?? "")"
    }
}
