import Foundation
import GRDB
import ReckonCore
import ReckonFiles
#if canImport(Glibc)
import Glibc
#endif

/// A program run with a text on its standard input and a time limit, never through a shell.
/// Its standard input and error are unlinked temporary files, not pipes: a program that
/// does not read its input, or leaves a child holding its output open, cannot block reckon.
/// Past the limit its process group (Foundation starts each program in a group of its own)
/// gets SIGTERM, then SIGKILL after `graceSeconds`.
struct ProgramRun {
    enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case notStarted(String)
    }

    let arguments: [String]
    var timeoutSeconds: Int
    var graceSeconds = 2
    /// Where the program runs, and what a relative program path (one with a `/`) is taken from.
    var folder: String
    var environment: [String: String] = [:]

    /// Runs the program; its outcome and the end of what it wrote to standard error.
    func run(input: String) -> (outcome: Outcome, errorText: String) {
        guard let program = arguments.first, !program.isEmpty else { return (.notStarted("no program given"), "") }
        guard let executable = Self.locate(program, folder: folder) else {
            return (.notStarted("\(program): no such program\(program.contains("/") ? "" : " on PATH")"), "")
        }
        let stdin: FileHandle, stderr: FileHandle
        do {
            stdin = try Self.scratchFile(holding: input)
            stderr = try Self.scratchFile(holding: "")
        } catch {
            return (.notStarted("its input could not be prepared: \(error)"), "")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        do {
            try process.run()
        } catch {
            return (.notStarted("\(program): \(FileErrorText.reason(error))"), "")
        }
        var outcome: Outcome?
        if ended.wait(timeout: .now() + .seconds(timeoutSeconds)) == .timedOut {
            let group = -process.processIdentifier
            kill(group, SIGTERM)
            if ended.wait(timeout: .now() + .seconds(graceSeconds)) == .timedOut {
                kill(group, SIGKILL)
                ended.wait()
            }
            outcome = .timedOut
        }
        let status = process.terminationStatus
        return (outcome ?? (process.terminationReason == .exit ? .exited(status) : .signalled(status)), Self.tail(of: stderr))
    }

    /// The program's path: as given when it names a folder (relative to `folder`), else the
    /// first executable of that name on PATH.
    static func locate(_ program: String, folder: String) -> String? {
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : folder + "/" + program
            return access(path, X_OK) == 0 ? path : nil
        }
        let searched = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return searched.map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }

    /// An open temporary file holding `text`, positioned at its start, already unlinked.
    private static func scratchFile(holding text: String) throws -> FileHandle {
        let path = NSTemporaryDirectory() + "reckon-alert-\(getpid())-\(UUID().uuidString)"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileAccessError(path: path, reason: String(cString: strerror(errno))) }
        unlink(path)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.seek(toOffset: 0)
        return handle
    }

    /// The last lines the program wrote to standard error (at most 300 bytes), on one line.
    private static func tail(of handle: FileHandle) -> String {
        let limit: UInt64 = 300
        guard let size = try? handle.seekToEnd() else { return "" }
        try? handle.seek(toOffset: size > limit ? size - limit : 0)
        let bytes = (try? handle.readToEnd()) ?? Data()
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return DisplayText.escaped((size > limit ? "…" : "") + lines.joined(separator: " / "))
    }
}

/// What the alert commands did after a run.
public struct AlertCommandsReport: Sendable {
    /// Commands run.
    public var ran = 0
    /// Each failure as its `alert_command_failed` alert says it.
    public var failures: [String] = []
}

