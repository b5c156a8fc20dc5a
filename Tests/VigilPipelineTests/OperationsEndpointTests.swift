import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilCore
import VigilKafka
@testable import VigilPipeline

/// The operations endpoint against a pipeline running on the embedded broker: liveness at once,
/// readiness only with an assignment and a broker answering, Prometheus metrics that add up to
/// what the pipeline did.
@Suite("Operations endpoint", .serialized, .timeLimit(.minutes(2)))
struct OperationsEndpointTests {
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String, type: String?) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "content-type"))
    }

    /// The value of one sample (`name{labels} value`), or nil when absent.
    static func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test("/livez, /readyz and /metrics while a pipeline runs")
    func endpoint() async throws {
        let h = try Harness(partitions: 2, group: "vigil-ops")
        let lines = SharingEndToEndTests.feed() + ["{not json"]
        let reports = try await h.feed(lines)
        let service = try h.service()
        let server = OperationsServer(host: "127.0.0.1", port: 0, readiness: { service.readiness() },
                                      metrics: { service.renderMetrics() }, logger: testLogger)
        let channel = try await server.start()
        let port = try #require(server.localPort)

        #expect(try await Self.get(port, "/livez").status == 200)
        let before = try await Self.get(port, "/readyz")
        // Not ready before it runs. The consumer joins its group when the service is made, so
        // on a busy machine the assignment may already have come, and then it is the broker
        // check, which only a running service makes, that is missing.
        #expect(before.status == 503)
        #expect(["waiting for a partition assignment in group vigil-ops\n", "no broker answered the last metadata request\n"].contains(before.body))

        let running = Task { try await service.run() }
        var ready = try await Self.get(port, "/readyz")
        for _ in 0..<150 where ready.status != 200 {
            try await Task.sleep(for: .milliseconds(200))
            ready = try await Self.get(port, "/readyz")
        }
        #expect(ready.status == 200 && ready.body.hasPrefix("ready: 2 partitions assigned in group vigil-ops"))

        for _ in 0..<150 where service.stats.completed < lines.count { try await Task.sleep(for: .milliseconds(200)) }
        let metrics = try await Self.get(port, "/metrics")
        #expect(metrics.status == 200 && metrics.type?.hasPrefix("text/plain; version=0.0.4") == true)
        let m = metrics.body
        #expect(Self.sample(m, #"vigil_events_in_total{topic="fin.transactions"}"#) == Double(lines.count))
        #expect(Self.sample(m, #"vigil_decode_errors_total{topic="fin.transactions"}"#) == 1)
        #expect(Self.sample(m, #"vigil_dead_lettered_total{topic="fin.transactions"}"#) == 1)
        #expect(Self.sample(m, #"vigil_alerts_total{finding="structuring-cash"}"#) == 1)
        #expect(Self.sample(m, #"vigil_alerts_total{finding="large-cash"}"#) == 1)
        #expect(Self.sample(m, #"vigil_records_out_total{topic="alerts.local"}"#) == 2)
        // Without keys the partner copies are held, and counted so.
        #expect(Self.sample(m, #"vigil_partner_copies_total{partner="police",outcome="held"}"#) == 1)
        #expect(Self.sample(m, "vigil_processing_latency_seconds_count") ?? 0 >= 1)
        #expect(m.contains("vigil_processing_latency_seconds_bucket{le=\"0.001\"}"))
        #expect(Self.sample(m, "vigil_state_window_entries") != nil)
        // Everything fed is handled: no lag on the partitions that received messages.
        let fed = Set(reports.map(\.partition))
        for p in fed {
            let lag = Self.sample(m, #"vigil_consumer_lag{topic="fin.transactions",partition="\#(p)"}"#)
            #expect(lag == 0, "partition \(p): \(m.split(separator: "\n").filter { $0.contains("lag") })")
        }
        #expect(try await Self.get(port, "/nope").status == 404)

        service.stop()
        try await running.value
        try await channel.close()
    }
}
