import CRdKafka
import Foundation
import Logging
import Synchronization

/// Messages polled together, stamped with the assignment generation they were fetched under.
public struct ConsumerBatch: Sendable {
    /// Increases on every rebalance. Work from an older generation must not store offsets: its
    /// partitions may belong to another consumer now, and will be redelivered from the last commit.
    public var generation: Int
    public var messages: [ConsumedMessage]

    public init(generation: Int, messages: [ConsumedMessage]) {
        self.generation = generation
        self.messages = messages
    }
}

/// A change of the partitions this consumer owns, reported on the poll thread.
public enum RebalanceEvent: Sendable, Equatable {
    /// These partitions now belong to this consumer, from `generation` on.
    case assigned([TopicPartition], generation: Int)
    /// These partitions are being taken away. The listener must store the offsets of completed
    /// work now, synchronously: the consumer commits right after it returns, then lets go.
    case revoked([TopicPartition])
}

/// Offsets for ``KafkaConsumerConfig/assignment``.
public enum KafkaOffset {
    /// The oldest record the partition retains.
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// The next record to be written (only new records).
    public static let end = Int64(RD_KAFKA_OFFSET_END)
}

/// A consumer-group member that polls librdkafka in batches on a dedicated thread.
///
/// Offsets are never stored automatically (`enable.auto.offset.store=false`): the application
/// calls ``store(_:)`` once a message's effects are acknowledged. Stored offsets are committed every
/// ``KafkaConsumerConfig/commitIntervalMilliseconds``, on revocation and on ``close()``.
public final class KafkaConsumer: Sendable {
    // The context must outlive the handle: the rebalance and log callbacks reach it through the opaque.
    private let context: RDClientContext
    private let rk: RDHandle
    private let channel: BatchChannel<ConsumerBatch>
    private let polling = Flag(true)
    private let pollThreadDone = DispatchSemaphore(value: 0)
    private let shared = Mutex(Shared())
    private let listener: (@Sendable (RebalanceEvent) -> Void)?

    private struct Shared {
        var generation = 0
        var assignment: [TopicPartition] = []
        var closed = false
        /// Per partition being rewound: the committed offset where state replay ends.
        var replayEnds: [TopicPartition: Int64] = [:]
        /// The offsets last stored (next to read) in this assignment: for lag, and so a store
        /// never moves a partition back.
        var stored: [TopicPartition: Int64] = [:]
    }
    private let stateRewind: Duration?
    private let stateReplayFrom: (@Sendable (TopicPartition) -> Int64?)?
    /// Whether assigned partitions may be re-read to rebuild state.
    private var rewinds: Bool { stateRewind != nil || stateReplayFrom != nil }

