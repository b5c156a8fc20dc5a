import CJemalloc
import Foundation
import Logging
import VigilCore
import VigilDetect
import VigilKafka
import VigilPipeline
import VigilShare

/// `vigil bench`: generated transactions through a pipeline, measured.
///
/// - `replay`: from a file, no broker (the detection path alone, as `vigil replay` runs it);
/// - `broker`: produced into the embedded broker (or given brokers) while the pipeline consumes
///   them and publishes its alerts: throughput from the first produce to the last event handled,
///   and latency from each record's produce timestamp to the acknowledgement of its effects;
/// - `passthrough`: the same, but every message is copied unchanged to another topic with no
///   decoding or detection (offsets stored after the copies are acknowledged): the ceiling any
///   pipeline can reach on this broker and machine.
public enum Bench {
    public enum Mode: String, Sendable, CaseIterable { case broker, replay, passthrough }

    public struct Options: Sendable {
        public var mode: Mode = .broker
        public var events = 200_000
        /// Events per second to produce at; `nil` = as fast as possible.
        public var rate: Int?
        /// Partitions of the input topic on the embedded broker (it keeps at most 5 MiB per
        /// partition, so large runs need many).
        public var partitions = 128
        public var seed: UInt64 = SampleFeed.defaultSeed
        /// Existing brokers instead of the embedded one.
        public var brokers: String?
        /// Seconds between the resident-set samples of a broker-mode run.
        public var memorySampleSeconds = 10
        public init() {}
    }

    /// Feeds longer than this are the first this many events repeated in rounds (``LoopedFeed``),
    /// so a long run's memory holds one round, not the whole run.
    public static let roundLength = 1_000_000

