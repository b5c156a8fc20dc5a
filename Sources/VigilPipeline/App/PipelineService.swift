import Foundation
import Logging
import ServiceLifecycle
import VigilCore
import VigilKafka
import VigilShare

/// A pipeline reading from and publishing to Kafka, as a long-running ``Service``.
///
/// On graceful shutdown (SIGINT/SIGTERM through a `ServiceGroup`) it stops fetching, finishes
/// in-flight work, waits for every acknowledgement, commits offsets, leaves the group and flushes
/// the producer — in that order, so nothing acknowledged is read twice and nothing unacknowledged
/// is committed.
public final class PipelineService: Service {
    public let runner: PipelineRunner
    public let source: KafkaSource
    public let sink: KafkaSink
    private let logger: Logger
    /// Watches the pipeline file (`runtime.reload-interval`); `nil` when reloading is off.
    public let reloader: PipelineReloader?
    private let reloadInterval: Duration
    /// What `/metrics` serves.
    public let metrics = PipelineMetrics()
    /// Whether a broker answered the last readiness probe.
    private let brokerAnswers = Locked(false)
    /// The duplicate-suppression window, filled from the output topics' tails at start.
    private let published: PublishedAlerts?
    private let outputTopics: [String]
    /// Every topic the pipeline writes.
    private let produced: [String]
    private let readBackPerPartition: Int
    private let client: KafkaClientConfig
    private let group: String

    /// Creates the consumer (joining `config.kafka.group`) and the producer.
    public init(pipeline: PipelineDefinition, config: VigilConfig, bootstrap: String, logger: Logger,
                stopAt: [TopicPartition: Int64]? = nil, onAlert: (@Sendable (Alert) -> Void)? = nil,
                onHandled: (@Sendable ([Int64]) -> Void)? = nil, onAlertsHandled: (@Sendable ([Int64]) -> Void)? = nil) throws {
        let topics = pipeline.topics(from: config)
        // Disclosures are recorded only where partners are declared.
        let audit = try config.sharing.auditLog.flatMap { pipeline.partners.isEmpty ? nil : try AuditLog(path: $0) }
        let client = config.clientConfig(bootstrap: bootstrap)
        var consumerConfig = KafkaConsumerConfig(client: client, groupID: config.kafka.group, topics: topics.consumed)
        consumerConfig.commitIntervalMilliseconds = max(1, Int(config.kafka.commitInterval.microseconds / 1000))
        consumerConfig.sessionTimeoutMilliseconds = max(1, Int(config.kafka.sessionTimeout.microseconds / 1000))
        // Rebuild window state on assignment by re-reading the recent past (by produce time).
        let rewind = config.runtime.stateRewind ?? pipeline.longestWindow.map { $0 + .seconds(3_600) }
        consumerConfig.stateRewind = rewind.flatMap { $0 > .zero ? $0 : nil }
        // The anomaly detectors' state, loaded before joining the group: a partition assigned at
        // once is re-read from after what its snapshot learnt.
        let metrics = self.metrics
        let scoringState = config.runtime.stateDirectory.map {
            ScoringState(directory: $0, pipeline: pipeline, limits: config.runtime.limits,
                         checkpointInterval: config.runtime.checkpointInterval, logger: logger, metrics: metrics, unscored: Set(topics.rekeyed.map(\.topic)))
        }
        if let scoringState { consumerConfig.stateReplayFrom = { scoringState.replayFrom($0) } }
        let source = try KafkaSource(config: consumerConfig, logger: logger)
        let sink: KafkaSink
        var producerConfig = KafkaProducerConfig(client: client)
        producerConfig.flushTimeout = config.runtime.shutdownTimeout
        do { sink = try KafkaSink(config: producerConfig, logger: logger) } catch {
            source.close()
            throw error
        }
        var options = PipelineRunner.Options(workers: config.runtime.workers, limits: config.runtime.limits, stopAt: stopAt)
        options.shutdownTimeout = config.runtime.shutdownTimeout
        options.onHandled = onHandled
        options.onAlertsHandled = onAlertsHandled
        options.decodeOptions = config.formats.decodeOptions
        options.keysDirectory = config.sharing.keysDirectory
        options.audit = audit
        options.metrics = metrics
        options.state = scoringState
        options.rekeying = true
        if stopAt != nil, !topics.rekeyed.isEmpty {
            let admin = KafkaAdmin(config: client, logger: logger), rekeyed = topics.rekeyed.map(\.topic)
            options.copiesEnd = {
                do { return try admin.endOffsets(topics: rekeyed) } catch {
                    logger.warning("stopping without waiting for the re-keyed copies", metadata: ["error": "\(error)"])
                    return [:]
                }
            }
        }
        if config.runtime.dedupeWindow > 0 {
            let published = PublishedAlerts(capacity: config.runtime.dedupeWindow)
            options.published = published
            self.published = published
        } else {
            self.published = nil
        }
        let outputTopics = topics.alertTopics
        self.outputTopics = outputTopics
        self.produced = topics.produced
        self.client = client
        // The window is shared by every output partition; at least the last 100 records of each.
        self.readBackPerPartition = max(100, config.runtime.dedupeWindow / max(1, outputTopics.count * config.kafka.partitions))
        self.source = source
        self.sink = sink
        self.logger = logger
        self.runner = PipelineRunner(pipeline: pipeline, topics: topics, options: options, source: source, sink: sink,
                                     logger: logger, onAlert: onAlert)
        self.reloadInterval = config.runtime.reloadInterval
        self.group = config.kafka.group
        self.reloader = reloadInterval > .zero
            ? PipelineReloader(file: pipeline.file, config: config, runner: runner, logger: logger) : nil
    }

