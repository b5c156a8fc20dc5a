import Foundation
import Testing
import VigilKafka
import VigilPipeline
import VigilShare
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
        // No keys configured here: the pipeline signed with keys made for the run.
        #expect(report.keys == (mode == .passthrough ? nil : .madeForTheRun))
        if mode != .replay {
            let latency = try #require(report.latencyMs)
            #expect(latency.p50 <= latency.p95 && latency.p95 <= latency.p99 && latency.p99 <= latency.max)
            if mode == .broker {
                // Every alert's latency, from the produce of the event that raised it; no later
                // than that event's (its offset waits for the alert's acknowledgement).
                let alerts = try #require(report.alertLatencyMs)
                #expect(report.alertsMeasured == 11)
                #expect(alerts.p50 <= alerts.p99 && alerts.p99 <= alerts.max && alerts.max <= latency.max && alerts.p50 > 0)
            } else {
                #expect(report.alertLatencyMs == nil && report.alertsMeasured == nil)
            }
            #expect(report.rate == 5_000)
            // Sampled when the clock starts, and every memorySampleSeconds after.
            #expect(report.rssMiB?.first ?? 0 > 0 && report.memorySampleSeconds == 10)
            // The heap in use at the same instants (the feed alone is tens of MiB of it).
            let rss = try #require(report.rssMiB), heap = try #require(report.heapMiB)
            #expect(heap.count == rss.count && heap.allSatisfy { $0 > 0 })
            // A second of pacing at least, with the broker and the producer busy throughout.
            let cpu = try #require(report.cpuSeconds)
            #expect(cpu > 0 && cpu < report.seconds * Double(ProcessInfo.processInfo.activeProcessorCount) + 0.1)
            // Both rounded (to 1 ms and 0.1 µs): equal within what that rounding moves.
            #expect(abs(try #require(report.cpuMicrosecondsPerEvent) - cpu / 4_999 * 1e6) < 0.001 / 4_999 * 1e6)
            // Split by thread: librdkafka's threads (the embedded broker's, the clients') were
            // found and counted, and the parts add up to the whole (each rounded to 0.1 µs).
            let split = try #require(report.cpuMicrosecondsPerEventByThreads)
            #expect(split.embeddedBroker >= 0 && split.kafkaClients >= 0 && split.rest >= 0)
            #expect(split.embeddedBroker + split.kafkaClients > 0)
            #expect(abs(split.embeddedBroker + split.kafkaClients + split.rest - report.cpuMicrosecondsPerEvent!) <= 0.2)
        } else {
            #expect(report.latencyMs == nil)
        }
    }

    @Test("with a screening section the bench counts the parties screened and those answered from memory", arguments: [Bench.Mode.broker, .replay])
    func screenings(mode: Bench.Mode) async throws {
        var options = Bench.Options()
        options.mode = mode
        options.events = 3_000
        options.partitions = 8
        options.rate = mode == .replay ? nil : 3_000
        let pipeline = try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/screening.yaml").path)
        let report = try await Bench.run(options, pipeline: pipeline, config: VigilConfig(), logger: logger)
        #expect(report.handled == 3_000)
        // Every named party of the feed is asked: the first time of each (name and the details
        // given with it) against the lists, again from memory.
        var asked: [String] = []
        for line in SampleFeed.generate(count: 3_000).lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            for role in ["debtor", "creditor"] {
                guard let party = object[role] as? [String: Any], let name = party["name"] as? String, !name.isEmpty else { continue }
                asked.append(["name", "dob", "country", "idNumber"].map { party[$0] as? String ?? "" }.joined(separator: "|"))
            }
        }
        let distinct = Set(asked).count
        #expect(distinct > 100 && asked.count > distinct)
        #expect(report.screenings == Bench.Screenings(screened: distinct, remembered: asked.count - distinct))
        // A pipeline that screens nothing reports nothing.
        #expect(try await Bench.run(options, pipeline: try defaultPipeline(), config: VigilConfig(), logger: logger).screenings == nil)
    }

    @Test("share mode runs the pass-through and the pipeline in pairs and reports each round's share")
    func share() async throws {
        var options = Bench.Options()
        options.events = 3_000
        options.partitions = 8
        let report = try await Bench.share(options, rounds: 2, pipeline: try defaultPipeline(), config: VigilConfig(), logger: logger)
        #expect(report.rounds.count == 2 && report.events == 3_000 && report.partitions == 8)
        for round in report.rounds {
            #expect(round.passthroughEventsPerSecond > 0 && round.pipelineEventsPerSecond > 0)
            #expect(abs(round.share - round.pipelineEventsPerSecond / round.passthroughEventsPerSecond) < 0.002)
            #expect(round.passthroughCPUMicrosecondsPerEvent ?? 0 > 0 && round.pipelineCPUMicrosecondsPerEvent ?? 0 > 0)
        }
        let shares = report.rounds.map(\.share)
        #expect(report.lowestShare == shares.min() && report.medianShare == shares.sorted()[0])
    }

    @Test("librdkafka's threads' CPU is taken thread by thread: one started since counts whole, one that ended counts nothing")
    func kafkaThreadsCPU() {
        let start: Bench.KafkaThreadTimes = ["10": (true, 1.0), "11": (false, 2.0), "12": (false, 5.0)]
        // 12 ended (a client closed, in another test); 13 started.
        let end: Bench.KafkaThreadTimes = ["10": (true, 1.5), "11": (false, 2.25), "13": (false, 0.5)]
        let used = Bench.kafkaThreadsCPU(from: start, to: end)
        #expect(used.embeddedBroker == 0.5 && used.kafkaClients == 0.75)
    }

    @Test("the embedded broker's thread is told from the clients' by its name")
    func embeddedBrokerThread() throws {
        let before = Bench.kafkaThreadsCPU()
        let broker = try EmbeddedBroker(logger: logger)
        defer { broker.close() }
        // Other tests run brokers of their own meanwhile: the new thread is this one's. It names
        // itself once running, which may be a moment after the broker returns (a clean-clone run
        // read it too early once): looked for for up to 5 s.
        var started: Bench.KafkaThreadTimes = [:]
        for _ in 0..<500 {
            started = Bench.kafkaThreadsCPU().filter { before[$0.key] == nil }
            if started.values.contains(where: { $0.broker }) { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(started.values.contains { $0.broker })
    }

    @Test("the process allocates with jemalloc, and the heap figure follows what it hands out")
    func allocator() throws {
        #expect(Bench.allocator.hasPrefix("jemalloc 5."))
        // The options compiled in reach jemalloc (the executable's `malloc_conf` takes the place
        // of the library's), unless the environment overrides them.
        if ProcessInfo.processInfo.environment["MALLOC_CONF"] == nil {
            #expect(Bench.threadCacheMax == 65_536)
            #expect(Bench.allocator.hasSuffix(", tcache_max 65536"))
        }
        // Swift's allocations go through malloc: were it not jemalloc's (the link order lost it
        // to libc's), its statistics would not see this block at all. Other threads allocate
        // and free meanwhile, hence the margin.
        let size = 64 << 20
        let before = Bench.heapInUse()
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        let during = Bench.heapInUse()
        block.deallocate()
        let after = Bench.heapInUse()
        #expect(during - before >= size / 2, "the heap grew by \(during - before) bytes for a block of \(size)")
        #expect(during - after >= size / 2, "freeing the block took \(during - after) bytes off")
    }

    @Test("latency percentiles from the histogram are the nearest-rank ones of the sorted values")
    func histogram() {
        var rng = SystemRandomNumberGenerator()
        for size in [1, 2, 7, 100, 10_001] {
            let values = (0..<size).map { _ in Int64.random(in: 0...2_000, using: &rng) }
            var h = LatencyHistogram()
            for v in values { h.add(v) }
            let sorted = values.sorted()
            for p in [0.0, 0.5, 0.95, 0.99, 1.0] {
                #expect(Int64(h.percentile(p)) == sorted[min(size - 1, Int(Double(size) * p))], "size \(size), p \(p)")
            }
            #expect(h.max == sorted.last && h.count == size)
        }
        // Out of range: below zero counts as 0, a minute or more in the last bucket; max is exact.
        var h = LatencyHistogram()
        h.add(-3)
        h.add(90_000)
        #expect(h.percentile(0) == 0 && h.percentile(0.99) == 60_000 && h.max == 90_000)
        #expect(LatencyHistogram().percentile(0.5) == 0)
    }

    @Test("the bench signs, shares and records disclosures as a deployment does, with the configured keys or keys made for the run, never in the operator's audit log")
    func sharingFiles() async throws {
        let pipeline = try defaultPipeline()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sharing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let operatorsLog = (scratch as NSString).appendingPathComponent("audit/disclosures.jsonl")
        var config = VigilConfig()
        config.sharing.auditLog = operatorsLog
        let made = try await Bench.withSharingFiles(config, pipeline) { config, source in
            let directory = try #require(config.sharing.keysDirectory)
            let keys = SharingKeys.load(directory: directory, partners: pipeline.partners)
            // A signing key and a pseudonym key for each partner that pseudonymises.
            #expect(keys.problems.isEmpty && keys.signer != nil)
            #expect(Set(keys.pseudonymisers.keys) == Set(pipeline.partners.filter(\.pseudonymises).map(\.name)) && !keys.pseudonymisers.isEmpty)
            #expect(source == .madeForTheRun)
            // The run's disclosures go to a log of its own.
            let log = try #require(config.sharing.auditLog)
            #expect(log != operatorsLog)
            _ = try AuditLog(path: log)
            return (directory, log)
        }
        #expect(!FileManager.default.fileExists(atPath: made.0) && !FileManager.default.fileExists(atPath: made.1))
        #expect(!FileManager.default.fileExists(atPath: operatorsLog))

        let configured = (scratch as NSString).appendingPathComponent("keys")
        _ = try SharingKeys.generate(in: configured, partners: pipeline.partners.filter(\.pseudonymises).map(\.name))
        config.sharing.keysDirectory = configured
        config.sharing.auditLog = nil
        let used = try await Bench.withSharingFiles(config, pipeline) { config, source in
            #expect(source == .configured && config.sharing.auditLog == nil)
            return config.sharing.keysDirectory
        }
        #expect(used == configured && FileManager.default.fileExists(atPath: configured))
    }

    @Test("rules mode runs the typology library in memory and reports the state it holds")
    func rules() async throws {
        let pipeline = try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/typologies.yaml").path)
        let report = try await Bench.rules(pipeline: pipeline, config: VigilConfig(), events: 20_000)
        #expect(report.keys == .madeForTheRun)
        #expect(report.events == 20_000 && report.rules == 18 && report.typologies == 18)
        // More than the 11 planted structuring and large-cash cases: the generated employers pay
        // many accounts within days, which the fan-out (mule distribution) typology flags.
        #expect(report.alerts > 11)
        #expect(report.windowKeys > 1_000 && report.windowEntries >= report.windowKeys)
        // Detection and sealing are timed apart; together they cannot be faster than detection.
        #expect(report.sealSeconds > 0 && report.withSealingEventsPerSecond <= report.eventsPerSecond)
        #expect(report.roundsEventsPerSecond == [report.eventsPerSecond])
    }

    @Test("rules mode in rounds: each round detects the same feed alike, and the report is the median round's")
    func rulesInRounds() async throws {
        let pipeline = try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/typologies.yaml").path)
        let once = try await Bench.rules(pipeline: pipeline, config: VigilConfig(), events: 5_000)
        let thrice = try await Bench.rules(pipeline: pipeline, config: VigilConfig(), events: 5_000, rounds: 3)
        #expect(thrice.roundsEventsPerSecond.count == 3)
        #expect(thrice.eventsPerSecond == thrice.roundsEventsPerSecond.sorted()[1])
        // A fresh engine each round: the same alerts and the same state as a single run.
        #expect(thrice.alerts == once.alerts && thrice.windowKeys == once.windowKeys && thrice.windowEntries == once.windowEntries)
        // The heap figures come from the allocator, which counts the whole process: here other
        // tests run at the same time and free memory, so they are checked in a process of their
        // own (CLITests, "vigil bench --mode rules").
    }
}
