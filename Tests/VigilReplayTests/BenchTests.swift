import Foundation
import Testing
import VigilPipeline
@testable import VigilReplay

/// Speed is not asserted here (machines are noisy); these check that the benchmark measures what
/// it says: every generated event handled, the planted cases alerted, latencies present.
@Suite("vigil bench", .serialized, .timeLimit(.minutes(2)))
struct BenchTests {
    @Test("broker mode handles every produced event and reports throughput and latency", arguments: [Bench.Mode.broker, .replay, .passthrough])
    func bench(mode: Bench.Mode) async throws {
        var options = Bench.Options()
        options.mode = mode
        options.events = 5_000
        options.partitions = 8
        options.rate = mode == .replay ? nil : 5_000
        let report = try await Bench.run(options, pipeline: try defaultPipeline(), config: VigilConfig(), logger: logger)
        #expect(report.events == 5_000)
        #expect(report.handled == 5_000)
        // The generator's planted structuring and large-cash cases (the pass-through detects nothing).
        #expect(report.alerts == (mode == .passthrough ? 0 : 11))
        #expect(report.eventsPerSecond > 0 && report.seconds > 0)
        #expect(report.peakRSSBytes ?? 0 > 0)
        if mode != .replay {
            let latency = try #require(report.latencyMs)
            #expect(latency.p50 <= latency.p95 && latency.p95 <= latency.p99 && latency.p99 <= latency.max)
            #expect(report.rate == 5_000)
        } else {
            #expect(report.latencyMs == nil)
        }
    }
}
