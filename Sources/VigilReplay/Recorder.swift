import Foundation
import Logging
import VigilCore
import VigilKafka
import VigilPipeline

/// Records Kafka topics into a recording file, reading partitions directly (no consumer group,
/// nothing committed), so recording never disturbs the pipelines reading the same topics.
public struct Recorder: Sendable {
    public enum Start: Sendable, Equatable {
        /// Only records written from now on.
        case latest
        /// Everything the topics still retain.
        case earliest
        /// Records with a timestamp at or after this time.
        case since(EventTime)
    }

    public struct Options: Sendable {
        public var topics: [String]
        public var start: Start = .latest
        /// Leave out records with a timestamp at or after this time; stop once every partition
        /// has passed it (or, once it is past, reached its end).
        public var until: EventTime?
        /// Stop after this many records.
        public var count: Int?
        public var out: String
        /// Continue an existing recording instead of replacing it.
        public var append = false

        public init(topics: [String], out: String) {
            self.topics = topics
            self.out = out
        }
    }

    public struct Summary: Sendable, Equatable {
        public var records = 0
        public var partitions = 0
    }

    public var options: Options
    public var client: KafkaClientConfig
    public var logger: Logger

    public init(options: Options, client: KafkaClientConfig, logger: Logger) {
        self.options = options
        self.client = client
        self.logger = logger
    }

    /// Records until `--count`, `--until`, or `stop` is signalled (e.g. SIGINT); flushes and
    /// returns what was written. The file is always left readable.
    public func run(stop: @escaping @Sendable () -> Bool = { false }) async throws -> Summary {
        let admin = KafkaAdmin(config: client, logger: logger)
        var assignment: [TopicPartition: Int64] = [:]
        // Records before this time are skipped client-side, where the broker cannot look up by time.
        var skipBefore: Int64?
        for topic in options.topics {
            let marks = try admin.watermarks(topic: topic)
            let starts: [Int32: Int64]
            switch options.start {
            case .latest: starts = marks.mapValues(\.high)
            case .earliest: starts = marks.mapValues(\.low)
            case .since(let t):
                if let found = try admin.offsets(topic: topic, atOrAfter: t.microseconds / 1000) {
                    starts = found
                } else {
                    logger.notice("the broker cannot look up offsets by time; reading from the oldest record and skipping earlier ones")
                    starts = marks.mapValues(\.low)
                    skipBefore = t.microseconds / 1000
                }
            }
            for (p, offset) in starts { assignment[TopicPartition(topic, p)] = offset }
        }
        var config = KafkaConsumerConfig(client: client, groupID: "vigil-record-\(UUID().uuidString)", topics: options.topics)
        config.assignment = assignment
        let consumer = try KafkaConsumer(config: config, logger: logger)
        defer { consumer.close() }
        let writer = try RecordingWriter(path: options.out, append: options.append)
        var summary = Summary(records: 0, partitions: assignment.count)

        // Where each partition stands (next offset); read by the watchdog to end an --until
        // recording once the time is past and every partition has caught up with its end.
        let positions = Locked(assignment)
        let untilMs = options.until.map { $0.microseconds / 1000 }
        let topics = options.topics
        let watchdog = Task {
            var ends: [TopicPartition: Int64]?
            while !Task.isCancelled {
                if stop() { break }
                if let untilMs, Int64(Date().timeIntervalSince1970 * 1000) >= untilMs {
                    if ends == nil {
                        var e: [TopicPartition: Int64] = [:]
                        for topic in topics {
                            for (p, high) in (try? admin.endOffsets(topic: topic)) ?? [:] { e[TopicPartition(topic, p)] = high }
                        }
                        ends = e
                    }
                    let now = positions.value
                    if ends!.allSatisfy({ (now[$0.key] ?? $0.value) >= $0.value }) { break }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            consumer.stopFetching()
        }
        defer { watchdog.cancel() }
        reading: while let batch = await consumer.nextBatch() {
            for m in batch.messages {
                positions.withLock { $0[TopicPartition(m.topic, m.partition)] = m.offset + 1 }
                if let untilMs, let ts = m.timestampMilliseconds, ts >= untilMs { continue }
                if let skipBefore, let ts = m.timestampMilliseconds, ts < skipBefore { continue }
                try writer.append(m)
                summary.records += 1
                if let count = options.count, summary.records >= count { break reading }
            }
        }
        try writer.close()
        logger.info("recording written", metadata: ["file": "\(options.out)", "records": "\(summary.records)"])
        return summary
    }
}