    /// Joins `config.groupID` and subscribes to `config.topics`; polling starts at once.
    ///
    /// - Parameter onRebalance: called on the poll thread for every assignment change.
    public init(
        config: KafkaConsumerConfig,
        logger: Logger,
        onRebalance: (@Sendable (RebalanceEvent) -> Void)? = nil
    ) throws(KafkaError) {
        guard !config.topics.isEmpty || config.assignment?.isEmpty == false else {
            throw KafkaError.invalidArgument("consumer has no topics to subscribe to")
        }
        var logger = logger
        logger[metadataKey: "kafka.client.type"] = "consumer"
        logger[metadataKey: "kafka.group.id"] = "\(config.groupID)"
        self.context = RDClientContext(logger: logger)
        self.listener = onRebalance
        self.stateRewind = config.stateRewind
        self.stateReplayFrom = config.stateReplayFrom
        self.channel = BatchChannel(capacity: config.bufferedBatches)
        let conf = try RDClient.makeConf(config.librdkafkaProperties, context: context)
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        let handle = try RDClient.makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        self.rk = RDHandle(pointer: handle)
        rd_kafka_poll_set_consumer(handle)

        if let assignment = config.assignment {
            let entries = assignment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let err = RDClient.withPartitionList(entries) { rd_kafka_assign(handle, $0) }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_destroy(handle)
                throw KafkaError.from(err, "assign \(entries.count) partitions")
            }
            shared.withLock { $0.assignment = entries.map(\.0) }
        } else {
            let err = RDClient.withPartitionList(config.topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), 0) }) {
                rd_kafka_subscribe(handle, $0)
            }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_destroy(handle)
                throw KafkaError.from(err, "subscribe to \(config.topics.joined(separator: ","))")
            }
        }
        context.rebalance = { [weak self] rk, err, partitions in
            self?.rebalance(rk, err, partitions)
        }
        let maxBatch = config.maxBatchSize
        let thread = Thread { [self] in
            self.pollLoop(maxBatch: maxBatch)
        }
        thread.name = "vigil-kafka-consumer"
        thread.start()
    }

    /// The next batch in arrival order; `nil` after ``stopFetching()`` or ``close()`` once the
    /// buffer is drained, or when the calling task is cancelled. Single consumer.
    public func nextBatch() async -> ConsumerBatch? {
        await channel.receive()
    }

    /// The assignment generation now (see ``ConsumerBatch/generation``).
    public var generation: Int { shared.withLock { $0.generation } }

    /// The partitions assigned to this consumer now.
    public var assignment: [TopicPartition] { shared.withLock { $0.assignment } }

    /// Stores offsets for the next commit. Each offset is the *next* one to read (last done + 1).
    /// Partitions no longer assigned are skipped (their new owner re-reads from the last commit).
    ///
    /// Only offsets that move a partition forward are stored, and in the order they were decided:
    /// work completes on several threads (a run with no output on the worker, a published one on
    /// the producer's delivery thread), and a lower offset stored after a higher one would move
    /// the next commit back.
    public func store(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty, !isClosed else { return }
        let err = shared.withLock { s -> rd_kafka_resp_err_t in
            var entries: [(TopicPartition, Int64)] = []
            for (tp, o) in offsets.sorted(by: { $0.key < $1.key }) where s.stored[tp].map({ o > $0 }) ?? true {
                s.stored[tp] = o
                entries.append((tp, o))
            }
            guard !entries.isEmpty else { return RD_KAFKA_RESP_ERR_NO_ERROR }
            return RDClient.withPartitionList(entries) { rd_kafka_offsets_store(rk.pointer, $0) }
        }
        // __STATE: a partition was revoked meanwhile; expected during rebalances.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__STATE {
            context.logger.warning("storing offsets failed: \(String(cString: rd_kafka_err2str(err)))")
        }
    }

    /// Per assigned partition: records not yet handled — the high watermark librdkafka last saw
    /// in a fetch (no broker round trip) minus the offset stored as handled (or, before any,
    /// the fetch position). Partitions whose watermark is not known yet are left out.
    public func lag() -> [TopicPartition: Int64] {
        guard !isClosed else { return [:] }
        let (assigned, stored) = shared.withLock { ($0.assignment, $0.stored) }
        var out: [TopicPartition: Int64] = [:]
        for tp in assigned {
            var low: Int64 = 0, high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(rk.pointer, tp.topic, tp.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  high >= 0 else { continue }
            let position = stored[tp] ?? RDClient.withPartitionList([(tp, 0)]) { list -> Int64? in
                guard rd_kafka_position(rk.pointer, list) == RD_KAFKA_RESP_ERR_NO_ERROR, list.pointee.cnt == 1 else { return nil }
                let offset = list.pointee.elems[0].offset
                return offset >= 0 ? offset : nil
            }
            out[tp] = max(0, high - (position ?? low))
        }
        return out
    }

    /// Whether a broker answers a metadata request within `timeout` (for readiness probes).
    /// Blocks the caller for at most `timeout`.
    public func brokerAnswers(timeout: Duration = .seconds(1)) -> Bool {
        guard !isClosed else { return false }
        var raw: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk.pointer, 0, nil, &raw, Int32(timeout.milliseconds))
        if let raw { rd_kafka_metadata_destroy(raw) }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Commits the stored offsets now and waits for the broker's answer.
    public func commit() throws(KafkaError) {
        guard !isClosed else { throw KafkaError.shuttingDown("commit offsets") }
        let err = rd_kafka_commit(rk.pointer, nil, 0)
        // _NO_OFFSET: nothing stored since the last commit.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError.from(err, "commit offsets")
        }
    }

    /// The group's committed offsets (next offset to read; `nil` when none is committed).
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64?] {
        guard !isClosed else { throw KafkaError.shuttingDown("read committed offsets") }
        let found = try RDClient.committed(rk.pointer, partitions, timeout: timeout)
        var out: [TopicPartition: Int64?] = [:]
        for tp in partitions { out[tp] = .some(found[tp]) }
        return out
    }

    private var isClosed: Bool { shared.withLock { $0.closed } }

    /// Stops fetching: the poll thread exits and ``nextBatch()`` ends once the buffer is drained.
    /// The group membership and assignment stay until ``close()`` so offsets can still be stored.
    public func stopFetching() {
        polling.set(false)
        channel.finish()
    }

    /// Stops fetching, commits stored offsets, leaves the group and destroys the handle.
    /// Safe to call more than once.
    public func close() {
        let first = shared.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        stopFetching()
        pollThreadDone.wait()
        // consumer_close serves the final revoke (the listener stores, we commit) and leaves the group.
        let err = rd_kafka_consumer_close(rk.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("consumer close: \(String(cString: rd_kafka_err2str(err)))")
        }
        context.rebalance = nil
        rd_kafka_destroy(rk.pointer)
    }

    // MARK: Poll thread

    private func pollLoop(maxBatch: Int) {
        defer { pollThreadDone.signal() }
        while polling.value {
            guard let first = rd_kafka_consumer_poll(rk.pointer, 100) else { continue }
            // Topic names of this batch's own: the messages share a heap string (one of 16 bytes
            // or more), whose reference count every copy and release of a message changes. Shared
            // by every batch, that count was changed by this thread and the workers' at once.
            var topics = TopicNames()
            // A rebalance is served inside a poll call, before it returns a message, so a message
            // belongs to the generation current right after the poll that returned it.
            var batchGeneration = generation
            var messages: [ConsumedMessage] = []
            messages.reserveCapacity(64)
            take(first, into: &messages, topics: &topics)
            while messages.count < maxBatch, let next = rd_kafka_consumer_poll(rk.pointer, 0) {
                let now = generation
                if now != batchGeneration {
                    if !messages.isEmpty { channel.send(ConsumerBatch(generation: batchGeneration, messages: messages)) }
                    messages = []
                    batchGeneration = now
                }
                take(next, into: &messages, topics: &topics)
            }
            guard !messages.isEmpty else { continue }
            channel.send(ConsumerBatch(generation: batchGeneration, messages: messages))
        }
    }

    /// Moves the start of each partition in `list` back to the first record produced within
    /// `span` before now, and to the offset `from` gives it, whichever is earlier, when that is
    /// before its committed offset. Returns the committed offsets where state replay ends. Runs
    /// inside the rebalance callback, on the poll thread.
    private func rewind(_ handle: OpaquePointer, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
                        by span: Duration?, from: (@Sendable (TopicPartition) -> Int64?)?) -> [TopicPartition: Int64] {
        let assigned = RDClient.partitions(list).map(\.0)
        let committed: [TopicPartition: Int64]
        var starts: [TopicPartition: Int64] = [:]
        do {
            committed = try RDClient.committed(handle, assigned, timeout: .seconds(10))
            guard !committed.isEmpty else { return [:] }
            if let span {
                let since = Int64(Date().timeIntervalSince1970 * 1000) - Int64(span.milliseconds)
                // A broker without timestamp lookup gets the partition re-read from its oldest
                // record instead: more work, same state.
                if let found = try RDClient.offsets(handle, assigned, atOrAfter: since, timeout: .seconds(10)) {
                    starts = found
                } else {
                    starts = committed.mapValues { _ in Int64(RD_KAFKA_OFFSET_BEGINNING) }
                }
            }
        } catch {
            context.logger.warning("state rewind skipped: \(error)")
            return [:]
        }
        if let from {
            for tp in assigned {
                guard let offset = from(tp), offset >= 0 else { continue }
                // The oldest record (a negative sentinel) is already as early as it gets.
                if let start = starts[tp], start < 0 || start <= offset { continue }
                // 0 is the oldest record still held, which retention may have moved on from.
                starts[tp] = offset == 0 ? Int64(RD_KAFKA_OFFSET_BEGINNING) : offset
            }
        }
        context.logger.debug("state rewind", metadata: ["committed": "\(committed)", "starts": "\(starts)"])
        var ends: [TopicPartition: Int64] = [:]
        let count = Int(list.pointee.cnt)
        for i in 0..<count {
            let tp = TopicPartition(String(cString: list.pointee.elems[i].topic), list.pointee.elems[i].partition)
            guard let end = committed[tp], end >= 0, let start = starts[tp], start < end else { continue }
            list.pointee.elems[i].offset = start
            ends[tp] = end
        }
        return ends
    }

    /// Copies a message out and destroys it at once (a live message blocks librdkafka's shutdown).
    private func take(_ message: UnsafeMutablePointer<rd_kafka_message_t>, into messages: inout [ConsumedMessage], topics: inout TopicNames) {
        defer { rd_kafka_message_destroy(message) }
        let err = message.pointee.err
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let error = KafkaError.from(err, "consume")
            context.logger.warning("\(error)")
            return
        }
        // Built in the array, not in a variable appended after: that copied each message (a
        // retain of its topic, key, value and headers) and then released the original.
        messages.append(RDClient.copy(message, topics: &topics))
        if rewinds {
            let m = messages.count - 1
            if let end = shared.withLock({ $0.replayEnds[TopicPartition(messages[m].topic, messages[m].partition)] }), messages[m].offset < end {
                messages[m].isStateReplay = true
            }
        }
    }

    /// Served inside `rd_kafka_consumer_poll` / `rd_kafka_consumer_close`, on the calling thread.
    private func rebalance(
        _ handle: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let partitions = RDClient.partitions(list).map(\.0).sorted()
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let replayEnds = rewinds ? rewind(handle, list, by: stateRewind, from: stateReplayFrom) : [:]
            let generation = shared.withLock { s -> Int in
                s.generation += 1
                s.assignment = partitions
                s.replayEnds = replayEnds
                // A new assignment starts from the committed offsets, which may be below what
                // this consumer stored for a partition it held before.
                s.stored = [:]
                return s.generation
            }
            rd_kafka_assign(handle, list)
            if !replayEnds.isEmpty {
                context.logger.info("re-reading recent records to rebuild state", metadata: ["partitions": "\(replayEnds.count)"])
            }
            context.logger.info("assigned \(partitions.count) partitions", metadata: ["generation": "\(generation)"])
            listener?(.assigned(partitions, generation: generation))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            listener?(.revoked(partitions))
            let commitErr = rd_kafka_commit(handle, nil, 0)
            if commitErr != RD_KAFKA_RESP_ERR_NO_ERROR && commitErr != RD_KAFKA_RESP_ERR__NO_OFFSET {
                context.logger.warning("commit on revoke: \(String(cString: rd_kafka_err2str(commitErr)))")
            }
            shared.withLock { s in
                s.generation += 1
                s.assignment = []
            }
            rd_kafka_assign(handle, nil)
            context.logger.info("revoked \(partitions.count) partitions")
        default:
            context.logger.error("rebalance error: \(String(cString: rd_kafka_err2str(err)))")
            shared.withLock { s in
                s.generation += 1
                s.assignment = []
            }
            rd_kafka_assign(handle, nil)
            listener?(.revoked(partitions))
        }
    }
}

private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { rk, err, partitions, opaque in
    guard let rk, let partitions, let opaque else { return }
    let context = Unmanaged<RDClientContext>.fromOpaque(opaque).takeUnretainedValue()
    if let handler = context.rebalance {
        handler(rk, err, partitions)
    } else {
        rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? partitions : nil)
    }
}