    public func run() async throws {
        if let published {
            // What a previous run published since its last commit is on these topics: remember
            // it, so processing that input again does not publish it twice.
            await published.readBack(topics: outputTopics, client: client, perPartition: readBackPerPartition, timeout: .seconds(10), logger: logger)
        }
        // The output topics' metadata before the first record to each, which would wait for it
        // otherwise (a blocking call: off the cooperative pool).
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [sink, produced, logger] in
                do { try sink.producer.prepare(topics: produced, timeout: .seconds(5)) } catch {
                    logger.warning("output topics not looked up before the start; their first records wait for it",
                                   metadata: ["topics": "\(produced.joined(separator: ","))", "error": "\(error)"])
                }
                done.resume()
            }
        }
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    if let reloader { group.addTask { [reloadInterval] in await reloader.watch(every: reloadInterval) } }
                    group.addTask { [source, brokerAnswers] in
                        // The probe blocks for up to a second: it runs off the cooperative pool
                        // so neither a scrape nor the pipeline waits for it.
                        while !Task.isCancelled {
                            let answered = await withCheckedContinuation { done in
                                DispatchQueue.global().async { done.resume(returning: source.brokerAnswers()) }
                            }
                            brokerAnswers.withLock { $0 = answered }
                            try? await Task.sleep(for: .seconds(2))
                        }
                    }
                    try await runner.run()
                    group.cancelAll()
                }
            } onGracefulShutdown: { [runner, logger] in
                logger.info("shutting down: finishing in-flight work")
                runner.stop()
            }
        } catch {
            close()
            throw error
        }
        close()
    }

    /// `/readyz`: ready once the consumer has its assignment and a broker answers.
    public func readiness() -> (ready: Bool, reason: String) {
        guard source.generation > 0 else { return (false, "waiting for a partition assignment in group \(group)") }
        guard brokerAnswers.value else { return (false, "no broker answered the last metadata request") }
        return (true, "ready: \(source.assignment.count) partitions assigned in group \(group)")
    }

    /// `/metrics`: counters as they are, state size and consumer lag read now.
    public func renderMetrics() -> [UInt8] {
        let w = runner.stats.window
        for (name, value) in [("vigil_state_window_entries", w.windowEntries), ("vigil_state_window_keys", w.windowKeys),
                              ("vigil_state_sequence_partials", w.sequencePartials), ("vigil_state_cycle_edges", w.cycleEdges),
                              ("vigil_state_correlation_flags", w.correlationFlags), ("vigil_state_dropped_events", w.droppedByEventCap),
                              ("vigil_state_dropped_keys", w.droppedByKeyCap), ("vigil_state_dropped_late", w.droppedLate)] {
            metrics.gauge(name, [], Int64(value))
        }
        for (tp, lag) in source.lag() {
            metrics.gauge("vigil_consumer_lag", [("topic", tp.topic), ("partition", String(tp.partition))], lag)
        }
        return metrics.render()
    }

    /// The input partitions this instance owns now.
    public var assignment: [TopicPartition] { source.assignment }
    /// Counters of the running pipeline.
    public var stats: PipelineRunner.Stats { runner.stats }
    /// Finish in-flight work and stop (as on SIGTERM).
    public func stop() { runner.stop() }

    /// Commits and leaves the group, then flushes and closes the producer. Idempotent.
    /// The explicit commit comes first, while this member is still in a stable group: once it
    /// starts leaving (or another member does), a broker may refuse commits as "rebalance in
    /// progress", and the last work would be redone after a restart.
    public func close() {
        source.commit()
        source.close()
        sink.close()
    }
}

