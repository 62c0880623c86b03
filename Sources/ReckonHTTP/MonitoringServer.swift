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

    public func run() async throws {
        let bind = try MonitoringAddress.validate(address: address, port: port)
        let onRunning = self.onRunning
        let app = Application(
            router: Self.router(registry: registry, health: health),
            configuration: .init(address: .hostname(bind.host, port: bind.port)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? bind.port) },
            logger: logger)
        try await app.run()
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
