import ArgumentParser
import Foundation
import Logging
import ReckonCore
import ReckonDaemon
import ReckonFiles
import ReckonHTTP
import ReckonLedger
import ReckonSFTP
import ServiceLifecycle

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: take each complete file as it arrives and run the day's steps for it.",
        discussion: """
            Every daemon.poll_seconds (reckon.yaml, 5 by default) the daemon fetches the partners' \
            SFTP drops, looks at the local drops, and for each business day with complete files it \
            has not taken yet runs the same steps as reckon batch: collect, ingest, plan and \
            reconcile (each file posted once: a file already in the ledger is recognised and posts \
            nothing). A file is complete by its type's readiness rule, as for reckon batch; a `stable` \
            rule is judged over successive looks, so no look waits. Then it runs the scheduled \
            tasks that are due and checks the expected files' deadlines.

            SIGTERM or SIGINT stops it gracefully: the file being posted is abandoned whole (nothing \
            of it is kept; the next start takes it again) or, between files, the run stops there; \
            the run is recorded incomplete. Logs go to standard error, one line each, with \
            partner, file, business_date and task as metadata.

            Exit status: 0 when it stopped as asked (a signal, or --exit-when-idle); 1 when it \
            could not run; 2 when the configuration cannot be used.
            """
    )

    @Option(help: "Pin the business day (replay, tests, the demo): every tick works on it. Without it, today's in the configured time zone.")
    var date: BusinessDate?

    @Flag(help: "Stop once every complete file present has been processed.")
    var exitWhenIdle = false

    @Flag(help: """
        Settle (and deliver, where configured) the business day once its files are all in and its run succeeded, \
        and again whenever a later file changes it.
        """)
    var settle = false

    @Flag(help: """
        Log JSON lines on standard error instead of text: one JSON object per line with time (UTC), level, message         and the metadata as strings (business_date, partner, file_type, file, task, run_id, …), keys sorted.
        """)
    var json = false

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let ledger = try options.ledger(config)
        DaemonLogging.bootstrap(json: json)
        let logger = Logger(label: "reckon")
        var settings = DaemonSettings(pollSeconds: config.daemon.pollSeconds)
        settings.timeZone = config.timeZone
        settings.pinnedDate = date?.date
        settings.exitWhenIdle = exitWhenIdle
        settings.settle = settle
        settings.idleMarker = ProcessInfo.processInfo.environment[DaemonSettings.idleMarkerVariable].flatMap { $0.isEmpty ? nil : $0 }
        let sftpLogger = logger
        // Each partner's SFTP connection is kept from tick to tick, closed when the daemon stops.
        let sessions = SFTPSessions()
        defer { sessions.closeAll() }
        var hooks = DaemonHooks { date, steps, partner in
            BatchHooks.options(date, steps: steps, partner: partner, config: config, sessions: sessions,
                               log: { sftpLogger.notice("\($0)") })
        }
        hooks.pausedSteps = { (try? ledger.pausedSteps()) ?? [] }
        // Scheduled tasks run their batches with the same SFTP hooks as the daemon's own runs.
        let tasks = try TaskRunner(config: config, ledger: ledger,
                                   hooks: TaskHooks.cli(config, log: { sftpLogger.notice("\($0)") }))
        hooks.runDueTasks = { now, shouldStop in
            tasks.runDue(now: now, shouldStop: shouldStop).map {
                TaskRan(task: $0.taskID, outcome: $0.outcome.rawValue, durationSeconds: $0.durationSeconds, message: $0.result)
            }
        }
        // Deadlines raise and clear alerts: a writer's work, between the daemon's runs. While
        // another process writes the ledger the check waits for the next tick.
        hooks.checkDeadlines = { now in
            let writer = try WriterLock.acquire(ledger)
            defer { writer.release() }
            let reference = try ReferenceData.load(config)
            return try ledger.checkDeadlines(config: config, reference: reference, now: now).map(\.description)
        }
        // /healthz and /metrics when reckon.yaml asks for them (`daemon: {http: …}`, loopback only):
        // metrics go to one Prometheus registry; each tick tells the health state how it went.
        var monitoring: MonitoringServer?
        if let endpoint = config.daemon.http {
            let registry = Monitoring.bootstrap()
            let health = HealthState(ledgerPath: config.databasePath, pollIntervalSeconds: config.daemon.pollSeconds)
            hooks.tickFinished = { at, problems in
                if problems.isEmpty {
                    health.tickSucceeded(at: at)
                } else {
                    health.tickFailed(at: at, error: problems.joined(separator: "; "))
                }
            }
            hooks.tickProgressed = { at in health.working(at: at) }
            monitoring = MonitoringServer(address: endpoint.address, port: endpoint.port, registry: registry, health: health,
                                          logger: logger, onRunning: { port in
                                              logger.info("serving /healthz and /metrics", metadata: ["address": "\(endpoint.address)", "port": "\(port)"])
                                          })
        }
        let daemon = DaemonService(config: config, ledger: ledger, settings: settings, hooks: hooks, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let monitoring {
            services.append(.init(service: monitoring, successTerminationBehavior: .gracefullyShutdownGroup,
                                  failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try AsyncBridge.wait { try await group.run() }
        } catch {
            printError("reckon: the daemon stopped on an error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// swift-log to standard error, once per process: `reckon run`'s structured lines, as text
/// (`key=value` metadata) or JSON lines.
enum DaemonLogging {
    static func bootstrap(json: Bool) {
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler() }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
    }
}

/// Runs async work from a synchronous command and waits for it (the CLI's `main` is
/// synchronous; only `reckon run` needs the concurrency runtime's services).
enum AsyncBridge {
    static func wait(_ work: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        Task.detached {
            do {
                try await work()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    private final class OutcomeBox: @unchecked Sendable {
        var error: (any Error)?
    }
}
