import Logging
import VigilCore
import VigilKafka

/// The alert ids recently published, per output topic: the publisher's duplicate-suppression
/// window. After a restart the input since the last commit is processed again and produces the
/// same alert ids; those the broker already holds are not published twice.
///
/// It knows what this process published, and, read back at start, what the tail of each output
/// topic holds — so it can suppress repeats whenever the earlier copy is still within the window;
/// beyond it (or when the read-back could not finish) delivery stays at-least-once and
/// consumers drop duplicates by id.
public final class PublishedAlerts: Sendable {
    private struct State {
        var known: Set<String> = []
        /// Insertion order, for evicting the oldest once `capacity` is reached.
        var order: [String] = []
        var head = 0
    }

    public let capacity: Int
    private let state = Locked(State())

    /// - Parameter capacity: ids remembered (over all topics); the oldest go first.
    public init(capacity: Int = 100_000) { self.capacity = max(1, capacity) }

    public var count: Int { state.withLock { $0.known.count } }

    public func contains(topic: String, id: String) -> Bool {
        let key = Self.key(topic, id)
        return state.withLock { $0.known.contains(key) }
    }

    public func insert(topic: String, id: String) {
        let key = Self.key(topic, id)
        state.withLock { s in
            guard s.known.insert(key).inserted else { return }
            if s.order.count < capacity {
                s.order.append(key)
            } else {
                // A ring over the insertion order: overwrite (and forget) the oldest.
                s.known.remove(s.order[s.head])
                s.order[s.head] = key
                s.head = (s.head + 1) % capacity
            }
        }
    }

    private static func key(_ topic: String, _ id: String) -> String { topic + "\u{1}" + id }

    /// Reads the alert ids (header `vigil.alert.id`) of the last records of each partition of
    /// `topics`, at most `perPartition` each, for up to `timeout`. Returns how many it read.
    @discardableResult
    public func readBack(topics: [String], client: KafkaClientConfig, perPartition: Int, timeout: Duration,
                         logger: Logger) async -> Int {
        let admin = KafkaAdmin(config: client, logger: logger)
        var start: [TopicPartition: Int64] = [:]
        var ends: [TopicPartition: Int64] = [:]
        for topic in topics {
            guard let marks = try? admin.watermarks(topic: topic, timeout: timeout) else { continue }
            for (p, mark) in marks where mark.high > mark.low {
                let tp = TopicPartition(topic, p)
                start[tp] = max(mark.low, mark.high - Int64(perPartition))
                ends[tp] = mark.high
            }
        }
        guard !start.isEmpty else { return 0 }
        var config = KafkaConsumerConfig(client: client, groupID: "vigil-readback", topics: [])
        config.assignment = start
        guard let consumer = try? KafkaConsumer(config: config, logger: logger) else { return 0 }
        defer { consumer.close() }
        let expected = ends.reduce(0) { $0 + Int($1.value - start[$1.key]!) }
        let reading = Task { [self] in
            var read = 0
            while read < expected, !Task.isCancelled, let batch = await consumer.nextBatch() {
                for m in batch.messages {
                    read += 1
                    if let id = m.headers.first(named: VigilHeaders.alertID) { insert(topic: m.topic, id: id) }
                }
            }
            return read
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            reading.cancel()
            consumer.stopFetching()
        }
        let read = await reading.value
        timer.cancel()
        if read < expected {
            logger.warning("read back only part of the recent output; repeats beyond it may be published again",
                           metadata: ["read": "\(read)", "expected": "\(expected)"])
        }
        return read
    }
}
