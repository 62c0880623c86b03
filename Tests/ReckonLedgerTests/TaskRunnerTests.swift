import Foundation
import GRDB
import ReckonCore
import ReckonFiles
@testable import ReckonLedger
import Testing

/// The task registry and runner (issue 12 item 4, seed 000 §15): tasks from reckon.yaml
/// start disabled; due tasks run once however many times were missed; every run is counted
/// and recorded; a failure raises task_failed; the shipped methods on real ledgers.
@Suite("Scheduled tasks", .serialized)
struct TaskRunnerTests {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    /// A moment given as Shanghai wall-clock time: "2026-11-02 09:00".
    static func at(_ text: String) -> Date {
        let date = CivilDate(iso: text.prefix(10))!
        return LocalDateTime(date: date, hour: Int(text.dropFirst(11).prefix(2))!, minute: Int(text.suffix(2))!)!.moment(in: shanghai)
    }

    /// A day folder whose reckon.yaml declares `tasks` instead of the shipped ones.
    static func folder(tasks: String, copy: Bool = false) throws -> DayFolder {
        try DayFolder(copy: copy) { yaml in
            let shipped = yaml.range(of: "\ntasks:\n")!.lowerBound
            return String(yaml[..<shipped]) + "\ntasks:\n" + tasks
        }
    }

    static func enable(_ id: String, _ folder: DayFolder, _ ledger: Ledger, at moment: Date) throws {
        _ = try TaskRegistry.setEnabled(true, id: id, tasks: folder.config.tasks, ledger: ledger, by: "alice", at: StoredTime.text(moment))
    }

    static func alerts(_ ledger: Ledger, _ code: String) throws -> [String] {
        try ledger.database.read { db in
            try Row.fetchAll(db, sql: "SELECT subject, business_date, cleared_on, message FROM alert WHERE kind = ? ORDER BY subject",
                             arguments: [code]).map { row in
                "\(row[0] as String) \(row[1] as String) cleared=\((row[2] as String?) ?? "-"): \(row[3] as String)"
            }
        }
    }

    @Test func newTasksStartDisabledAndNothingRunsThem() throws {
        let folder = try Self.folder(tasks: """
              balance_check:
                name: balance warning
                schedule: "*/5 * * * *"
                method: balance_check
            """)
        let ledger = try folder.ledger()
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        #expect(runner.runDue(now: Self.at("2026-12-01 09:00")).isEmpty)
        let refused = runner.run(id: "balance_check", now: Self.at("2026-12-01 09:00"), by: "bob")
        #expect(refused.outcome == .refused)
        #expect(refused.result == "task balance_check is disabled: only an enabled task runs (reckon tasks enable balance_check)")
        #expect(runner.run(id: "nope", now: Self.at("2026-12-01 09:00")).result == "no task 'nope' in reckon.yaml; the tasks are balance_check")
        let status = try #require(try TaskRegistry.list(folder.config.tasks, ledger: ledger).first)
        #expect(!status.enabled && status.successes == 0 && status.failures == 0 && status.lastRunAt == nil && status.successRateText == "-")
        #expect(try ledger.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM task_run") } == 0)
    }

