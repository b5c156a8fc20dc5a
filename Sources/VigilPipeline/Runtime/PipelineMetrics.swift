import CoreMetrics
import Prometheus
import VigilCore

/// The pipeline's metrics through swift-metrics, kept in a Prometheus registry of its own (not
/// the process-wide bootstrap, so two pipelines in one process, as in tests, do not mix).
///
/// Names follow Prometheus conventions: `vigil_<what>_total` counters, gauges for sizes and lag,
/// a histogram of processing latency in seconds.
public final class PipelineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    // swift-metrics objects are cheap to keep and cost a registry lookup to make: one per
    // name and label set, made on first use.
    private let counters = Locked([String: CoreMetrics.Counter]())
    private let gauges = Locked([String: CoreMetrics.Gauge]())
    private let latency: CoreMetrics.Timer

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a tenth of a millisecond (a batch of canonical JSON) to seconds (a broker outage).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        latency = CoreMetrics.Timer(label: "vigil_processing_latency_seconds", dimensions: [], factory: factory)
    }

    /// Adds `amount` to a counter.
    public func count(_ name: String, _ labels: [(String, String)] = [], by amount: Int = 1) {
        guard amount > 0 else { return }
        let key = Self.key(name, labels)
        let counter = counters.withLock { c in
            if let known = c[key] { return known }
            let made = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
            c[key] = made
            return made
        }
        counter.increment(by: amount)
    }

    public func gauge(_ name: String, _ labels: [(String, String)] = [], _ value: Int64) {
        let key = Self.key(name, labels)
        let gauge = gauges.withLock { g in
            if let known = g[key] { return known }
            let made = CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory)
            g[key] = made
            return made
        }
        gauge.record(value)
    }

    /// Time from a run of messages reaching its worker to every record it caused acknowledged.
    public func processed(in duration: Duration) {
        latency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The Prometheus text exposition (format 0.0.4).
    public func render() -> [UInt8] { registry.emitToBuffer() }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
    }
}
