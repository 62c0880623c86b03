import Foundation
import ReckonCore
import ReckonLedger

/// How one `reckon run` runs: from its command line and reckon.yaml's `daemon:`.
public struct DaemonSettings: Sendable {
    /// The business day every tick works on (replay, tests, the demo); nil: the day of "now"
    /// in ``timeZone``, and any earlier day whose files arrive late.
    public var pinnedDate: CivilDate?
    /// Stop once everything present has been processed (a tick found nothing new and no file
    /// is still being watched for a stable size).
    public var exitWhenIdle = false
    /// Settle (and deliver, where configured) the business day once its files are all in
    /// and its run succeeded, and again whenever a later file changes it. Until scheduled
    /// tasks settle (issue 12), this is how the daemon writes outbound files.
    public var settle = false
    /// Seconds between ticks (`daemon.poll_seconds`).
    public var pollSeconds: Double
    /// The zone "now" is read in for the business day (reckon.yaml's `timezone:`).
    public var timeZone = ReckonConfig.defaultTimeZone
    /// How long the day must have been quiet (no new file, none settling) before its plan
    /// and reconcile steps run: those read the whole day, so run after every lull they hold
    /// up the files that come meanwhile. Not applied with ``exitWhenIdle`` or an
    /// ``idleMarker`` (no further file is awaited there: the day is planned at once).
    public var planQuietSeconds: Double = 30
    /// ``planQuietSeconds`` as it applies to this run.
    public var effectivePlanQuietSeconds: Double { exitWhenIdle || idleMarker != nil ? 0 : planQuietSeconds }
    /// Tests only (`RECKON_IDLE_MARKER`): at each idle point the daemon writes this file
    /// (the idle point's number) and does not tick again until the file is gone, so a test
    /// drops files between idle points, all seen by the same tick.
    public var idleMarker: String?

    public static let idleMarkerVariable = "RECKON_IDLE_MARKER"

    public init(pollSeconds: Double = DaemonConfig.defaultPollSeconds) {
        self.pollSeconds = pollSeconds
    }

    /// The business day of `now`: the pinned one, or today's in the configured zone.
    public func businessDay(at now: Date) -> CivilDate {
        if let pinnedDate { return pinnedDate }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return CivilDate(year: parts.year!, month: parts.month!, day: parts.day!)!
    }
}

/// What the daemon needs from outside its target: the batch options with the CLI's SFTP
/// hooks (shared with `reckon batch`), and the seams other parts of issue 12 fill.
public struct DaemonHooks: Sendable {
    /// A day's batch options with SFTP fetch and deliver set up as `reckon batch` sets them.
    public var makeBatchOptions: @Sendable (_ date: CivilDate, _ steps: [BatchStep], _ partner: String?) -> BatchOptions
    /// The steps an operator has paused; the daemon does not fetch SFTP while `collect` is.
    public var pausedSteps: @Sendable () -> Set<BatchStep> = { [] }
    /// Runs the scheduled tasks due at `now`, their batches asking `shouldStop` (the
    /// daemon's graceful stop); returns one line per task run (`id: outcome`).
    public var runDueTasks: (@Sendable (_ now: Date, _ shouldStop: @escaping @Sendable () -> Bool) -> [TaskRan])?
    /// Raises (and clears) `file_late` for files past their deadline at `now`; returns the
    /// late files as lines.
    public var checkDeadlines: (@Sendable (_ now: Date) throws -> [String])?
    /// Hears each finished tick: when, and its problems (empty when none).
    public var tickFinished: (@Sendable (_ at: Date, _ problems: [String]) -> Void)?
    /// Hears progress within a tick (a file begun, records stored), so a long tick reads as
    /// busy rather than stuck.
    public var tickProgressed: (@Sendable (_ at: Date) -> Void)?

    public init(makeBatchOptions: @escaping @Sendable (CivilDate, [BatchStep], String?) -> BatchOptions) {
        self.makeBatchOptions = makeBatchOptions
    }
}

/// One scheduled task's run, as the daemon logs and counts it.
public struct TaskRan: Sendable {
    public let task: String
    /// `succeeded` or `failed`.
    public let outcome: String
    public let durationSeconds: Double
    public let message: String

    public init(task: String, outcome: String, durationSeconds: Double, message: String) {
        self.task = task
        self.outcome = outcome
        self.durationSeconds = durationSeconds
        self.message = message
    }
}
