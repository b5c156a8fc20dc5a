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
        Self.cached(counters, name, labels) { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) }.increment(by: amount)
    }

    public func gauge(_ name: String, _ labels: [(String, String)] = [], _ value: Int64) {
        Self.cached(gauges, name, labels) { CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory) }.record(value)
    }

    /// Time from a run of messages reaching its worker to every record it caused acknowledged.
    public func processed(in duration: Duration) {
        latency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The Prometheus text exposition (format 0.0.4).
    public func render() -> [UInt8] { registry.emitToBuffer() }

    /// The metric object for a name and label set, made on first use.
    private static func cached<M: Sendable>(_ store: Locked<[String: M]>, _ name: String, _ labels: [(String, String)],
                                            make: () -> M) -> M {
        let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
        return store.withLock { known in
            if let m = known[key] { return m }
            let m = make()
            known[key] = m
            return m
        }
    }
}
