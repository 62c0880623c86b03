import Foundation
import Testing

/// `reckon batch`'s exit statuses, `reckon status` (text and JSON), `reckon files` and
/// `reckon ingest` on the built binary (issue 9, items 7–10, 13, 15, 17, 18).
@Suite("reckon files, status and batch outcomes", .serialized)
struct FilesCommandTests {
    /// The generated sample day in a workspace configured as shipped, expected files
    /// included, with its history days run.
    func sampleWorkspace() throws -> (inputs: ScratchFolder, folder: ScratchFolder, config: String) {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings")
        #expect(generated.status == 0, "\(generated.stderr)")
        let folder = try workspace(inputs.path, expectedFiles: true)
        let config = folder.path + "/reckon.yaml"
        for day in ["2024-11-06", "2024-11-13", "2024-11-16"] {
            let run = try reckon("batch", "--date", day, "--config", config)
            #expect(run.status == 0, "\(day): \(run.stdout)\(run.stderr)")
        }
        return (inputs, folder, config)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aDayWithoutItsExpectedFilesExitsThreeAndStatusListsThem() throws {
        let (inputs, folder, config) = try sampleWorkspace()
        defer { withExtendedLifetime((inputs, folder)) {} }
        let day = try reckon("batch", "--date", "2024-12-16", "--config", config)
        #expect(day.status == 0, "\(day.stdout)")
        #expect(day.stdout.split(separator: "\n").last?.hasPrefix("succeeded: 9 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; ") == true)

        let next = try reckon("batch", "--date", "2024-12-17", "--config", config)
        #expect(next.status == 3, "\(next.stdout)")
        #expect(next.stdout.contains("\n  ✗ missing: bank/statements BANK_STMT_20241217.xml (expected on working days from 2024-12-16)\n"))
        #expect(next.stdout.split(separator: "\n").last?.hasPrefix("incomplete: 0 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting; "
                                                                 + "7 expected files missing: PLAT_LOAN_20241217.csv, ") == true)

