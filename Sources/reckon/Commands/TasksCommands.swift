import ArgumentParser
import Foundation
import ReckonCore
import ReckonLedger
import ReckonSFTP

struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "The scheduled tasks reckon.yaml declares: list them, run one now, enable or disable them.",
        discussion: """
            reckon.yaml declares the tasks (tasks:): identifier, name, schedule (cron fields and which \
            days of the working-day calendar), method and parameters; the ledger keeps whether each is \
            enabled (a new task starts disabled), who changed that when, and its runs: the last one \
            (failures included), successes, failures and success rate. The daemon (reckon run) runs \
            each enabled task when its schedule's time comes; a task missed while it was down runs \
            once. A failed run raises task_failed; the task's next success clears it. See the README, \
            "Scheduled tasks".
            """,
        subcommands: [TasksList.self, TasksRun.self, TasksEnable.self, TasksDisable.self]
    )
}

/// Who did something: --as, else $USER, else $LOGNAME.
func actingUser(_ given: String?) -> String {
    given ?? ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
}

/// A moment on the command line (hidden `--now`, for replays and tests), as the ledger stores times.
struct TaskMoment: ExpressibleByArgument {
    let date: Date

    init?(argument: String) {
        guard let stored = TimeText.stored(fromArgument: argument), let seconds = TimeText.epochSeconds(stored) else { return nil }
        date = Date(timeIntervalSince1970: Double(seconds))
    }
}

struct TasksList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the tasks: their schedule, method, state and runs.",
        discussion: """
            Each task in reckon.yaml's order: identifier, name, enabled or disabled, schedule, runs \
            (successes/failures), success rate and last run, then its method and parameters, who \
            enabled or disabled it when, when it is next due, and its last result. --json prints one \
            object: tasks, each with id, name, schedule, method, parameters, enabled, \
            enabled_changed_by, enabled_changed_at (UTC), successes, failures, success_rate_percent \
            (null before the first run), last_run_at (UTC), last_outcome (succeeded, failed), \
            last_result, next_run_at (UTC; null while disabled).

              reckon tasks list
              reckon tasks list --json
            """)

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let statuses: [TaskStatus]
        let calendar: BusinessCalendar
        do {
            // A ledger not made yet has no task state: every task is disabled, never run.
            statuses = FileManager.default.fileExists(atPath: config.databasePath)
                ? try TaskRegistry.list(config.tasks, ledger: try Ledger(readingFrom: config.databasePath))
                : try TaskRegistry.list(config.tasks, ledger: nil)
            calendar = try TaskRunner.calendar(config) ?? TaskSchedule.weekdayCalendar
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        let zone = config.timeZone
        let nextRuns = zip(config.tasks, statuses).map { TaskRunner.nextRun(of: $0, status: $1, calendar: calendar, timeZone: zone) }
        if json {
            typealias J = JSONShape
            print(J.object([("tasks", J.array(zip(statuses, nextRuns).map { status, next in
                J.object([("id", J.string(status.id)), ("name", J.string(status.name)), ("schedule", J.string(status.schedule)),
                          ("method", J.string(status.method)), ("parameters", J.string(status.parameters)),
                          ("enabled", J.bool(status.enabled)), ("enabled_changed_by", J.string(status.enabledChangedBy)),
                          ("enabled_changed_at", J.string(status.enabledChangedAt)),
                          ("successes", J.number(status.successes)), ("failures", J.number(status.failures)),
                          ("success_rate_percent", status.successes + status.failures == 0 ? "null" : String(status.successRateText.dropLast())),
                          ("last_run_at", J.string(status.lastRunAt)), ("last_outcome", J.string(status.lastOutcome)),
                          ("last_result", J.string(status.lastResult)),
                          ("next_run_at", J.string(next.map { TimeText.stored(Int($0.moment(in: zone).timeIntervalSince1970)) }))])
            }))]))
            return
        }
        guard !statuses.isEmpty else {
            print("no tasks: reckon.yaml declares none (tasks:)")
            return
        }
        let table = TextTable([("id", false), ("name", false), ("state", false), ("schedule", false), ("runs", true),
                               ("rate", true), ("last run", false)])
        let rows = statuses.map { status in
            [status.id, DisplayText.escaped(status.name), status.enabled ? "enabled" : "disabled", status.schedule,
             "\(status.successes)/\(status.failures)", status.successRateText,
             status.lastRunAt.map { TimeText.local($0) + " " + (status.lastOutcome ?? "") } ?? "never"]
        }
        let lines = table.render(rows)
        print(lines[0])
        for ((status, next), line) in zip(zip(statuses, nextRuns), lines.dropFirst()) {
            print(line)
            var about = "    " + status.method + (status.parameters.isEmpty ? "" : " (\(status.parameters))")
            if let by = status.enabledChangedBy, let at = status.enabledChangedAt {
                about += "; \(status.enabled ? "enabled" : "disabled") by \(DisplayText.escaped(by)) at \(TimeText.local(at))"
            }
            if let next { about += "; next " + TimeText.local(Int(next.moment(in: zone).timeIntervalSince1970)) }
            for part in wrapped(about) { print(part) }
            if let result = status.lastResult {
                for part in wrapped("    " + (status.lastOutcome ?? "") + ": " + DisplayText.escaped(result)) { print(part) }
            }
        }
        let enabled = statuses.filter(\.enabled).count
        print("\(Plural.count(statuses.count, "task")), \(AmountText.grouped(enabled)) enabled")
    }
}

