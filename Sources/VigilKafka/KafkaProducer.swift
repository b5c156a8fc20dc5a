import CRdKafka
import Foundation
import Logging
import Synchronization

/// The per-message opaque handed to librdkafka; released exactly once, in the delivery callback.
private final class DeliveryCompletion {
    let handler: @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    init(_ handler: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) { self.handler = handler }
}

/// Runs on the producer's poll thread (or inside flush/purge at close) once per message.
private let deliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void =
    { rk, message, _ in
        guard let message, let opaque = message.pointee._private else { return }
        let completion = Unmanaged<DeliveryCompletion>.fromOpaque(opaque).takeRetainedValue()
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            let topic: String
            if let rk, let context = rd_kafka_opaque(rk) {
                topic = Unmanaged<RDClientContext>.fromOpaque(context).takeUnretainedValue().deliveryTopics.name(m.rkt)
            } else {
                topic = String(cString: rd_kafka_topic_name(m.rkt))
            }
            completion.handler(.success(DeliveryReport(topic: topic, partition: m.partition, offset: m.offset)))
        } else {
            completion.handler(.failure(KafkaError.from(m.err, "delivery")))
        }
    }

/// An idempotent Kafka producer whose sends complete with the broker's delivery report.
///
/// librdkafka batches internally (`linger.ms`, `batch.num.messages`); a dedicated thread serves
/// delivery reports, so completions never block Swift's cooperative pool.
public final class KafkaProducer: Sendable {
    // The context must outlive the handle: C callbacks reach it through the handle's opaque.
    private let context: RDClientContext
    private nonisolated(unsafe) let handle: OpaquePointer
    private let config: KafkaProducerConfig
    private let state = Mutex(State.running)
    private let polling = Flag(true)
    private let pollThreadDone = DispatchSemaphore(value: 0)
    /// Handles of the topics ``prepare(topics:timeout:)`` looked up, kept until the producer closes.
    private let prepared = Mutex<[String: RDHandle]>([:])

    private enum State { case running, closing, closed }

    public init(config: KafkaProducerConfig, logger: Logger) throws(KafkaError) {
        self.config = config
        var logger = logger
        logger[metadataKey: "kafka.client.type"] = "producer"
        self.context = RDClientContext(logger: logger)
        let conf = try RDClient.makeConf(config.librdkafkaProperties, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
        self.handle = try RDClient.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        let rk = RDHandle(pointer: handle)
        let thread = Thread { [polling, pollThreadDone] in
            while polling.value {
                rd_kafka_poll(rk.pointer, 100)
            }
            pollThreadDone.signal()
        }
        thread.name = "vigil-kafka-producer"
        thread.start()
    }

    deinit {
        close()
    }

    /// Enqueues a record; `onDelivery` runs once, on the producer thread, with the broker's report.
    ///
    /// - Throws: ``KafkaError`` with ``KafkaError/isQueueFull`` when librdkafka's queue is full
    ///   (back off and retry), or another error if the record cannot be enqueued at all. When this
    ///   throws, `onDelivery` is never called.
    public func send(
        _ record: ProducerRecord,
        onDelivery: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    ) throws(KafkaError) {
        try send(record, completion: DeliveryCompletion(onDelivery))
    }

    /// Enqueues records in order, all reporting to one `onDelivery` (one allocation for the run,
    /// not one per record), waiting out a full local queue. Throws the first error that keeps a
    /// record from being enqueued; the records before it are enqueued and will report.
    public func enqueue(
        _ records: [ProducerRecord],
        onDelivery: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    ) async throws(KafkaError) {
        let completion = DeliveryCompletion(onDelivery)
        // By index: `for record in records` copied each record out (a retain and a release of
        // its topic, key, value and headers).
        for i in records.indices {
            while true {
                do {
                    try send(records[i], completion: completion)
                    break
                } catch where error.isQueueFull {
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
        }
    }

    private func send(_ record: ProducerRecord, completion: DeliveryCompletion) throws(KafkaError) {
        guard state.withLock({ $0 == .running }) else { throw KafkaError.shuttingDown("produce") }
        // One retain per record: each delivery report releases one.
        let opaque = Unmanaged.passRetained(completion).toOpaque()
        let error: OpaquePointer? = record.topic.withCString { topic in
            withBytes(record.key) { keyPtr, keyLen in
                record.value.withUnsafeBytes { valuePtr in
                    Self.withHeaders(record.headers) { headers in
                        // On the stack: a heap array per message showed in the pass-through profile.
                        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6 + headers.count) { vus in
                            var n = 0
                            func add(_ fill: (inout rd_kafka_vu_t) -> Void) {
                                var vu = rd_kafka_vu_t()
                                fill(&vu)
                                vus.initializeElement(at: n, to: vu)
                                n += 1
                            }
                            add { $0.vtype = RD_KAFKA_VTYPE_TOPIC; $0.u.cstr = topic }
                            if let partition = record.partition { add { $0.vtype = RD_KAFKA_VTYPE_PARTITION; $0.u.i32 = partition } }
                            add { $0.vtype = RD_KAFKA_VTYPE_MSGFLAGS; $0.u.i = RD_KAFKA_MSG_F_COPY }
                            add {
                                $0.vtype = RD_KAFKA_VTYPE_VALUE
                                $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: valuePtr.baseAddress); $0.u.mem.size = valuePtr.count
                            }
                            if let keyPtr {
                                add { $0.vtype = RD_KAFKA_VTYPE_KEY; $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPtr); $0.u.mem.size = keyLen }
                            }
                            add { $0.vtype = RD_KAFKA_VTYPE_OPAQUE; $0.u.ptr = opaque }
                            for header in headers {
                                add {
                                    $0.vtype = RD_KAFKA_VTYPE_HEADER
                                    $0.u.header.name = header.name
                                    $0.u.header.val = header.value
                                    $0.u.header.size = header.size
                                }
                            }
                            // rd_kafka_vu_t is plain C data: nothing to deinitialise.
                            return rd_kafka_produceva(handle, vus.baseAddress, n)
                        }
                    }
                }
            }
        }
        if let error {
            // librdkafka did not take the message: release the opaque ourselves.
            Unmanaged<DeliveryCompletion>.fromOpaque(opaque).release()
            throw KafkaError.consuming(error, "produce to \(record.topic)")
        }
    }