        let status = try reckon("status", "--date", "2024-12-17", "--config", config)
        #expect(status.status == 0, "\(status.stderr)")
        let lines = status.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "batch run #5 for 2024-12-17 (collect,ingest,plan,reconcile,settle,deliver): incomplete")
        #expect(lines.dropFirst(2).first == "  0 posted, 0 repeated, 0 rejected, 0 failed, 0 waiting", "\(status.stdout)")
        #expect(lines.contains("day 2024-12-17: 7 expected files missing"))
        #expect(lines.contains("  ✗ missing: platform/repayments PLAT_REPAY_20241217.csv (expected every day from 2024-12-16)"))
        #expect(lines.contains("open alerts: 2 breaks_found, 7 file_missing, 1 missing_partner_plan, 1 repayments_incomplete (reckon alerts list)"), "\(lines)")

        let object = try json(try reckon("status", "--json", "--date", "2024-12-17", "--config", config).stdout)
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.map { $0["status"] as? String } == ["incomplete"])
        let days = try #require(object["days"] as? [[String: Any]])
        #expect(days.first?["complete"] as? Bool == false)
        #expect((days.first?["missing"] as? [[String: Any]])?.map { $0["name"] as? String ?? "" } == [
            "PLAT_LOAN_20241217.csv", "PLAT_REPAY_20241217.csv", "BANK_PLAN_20241217.txt", "BANK_SETTLE_20241217.txt",
            "BANK_STMT_20241217.xml", "PAY_BILL_20241217.csv", "CORE_LOAN_20241217.txt",
        ])

        // Plans made without the day's repayments say so.
        let show = try reckon("plan", "show", "L202412160001", "--as-of", "2025-01-26", "--config", config)
        #expect(squeezed(show.stdout).contains(" ! this loan's state may change when the missing repayments arrive: platform/repayments 2024-12-17: "
                                               + "the day's repayments are incomplete: PLAT_REPAY_20241217.csv has not come;"), "\(show.stdout)")

        // An operator sets the core system's file aside: it is no longer missing.
        let setAside = try reckon("files", "set-aside", "--date", "2024-12-17", "--partner", "core", "--type", "loan_ledger",
                                  "--reason", "core system outage", "--as", "dave", "--config", config)
        #expect(setAside.status == 0, "\(setAside.stderr)")
        #expect(setAside.stdout.hasPrefix("core/loan_ledger 2024-12-17 the missing file: set aside by dave at "))
        let after = try reckon("status", "--date", "2024-12-17", "--config", config)
        #expect(after.stdout.contains("day 2024-12-17: 6 expected files missing, 1 set aside\n"))
        #expect(after.stdout.contains("\n  – set aside: core/loan_ledger the missing file, set aside by dave at "))
    }

    @Test func aRefusedFileFailsUntilSetAsideAndIsNotTriedAgainAfterwards() throws {
        let inputs = ScratchFolder()
        let platform = inputs.path + "/platform"
        try FileManager.default.createDirectory(atPath: platform, withIntermediateDirectories: true)
        let sample = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_LOAN_20241115.csv", encoding: .utf8)
        _ = FileManager.default.createFile(atPath: platform + "/PLAT_LOAN_20241115.csv",
                                           contents: Data(sample.replacingOccurrences(of: "#TOTAL,3,", with: "#TOTAL,4,").utf8))
        let folder = try workspace(inputs.path)
        let config = folder.path + "/reckon.yaml"
        let first = try reckon("batch", "--date", "2024-11-15", "--partner", "platform", "--config", config)
        #expect(first.status == 1)
        #expect(first.stdout.contains("    fix and run again, or: reckon files set-aside 1 --reason …"), "\(first.stdout)")
        #expect(first.stdout.contains("    report: \(folder.path)/var/quarantine/2024-11-15/platform/loans/PLAT_LOAN_20241115.csv.report.txt"))
        // Tried again on the next run: a second attempt with its own report, still failing.
        let second = try reckon("batch", "--date", "2024-11-15", "--partner", "platform", "--config", config)
        #expect(second.status == 1)
        #expect(second.stdout.contains("    report: \(folder.path)/var/quarantine/2024-11-15/platform/loans/PLAT_LOAN_20241115.csv.report-2.txt"))
        // (The platform's result file names the second report: a new version of its outbound set.)
        #expect(second.stdout.split(separator: "\n").last.map(String.init) == "failed: 0 posted, 0 repeated, 1 rejected, 0 failed, 0 waiting; "
                + "0 planned, 0 repayments applied, 0 loans brought to the day (0 recomputed, 0 unchanged), 0 overdue lines, 0 plan differences, 0 alerts; "
                + "settled: platform v2 (2 files, 2 records)")

        let noReason = try reckon("files", "set-aside", "2", "--config", config)
        #expect(noReason.status != 0 && noReason.stderr.contains("Missing expected argument '--reason <reason>'"), "\(noReason.stderr)")
        let unknown = try reckon("files", "set-aside", "99", "--reason", "x", "--config", config)
        #expect(unknown.status == 1 && unknown.stderr == "reckon: no file #99 in the ledger (reckon status lists them)\n")
        let earlier = try reckon("files", "set-aside", "1", "--reason", "x", "--config", config)
        #expect(earlier.stderr == "reckon: file #1 (PLAT_LOAN_20241115.csv) was followed by file #2 (PLAT_LOAN_20241115.csv), "
                + "a later attempt: set that one aside\n")
        let setAside = try reckon("files", "set-aside", "2", "--reason", "the platform withdrew the file", "--as", "erin", "--config", config)
        #expect(setAside.status == 0, "\(setAside.stderr)")
        let third = try reckon("batch", "--date", "2024-11-15", "--partner", "platform", "--config", config)
        #expect(third.status == 0, "\(third.stdout)")
        #expect(third.stdout.contains(": refused before as file 2, set aside by erin at "))
        #expect(third.stdout.contains(": the platform withdrew the file; not tried again, nothing posted"))

        let list = try json(try reckon("files", "list", "--json", "--config", config).stdout)
        let files = try #require(list["files"] as? [[String: Any]])
        #expect(files.map { "\($0["id"] ?? "") \($0["status"] ?? "")" } == ["2 rejected", "1 rejected"])
        let decisions = try #require(files.first?["decisions"] as? [[String: Any]])
        #expect(decisions.map { "\($0["action"] ?? "") \($0["by"] ?? ""): \($0["reason"] ?? "")" } == ["set_aside erin: the platform withdrew the file"])
    }

    @Test func theOriginalSentAgainFailsAndAnOperatorReinstatesIt() throws {
        let folder = ScratchFolder()
        let config = try workspace(folder.path)
        let configPath = config.path + "/reckon.yaml"
        let sample = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_REPAY_20241215.csv", encoding: .utf8)
        let original = folder.write("PLAT_REPAY_20241215.csv", sample)
        try FileManager.default.createDirectory(atPath: folder.path + "/v2", withIntermediateDirectories: true)
        let corrected = folder.write("v2/PLAT_REPAY_20241215.csv", sample
            .replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33", with: "3233.33,180.00,0.00,0.00,3413.33")
            .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9653.71"))
        func ingest(_ path: String) throws -> RunResult {
            try reckon("ingest", path, "--partner", "platform", "--type", "repayments", "--config", configPath)
        }
        #expect(try ingest(original).status == 0)
        #expect(try ingest(corrected).status == 0)
        let again = try ingest(original)
        #expect(again.status == 1)
        #expect(again.stdout.hasPrefix("✗ \(original) (platform/repayments 2024-12-15): an earlier version sent again after its correction; nothing posted (alert raised)"))
        #expect(again.stdout.contains("\n    to make the earlier version current again: reckon files reinstate 1 --reason …"))
        #expect(again.stdout.contains("\n    to leave the correction current: reckon files set-aside 3 --reason …"))

        let reinstate = try reckon("files", "reinstate", "1", "--reason", "the correction was a mistake", "--as", "frank", "--config", configPath)
        #expect(reinstate.status == 0, "\(reinstate.stderr)")
        #expect(reinstate.stdout.contains(": 6 records, 5 events, 5 entries posted; supersedes file 2, whose entries were reversed"), "\(reinstate.stdout)")
        #expect(reinstate.stdout.contains("file #1 reinstated by frank: run reckon batch --date 2024-12-15 to bring the day's plans to it"))
        let balance = try reckon("ledger", "balance", "--account", "channel", "--config", configPath)
        #expect(balance.stdout.contains("9,753.71") || balance.stdout.contains("9753.71"), "\(balance.stdout)")
        let status = try reckon("status", "--config", configPath)
        let rows = status.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(5).joined(separator: " ") }
        #expect(rows.contains("4 2024-12-15 platform/repayments PLAT_REPAY_20241215.csv posted"), "\(status.stdout)")
        #expect(rows.contains("3 2024-12-15 platform/repayments PLAT_REPAY_20241215.csv stale"))
        let twice = try reckon("files", "reinstate", "4", "--reason", "again", "--config", configPath)
        #expect(twice.status == 1 && twice.stderr == "reckon: file #4 (PLAT_REPAY_20241215.csv) is the current version already\n")
    }

    @Test func aLenientFileThatCouldNotPostEveryRecordExitsOne() throws {
        let folder = ScratchFolder()
        let config = try workspace(folder.path)
        let configPath = config.path + "/reckon.yaml"
        let yaml = try String(contentsOfFile: configPath, encoding: .utf8)
            .replacingOccurrences(of: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n", with: "name: \"PLAT_REPAY_{yyyyMMdd}.csv\"\n        mode: lenient\n")
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        var lines = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_REPAY_20241215.csv", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        lines.insert(lines[2], at: 6)
        lines[7] = "#TOTAL,6,13267.04"
        let path = folder.write("PLAT_REPAY_20241215.csv", lines.joined(separator: "\n") + "\n")
        let result = try reckon("ingest", path, "--partner", "platform", "--type", "repayments", "--config", configPath)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "✓ \(path) (platform/repayments 2024-12-15): 6 records, 5 events, 5 entries posted\n"
                + "  ✗ 1 record not posted (lenient file: 1 duplicate); the posted total differs from the file's:\n"
                + "    line 7: repayment repeats line 3, key R202412150002\n")
    }

    @Test func aRunKilledMidwayShowsAsInterruptedAndTheNextRunSaysWhatItRecovered() throws {
        let inputs = ScratchFolder()
        try FileManager.default.createDirectory(atPath: inputs.path + "/platform", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/mappings/samples/partners/PLAT_REPAY_20241215.csv",
                                         toPath: inputs.path + "/platform/PLAT_REPAY_20241215.csv")
        let folder = try workspace(inputs.path)
        let config = folder.path + "/reckon.yaml"
        // The repayments file must keep its size for an hour: the run waits in its collect
        // step until it is killed.
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "      repayments:\n        ready: {stable_seconds: 0}\n", with: "      repayments:\n        ready: {stable_seconds: 3600}\n")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        // Readers never create the ledger: the run does.
        #expect(try reckon("status", "--config", config).stdout == "no ledger yet at \(folder.path)/var/reckon.sqlite: no runs, no files received\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: reckonExecutable)
        process.arguments = ["batch", "--date", "2024-12-15", "--partner", "platform", "--wait-seconds", "3600", "--config", config]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Wait (on the run's state, not on a clock) until status shows it running.
        var running = ""
        for _ in 0..<600 where !running.contains(": running: collect") {
            running = try reckon("status", "--config", config).stdout
            if !running.contains(": running: collect") { usleep(100_000) }
        }
        #expect(running.hasPrefix("batch run #1 for 2024-12-15 (collect,ingest,plan,reconcile,settle,deliver): running: collect (pid \(process.processIdentifier) on "), "\(running)")
        let busy = try reckon("batch", "--date", "2024-12-15", "--config", config)
        #expect(busy.status == 1 && busy.stderr.contains("another reckon process is writing the ledger"), "\(busy.stderr)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let gone = try reckon("status", "--config", config)
        #expect(gone.stdout.hasPrefix("batch run #1 for 2024-12-15 (collect,ingest,plan,reconcile,settle,deliver): interrupted during collect (pid \(process.processIdentifier) on "), "\(gone.stdout)")
        #expect(squeezed(gone.stdout).contains(" is gone; the next run records it) started "), "\(gone.stdout)")
        let goneJSON = try json(try reckon("status", "--json", "--config", config).stdout)
        #expect((goneJSON["runs"] as? [[String: Any]])?.first?["status"] as? String == "interrupted")

        let yamlQuick = yaml.replacingOccurrences(of: "ready: {stable_seconds: 3600}", with: "ready: {stable_seconds: 0}")
        try yamlQuick.write(toFile: config, atomically: true, encoding: .utf8)
        let next = try reckon("batch", "--date", "2024-12-15", "--partner", "platform", "--config", config)
        #expect(next.status == 0, "\(next.stdout)")
        #expect(next.stdout.hasPrefix("batch run #2 for 2024-12-15 (collect,ingest,plan,reconcile,settle,deliver)\n"
                                      + "recovered: run 1 of 2024-12-15 was interrupted during collect (pid \(process.processIdentifier) on "), "\(next.stdout)")
        let after = try reckon("status", "--config", config)
        let interrupted = after.stdout.components(separatedBy: "batch run #1 for 2024-12-15 (collect,ingest,plan,reconcile,settle,deliver): interrupted\n").last ?? ""
        #expect(interrupted.split(separator: "\n").dropFirst().first?.hasPrefix("  run 1 of 2024-12-15 was interrupted during collect") == true,
                "\(after.stdout)")
    }

    /// A real full disk: a small tmpfs (mounting it needs root, so the test runs where it
    /// can). However full the disk gets during the run, the run never stays "running": it
    /// is recorded failed with its reason, in the ledger or, when not even that can be
    /// written, by the next run from the last words it left.
    @Test(.enabled(if: tmpfsCanBeMounted, "a full disk needs a tmpfs, which only root can mount where mounts are allowed"))
    func aRunOnAFullDiskIsRecordedFailedWithItsReason() throws {
        let inputs = ScratchFolder()
        let generated = try reckon("demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings")
        #expect(generated.status == 0)
        for freeKiB in [150, 300, 500, 700] {
            let disk = ScratchFolder()
            let mount = try run("/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk.path)
            try #require(mount == 0)
            defer { _ = try? run("/bin/umount", disk.path) }
            let folder = try workspace(inputs.path)
            let config = folder.path + "/reckon.yaml"
            let yaml = try String(contentsOfFile: config, encoding: .utf8)
                .replacingOccurrences(of: "database: var/reckon.sqlite", with: "database: \(disk.path)/reckon.sqlite")
                .replacingOccurrences(of: "archive: var/archive", with: "archive: \(disk.path)/archive")
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
            for day in ["2024-11-06", "2024-11-13", "2024-11-16"] {
                #expect(try reckon("batch", "--date", day, "--config", config).status == 0)
            }
            // Leave the disk with `freeKiB` free.
            var stats = statvfs()
            try #require(statvfs(disk.path, &stats) == 0)
            let free = Int(stats.f_bavail) * Int(stats.f_frsize) / 1024
            _ = FileManager.default.createFile(atPath: disk.path + "/filler", contents: Data(count: max(0, free - freeKiB) * 1024))
            let full = try reckon("batch", "--date", "2024-12-16", "--config", config)
            #expect(full.status == 1, "\(freeKiB) KiB free: \(full.stdout)\(full.stderr)")
            let status = try reckon("status", "--config", config)
            // The latest run: its line, then its times and summary, indented.
            let lines = status.stdout.split(separator: "\n").map(String.init)
            let run = ([lines.first ?? ""] + lines.dropFirst().prefix { $0.hasPrefix("  ") }).joined(separator: "\n")
            #expect(run.hasPrefix("batch run #4 for 2024-12-16 (collect,ingest,plan,reconcile,settle,deliver): failed"), "\(freeKiB) KiB free: \(status.stdout)")
            #expect(squeezed(run).contains("database or disk is full") || squeezed(run).contains("There isn’t enough space"),
                    "\(freeKiB) KiB free: \(run)")
            // With room again, the next run records it and takes the day in.
            try FileManager.default.removeItem(atPath: disk.path + "/filler")
            let next = try reckon("batch", "--date", "2024-12-16", "--config", config)
            #expect(next.status == 0, "\(freeKiB) KiB free: \(next.stdout)\(next.stderr)")
            let after = try reckon("status", "--config", config)
            #expect(after.stdout.contains("batch run #4 for 2024-12-16 (collect,ingest,plan,reconcile,settle,deliver): failed\n  started "), "\(after.stdout)")
        }
    }

    func run(_ executable: String, _ arguments: String...) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
