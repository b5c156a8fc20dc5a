import Foundation
import Logging
import Testing
import VigilCore
import VigilKafka
@testable import VigilPipeline

let testLogger: Logger = {
    var logger = Logger(label: "vigil.pipeline-tests")
    logger.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG"] == "debug" ? .debug : .critical
    return logger
}()

/// The repository root (tests read the shipped pipeline, config and compose files).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func shipped(_ path: String) -> String { repoRoot.appendingPathComponent(path).path }

/// A transaction line in canonical JSON.
func txLine(_ id: String, _ ts: String, _ amount: String, channel: String = "cash", currency: String = "USD",
            debtor: String, creditor: String = "ACC-ZZ") -> String {
    #"{"id":"\#(id)","ts":"\#(ts)","amount":"\#(amount)","currency":"\#(currency)","channel":"\#(channel)","debtor":{"account":"\#(debtor)"},"creditor":{"account":"\#(creditor)"}}"#
}

/// An embedded broker with the pipeline's topics, and helpers to feed it, run a shipped
/// pipeline (the default one unless told) against it, and read topics back completely.
final class Harness: Sendable {
    let broker: EmbeddedBroker
    let config: VigilConfig
    let pipeline: PipelineDefinition
    var topics: VigilConfig.Topics { pipeline.topics(from: config) }

    /// - Parameter definition: the pipeline to run, instead of the shipped `file`.
    init(partitions: Int = 4, group: String = "vigil-test", pipeline file: String = "pipelines/default.yaml",
         sharing: VigilConfig.SharingFiles = VigilConfig.SharingFiles(), definition: PipelineDefinition? = nil) throws {
        broker = try EmbeddedBroker(nodes: 1, logger: testLogger)
        var c = VigilConfig()
        c.kafka.brokers = broker.bootstrapServers
        c.kafka.group = group
        c.kafka.partitions = partitions
        c.kafka.commitInterval = .milliseconds(200)
        c.kafka.sessionTimeout = .seconds(6)
        c.runtime.workers = 2
        c.sharing = sharing
        config = c
        pipeline = try definition ?? PipelineDefinition.load(file: shipped(file))
        try TopicSetup.create(TopicSetup.specs(pipeline.topics(from: c), config: c), on: broker)
    }

    deinit { broker.close() }

    var client: KafkaClientConfig { config.clientConfig(bootstrap: broker.bootstrapServers) }

    /// Publishes lines keyed like `vigil feed`; returns each line's delivery report, in order.
    func feed(_ lines: [String]) async throws -> [DeliveryReport] {
        let producer = try KafkaProducer(config: KafkaProducerConfig(client: client), logger: testLogger)
        defer { producer.close() }
        return try await producer.sendAll(lines.map {
            ProducerRecord(topic: topics.transactions, key: Feeder.key(of: $0), value: Array($0.utf8))
        })
    }

    func service(through reports: [DeliveryReport]? = nil, logger: Logger = testLogger, onAlert: (@Sendable (Alert) -> Void)? = nil) throws -> PipelineService {
        try PipelineService(pipeline: pipeline, config: config, bootstrap: broker.bootstrapServers, logger: logger,
                            stopAt: reports.map(Self.ends), onAlert: onAlert)
    }

    /// Per partition, the offset after the last of these records.
    static func ends(_ reports: [DeliveryReport]) -> [TopicPartition: Int64] {
        reports.reduce(into: [:]) { $0[TopicPartition($1.topic, $1.partition)] = max($0[TopicPartition($1.topic, $1.partition)] ?? 0, $1.offset + 1) }
    }

    /// Runs the pipeline until it has handled everything up to these records, then stops it gracefully.
    @discardableResult
    func runPipeline(through reports: [DeliveryReport], logger: Logger = testLogger) async throws -> PipelineRunner.Stats {
        let s = try service(through: reports, logger: logger)
        try await s.run()
        return s.runner.stats
    }

    /// Every record on a topic, read with a fresh consumer group up to the current end offsets.
    func readAll(_ topic: String) async throws -> [ConsumedMessage] {
        let admin = KafkaAdmin(config: client, logger: testLogger)
        let expected = try admin.endOffsets(topic: topic).values.reduce(0, +)
        guard expected > 0 else { return [] }
        var cc = KafkaConsumerConfig(client: client, groupID: "reader-\(UUID().uuidString)", topics: [topic])
        cc.sessionTimeoutMilliseconds = 6_000
        let consumer = try KafkaConsumer(config: cc, logger: testLogger)
        defer { consumer.close() }
        let reader = Task {
            var out: [ConsumedMessage] = []
            while out.count < expected, let batch = await consumer.nextBatch() { out += batch.messages }
            return out
        }
        let timer = Task {
            try await Task.sleep(for: .seconds(60))
            reader.cancel()
        }
        defer { timer.cancel() }
        let got = await reader.value
        #expect(got.count == Int(expected), "read \(got.count) of \(expected) records from \(topic)")
        return got.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    func alerts(topic: String? = nil) async throws -> [Alert] {
        try await readAll(topic ?? topics.alerts).map { try JSONDecoder().decode(Alert.self, from: Data($0.value)) }
    }

    func committed() throws -> [TopicPartition: Int64?] {
        let admin = KafkaAdmin(config: client, logger: testLogger)
        let parts = (0..<Int32(config.kafka.partitions)).map { TopicPartition(topics.transactions, $0) }
        return try admin.committedOffsets(group: config.kafka.group, partitions: parts)
    }

    /// Waits until the group has committed everything on the input topic.
    func waitUntilCommittedToEnd(timeout: Duration = .seconds(60)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ends = try endOffsets()
            let committed = try committed()
            // An empty partition has nothing to commit.
            if ends.allSatisfy({ $0.value == 0 || committed[$0.key] == .some($0.value) }) { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    func endOffsets() throws -> [TopicPartition: Int64] {
        let admin = KafkaAdmin(config: client, logger: testLogger)
        return Dictionary(uniqueKeysWithValues: try admin.endOffsets(topic: topics.transactions).map { (TopicPartition(topics.transactions, $0.key), $0.value) })
    }
}