extension Ledger {
    /// Announces the alerts raised (or opened again) since the last announcement: for each
    /// one still open whose code has a command in reckon.yaml (`reconciliation:
    /// alert_commands:`), the command is run with the alert as one JSON object on its standard
    /// input (``Alert/json(read:)``), in the configuration's folder, with
    /// `RECKON_ALERT_ID`, `RECKON_ALERT_CODE` and `RECKON_ALERT_SEVERITY` set. Outside any
    /// transaction, one alert at a time, each marked announced as soon as its command ends.
    ///
    /// A command that exits non-zero, runs past its `timeout_seconds` or cannot be started
    /// raises an `alert_command_failed` alert (subject: the code and the alert's id, dated
    /// `date`), announced in turn; a failure of that one's own command is recorded but not
    /// announced again. Nothing here throws for a command: only the ledger failing does.
    public func runAlertCommands(date: CivilDate, config: ReckonConfig, graceSeconds: Int = 2,
                                 shouldStop: () -> Bool = { false }) throws(LedgerError) -> AlertCommandsReport {
        var report = AlertCommandsReport()
        let commands = config.reconciliation.alertCommands
        while true {
            // Alerts with nothing to run are announced at once.
            let pending = try write { db in
                try db.execute(sql: """
                    UPDATE alert SET announce_pending = 0 WHERE announce_pending = 1
                      AND (cleared_on IS NOT NULL OR kind NOT IN (SELECT value FROM json_each(?)))
                    """, arguments: ["[" + commands.keys.sorted().map(JSONText.quote).joined(separator: ",") + "]"])
                return try Row.fetchAll(db, sql: "SELECT \(Self.alertColumns) FROM alert WHERE announce_pending = 1 ORDER BY id")
                    .map(Self.alert)
            }
            if pending.isEmpty { return report }
            for alert in pending {
                guard let command = commands[alert.kind] else { continue }
                // Asked to stop: the alerts not yet announced stay pending for the next run.
                if shouldStop() { throw LedgerError.alertsAbandoned(date) }
                let failure = Self.announce(alert, command: command, folder: config.root, graceSeconds: graceSeconds)
                report.ran += 1
                if let failure { report.failures.append(failure) }
                try write { db in
                    try db.execute(sql: "UPDATE alert SET announce_pending = 0 WHERE id = ?", arguments: [alert.id])
                    guard let failure else { return }
                    let subject = "\(alert.kind) #\(alert.id)"
                    try AlertBook.raise(db, .alertCommandFailed, subject: subject, day: date.description, message: failure, reopening: true)
                    if alert.kind == AlertCode.alertCommandFailed.rawValue {
                        // A failing command for failures is not run for its own failure.
                        try db.execute(sql: "UPDATE alert SET announce_pending = 0 WHERE kind = ? AND subject = ?",
                                       arguments: [AlertCode.alertCommandFailed.rawValue, subject])
                    }
                }
            }
        }
    }

    /// Runs an alert's command; nil when it succeeded, else why not (the failure alert's message).
    static func announce(_ alert: Alert, command: AlertCommand, folder: String, graceSeconds: Int) -> String? {
        var run = ProgramRun(arguments: command.arguments, timeoutSeconds: command.timeoutSeconds, folder: folder)
        run.graceSeconds = graceSeconds
        run.environment = ["RECKON_ALERT_ID": String(alert.id), "RECKON_ALERT_CODE": alert.kind,
                           "RECKON_ALERT_SEVERITY": alert.severity.rawValue]
        let (outcome, errorText) = run.run(input: alert.json() + "\n")
        let what = "the command for \(alert.kind) alert #\(alert.id) (\(command.arguments.first ?? ""))"
        let said = errorText.isEmpty ? "" : ": \(errorText)"
        switch outcome {
        case .exited(0): return nil
        case .exited(let status): return "\(what) exited with status \(status)\(said)"
        case .signalled(let signal): return "\(what) was killed by signal \(signal)\(said)"
        case .timedOut: return "\(what) did not finish within its limit of \(command.timeoutSeconds) s and was stopped\(said)"
        case .notStarted(let reason): return "\(what) could not be started: \(reason)"
        }
    }
}

extension Batch {
    /// A run's last step, after the others committed: the alert commands, then the day's
    /// alert file. Neither stops the run; a failure of either is one of its errors.
    /// Asked to stop on the way (`shouldStop`), it leaves the rest to the next run and the
    /// run says it stopped.
    static func finishAlerts(_ date: CivilDate, config: ReckonConfig, ledger: Ledger, report: inout BatchReport,
                             shouldStop: () -> Bool = { false }) {
        do {
            let commands = try ledger.runAlertCommands(date: date, config: config, shouldStop: shouldStop)
            report.alertCommands = commands
            report.errors += commands.failures
        } catch where error.abandoned {
            report.stopped = true
            return
        } catch {
            report.errors.append("alert commands: \(error)")
        }
        do {
            (report.alertFile, report.alertFileCount) = try ledger.writeAlertFile(date: date, config: config, shouldStop: shouldStop)
        } catch where error.abandoned {
            report.stopped = true
        } catch {
            report.errors.append("\(error)")
        }
    }
}