struct TasksRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a task now and print its result.",
        discussion: """
            Only an enabled task runs by hand (seed 000 §15: an enabled task can be run once now); a \
            disabled one is refused and nothing is recorded. The run is recorded as the daemon's are \
            (its counts, last run and result; task_failed when it fails), with who ran it. Exit \
            status: 0 when it succeeded, 1 when it failed or was refused, 2 when the configuration \
            cannot be used. --json prints one object: task, name, method, trigger (hand), by, \
            business_date, started_at, finished_at (UTC), duration_seconds, outcome (succeeded, \
            failed, refused), result.

              reckon tasks run balance_check
              reckon tasks run daily_settlement --as alice --json
            """)

    @Argument(help: "The task's identifier (reckon tasks list shows them).")
    var id: String

    @Option(name: .customLong("as"), help: ArgumentHelp("Who runs it (default: $USER).", valueName: "name"))
    var runner: String?

    @Option(help: .hidden)
    var now: TaskMoment?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        let by = actingUser(runner)
        let result: TaskRunResult
        do {
            result = try TaskRunner(config: config, ledger: ledger, hooks: TaskHooks.cli(config))
                .run(id: id, now: now?.date ?? Date(), by: by)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            typealias J = JSONShape
            print(J.object([("task", J.string(result.taskID)), ("name", J.string(result.name)), ("method", J.string(result.method)),
                            ("trigger", J.string(result.trigger.rawValue)), ("by", J.string(by)),
                            ("business_date", J.string(result.businessDate.description)),
                            ("started_at", J.string(result.startedAt)), ("finished_at", J.string(result.finishedAt)),
                            ("duration_seconds", J.number(Int(result.durationSeconds))),
                            ("outcome", J.string(result.outcome.rawValue)), ("result", J.string(result.result))]))
        } else if result.outcome == .refused {
            printError("reckon: \(result.result)")
        } else {
            print("task \(result.taskID) (\(result.method)) \(result.outcome.rawValue) for \(result.businessDate), "
                  + TimeText.span(started: result.startedAt, finished: result.finishedAt))
            for line in wrapped("  " + DisplayText.escaped(result.result)) { print(line) }
        }
        if !result.succeeded { throw ExitCode.failure }
    }
}

/// What `tasks enable` and `tasks disable` take: the task, who, and --json.
struct TaskSwitchArguments: ParsableArguments {
    @Argument(help: "The task's identifier.")
    var id: String

    @Option(name: .customLong("as"), help: ArgumentHelp("Who makes the change (default: $USER).", valueName: "name"))
    var who: String?

    @Option(help: .hidden)
    var now: TaskMoment?

    @Flag(help: "Print one JSON object instead of text (see above).")
    var json = false
}

/// `tasks enable` and `tasks disable`: the same but for the state they set.
protocol TaskSwitchCommand: ParsableCommand {
    static var enabling: Bool { get }
    var arguments: TaskSwitchArguments { get }
    var options: ConfigOptions { get }
}

extension TaskSwitchCommand {
    static var discussionText: String {
        """
        Recorded with who (--as, else $USER) and when; every change is kept. \
        \(enabling ? "An enabled task runs at its schedule's first time after now (the daemon runs it), and can be run by hand." : "A disabled task is neither run by the daemon nor by hand.") \
        --json prints one object: task, enabled, changed (false when it was so already), by, at (UTC).
        """
    }

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        let id = arguments.id
        let by = actingUser(arguments.who)
        let at = arguments.now.map { TimeText.stored(Int($0.date.timeIntervalSince1970)) } ?? TimeText.storedNow()
        let change: TaskRegistry.Change
        do {
            change = try TaskRegistry.setEnabled(Self.enabling, id: id, tasks: config.tasks, ledger: ledger, by: by, at: at)
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        let state = Self.enabling ? "enabled" : "disabled"
        if arguments.json {
            typealias J = JSONShape
            print(J.object([("task", J.string(id)), ("enabled", J.bool(Self.enabling)), ("changed", J.bool(change == .changed)),
                            ("by", J.string(by)), ("at", J.string(at))]))
        } else if change == .changed {
            print("task \(id) \(state) by \(DisplayText.escaped(by)) at \(TimeText.local(at))")
        } else {
            print("task \(id) was \(state) already: nothing changed")
        }
    }
}

struct TasksEnable: TaskSwitchCommand {
    static let enabling = true
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a task: the daemon runs it on its schedule.",
                                                    discussion: discussionText)

    @OptionGroup var arguments: TaskSwitchArguments
    @OptionGroup var options: ConfigOptions
}

struct TasksDisable: TaskSwitchCommand {
    static let enabling = false
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable a task: nothing runs it.",
                                                    discussion: discussionText)

    @OptionGroup var arguments: TaskSwitchArguments
    @OptionGroup var options: ConfigOptions
}

extension TaskHooks {
    /// The batches tasks run get the SFTP fetch and deliver hooks `reckon batch` gives its own.
    static func cli(_ config: ReckonConfig, log: @escaping @Sendable (String) -> Void = { printError($0) }) -> TaskHooks {
        TaskHooks { date, steps, partner in
            BatchHooks.options(date, steps: steps, partner: partner, config: config, log: log)
        }
    }
}
