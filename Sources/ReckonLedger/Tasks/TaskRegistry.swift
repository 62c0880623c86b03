import Foundation
import GRDB
import ReckonCore

/// One task as the registry holds it (seed 000 §15 1): what reckon.yaml declares, and what
/// the ledger keeps — enabled or not, who changed that when, its runs counted, its last run
/// (failures included) and what it said.
public struct TaskStatus: Sendable {
    public let id: String
    public let name: String
    /// As reckon.yaml gives it: `30 6 * * * on working-days`.
    public let schedule: String
    public let method: String
    /// `days_back=1, partner=channel`; empty without parameters.
    public let parameters: String
    public let enabled: Bool
    /// Who last enabled or disabled it, when (UTC as stored); nil while nobody has.
    public let enabledChangedBy: String?
    public let enabledChangedAt: String?
    public let successes: Int
    public let failures: Int
    /// The last run's start (UTC as stored), outcome and result text; nil before the first.
    public let lastRunAt: String?
    public let lastOutcome: String?
    public let lastResult: String?

    /// Successes over runs (seed: 成功次数/（成功次数+失败次数）); nil before the first run.
    public var successRate: Decimal? {
        let runs = successes + failures
        return runs == 0 ? nil : Decimal(successes) / Decimal(runs)
    }

    /// `66.7%` (rounded half-up to a tenth of a percent), `-` before the first run.
    public var successRateText: String {
        let runs = successes + failures
        guard runs > 0 else { return "-" }
        let tenths = (successes * 1000 * 2 + runs) / (runs * 2)
        return "\(tenths / 10).\(tenths % 10)%"
    }
}

/// The tasks reckon.yaml declares (`tasks:`), merged into the ledger's `task` table: a new
/// identifier is a new task, disabled (seed 000 §15 j: 首次创建为未开启状态); a known one
/// takes its name, schedule, method and parameters from reckon.yaml (the identifier never
/// changes); one no longer declared keeps its rows and history but is neither listed nor run.
public enum TaskRegistry {
    /// Brings the ledger's tasks in line with reckon.yaml; `at` is stored as a new task's
    /// creation time.
    public static func merge(_ tasks: [TaskConfig], ledger: Ledger, at time: String) throws(LedgerError) {
        do {
            try ledger.database.write { db in try merge(tasks, db: db, at: time) }
        } catch {
            throw LedgerError("cannot record the tasks of reckon.yaml: \(error)")
        }
    }

