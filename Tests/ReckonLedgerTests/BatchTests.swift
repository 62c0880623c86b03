import Foundation
import ReckonCore
import ReckonFiles
import ReckonLedger
import Testing

/// A working folder laid out like the repository: a config whose drops are local folders,
/// with the sample day's files copied in.
final class DayFolder {
    let root: String
    let config: ReckonConfig

    /// `edit` changes the configuration's text before it is written. The shipped
    /// configuration's expected files are left out unless `expectedFiles` (tests of other
    /// things run days the sample partners send nothing on).
    init(readiness: [String: String] = [:], copy: Bool = true, expectedFiles: Bool = false,
         edit: (String) -> String = { $0 }) throws {
        root = NSTemporaryDirectory() + "reckon-day-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var yaml = try String(contentsOfFile: repositoryRoot + "/reckon.yaml", encoding: .utf8)
            .replacingOccurrences(of: "spec: mappings/", with: "spec: \(repositoryRoot)/mappings/")
            .replacingOccurrences(of: " data/", with: " \(repositoryRoot)/data/")
        if !expectedFiles {
            yaml = yaml.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("        expected: ") }.joined(separator: "\n")
        }
        for (name, rule) in readiness {
            // Put the rule under the file type named (loans, repayments, bills, …).
            yaml = yaml.replacingOccurrences(of: "      \(name):\n", with: "      \(name):\n        ready: \(rule)\n")
        }
        try edit(yaml).write(toFile: root + "/reckon.yaml", atomically: true, encoding: .utf8)
        config = try ConfigFile.load(root + "/reckon.yaml")
        for partner in ["platform", "bank", "channel", "core"] {
            try FileManager.default.createDirectory(atPath: root + "/inbox/" + partner, withIntermediateDirectories: true)
        }
        guard copy else { return }
        // The sample partners' fixtures, each into its partner's drop.
        let fixtures = repositoryRoot + "/mappings/samples/partners"
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures) {
            let partner = name.hasPrefix("PLAT_") ? "platform" : name.hasPrefix("PAY_") ? "channel"
                : name.hasPrefix("CORE_") ? "core" : "bank"
            try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: root + "/inbox/\(partner)/\(name)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func ledger() throws -> Ledger {
        let ledger = try Ledger(path: config.databasePath)
        try ledger.register(config.partners)
        return ledger
    }

    func write(_ relative: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: root + "/" + relative, contents: Data(text.utf8))
    }
}

let sampleDay = CivilDate(year: 2024, month: 12, day: 15)!
let disbursementDay = CivilDate(year: 2024, month: 11, day: 15)!