    /// Sends a record and waits for the broker's acknowledgement, waiting out a full local queue.
    @discardableResult
    public func send(_ record: ProducerRecord) async throws -> DeliveryReport {
        let reports = try await sendAll([record])
        return reports[0]
    }

    /// Sends many records and waits for every acknowledgement; returns the reports in input order.
    /// Fails with the first delivery error (the other records may still have been delivered).
    public func sendAll(_ records: [ProducerRecord]) async throws -> [DeliveryReport] {
        try await sendEach(records).map { try $0.get() }
    }

    /// Sends many records and waits until each has its outcome, in input order.
    public func sendEach(_ records: [ProducerRecord]) async -> [Result<DeliveryReport, KafkaError>] {
        guard !records.isEmpty else { return [] }
        let collector = BatchCollector(count: records.count)
        for (i, record) in records.enumerated() {
            do {
                try await enqueue(record) { collector.complete(i, $0) }
            } catch {
                collector.complete(i, .failure(error))
            }
        }
        return await collector.results()
    }

    /// Enqueues a record, suspending (not blocking a thread) while librdkafka's queue is full:
    /// that is the producer-side back-pressure. `onDelivery` runs once, on the producer thread,
    /// with the broker's report; it is not called when this throws.
    public func enqueue(
        _ record: ProducerRecord,
        onDelivery: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    ) async throws(KafkaError) {
        while true {
            do {
                return try send(record, onDelivery: onDelivery)
            } catch where error.isQueueFull {
                // The poll thread drains delivery reports meanwhile; a short pause is enough.
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Looks up the topics' partitions and leaders now, and keeps them known for the producer's
    /// life. A record for a topic the producer has not seen waits for that lookup: librdkafka asks
    /// for the topic's metadata and holds the record (and every record after it for that topic)
    /// until the answer comes, which took about a second on the embedded broker. A pipeline's
    /// first alerts, and the input offsets behind them, waited that long.
    ///
    /// - Throws: ``KafkaError`` when the topics' metadata does not all come within `timeout` (for
    ///   all of them together) or a topic does not exist (its records would wait for it, or fail).
    public func prepare(topics: [String], timeout: Duration = .seconds(10)) throws(KafkaError) {
        let deadline = ContinuousClock.now + timeout
        for topic in Set(topics).sorted() where prepared.withLock({ $0[topic] == nil }) {
            guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
                throw KafkaError.from(rd_kafka_last_error(), "topic '\(topic)'")
            }
            var raw: UnsafePointer<rd_kafka_metadata>?
            let left = max(1, (deadline - .now).milliseconds)
            let err = rd_kafka_metadata(handle, 0, rkt, &raw, Int32(clamping: left))
            defer { if let raw { rd_kafka_metadata_destroy(raw) } }
            let topicError = raw.map { $0.pointee.topic_cnt == 1 ? $0.pointee.topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let topicError, topicError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                // Every topic handle must be destroyed before the client is.
                rd_kafka_topic_destroy(rkt)
                throw KafkaError.from(err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : topicError ?? RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, "metadata of topic '\(topic)'")
            }
            prepared.withLock { $0[topic] = RDHandle(pointer: rkt) }
        }
    }

    /// Waits until every enqueued record has a delivery report, or the timeout passes.
    public func flush(timeout: Duration) throws(KafkaError) {
        let err = rd_kafka_flush(handle, Int32(timeout.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.from(err, "flush (\(rd_kafka_outq_len(handle)) messages still queued)")
        }
    }

    /// Flushes (up to ``KafkaProducerConfig/flushTimeout``), fails what is left with a purge
    /// report, stops the poll thread and destroys the handle. Safe to call more than once.
    public func close() {
        let shouldClose = state.withLock { state -> Bool in
            guard state == .running else { return false }
            state = .closing
            return true
        }
        guard shouldClose else { return }
        polling.set(false)
        pollThreadDone.wait()
        do { try flush(timeout: config.flushTimeout) } catch {
            context.logger.error("producer closing with undelivered messages; they are reported as failed", metadata: ["error": "\(error)"])
            rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(handle, 0)
        }
        prepared.withLock { handles in
            for h in handles.values { rd_kafka_topic_destroy(h.pointer) }
            handles = [:]
        }
        rd_kafka_destroy(handle)
        state.withLock { $0 = .closed }
    }

    // MARK: C plumbing

    private func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBytes { body($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
    }

    /// A header as `produceva` takes it: its name as a C string, its value's bytes and their
    /// count (-1 for a null value, which Kafka keeps apart from an empty one).
    private typealias CHeader = (name: UnsafePointer<CChar>, value: UnsafeRawPointer?, size: Int)

    /// Runs `body` with the headers' names and values copied into one temporary buffer, valid for
    /// the call only (librdkafka copies them in `produceva`). A `strdup` per name, a buffer per
    /// value and four arrays per record showed in the profile of every record with headers
    /// (alerts, forwarded copies, dead letters).
    private static func withHeaders<R>(_ headers: [KafkaHeader], _ body: (UnsafeBufferPointer<CHeader>) -> R) -> R {
        guard !headers.isEmpty else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        let bytes = headers.reduce(0) { $0 + $1.name.utf8.count + 1 + ($1.value?.count ?? 0) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes) { buffer in
            withUnsafeTemporaryAllocation(of: CHeader.self, capacity: headers.count) { out in
                let base = buffer.baseAddress!
                var at = 0
                for (i, header) in headers.enumerated() {
                    let name = base + at
                    for byte in header.name.utf8 { buffer[at] = byte; at += 1 }
                    buffer[at] = 0
                    at += 1
                    var entry: CHeader = (UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self), nil, -1)
                    if let value = header.value {
                        value.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: base + at, count: $0.count).copyMemory(from: $0) }
                        // An empty value still needs a pointer (librdkafka reads `size` bytes: none).
                        entry.value = UnsafeRawPointer(base + at)
                        entry.size = value.count
                        at += value.count
                    }
                    out.initializeElement(at: i, to: entry)
                }
                return body(UnsafeBufferPointer(out))
            }
        }
    }
}

/// Gathers the outcomes of a batch; ``results()`` returns once the last one arrived.
private final class BatchCollector: Sendable {
    private struct State {
        var results: [Result<DeliveryReport, KafkaError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<DeliveryReport, KafkaError>], Never>?
    }
    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func results() async -> [Result<DeliveryReport, KafkaError>] {
        await withCheckedContinuation { c in
            let ready = state.withLock { s -> [Result<DeliveryReport, KafkaError>]? in
                guard s.remaining == 0 else {
                    s.continuation = c
                    return nil
                }
                return s.results.map { $0! }
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    func complete(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) {
        let finished = state.withLock { s -> (CheckedContinuation<[Result<DeliveryReport, KafkaError>], Never>, [Result<DeliveryReport, KafkaError>])? in
            s.results[index] = result
            s.remaining -= 1
            guard s.remaining == 0, let c = s.continuation else { return nil }
            s.continuation = nil
            return (c, s.results.map { $0! })
        }
        if let (c, r) = finished { c.resume(returning: r) }
    }
}

extension Duration {
    /// Whole milliseconds, saturating at `Int32.max` for librdkafka's `int timeout_ms` arguments.
    var milliseconds: Int {
        let (s, atto) = components
        return Int(min(s * 1000 + atto / 1_000_000_000_000_000, Int64(Int32.max)))
    }
}
