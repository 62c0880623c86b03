import Foundation
import ReckonCore
import Testing
@testable import ReckonLedger

/// The daemon's ingest-only runs (issue 12, item 10) do not rewrite the day's alert file
/// (every alert of the day, one JSON line each) when they raised nothing of their own: the
/// day's full run that follows writes it. A run that did raise something writes it at once.
@Suite("The day's alert file after the daemon's ingest runs")
struct DeferredAlertFileTests {

    @Test func aCleanIngestRunLeavesTheAlertFileToTheDaysNextFullRun() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        defer { withExtendedLifetime(folder) {} }
        let ledger = try folder.ledger()
        let path = folder.root + "/outbox/alerts/2024-12-15.jsonl"
        var options = BatchOptions(date: sampleDay, steps: [.collect, .ingest])
        options.deferAlertsWhenClean = true
        let ingest = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(!ingest.ingested.isEmpty && ingest.ingested.allSatisfy { $0.outcome == .posted }, "\(Batch.summary(ingest))")
        #expect(ingest.alertFile == nil)
        #expect(!FileManager.default.fileExists(atPath: path))

        // The full run writes every alert of the day, as a run that never deferred would.
        let full = try Batch.run(BatchOptions(date: sampleDay), config: folder.config, ledger: ledger)
        #expect(full.alertFile == path)
        #expect(full.alertFileCount == (try ledger.alerts(Ledger.AlertFilter(date: sampleDay))).count)
    }

    @Test func anIngestRunThatRefusesAFileWritesTheAlertFileAtOnce() throws {
        let folder = try DayFolder(readiness: PlanStepTests.allReady)
        defer { withExtendedLifetime(folder) {} }
        let ledger = try folder.ledger()
        // The bank's settlement file with its trailer's record count wrong: refused whole.
        let settlement = folder.root + "/inbox/bank/BANK_SETTLE_20241215.txt"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: settlement))  // not UTF-8: replaced as bytes
        let trailer = try #require(bytes.range(of: Data("\nT00000000050".utf8)))
        bytes.replaceSubrange(trailer, with: Data("\nT00000000040".utf8))
        try bytes.write(to: URL(fileURLWithPath: settlement))
        var options = BatchOptions(date: sampleDay, steps: [.collect, .ingest])
        options.deferAlertsWhenClean = true
        let ingest = try Batch.run(options, config: folder.config, ledger: ledger)
        #expect(ingest.ingested.map { "\(($0.file as NSString).lastPathComponent) \($0.outcome.rawValue)" }.contains("BANK_SETTLE_20241215.txt rejected"),
                "\(Batch.summary(ingest))")
        #expect(ingest.alertFile == folder.root + "/outbox/alerts/2024-12-15.jsonl")
        #expect(FileManager.default.fileExists(atPath: folder.root + "/outbox/alerts/2024-12-15.jsonl"))
    }
}
