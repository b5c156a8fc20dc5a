import Logging
import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka
import VigilShare

/// Runs a pipeline from a source to a sink with long-lived workers under structured concurrency.
///
/// Shape: one dispatcher reads batches from the source and splits them by partition into
/// bounded per-worker queues; each worker owns the partitions hashed to it (so per-partition and
/// per-key order is kept, and window state for a key lives in one place), processes its share in
/// order and publishes the results without waiting. An input offset is released for commit only
/// when every record it caused is acknowledged by the sink (``OffsetTracker``): at-least-once,
/// with deterministic alert ids so duplicates after a restart can be dropped downstream.
///
/// There is no task per message and no unbounded queue: the source blocks when the dispatcher
/// falls behind, the dispatcher waits when a worker's queue is full.
public final class PipelineRunner: Sendable {
    public struct Options: Sendable {
        public var workers: Int
        public var limits: WindowLimits
        /// Batches queued per worker before the dispatcher waits. Default: 4.
        public var queueDepth: Int = 4
        /// Stop by itself once every listed partition's handled position reaches its offset (the
        /// next offset to read), e.g. the end of a feed just published. Counting by position, not
        /// by messages, stays exact when a rebalance or an outage redelivers messages.
        public var stopAt: [TopicPartition: Int64]?
        /// At shutdown, how long to wait for outstanding acknowledgements. Default: 30 s.
        public var shutdownTimeout: Duration = .seconds(30)
        /// Called when a run of messages is fully handled (its outputs acknowledged), with the
        /// record timestamps (ms) of its messages: for measuring end-to-end latency. Default: nil.
        public var onHandled: (@Sendable ([Int64]) -> Void)?
        /// Called when a run's alerts are acknowledged, with the record timestamp (ms) of the
        /// message that raised each of them (the newest of its evidence on the run's partition:
        /// the message being detected when it fired): the latency the throughput issue defines,
        /// from an event's produce to its alert's acknowledgement. Default: nil.
        public var onAlertsHandled: (@Sendable ([Int64]) -> Void)?
        /// Card-hash key and CSV mapping for native-format inputs. Default: none.
        public var decodeOptions = DecodeOptions()
        /// Where signing and pseudonym keys are read from, for the pipeline in force (keys are
        /// read again on reload, for partners added). Default: nowhere: alerts go unsigned and
        /// partner copies are held.
        public var keysDirectory: String?
        /// The disclosure log. Default: none.
        public var audit: AuditLog?
        /// Where counters and latencies go. Default: none.
        public var metrics: PipelineMetrics?
        /// Alert ids already published per topic: records repeating one are not published again
        /// (after a restart or a rebalance). Default: none (every record is published).
        public var published: PublishedAlerts?
        /// Where the anomaly detectors' learnt state is kept across restarts. Default: nowhere (a
        /// restart starts the baselines again).
        public var state: ScoringState?
        /// Re-key transactions for the window rules that group by another field than their
        /// input's declared key (``VigilConfig/Topics/rekeyed``): the source must deliver those
        /// topics too. Default: off (every rule sees every event, as a replay of one input must).
        public var rekeying = false
        /// With re-keying and ``stopAt``: the re-keying partitions' end offsets, asked once the
        /// inputs reach their targets (every copy of them is acknowledged by then), so that the
        /// run stops only when the copies are handled too. Default: none.
        public var copiesEnd: (@Sendable () -> [TopicPartition: Int64])?

        public init(workers: Int, limits: WindowLimits = WindowLimits(), stopAt: [TopicPartition: Int64]? = nil) {
            self.workers = workers
            self.limits = limits
            self.stopAt = stopAt
        }
    }

    /// Counters, readable while running.
    public struct Stats: Sendable, Equatable {
        public init() {}
        /// Input messages whose effects are acknowledged (offsets released), re-keyed copies
        /// included. A message redelivered after a rebalance or an outage counts each time it is
        /// handled.
        public var completed = 0
        public var alerts = 0
        public var deadLettered = 0
        /// Partner copies published, and copies held because they would break a partner's policy.
        public var shared = 0
        public var held = 0
        /// Records not published because the same alert id was already on their topic.
        public var suppressed = 0
        /// Messages skipped because their partition was reassigned while they waited.
        public var skippedStale = 0
        /// Messages read again only to rebuild window state after a restart or rebalance.
        public var stateReplayed = 0
        /// Parties screened against the watchlists, and payment parties answered from a
        /// worker's memory of earlier answers (`remember:`).
        public var screened = 0
        public var remembered = 0
        /// Window state held now over all workers, and what the state caps dropped.
        public var window = DetectorStats()
    }

