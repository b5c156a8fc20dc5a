import VigilCore
import Logging
import Synchronization
import VigilKafka

extension ArraySlice where Element == ConsumedMessage {
    /// The ranges of consecutive messages of one partition, in order: a worker's share of a
    /// batch holds such runs, each in offset order.
    var partitionRuns: [Range<Int>] {
        var runs: [Range<Int>] = []
        var start = startIndex
        while start < endIndex {
            var end = start + 1
            while end < endIndex, self[end].partition == self[start].partition, self[end].topic == self[start].topic { end += 1 }
            runs.append(start..<end)
            start = end
        }
        return runs
    }
}

/// Where a pipeline reads from: a Kafka consumer group, a recording, a file.
public protocol RecordSource: Sendable {
    /// The next batch; `nil` when the source is exhausted or stopped.
    func nextBatch() async -> ConsumerBatch?
    /// The current assignment generation (batches from older ones are skipped).
    var generation: Int { get }
    /// Offsets (next to read) whose effects are acknowledged.
    func store(_ offsets: [TopicPartition: Int64])
    /// Stop delivering batches; ``nextBatch()`` returns `nil` once drained.
    func stop()
    /// Commits what is stored now (best effort; the periodic commit and close commit too).
    func commit()
    /// Commit and let go (after the pipeline has drained).
    func close()
    /// Called on every assignment change with the new generation, or `nil` when the assignment is
    /// revoked; set once before the first batch.
    func onGenerationChange(_ handler: @escaping @Sendable (Int?) -> Void)
}

/// Where a pipeline writes to: Kafka, standard output, a file.
public protocol RecordSink: Sendable {
    /// Hands records over for publishing, suspending while the sink's buffer is full;
    /// `completion` runs once when all are acknowledged, or with the first error.
    func publish(_ records: [ProducerRecord], completion: @escaping @Sendable ((any Error)?) -> Void) async
    /// Waits for outstanding records and releases resources.
    func close()
}

/// A Kafka consumer-group source.
public final class KafkaSource: RecordSource {
    private let consumer: KafkaConsumer
    private let handler = Locked<(@Sendable (Int?) -> Void)?>(nil)

    private let logger: Logger

    public init(config: KafkaConsumerConfig, logger: Logger) throws(KafkaError) {
        self.logger = logger
        let handler = self.handler
        // The consumer reports rebalances on its poll thread; pass them on as generations.
        consumer = try KafkaConsumer(config: config, logger: logger) { [handler] event in
            switch event {
            case .assigned(_, let generation): handler.value?(generation)
            case .revoked: handler.value?(nil)
            }
        }
    }

    public func nextBatch() async -> ConsumerBatch? { await consumer.nextBatch() }
    public var generation: Int { consumer.generation }
    public func store(_ offsets: [TopicPartition: Int64]) { consumer.store(offsets) }
    public func stop() { consumer.stopFetching() }
    public func commit() {
        do { try consumer.commit() } catch { logger.warning("commit failed; it is retried on close", metadata: ["error": "\(error)"]) }
    }
    public func close() { consumer.close() }
    public func onGenerationChange(_ handler: @escaping @Sendable (Int?) -> Void) {
        self.handler.withLock { $0 = handler }
    }
    public var assignment: [TopicPartition] { consumer.assignment }
    /// Records not yet handled, per assigned partition (see ``KafkaConsumer/lag()``).
    public func lag() -> [TopicPartition: Int64] { consumer.lag() }
    /// Whether a broker answers within a second (blocks the caller that long at most).
    public func brokerAnswers() -> Bool { consumer.brokerAnswers() }
}

/// A Kafka producer sink (idempotent; completions are broker acknowledgements).
public final class KafkaSink: RecordSink {
    public let producer: KafkaProducer

    public init(config: KafkaProducerConfig, logger: Logger) throws(KafkaError) {
        producer = try KafkaProducer(config: config, logger: logger)
    }

    public func publish(_ records: [ProducerRecord], completion: @escaping @Sendable ((any Error)?) -> Void) async {
        guard !records.isEmpty else { return completion(nil) }
        let remaining = PublishCountdown(records.count, completion)
        do {
            try await producer.enqueue(records) { result in
                switch result {
                case .success: remaining.done(nil)
                case .failure(let error): remaining.done(error)
                }
            }
        } catch {
            // The first error completes the run; later reports are ignored.
            remaining.done(error)
        }
    }

    public func close() { producer.close() }
}

/// Calls `completion` once: after `count` successes, or at the first error.
final class PublishCountdown: Sendable {
    private let state: Mutex<(remaining: Int, completion: (@Sendable ((any Error)?) -> Void)?)>

    init(_ count: Int, _ completion: @escaping @Sendable ((any Error)?) -> Void) {
        state = Mutex((count, completion))
    }

    func done(_ error: (any Error)?) {
        let fire = state.withLock { s -> (@Sendable ((any Error)?) -> Void)? in
            s.remaining -= 1
            guard error != nil || s.remaining == 0, let c = s.completion else { return nil }
            s.completion = nil
            return c
        }
        fire?(error)
    }
}
