/// Settings shared by every Kafka client Vigil creates (producer, consumer, admin).
///
/// The typed properties cover what Vigil itself relies on; anything else librdkafka understands
/// (security, SASL, TLS, tuning) passes through ``properties`` unchanged, by its librdkafka name
/// (see librdkafka's CONFIGURATION.md for version 2.0.2).
public struct KafkaClientConfig: Sendable, Equatable {
    /// `bootstrap.servers`: comma-separated `host:port` list. Required.
    public var bootstrapServers: String
    /// `client.id`. Default: `"vigil"`.
    public var clientID: String = "vigil"
    /// Extra librdkafka properties, applied after Vigil's own (so an operator can override them).
    /// Default: empty.
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String, clientID: String = "vigil", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// The base properties every client gets.
    var baseProperties: [(String, String)] {
        [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
    }
}

/// Producer settings. Idempotence is always on: retries never duplicate or reorder an alert.
public struct KafkaProducerConfig: Sendable, Equatable {
    public var client: KafkaClientConfig
    /// `linger.ms`: how long to wait to fill a batch. Default: 5 ms (librdkafka's default, low latency).
    public var lingerMilliseconds: Int = 5
    /// `batch.num.messages`. Default: 10,000.
    public var batchMessages: Int = 10_000
    /// `compression.codec`: `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default: `lz4`.
    public var compression: String = "lz4"
    /// `message.timeout.ms`: how long librdkafka retries a message before reporting failure.
    /// Default: 300,000 ms (librdkafka's default), long enough to ride out a broker restart.
    public var messageTimeoutMilliseconds: Int = 300_000
    /// How long ``KafkaProducer/close()`` waits for outstanding deliveries. Default: 30 s.
    public var flushTimeout: Duration = .seconds(30)

    public init(client: KafkaClientConfig) { self.client = client }

    var librdkafkaProperties: [(String, String)] {
        client.baseProperties + [
            ("enable.idempotence", "true"),
            ("linger.ms", String(lingerMilliseconds)),
            ("batch.num.messages", String(batchMessages)),
            ("compression.codec", compression),
            ("message.timeout.ms", String(messageTimeoutMilliseconds)),
        ] + client.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// Consumer settings. Offsets are stored by the application (`enable.auto.offset.store=false`)
/// only after a message's effects are acknowledged; stored offsets are committed periodically,
/// on rebalance and on close.
public struct KafkaConsumerConfig: Sendable {
    public var client: KafkaClientConfig
    /// `group.id`. Required.
    public var groupID: String
    /// Topics to subscribe to.
    public var topics: [String]
    /// `auto.offset.reset` for a group with no committed offset: `earliest` or `latest`.
    /// Default: `earliest`, so nothing produced before the first start is skipped.
    public var autoOffsetReset: String = "earliest"
    /// `auto.commit.interval.ms`: how often stored offsets are committed. Default: 1,000 ms.
    public var commitIntervalMilliseconds: Int = 1_000
    /// `partition.assignment.strategy`. Default: `range,roundrobin` (eager): librdkafka 2.0.2 has
    /// known cooperative-sticky bugs fixed only in later releases.
    public var assignmentStrategy: String = "range,roundrobin"
    /// `session.timeout.ms`. Default: 10,000 ms. Shorter than librdkafka's 45 s because the embedded
    /// broker (librdkafka 2.0.2's mock) only rebalances a group after a departed member's session
    /// expires, so a restart against it waits this long before getting its partitions back.
    public var sessionTimeoutMilliseconds: Int = 10_000
    /// `fetch.wait.max.ms`: how long a broker may hold a fetch that has no data yet. Default:
    /// 10 ms (librdkafka's 500 ms adds up to half a second to every quiet partition's latency).
    public var fetchWaitMaxMilliseconds: Int = 10
    /// `queued.min.messages`. Default: 1,000,000, not librdkafka's 100,000. librdkafka 2.0.2
    /// compares it with the whole consumer queue (every partition forwards to it), and once it
    /// is reached stops fetching until its broker thread next wakes, up to a second later (its
    /// longest wait; 2.1 added `fetch.queue.backoff.ms` for this). Measured with the default: once a
    /// backlog built up, the pipeline ran dry for half of every second and used one core of two.
    /// What bounds prefetched memory is ``queuedMaxKilobytes``.
    public var queuedMinMessages: Int = 1_000_000
    /// `queued.max.messages.kbytes`: the most bytes of prefetched messages held. Default: 262,144
    /// (256 MiB; librdkafka's own is 64 MiB). Reaching this bound stops fetching in the same way,
    /// for up to a second, so it must hold more than a second of work or the pipeline runs dry:
    /// with 64 MiB, at 300,000 events/s of 300-byte records (90 MB/s), a backlog of a million
    /// left the pipeline idle for 0.4 s once the queue was full. 256 MiB is about three seconds
    /// at that rate. The queue only fills with a backlog; a consumer that keeps up holds little.
    public var queuedMaxKilobytes: Int = 262_144
    /// Most messages handed over in one batch. Default: 1,024.
    public var maxBatchSize: Int = 1_024
    /// Batches buffered between the poll thread and the pipeline before the poll thread waits
    /// (back-pressure). Default: 8.
    public var bufferedBatches: Int = 8

    /// When set, each newly assigned partition is read again from the first record produced
    /// within this span before now, up to its committed offset, with those records marked
    /// ``ConsumedMessage/isStateReplay`` — so stateful stages can rebuild what they held before a
    /// restart or a rebalance without acting on those records twice. Default: `nil` (off).
    public var stateRewind: Duration?

    /// When set, a newly assigned partition is also read again from the offset this gives for
    /// it, when that lies before its committed offset (and before where ``stateRewind`` would
    /// start), with the same marking: for state that is complete up to an offset (the anomaly
    /// detectors' snapshots), so that what came after it is learnt again; 0 means the oldest
    /// record the broker still holds. Called on the poll thread inside the rebalance. Default: `nil`.
    public var stateReplayFrom: (@Sendable (TopicPartition) -> Int64?)?

    /// When set, the consumer reads exactly these partitions from these offsets (no group
    /// membership, no rebalances): for recording and inspection. Default: `nil` (subscribe).
    public var assignment: [TopicPartition: Int64]?

    public init(client: KafkaClientConfig, groupID: String, topics: [String]) {
        self.client = client
        self.groupID = groupID
        self.topics = topics
    }

    var librdkafkaProperties: [(String, String)] {
        client.baseProperties + [
            ("group.id", groupID),
            ("enable.auto.offset.store", "false"),
            ("enable.auto.commit", "true"),
            ("auto.commit.interval.ms", String(commitIntervalMilliseconds)),
            ("auto.offset.reset", autoOffsetReset),
            ("partition.assignment.strategy", assignmentStrategy),
            ("enable.partition.eof", "false"),
            ("session.timeout.ms", String(sessionTimeoutMilliseconds)),
            ("fetch.wait.max.ms", String(fetchWaitMaxMilliseconds)),
            ("queued.min.messages", String(queuedMinMessages)),
            ("queued.max.messages.kbytes", String(queuedMaxKilobytes)),
        ] + client.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
