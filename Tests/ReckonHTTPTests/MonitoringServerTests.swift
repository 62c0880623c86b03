import ReckonCore
import Foundation
import Logging
import Prometheus
import ReckonHTTP
import ServiceLifecycle
import Testing

@Suite struct MonitoringServerTests {
    @Test func healthzAnswersOkWithTheLedgerAndTheLastTick() async throws {
        let clock = TestClock(tickTime.addingTimeInterval(5))
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10, now: { clock.now })
        health.tickSucceeded(at: tickTime)
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            let reply = try await httpGet(port: port, path: "/healthz")
            #expect(reply.statusCode == 200)
            #expect(reply.headers["content-type"] == "application/json")
            #expect(reply.body == #"{"status":"ok","ledger":"/srv/reckon/ledger.sqlite","last_tick":"2026-12-01T02:00:00Z"}"#)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: String])
            #expect(object == ["status": "ok", "ledger": "/srv/reckon/ledger.sqlite", "last_tick": "2026-12-01T02:00:00Z"])
        }
    }

    @Test func healthzAnswers503OnceTheLastTickIsStale() async throws {
        let clock = TestClock(tickTime.addingTimeInterval(5))
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10, now: { clock.now })
        health.tickSucceeded(at: tickTime)
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            #expect(try await httpGet(port: port, path: "/healthz").statusCode == 200)
            clock.now = tickTime.addingTimeInterval(31)
            let reply = try await httpGet(port: port, path: "/healthz")
            #expect(reply.statusCode == 503)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: String])
            #expect(object == [
                "status": "failing", "ledger": "/srv/reckon/ledger.sqlite", "last_tick": "2026-12-01T02:00:00Z",
                "reason": "last tick at 2026-12-01T02:00:00Z is 31 s old, over 3 × the 10 s poll interval",
            ])
        }
    }

    @Test func healthzAnswers503WhenTheLastTickFailed() async throws {
        let clock = TestClock(tickTime.addingTimeInterval(1))
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10, now: { clock.now })
        health.tickFailed(at: tickTime, error: "inbox/acme is not readable")
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            let reply = try await httpGet(port: port, path: "/healthz")
            #expect(reply.statusCode == 503)
            #expect(reply.body == #"{"status":"failing","ledger":"/srv/reckon/ledger.sqlite","last_tick":"2026-12-01T02:00:00Z","#
                + #""reason":"last tick at 2026-12-01T02:00:00Z failed: inbox/acme is not readable"}"#)
        }
    }

    @Test func metricsServeWhatDaemonMetricsCounted() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = DaemonMetrics(factory: PrometheusMetricsFactory(registry: registry))
        metrics.fileReceived(partner: "acme", fileType: "repayment")
        metrics.fileReceived(partner: "acme", fileType: "repayment")
        metrics.breaksOpen(4)
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10)
        try await withMonitoringServer(health: health, registry: registry) { port in
            let reply = try await httpGet(port: port, path: "/metrics")
            #expect(reply.statusCode == 200)
            #expect(reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            let lines = reply.body.split(separator: "\n").map(String.init)
            #expect(lines.contains(#"reckon_files_received_total{partner="acme",type="repayment"} 2"#))
            #expect(lines.contains("reckon_breaks_open 4.0"))
            // Counted after the server started: /metrics reads the registry per request.
            metrics.fileReceived(partner: "acme", fileType: "repayment")
            let again = try await httpGet(port: port, path: "/metrics").body.split(separator: "\n").map(String.init)
            #expect(again.contains(#"reckon_files_received_total{partner="acme",type="repayment"} 3"#))
            #expect(try await httpGet(port: port, path: "/other").statusCode == 404)
        }
    }

    @Test func healthzAnswersWhileTheCooperativePoolIsBlocked() async throws {
        let clock = TestClock(tickTime.addingTimeInterval(5))
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10, now: { clock.now })
        health.tickSucceeded(at: tickTime)
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            let reply = try await withCooperativePoolBlocked { try blockingHTTPGet(port: port, path: "/healthz") }
            #expect(reply.statusCode == 200)
            #expect(reply.body == #"{"status":"ok","ledger":"/srv/reckon/ledger.sqlite","last_tick":"2026-12-01T02:00:00Z"}"#)
        }
    }

    @Test func theServerStopsWithItsServiceGroup() async throws {
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10)
        let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            #expect(isListening(port: port))
            portsContinuation.yield(port)
            portsContinuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        // withMonitoringServer returned after the group's graceful shutdown ended the server.
        #expect(!isListening(port: port))
    }

    @Test func aTakenPortIsAnErrorNamingTheEndpoint() async throws {
        let health = HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10)
        try await withMonitoringServer(health: health, registry: PrometheusCollectorRegistry()) { port in
            let stopper = TaskStopper()
            let second = MonitoringServer(
                address: "127.0.0.1", port: port, registry: PrometheusCollectorRegistry(), health: health,
                logger: quietLogger(),
                onRunning: { _ in
                    Issue.record("a second server listened on the same port")
                    stopper.stop()
                })
            let running = Task { try await second.run() }
            stopper.watch(running)
            let error = try #require(await #expect(throws: MonitoringServerError.self) { try await running.value })
            guard case .cannotListen(let address, let failedPort, let reason) = error else { return }
            #expect(address == "127.0.0.1")
            #expect(failedPort == port)
            #expect(reason.contains("Address already in use"))
            #expect(error.description.hasPrefix("cannot serve /healthz and /metrics on 127.0.0.1 port \(port): "))
        }
    }

    @Test func aNonLoopbackAddressIsRefusedBeforeBinding() async throws {
        // Should the check ever let the server start, it is stopped at once, so the test fails
        // rather than hangs.
        let stopper = TaskStopper()
        let server = MonitoringServer(
            address: "0.0.0.0", port: 0, registry: PrometheusCollectorRegistry(),
            health: HealthState(ledgerPath: "/srv/reckon/ledger.sqlite", pollIntervalSeconds: 10),
            onRunning: { _ in
                Issue.record("a server on 0.0.0.0 started")
                stopper.stop()
            })
        let running = Task { try await server.run() }
        stopper.watch(running)
        await #expect(throws: MonitoringAddressError.notLoopback(address: "0.0.0.0")) {
            try await running.value
        }
    }
}

/// Cancels a task, even when asked before it knows the task.
final class TaskStopper: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<Void, any Error>?
    private var stopped = false

    func watch(_ task: Task<Void, any Error>) {
        let cancelNow = lock.withLock {
            self.task = task
            return stopped
        }
        if cancelNow { task.cancel() }
    }

    func stop() {
        let task = lock.withLock {
            stopped = true
            return self.task
        }
        task?.cancel()
    }
}