@Suite("Collecting and the day batch", .serialized)
struct BatchTests {
    @Test func collectsTheDaysFilesInConfigurationOrder() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"])
        let result = Collector(config: day.config).collect(date: sampleDay)
        #expect(result.ready.map { "\($0.partner)/\($0.fileType)" } == ["platform/repayments", "bank/settlements", "channel/bills",
                                                                     "core/institutions", "core/base_rates", "core/loan_ledger"])
        #expect(result.waiting.isEmpty)
        #expect(result.unknown.isEmpty)  // the other day's files are known, just not today's
        day.write("inbox/platform/notes.txt", "hello")
        #expect(Collector(config: day.config).collect(date: sampleDay).unknown == [day.root + "/inbox/platform/notes.txt"])
    }

    @Test func aMarkerFileReleasesItsFile() throws {
        let day = try DayFolder(readiness: ["repayments": "{marker: \"{name}.ok\"}"])
        let before = Collector(config: day.config, maximumWaitSeconds: 0).collect(date: sampleDay, partner: "platform")
        #expect(before.ready.isEmpty)
        #expect(before.waiting.map(\.reason) == ["no marker file PLAT_REPAY_20241215.csv.ok yet"])
        day.write("inbox/platform/PLAT_REPAY_20241215.csv.ok", "")
        let after = Collector(config: day.config, maximumWaitSeconds: 0).collect(date: sampleDay, partner: "platform")
        #expect(after.ready.map(\.fileType) == ["repayments"])
        #expect(after.unknown.isEmpty)
    }

    @Test func aTrailerReleasesItsFile() throws {
        let day = try DayFolder()
        let settlement = day.root + "/inbox/bank/BANK_SETTLE_20241215.txt"
        let full = try Data(contentsOf: URL(fileURLWithPath: settlement))
        // Cut the trailer off: the bank is still writing.
        let lines = full.split(separator: 0x0A, omittingEmptySubsequences: false)
        try Data(lines.dropLast(2).joined(separator: [0x0A]) + [0x0A]).write(to: URL(fileURLWithPath: settlement))
        let waiting = Collector(config: day.config, maximumWaitSeconds: 0).collect(date: sampleDay, partner: "bank")
        #expect(waiting.waiting.map(\.reason) == ["no 'trailer' record yet"])
        try full.write(to: URL(fileURLWithPath: settlement))
        #expect(Collector(config: day.config, maximumWaitSeconds: 0).collect(date: sampleDay, partner: "bank").ready.count == 1)
    }

    @Test func aGrowingFileWaitsUntilItsSizeHolds() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 1}"], copy: false)
        let path = day.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data("repay_id,loan_id\n".utf8))
        // Another process keeps appending for a second and a half.
        let writer = Thread {
            let handle = FileHandle(forWritingAtPath: path)!
            for index in 0..<15 {
                handle.seekToEndOfFile()
                handle.write(Data("R\(index),L1\n".utf8))
                usleep(100_000)
            }
            try? handle.close()
        }
        writer.start()
        usleep(50_000)
        let impatient = Collector(config: day.config, maximumWaitSeconds: 0.5).collect(date: sampleDay, partner: "platform")
        #expect(impatient.ready.isEmpty)
        #expect(impatient.waiting.first?.reason == "its size is still changing (it must stay the same for 1 s)")
        let patient = Collector(config: day.config, maximumWaitSeconds: 6).collect(date: sampleDay, partner: "platform")
        #expect(patient.ready.count == 1)
    }

    @Test func runningADayTwicePostsNothingTwice() throws {
        let day = try DayFolder(readiness: ["loans": "{stable_seconds: 0}", "repayments": "{stable_seconds: 0}",
                                            "statements": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"])
        let ledger = try day.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay), config: day.config, ledger: ledger)
        let first = try Batch.run(BatchOptions(date: sampleDay), config: day.config, ledger: ledger)
        #expect(first.succeeded)
        #expect(first.ingested.map(\.outcome) == [.posted, .posted, .posted, .posted, .posted, .posted])
        let export = try ledger.export()
        let again = try Batch.run(BatchOptions(date: sampleDay), config: day.config, ledger: ledger)
        #expect(again.ingested.map(\.outcome) == [.repeated, .repeated, .repeated, .repeated, .repeated, .repeated])
        #expect(try ledger.export() == export)
        let runs = try ledger.batchRuns()
        #expect(runs.map(\.status) == ["succeeded", "succeeded", "succeeded"])
        #expect(runs.first?.summary == "0 posted, 6 repeated, 0 rejected, 0 failed, 0 waiting; 0 planned, 3 repayments applied, "
                + "3 loans brought to the day (0 recomputed, 3 unchanged), 0 overdue lines, 0 plan differences, 0 alerts; "
                + "settled: platform v1 unchanged (2 files, 7 records), bank v1 unchanged (2 files, 3 records)")
        #expect(try ledger.verify().ok)
    }

    @Test func aDryRunPostsAndRecordsNothing() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"])
        let ledger = try day.ledger()
        let report = try Batch.run(BatchOptions(date: sampleDay, dryRun: true), config: day.config, ledger: ledger)
        #expect(report.checked.count == 6)
        #expect(report.checked.allSatisfy { $0.isClean })
        #expect(try ledger.receivedFiles().isEmpty)
        #expect(try ledger.batchRuns().isEmpty)
    }

    @Test func waitingFilesAreRecordedWithTheirRule() throws {
        let day = try DayFolder(readiness: ["repayments": "{marker: \"{name}.ok\"}", "bills": "{stable_seconds: 0}"])
        let ledger = try day.ledger()
        let report = try Batch.run(BatchOptions(date: sampleDay, partner: "platform"), config: day.config, ledger: ledger)
        #expect(report.succeeded)
        #expect(report.collected.waiting.count == 1)
        #expect(try ledger.batchRuns().first?.waiting == [day.root + "/inbox/platform/PLAT_REPAY_20241215.csv: no marker file PLAT_REPAY_20241215.csv.ok yet"])
    }

    @Test func aRejectedFileFailsTheRun() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}", "bills": "{stable_seconds: 0}"])
        let path = day.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "#TOTAL,5,", with: "#TOTAL,4,")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let ledger = try day.ledger()
        let report = try Batch.run(BatchOptions(date: sampleDay), config: day.config, ledger: ledger)
        #expect(!report.succeeded)
        #expect(report.ingested.map(\.outcome) == [.rejected, .posted, .posted, .posted, .posted, .posted])
        #expect(try ledger.batchRuns().first?.status == "failed")
        #expect(FileManager.default.fileExists(atPath: day.root + "/var/quarantine/2024-12-15/platform/repayments/PLAT_REPAY_20241215.csv.report.txt"))
        #expect(FileManager.default.fileExists(atPath: day.root + "/var/archive/2024-12-15/platform/PLAT_REPAY_20241215.csv"))
    }

    @Test func aLenientFileThatDidNotPostEveryRecordFailsTheRunAndSaysWhy() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}"]) { yaml in
            yaml.replacingOccurrences(of: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n", with: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        mode: lenient\n")
        }
        // Line 7 repeats line 3 (R202412150002); line 4's repayment type is unknown.
        let path = day.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        var lines = try LedgerTests.repeatingLine3(try String(contentsOfFile: path, encoding: .utf8)).split(separator: "\n").map(String.init)
        lines[3] = lines[3].replacingOccurrences(of: ",NORMAL,", with: ",SOMETIMES,")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let ledger = try day.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: day.config, ledger: ledger)
        let report = try Batch.run(BatchOptions(date: sampleDay, steps: [.collect, .ingest], partner: "platform"), config: day.config, ledger: ledger)
        #expect(report.ingested.map(\.outcome) == [.posted])
        #expect(report.ingested.first?.recordsNotPosted == 2)
        #expect(report.outcome == .failed)
        #expect(Batch.summary(report) == "1 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; 2 records not posted (1 duplicate, 1 rejected)")
        #expect(try ledger.batchRuns().first.map { "\($0.status): \($0.summary ?? "")" } == "failed: " + Batch.summary(report))
    }

    @Test func anEarlierVersionSentAgainFailsTheRun() throws {
        let day = try DayFolder(readiness: ["repayments": "{stable_seconds: 0}"])
        let ledger = try day.ledger()
        let options = BatchOptions(date: sampleDay, steps: [.collect, .ingest], partner: "platform")
        _ = try Batch.run(BatchOptions(date: disbursementDay, partner: "platform"), config: day.config, ledger: ledger)
        let path = day.root + "/inbox/platform/PLAT_REPAY_20241215.csv"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try Batch.run(options, config: day.config, ledger: ledger).outcome == .succeeded)
        try original.replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33", with: "3233.33,180.00,0.00,0.00,3413.33")
            .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9653.71").write(toFile: path, atomically: true, encoding: .utf8)
        let corrected = try Batch.run(options, config: day.config, ledger: ledger)
        #expect(corrected.outcome == .succeeded && corrected.ingested.first?.superseded != nil)
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        let resent = try Batch.run(options, config: day.config, ledger: ledger)
        #expect(resent.ingested.map(\.outcome) == [.stale])
        #expect(resent.outcome == .failed)
        #expect(Batch.summary(resent) == "0 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting, 1 earlier version sent again")
        #expect(try ledger.alerts().map(\.kind) == ["earlier_version_resent"])
    }
}
