import CRdKafka
import Foundation
import Logging

/// What a cluster reports about itself.
public struct ClusterMetadata: Sendable, Equatable {
    public struct Broker: Sendable, Equatable {
        public var id: Int32
        public var host: String
        public var port: Int
    }
    public var brokers: [Broker]
    /// Topic name → partition count (internal topics such as `__consumer_offsets` excluded).
    public var topics: [String: Int]
}

/// Cluster administration: metadata and topic creation.
///
/// Uses a short-lived client per call; these are start-up operations, not a hot path.
public struct KafkaAdmin: Sendable {
    public var config: KafkaClientConfig
    public var logger: Logger

    public init(config: KafkaClientConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Brokers and topics, as the cluster reports them.
    public func metadata(timeout: Duration = .seconds(10)) throws(KafkaError) -> ClusterMetadata {
        try withClient { rk throws(KafkaError) in
            var raw: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(rk, 1, nil, &raw, Int32(timeout.milliseconds))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let md = raw else {
                throw KafkaError.from(err, "metadata from \(config.bootstrapServers)")
            }
            defer { rd_kafka_metadata_destroy(md) }
            let m = md.pointee
            let brokers = (0..<Int(m.broker_cnt)).map { i in
                let b = m.brokers[i]
                return ClusterMetadata.Broker(id: b.id, host: String(cString: b.host), port: Int(b.port))
            }
            var topics: [String: Int] = [:]
            for i in 0..<Int(m.topic_cnt) {
                let t = m.topics[i]
                let name = String(cString: t.topic)
                if t.err == RD_KAFKA_RESP_ERR_NO_ERROR && !name.hasPrefix("__") { topics[name] = Int(t.partition_cnt) }
            }
            return ClusterMetadata(brokers: brokers, topics: topics)
        }
    }

    /// Creates the topics that do not exist yet (checked through metadata first, so a cluster that
    /// has them all is never sent a CreateTopics request). Existing topics are left as they are.
    ///
    /// - Returns: the names of the topics created.
    @discardableResult
    public func ensureTopics(_ specs: [TopicSpec], timeout: Duration = .seconds(30)) throws(KafkaError) -> [String] {
        let existing = try metadata(timeout: timeout).topics
        let missing = specs.filter { existing[$0.name] == nil }
        guard !missing.isEmpty else { return [] }
        try createTopics(missing, timeout: timeout)
        return missing.map(\.name)
    }

    /// Sends a CreateTopics request (the Admin API). `TOPIC_ALREADY_EXISTS` is not an error.
    public func createTopics(_ specs: [TopicSpec], timeout: Duration = .seconds(30)) throws(KafkaError) {
        try withClient { rk throws(KafkaError) in
            var errstr = [CChar](repeating: 0, count: 512)
            let newTopics: [OpaquePointer] = try specs.map { spec throws(KafkaError) in
                guard let t = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor),
                                                    &errstr, errstr.count) else {
                    throw KafkaError.invalidArgument("topic '\(spec.name)': \(RDClient.text(errstr))")
                }
                return t
            }
            let queue = rd_kafka_queue_new(rk)!
            let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)!
            defer {
                newTopics.forEach { rd_kafka_NewTopic_destroy($0) }
                rd_kafka_AdminOptions_destroy(options)
                rd_kafka_queue_destroy(queue)
            }
            rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errstr, errstr.count)
            rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.milliseconds), &errstr, errstr.count)
            var topicPointers: [OpaquePointer?] = newTopics
            rd_kafka_CreateTopics(rk, &topicPointers, newTopics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds + 1000)) else {
                throw KafkaError(code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, message: "CreateTopics: no answer in time")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventErr = rd_kafka_event_error(event)
            if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError.from(eventErr, "CreateTopics")
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for i in 0..<count {
                let r = results[i]
                let err = rd_kafka_topic_result_error(r)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    let name = String(cString: rd_kafka_topic_result_name(r))
                    throw KafkaError.from(err, "create topic '\(name)'")
                }
            }
            logger.info("created topics", metadata: ["topics": "\(specs.map(\.name).joined(separator: ","))"])
        }
    }

    /// The high watermark (offset of the next record to be written) of every partition of a topic.
    public func endOffsets(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: Int64] {
        try watermarks(topic: topic, timeout: timeout).mapValues(\.high)
    }

    /// The next offset to be written of every partition of these topics that holds records.
    public func endOffsets(topics: [String], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64] {
        var ends: [TopicPartition: Int64] = [:]
        for topic in topics {
            for (p, end) in try endOffsets(topic: topic, timeout: timeout) where end > 0 { ends[TopicPartition(topic, p)] = end }
        }
        return ends
    }

    /// Low (oldest retained) and high (next to be written) offsets of every partition of a topic.
    public func watermarks(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
        guard let partitions = try metadata(timeout: timeout).topics[topic] else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue, message: "topic '\(topic)' does not exist")
        }
        return try withClient { rk throws(KafkaError) in
            var out: [Int32: (low: Int64, high: Int64)] = [:]
            for p in 0..<Int32(partitions) {
                var low: Int64 = 0, high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, Int32(timeout.milliseconds))
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "watermarks of \(topic)[\(p)]") }
                out[p] = (low, high)
            }
            return out
        }
    }

    /// Per partition, the offset of the first record with a timestamp at or after `milliseconds`
    /// (the partition's high watermark when there is none); `nil` when the broker cannot look
    /// offsets up by time (librdkafka 2.0.2's embedded broker answers "none" to every lookup).
    public func offsets(topic: String, atOrAfter milliseconds: Int64, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: Int64]? {
        let marks = try watermarks(topic: topic, timeout: timeout)
        let partitions = marks.keys.sorted().map { TopicPartition(topic, $0) }
        let found: [TopicPartition: Int64]? = try withClient { rk throws(KafkaError) in
            try RDClient.offsets(rk, partitions, atOrAfter: milliseconds, timeout: timeout)
        }
        guard let found else { return nil }
        var out: [Int32: Int64] = [:]
        for (partition, mark) in marks { out[partition] = found[TopicPartition(topic, partition)] ?? mark.high }
        return out
    }

    /// A consumer group's committed offsets (next offset to read), without joining the group.
    public func committedOffsets(group: String, partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64?] {
        let found: [TopicPartition: Int64] = try withClient(type: RD_KAFKA_CONSUMER, extra: [("group.id", group)]) { rk throws(KafkaError) in
            try RDClient.committed(rk, partitions, timeout: timeout)
        }
        var out: [TopicPartition: Int64?] = [:]
        for tp in partitions { out[tp] = .some(found[tp]) }
        return out
    }

    private func withClient<R>(
        type: rd_kafka_type_t = RD_KAFKA_PRODUCER,
        extra: [(String, String)] = [],
        _ body: (OpaquePointer) throws(KafkaError) -> R
    ) throws(KafkaError) -> R {
        var logger = logger
        logger[metadataKey: "kafka.client.type"] = "admin"
        let context = RDClientContext(logger: logger)
        let conf = try RDClient.makeConf(config.baseProperties + extra + config.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                         context: context)
        let rk = try RDClient.makeHandle(type, conf: conf)
        defer {
            if type == RD_KAFKA_CONSUMER { rd_kafka_consumer_close(rk) }
            rd_kafka_destroy(rk)
            withExtendedLifetime(context) {}
        }
        return try body(rk)
    }
}