    /// The pipeline in force and how many times it was replaced; workers pick a new one up at
    /// their next batch.
    private let current: Locked<(generation: Int, pipeline: PipelineDefinition, keys: SharingKeys)>
    private let topics: VigilConfig.Topics
    private let options: Options
    private let source: any RecordSource
    private let sink: any RecordSink
    private let logger: Logger
    private let onAlert: (@Sendable (Alert) -> Void)?
    private let tracker: OffsetTracker
    /// The position released for commit per partition (the next offset to read), for the
    /// scorers to know which findings can still come again.
    private let committed: Locked<[TopicPartition: Int64]>
    private let counters = Locked(Stats())
    /// With re-keying, each re-keying topic's input. A re-keying topic's partition goes to the
    /// worker of its input's partition of that number, so that a key's transactions from either
    /// meet in one place; its records are copies, not events of their own (not scored again,
    /// not counted as handled events).
    private let rekeyedInputs: [String: String]
    /// Each worker's detector counters, by worker index; summed into ``stats``.
    private let windowStats = Locked([Int: DetectorStats]())

    /// - Parameter onAlert: called once per alert after the sink acknowledged it.
    public init(pipeline: PipelineDefinition, topics: VigilConfig.Topics, options: Options, source: any RecordSource,
                sink: any RecordSink, logger: Logger, onAlert: (@Sendable (Alert) -> Void)? = nil) {
        self.current = Locked((0, pipeline, Self.keys(for: pipeline, options: options, logger: logger)))
        self.topics = topics
        self.options = options
        self.source = source
        self.sink = sink
        self.logger = logger
        self.onAlert = onAlert
        self.rekeyedInputs = options.rekeying ? Dictionary(topics.rekeyed.map { ($0.topic, $0.input) }, uniquingKeysWith: { a, _ in a }) : [:]
        // The offsets still to reach before stopping by itself, and whether the copies' have
        // been asked for (then they are among them).
        let remaining = Locked((targets: options.stopAt ?? [:], extended: false))
        let stopping = options.stopAt != nil
        let committed = Locked([TopicPartition: Int64]())
        self.committed = committed
        let copiesEnd = options.rekeying && !topics.rekeyed.isEmpty ? options.copiesEnd : nil
        /// A target no position reaches: holds the stop while the copies' ends are asked for.
        let asking = TopicPartition("", -1)
        self.tracker = OffsetTracker(store: { [source] released in
            source.store(released)
            committed.withLock { $0.merge(released) { max($0, $1) } }
            guard stopping else { return }
            enum Next { case wait, stop, askForCopies }
            let next = remaining.withLock { r -> Next in
                for (tp, offset) in released where (r.targets[tp] ?? .max) <= offset { r.targets[tp] = nil }
                guard r.targets.isEmpty else { return .wait }
                guard copiesEnd != nil, !r.extended else { return .stop }
                r.extended = true
                r.targets[asking] = .max
                return .askForCopies
            }
            switch next {
            case .wait: return
            case .stop: source.stop()
            case .askForCopies:
                // Off this callback (a round trip to the cluster); positions released meanwhile
                // are in `committed`.
                Task.detached {
                    let ends = copiesEnd!()
                    let done = remaining.withLock { r -> Bool in
                        let positions = committed.value
                        r.targets = ends.filter { (positions[$0.key] ?? 0) < $0.value }
                        return r.targets.isEmpty
                    }
                    if done { source.stop() }
                }
            }
        })
    }

    public var stats: Stats {
        var s = counters.value
        // Counted by the tracker under the lock that also counts what is in flight: once it is
        // idle, this includes every acknowledged message (a total reported to a callback after
        // the lock was released could still be on its way when the pipeline stopped).
        s.completed = tracker.completedMessages
        s.window = windowStats.value.values.reduce(DetectorStats(), +)
        return s
    }