    public struct Latency: Sendable, Codable, Equatable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        init(_ h: LatencyHistogram) {
            (p50, p95, p99, max) = (Double(h.percentile(0.50)), Double(h.percentile(0.95)), Double(h.percentile(0.99)), Double(h.max))
        }
    }

    public struct Report: Sendable, Codable {
        /// The allocator the figures were measured with (``Bench/allocator``).
        public var allocator = Bench.allocator
        public var mode: String
        public var pipeline: String
        public var events: Int
        public var handled: Int
        public var seconds: Double
        public var eventsPerSecond: Double
        public var alerts: Int
        public var alertsPerSecond: Double
        /// Milliseconds from produce to acknowledged effects (broker mode): of every event, from
        /// its produce to the acknowledgement of all it caused and of everything before it in its
        /// partition (when its offset may be committed).
        public var latencyMs: Latency?
        /// Milliseconds from the produce of the event that raised an alert to the alert's
        /// acknowledgement, over the alerts (broker mode, pipelines): the issue's definition of
        /// end-to-end latency. With few alerts (the default pipeline raises 11 a round of the
        /// feed) the percentiles rest on few samples: `alertsMeasured` says how many.
        public var alertLatencyMs: Latency?
        public var alertsMeasured: Int?
        public var peakRSSBytes: Int?
        public var partitions: Int?
        public var rate: Int?
        public var workers: Int
        /// The resident set in MiB every `memorySampleSeconds` of a broker-mode run, the first
        /// taken when the clock starts: flat when nothing grows beyond its bounds.
        public var rssMiB: [Int]?
        /// What the allocator had handed out and not taken back (``heapInUse()``), in MiB, at the
        /// same instants: a resident set that grows while this stays flat is memory the
        /// allocator keeps (fragmentation, arenas), not memory the program holds.
        public var heapMiB: [Int]?
        public var memorySampleSeconds: Int?
        /// CPU time the whole process used while the clock ran (user and system, every thread:
        /// the producer of the feed, the embedded broker and the consumer alike), and that per
        /// event. Steadier than the rate on a shared machine, and it says what the work costs
        /// however the scheduler spread it.
        public var cpuSeconds: Double?
        public var cpuMicrosecondsPerEvent: Double?
        /// The same per event, split by thread (``CPUSplit``).
        public var cpuMicrosecondsPerEventByThreads: CPUSplit?
        /// The pipeline's keys (``Bench/Keys``); none for the pass-through, which signs nothing.
        public var keys: Keys?
        /// With a screening section: parties screened against the lists, and answered from
        /// memory. A looped feed meets its payers again only a round later, so a run's figures
        /// should not rest on remembered answers; this shows whether they do.
        public var screenings: Screenings?
    }

    /// CPU time split by the threads that used it, from each thread's own count
    /// (`/proc/self/task/*/schedstat`). The embedded broker's work is no part of a deployment's
    /// (a real broker runs elsewhere), and this says how much of a run's it was.
    public struct CPUSplit: Sendable, Codable, Equatable {
        /// The embedded broker's thread (`rdk:mock`); 0 with `--brokers`.
        public var embeddedBroker: Double
        /// librdkafka's own threads in every client: the feed's producer, and the pipeline's
        /// (or the pass-through's) consumer and producers (`rdk:` threads).
        public var kafkaClients: Double
        /// Everything else: the pipeline's stages (or the pass-through's copying), the feed's
        /// producing, and threads that ended during the run.
        public var rest: Double
    }

    /// CPU seconds of librdkafka's threads, and whether each is the embedded broker's, by thread:
    /// its id and start time (`id/start`). Ids are reused (they wrap at 32,768 here, and clients
    /// come and go): by its id alone, a new thread would be taken for an ended one.
    typealias KafkaThreadTimes = [String: (broker: Bool, seconds: Double)]

    /// ``KafkaThreadTimes`` of the threads alive now.
    static func kafkaThreadsCPU() -> KafkaThreadTimes {
        var out: KafkaThreadTimes = [:]
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8), name.hasPrefix("rdk:"),
                  let stat = threadStat(task), let seconds = threadCPUSeconds(task, stat: stat) else { continue }
            out["\(task)/\(stat[19])"] = (name.hasPrefix("rdk:mock"), seconds)  // field 22: the start time
        }
        return out
    }

    /// The fields of a thread's `stat` after its name in parentheses (which may hold spaces):
    /// fields 3 on, so field n is at n - 3.
    private static func threadStat(_ task: String) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? fields : nil
    }

    /// ``CPUSplit``'s first two parts between two ``kafkaThreadsCPU()`` readings, thread by
    /// thread: a thread started since counts whole, one that ended is left to the rest (summing
    /// each reading instead took a client closed meanwhile, in another test, off the total).
    static func kafkaThreadsCPU(from start: KafkaThreadTimes, to end: KafkaThreadTimes) -> (embeddedBroker: Double, kafkaClients: Double) {
        var broker = 0.0, clients = 0.0
        for (task, now) in end {
            let used = max(0, now.seconds - (start[task]?.seconds ?? 0))
            if now.broker { broker += used } else { clients += used }
        }
        return (broker, clients)
    }

    /// A thread's CPU time in seconds: from `schedstat` (nanoseconds on the CPU), else from
    /// `stat`'s user and system time, which count whole clock ticks (10 ms: too coarse for a
    /// thread that ran a few milliseconds in a short run).
    private static func threadCPUSeconds(_ task: String, stat: [Substring]) -> Double? {
        if let line = try? String(contentsOfFile: "/proc/self/task/\(task)/schedstat", encoding: .utf8),
           let first = line.split(separator: " ").first, let ns = Double(first) {
            return ns / 1e9
        }
        // utime and stime are fields 14 and 15.
        guard let user = Double(stat[11]), let system = Double(stat[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    public struct Screenings: Sendable, Codable, Equatable {
        public var screened: Int
        public var remembered: Int

        public init(screened: Int, remembered: Int) { (self.screened, self.remembered) = (screened, remembered) }

        /// A run's counts; nil for a pipeline that screens nothing.
        init?(_ stats: PipelineRunner.Stats, of pipeline: PipelineDefinition) {
            guard pipeline.screening != nil else { return nil }
            (screened, remembered) = (stats.screened, stats.remembered)
        }
    }

    public static func run(_ options: Options, pipeline: PipelineDefinition, config: VigilConfig, logger: Logger) async throws -> Report {
        let feed = LoopedFeed(SampleFeed.generate(seed: options.seed, count: min(options.events, roundLength)))
        return try await withSharingFiles(config, pipeline) { config, keys in
            var report = switch options.mode {
            case .replay: try await replay(feed, options, pipeline, config, logger)
            case .broker, .passthrough: try await broker(feed, options, pipeline, config, logger)
            }
            report.keys = options.mode == .passthrough ? nil : keys
            return report
        }
    }

    /// Where the keys a run signs alerts and pseudonymises partners' copies with came from:
    /// ``Report/keys``.
    public enum Keys: String, Sendable, Codable {
        /// The configuration's (`sharing.keys`, `VIGIL_KEYS_DIR`, `VIGIL_SIGNING_KEY`…).
        case configured
        /// Made for the run, because the configuration's were missing, and deleted after it.
        case madeForTheRun = "made for the run"
    }

    /// A deployment signs every alert, makes its partners' copies and records each disclosure
    /// in its audit log; the bench measures that work wherever it is run from. Without a signing
    /// key the pipeline publishes unsigned alerts and holds its partners' copies, which is less
    /// work, so a run from a directory without `keys/` measured a cheaper pipeline than one from
    /// a directory with it. So: the configuration's keys when they are all there, else keys made
    /// for the run; and when the configuration keeps an audit log, one of the run's own beside
    /// it in a temporary directory (the bench's disclosures are not disclosures, and must not
    /// join an operator's hash chain). Both are deleted after the run.
    static func withSharingFiles<R>(_ config: VigilConfig, _ pipeline: PipelineDefinition,
                                    _ body: (VigilConfig, Keys) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = config
        if config.sharing.auditLog != nil {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw BenchError("cannot make a directory for the run's audit log: \(error)")
            }
            config.sharing.auditLog = (directory as NSString).appendingPathComponent("disclosures.jsonl")
        }
        if SharingKeys.load(directory: config.sharing.keysDirectory, partners: pipeline.partners).problems.isEmpty {
            return try await body(config, .configured)
        }
        let keys = (directory as NSString).appendingPathComponent("keys")
        do {
            _ = try SharingKeys.generate(in: keys, partners: pipeline.partners.filter(\.pseudonymises).map(\.name))
        } catch {
            throw BenchError("cannot make keys for the run: \(error)")
        }
        config.sharing.keysDirectory = keys
        return try await body(config, .madeForTheRun)
    }

    /// The pipeline's throughput as a share of the pass-through's (what the throughput issue
    /// sets floors for), measured in pairs: each round runs the pass-through and the pipeline on
    /// the same feed, partitions and kind of broker, one right after the other, the order
    /// alternating by round so neither always gets the fresher machine. The VM's speed drifts
    /// between runs, so a share is only meaningful within its round.
    public struct ShareReport: Sendable, Codable {
        public struct Round: Sendable, Codable {
            public var passthroughEventsPerSecond: Double
            public var pipelineEventsPerSecond: Double
            public var share: Double
            public var passthroughCPUMicrosecondsPerEvent: Double?
            public var pipelineCPUMicrosecondsPerEvent: Double?
        }
        public var mode = "share"
        public var allocator = Bench.allocator
        public var pipeline: String
        public var events: Int
        public var partitions: Int?
        public var rounds: [Round]
        public var medianShare: Double
        public var lowestShare: Double
        /// The pipeline's keys (``Bench/Keys``).
        public var keys: Keys?
    }

    public static func share(_ options: Options, rounds: Int, pipeline: PipelineDefinition, config: VigilConfig,
                             logger: Logger) async throws -> ShareReport {
        precondition(rounds > 0)
        let feed = LoopedFeed(SampleFeed.generate(seed: options.seed, count: min(options.events, roundLength)))
        return try await withSharingFiles(config, pipeline) { config, keys in
            var report = try await share(feed, options, rounds: rounds, pipeline: pipeline, config: config, logger: logger)
            report.keys = keys
            return report
        }
    }

    private static func share(_ feed: LoopedFeed, _ options: Options, rounds: Int, pipeline: PipelineDefinition, config: VigilConfig,
                              logger: Logger) async throws -> ShareReport {
        var results: [ShareReport.Round] = []
        for round in 0..<rounds {
            var pass = options, piped = options
            pass.mode = .passthrough
            piped.mode = .broker
            var reports: [Mode: Report] = [:]
            for o in round % 2 == 0 ? [pass, piped] : [piped, pass] {
                reports[o.mode] = try await broker(feed, o, pipeline, config, logger)
            }
            let (p, b) = (reports[.passthrough]!, reports[.broker]!)
            results.append(.init(passthroughEventsPerSecond: p.eventsPerSecond.rounded(), pipelineEventsPerSecond: b.eventsPerSecond.rounded(),
                                 share: (b.eventsPerSecond / p.eventsPerSecond * 1000).rounded() / 1000,
                                 passthroughCPUMicrosecondsPerEvent: p.cpuMicrosecondsPerEvent, pipelineCPUMicrosecondsPerEvent: b.cpuMicrosecondsPerEvent))
        }
        // Of an even count, the lower middle: the cautious reading of a floor.
        let shares = results.map(\.share).sorted()
        return ShareReport(pipeline: "\(pipeline.name)@\(pipeline.version)", events: options.events, partitions: options.partitions,
                           rounds: results, medianShare: shares[(shares.count - 1) / 2], lowestShare: shares[0])
    }

    private static func replay(_ feed: LoopedFeed, _ options: Options, _ pipeline: PipelineDefinition, _ config: VigilConfig,
                               _ logger: Logger) async throws -> Report {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString).jsonl").path
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw BenchError("cannot write the feed to \(path): \(FileProblem.writeReason(path, otherwise: "unknown reason"))")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        for chunk in stride(from: 0, to: options.events, by: 10_000) {
            var bytes: [UInt8] = []
            for n in chunk..<min(chunk + 10_000, options.events) { bytes += feed[n]; bytes.append(UInt8(ascii: "\n")) }
            try file.write(contentsOf: bytes)
        }
        try file.close()
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await Replay.run(input: .jsonLines(path: path, topic: pipeline.topics(from: config).transactions), pipeline: pipeline,
                                          config: config, sink: CallbackSink { _ in }, logger: logger)
        let seconds = (clock.now - start).inSeconds
        return Report(mode: "replay", pipeline: "\(pipeline.name)@\(pipeline.version)", events: options.events, handled: result.stats.completed,
                      seconds: seconds, eventsPerSecond: Double(result.stats.completed) / seconds, alerts: result.stats.alerts,
                      alertsPerSecond: Double(result.stats.alerts) / seconds, latencyMs: nil, peakRSSBytes: peakRSS(), partitions: nil,
                      rate: nil, workers: 1, screenings: Screenings(result.stats, of: pipeline))
    }

    private static func broker(_ feed: LoopedFeed, _ options: Options, _ pipeline: PipelineDefinition, _ config: VigilConfig,
                               _ logger: Logger) async throws -> Report {
        var config = config
        config.kafka.partitions = options.partitions
        config.kafka.group = "vigil-bench-\(UUID().uuidString)"
        // Every run starts from nothing and leaves nothing: state kept by one run (or by a
        // pipeline in production, through VIGIL_STATE_DIR) would change what the next measures.
        config.runtime.stateDirectory = nil
        let topics = pipeline.topics(from: config)
        var embedded: EmbeddedBroker?
        let bootstrap: String
        if let brokers = options.brokers {
            bootstrap = brokers
            TopicSetup.ensure(topics, config: config, bootstrap: brokers, logger: logger)
        } else {
            let b = try EmbeddedBroker(nodes: 1, logger: logger)
            try TopicSetup.create(TopicSetup.specs(topics, config: config), on: b)
            if options.mode == .passthrough {
                try b.createTopic(TopicSpec(name: topics.transactions + ".passthrough", partitions: options.partitions))
            }
            embedded = b
            bootstrap = b.bootstrapServers
        }
        defer { embedded?.close() }

        let latencies = Locked(LatencyHistogram())
        let alertLatencies = Locked(LatencyHistogram())
        let onAlertsHandled: @Sendable ([Int64]) -> Void = { stamps in alertLatencies.withLock { h in h.add(producedAt: stamps) } }
        let handled = Locked(0)
        let total = options.events
        let done = Locked<CheckedContinuation<Void, Never>?>(nil)
        /// Ends the wait below (once: the continuation is taken out as it is resumed).
        @Sendable func finishWaiting() { done.withLock { c in defer { c = nil }; return c }?.resume() }
        let onHandled: @Sendable ([Int64]) -> Void = { stamps in
            latencies.withLock { h in h.add(producedAt: stamps) }
            let finished = handled.withLock { count -> Bool in
                count += stamps.count
                return count >= total
            }
            if finished { finishWaiting() }
        }
        let consumer: any BenchConsumer
        if options.mode == .passthrough {
            consumer = try Passthrough(config: config, topics: topics, bootstrap: bootstrap, logger: logger, onHandled: onHandled)
        } else {
            consumer = try PipelineService(pipeline: pipeline, config: config, bootstrap: bootstrap, logger: logger, onHandled: onHandled,
                                           onAlertsHandled: onAlertsHandled)
        }
        let running = Task { try await consumer.run() }
        // Measure from the moment the consumer owns its partitions (the group join takes ~3 s).
        while consumer.assignment.isEmpty { try await Task.sleep(for: .milliseconds(50)) }

        var producerConfig = KafkaProducerConfig(client: config.clientConfig(bootstrap: bootstrap))
        producerConfig.lingerMilliseconds = 5
        let producer = try KafkaProducer(config: producerConfig, logger: logger)
        defer { producer.close() }
        // Built a thousand at a time as they are sent: a long run's records are never all in memory.
        @Sendable func records(_ range: Range<Int>) -> [ProducerRecord] {
            range.map { n in
                let value = feed[n]
                return ProducerRecord(topic: topics.transactions, key: feed.key(n), value: value)
            }
        }
        // A consumer owns its partitions a while before it fetches from them (its committed
        // offsets are looked up first: about a second here), and records produced meanwhile
        // wait: that start-up shows as a latency tail of a second in a short run. So the clock
        // starts once the first record has been through; the rest are measured.
        let clock = ContinuousClock()
        let warmUp = clock.now
        try await producer.enqueue(records(0..<1)) { _ in }
        while handled.value < 1 {
            guard clock.now - warmUp < .seconds(60) else { throw BenchError("the first record was not handled within 60 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
        latencies.withLock { $0 = LatencyHistogram() }
        alertLatencies.withLock { $0 = LatencyHistogram() }
        let start = clock.now
        let cpuAtStart = cpuTime(), threadsAtStart = kafkaThreadsCPU()
        let producing = Task {
            // Paced in slices of 10 ms, or all at once; enqueued a thousand at a time with one
            // completion each (one per record showed in the profile), so that feeding costs less of the run.
            let slice = options.rate.map { max(1, $0 / 100) } ?? total
            var next = start
            for chunk in stride(from: 1, to: total, by: slice) {
                let end = min(chunk + slice, total)
                for part in stride(from: chunk, to: end, by: 1000) {
                    try await producer.enqueue(records(part..<min(part + 1000, end))) { _ in }
                }
                if options.rate != nil {
                    next = next + .milliseconds(10)
                    try await Task.sleep(until: next)
                }
            }
        }
        // Samples the resident set, and ends the wait when nothing is handled for a minute (a
        // consumer more than 5 MiB behind on a partition of the embedded broker has lost records
        // to its retention, and the count would never be reached).
        let rss = Locked([(Int, Int)]())  // resident set, heap in use (MiB)
        let stalled = Locked(false)
        let watching = Task {
            var last = (count: -1, at: clock.now)
            var nextSample = clock.now
            while !Task.isCancelled {
                if clock.now >= nextSample {
                    let sample = ((residentSet() ?? 0) >> 20, heapInUse() >> 20)
                    rss.withLock { $0.append(sample) }
                    nextSample = nextSample + .seconds(options.memorySampleSeconds)
                }
                let count = handled.value
                if count != last.count { last = (count, clock.now) }
                if clock.now - last.at > .seconds(60) {
                    stalled.withLock { $0 = true }
                    finishWaiting()
                    return
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        await withCheckedContinuation { c in
            let already = done.withLock { slot -> Bool in
                if handled.value >= total { return true }
                slot = c
                return false
            }
            if already { c.resume() }
        }
        // With re-keying, an input record is handled once its own alerts and its copies are
        // acknowledged; its events are done when the copies have been detected too.
        if let service = consumer as? PipelineService, !topics.rekeyed.isEmpty, !stalled.value {
            let ends = try KafkaAdmin(config: config.clientConfig(bootstrap: bootstrap), logger: logger).endOffsets(topics: topics.rekeyed.map(\.topic))
            while !ends.allSatisfy({ (service.runner.releasedPositions[$0.key] ?? 0) >= $0.value }) {
                guard clock.now - start < .seconds(3_600) else { throw BenchError("the re-keyed copies were not all handled") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        let seconds = (clock.now - start).inSeconds
        let cpu = cpuTime() - cpuAtStart
        let (broker, clients) = kafkaThreadsCPU(from: threadsAtStart, to: kafkaThreadsCPU())
        let perEvent = { (seconds: Double) in (seconds / Double(total - 1) * 1e7).rounded() / 10 }
        let split = CPUSplit(embeddedBroker: perEvent(broker), kafkaClients: perEvent(clients), rest: perEvent(max(0, cpu - broker - clients)))
        watching.cancel()
        if stalled.value {
            producing.cancel()
            consumer.stop()
            _ = try? await running.value
            throw BenchError("no event was handled for 60 s: \(handled.value) of \(total) handled (with the embedded broker, a "
                + "consumer more than 5 MiB behind on a partition loses records to its retention: lower --rate or raise --partitions)")
        }
        try await producing.value
        consumer.stop()
        try await running.value
        let stats = consumer.stats
        let alerted = alertLatencies.value
        return Report(mode: options.mode.rawValue, pipeline: options.mode == .passthrough ? "none" : "\(pipeline.name)@\(pipeline.version)",
                      events: total, handled: handled.value,
                      seconds: seconds, eventsPerSecond: Double(total - 1) / seconds, alerts: stats.alerts,
                      alertsPerSecond: Double(stats.alerts) / seconds,
                      latencyMs: Latency(latencies.value),
                      alertLatencyMs: options.mode == .passthrough ? nil : Latency(alerted), alertsMeasured: options.mode == .passthrough ? nil : alerted.count,
                      peakRSSBytes: peakRSS(), partitions: options.partitions, rate: options.rate, workers: config.runtime.workers,
                      rssMiB: rss.value.map(\.0), heapMiB: rss.value.map(\.1), memorySampleSeconds: options.memorySampleSeconds,
                      cpuSeconds: (cpu * 1000).rounded() / 1000, cpuMicrosecondsPerEvent: perEvent(cpu), cpuMicrosecondsPerEventByThreads: split,
                      screenings: options.mode == .passthrough ? nil : Screenings(stats, of: pipeline))
    }

    /// The part of a broker-mode run that consumes: a pipeline, or the pass-through.
    protocol BenchConsumer: Sendable {
        var assignment: [TopicPartition] { get }
        var stats: PipelineRunner.Stats { get }
        func run() async throws
        func stop()
    }

    /// Copies every input message unchanged to `<input>.passthrough`, storing offsets once a
    /// batch's copies are acknowledged.
    final class Passthrough: BenchConsumer {
        private let consumer: KafkaConsumer
        private let sink: KafkaSink
        private let target: String
        private let onHandled: @Sendable ([Int64]) -> Void
        private let completed = Locked(0)

        init(config: VigilConfig, topics: VigilConfig.Topics, bootstrap: String, logger: Logger,
             onHandled: @escaping @Sendable ([Int64]) -> Void) throws {
            let client = config.clientConfig(bootstrap: bootstrap)
            target = topics.transactions + ".passthrough"
            var cc = KafkaConsumerConfig(client: client, groupID: config.kafka.group, topics: [topics.transactions])
            cc.sessionTimeoutMilliseconds = 10_000
            consumer = try KafkaConsumer(config: cc, logger: logger)
            sink = try KafkaSink(config: KafkaProducerConfig(client: client), logger: logger)
            self.onHandled = onHandled
        }

        var assignment: [TopicPartition] { consumer.assignment }
        var stats: PipelineRunner.Stats {
            var s = PipelineRunner.Stats()
            s.completed = completed.value
            return s
        }
        func stop() { consumer.stopFetching() }

        func run() async throws {
            defer {
                sink.close()
                consumer.close()
            }
            while let batch = await consumer.nextBatch() {
                let stamps = batch.messages.compactMap(\.timestampMilliseconds)
                let offsets = Dictionary(batch.messages.map { (TopicPartition($0.topic, $0.partition), $0.offset + 1) }, uniquingKeysWith: max)
                let records = batch.messages.map { ProducerRecord(topic: target, key: $0.key, value: $0.value, headers: $0.headers) }
                let (consumer, onHandled, completed) = (self.consumer, self.onHandled, self.completed)
                await sink.publish(records) { error in
                    guard error == nil else { return }
                    consumer.store(offsets)
                    completed.withLock { $0 += stamps.count }
                    onHandled(stamps)
                }
            }
        }
    }

    /// Bytes the allocator has handed out and not taken back (jemalloc's `stats.allocated`,
    /// after an `epoch` refresh: its statistics are snapshots, taken when asked).
    static func heapInUse() -> Int {
        var epoch: UInt64 = 1
        guard mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size) == 0 else { return 0 }
        var allocated = 0
        var size = MemoryLayout<Int>.size
        return mallctl("stats.allocated", &allocated, &size, nil, 0) == 0 ? allocated : 0
    }

    /// The allocator the process runs on and the option of it that moves the figures, as
    /// `jemalloc 5.3.0-0-g…, tcache_max 65536`: a figure measured with one allocator, or one
    /// setting of it, says little about another.
    public static let allocator: String = {
        var version: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "unknown" }
        return "jemalloc " + String(cString: version) + (threadCacheMax.map { ", tcache_max \($0)" } ?? "")
    }()

    /// jemalloc's `opt.tcache_max`, the largest block each thread keeps for reuse: what Vigil
    /// compiles in (CJemallocOptions, which says why) unless `MALLOC_CONF` overrides it.
    static var threadCacheMax: Int? {
        var value = 0
        var size = MemoryLayout<Int>.size
        return mallctl("opt.tcache_max", &value, &size, nil, 0) == 0 ? value : nil
    }

    /// The process's peak resident set size (Linux `VmHWM`), if readable.
    static func peakRSS() -> Int? { status("VmHWM:") }

    /// The process's resident set size now (Linux `VmRSS`), if readable.
    static func residentSet() -> Int? { status("VmRSS:") }

    /// Seconds of CPU time the process has used, user and system.
    static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A size in bytes from a `/proc/self/status` line given in kB.
    private static func status(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kb = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) else { return nil }
        return kb * 1024
    }
}


extension PipelineService: Bench.BenchConsumer {}

extension Bench {
    /// Detection alone: what `--mode rules` prints.
    public struct RulesReport: Sendable, Codable {
        public var allocator = Bench.allocator
        public var pipeline: String
        public var rules: Int
        public var typologies: Int
        public var events: Int
        public var alerts: Int
        public var seconds: Double
        public var eventsPerSecond: Int
        /// Window state at the end: keys held over all window rules, entries in them, and the
        /// bytes an entry takes in the window arrays (strings it points to not counted).
        public var windowKeys: Int
        public var windowEntries: Int
        public var bytesPerEntry: Int
        public var sequencePartials: Int
        public var cycleEdges: Int
        /// Heap held by all detection state at the end (allocator's bytes in use after the run
        /// minus before it: window arrays, dictionaries, keys, partial sequences, cycle graphs),
        /// and that divided by the keys, partials and edges held.
        public var stateBytes: Int
        public var stateBytesPerKey: Int
        /// Seconds to seal the alerts detection found, and events/s of detection and sealing
        /// together (one after the other on this one core).
        public var sealSeconds: Double
        public var withSealingEventsPerSecond: Int
        /// Detection's events/s in each round, in the order they ran (the report's figures are
        /// the median round's).
        public var roundsEventsPerSecond: [Int]
        /// The keys sealing signed with (``Bench/Keys``).
        public var keys: Keys?
    }

    /// Runs the pipeline's detection over `events` generated transactions on this thread, each
    /// batch decoded just before it is detected (as the runner does) but outside the time: the
    /// figure is rules and typologies, not JSON parsing. (Decoding everything first would leave
    /// a million decoded events in memory, each read back from main memory when detected.)
    ///
    /// With `rounds` above 1 the feed is detected that many times, each by a fresh engine, and
    /// the report is the median round's, with every round's rate (`roundsEventsPerSecond`): on a
    /// noisy machine one run says little, and rounds in one process share its conditions.
    public static func rules(pipeline: PipelineDefinition, config: VigilConfig, events: Int, rounds: Int = 1) async throws -> RulesReport {
        let feed = SampleFeed.generate(seed: SampleFeed.defaultSeed, count: events)
        let topics = pipeline.topics(from: config)
        let topic = topics.effectiveInputs[0].topic
        let messages = feed.lines.enumerated().map { n, line in
            ConsumedMessage(topic: topic, partition: 0, offset: Int64(n), value: Array(line.utf8))
        }
        return try await withSharingFiles(config, pipeline) { config, source in
            let keys = SharingKeys.load(directory: config.sharing.keysDirectory, partners: pipeline.partners)
            let runs = (0..<max(1, rounds)).map { _ in rulesRound(pipeline: pipeline, topics: topics, config: config, keys: keys, messages: messages) }
            var report = runs.sorted { $0.eventsPerSecond < $1.eventsPerSecond }[runs.count / 2]
            report.roundsEventsPerSecond = runs.map(\.eventsPerSecond)
            report.keys = source
            return report
        }
    }

    /// One detection of the whole feed by a fresh engine.
    private static func rulesRound(pipeline: PipelineDefinition, topics: VigilConfig.Topics, config: VigilConfig, keys: SharingKeys,
                                   messages: [ConsumedMessage]) -> RulesReport {
        let engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: config.runtime.limits, keys: keys)
        let clock = ContinuousClock()
        var alerts = 0
        var elapsed = Duration.zero, sealing = Duration.zero
        let heapBefore = heapInUse()
        // In a scope of its own: what detection found is freed at its end, before the state is
        // measured (an assignment of `[]` after its last use could be left out).
        do {
            var pending: [[PendingOutput]] = []
            // In batches, as the pipeline hands the engine runs of one partition's messages.
            for start in stride(from: 0, to: messages.count, by: 500) {
                let batch = start..<min(start + 500, messages.count)
                let batchMessages = Array(messages[batch])
                let decoded = batchMessages.map { engine.decoding.decode($0) }
                let started = clock.now
                pending.append(engine.detect(batchMessages[...], decoded: decoded[...]))
                elapsed += clock.now - started
            }
            // Sealing (each alert's record, signature and partner copies) is the publishing
            // stage's work, which the runner does beside detection; timed on its own.
            sealing = clock.measure {
                for batch in pending { alerts += engine.sealer.seal(batch).count { $0.alert != nil } }
            }
        }
        // The inputs stay alive until measured: Swift would free them right after their last use.
        let stateBytes = withExtendedLifetime(messages) { heapInUse() } - heapBefore
        let seconds = elapsed.inSeconds
        let stats = engine.stats
        let held = max(1, stats.windowKeys + stats.sequencePartials + stats.cycleEdges)
        return RulesReport(pipeline: "\(pipeline.name)@\(pipeline.version)", rules: pipeline.rules.definitions.count,
                           typologies: pipeline.typologies.definitions.count, events: messages.count, alerts: alerts,
                           seconds: (seconds * 1000).rounded() / 1000, eventsPerSecond: Int(Double(messages.count) / seconds),
                           windowKeys: stats.windowKeys, windowEntries: stats.windowEntries, bytesPerEntry: Detector.bytesPerWindowEntry,
                           sequencePartials: stats.sequencePartials, cycleEdges: stats.cycleEdges, stateBytes: stateBytes,
                           stateBytesPerKey: stateBytes / held, sealSeconds: (sealing.inSeconds * 1000).rounded() / 1000,
                           withSealingEventsPerSecond: Int(Double(messages.count) / (seconds + sealing.inSeconds)),
                           roundsEventsPerSecond: [])
    }
}

/// End-to-end latencies in whole milliseconds (what produce timestamps give), counted per
/// millisecond up to a minute: a run of any length keeps 480 KB, where a list of every latency
/// grew by 8 bytes an event. Percentiles are nearest-rank, as sorting the list gave them.
struct LatencyHistogram: Sendable {
    private var counts = [Int](repeating: 0, count: 60_001)
    private(set) var count = 0
    private(set) var max: Int64 = 0

    /// Negative values (a clock step between hosts) count as 0; a minute or more in the last bucket.
    mutating func add(_ ms: Int64) {
        counts[Int(Swift.min(Swift.max(ms, 0), Int64(counts.count - 1)))] += 1
        count += 1
        max = Swift.max(max, ms)
    }

    /// The ages now, in milliseconds, of records produced at these timestamps (ms since 1970).
    mutating func add(producedAt stamps: [Int64]) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for s in stamps { add(now - s) }
    }

    /// The value at rank `count × p` (0-based) in sorted order; 0 when empty.
    func percentile(_ p: Double) -> Int {
        guard count > 0 else { return 0 }
        let rank = Swift.min(count - 1, Int(Double(count) * p))
        var seen = 0
        for (ms, n) in counts.enumerated() {
            seen += n
            if seen > rank { return ms }
        }
        return counts.count - 1
    }
}

/// A benchmark that could not run to the end, and why.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
