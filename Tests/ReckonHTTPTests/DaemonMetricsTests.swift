import Foundation
import Metrics
import Prometheus
import ReckonHTTP
import Testing

/// Each test gives DaemonMetrics a factory over its own registry, so tests running in
/// parallel never see each other's counts.
@Suite struct DaemonMetricsTests {
    let registry = PrometheusCollectorRegistry()
    var metrics: DaemonMetrics { DaemonMetrics(factory: PrometheusMetricsFactory(registry: registry)) }

    func lines() -> [String] {
        registry.emitToString().split(separator: "\n").map(String.init)
    }

    @Test func fileCountersCarryPartnerAndType() {
        metrics.fileReceived(partner: "acme", fileType: "repayment")
        metrics.fileReceived(partner: "acme", fileType: "repayment")
        metrics.fileReceived(partner: "zenith", fileType: "loan")
        metrics.recordsPosted(10_000, partner: "acme", fileType: "repayment")
        metrics.recordsPosted(250, partner: "acme", fileType: "repayment")
        metrics.fileFailed(partner: "zenith", fileType: "loan")
        let lines = lines()
        #expect(lines.contains("# TYPE reckon_files_received_total counter"))
        #expect(lines.contains(#"reckon_files_received_total{partner="acme",type="repayment"} 2"#))
        #expect(lines.contains(#"reckon_files_received_total{partner="zenith",type="loan"} 1"#))
        #expect(lines.contains(#"reckon_records_posted_total{partner="acme",type="repayment"} 10250"#))
        #expect(lines.contains(#"reckon_file_failures_total{partner="zenith",type="loan"} 1"#))
    }

    @Test func breaksOpenIsSetNotAdded() {
        metrics.breaksOpen(7)
        metrics.breaksOpen(3)
        let lines = lines()
        #expect(lines.contains("# TYPE reckon_breaks_open gauge"))
        #expect(lines.contains("reckon_breaks_open 3.0"))
    }

    @Test func aTaskRunCountsItsOutcomeDurationAndLastSuccess() {
        metrics.taskRan(task: "settle-am", outcome: .succeeded, duration: .milliseconds(1_500),
                        finishedAt: tickTime)
        metrics.taskRan(task: "settle-am", outcome: .failed, duration: .milliseconds(20),
                        finishedAt: tickTime.addingTimeInterval(3_600))
        let lines = lines()
        #expect(lines.contains(#"reckon_task_runs_total{task="settle-am",outcome="succeeded"} 1"#))
        #expect(lines.contains(#"reckon_task_runs_total{task="settle-am",outcome="failed"} 1"#))
        #expect(lines.contains("# TYPE reckon_task_duration_seconds histogram"))
        #expect(lines.contains(#"reckon_task_duration_seconds_count{task="settle-am"} 2"#))
        #expect(lines.contains(#"reckon_task_duration_seconds_sum{task="settle-am"} 1.52"#))
        #expect(lines.contains(#"reckon_task_duration_seconds_bucket{task="settle-am",le="0.025"} 1"#))
        #expect(lines.contains(#"reckon_task_duration_seconds_bucket{task="settle-am",le="2.5"} 2"#))
        // The failed run later on leaves the last success where it was.
        #expect(lines.contains(#"reckon_task_last_success_timestamp_seconds{task="settle-am"} 1796090400.0"#))
    }

    @Test func sftpErrorsAndFileLatency() {
        metrics.sftpError(partner: "acme")
        metrics.sftpError(partner: "acme")
        metrics.fileLatency(.milliseconds(400))
        let lines = lines()
        #expect(lines.contains(#"reckon_sftp_errors_total{partner="acme"} 2"#))
        #expect(lines.contains("reckon_file_latency_seconds_count 1"))
        #expect(lines.contains("reckon_file_latency_seconds_sum 0.4"))
        #expect(lines.contains(#"reckon_file_latency_seconds_bucket{le="0.25"} 0"#))
        #expect(lines.contains(#"reckon_file_latency_seconds_bucket{le="0.5"} 1"#))
    }

    @Test func withoutAFactoryEachCallUsesTheCurrentOne() {
        let metrics = DaemonMetrics()
        // Made before the factory is known, as a daemon may make it before bootstrapping.
        withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            metrics.sftpError(partner: "task-local")
        }
        #expect(lines() == ["# TYPE reckon_sftp_errors_total counter", #"reckon_sftp_errors_total{partner="task-local"} 1"#])
    }

    @Test func bootstrapSetsUpOneRegistryForTheProcess() {
        let registry = Monitoring.bootstrap()
        #expect(Monitoring.bootstrap() === registry)
        // Through swift-metrics' global factory, as the daemon's own code and its libraries emit.
        Counter(label: "reckon_http_test_bootstrap_total", dimensions: [("case", "global")]).increment()
        DaemonMetrics().sftpError(partner: "bootstrap-test")
        let lines = registry.emitToString().split(separator: "\n").map(String.init)
        #expect(lines.contains(#"reckon_http_test_bootstrap_total{case="global"} 1"#))
        #expect(lines.contains(#"reckon_sftp_errors_total{partner="bootstrap-test"} 1"#))
    }
}