/// Topic creation for a pipeline: on the embedded broker directly, on a real cluster through the
/// Admin API (only for topics that are missing).
public enum TopicSetup {
    public static func specs(_ topics: VigilConfig.Topics, config: VigilConfig) -> [TopicSpec] {
        topics.all.map { TopicSpec(name: $0, partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor) }
    }

    public static func create(_ specs: [TopicSpec], on broker: EmbeddedBroker) throws(KafkaError) {
        for spec in specs { try broker.createTopic(spec) }
    }

    /// Creates missing topics; a cluster that refuses (no CreateTopics support, no permission)
    /// gets a warning, not a failure, since its operator may create topics another way. A
    /// re-keying topic is created with its input's partitions (``sized(_:rekeyed:existing:)``),
    /// and one that exists with another number is reported.
    public static func ensure(_ topics: VigilConfig.Topics, config: VigilConfig, bootstrap: String, logger: Logger) {
        let specs = specs(topics, config: config), rekeyed = topics.rekeyed
        let admin = KafkaAdmin(config: config.clientConfig(bootstrap: bootstrap), logger: logger)
        do {
            let existing = rekeyed.isEmpty ? [:] : try admin.metadata(timeout: .seconds(15)).topics
            for problem in mismatched(rekeyed, existing: existing) {
                logger.error("\(problem)", metadata: ["effect": "rules and typologies about one account may see its payments on two workers"])
            }
            let created = try admin.ensureTopics(sized(specs, rekeyed: rekeyed, existing: existing), timeout: .seconds(15))
            if !created.isEmpty { logger.info("created topics", metadata: ["topics": "\(created.joined(separator: ","))"]) }
        } catch {
            logger.warning("could not check or create topics; continuing", metadata: ["error": "\(error)"])
        }
    }

    /// `specs` with each re-keying topic given its input's number of partitions when the input
    /// exists (an input created by someone else may have any): the copies of an account's
    /// payments are then on the partition number its own payments are on, and so on one worker.
    public static func sized(_ specs: [TopicSpec], rekeyed: [VigilConfig.Topics.Rekeyed], existing: [String: Int]) -> [TopicSpec] {
        specs.map { spec in
            var s = spec
            if let r = rekeyed.first(where: { $0.topic == spec.name }), let n = existing[r.input] { s.partitions = n }
            return s
        }
    }

    /// The re-keying topics that exist with another number of partitions than their input.
    public static func mismatched(_ rekeyed: [VigilConfig.Topics.Rekeyed], existing: [String: Int]) -> [String] {
        rekeyed.compactMap { r in
            guard let n = existing[r.input], let m = existing[r.topic], n != m else { return nil }
            return "re-keying topic \(r.topic) has \(m) partitions, its input \(r.input) \(n): give it \(n)"
        }
    }
}
