import Foundation
import GRDB
import ReckonCore
import ReckonFiles

/// What the caller gives a task runner: how to make a batch's options, so that the CLI and
/// the daemon wire the SFTP fetch and deliver hooks (and the daemon its stop check) the way
/// `reckon batch` does.
public struct TaskHooks: Sendable {
    public var makeBatchOptions: @Sendable (_ date: CivilDate, _ steps: [BatchStep], _ partner: String?) -> BatchOptions

    public init(makeBatchOptions: @escaping @Sendable (CivilDate, [BatchStep], String?) -> BatchOptions
                    = { BatchOptions(date: $0, steps: $1, partner: $2) }) {
        self.makeBatchOptions = makeBatchOptions
    }
}

/// What one task run did, or why it did not run.
public struct TaskRunResult: Sendable {
    public enum Outcome: String, Sendable {
        case succeeded, failed
        /// Not run: the task is not declared, or (by hand) not enabled. Nothing recorded.
        case refused
    }

    public enum Trigger: String, Sendable {
        /// Its schedule's time came (``TaskRunner/runDue(now:)``).
        case schedule
        /// Someone ran it now (``TaskRunner/run(id:now:by:)``, `reckon tasks run`).
        case hand
    }

    public let taskID: String
    public let name: String
    public let method: String
    public let trigger: Trigger
    /// The business day of `now` in the configuration's time zone.
    public let businessDate: CivilDate
    /// When it started (the `now` given) and finished, UTC as stored.
    public let startedAt: String
    public let finishedAt: String
    /// Seconds the method took (monotonic clock).
    public let durationSeconds: Double
    public let outcome: Outcome
    /// One line: what it did, or why it failed.
    public let result: String

    public var succeeded: Bool { outcome == .succeeded }
}

/// Runs scheduled tasks (seed 000 §15): each enabled task whose schedule's next time after
/// its last run has come (``runDue(now:)``, each daemon tick), or one task now
/// (``run(id:now:by:)``). Every run is recorded (`task_run`, and the task's counts, last
/// run and result); a failed run raises `task_failed` for the task, its next success
/// clears it.
///
/// A task missed while nothing ran (the daemon down over several of its times) runs once
/// when next due, not once per missed time: what is due is measured from its last run, or
/// from its enabling when that is later (never run, or enabled again since).
public final class TaskRunner: Sendable {
    public let config: ReckonConfig
    public let ledger: Ledger
    public let hooks: TaskHooks
    public let timeZone: TimeZone
    /// The working-day calendar schedules are read with (Monday to Friday without one).
    public let calendar: BusinessCalendar

    /// Reads the configuration's working-day calendar and records reckon.yaml's tasks in
    /// the ledger (new ones disabled).
    /// Schedules are read in the configuration's time zone (`timezone:`) unless told another.
    public init(config: ReckonConfig, ledger: Ledger, hooks: TaskHooks = TaskHooks(),
                timeZone: TimeZone? = nil) throws(LedgerError) {
        self.config = config
        self.ledger = ledger
        self.hooks = hooks
        self.timeZone = timeZone ?? config.timeZone
        do {
            calendar = try TaskRunner.loadCalendar(config) ?? TaskSchedule.weekdayCalendar
        } catch {
            throw LedgerError("the tasks' schedules need the working-day calendar: \(error)")
        }
        try TaskRegistry.merge(config.tasks, ledger: ledger, at: StoredTime.text(Date()))
    }

    /// The next time the task is due after its last run (or its enabling), local; nil for a
    /// disabled task or a schedule that names no time ahead.
    public func nextRun(of id: String) throws(LedgerError) -> LocalDateTime? {
        guard let task = config.tasks.first(where: { $0.id == id }) else { throw TaskRegistry.unknownTask(id, config.tasks) }
        guard let state = try state(id), state.enabled, let from = state.reference.flatMap(StoredTime.moment) else { return nil }
        return task.schedule.next(after: LocalDateTime(from, in: timeZone), calendar: calendar)
    }

    /// When a task listed with its state is next due (local, in `timeZone`): its schedule's
    /// first time after its last run or its enabling, whichever is later; nil while it is
    /// disabled.
    public static func nextRun(of task: TaskConfig, status: TaskStatus, calendar: BusinessCalendar,
                               timeZone: TimeZone) -> LocalDateTime? {
        guard status.enabled, let from = [status.lastRunAt, status.enabledChangedAt].compactMap({ $0 }).max().flatMap(StoredTime.moment)
        else { return nil }
        return task.schedule.next(after: LocalDateTime(from, in: timeZone), calendar: calendar)
    }

    /// The working-day calendar reckon.yaml names, read now; nil when it names none.
    public static func calendar(_ config: ReckonConfig) throws -> BusinessCalendar? { try loadCalendar(config) }

    /// Runs every enabled task that is due at `now`, in reckon.yaml's order; returns their
    /// results (none when nothing is due). `shouldStop` (the daemon's graceful stop) is its
    /// batches' (``BatchOptions/shouldStop``), and asked before each task: the tasks not run
    /// are still due at the next start.
    public func runDue(now: Date, shouldStop: (@Sendable () -> Bool)? = nil) -> [TaskRunResult] {
        var results: [TaskRunResult] = []
        for task in config.tasks {
            if shouldStop?() == true { break }
            let due: Bool
            do {
                guard let state = try state(task.id), state.enabled, let from = state.reference.flatMap(StoredTime.moment) else { continue }
                guard let next = task.schedule.next(after: LocalDateTime(from, in: timeZone), calendar: calendar) else { continue }
                due = next.moment(in: timeZone) <= now
            } catch {
                results.append(failed(task, trigger: .schedule, now: now, "cannot read its state: \(error)"))
                continue
            }
            if due { results.append(execute(task, trigger: .schedule, by: nil, now: now, shouldStop: shouldStop)) }
        }
        return results
    }

