import Foundation
import Testing

/// Console switches and one writer per ledger, on the built binary (issue 12 items 5 and 6):
/// `reckon pause|resume|switches`, a run that honours them and says who paused what, and a
/// second writer that waits a bounded time for the lock, then refuses naming its holder
/// (pid, host, since when), batch run or not; a killed holder's lock is taken at once.
@Suite("Switches and the writer lock", .serialized)
struct SwitchesCommandTests {
    static let day = "2024-12-16"

    func folder() throws -> (ScratchFolder, String) {
        let folder = try workspace(repositoryRoot + "/inbox")
        return (folder, folder.path + "/reckon.yaml")
    }

    @Test func pauseAndResumeAreKeptWithWhoAndWhenAndARunHonoursThem() throws {
        let (folder, config) = try folder()
        defer { withExtendedLifetime(folder) {} }
        // No ledger yet: every step runs.
        #expect(try reckon(["switches", "--config", config]).stdout
                == "collect    running\ningest     running\nplan       running\nreconcile  running\nsettle     running\ndeliver    running\n")

        let pause = try reckon(["pause", "plan", "--as", "alice", "--note", "month-end check", "--config", config])
        #expect(pause.status == 0, "\(pause.stderr)")
        #expect(pause.stdout.hasPrefix("plan       paused by alice at "))
        #expect(pause.stdout.hasSuffix(" (month-end check)\n  runs skip plan until `reckon resume plan`; "
                                       + "a run doing it now stops at its next file boundary or step\n"), "\(pause.stdout)")
        // Paused again by someone else: nothing changes, the first pause stands.
        let again = try jsonObject(try reckon(["pause", "plan", "--as", "bob", "--json", "--config", config]).stdout)
        #expect(again["changed"] as? Bool == false && again["by"] as? String == "alice" && again["note"] as? String == "month-end check")
        let at = try #require(again["at"] as? String)

        let batch = try reckon(["batch", "--date", Self.day, "--steps", "collect,ingest,plan", "--partner", "platform", "--json", "--config", config])
        #expect(batch.status == 3, "\(batch.stdout)\(batch.stderr)")
        let report = try jsonObject(batch.stdout)
        #expect(report["status"] as? String == "incomplete")
        let paused = try #require(report["paused_steps"] as? [[String: Any]])
        #expect(paused.map { "\($0["step"] as? String ?? "") \($0["by"] as? String ?? "") \($0["at"] as? String ?? "")" } == ["plan alice \(at)"])
        #expect(report["plans"] is NSNull)
        #expect((report["summary"] as? String)?.contains("; paused: plan (by alice at \(at))") == true)

        let text = try reckon(["batch", "--date", Self.day, "--steps", "collect,ingest,plan", "--partner", "platform", "--config", config])
        #expect(text.status == 3)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.dropFirst().first?.hasPrefix("⏸ paused: plan (by alice at ") == true, "\(text.stdout)")
        #expect(lines.last?.hasPrefix("incomplete: ") == true && lines.last?.contains("; paused: plan (by alice at \(at))") == true)

        let status = try jsonObject(try reckon(["status", "--json", "--config", config]).stdout)
        let switches = try #require(status["switches"] as? [[String: Any]])
        #expect(switches.map { "\($0["step"] as? String ?? "") \($0["paused"] as? Bool ?? false)" }
                == ["collect false", "ingest false", "plan true", "reconcile false", "settle false", "deliver false"])
        #expect(try reckon(["status", "--config", config]).stdout.hasPrefix("⏸ paused: plan (by alice at "))

        let resume = try jsonObject(try reckon(["resume", "plan", "--as", "carol", "--note", "checked", "--json", "--config", config]).stdout)
        #expect(resume["changed"] as? Bool == true && resume["paused"] as? Bool == false && resume["by"] as? String == "carol")
        let listed = try jsonObject(try reckon(["switches", "--json", "--config", config]).stdout)
        let history = try #require(listed["history"] as? [[String: Any]])
        #expect(history.map { "\($0["action"] as? String ?? "") \($0["step"] as? String ?? "") \($0["by"] as? String ?? "") \($0["note"] as? String ?? "-")" }
                == ["resume plan carol checked", "pause plan alice month-end check"])
        let shown = try reckon(["switches", "--config", config]).stdout
        #expect(shown.contains("\nplan       running (resumed) by carol at ") && shown.contains("\nhistory (newest first):\n  #2 "))
        let after = try reckon(["batch", "--date", Self.day, "--steps", "collect,ingest,plan", "--partner", "platform", "--config", config])
        #expect(after.status == 0, "\(after.stdout)")

        let unknown = try reckon(["pause", "lunch", "--config", config])
        #expect(unknown.status == 64 && unknown.stderr.contains("lunch"), "\(unknown.stderr)")
    }

    /// The holder's record in the lock file, read here byte by byte: pid, host, since, what.
    func holderRecord(_ ledger: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: ledger + ".writer"))
        try #require(data.count >= 4096 + 512)
        return String(decoding: data[4096..<(4096 + 512)].prefix { $0 != 0 }, as: UTF8.self).components(separatedBy: "\t")
    }

    @Test func aSecondWriterWaitsThenRefusesNamingTheBatchAndAKilledHoldersLockIsTakenAtOnce() throws {
        let (folder, config) = try folder()
        defer { withExtendedLifetime(folder) {} }
        let ledger = folder.path + "/var/reckon.sqlite"
        // A batch holding the lock, stopped just after recording its run.
        let holder = try startStoppedReckon(["batch", "--date", Self.day, "--config", config], stopAt: "run-started")
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        try #require(processState(holder.processIdentifier) == "T", "the batch did not stop at run-started")
        let run = try #require((try jsonObject(try reckon(["status", "--json", "--config", config]).stdout)["runs"] as? [[String: Any]])?.first)
        let id = try #require(run["id"] as? Int), started = try #require(run["started_at"] as? String)
        let host = try #require(run["host"] as? String)
        #expect(run["pid"] as? Int == Int(holder.processIdentifier) && run["status"] as? String == "running")
        #expect(try holderRecord(ledger).enumerated().filter { $0.offset != 2 }.map(\.element)
                == [String(holder.processIdentifier), host, "reckon batch"])

        let second = try runReckon(["batch", "--date", Self.day, "--wait-for-lock", "1", "--config", config], timeoutSeconds: 120)
        #expect(second.status == 1 && !second.timedOut)
        #expect(second.stderr == "reckon: another reckon process is writing the ledger \(ledger) (batch run #\(id) for \(Self.day), "
                + "pid \(holder.processIdentifier) on \(host), started \(started)); one writer at a time: "
                + "it still held the lock after 1 s of waiting; try again when it ends\n")

        // Killed, the holder's lock went with it: the next writer takes it at once and
        // records the dead run as interrupted.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let next = try runReckon(["batch", "--date", Self.day, "--steps", "collect,ingest", "--partner", "platform",
                                  "--wait-for-lock", "600", "--config", config], timeoutSeconds: 300)
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(next.stdout.contains("\nrecovered: run \(id) of \(Self.day) was interrupted before its first step "
                                     + "(pid \(holder.processIdentifier) on \(host), started \(started))\n"), "\(next.stdout)")
        let runs = try #require(try jsonObject(try reckon(["status", "--json", "--config", config]).stdout)["runs"] as? [[String: Any]])
        #expect(runs.first { $0["id"] as? Int == id }?["status"] as? String == "interrupted")
        // Let go: no holder is recorded.
        #expect(try holderRecord(ledger) == [""])
    }

    @Test func aManualCommandHoldingTheLockIsNamedByItsRecord() throws {
        let (folder, config) = try folder()
        defer { withExtendedLifetime(folder) {} }
        let ledger = folder.path + "/var/reckon.sqlite"
        // reckon reconcile, stopped with its step committed and the lock still held: no batch run.
        let holder = try startStoppedReckon(["reconcile", "--date", Self.day, "--config", config], stopAt: "reconcile-commit-after")
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        try #require(processState(holder.processIdentifier) == "T", "reckon reconcile did not stop at reconcile-commit-after")
        let record = try holderRecord(ledger)
        try #require(record.count == 4)
        #expect(record[0] == String(holder.processIdentifier) && record[3] == "reckon reconcile")
        let refused = try runReckon(["files", "set-aside", "1", "--reason", "test", "--wait-for-lock", "0.5", "--config", config],
                                    timeoutSeconds: 120)
        #expect(refused.status == 1)
        #expect(refused.stderr == "reckon: another reckon process is writing the ledger \(ledger) (reckon reconcile, "
                + "pid \(holder.processIdentifier) on \(record[1]), since \(record[2])); one writer at a time: "
                + "it still held the lock after 0.5 s of waiting; try again when it ends\n")
        // Without waiting, the same holder is named at once.
        let atOnce = try runReckon(["batch", "--date", Self.day, "--config", config], timeoutSeconds: 120)
        #expect(atOnce.status == 1)
        #expect(atOnce.stderr == "reckon: another reckon process is writing the ledger \(ledger) (reckon reconcile, "
                + "pid \(holder.processIdentifier) on \(record[1]), since \(record[2])); one writer at a time: try again when it ends\n")
    }
}
