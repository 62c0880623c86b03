import Foundation
import Testing

/// Promises that had no test (issue 9, item 24): `reckon ingest` end to end, `batch
/// --dry-run`, `ledger export --date` across a re-run of the day; and the JSON of the
/// commands that change the ledger, with their exit statuses.
@Suite("Promises kept end to end", .serialized)
struct EndToEndPromisesTests {
    @Test func ingestPostsRepeatsAndRefusesWholeFilesAndSaysSo() throws {
        let drops = ScratchFolder()
        let folder = try workspace(drops.path)
        let config = folder.path + "/reckon.yaml"
        func ingest(_ path: String, _ type: String, _ extra: String...) throws -> Finished {
            try cli(["ingest", path, "--partner", "platform", "--type", type, "--config", config] + extra)
        }
        let repayments = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_REPAY_20241215.csv", encoding: .utf8)
        let original = drops.write("PLAT_REPAY_20241215.csv", repayments)

        // Posted whole: exit 0, and the ledger holds the file's total.
        let posted = try ingest(original, "repayments")
        #expect(posted.status == 0, "\(posted.stderr)")
        #expect(posted.stdout == "✓ \(original) (platform/repayments 2024-12-15): 6 records, 5 events, 5 entries posted\n")
        let channel = try cli(["ledger", "balance", "--account", "channel", "--json", "--config", config])
        #expect((try jsonObject(channel.stdout)["balances"] as? [[String: Any]])?.map { $0["balance_minor"] as? Int } == [975_371])

        // The same bytes again: a repeat, nothing posted, exit 0; as JSON too.
        let repeated = try ingest(original, "repayments")
        #expect(repeated.status == 0)
        #expect(repeated.stdout == "= \(original) (platform/repayments 2024-12-15): repeated delivery of file 1; nothing posted\n")
        let repeatedJSON = try ingest(original, "repayments", "--json")
        let repetition = try jsonObject(repeatedJSON.stdout)
        #expect(repeatedJSON.status == 0 && repetition["outcome"] as? String == "repeated" && repetition["file_id"] as? Int == 1)

        // Refused whole: a loans file whose trailer counts a record it does not have.
        let loans = try String(contentsOfFile: repositoryRoot + "/mappings/samples/partners/PLAT_LOAN_20241115.csv", encoding: .utf8)
        let broken = drops.write("PLAT_LOAN_20241115.csv", loans.replacingOccurrences(of: "#TOTAL,3,", with: "#TOTAL,4,"))
        let refused = try ingest(broken, "loans")
        #expect(refused.status == 1)
        let quarantine = "\(folder.path)/var/quarantine/2024-11-15/platform/loans/PLAT_LOAN_20241115.csv"
        #expect(refused.stdout.hasPrefix("✗ \(broken) (platform/loans 2024-11-15): rejected, nothing posted; quarantined as \(quarantine)\n"),
                "\(refused.stdout)")
        #expect(refused.stdout.contains("\n    control 'record count' fails: declared 4, found 3\n"), "\(refused.stdout)")
        #expect(refused.stdout.hasSuffix("\n    report: \(quarantine).report.txt\n    fix and run again, or: reckon files set-aside 2 --reason …\n"))
        let report = try String(contentsOfFile: quarantine + ".report.txt", encoding: .utf8)
        #expect(report.contains("  controls  ✗ record count     line 5: declared 4, found 3\n"
                                + "            ✓ principal total  line 5: declared 47,000.00, found 47,000.00\n"), "\(report)")
        // Tried again (as JSON): refused again, the same exit status, a report of its own.
        let again = try ingest(broken, "loans", "--json")
        let refusal = try jsonObject(again.stdout)
        #expect(again.status == 1 && refusal["outcome"] as? String == "rejected" && refusal["file_id"] as? Int == 3)
        #expect(refusal["report"] as? String == quarantine + ".report-2.txt" && refusal["controls_hold"] as? Bool == false)
        let control = try #require((refusal["controls"] as? [[String: Any]])?.first { $0["name"] as? String == "record count" })
        #expect(control["declared"] as? Int == 4 && control["actual"] as? Int == 3 && control["scale"] as? Int == 0)
        #expect(try cli(["ledger", "verify", "--config", config]).stdout == "5 entries, 15 postings\n"
                + "✓ every entry sums to zero per currency; every balance equals its postings; every reference names a row\n")

        // An operator sets it aside, as JSON; the listing shows the decision in local time.
        let setAside = try cli(["files", "set-aside", "3", "--reason", "the platform re-sends it", "--as", "erin", "--json", "--config", config])
        let decision = try jsonObject(setAside.stdout)
        #expect(setAside.status == 0 && decision["action"] as? String == "set_aside" && decision["file_id"] as? Int == 3)
        #expect(decision["by"] as? String == "erin" && decision["reason"] as? String == "the platform re-sends it")
        let at = try #require(decision["at"] as? String)
        #expect(at.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil)
        let list = try cli(["files", "list", "--config", config]).stdout
        #expect(list.range(of: #"\n   set aside by erin at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00: the platform re-sends it\n"#,
                           options: .regularExpression) != nil, "\(list)")

        // A correction supersedes the original; the original sent again is refused (exit 1),
        // and an operator makes it current again (as JSON).
        try FileManager.default.createDirectory(atPath: drops.path + "/v2", withIntermediateDirectories: true)
        let corrected = drops.write("v2/PLAT_REPAY_20241215.csv", repayments
            .replacingOccurrences(of: "3333.33,180.00,0.00,0.00,3513.33", with: "3233.33,180.00,0.00,0.00,3413.33")
            .replacingOccurrences(of: "#TOTAL,5,9753.71", with: "#TOTAL,5,9653.71"))
        let correction = try ingest(corrected, "repayments")
        #expect(correction.status == 0 && correction.stdout.hasSuffix("5 entries posted; supersedes file 1, whose entries were reversed\n"))
        let stale = try ingest(original, "repayments", "--json")
        let staleResult = try jsonObject(stale.stdout)
        #expect(stale.status == 1 && staleResult["outcome"] as? String == "stale")
        let versions = try #require(staleResult["versions"] as? [String: Any])
        #expect((versions["repeats"] as? [String: Any])?["file_id"] as? Int == 1)
        #expect((versions["current"] as? [String: Any])?["file_id"] as? Int == 4)
        let staleText = try ingest(original, "repayments")
        #expect(staleText.stdout.range(of: #"\n    the version of:  PLAT_REPAY_20241215\.csv \(file #1, SHA-256 [0-9a-f]{12}…, received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00\)\n"#,
                                       options: .regularExpression) != nil, "\(staleText.stdout)")
        let reinstated = try cli(["files", "reinstate", "1", "--reason", "the correction was wrong", "--as", "frank", "--json", "--config", config])
        let reinstatement = try jsonObject(reinstated.stdout)
        #expect(reinstated.status == 0 && reinstatement["reinstated"] as? Int == 1 && reinstatement["by"] as? String == "frank")
        let file = try #require(reinstatement["file"] as? [String: Any])
        #expect(file["outcome"] as? String == "posted" && file["superseded_file_id"] as? Int == 4 && file["entries"] as? Int == 5)

        // A file type the partner does not have: the configuration cannot be used, exit 2.
        let unknown = try ingest(original, "statements")
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "reckon: \(config): partner 'platform' has no file type 'statements'; it has loans, repayments\n")
    }

    @Test func aDryRunPostsAndRecordsNothingAndARerunLeavesTheDaysExportByteForByte() throws {
        let inputs = ScratchFolder()
        let generated = try cli(["demo", "--date", "2024-12-16", "--loans", "20", "--into", inputs.path, "--mappings", repositoryRoot + "/mappings"])
        try #require(generated.status == 0, "\(generated.stderr)")
        let folder = try workspace(inputs.path, expectedFiles: true)
        let config = folder.path + "/reckon.yaml"
        func run(_ arguments: String...) throws -> Finished { try cli(arguments + ["--config", config]) }
        for day in ["2024-11-06", "2024-11-13", "2024-11-16"] {
            #expect(try run("batch", "--date", day).status == 0)
        }
        let before = try run("ledger", "export", "--runs")

        // The dry run reads every file through its spec and says what it found.
        let dry = try run("batch", "--date", "2024-12-16", "--dry-run")
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        let files = [("platform", "PLAT_LOAN_20241216.csv", 21), ("platform", "PLAT_REPAY_20241216.csv", 21),
                     ("bank", "BANK_PLAN_20241216.txt", 149), ("bank", "BANK_SETTLE_20241216.txt", 22),
                     ("bank", "BANK_STMT_20241216.xml", 22), ("channel", "PAY_BILL_20241216.csv", 22),
                     ("core", "CORE_ORG_20241216.txt", 6), ("core", "CORE_RATE_20241216.txt", 4), ("core", "CORE_LOAN_20241216.txt", 42)]
        var lines = dry.stdout.split(separator: "\n").map(String.init)
        let span = lines.count > 2 ? lines.remove(at: lines.count - 2) : ""
        #expect(lines == ["dry run for 2024-12-16 (collect,ingest,plan,reconcile,settle,deliver)", "collected: 9 ready, 0 waiting"]
                + files.map { "✓ \(inputs.path)/\($0.0)/\($0.1): \($0.2) records read, 0 rejected" }
                + ["dry run: nothing posted, nothing recorded; 9 files read, 0 not clean, 0 could not be read"], "\(dry.stdout)")
        #expect(span.range(of: #"^dry run started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00, finished \d\d:\d\d:\d\d \((under 1 s|\d+ s)\)$"#,
                           options: .regularExpression) != nil, "\(span)")
        let dryJSON = try run("batch", "--date", "2024-12-16", "--dry-run", "--json")
        let report = try jsonObject(dryJSON.stdout)
        #expect(dryJSON.status == 0 && report["dry_run"] as? Bool == true && report["run_id"] is NSNull)
        #expect((report["checked"] as? [[String: Any]])?.map { $0["records_read"] as? Int } == files.map(\.2))
        #expect((report["files"] as? [Any])?.isEmpty == true && report["summary"] is NSNull)
        // …and posts, archives and records nothing.
        #expect(try run("ledger", "export", "--runs").stdout == before.stdout)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/var/archive/2024-12-16"))
        #expect(try run("status", "--date", "2024-12-16").stdout.hasPrefix("no batch runs for 2024-12-16\n"))

        // The day, on a terminal (standard error a pseudo-terminal, through script(1)): one
        // progress line redrawn, every stage drawn however soon it follows the last update,
        // and cleared at the end.
        // (Where script(1) is missing the day runs without a terminal.)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") {
            let terminal = try onATerminal("\(reckonExecutable) batch --date 2024-12-16 --config \(config) > /dev/null")
            #expect(terminal.status == 0)
            for stage in ["collect: the partners' files for 2024-12-16", "ingest 9 of 9: \(inputs.path)/core/CORE_LOAN_20241216.txt",
                          "plan 2024-12-16: started", "plan 2024-12-16: loans without a partner plan"] {
                #expect(terminal.output.contains("\r\u{1B}[K  " + stage), "\(stage): \(terminal.output.debugDescription)")
            }
            #expect(terminal.output.hasSuffix("\r\u{1B}[K"), "\(terminal.output.debugDescription)")
            #expect(!terminal.output.contains("\n"), "plain lines on a terminal: \(terminal.output.debugDescription)")
        } else {
            #expect(try run("batch", "--date", "2024-12-16").status == 0)
        }

        // The day again: nothing new, and the day's export is the same bytes.
        let exported = try run("ledger", "export", "--date", "2024-12-16")
        let again = try run("batch", "--date", "2024-12-16", "--json")
        let rerun = try jsonObject(again.stdout)
        #expect(again.status == 0 && rerun["status"] as? String == "succeeded")
        #expect((rerun["files"] as? [[String: Any]])?.map { $0["outcome"] as? String } == Array(repeating: "repeated", count: 9))
        #expect((rerun["summary"] as? String)?.hasPrefix("0 posted, 9 repeated, 0 rejected, 0 failed, 0 waiting; ") == true)
        #expect(try run("ledger", "export", "--date", "2024-12-16").stdout == exported.stdout)

        // The next day as JSON: incomplete, exit 3 as in text.
        let next = try run("batch", "--date", "2024-12-17", "--json")
        let nextReport = try jsonObject(next.stdout)
        #expect(next.status == 3 && nextReport["status"] as? String == "incomplete")
        #expect(((nextReport["day"] as? [String: Any])?["missing"] as? [Any])?.count == 7)
        let plans = try #require(nextReport["plans"] as? [String: Any])
        #expect(plans["alerts_raised"] as? Int == 0)
        // The missing plan is the bank-plans rule's: a break opened the day after, and its alert.
        let reconciliation = try #require(nextReport["reconciliation"] as? [String: Any])
        #expect(reconciliation["new_alerts"] as? Int == 1)
        let rules = try #require(reconciliation["rules"] as? [[String: Any]])
        #expect(rules.first { $0["rule"] as? String == "bank-plans" }?["new_breaks"] as? Int == 1)
        #expect((nextReport["incomplete_repayments"] as? [String])?.count == 1)
        #expect(nextReport["duration_seconds"] is Int)
    }

    /// Runs a shell command with a pseudo-terminal for its standard error (and whatever it
    /// does not redirect): what the terminal showed, and how the command exited.
    func onATerminal(_ command: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(testTimeZone) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