    /// Asks the pipeline to finish: no new input; in-flight work completes and is acknowledged.
    public func stop() { source.stop() }

    /// Processes until the source ends (or ``stop()``), then waits for every acknowledgement.
    ///
    /// - Throws: the first publishing failure. Offsets never move past unacknowledged work, so
    ///   after a restart that work is done again.
    public func run() async throws {
        let tracker = self.tracker
        if options.stopAt?.isEmpty == true { source.stop() }
        source.onGenerationChange { tracker.reset(generation: $0) }
        tracker.reset(generation: source.generation)
        logger.info("pipeline started", metadata: [
            "pipeline": "\(pipeline.name)@\(pipeline.version)", "workers": "\(options.workers)",
            "input": "\(topics.transactions)", "alerts": "\(topics.alerts)", "dead-letter": "\(topics.deadLetter)",
        ].merging(options.rekeying && !topics.rekeyed.isEmpty ? ["re-keying": "\(topics.rekeyed.map(\.topic).joined(separator: ","))"] : [:]) { a, _ in a })
        // Cycles and correlations join events of different keys (a cycle's legs, a transaction
        // and a booking), and each worker keeps its own state: with several workers, events that
        // belong together can land on different ones and never meet.
        let joining = pipeline.rules.definitions.filter { $0.kind == .cycle || $0.kind == .correlation }.map(\.id)
        if options.workers > 1, !joining.isEmpty {
            logger.warning("rules that join events across keys see only their own worker's share with several workers",
                           metadata: ["rules": "\(joining.joined(separator: ","))", "workers": "\(options.workers)",
                                      "hint": "set runtime.workers: 1 (VIGIL_WORKERS=1) for these pipelines"])
        }
        // Window rules grouped by different fields: the input can be keyed by one of them only.
        // Without a declared key (nothing to re-key by), those grouped by another field see only
        // their worker's share with several workers, and their instance's with several instances.
        let groupings = Set(pipeline.rules.definitions.filter { $0.kind == .window }.map { ($0.key ?? [$0.subject])[0] })
        if options.workers > 1, groupings.count > 1, !(options.rekeying && topics.effectiveInputs.contains { $0.key != nil }) {
            logger.warning("window rules group by several fields, and the input is keyed by one at most: rules grouped by another see only their worker's share",
                           metadata: ["fields": "\(groupings.sorted().joined(separator: ","))",
                                      "hint": "declare the field the input is keyed by (inputs: - { topic: …, format: …, key: debtor.account }) to re-key the others"])
        }
        let workers = options.workers
        // Four stages per worker, so decoding a batch, screening and scoring anomalies in the one
        // before it, running the rules and typologies on the one before that and signing and
        // publishing the alerts of the one before that overlap.
        let queues = (0..<workers).map { _ in AsyncBoundedQueue<ConsumerBatch>(capacity: options.queueDepth) }
        let decodedQueues = (0..<workers).map { _ in AsyncBoundedQueue<DecodedBatch>(capacity: options.queueDepth) }
        let scoredQueues = (0..<workers).map { _ in AsyncBoundedQueue<ScoredBatch>(capacity: options.queueDepth) }
        let detectedQueues = (0..<workers).map { _ in AsyncBoundedQueue<DetectedBatch>(capacity: options.queueDepth) }
        let decoding = InputDecoding(topics: topics, options: options.decodeOptions)
        let rekeyedInputs = self.rekeyedInputs
        // Each scoring stage's state when its input ended, to be kept if the stop is clean.
        let finalState = Locked([Int: [TopicPartition: [UInt8]]]())
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<workers {
                group.addTask { await self.decode(queues[index], into: decodedQueues[index], decoding) }
                group.addTask { await self.score(decodedQueues[index], into: scoredQueues[index], index: index, finalState: finalState) }
                group.addTask { await self.work(scoredQueues[index], into: detectedQueues[index], index: index) }
                group.addTask { await self.publish(detectedQueues[index]) }
            }
            while let batch = await source.nextBatch() {
                if tracker.failure != nil { source.stop(); continue }
                if workers == 1 {
                    await queues[0].send(batch)
                    continue
                }
                var shares = [[ConsumedMessage]](repeating: [], count: workers)
                for m in batch.messages {
                    let topic = rekeyedInputs.isEmpty ? m.topic : rekeyedInputs[m.topic] ?? m.topic
                    shares[Self.shard(topic, m.partition, workers)].append(m)
                }
                for (w, share) in shares.enumerated() where !share.isEmpty {
                    await queues[w].send(ConsumerBatch(generation: batch.generation, messages: share))
                }
            }
            queues.forEach { $0.finish() }
        }
        let idle = await tracker.waitUntilIdle(timeout: options.shutdownTimeout)
        if !idle {
            logger.error("stopping with unacknowledged output; its input will be processed again after a restart",
                         metadata: ["in-flight-runs": "\(tracker.inFlight)"])
        }
        if let state = options.state {
            // Only a clean stop is kept: with output unacknowledged, the last checkpoint stands
            // and what came after it is re-read at the next start.
            if idle, tracker.failure == nil {
                await state.finish(finalState.value)
            } else {
                logger.warning("scoring state not kept: the stop was not clean; the next start goes on from the last checkpoint",
                               metadata: ["directory": "\(state.store.directory)"])
            }
        }
        let s = stats
        logger.info("pipeline stopped", metadata: [
            "completed": "\(s.completed)", "alerts": "\(s.alerts)", "dead-lettered": "\(s.deadLettered)",
        ])
        if let failure = tracker.failure { throw failure }
    }

    /// A batch with its messages decoded, in the same order.
    struct DecodedBatch: Sendable {
        var batch: ConsumerBatch
        var decoded: [DecodedMessage]
        /// When decoding began: where the processing latency is measured from.
        var started: ContinuousClock.Instant
    }

    /// A decoded batch with what screening and anomaly scoring found in each message.
    struct ScoredBatch: Sendable {
        var decoded: DecodedBatch
        var scored: [MessageScores]
        /// The pipeline that scored it: detection switches to it at this batch, so a reload
        /// takes effect for both at the same message.
        var pipeline: (generation: Int, pipeline: PipelineDefinition, keys: SharingKeys)
    }

    /// A run of one partition's messages after detection: its place in the offset order, and
    /// what it is to publish.
    struct DetectedRun: Sendable {
        var ticket: OffsetTracker.Ticket
        var pending: [PendingOutput]
        /// The offset of the run's first message, for logs (its topic and partition are the
        /// ticket's).
        var offset: Int64
        /// Produce timestamps of the run's messages, for ``Options/onHandled``.
        var stamps: [Int64]
        /// Produce timestamps of the messages that raised its alerts, for ``Options/onAlertsHandled``.
        var alertStamps: [Int64] = []
        var started: ContinuousClock.Instant
    }

    /// The runs of one batch that have something to publish, with the sealer of the pipeline
    /// that detected them (a reload may change keys and partners between batches).
    struct DetectedBatch: Sendable {
        var sealer: OutputSealer
        var runs: [DetectedRun]
    }

    /// A worker's decoding stage. Decoding is pure, so it runs ahead of detection (which must
    /// stay in order) and needs no pipeline: the inputs and their formats never change on reload.
    private func decode(_ queue: AsyncBoundedQueue<ConsumerBatch>, into decoded: AsyncBoundedQueue<DecodedBatch>, _ decoding: InputDecoding) async {
        while let batch = await queue.receive() {
            let started = ContinuousClock.now
            // A stale batch is skipped by the worker; it need not be decoded.
            let results = batch.generation == source.generation ? await Self.decode(batch.messages[...], decoding) : []
            await decoded.send(DecodedBatch(batch: batch, decoded: results, started: started))
        }
        decoded.finish()
    }

    /// A worker's scoring stage, between decoding and the rules. Screening and anomaly scoring
    /// (``Scorers``) need nothing from the rules, so they run here, in order, while the rules
    /// work on the batch before: with every detector on, they were two fifths of the one
    /// detection stage that was the pipeline's bottleneck.
    ///
    /// A batch whose partitions were reassigned after it was scored is skipped by the rules and
    /// delivered again later; the scorers recognise it then and give it the scores it got (see
    /// ``Scorers``, Redelivery), so what it raises is what it would have raised.
    private func score(_ queue: AsyncBoundedQueue<DecodedBatch>, into scored: AsyncBoundedQueue<ScoredBatch>, index: Int,
                       finalState: Locked<[Int: [TopicPartition: [UInt8]]]>) async {
        defer { scored.finish() }
        var inForce = current.value
        // Findings kept for redeliveries: the batches between here and the rules' check, and more.
        let recentBatches = 2 * options.queueDepth + 4
        let committed = self.committed
        let position: @Sendable (TopicPartition) -> Int64? = { tp in committed.withLock { $0[tp] } }
        let state = options.state
        // A partition's snapshot is restored at its first record, on whichever worker has it.
        let restoring: ((Scorers, TopicPartition) -> Void)? = state.map { state in { state.restore($0, $1) } }
        // Re-keyed copies were screened and scored as the input records they copy.
        let copies = Set(rekeyedInputs.keys)
        var scorers = Scorers(pipeline: inForce.pipeline, limits: options.limits, recentBatches: recentBatches, carryingOver: nil,
                              committedPosition: position, restoring: restoring, skipping: copies)
        var checkpointed = ContinuousClock.now
        // The screenings counted into the metrics so far, of the scorers in force.
        var counted = (screened: 0, remembered: 0)
        defer {
            do {
                if state != nil {
                    let snapshots = try scorers.snapshots()
                    finalState.withLock { $0[index] = snapshots }
                }
            } catch {
                logger.error("scoring state not kept", metadata: ["worker": "\(index + 1)", "reason": "\(error)"])
            }
        }
        while let next = await queue.receive() {
            // A batch boundary: the place to switch to a reloaded pipeline.
            if current.value.generation != inForce.generation {
                inForce = current.value
                scorers = Scorers(pipeline: inForce.pipeline, limits: options.limits, recentBatches: recentBatches, carryingOver: scorers,
                                  committedPosition: position, restoring: restoring, skipping: copies)
                counted = (0, 0)
            }
            let messages = next.batch.messages[...], decoded = next.decoded[...]
            // Nothing for a stale batch (nothing was decoded).
            let scores = decoded.count != messages.count ? [] : scorers.scores(messages, decoded: decoded)
            let now = scorers.screenings
            let added = (screened: now.screened - counted.screened, remembered: now.remembered - counted.remembered)
            counted = now
            if added.screened + added.remembered > 0 {
                counters.withLock { $0.screened += added.screened; $0.remembered += added.remembered }
                options.metrics?.count("vigil_screenings_total", [("answer", "screened")], by: added.screened)
                options.metrics?.count("vigil_screenings_total", [("answer", "remembered")], by: added.remembered)
            }
            if let state {
                state.learnt(through: scorers.scoredOffsets)
                // A checkpoint at a batch boundary: the state is whole there.
                if let interval = state.checkpointInterval, ContinuousClock.now - checkpointed >= interval {
                    checkpointed = .now
                    do {
                        try state.checkpoint(worker: index) { () throws(StateError) in try scorers.snapshots() }
                    } catch {
                        logger.error("scoring checkpoint not taken", metadata: ["worker": "\(index + 1)", "reason": "\(error)"])
                    }
                }
            }
            await scored.send(ScoredBatch(decoded: next, scored: scores, pipeline: inForce))
        }
    }

    /// Decodes messages, in two halves on two tasks when there are enough to pay for the hand-off.
    static func decode(_ messages: ArraySlice<ConsumedMessage>, _ decoding: InputDecoding) async -> [DecodedMessage] {
        guard messages.count >= 128 else { return decodeEach(messages, decoding) }
        let middle = messages.startIndex + messages.count / 2
        async let firstHalf = decodeEach(messages[..<middle], decoding)
        var results = decodeEach(messages[middle...], decoding)
        results.insert(contentsOf: await firstHalf, at: 0)
        return results
    }

    /// Passing a message from the batch copied it whole (a retain of its topic, key, value and
    /// headers, and a release of each after), however it was passed: from an array the compiler
    /// cannot prove nobody changes it during the call. Canonical JSON needs only the value. A
    /// topic's format is looked up when the topic changes (a batch is mostly one partition's),
    /// not by hashing its name for every message.
    private static func decodeEach(_ messages: ArraySlice<ConsumedMessage>, _ decoding: InputDecoding) -> [DecodedMessage] {
        var results: [DecodedMessage] = []
        results.reserveCapacity(messages.count)
        messages.withUnsafeBufferPointer { buffer in
            var last: (topic: String, format: FeedFormat)?
            for i in buffer.indices {
                let topic = buffer[i].topic
                if topic != last?.topic { last = (topic, decoding.format(of: topic)) }
                let format = last!.format
                results.append(format == .json ? InputDecoding.json(buffer[i].value) : decoding.decode(buffer[i], as: format))
            }
        }
        return results
    }

    /// Counts what a run published, once the sink acknowledged it.
    static func record(_ outputs: [EngineOutput], from input: String, in metrics: PipelineMetrics) {
        var perTopic: [String: Int] = [:]
        for o in outputs {
            perTopic[o.record.topic, default: 0] += 1
            switch o.kind {
            case .alert(let a): metrics.count("vigil_alerts_total", [("finding", a.findings.first?.id ?? "")])
            case .shared(let d): metrics.count("vigil_partner_copies_total", [("partner", d.alert.partner), ("outcome", "shared")])
            case .held(let partner, _): metrics.count("vigil_partner_copies_total", [("partner", partner), ("outcome", "held")])
            case .deadLetter: metrics.count("vigil_dead_lettered_total", [("topic", input)])
            case .forwarded: break
            }
        }
        for (topic, n) in perTopic { metrics.count("vigil_records_out_total", [("topic", topic)], by: n) }
    }

    /// Partition → worker: stable, so a partition's messages (and keys) always meet the same worker.
    static func shard(_ topic: String, _ partition: Int32, _ workers: Int) -> Int {
        let h = FNV1a.step(FNV1a.hash(topic.utf8), UInt64(UInt32(bitPattern: partition)))
        return Int(h % UInt64(workers))
    }

    /// Per partition, the position released for commit (the next offset to read).
    public var releasedPositions: [TopicPartition: Int64] { committed.value }

    /// The pipeline in force.
    public var pipeline: PipelineDefinition { current.value.pipeline }

    /// The id of the key alerts are signed with from the next batch on (nil: unsigned).
    public var signingKeyID: String? { current.value.keys.signer?.keyID }

    /// Hot reload: every worker switches to `pipeline` at its next batch, keeping the state of
    /// the rules and typologies it leaves unchanged. Its inputs and topics must be the ones this
    /// runner reads and writes (a change of those needs a restart).
    /// - Throws: ``ConfigError`` naming what differs, and the running pipeline stays.
    public func reload(_ pipeline: PipelineDefinition, topics newTopics: VigilConfig.Topics) throws(ConfigError) {
        guard newTopics == topics else {
            throw ConfigError(file: pipeline.file, message: "the new pipeline reads or writes other topics (inputs \(newTopics.effectiveInputs.map(\.topic)), re-keying \(newTopics.rekeyed.map(\.topic)), alerts \(newTopics.alerts), partners \(newTopics.partners)); that needs a restart")
        }
        let keys = Self.keys(for: pipeline, options: options, logger: logger)
        current.withLock { $0 = ($0.generation + 1, pipeline, keys) }
        logger.info("pipeline reloaded; workers switch at their next batch", metadata: ["pipeline": "\(pipeline.name)@\(pipeline.version)"])
    }

    /// The keys `pipeline` needs; what is missing is logged once (its partners' copies are held).
    private static func keys(for pipeline: PipelineDefinition, options: Options, logger: Logger) -> SharingKeys {
        let keys = SharingKeys.load(directory: options.keysDirectory, partners: pipeline.partners)
        let problems = pipeline.partners.isEmpty ? keys.problems.filter { !$0.hasPrefix("no signing key") } : keys.problems
        for problem in problems {
            logger.error("\(problem)", metadata: ["effect": .string(pipeline.partners.isEmpty ? "alerts are not signed" : "partner copies are held")])
        }
        return keys
    }

    /// A worker's detection stage: in order, one batch at a time. Each run is registered with
    /// the offset tracker here, in offset order; what it is to publish goes on to the
    /// publishing stage, and a run with nothing to publish is done at once.
    private func work(_ queue: AsyncBoundedQueue<ScoredBatch>, into detected: AsyncBoundedQueue<DetectedBatch>, index: Int) async {
        defer { detected.finish() }
        var (generation, pipeline, keys) = current.value
        var engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: options.limits, decodeOptions: options.decodeOptions, keys: keys,
                                    scoresAhead: true, rekeying: options.rekeying)
        defer { windowStats.withLock { [engine] in $0[index] = engine.stats } }
        while let scored = await queue.receive() {
            let next = scored.decoded, batch = next.batch
            // The pipeline the batch was scored with (the scoring stage switches first).
            if scored.pipeline.generation != generation {
                (generation, pipeline, keys) = scored.pipeline
                engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: options.limits, decodeOptions: options.decodeOptions, keys: keys,
                                        scoresAhead: true, rekeying: options.rekeying, carryingOver: engine)
            }
            defer { windowStats.withLock { [engine] in $0[index] = engine.stats } }
            if batch.generation != source.generation || next.decoded.count != batch.messages.count {
                counters.withLock { $0.skippedStale += batch.messages.count }
                continue
            }
            var runs: [DetectedRun] = []
            let messages = batch.messages
            for r in messages[...].partitionRuns {
                if let run = detect(messages[r], decoded: next.decoded[r], scored: scored.scored[r],
                                    started: next.started, generation: batch.generation, engine: engine) {
                    runs.append(run)
                }
            }
            if !runs.isEmpty { await detected.send(DetectedBatch(sealer: engine.sealer, runs: runs)) }
        }
    }

    /// Detection on one run; what it is to publish, or nil when it was done here.
    private func detect(_ messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>, scored: ArraySlice<MessageScores>,
                        started: ContinuousClock.Instant, generation: Int, engine: PipelineEngine) -> DetectedRun? {
        // Records read again to rebuild state (they precede the committed offset, so they come
        // first in a run) update the detectors; what they would publish was published before.
        var start = messages.startIndex
        while start < messages.endIndex, messages[start].isStateReplay { start += 1 }
        _ = engine.detect(messages[..<start], decoded: decoded[..<start], scored: scored[..<start])
        if start > messages.startIndex { counters.withLock { $0.stateReplayed += start - messages.startIndex } }
        let run = messages[start...]
        guard let first = run.first else { return nil }
        let metrics = options.metrics
        if let metrics {
            let topic = [("topic", first.topic)]
            metrics.count("vigil_events_in_total", topic, by: run.count)
            metrics.count("vigil_state_replayed_total", topic, by: start - messages.startIndex)
            metrics.count("vigil_decode_errors_total", topic, by: decoded[start...].reduce(0) {
                if case .failure = $1 { return $0 + 1 } else { return $0 }
            })
        }
        // Registered before detection changes any state: a run the tracker refuses (its
        // partition was reassigned since) is left as it is, to be detected when it comes back,
        // rather than counted in the windows with its alerts dropped — a window does not count a
        // redelivered record again, so they would never be raised.
        guard let ticket = tracker.begin(TopicPartition(first.topic, first.partition), lastOffset: run.last!.offset,
                                         count: run.count, generation: generation) else {
            counters.withLock { $0.skippedStale += run.count }
            return nil
        }
        var quiet = 0
        let pending = engine.detect(run, decoded: decoded[start...], scored: scored[start...], quietPrefix: &quiet)
        // Produce timestamps for ``Options/onHandled`` (a re-keyed copy is not an event of its own).
        let measuring = options.onHandled != nil && rekeyedInputs[first.topic] == nil
        func stamps(_ part: ArraySlice<ConsumedMessage>) -> [Int64] { measuring ? part.compactMap(\.timestampMilliseconds) : [] }
        guard !pending.isEmpty else {
            complete(DetectedRun(ticket: ticket, pending: [], offset: first.offset, stamps: stamps(run), started: started))
            return nil
        }
        // The messages before the first that caused output are done now; the rest wait for
        // its acknowledgement (the offsets after it cannot be committed before it is).
        let waiting = run[(run.startIndex + quiet)...]
        if quiet > 0 {
            tracker.completeLeading(ticket, count: quiet, lastOffset: run[waiting.startIndex - 1].offset)
            if measuring { options.onHandled?(stamps(run[..<waiting.startIndex])) }
        }
        return DetectedRun(ticket: ticket, pending: pending, offset: waiting.first!.offset, stamps: stamps(waiting),
                           alertStamps: options.onAlertsHandled == nil ? [] : Self.raisedAt(pending, in: waiting), started: started)
    }

    /// The record timestamp of the message that raised each alert of `pending`: the newest of
    /// its evidence on the run's partition (a window cites older events too, a typology the
    /// findings of several). Alerts that cite none of the run's messages (a re-keyed copy cites
    /// the input record it copies) are left out.
    static func raisedAt(_ pending: [PendingOutput], in run: ArraySlice<ConsumedMessage>) -> [Int64] {
        guard let first = run.first else { return [] }
        return pending.compactMap { p -> Int64? in
            guard case .alert(let alert) = p,
                  let offset = alert.evidence.lazy.filter({ $0.partition == first.partition && $0.topic == first.topic }).map(\.offset).max(),
                  let i = run.firstIndex(where: { $0.offset == offset }) else { return nil }
            return run[i].timestampMilliseconds
        }
    }

    /// A run all of whose output is acknowledged (or that had none).
    private func complete(_ run: DetectedRun) {
        options.onHandled?(run.stamps)
        options.metrics?.processed(in: ContinuousClock.now - run.started)
        tracker.complete(run.ticket)
    }

    /// A worker's publishing stage: signs and serialises each run's alerts, drops those already
    /// published, and hands the records to the sink, in the order detection made them.
    private func publish(_ queue: AsyncBoundedQueue<DetectedBatch>) async {
        while let batch = await queue.receive() {
            for run in batch.runs { await publish(run, batch.sealer.seal(run.pending)) }
        }
    }

    private func publish(_ detected: DetectedRun, _ sealed: [EngineOutput]) async {
        // What the acknowledgement needs, without the unsealed alerts.
        let run = { var r = detected; r.pending = []; return r }()
        var outputs = sealed
        let published = options.published
        if let published, !outputs.isEmpty {
            let before = outputs.count
            outputs.removeAll { o in
                o.alertID.map { published.contains(topic: o.record.topic, id: $0) } ?? false
            }
            if outputs.count < before {
                counters.withLock { $0.suppressed += before - outputs.count }
                options.metrics?.count("vigil_duplicates_suppressed_total", by: before - outputs.count)
            }
        }
        guard !outputs.isEmpty else { return complete(run) }
        let alerts = outputs.compactMap(\.alert)
        var disclosures: [DisclosureRecord] = []
        var deadLettered = 0, held = 0
        for o in outputs {
            switch o.kind {
            case .alert, .forwarded: break
            case .shared(let d): disclosures.append(d)
            case .held: held += 1
            case .deadLetter: deadLettered += 1
            }
        }
        let tracker = self.tracker, counters = self.counters, onAlert = self.onAlert, logger = self.logger, audit = options.audit
        let metrics = options.metrics, onHandled = options.onHandled, onAlertsHandled = options.onAlertsHandled
        await sink.publish(outputs.map(\.record)) { [disclosures, deadLettered, held, outputs] error in
            if let error {
                logger.error("publishing failed; offsets stay before this input", metadata: [
                    "error": "\(error)", "partition": "\(run.ticket.partition)", "offset": "\(run.offset)",
                ])
                tracker.fail(run.ticket, error)
                return
            }
            // A disclosure is recorded before its input counts as handled: after a crash in
            // between, the input is processed again and the disclosure recorded then.
            do { try audit?.append(disclosures) } catch {
                logger.error("the audit log cannot be written; offsets stay before this input", metadata: ["error": "\(error)"])
                tracker.fail(run.ticket, error)
                return
            }
            counters.withLock {
                $0.alerts += alerts.count
                $0.deadLettered += deadLettered
                $0.shared += disclosures.count
                $0.held += held
            }
            if let metrics { Self.record(outputs, from: run.ticket.partition.topic, in: metrics) }
            if let published {
                for o in outputs { if let id = o.alertID { published.insert(topic: o.record.topic, id: id) } }
            }
            metrics?.processed(in: ContinuousClock.now - run.started)
            if let onAlert { alerts.forEach(onAlert) }
            onHandled?(run.stamps)
            if !run.alertStamps.isEmpty { onAlertsHandled?(run.alertStamps) }
            tracker.complete(run.ticket)
        }
    }
}
