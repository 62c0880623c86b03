import Foundation
import ReckonFiles

/// The places where a crash matters: around every commit, every kept copy of a file and
/// every step of a batch run. Crash tests make reckon die at each one in turn, so every
/// point is covered on every run, whatever the machine's speed (as SQLite's and
/// TigerBeetle's tests do); a new case here is tested without anyone listing it again.
public enum CrashPoint: String, CaseIterable, Sendable {
    /// A batch run's row is committed (status `running`).
    case runStarted = "run-started"
    /// A step's row is committed (collect, ingest, plan).
    case stepStarted = "step-started"
    /// A step's outcome is committed.
    case stepFinished = "step-finished"
    /// A batch run's outcome is committed; the process has not yet exited.
    case runFinished = "run-finished"
    /// The configured partners are recorded (ingest does it for each file's partner).
    case partnersRecorded = "partners-recorded"
    /// A file's archive copy is about to be made.
    case archiveCopyBefore = "archive-copy-before"
    /// A file's archive copy is in place (flushed and renamed).
    case archiveCopyAfter = "archive-copy-after"
    /// A kept copy (archive or quarantine) is written and flushed under its temporary name,
    /// not yet renamed into place.
    case copyUnrenamed = "copy-unrenamed"
    /// A file's rows are all written and its transaction is about to commit.
    case fileCommitBefore = "file-commit-before"
    /// A file's transaction is committed.
    case fileCommitAfter = "file-commit-after"
    /// A refused file is about to be copied into quarantine.
    case quarantineCopyBefore = "quarantine-copy-before"
    /// A refused file's quarantine copy is in place.
    case quarantineCopyAfter = "quarantine-copy-after"
    /// A refused file's report is about to be written.
    case quarantineReportBefore = "quarantine-report-before"
    /// A refused file's report is in place.
    case quarantineReportAfter = "quarantine-report-after"
    /// A refused file's row is committed.
    case refusalRecorded = "refusal-recorded"
    /// The plan step's rows are all written and its transaction is about to commit.
    case planCommitBefore = "plan-commit-before"
    /// The plan step's transaction is committed.
    case planCommitAfter = "plan-commit-after"
    /// The reconcile step's breaks are all written and its transaction is about to commit.
    case reconcileCommitBefore = "reconcile-commit-before"
    /// The reconcile step's transaction is committed.
    case reconcileCommitAfter = "reconcile-commit-after"
    /// An outbound set's manifest is written in its staging folder (ReckonFiles'
    /// ``OutboxInstallStep``, routed here by ``CrashPoints/connectOutbox()``).
    case outboxManifestStaged = "outbox-manifest-staged"
    /// An outbound set is complete in its staging folder, about to be swapped in.
    case outboxSetStaged = "outbox-set-staged"
    /// An outbound set is the day's folder; the replaced one waits in the staging folder.
    case outboxSetSwapped = "outbox-set-swapped"
    /// One file of a replaced outbound set is in the archive.
    case outboxOldFileArchived = "outbox-old-file-archived"
    /// An outbound set's install is complete.
    case outboxInstallFinished = "outbox-install-finished"
    /// The settle step has rendered one outbound file into the day's staging folder
    /// (flushed), not installed.
    case settleFileRendered = "settle-file-rendered"
    /// The settle step has staged a partner's every file and is about to install the set.
    case settleStaged = "settle-staged"
    /// The settle step has recorded a partner's installed files in the ledger.
    case settleRecorded = "settle-recorded"
    /// The deliver step has uploaded one file of a partner's set and renamed it into place on
    /// the server (the CLI's SFTP deliverer hits it); nothing is recorded delivered yet.
    case deliverFileUploaded = "deliver-file-uploaded"
    /// The deliver step has written a partner's delivered files and is about to commit.
    case deliverRecordBefore = "deliver-record-before"
    /// The deliver step has committed a partner's delivered files.
    case deliverRecorded = "deliver-recorded"
}

/// Dies at a named crash point when a hidden environment variable asks for it, for tests:
///
/// - `RECKON_CRASH_AT=<point>[:<nth hit>]` (the first hit by default) kills the process
///   with SIGKILL there: no cleanup, no flush, as a power cut or the OOM killer would;
/// - `RECKON_STOP_AT=<point>[:<nth hit>]` stops it there (SIGSTOP) until it is continued or
///   killed: a writer held in the middle of its work, for tests of what readers see;
/// - `RECKON_CRASH_TRACE=<file>` appends each point reached to the file, one per line, so a
///   test learns how often a run reaches each point;
/// - `RECKON_HOLD_AT=<point>[:<nth hit>]` with `RECKON_HOLD_MARKER=<file>` holds the thread
///   there: it writes the marker file (the point's name) and waits until the process is
///   asked to stop (``releaseHolds()``: the daemon's SIGTERM), then goes on — a graceful stop
///   landing at a known place, for the daemon's stop test.
public enum CrashPoints {
    public static let crashVariable = "RECKON_CRASH_AT"
    public static let stopVariable = "RECKON_STOP_AT"
    public static let traceVariable = "RECKON_CRASH_TRACE"
    public static let holdVariable = "RECKON_HOLD_AT"
    public static let holdMarkerVariable = "RECKON_HOLD_MARKER"