    static func merge(_ tasks: [TaskConfig], db: Database, at time: String) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO task (id, name, schedule, method, parameters, in_config, created_at)
            VALUES (?, ?, ?, ?, ?, 1, ?)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, schedule = excluded.schedule, method = excluded.method,
                parameters = excluded.parameters, in_config = 1
              WHERE (task.name, task.schedule, task.method, task.parameters, task.in_config)
                    IS NOT (excluded.name, excluded.schedule, excluded.method, excluded.parameters, 1)
            """)
        for task in tasks {
            try upsert.execute(arguments: [task.id, task.name, task.schedule.description, task.method.rawValue,
                                           parametersText(task), time])
        }
        let declared = Set(tasks.map(\.id))
        for id in try String.fetchAll(db, sql: "SELECT id FROM task WHERE in_config = 1") where !declared.contains(id) {
            try db.execute(sql: "UPDATE task SET in_config = 0 WHERE id = ?", arguments: [id])
        }
    }

    static func parametersText(_ task: TaskConfig) -> String {
        task.parameters.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }

    /// The declared tasks in reckon.yaml's order, each with its state in the ledger (a task
    /// not merged yet is disabled and has never run; so is every task without a ledger).
    /// Reads only.
    public static func list(_ tasks: [TaskConfig], ledger: Ledger?) throws(LedgerError) -> [TaskStatus] {
        guard let ledger else { return tasks.map { status($0, nil) } }
        do {
            return try ledger.database.read { db in
                let hasTable = try db.tableExists("task")
                return try tasks.map { task in
                    status(task, hasTable ? try Row.fetchOne(db, sql: "SELECT * FROM task WHERE id = ?", arguments: [task.id]) : nil)
                }
            }
        } catch {
            throw LedgerError("cannot read the tasks: \(error)")
        }
    }

    private static func status(_ task: TaskConfig, _ row: Row?) -> TaskStatus {
        TaskStatus(id: task.id, name: task.name, schedule: task.schedule.description, method: task.method.rawValue,
                   parameters: parametersText(task), enabled: (row?["enabled"] as Bool?) ?? false,
                   enabledChangedBy: row?["enabled_changed_by"], enabledChangedAt: row?["enabled_changed_at"],
                   successes: (row?["successes"] as Int?) ?? 0, failures: (row?["failures"] as Int?) ?? 0,
                   lastRunAt: row?["last_run_at"], lastOutcome: row?["last_outcome"], lastResult: row?["last_result"])
    }

    /// What enabling or disabling did.
    public enum Change: Sendable, Equatable {
        case changed
        /// It was so already: nothing recorded.
        case unchanged
    }

    /// Enables or disables a declared task, recording who and when (each change kept in
    /// `task_change`). A task enabled now runs at its schedule's next time after now.
    public static func setEnabled(_ enabled: Bool, id: String, tasks: [TaskConfig], ledger: Ledger,
                                  by: String, at time: String) throws(LedgerError) -> Change {
        guard tasks.contains(where: { $0.id == id }) else { throw unknownTask(id, tasks) }
        do {
            return try ledger.database.write { db in
                try merge(tasks, db: db, at: time)
                let current = try Bool.fetchOne(db, sql: "SELECT enabled FROM task WHERE id = ?", arguments: [id]) ?? false
                guard current != enabled else { return .unchanged }
                try db.execute(sql: "UPDATE task SET enabled = ?, enabled_changed_at = ?, enabled_changed_by = ? WHERE id = ?",
                               arguments: [enabled, time, by, id])
                try db.execute(sql: "INSERT INTO task_change (task, enabled, changed_by, changed_at) VALUES (?, ?, ?, ?)",
                               arguments: [id, enabled, by, time])
                return .changed
            }
        } catch {
            throw LedgerError("cannot \(enabled ? "enable" : "disable") task \(id): \(error)")
        }
    }

    /// Each change of a task's state: enabled or not, by whom, when (oldest first).
    public static func changes(id: String, ledger: Ledger) throws(LedgerError) -> [(enabled: Bool, by: String, at: String)] {
        do {
            return try ledger.database.read { db in
                guard try db.tableExists("task_change") else { return [] }
                return try Row.fetchAll(db, sql: "SELECT enabled, changed_by, changed_at FROM task_change WHERE task = ? ORDER BY id",
                                        arguments: [id]).map { ($0[0], $0[1], $0[2]) }
            }
        } catch {
            throw LedgerError("cannot read task \(id)'s changes: \(error)")
        }
    }

    static func unknownTask(_ id: String, _ tasks: [TaskConfig]) -> LedgerError {
        LedgerError("no task '\(id)' in reckon.yaml; the tasks are "
                    + (tasks.isEmpty ? "none (tasks: declares them)" : tasks.map(\.id).joined(separator: ", ")))
    }
}

/// Times as the ledger stores them (`2026-12-01T01:00:00Z`), for a given moment rather than
/// the clock: tasks are run with an injected `now`.
enum StoredTime {
    static func text(_ moment: Date) -> String {
        var seconds = time_t(moment.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func moment(_ text: String) -> Date? {
        let digits = text.filter(\.isNumber)
        guard text.count == 20, text.hasSuffix("Z"), digits.count == 14,
              let date = CivilDate(iso: text.prefix(10)),
              let hour = Int(text.dropFirst(11).prefix(2)), let minute = Int(text.dropFirst(14).prefix(2)),
              let second = Int(text.dropFirst(17).prefix(2)) else { return nil }
        return Date(timeIntervalSince1970: Double(date.dayNumber * 86_400 + hour * 3600 + minute * 60 + second))
    }
}
