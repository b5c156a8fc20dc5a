import Foundation
import Testing
@testable import VigilKafka

@Suite("Kafka transport against the embedded broker", .timeLimit(.minutes(2)))
struct KafkaRoundTripTests {
    @Test("produce → consume keeps keys, values, headers and offsets; deliveries are acknowledged")
    func roundTrip() async throws {
        try await withEmbeddedBroker(topics: [TopicSpec(name: "rt", partitions: 3)]) { broker in
            let producer = try KafkaProducer(config: producerConfig(broker), logger: testLogger)
            defer { producer.close() }
            let records = (0..<300).map { i in
                ProducerRecord(
                    topic: "rt",
                    key: Array("acct-\(i % 7)".utf8),
                    value: Array("{\"n\":\(i)}".utf8),
                    // A null value and an empty one are different things in Kafka; names and values
                    // of several lengths, some with bytes that are not text.
                    headers: [KafkaHeader("seq", "\(i)"), KafkaHeader(name: "nil-valued", value: nil), KafkaHeader(name: "empty", value: []),
                              KafkaHeader(name: String(repeating: "n", count: i % 40), value: (0..<(i % 300)).map { UInt8(($0 * 7 + i) % 256) })]
                )
            }
            let reports = try await producer.sendAll(records)
            #expect(reports.count == 300)
            #expect(Set(reports.map(\.topic)) == ["rt"])
            // Offsets per partition are dense from 0: every record got its own slot.
            for p in Set(reports.map(\.partition)) {
                let offsets = reports.filter { $0.partition == p }.map(\.offset).sorted()
                #expect(offsets == Array(0..<Int64(offsets.count)))
            }
            // The same key always lands on the same partition.
            var partitionOfKey: [String: Int32] = [:]
            for (r, rep) in zip(records, reports) {
                let key = String(decoding: r.key!, as: UTF8.self)
                if let p = partitionOfKey[key] { #expect(p == rep.partition) } else { partitionOfKey[key] = rep.partition }
            }

            let consumer = try KafkaConsumer(config: consumerConfig(broker, group: "g-rt", topics: ["rt"]), logger: testLogger)
            defer { consumer.close() }
            let got = await collect(consumer, count: 300)
            #expect(got.count == 300)
            let bySeq = Dictionary(uniqueKeysWithValues: got.map { (Int($0.headers.first(named: "seq")!)!, $0) })
            for (i, r) in records.enumerated() {
                let m = try #require(bySeq[i])
                #expect(m.key == r.key)
                #expect(m.value == r.value)
                #expect(m.headers == r.headers)
                #expect(m.headers[1].name == "nil-valued" && m.headers[1].value == nil)
                #expect(m.headers[2].name == "empty" && m.headers[2].value == [])
                let rep = reports[i]
                #expect(m.partition == rep.partition && m.offset == rep.offset)
                #expect(m.timestampMilliseconds != nil)
            }
        }
    }

    @Test("stored offsets are committed, and a new member of the group resumes after them")
    func storedOffsetsResume() async throws {
        try await withEmbeddedBroker(topics: [TopicSpec(name: "resume", partitions: 1)]) { broker in
            let producer = try KafkaProducer(config: producerConfig(broker), logger: testLogger)
            defer { producer.close() }
            _ = try await producer.sendAll((0..<10).map { ProducerRecord(topic: "resume", key: nil, value: [UInt8($0)]) })

            let first = try KafkaConsumer(config: consumerConfig(broker, group: "g-resume", topics: ["resume"]), logger: testLogger)
            let got = await collect(first, count: 10)
            #expect(got.count == 10)
            // Only the first 4 are "done": store offset 4 (next to read).
            first.store([TopicPartition("resume", 0): 4])
            // Completions arrive on several threads: one that decided a lower offset and stores
            // it late must not move the commit back.
            first.store([TopicPartition("resume", 0): 2])
            try first.commit()
            let committed = try first.committed([TopicPartition("resume", 0)])
            #expect(committed[TopicPartition("resume", 0)] == 4)
            first.close()

            let second = try KafkaConsumer(config: consumerConfig(broker, group: "g-resume", topics: ["resume"]), logger: testLogger)
            defer { second.close() }
            let again = await collect(second, count: 6)
            #expect(again.map(\.offset) == [4, 5, 6, 7, 8, 9])
        }
    }

    @Test("a broker down for a few seconds: producing and consuming resume by themselves, nothing lost")
    func brokerDownAndUp() async throws {
        try await withEmbeddedBroker(nodes: 1, topics: [TopicSpec(name: "flaky", partitions: 2)]) { broker in
            let producer = try KafkaProducer(config: producerConfig(broker), logger: testLogger)
            defer { producer.close() }
            let consumer = try KafkaConsumer(config: consumerConfig(broker, group: "g-flaky", topics: ["flaky"]), logger: testLogger)
            defer { consumer.close() }
            _ = try await producer.sendAll((0..<50).map { ProducerRecord(topic: "flaky", key: nil, value: Array("a\($0)".utf8)) })
            var seen = Set<String>()
            func read(until wanted: Set<String>) async {
                let deadline = ContinuousClock.now + .seconds(60)
                while !wanted.isSubset(of: seen), ContinuousClock.now < deadline {
                    let batch = await collect(consumer, count: 1, timeout: .seconds(5))
                    seen.formUnion(batch.map { String(decoding: $0.value, as: UTF8.self) })
                    // Store what was handled, as an application does; a rejoin resumes from there.
                    consumer.store(Dictionary(batch.map { (TopicPartition($0.topic, $0.partition), $0.offset + 1) }, uniquingKeysWith: max))
                }
            }
            await read(until: Set((0..<50).map { "a\($0)" }))

            try broker.setBrokerDown(1)
            // Sends made while the broker is down complete once it is back.
            let pending = Task { try await producer.sendAll((50..<100).map { ProducerRecord(topic: "flaky", key: nil, value: Array("a\($0)".utf8)) }) }
            try await Task.sleep(for: .seconds(3))
            try broker.setBrokerUp(1)
            let reports = try await pending.value
            #expect(reports.count == 50)

            // Consuming resumes by itself (possibly after the group's session expired and it
            // rejoined, re-reading from the last commit): every message arrives.
            let all = Set((0..<100).map { "a\($0)" })
            await read(until: all)
            #expect(seen == all)
        }
    }

    @Test("admin metadata lists the embedded broker's topics and partition counts")
    func metadata() async throws {
        try await withEmbeddedBroker(nodes: 3, topics: [TopicSpec(name: "m1", partitions: 5), TopicSpec(name: "m2", partitions: 1)]) { broker in
            let admin = KafkaAdmin(config: KafkaClientConfig(bootstrapServers: broker.bootstrapServers), logger: testLogger)
            let md = try admin.metadata()
            #expect(md.brokers.count == 3)
            #expect(md.topics["m1"] == 5)
            #expect(md.topics["m2"] == 1)
            // Nothing missing: no CreateTopics request is sent (the mock does not support it).
            #expect(try admin.ensureTopics([TopicSpec(name: "m1", partitions: 5)]) == [])
        }
    }

    @Test("a record librdkafka refuses at once fails the send with its error, and no delivery callback")
    func refusedRecord() async throws {
        try await withEmbeddedBroker(topics: [TopicSpec(name: "small", partitions: 2)]) { broker in
            let producer = try KafkaProducer(config: producerConfig(broker), logger: testLogger)
            defer { producer.close() }
            _ = try await producer.send(ProducerRecord(topic: "small", key: nil, value: [1]))  // metadata is known now
            let error = await #expect(throws: KafkaError.self) {
                try await producer.send(ProducerRecord(topic: "small", partition: 7, key: nil, value: [2]))
            }
            #expect(error?.name == "_UNKNOWN_PARTITION")
            #expect(error?.message.hasPrefix("produce to small: ") == true)
        }
    }