    /// Runs one task now, by hand. Only an enabled task runs (seed 000 §15 k: 开启的定时任务，
    /// 可手动立即执行一次); a disabled or undeclared one is refused and nothing is recorded.
    public func run(id: String, now: Date, by: String? = nil) -> TaskRunResult {
        guard let task = config.tasks.first(where: { $0.id == id }) else {
            return refused(id: id, now: now, TaskRegistry.unknownTask(id, config.tasks).message)
        }
        do {
            guard let state = try state(id), state.enabled else {
                return refused(id: id, now: now, "task \(id) is disabled: only an enabled task runs (reckon tasks enable \(id))")
            }
        } catch {
            return failed(task, trigger: .hand, now: now, "cannot read its state: \(error)")
        }
        return execute(task, trigger: .hand, by: by, now: now)
    }

    // MARK: Running and recording

    private struct State {
        let enabled: Bool
        /// The later of the last run's start and when it was last enabled (a task enabled
        /// again counts from then, not from a run before it was disabled).
        let reference: String?
    }

    private func state(_ id: String) throws(LedgerError) -> State? {
        do {
            return try ledger.database.read { db in
                // Stored times are ISO UTC of one width: their text order is their time order.
                try Row.fetchOne(db, sql: """
                    SELECT enabled, nullif(max(coalesce(last_run_at, ''), coalesce(enabled_changed_at, '')), '')
                    FROM task WHERE id = ? AND in_config = 1
                    """,
                                 arguments: [id]).map { State(enabled: $0[0], reference: $0[1]) }
            }
        } catch {
            throw LedgerError("\(error)")
        }
    }

    private func execute(_ task: TaskConfig, trigger: TaskRunResult.Trigger, by: String?, now: Date,
                         shouldStop: (@Sendable () -> Bool)? = nil) -> TaskRunResult {
        let day = LocalDateTime(now, in: timeZone).date
        let clock = ContinuousClock()
        let started = clock.now
        let outcome: TaskMethodOutcome
        do {
            outcome = try TaskMethods(config: config, ledger: ledger, hooks: hooks, calendar: calendar, shouldStop: shouldStop)
                .run(task, day: day, now: now)
        } catch {
            outcome = TaskMethodOutcome(succeeded: false, text: "\(error)")
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let result = TaskRunResult(taskID: task.id, name: task.name, method: task.method.rawValue, trigger: trigger, businessDate: day,
                                   startedAt: StoredTime.text(now), finishedAt: StoredTime.text(now.addingTimeInterval(seconds.rounded(.down))),
                                   durationSeconds: seconds, outcome: outcome.succeeded ? .succeeded : .failed, result: outcome.text)
        do {
            try record(result, by: by)
        } catch {
            return TaskRunResult(taskID: task.id, name: task.name, method: task.method.rawValue, trigger: trigger, businessDate: day,
                                 startedAt: result.startedAt, finishedAt: result.finishedAt, durationSeconds: seconds, outcome: .failed,
                                 result: result.result + "; and its run could not be recorded: \(error)")
        }
        return result
    }

    /// The run, the task's counts and last run, and its `task_failed` alert, in one transaction.
    private func record(_ result: TaskRunResult, by: String?) throws {
        try ledger.database.write { db in
            try db.execute(sql: """
                INSERT INTO task_run (task, method, trigger, run_by, business_date, started_at, finished_at, outcome, result)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [result.taskID, result.method, result.trigger.rawValue, by, result.businessDate.description,
                                 result.startedAt, result.finishedAt, result.outcome.rawValue, result.result])
            try db.execute(sql: """
                UPDATE task SET successes = successes + ?, failures = failures + ?, last_run_at = ?, last_outcome = ?, last_result = ?
                WHERE id = ?
                """, arguments: [result.succeeded ? 1 : 0, result.succeeded ? 0 : 1, result.startedAt, result.outcome.rawValue,
                                 result.result, result.taskID])
            let day = result.businessDate.description
            if result.succeeded {
                try AlertBook.clear(db, .taskFailed, subject: result.taskID, day: day)
            } else {
                // Raised again after a success cleared it: a new failure is news.
                try AlertBook.raise(db, .taskFailed, subject: result.taskID, day: day,
                                    message: "task \(result.taskID) (\(result.method)) failed at \(result.startedAt): \(result.result)",
                                    at: result.startedAt, reopening: true)
            }
        }
    }

    private func failed(_ task: TaskConfig, trigger: TaskRunResult.Trigger, now: Date, _ text: String) -> TaskRunResult {
        TaskRunResult(taskID: task.id, name: task.name, method: task.method.rawValue, trigger: trigger,
                      businessDate: LocalDateTime(now, in: timeZone).date, startedAt: StoredTime.text(now),
                      finishedAt: StoredTime.text(now), durationSeconds: 0, outcome: .failed, result: text)
    }

    private func refused(id: String, now: Date, _ text: String) -> TaskRunResult {
        let task = config.tasks.first { $0.id == id }
        return TaskRunResult(taskID: id, name: task?.name ?? id, method: task?.method.rawValue ?? "", trigger: .hand,
                             businessDate: LocalDateTime(now, in: timeZone).date, startedAt: StoredTime.text(now),
                             finishedAt: StoredTime.text(now), durationSeconds: 0, outcome: .refused, result: text)
    }
}
