import ArgumentParser
import Foundation
import ReckonCore
import ReckonLedger

/// How long a writing command waits for another writer of the ledger: `--wait-for-lock`, or
/// reckon.yaml's `ledger: {wait_for_lock_seconds: …}`, or not at all.
struct LockWaitOption: ParsableArguments {
    @Option(name: .customLong("wait-for-lock"), help: """
        When another reckon process is writing the ledger, wait up to this many seconds for it to end \
        (default: reckon.yaml's ledger.wait_for_lock_seconds, else 0: refuse at once, naming the holder).
        """)
    var seconds: Double?

    func seconds(_ config: ReckonConfig) -> Double { max(0, seconds ?? config.writerLockWaitSeconds) }
}

extension BatchStep: ExpressibleByArgument {}

/// Who switches: `--as`, or the login name.
struct SwitchActor: ParsableArguments {
    @Option(name: .customLong("as"), help: "Who switches it (default: $USER).")
    var actor: String?

    @Option(help: "Why: kept with the change.")
    var note: String?

    var name: String {
        actor ?? ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
    }
}

/// `reckon pause STEP` and `reckon resume STEP`: one switch, thrown and kept in its history.
enum SwitchCommand {
    static let stepsText = BatchStep.allCases.map(\.rawValue).joined(separator: "|")

    static func run(_ step: BatchStep, paused: Bool, who: SwitchActor, json: Bool, options: ConfigOptions) throws {
        let config = try options.load()
        let change: StepSwitchChange?
        let now: StepSwitch
        do {
            // Opened without recording the partners: the switch is the one write. (A file
            // being posted holds SQLite's write lock until it commits; the switch waits for
            // that, up to Ledger.busyTimeoutSeconds: the file boundary a run stops at.)
            let ledger = try Ledger(path: config.databasePath)
            change = try ledger.setStep(step, paused: paused, actor: who.name, note: who.note)
            now = try ledger.stepSwitches().first { $0.step == step }!
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(SwitchText.json(now, changed: change != nil))
            return
        }
        guard change != nil else {
            print("\(step.rawValue) was already \(paused ? "paused" : "running"): nothing changed (\(SwitchText.line(now)))")
            return
        }
        print(SwitchText.line(now))
        print(paused
              ? "  runs skip \(step.rawValue) until `reckon resume \(step.rawValue)`; a run doing it now stops at its next file boundary or step"
              : "  the next run does \(step.rawValue) again")
    }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a step of the day's runs (\(SwitchCommand.stepsText)): a console switch (seed 000 §17).",
        discussion: """
            The switch is kept in the ledger with who paused it, when and why, and every change stays in its \
            history (reckon switches). Runs skip a paused step and end incomplete, saying which steps were \
            paused and by whom; a run already doing the step stops before its next file (or at its next step). \
            Pausing collect fetches and takes nothing from the drops; pausing deliver sends nothing to the \
            partners' servers. Needs no writer lock: it works while a run holds the ledger.
            """)

    @Argument(help: "The step: \(SwitchCommand.stepsText).")
    var step: BatchStep

    @OptionGroup var who: SwitchActor

    @Flag(help: "Print one JSON object instead of text: step, paused, changed (false when it already was), by, at, note.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws { try SwitchCommand.run(step, paused: true, who: who, json: json, options: options) }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused step of the day's runs (\(SwitchCommand.stepsText)).",
        discussion: "Kept in the switches' history with who and when (reckon switches); the next run does the step again.")

    @Argument(help: "The step: \(SwitchCommand.stepsText).")
    var step: BatchStep

    @OptionGroup var who: SwitchActor

    @Flag(help: "Print one JSON object instead of text: step, paused, changed (false when it already was running), by, at, note.")
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws { try SwitchCommand.run(step, paused: false, who: who, json: json, options: options) }
}

struct SwitchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switches",
        abstract: "The console switches: each step running or paused (by whom, when, why), and their history.")

    @Option(help: "How many changes of the history to show, newest first.")
    var history = 20

    @Flag(help: """
        Print one JSON object instead of text: switches (step, paused, by, at, note) and history (id, step, \
        action: pause or resume, by, at, note), newest first.
        """)
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        guard FileManager.default.fileExists(atPath: config.databasePath) else {
            let switches = BatchStep.allCases.map { StepSwitch(step: $0, paused: false, changedBy: nil, changedAt: nil, note: nil) }
            if json {
                print(SwitchText.json(switches: switches, history: []))
            } else {
                SwitchText.show(switches: switches, history: [])
            }
            return
        }
        let ledger = try options.readingLedger(config)
        do {
            let switches = try ledger.stepSwitches()
            let changes = try ledger.stepSwitchChanges(limit: max(0, history))
            if json {
                print(SwitchText.json(switches: switches, history: changes))
            } else {
                SwitchText.show(switches: switches, history: changes)
            }
        } catch {
            printError("reckon: \(error)")
            throw ExitCode.failure
        }
    }
}

/// The switches for people and as JSON (`reckon switches`, `reckon status`, `reckon batch`).
enum SwitchText {
    /// `ingest     paused by alice at 2026-12-01 10:10:00 +08:00 (bank file late)`
    static func line(_ item: StepSwitch) -> String {
        let name = item.step.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
        guard let by = item.changedBy, let at = item.changedAt else { return name + " running" }
        return name + " \(item.paused ? "paused" : "running (resumed)") by \(by) at \(TimeText.local(at))" + (item.note.map { " (\($0))" } ?? "")
    }

    /// `paused: ingest (by alice at 2026-12-01 10:10:00 +08:00: bank file late)`
    static func paused(_ items: [StepSwitch]) -> String {
        "paused: " + items.map { item in
            "\(item.step.rawValue) (by \(item.changedBy ?? "?") at \(item.changedAt.map(TimeText.local) ?? "?")"
                + (item.note.map { ": \($0)" } ?? "") + ")"
        }.joined(separator: ", ")
    }

    static func show(switches: [StepSwitch], history: [StepSwitchChange]) {
        for item in switches { print(line(item)) }
        guard !history.isEmpty else { return }
        print("history (newest first):")
        for change in history {
            print("  #\(change.id) \(TimeText.local(change.changedAt)) \(change.actor) \(change.action == .pause ? "paused" : "resumed") "
                  + change.step.rawValue + (change.note.map { " (\($0))" } ?? ""))
        }
    }

    static func item(_ item: StepSwitch) -> [(String, String)] {
        typealias J = JSONShape
        return [("step", J.string(item.step.rawValue)), ("paused", J.bool(item.paused)), ("by", J.string(item.changedBy)),
                ("at", J.string(item.changedAt)), ("note", J.string(item.note))]
    }

    static func json(_ item: StepSwitch, changed: Bool) -> String {
        JSONShape.object(self.item(item) + [("changed", JSONShape.bool(changed))])
    }

    static func json(switches: [StepSwitch], history: [StepSwitchChange]) -> String {
        typealias J = JSONShape
        return J.object([
            ("switches", J.array(switches.map { J.object(item($0)) })),
            ("history", J.array(history.map { change in
                J.object([("id", String(change.id)), ("step", J.string(change.step.rawValue)), ("action", J.string(change.action.rawValue)),
                          ("by", J.string(change.actor)), ("at", J.string(change.changedAt)), ("note", J.string(change.note))])
            })),
        ])
    }
}
