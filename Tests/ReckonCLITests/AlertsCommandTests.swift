import Foundation
import Testing

/// `reckon alerts list` and `reckon alerts read` (issue 10, item 6; seed 000 §19), the day's
/// alert file and the alert commands of reckon.yaml, through the built binary.
@Suite("Alert commands", .serialized)
struct AlertsCommandTests {
    /// A copy of the shared sample ledger (its day after raised nine alerts): reading alerts
    /// writes, and the shared one must stay as it is.
    func sampleCopy() throws -> (ScratchFolder, String) {
        let sample = try SampleLedger.shared.get()
        let scratch = ScratchFolder()
        try FileManager.default.copyItem(atPath: sample.folder.path, toPath: scratch.path + "/workspace")
        return (scratch, scratch.path + "/workspace/reckon.yaml")
    }

    func alerts(_ config: String, _ arguments: String...) throws -> [[String: Any]] {
        let listed = try cli(["alerts", "list", "--json"] + arguments + ["--config", config])
        #expect(listed.status == 0, "\(listed.stderr)")
        return try #require(try jsonObject(listed.stdout)["alerts"] as? [[String: Any]])
    }

    /// `2024-12-17T01:00:00Z` moved by `seconds`, as stored, or in the tests' local time
    /// (UTC+8) without an offset.
    func time(_ stored: String, plus seconds: Int = 0, local: Bool = false) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        let date = try #require(formatter.date(from: stored)).addingTimeInterval(Double(seconds))
        guard local else { return formatter.string(from: date) }
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    @Test func listShowsEveryAlertAndReadKeepsWhoReadItWhen() throws {
        let (scratch, config) = try sampleCopy()
        defer { withExtendedLifetime(scratch) {} }
        let all = try alerts(config)
        #expect(all.map { "\($0["code"]!) \($0["subject"]!)" } == [
            "breaks_found bank-plans 2024-12-16", "breaks_found repayments-vs-bill 2024-12-16",
            "file_missing bank/plans/2024-12-17", "file_missing bank/settlements/2024-12-17", "file_missing bank/statements/2024-12-17",
            "file_missing channel/bills/2024-12-17", "file_missing core/loan_ledger/2024-12-17", "file_missing platform/loans/2024-12-17",
            "file_missing platform/repayments/2024-12-17", "missing_partner_plan L202412160020",
            "repayments_incomplete platform/repayments/2024-12-17",
        ])
        // Members in one order, always.
        let raw = try cli(["alerts", "list", "--json", "--config", config]).stdout
        let firstObject = String(raw.dropFirst("{\"alerts\":[".count).prefix { $0 != "}" })
        let keys = try NSRegularExpression(pattern: #""(\w+)":"#).matches(in: firstObject, range: NSRange(firstObject.startIndex..., in: firstObject))
            .map { String(firstObject[Range($0.range(at: 1), in: firstObject)!]) }
        #expect(keys == ["id", "business_date", "code", "severity", "subject", "message", "raised_at", "cleared_on", "read_at", "read_by"])
        #expect(all.allSatisfy { $0["severity"] as? String == "warning" && $0["read_at"] is NSNull && $0["read_by"] is NSNull })

        let text = try cli(["alerts", "list", "--config", config]).stdout.split(separator: "\n").map(String.init)
        let first = try #require(all.first)
        let firstID = try #require(first["id"] as? Int)
        let firstRaised = try #require(first["raised_at"] as? String)
        #expect(text.first == "id  day         severity  code                   subject                         read")
        #expect(text.dropFirst().prefix(3) == [
            String(repeating: " ", count: 2 - String(firstID).count)
                + "\(firstID)  2024-12-16  warning   breaks_found           bank-plans 2024-12-16           unread",
            "    rule bank-plans has breaks on 2024-12-16: reckon breaks list --rule bank-plans --date 2024-12-16",
            "    raised \(try time(firstRaised, local: true)) +08:00",
        ])
        #expect(text.last == "11 alerts, 11 unread")
        #expect(try alerts(config, "--unread", "--date", "2024-12-17", "--code", "file_missing").count == 7)
        #expect(try alerts(config, "--date", "2024-12-16").map { $0["code"] as? String } == ["breaks_found", "breaks_found"])

        // Read by number: who and when are kept; the first reader stays.
        let ids = all.compactMap { $0["id"] as? Int }
        let read = try cli(["alerts", "read", String(ids[0]), String(ids[1]), "--as", "alice", "--config", config])
        #expect(read.status == 0)
        #expect(read.stdout.hasPrefix("2 alerts marked read by alice at ") && read.stdout.hasSuffix(" +08:00: #\(ids[0]), #\(ids[1])\n"),
                "\(read.stdout)")
        let marked = try alerts(config).filter { $0["read_by"] as? String == "alice" }
        #expect(marked.compactMap { $0["id"] as? Int } == [ids[0], ids[1]])
        let readAt = try #require(marked.first?["read_at"] as? String)
        #expect(read.stdout.contains(" at \(try time(readAt, local: true)) +08:00"))
        let again = try runReckon(["alerts", "read", String(ids[0]), "--config", config], environment: testTimeZone.merging(["USER": "bob"]) { $1 })
        #expect(again.stdout.hasPrefix("#\(ids[0]) was read already by alice at \(try time(readAt, local: true)) +08:00\n"
                                      + "0 alerts marked read by bob at "), "\(again.stdout)")
        #expect(try alerts(config, "--unread").count == 9)
        let text2 = try cli(["alerts", "list", "--config", config]).stdout
        #expect(text2.contains("    raised \(try time(firstRaised, local: true)) +08:00, read by alice at \(try time(readAt, local: true)) +08:00\n"))
        #expect(text2.hasSuffix("11 alerts, 9 unread\n"))

        // A number the ledger does not have marks nothing.
        let unknown = try cli(["alerts", "read", String(ids[2]), "99999", "--as", "carol", "--config", config])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "reckon: no alert #99999 in the ledger (reckon alerts list lists them); nothing was marked read\n")
        #expect(try alerts(config, "--unread").count == 9)
        let neither = try cli(["alerts", "read", "--config", config])
        #expect(neither.status == 64 && neither.stderr.hasPrefix("Error: name the alerts by number, or use --all\n"))
        let both = try cli(["alerts", "read", "1", "--date", "2024-12-17", "--config", config])
        #expect(both.status == 64 && both.stderr.hasPrefix("Error: --date, --code and --before narrow --all; numbered alerts need none\n"))
    }

    @Test func beforeTakesTheAlertsRaisedStrictlyBeforeATimeGivenInAnyOfItsForms() throws {
        let (scratch, config) = try sampleCopy()
        defer { withExtendedLifetime(scratch) {} }
        let all = try alerts(config)
        let latest = try #require(all.compactMap { $0["raised_at"] as? String }.max())
        let before = Set(all.filter { ($0["raised_at"] as? String ?? "") < latest }.compactMap { $0["id"] as? Int })
        let through = Set(all.compactMap { $0["id"] as? Int })
        func ids(_ time: String) throws -> Set<Int> { Set(try alerts(config, "--before", time).compactMap { $0["id"] as? Int }) }
        #expect(try ids(latest) == before)
        #expect(try ids(try time(latest, plus: 1)) == through)
        // The same instant, in local time and with an offset.
        let local = try time(latest, plus: 1, local: true)
        #expect(try ids(local) == through)
        #expect(try ids(local.replacingOccurrences(of: " ", with: "T")) == through)
        #expect(try ids(local + "+08:00") == through && (try ids(local + "+0800")) == through)
        #expect(try ids(try time(latest, local: true) + "+08") == before)
        #expect(try ids("2024-01-01").isEmpty && (try ids("20240101")).isEmpty)
        for wrong in ["2024-13-01", "2024-12-17T25:00", "2024-12-17 09:30+8", "yesterday"] {
            let refused = try cli(["alerts", "list", "--before", wrong, "--config", config])
            #expect(refused.status == 64 && refused.stderr.hasPrefix("Error: The value '\(wrong)' is invalid for '--before <time>'"),
                    "\(wrong): \(refused.stderr)")
        }

        // What --all marks is what the list with the same filters shows.
        let fileMissing = try alerts(config, "--unread", "--code", "file_missing", "--before", try time(latest, plus: 1))
        let marked = try cli(["alerts", "read", "--all", "--code", "file_missing", "--before", try time(latest, plus: 1), "--as", "dave",
                              "--json", "--config", config])
        let json = try jsonObject(marked.stdout)
        #expect((json["marked"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == fileMissing.compactMap { $0["id"] as? Int })
        #expect(json["by"] as? String == "dave" && (json["already_read"] as? [Any])?.isEmpty == true)
        #expect(try alerts(config, "--unread").map { $0["code"] as? String ?? "" }
                == ["breaks_found", "breaks_found", "missing_partner_plan", "repayments_incomplete"])
        #expect(try cli(["alerts", "read", "--all", "--as", "erin", "--config", config]).stdout.hasPrefix("4 alerts marked read by erin at "))
        #expect(try cli(["alerts", "list", "--unread", "--config", config]).stdout == "no unread alerts\n")
    }

    /// A workspace whose drops are empty: its day after the sample's first raises a
    /// file_missing alert for each of its seven expected files.
    func emptyWorkspace(alertCommands: String) throws -> (ScratchFolder, ScratchFolder, String) {
        let drops = ScratchFolder()
        for partner in ["platform", "bank", "channel", "core"] {
            try FileManager.default.createDirectory(atPath: drops.path + "/" + partner, withIntermediateDirectories: true)
        }
        let folder = try workspace(drops.path, expectedFiles: true)
        var yaml = try String(contentsOfFile: folder.path + "/reckon.yaml", encoding: .utf8)
        if yaml.contains("\nreconciliation:\n") {
            yaml = yaml.replacingOccurrences(of: "\nreconciliation:\n", with: "\nreconciliation:\n  alert_commands:\n\(alertCommands)")
        } else {
            yaml += "\nreconciliation:\n  alert_commands:\n\(alertCommands)"
        }
        _ = folder.write("reckon.yaml", yaml)
        return (drops, folder, folder.path + "/reckon.yaml")
    }

    @Test func aBatchPassesEachNewAlertToItsCommandOnceAndWritesTheDaysFile() throws {
        let (drops, folder, config) = try emptyWorkspace(alertCommands: "    file_missing: {run: [./record.sh, got], timeout_seconds: 5}\n")
        defer { withExtendedLifetime((drops, folder)) {} }
        let script = folder.write("record.sh", "#!/bin/sh\ncat >> \"$1\"\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)

        let run = try cli(["batch", "--date", "2024-12-17", "--config", config])
        #expect(run.status == 3, "\(run.stdout)\(run.stderr)")
        let alertFile = folder.path + "/outbox/alerts/2024-12-17.jsonl"
        #expect(run.stdout.contains("\nalert commands: 7 run, 0 failed\nalerts of the day: 8 alerts in \(alertFile)\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("; 7 alert commands run, 0 failed\n"), "\(run.stdout)")
        let day = try String(contentsOfFile: alertFile, encoding: .utf8)
        let lines = day.split(separator: "\n")
        #expect(lines.count == 8 && lines.allSatisfy { $0.hasPrefix("{\"id\":") && $0.hasSuffix(",\"cleared_on\":null}") })
        // Each command got its alert's line, in the order they were raised.
        let got = try String(contentsOfFile: folder.path + "/got", encoding: .utf8)
        let fileMissing = try lines.filter { $0.contains("\"code\":\"file_missing\"") }.sorted {
            try #require(try jsonObject(String($0))["id"] as? Int) < (try #require(try jsonObject(String($1))["id"] as? Int))
        }
        #expect(got == fileMissing.map { $0 + "\n" }.joined())

        // Run again: nothing new is passed on, and the day's file is the same, byte for byte.
        let again = try cli(["batch", "--date", "2024-12-17", "--config", config])
        #expect(again.status == 3 && !again.stdout.contains("alert commands:"), "\(again.stdout)")
        #expect(try String(contentsOfFile: folder.path + "/got", encoding: .utf8) == got)
        #expect(try String(contentsOfFile: alertFile, encoding: .utf8) == day)
        let json = try jsonObject(try cli(["batch", "--date", "2024-12-17", "--json", "--config", config]).stdout)
        #expect((json["alert_commands"] as? [String: Any])?["ran"] as? Int == 0)
        #expect((json["alert_file"] as? [String: Any])?["path"] as? String == alertFile)
        #expect((json["alert_file"] as? [String: Any])?["alerts"] as? Int == 8)
    }

    @Test func aFailingCommandFailsTheRunButNotTheDayAndIsAnAlert() throws {
        let (drops, folder, config) = try emptyWorkspace(alertCommands: "    repayments_incomplete: {run: [./fail.sh], timeout_seconds: 5}\n")
        defer { withExtendedLifetime((drops, folder)) {} }
        let script = folder.write("fail.sh", "#!/bin/sh\necho 'no SMS credit left' >&2\nexit 3\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let run = try cli(["batch", "--date", "2024-12-17", "--config", config])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let failed = try #require(try alerts(config, "--code", "alert_command_failed").only)
        let incomplete = try #require(try alerts(config, "--code", "repayments_incomplete").only)
        let id = try #require(incomplete["id"] as? Int)
        let message = "the command for repayments_incomplete alert #\(id) (./fail.sh) exited with status 3: no SMS credit left"
        #expect(failed["subject"] as? String == "repayments_incomplete #\(id)" && failed["message"] as? String == message)
        #expect(run.stdout.contains("\n✗ \(message)\n"), "\(run.stdout)")
        #expect(run.stdout.contains("\nalerts of the day: 9 alerts in "), "\(run.stdout)")
        // The steps after it ran, and the run was recorded as it ended.
        let status = try cli(["status", "--json", "--config", config])
        let runs = try #require(try jsonObject(status.stdout)["runs"] as? [[String: Any]])
        #expect(runs.first?["status"] as? String == "failed")
    }

    @Test func aCommandForACodeReckonNeverRaisesIsRefusedWhenTheConfigurationLoads() throws {
        let (drops, folder, config) = try emptyWorkspace(alertCommands: "    fle_missing: {run: [/bin/true]}\n")
        defer { withExtendedLifetime((drops, folder)) {} }
        let refused = try cli(["batch", "--date", "2024-12-17", "--config", config])
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("reckon: \(config): reconciliation.alert_commands: 'fle_missing' is not an alert code; "
                                         + "the codes are file_missing, file_late, earlier_version_resent,"), "\(refused.stderr)")
    }
}

extension Array {
    /// The one element of an array that should have exactly one.
    var only: Element? { count == 1 ? first : nil }
}
