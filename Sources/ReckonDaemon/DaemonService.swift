import Foundation
import Logging
import ReckonCore
import ReckonLedger
import ServiceLifecycle

/// `reckon run`: ticks every `daemon.poll_seconds` (``DaemonTick``) on a worker thread of its
/// own, so that the blocking work of a file never holds up the signal handling. On graceful
/// shutdown (SIGTERM, SIGINT through ServiceLifecycle's ServiceGroup) the current run stops
/// at the next file boundary, or abandons the file it is posting (rolled back whole, taken
/// again by the next start), and the service returns.
public struct DaemonService: Service {
    let tick: DaemonTick
    let settings: DaemonSettings
    let hooks: DaemonHooks
    let logger: Logger
    private let worker = DispatchQueue(label: "reckon-daemon")

    public init(config: ReckonConfig, ledger: Ledger, settings: DaemonSettings, hooks: DaemonHooks, logger: Logger) {
        tick = DaemonTick(config: config, ledger: ledger, settings: settings, hooks: hooks, logger: logger)
        self.settings = settings
        self.hooks = hooks
        self.logger = logger
    }

    public func run() async throws {
        let stop = StopRequest()
        await withGracefulShutdownHandler {
            await loop(stop)
        } onGracefulShutdown: { [logger] in
            logger.notice("stop asked: finishing or abandoning the current file")
            stop.request()
        }
    }

    private func loop(_ stop: StopRequest) async {
        logger.info("daemon started", metadata: [
            "business_date": "\(settings.pinnedDate.map { "\($0)" } ?? "today")",
            "poll_seconds": "\(DaemonConfig.secondsText(settings.pollSeconds))", "exit_when_idle": "\(settings.exitWhenIdle)",
            "settle": "\(settings.settle)",
        ])
        var idlePoints = 0
        var wasIdle = false
        while !stop.isRequested {
            let lookStarted = DispatchTime.now().uptimeNanoseconds
            let outcome = await onWorker { [tick] in tick.once(now: Date(), stop: stop) }
            hooks.tickFinished?(Date(), outcome.problems)
            if stop.isRequested { break }
            if outcome.idle {
                if !wasIdle { logger.info("idle: every complete file present is processed") }
                wasIdle = true
                idlePoints += 1
                if settings.exitWhenIdle { break }
                if let marker = settings.idleMarker {
                    await holdAtIdlePoint(idlePoints, marker: marker, stop: stop)
                    continue
                }
            } else {
                wasIdle = false
                // After work, look again at once: more may have come meanwhile.
                if outcome.ran { continue }
            }
            // Looks start every poll interval (the look's own time is part of it, so a marker's
            // wait is half the interval, not half of it plus the look), with a tenth of it kept
            // free when a look takes longer than the interval (many slow servers).
            let lookSeconds = Double(DispatchTime.now().uptimeNanoseconds &- lookStarted) / 1e9
            await stop.pause(seconds: Self.pauseSeconds(pollSeconds: settings.pollSeconds, lookSeconds: lookSeconds))
        }
        logger.info("daemon stopped", metadata: ["reason": "\(stop.isRequested ? "asked to stop" : "idle")"])
    }

    /// The pause after an idle look that took `lookSeconds`: the rest of the poll interval,
    /// and never less than a tenth of it.
    static func pauseSeconds(pollSeconds: Double, lookSeconds: Double) -> Double {
        max(pollSeconds / 10, pollSeconds - max(0, lookSeconds))
    }

    /// Tests: the idle point's number in the marker file; no tick until the test removes it.
    private func holdAtIdlePoint(_ number: Int, marker: String, stop: StopRequest) async {
        let temporary = marker + ".partial"
        _ = FileManager.default.createFile(atPath: temporary, contents: Data("\(number)\n".utf8))
        _ = rename(temporary, marker)
        while FileManager.default.fileExists(atPath: marker) && !stop.isRequested {
            await stop.pause(seconds: 0.1)
        }
    }

    private func onWorker<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            worker.async { continuation.resume(returning: work()) }
        }
    }
}