    /// Lets a thread held at a point (`RECKON_HOLD_AT`) go on; later holds do not wait.
    public static func releaseHolds() {
        Plan.current?.releaseHolds()
    }

    /// Routes ReckonFiles' outbox install steps to the crash points of the same names (called
    /// once at process start: ReckonFiles cannot see ``CrashPoint``).
    public static func connectOutbox() {
        guard Plan.current != nil else { return }
        OutboxStepHook.set { step in
            guard let point = CrashPoint(rawValue: step.rawValue) else { return }
            CrashPoints.hit(point)
        }
    }

    /// Called at each point: free when neither variable is set.
    public static func hit(_ point: CrashPoint) {
        guard let plan = Plan.current else { return }
        plan.hit(point)
    }

    /// What the environment asked for, read once.
    private final class Plan: @unchecked Sendable {
        let crash: (point: CrashPoint, hit: Int)?
        let stop: (point: CrashPoint, hit: Int)?
        let trace: Int32?
        let hold: (point: CrashPoint, hit: Int)?
        let holdMarker: String?
        private let lock = NSLock()
        private var hits: [CrashPoint: Int] = [:]
        private let released = NSCondition()
        private var isReleased = false

        static let current: Plan? = {
            let environment = ProcessInfo.processInfo.environment
            func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            let crash = value(CrashPoints.crashVariable), stop = value(CrashPoints.stopVariable)
            let trace = value(CrashPoints.traceVariable)
            let hold = value(CrashPoints.holdVariable)
            guard crash != nil || stop != nil || trace != nil || hold != nil else { return nil }
            return Plan(crash: crash, stop: stop, trace: trace, hold: hold, holdMarker: value(CrashPoints.holdMarkerVariable))
        }()

        init(crash: String?, stop: String?, trace: String?, hold: String?, holdMarker: String?) {
            self.crash = crash.map { Self.target($0, variable: CrashPoints.crashVariable) }
            self.stop = stop.map { Self.target($0, variable: CrashPoints.stopVariable) }
            self.hold = hold.map { Self.target($0, variable: CrashPoints.holdVariable) }
            if hold != nil && holdMarker == nil {
                Self.refuse("\(CrashPoints.holdVariable) needs \(CrashPoints.holdMarkerVariable)=<file>, written when the point is held")
            }
            self.holdMarker = holdMarker
            if let trace {
                let descriptor = open(trace, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                guard descriptor >= 0 else { Self.refuse("\(CrashPoints.traceVariable)=\(trace): cannot be opened") }
                self.trace = descriptor
            } else {
                self.trace = nil
            }
        }

        /// `<point>[:<nth hit>]`; anything else stops the process with a message.
        private static func target(_ text: String, variable: String) -> (point: CrashPoint, hit: Int) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard let point = CrashPoint(rawValue: parts[0]), let nth = parts.count == 2 ? Int(parts[1]) : 1, nth >= 1 else {
                refuse("\(variable)=\(text) names no crash point; it is <point>[:<nth hit>] "
                       + "with a point among \(CrashPoint.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return (point, nth)
        }

        func hit(_ point: CrashPoint) {
            lock.lock()
            let count = hits[point, default: 0] + 1
            hits[point] = count
            if let trace {
                let line = Array((point.rawValue + "\n").utf8)
                line.withUnsafeBytes { _ = write(trace, $0.baseAddress, $0.count) }
            }
            lock.unlock()
            if let crash, crash.point == point, crash.hit == count {
                kill(getpid(), SIGKILL)
                while true { pause() }
            }
            if let stop, stop.point == point, stop.hit == count {
                kill(getpid(), SIGSTOP)
            }
            if let hold, let holdMarker, hold.point == point, hold.hit == count {
                _ = FileManager.default.createFile(atPath: holdMarker, contents: Data((point.rawValue + "\n").utf8))
                released.lock()
                while !isReleased { released.wait() }
                released.unlock()
            }
        }

        func releaseHolds() {
            released.lock()
            isReleased = true
            released.broadcast()
            released.unlock()
        }

        private static func refuse(_ message: String) -> Never {
            let line = Array(("reckon: " + message + "\n").utf8)
            line.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
            exit(2)
        }
    }
}
