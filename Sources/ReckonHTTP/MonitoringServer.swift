import ReckonCore
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The daemon's monitoring endpoint on a loopback address: GET /healthz (200 or 503, JSON, from
/// `HealthState`) and GET /metrics (the registry in Prometheus' text format). A service of the
/// daemon's ServiceGroup: it stops on the group's graceful shutdown or on cancellation.
public struct MonitoringServer: Service {
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    private let address: String
    private let port: Int
    private let registry: PrometheusCollectorRegistry
    private let health: HealthState
    private let logger: Logger
    private let onRunning: @Sendable (_ port: Int) async -> Void

    /// - Parameters:
    ///   - address: a loopback address (see `MonitoringAddress`); anything else makes `run()`
    ///     throw `MonitoringAddressError` before binding.
    ///   - port: 0 binds a free port, which `onRunning` receives.
    ///   - onRunning: called once the server listens, with the bound port.
    public init(
        address: String, port: Int, registry: PrometheusCollectorRegistry, health: HealthState,
        logger: Logger = Logger(label: "reckon.http"),
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.address = address
        self.port = port
        self.registry = registry
        self.health = health
        self.logger = logger
        self.onRunning = onRunning
    }

    /// Serves until the ServiceGroup shuts down gracefully or the task is cancelled.
    /// - Throws: `MonitoringAddressError` for a refused address; `MonitoringServerError` when
    ///   the server cannot listen (the port taken, say).
    public func run() async throws {
        let bind = try MonitoringAddress.validate(address: address, port: port)
        let onRunning = self.onRunning
        let listening = ListeningFlag()
        let app = Application(
            router: Self.router(registry: registry, health: health),
            configuration: .init(address: .hostname(bind.host, port: bind.port)),
            onServerRunning: { channel in
                listening.set()
                await onRunning(channel.localAddress?.port ?? bind.port)
            },
            logger: logger)
        do {
            if #available(macOS 15.0, *) {
                try await withTaskExecutorPreference(MonitoringExecutor()) { try await app.run() }
            } else {
                try await app.run()
            }
        } catch where !listening.isSet && !(error is CancellationError) {
            // Hummingbird's bind error says what failed but not which endpoint it was for.
            throw MonitoringServerError.cannotListen(address: address, port: port, reason: "\(error)")
        }
    }

    static func router(registry: PrometheusCollectorRegistry, health: HealthState) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ -> Response in
            let report = health.report()
            return Response(
                status: report.status == .ok ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: report.json)))
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: metricsContentType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return router
    }
}

/// Why the monitoring server stopped.
public enum MonitoringServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Binding the address failed; `reason` is the system's error.
    case cannotListen(address: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let port, let reason):
            return "cannot serve /healthz and /metrics on \(address) port \(port): \(reason)"
        }
    }
}

/// Set once the server listens (errors before that are failures to bind).
private final class ListeningFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