    @Test func aMissedTaskRunsOnceAndThenAtItsNextTime() throws {
        let folder = try Self.folder(tasks: """
              balance_check:
                name: balance warning
                schedule: "*/5 * * * *"
                method: balance_check
            """)
        let ledger = try folder.ledger()
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("balance_check", folder, ledger, at: Self.at("2026-12-01 09:01"))
        #expect(try runner.nextRun(of: "balance_check")?.description == "2026-12-01 09:05")
        #expect(runner.runDue(now: Self.at("2026-12-01 09:04")).isEmpty)
        // Down from 09:04 to 12:00: 35 times missed, one run.
        let ran = runner.runDue(now: Self.at("2026-12-01 12:00"))
        #expect(ran.map(\.taskID) == ["balance_check"] && ran.first?.trigger == .schedule)
        #expect(ran.first?.result == "no statement balances in the ledger yet: nothing to check")
        #expect(runner.runDue(now: Self.at("2026-12-01 12:00")).isEmpty)
        #expect(runner.runDue(now: Self.at("2026-12-01 12:04")).isEmpty)
        #expect(runner.runDue(now: Self.at("2026-12-01 12:05")).count == 1)
        #expect(try runner.nextRun(of: "balance_check")?.description == "2026-12-01 12:10")
        let status = try #require(try TaskRegistry.list(folder.config.tasks, ledger: ledger).first)
        #expect(status.successes == 2 && status.failures == 0 && status.successRateText == "100.0%")
        #expect(status.lastRunAt == "2026-12-01T04:05:00Z" && status.lastOutcome == "succeeded")
        #expect(status.enabledChangedBy == "alice" && status.enabledChangedAt == "2026-12-01T01:01:00Z")
        // Disabled: not due any more.
        _ = try TaskRegistry.setEnabled(false, id: "balance_check", tasks: folder.config.tasks, ledger: ledger, by: "bob", at: "2026-12-01T05:00:00Z")
        #expect(runner.runDue(now: Self.at("2026-12-01 18:00")).isEmpty)
        #expect(try TaskRegistry.changes(id: "balance_check", ledger: ledger).map { "\($0.enabled) \($0.by) \($0.at)" }
                == ["true alice 2026-12-01T01:01:00Z", "false bob 2026-12-01T05:00:00Z"])
    }

    @Test func aFailedRunIsCountedRaisesTaskFailedAndTheNextSuccessClearsIt() throws {
        let failing = try Self.folder(tasks: """
              balance_check:
                name: balance warning
                schedule: "0 * * * *"
                method: balance_check
                parameters: {accounts: "6222020000009999"}
            """)
        let ledger = try failing.ledger()
        try Self.enable("balance_check", failing, ledger, at: Self.at("2026-12-01 08:00"))
        let failed = try TaskRunner(config: failing.config, ledger: ledger).run(id: "balance_check", now: Self.at("2026-12-01 08:30"), by: "bob")
        #expect(failed.outcome == .failed && failed.result == "no statement balance of account 6222020000009999 in the ledger")
        #expect(try Self.alerts(ledger, "task_failed") == [
            "balance_check 2026-12-01 cleared=-: task balance_check (balance_check) failed at 2026-12-01T00:30:00Z: "
                + "no statement balance of account 6222020000009999 in the ledger",
        ])
        let run = try ledger.database.read {
            try String.fetchOne($0, sql: "SELECT trigger || ' ' || run_by || ' ' || business_date || ' ' || outcome FROM task_run")
        }
        #expect(run == "hand bob 2026-12-01 failed")
        // The same task without the account it cannot find: it succeeds, and the alert clears.
        let runner = try TaskRunner(config: Self.replacingTasks(failing.config, with: """
              balance_check:
                name: balance warning
                schedule: "0 * * * *"
                method: balance_check
            """), ledger: ledger)
        let ran = runner.runDue(now: Self.at("2026-12-01 09:00"))
        #expect(ran.map(\.outcome) == [.succeeded])
        #expect(try Self.alerts(ledger, "task_failed").first?.contains("cleared=2026-12-01") == true)
        let status = try #require(try TaskRegistry.list(runner.config.tasks, ledger: ledger).first)
        #expect(status.successes == 1 && status.failures == 1 && status.successRateText == "50.0%" && status.successRate == Decimal(string: "0.5"))
    }

    /// Seed 000 §15 1: the identifier never changes, the method and the rest may; a task
    /// gone from reckon.yaml is neither listed nor run, and keeps its history for when it
    /// comes back.
    @Test func reckonYAMLsChangesAreMergedByIdentifier() throws {
        let folder = try Self.folder(tasks: """
              checks:
                name: checks
                schedule: "0 * * * *"
                method: balance_check
            """)
        let ledger = try folder.ledger()
        var runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("checks", folder, ledger, at: Self.at("2026-12-01 08:00"))
        #expect(runner.runDue(now: Self.at("2026-12-01 09:00")).map(\.method) == ["balance_check"])
        func row() throws -> String? {
            try ledger.database.read {
                try String.fetchOne($0, sql: "SELECT name || '|' || schedule || '|' || method || '|' || parameters || '|' || in_config || '|' || enabled FROM task WHERE id = 'checks'")
            }
        }
        // Renamed, rescheduled, another method: the same task, still enabled, its runs kept.
        let changed = try Self.replacingTasks(folder.config, with: """
              checks:
                name: the plan check
                schedule: {cron: "0 10 * * *", days: working-days}
                method: lpr_reminder
            """)
        runner = try TaskRunner(config: changed, ledger: ledger)
        #expect(try row() == "the plan check|0 10 * * * on working-days|lpr_reminder||1|1")
        #expect(try TaskRegistry.list(changed.tasks, ledger: ledger).map { "\($0.name) \($0.enabled) \($0.successes)" } == ["the plan check true 1"])
        // Gone from reckon.yaml: kept, not run.
        let gone = try Self.replacingTasks(folder.config, with: """
              other:
                name: other
                schedule: "0 * * * *"
                method: balance_check
            """)
        runner = try TaskRunner(config: gone, ledger: ledger)
        #expect(try row() == "the plan check|0 10 * * * on working-days|lpr_reminder||0|1")
        #expect(runner.runDue(now: Self.at("2026-12-02 12:00")).isEmpty)
        #expect(try TaskRegistry.list(gone.tasks, ledger: ledger).map(\.id) == ["other"])
        // Back: its state and counts with it.
        runner = try TaskRunner(config: changed, ledger: ledger)
        #expect(try row() == "the plan check|0 10 * * * on working-days|lpr_reminder||1|1")
        #expect(try TaskRegistry.list(changed.tasks, ledger: ledger).map(\.successes) == [1])
    }

    /// The configuration with another `tasks:` block (same folder and ledger).
    static func replacingTasks(_ config: ReckonConfig, with tasks: String) throws -> ReckonConfig {
        let text = try String(contentsOfFile: config.origin, encoding: .utf8)
        let kept = String(text[..<text.range(of: "\ntasks:\n")!.lowerBound]) + "\ntasks:\n" + tasks
        try kept.write(toFile: config.origin, atomically: true, encoding: .utf8)
        return try ConfigFile.load(config.origin)
    }

    @Test func theCalendarReminderAlertsInNovemberWhenNextYearIsMissing() throws {
        let folder = try Self.folder(tasks: """
              calendar_next_year:
                name: next year's calendar
                schedule: "0 9 * 11,12 *"
                method: calendar_next_year
            """)
        let ledger = try folder.ledger()
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("calendar_next_year", folder, ledger, at: Self.at("2025-10-01 00:00"))
        #expect(try runner.nextRun(of: "calendar_next_year")?.description == "2025-11-01 09:00")
        let present = runner.runDue(now: Self.at("2025-11-01 09:00"))
        #expect(present.map(\.result) == ["the calendar \(repositoryRoot)/data/calendar-cn.yaml has 2026"])
        #expect(try Self.alerts(ledger, "calendar_next_year_missing").isEmpty)
        let missing = runner.runDue(now: Self.at("2026-11-02 09:00"))
        #expect(missing.map(\.outcome) == [.succeeded])
        #expect(missing.first?.result == "the calendar \(repositoryRoot)/data/calendar-cn.yaml lacks 2027: calendar_next_year_missing raised")
        #expect(try Self.alerts(ledger, "calendar_next_year_missing") == [
            "2027 2026-11-02 cleared=-: the working-day calendar \(repositoryRoot)/data/calendar-cn.yaml has no holidays for 2027: "
                + "add them from the State Council's notice",
        ])
    }

    @Test func theLPRReminderAlertsWhenTheMonthHasNoFixing() throws {
        let folder = try Self.folder(tasks: """
              lpr_reminder:
                name: monthly LPR
                schedule: {cron: "0 10 * * *", days: working-day-on-or-after 20}
                method: lpr_reminder
            """)
        let ledger = try folder.ledger()
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("lpr_reminder", folder, ledger, at: Self.at("2025-05-01 00:00"))
        // 2025-05-20 is a Tuesday: the shipped history has that day's fixing.
        #expect(try runner.nextRun(of: "lpr_reminder")?.description == "2025-05-20 10:00")
        #expect(runner.runDue(now: Self.at("2025-05-20 10:00")).map(\.result)
                == ["the LPR of 2025-05 is in the base-rate history (published 2025-05-20)"])
        // 2026-12-20 is a Sunday: the reminder comes on Monday the 21st.
        _ = try TaskRegistry.setEnabled(false, id: "lpr_reminder", tasks: folder.config.tasks, ledger: ledger, by: "alice", at: "2026-12-01T00:00:00Z")
        _ = try TaskRegistry.setEnabled(true, id: "lpr_reminder", tasks: folder.config.tasks, ledger: ledger, by: "alice", at: "2026-12-01T00:00:00Z")
        // Enabled again: counted from then, not from its run of May 2025.
        #expect(try runner.nextRun(of: "lpr_reminder")?.description == "2026-12-21 10:00")
        #expect(runner.runDue(now: Self.at("2026-12-20 10:00")).isEmpty)
        #expect(runner.runDue(now: Self.at("2026-12-21 10:00")).map(\.result) == ["no LPR fixing of 2026-12 yet: lpr_fixing_missing raised"])
        #expect(try Self.alerts(ledger, "lpr_fixing_missing") == [
            "2026-12 2026-12-21 cleared=-: no LPR fixing of 2026-12 is in the base-rate history: add it "
                + "(\(repositoryRoot)/data/lpr-history.csv) or ingest the base-rate file",
        ])
    }

    @Test func theBalanceCheckTakesEachAccountsLatestStatementBalance() throws {
        let folder = try Self.folder(tasks: """
              balance_check:
                name: balance warning
                schedule: "*/5 * * * *"
                method: balance_check
              balance_check_high:
                name: balance warning, a higher line
                schedule: "*/5 * * * *"
                method: balance_check
                parameters: {warning_line: "5,000,000.00", accounts: "6222020000001234"}
            """, copy: true)
        let ledger = try folder.ledger()
        _ = try Batch.run(BatchOptions(date: disbursementDay, steps: [.collect, .ingest]), config: folder.config, ledger: ledger)
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("balance_check", folder, ledger, at: Self.at("2024-11-16 08:00"))
        try Self.enable("balance_check_high", folder, ledger, at: Self.at("2024-11-16 08:00"))
        let results = runner.runDue(now: Self.at("2024-11-16 08:05"))
        #expect(results.map(\.result) == [
            "1 account checked against 500,000.00: none below",
            "1 account checked against 5,000,000.00: 1 below (6222020000001234 4,953,000.00): balance_below_warning raised",
        ])
        let alerts = try Self.alerts(ledger, "balance_below_warning")
        #expect(alerts == [
            "6222020000001234 2024-11-15 2024-11-15 cleared=-: account 6222020000001234: latest closing balance 4,953,000.00 (of 2024-11-15) "
                + "is below the warning line 5,000,000.00",
        ], "\(alerts)")
    }

    /// A task of each batch method, as reckon.yaml declares them.
    static let batchTasks = """
              pull_bills:
                name: pull the channel's bills
                schedule: "15 7-10 * * *"
                method: pull_bills
                parameters: {partner: channel, days_back: 1}
              verify_bills:
                name: verify the bills
                schedule: "0 11 * * *"
                method: verify_bills
              daily_settlement:
                name: daily settlement
                schedule: "30 6 * * *"
                method: settle_day
              missing_plans:
                name: missing plans
                schedule: "0 10 * * *"
                method: missing_plan_check
            """

    @Test func batchTasksRunTheirStepsForTheirDayThroughTheHooks() throws {
        let folder = try Self.folder(tasks: Self.batchTasks, copy: true)
        let ledger = try folder.ledger()
        let asked = Asked()
        let hooks = TaskHooks { date, steps, partner in
            asked.add("\(date) \(steps.map(\.rawValue).joined(separator: ",")) \(partner ?? "all")")
            return BatchOptions(date: date, steps: steps, partner: partner)
        }
        let runner = try TaskRunner(config: folder.config, ledger: ledger, hooks: hooks)
        for task in folder.config.tasks { try Self.enable(task.id, folder, ledger, at: Self.at("2024-12-16 00:00")) }
        let results = runner.runDue(now: Self.at("2024-12-16 11:00"))
        #expect(asked.lines == ["2024-12-15 collect,ingest channel", "2024-12-15 reconcile all", "2024-12-15 settle,deliver all",
                                // A reconciliation rule compares the bank's plans: its reconcile step raises the alert.
                                "2024-12-16 plan,reconcile all"])
        #expect(results.map(\.taskID) == ["pull_bills", "verify_bills", "daily_settlement", "missing_plans"])
        let pulled = try #require(results.first)
        #expect(pulled.outcome == .succeeded, "\(pulled.result)")
        #expect(pulled.result.hasPrefix("batch run #1 for 2024-12-15 (collect,ingest): succeeded: 1 posted, 0 repeated"), "\(pulled.result)")
        #expect(try ledger.receivedFiles().map(\.name) == ["PAY_BILL_20241215.csv"])
        #expect(results.map(\.outcome) == [.succeeded, .succeeded, .succeeded, .succeeded])
        #expect(results[2].result == "batch run #3 for 2024-12-15 (settle,deliver): succeeded: "
                + "settled: platform v1 (2 files, 0 records), bank v1 (2 files, 0 records)")
    }

    /// The daemon's graceful stop reaches the tasks: the batch of the task running when it
    /// comes stops (its run incomplete, the task failed, saying so), and the tasks after it
    /// are not run, so they are still due at the next start.
    @Test func aStopStopsTheRunningTasksBatchAndLeavesTheLaterTasksDue() throws {
        let folder = try Self.folder(tasks: Self.batchTasks, copy: true)
        let ledger = try folder.ledger()
        let asked = Asked()
        // The stop comes as the second task's batch starts.
        let hooks = TaskHooks { date, steps, partner in
            asked.add("\(steps.map(\.rawValue).joined(separator: ","))")
            return BatchOptions(date: date, steps: steps, partner: partner)
        }
        let runner = try TaskRunner(config: folder.config, ledger: ledger, hooks: hooks)
        for task in folder.config.tasks { try Self.enable(task.id, folder, ledger, at: Self.at("2024-12-16 00:00")) }
        let stopped = runner.runDue(now: Self.at("2024-12-16 11:00"), shouldStop: { asked.lines.count >= 2 })
        #expect(stopped.map(\.taskID) == ["pull_bills", "verify_bills"])
        #expect(stopped.map(\.outcome) == [.succeeded, .failed])
        #expect(stopped.last?.result.contains("(reconcile): incomplete: ") == true, "\(stopped.last?.result ?? "")")
        #expect(stopped.last?.result.contains("stopped before the end (asked to stop)") == true, "\(stopped.last?.result ?? "")")
        let next = runner.runDue(now: Self.at("2024-12-16 11:01"))
        #expect(next.map(\.taskID) == ["daily_settlement", "missing_plans"] && next.allSatisfy { $0.outcome == .succeeded })
    }

    /// Seed 000 §15 f: the day after a disbursement, the check finds the loans no partner
    /// sent a plan for (the sample day's bank plan file is held back here). The shipped
    /// configuration compares plans in a reconciliation rule, so its reconcile step raises.
    @Test func theMissingPlanCheckFindsTheLoansWithoutAPartnerPlan() throws {
        let folder = try Self.folder(tasks: """
              missing_plans:
                name: missing plans
                schedule: "0 10 * * *"
                method: missing_plan_check
            """)
        for partner in ["platform", "bank", "channel", "core"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/inbox/" + partner) where !name.hasPrefix("BANK_PLAN_") {
                try FileManager.default.copyItem(atPath: repositoryRoot + "/inbox/\(partner)/\(name)", toPath: folder.root + "/inbox/\(partner)/\(name)")
            }
        }
        let ledger = try folder.ledger()
        let day = CivilDate(year: 2024, month: 12, day: 16)!
        _ = try Batch.run(BatchOptions(date: day), config: folder.config, ledger: ledger)
        #expect(try Self.alerts(ledger, "missing_partner_plan").isEmpty)
        let runner = try TaskRunner(config: folder.config, ledger: ledger)
        try Self.enable("missing_plans", folder, ledger, at: Self.at("2024-12-17 00:00"))
        let result = try #require(runner.runDue(now: Self.at("2024-12-17 10:00")).first)
        #expect(result.outcome == .succeeded)
        #expect(result.result.hasPrefix("batch run #2 for 2024-12-17 (plan,reconcile): succeeded: "), "\(result.result)")
        #expect(result.result.hasSuffix("; 20 loans without a partner plan (missing_partner_plan)"), "\(result.result)")
        let alerts = try Self.alerts(ledger, "missing_partner_plan")
        #expect(alerts.count == 20 && alerts.first?.hasPrefix("L202412160001 2024-12-17 cleared=-: loan L202412160001 was disbursed on 2024-12-16") == true,
                "\(alerts)")
    }

    final class Asked: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func add(_ line: String) { lock.withLock { stored.append(line) } }
        var lines: [String] { lock.withLock { stored } }
    }
}
