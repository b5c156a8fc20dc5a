import Foundation
import Logging
import Testing
@testable import VigilKafka

/// Logs from librdkafka are only interesting when a test fails; keep them at warning and above.
let testLogger: Logger = {
    var logger = Logger(label: "vigil.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG"] == "debug" ? .debug : .critical
    return logger
}()

/// Runs `body` with a fresh embedded broker whose topics are created up front.
func withEmbeddedBroker<R>(
    nodes: Int = 1,
    topics: [TopicSpec],
    _ body: (EmbeddedBroker) async throws -> R
) async throws -> R {
    let broker = try EmbeddedBroker(nodes: nodes, logger: testLogger)
    defer { broker.close() }
    for topic in topics { try broker.createTopic(topic) }
    return try await body(broker)
}

func producerConfig(_ broker: EmbeddedBroker) -> KafkaProducerConfig {
    KafkaProducerConfig(client: KafkaClientConfig(bootstrapServers: broker.bootstrapServers, clientID: "test-producer"))
}

func consumerConfig(_ broker: EmbeddedBroker, group: String, topics: [String]) -> KafkaConsumerConfig {
    var c = KafkaConsumerConfig(
        client: KafkaClientConfig(bootstrapServers: broker.bootstrapServers, clientID: "test-consumer"),
        groupID: group,
        topics: topics
    )
    c.commitIntervalMilliseconds = 200
    c.sessionTimeoutMilliseconds = 6_000
    if let d = ProcessInfo.processInfo.environment["VIGIL_TEST_RDKAFKA_DEBUG"] { c.client.properties["debug"] = d }
    return c
}

/// Reads batches until `count` messages arrived or `timeout` passed; the consumer stays usable.
func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [ConsumedMessage] {
    let reader = Task {
        var out: [ConsumedMessage] = []
        while out.count < count, let batch = await consumer.nextBatch() {
            out += batch.messages
        }
        return out
    }
    let timer = Task {
        try await Task.sleep(for: timeout)
        reader.cancel()
    }
    let out = await reader.value
    timer.cancel()
    return out
}
