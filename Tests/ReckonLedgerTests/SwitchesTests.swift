import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// The console switches (seed 000 §17; issue 12 item 5): kept in the ledger with who, when
/// and why, every change in their history; honoured by a run at its start, before each step
/// and at each file boundary; a run that skipped a step is incomplete, never a success.
@Suite("Console switches", .serialized)
struct SwitchesTests {
    @Test func aPauseAndAResumeAreKeptWithWhoWhenAndWhy() throws {
        let folder = try DayFolder(copy: false)
        let ledger = try folder.ledger()
        #expect(try ledger.pausedSteps().isEmpty)
        #expect(try ledger.stepSwitches().map(\.description) == BatchStep.allCases.map { "\($0.rawValue): running" })

        let paused = try ledger.setStep(.ingest, paused: true, actor: "alice", note: "bank file late", at: "2026-12-01T02:10:00Z")
        #expect(paused?.description == "#1 2026-12-01T02:10:00Z alice paused ingest (bank file late)")
        // Pausing it again changes nothing and records nothing: the first pause stands.
        #expect(try ledger.setStep(.ingest, paused: true, actor: "bob", note: nil, at: "2026-12-01T02:11:00Z") == nil)
        try ledger.setStep(.deliver, paused: true, actor: "bob", note: "  ", at: "2026-12-01T02:12:00Z")
        #expect(try ledger.pausedSteps() == [.ingest, .deliver])
        #expect(try ledger.stepSwitches().filter(\.paused).map(\.description) == [
            "ingest: paused by alice at 2026-12-01T02:10:00Z (bank file late)", "deliver: paused by bob at 2026-12-01T02:12:00Z",
        ])
        try ledger.setStep(.ingest, paused: false, actor: "carol", note: "file came", at: "2026-12-01T02:30:00Z")
        #expect(try ledger.pausedSteps() == [.deliver])
        #expect(try ledger.stepSwitches().first { $0.step == .ingest }?.description
                == "ingest: running, resumed by carol at 2026-12-01T02:30:00Z (file came)")
        #expect(try ledger.stepSwitchChanges().map(\.description) == [
            "#3 2026-12-01T02:30:00Z carol resumed ingest (file came)",
            "#2 2026-12-01T02:12:00Z bob paused deliver",
            "#1 2026-12-01T02:10:00Z alice paused ingest (bank file late)",
        ])
        // A reader sees them too (status, switches), and never waits for a writer.
        #expect(try Ledger(readingFrom: ledger.path).pausedSteps() == [.deliver])
    }

    @Test func aPausedStepIsSkippedAndTheRunIsIncompleteNamingWhoPausedIt() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        let ledger = try folder.ledger()
        try ledger.setStep(.plan, paused: true, actor: "alice", note: "month-end check", at: "2026-12-01T02:10:00Z")
        let options = BatchOptions(date: disbursementDay, steps: [.collect, .ingest, .plan], partner: "platform")
        let report = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(report.pausedSteps == [.plan])
        #expect(report.plans == nil)
        #expect(report.ingested.map(\.outcome) == [.posted])
        #expect(report.outcome == .incomplete)
        #expect(Batch.summary(report) == "1 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; paused: plan (by alice at 2026-12-01T02:10:00Z)")
        let run = try #require(try ledger.batchRuns().first)
        #expect(run.status == "incomplete" && run.summary == Batch.summary(report))
        let steps = try ledger.read { db in
            try Row.fetchAll(db, sql: "SELECT step, status, detail FROM batch_step WHERE run_id = ? ORDER BY id", arguments: [run.id])
                .map { "\($0[0] as String) \($0[1] as String)" + ($0[0] == "plan" ? ": \($0[2] as String)" : "") }
        }
        #expect(steps == ["collect succeeded", "ingest succeeded",
                          "plan skipped: paused: plan: paused by alice at 2026-12-01T02:10:00Z (month-end check)"])

        // Resumed, the day's run does the step and succeeds (the file is not posted twice).
        try ledger.setStep(.plan, paused: false, actor: "alice", note: nil)
        let again = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(again.pausedSteps.isEmpty && again.plans != nil)
        #expect(again.ingested.map(\.outcome) == [.repeated])
        #expect(again.outcome == .succeeded)
    }

    @Test func aStepPausedWhileTheRunIngestsStopsBeforeTheNextFile() throws {
        let folder = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"])
        let ledger = try folder.ledger()
        // Another process (another connection) pauses ingest while the run takes its first file.
        let console = try Ledger(path: ledger.path)
        let report = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest]), config: folder.config, ledger: ledger) { progress in
            if progress.isStage, progress.text.hasPrefix("ingest 1 of ") {
                _ = try? console.setStep(.ingest, paused: true, actor: "alice", note: nil, at: "2026-12-01T02:10:00Z")
            }
        }
        let ready = report.collected.ready.map(\.path)
        try #require(ready.count == 6)
        // The first file was taken whole; the others wait in their drops for the next run.
        #expect(report.ingested.count == 1 && report.ingested[0].file == ready[0])
        #expect(report.filesLeftByPause == Array(ready.dropFirst()))
        #expect(report.pausedSteps == [.ingest])
        #expect(report.outcome == .incomplete)
        #expect(Batch.summary(report).contains("; paused: ingest (by alice at 2026-12-01T02:10:00Z); "
                                               + "ingest paused before 5 files, left in their drops"))
        let detail = try ledger.read { db in
            try String.fetchOne(db, sql: "SELECT detail FROM batch_step WHERE step = 'ingest' ORDER BY id DESC LIMIT 1")
        }
        #expect(detail?.hasSuffix("paused before 5 files: " + ready.dropFirst().joined(separator: ", ")) == true)

        // Resumed, the next run takes the five.
        try console.setStep(.ingest, paused: false, actor: "alice", note: nil)
        let next = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest]), config: folder.config, ledger: ledger)
        #expect(next.pausedSteps.isEmpty && next.filesLeftByPause.isEmpty)
        #expect(next.ingested.filter { $0.outcome != .repeated }.count == 5)
    }

    @Test func pausedCollectTakesNothingFromTheDropsAndJudgesNoFileMissing() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady, expectedFiles: true)
        let ledger = try folder.ledger()
        try ledger.setStep(.collect, paused: true, actor: "ops", note: "SFTP maintenance", at: "2026-12-01T02:10:00Z")
        let report = try Batch.run(BatchOptions(date: CivilDate(year: 2024, month: 12, day: 16)!, steps: [.collect, .ingest]),
                                   config: folder.config, ledger: ledger)
        #expect(report.collected.ready.isEmpty && report.ingested.isEmpty && report.day == nil)
        #expect(report.pausedSteps == [.collect])
        #expect(report.outcome == .incomplete)
        #expect(try ledger.alerts().filter { $0.kind == AlertCode.fileMissing.rawValue }.isEmpty)
    }
}