    @Test("prepared topics are known before the first record: one for a partition the topic lacks is refused at once")
    func preparedTopics() async throws {
        try await withEmbeddedBroker(topics: [TopicSpec(name: "out-a", partitions: 2), TopicSpec(name: "out-b", partitions: 3)]) { broker in
            let producer = try KafkaProducer(config: producerConfig(broker), logger: testLogger)
            defer { producer.close() }
            try producer.prepare(topics: ["out-a", "out-b", "out-a"])
            // Without the metadata, librdkafka would hold this record until it came, and fail it
            // only then, in its delivery report.
            let error = await #expect(throws: KafkaError.self) {
                try await producer.send(ProducerRecord(topic: "out-b", partition: 3, key: nil, value: [1]))
            }
            #expect(error?.name == "_UNKNOWN_PARTITION")
            let report = try await producer.send(ProducerRecord(topic: "out-a", partition: 1, key: nil, value: [2]))
            #expect(report.topic == "out-a" && report.partition == 1 && report.offset == 0)
            // (A topic the cluster lacks cannot be tried here: the embedded broker creates any
            // topic a metadata request names.)
        }
    }

    @Test("bad configuration is rejected with the property named")
    func badConfig() throws {
        var config = KafkaProducerConfig(client: KafkaClientConfig(bootstrapServers: "127.0.0.1:1"))
        config.client.properties["no.such.property"] = "1"
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(config: config, logger: testLogger) }
        #expect(error?.message.contains("no.such.property") == true)
        #expect(error?.isRetriable == false)
    }

    @Test("the consumer's prefetch settings reach librdkafka, and an operator's properties are applied after them")
    func prefetchSettings() throws {
        let base = KafkaConsumerConfig(client: KafkaClientConfig(bootstrapServers: "127.0.0.1:1"), groupID: "g", topics: ["t"])
        #expect(base.librdkafkaProperties.contains { $0 == ("queued.min.messages", "1000000") })
        var config = base
        config.queuedMaxKilobytes = 0  // below librdkafka's minimum of 1
        var error = #expect(throws: KafkaError.self) { try KafkaConsumer(config: config, logger: testLogger) }
        #expect(error?.message.contains("'queued.max.messages.kbytes'='0'") == true)
        config = base
        config.client.properties["queued.min.messages"] = "0"
        error = #expect(throws: KafkaError.self) { try KafkaConsumer(config: config, logger: testLogger) }
        #expect(error?.message.contains("'queued.min.messages'='0'") == true)
    }
}
