import Metrics
import Prometheus

/// The process's metrics backend: swift-metrics bootstrapped once with a Prometheus factory
/// over one registry, which `MonitoringServer` serves at GET /metrics.
public enum Monitoring {
    /// Created, and swift-metrics bootstrapped with it, on first use; Swift runs a static
    /// initialiser once even when threads race to it, so `bootstrap()` is safe to call again.
    private static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Bootstraps swift-metrics (once per process) and returns the registry every metric made
    /// through `Metrics` (and `DaemonMetrics()`) lands in. Call it instead of
    /// `MetricsSystem.bootstrap`, which traps when called twice.
    @discardableResult
    public static func bootstrap() -> PrometheusCollectorRegistry {
        registry
    }
}
