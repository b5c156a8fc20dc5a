import CRdKafka
import Foundation
import Logging
import Synchronization

/// librdkafka's mock cluster, run inside this process: a Kafka-protocol broker set on loopback
/// TCP that any Kafka client (librdkafka, kcat, confluent-kafka) can use.
///
/// Limits of the mock in librdkafka 2.0.2: memory only; each partition keeps at most 5 MiB or
/// 100,000 message sets (older batches are dropped); no CreateTopics request (use
/// ``createTopic(_:)``); transactional offsets are not stored. Ports are ephemeral.
public final class EmbeddedBroker: Sendable {
    private let context: RDClientContext
    // The handle the cluster lives in (librdkafka uses it for bookkeeping and logging).
    private let rk: RDHandle
    private let cluster: RDHandle
    private let closed = Mutex(false)

    /// The `host:port,...` list to give clients as `bootstrap.servers`.
    public let bootstrapServers: String
    /// Number of broker nodes; their ids are 1...nodes.
    public let nodes: Int

    public init(nodes: Int = 1, logger: Logger) throws(KafkaError) {
        guard (1...16).contains(nodes) else { throw KafkaError.invalidArgument("broker nodes must be 1...16, got \(nodes)") }
        var logger = logger
        logger[metadataKey: "kafka.client.type"] = "embedded-broker"
        self.context = RDClientContext(logger: logger)
        // This handle only hosts the cluster and never connects anywhere: silence its
        // "no bootstrap.servers" notice (log_level 4 keeps the mock's warnings and errors).
        //
        // The cluster's sockets take their options from this handle. With Nagle's algorithm on
        // (librdkafka's default), a response the broker writes in pieces waited for the client's
        // delayed ACK: about 42 ms added to some acknowledgements, whatever `linger.ms` (5 ms:
        // 47 ms; 1 ms: 43; 50 ms: 92), which was the whole tail of the default pipeline's
        // alerts. Apache Kafka's brokers set TCP_NODELAY on every connection; so does this one.
        let conf = try RDClient.makeConf([("client.id", "vigil-embedded-broker"), ("log_level", "4"), ("socket.nagle.disable", "true")],
                                         context: context)
        let handle = try RDClient.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        guard let mc = rd_kafka_mock_cluster_new(handle, Int32(nodes)) else {
            rd_kafka_destroy(handle)
            throw KafkaError.invalidArgument("could not start the embedded broker")
        }
        self.rk = RDHandle(pointer: handle)
        self.cluster = RDHandle(pointer: mc)
        self.nodes = nodes
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mc))
    }

    deinit { close() }

    /// Creates a topic (replication is capped at the node count).
    public func createTopic(_ spec: TopicSpec) throws(KafkaError) {
        let rf = min(spec.replicationFactor, nodes)
        let err = rd_kafka_mock_topic_create(cluster.pointer, spec.name, Int32(spec.partitions), Int32(rf))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError.from(err, "create topic '\(spec.name)' on the embedded broker")
        }
    }

    /// Takes a broker node down: its connections are closed and new ones refused (fault injection).
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_down(cluster.pointer, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "set broker \(id) down") }
    }

    /// Brings a broker node back up.
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_up(cluster.pointer, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "set broker \(id) up") }
    }

    /// Kafka protocol request types that faults can be injected into.
    public enum APIKey: Int16, Sendable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, offsetCommit = 8, offsetFetch = 9, findCoordinator = 10,
             joinGroup = 11, heartbeat = 12, syncGroup = 14, initProducerID = 22
    }

    /// Makes broker `id` answer the next requests of kind `api` with these errors (0: success),
    /// each after `delay` (fault injection: retriable errors, slow answers).
    public func pushRequestErrors(broker id: Int32, _ api: APIKey, _ errors: [Int32], delay: Duration = .zero) throws(KafkaError) {
        for code in errors {
            let err = vigil_mock_broker_push_error_rtt(cluster.pointer, id, api.rawValue, rd_kafka_resp_err_t(code), Int32(delay.milliseconds))
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "push errors to broker \(id)") }
        }
    }

    /// How many injected errors broker `id` has still to serve for `api`.
    public func pendingRequestErrors(broker id: Int32, _ api: APIKey) throws(KafkaError) -> Int {
        var count = 0
        let err = rd_kafka_mock_broker_error_stack_cnt(cluster.pointer, id, api.rawValue, &count)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "error stack of broker \(id)") }
        return count
    }

    /// Delays every answer of broker `id` (-1: all) by `rtt` (a slow or distant broker).
    public func setRoundTrip(_ rtt: Duration, broker id: Int32 = -1) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_rtt(cluster.pointer, id, Int32(rtt.milliseconds))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(err, "set the round trip of broker \(id)") }
    }

    /// Stops the cluster. Clients still connected see their connections drop.
    public func close() {
        let first = closed.withLock { c -> Bool in
            defer { c = true }
            return !c
        }
        guard first else { return }
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        rd_kafka_destroy(rk.pointer)
    }
}
