import Foundation
import Testing

/// `reckon tasks list|run|enable|disable` (issue 12 item 4, seed 000 §15) through the built
/// binary, on a workspace with the shipped tasks and a ledger of its own.
@Suite("Task commands", .serialized)
struct TasksCommandTests {
    @Test func tasksStartDisabledRunOnlyEnabledAndKeepWhoChangedThem() throws {
        let folder = try workspace(repositoryRoot + "/inbox")
        let config = folder.path + "/reckon.yaml"

        // Nothing recorded yet: every shipped task listed, disabled, never run.
        let first = try cli(["tasks", "list", "--config", config])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("id ") == true && lines.last == "7 tasks, 0 enabled", "\(first.stdout)")
        #expect(lines.contains { $0.hasPrefix("calendar_next_year ") && $0.contains(" disabled ") && $0.hasSuffix(" never") }, "\(first.stdout)")

        // A disabled task is not run by hand: refused, exit 1, nothing recorded.
        let refused = try cli(["tasks", "run", "calendar_next_year", "--config", config, "--now", "2026-11-02T09:00+08:00"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "reckon: task calendar_next_year is disabled: only an enabled task runs (reckon tasks enable calendar_next_year)\n")

        let enabled = try cli(["tasks", "enable", "calendar_next_year", "--as", "alice", "--config", config, "--json",
                               "--now", "2026-11-01T18:00+08:00"])
        let change = try jsonObject(enabled.stdout)
        #expect(enabled.status == 0 && change["task"] as? String == "calendar_next_year" && change["enabled"] as? Bool == true)
        #expect(change["changed"] as? Bool == true && change["by"] as? String == "alice" && change["at"] as? String == "2026-11-01T10:00:00Z")
        let again = try cli(["tasks", "enable", "calendar_next_year", "--as", "bob", "--config", config])
        #expect(again.stdout == "task calendar_next_year was enabled already: nothing changed\n")

        // Run by hand in November 2026: the calendar lacks 2027.
        let ran = try cli(["tasks", "run", "calendar_next_year", "--as", "bob", "--config", config, "--now", "2026-11-02T09:00+08:00", "--json"])
        #expect(ran.status == 0, "\(ran.stderr)")
        let result = try jsonObject(ran.stdout)
        #expect(result["outcome"] as? String == "succeeded" && result["trigger"] as? String == "hand" && result["by"] as? String == "bob")
        #expect(result["business_date"] as? String == "2026-11-02" && result["started_at"] as? String == "2026-11-02T01:00:00Z")
        #expect(result["result"] as? String == "the calendar \(repositoryRoot)/data/calendar-cn.yaml lacks 2027: calendar_next_year_missing raised")
        let alerts = try jsonObject(try cli(["alerts", "list", "--code", "calendar_next_year_missing", "--json", "--config", config]).stdout)
        #expect((alerts["alerts"] as? [[String: Any]])?.map { $0["subject"] as? String } == ["2027"])

        let listed = try jsonObject(try cli(["tasks", "list", "--json", "--config", config]).stdout)
        let task = try #require((listed["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == "calendar_next_year" })
        #expect(task["enabled"] as? Bool == true && task["enabled_changed_by"] as? String == "alice")
        #expect(task["successes"] as? Int == 1 && task["failures"] as? Int == 0 && task["success_rate_percent"] as? Double == 100.0)
        #expect(task["last_run_at"] as? String == "2026-11-02T01:00:00Z" && task["last_outcome"] as? String == "succeeded")
        // Next: 09:00 the day after its last run, in Shanghai.
        #expect(task["next_run_at"] as? String == "2026-11-03T01:00:00Z")
        let other = try #require((listed["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == "balance_check" })
        #expect(other["enabled"] as? Bool == false && other["success_rate_percent"] is NSNull && other["next_run_at"] is NSNull)

        // Disabled again: refused by hand again; the change is kept with who.
        let disabled = try cli(["tasks", "disable", "calendar_next_year", "--as", "carol", "--config", config])
        #expect(disabled.status == 0 && disabled.stdout.hasPrefix("task calendar_next_year disabled by carol at "))
        #expect(try cli(["tasks", "run", "calendar_next_year", "--config", config]).status == 1)
        let unknown = try cli(["tasks", "run", "no_such_task", "--config", config])
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("reckon: no task 'no_such_task' in reckon.yaml; the tasks are daily_settlement, "))
    }

    @Test func aFailedRunExitsNonZeroAndRaisesTaskFailed() throws {
        let folder = try workspace(repositoryRoot + "/inbox")
        let config = folder.path + "/reckon.yaml"
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        let shipped = "    method: balance_check              # the warning line is thresholds: balance_warning\n"
        #expect(yaml.contains(shipped))
        _ = folder.write("reckon.yaml", yaml.replacingOccurrences(of: shipped, with: shipped + "    parameters: {accounts: \"6222020000009999\"}\n"))
        #expect(try cli(["tasks", "enable", "balance_check", "--config", config]).status == 0)
        let failed = try cli(["tasks", "run", "balance_check", "--config", config, "--now", "2026-12-01T09:00+08:00"])
        #expect(failed.status == 1)
        #expect(failed.stdout == "task balance_check (balance_check) failed for 2026-12-01, started 2026-12-01 09:00:00 +08:00, finished 09:00:00 (under 1 s)\n"
                + "  no statement balance of account 6222020000009999 in the ledger\n", "\(failed.stdout)")
        let alerts = try jsonObject(try cli(["alerts", "list", "--code", "task_failed", "--json", "--config", config]).stdout)
        #expect((alerts["alerts"] as? [[String: Any]])?.map { $0["subject"] as? String } == ["balance_check"])
        let listed = try cli(["tasks", "list", "--config", config]).stdout
        #expect(listed.contains("    failed: no statement balance of account 6222020000009999 in the ledger"), "\(listed)")
        #expect(listed.contains("0/1") && listed.contains("0.0%"), "\(listed)")
    }
}
