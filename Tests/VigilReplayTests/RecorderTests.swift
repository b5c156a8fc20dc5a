import Foundation
import Testing
import VigilCore
import VigilKafka
@testable import VigilReplay

@Suite("Recording from the embedded broker", .serialized, .timeLimit(.minutes(2)))
struct RecorderTests {
    @Test("--from-beginning --count records every field of what the topics hold, in per-partition order")
    func recordsEverything() async throws {
        let broker = try EmbeddedBroker(nodes: 1, logger: logger)
        defer { broker.close() }
        try broker.createTopic(TopicSpec(name: "t1", partitions: 3))
        try broker.createTopic(TopicSpec(name: "t2", partitions: 1))
        let client = KafkaClientConfig(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(config: KafkaProducerConfig(client: client), logger: logger)
        let records = (0..<60).map { i in
            ProducerRecord(topic: i % 4 == 0 ? "t2" : "t1", key: i % 3 == 0 ? nil : Array("k\(i % 7)".utf8), value: Array("v\(i)".utf8),
                           headers: [KafkaHeader("n", "\(i)"), KafkaHeader(name: "z", value: nil)])
        }
        let reports = try await producer.sendAll(records)
        producer.close()

        let path = try temporaryFile("rec.vgr")
        var options = Recorder.Options(topics: ["t1", "t2"], out: path)
        options.start = .earliest
        options.count = 60
        let summary = try await Recorder(options: options, client: client, logger: logger).run()
        #expect(summary == Recorder.Summary(records: 60, partitions: 4))

        let reader = try RecordingReader(path: path)
        var got: [ConsumedMessage] = []
        while let block = try reader.nextBlock() { got += block }
        #expect(got.count == 60)
        for (record, report) in zip(records, reports) {
            let m = try #require(got.first { $0.topic == report.topic && $0.partition == report.partition && $0.offset == report.offset })
            #expect(m.key == record.key && m.value == record.value && m.headers == record.headers)
            #expect(m.timestampMilliseconds != nil)
        }
        for p in Set(got.map { "\($0.topic)/\($0.partition)" }) {
            let offsets = got.filter { "\($0.topic)/\($0.partition)" == p }.map(\.offset)
            #expect(offsets == offsets.sorted())
        }
    }

    @Test("--until a past time stops at the end of what the topics hold, leaving later records out")
    func untilPast() async throws {
        let broker = try EmbeddedBroker(nodes: 1, logger: logger)
        defer { broker.close() }
        try broker.createTopic(TopicSpec(name: "u", partitions: 2))
        let client = KafkaClientConfig(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(config: KafkaProducerConfig(client: client), logger: logger)
        _ = try await producer.sendAll((0..<20).map { ProducerRecord(topic: "u", key: nil, value: [UInt8($0)]) })
        producer.close()
        let path = try temporaryFile("until.vgr")
        var options = Recorder.Options(topics: ["u"], out: path)
        options.start = .earliest
        options.until = EventTime(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000) + 1_000)
        try await Task.sleep(for: .milliseconds(5))
        let summary = try await Recorder(options: options, client: client, logger: logger).run()
        #expect(summary.records == 20)
    }

    @Test("--since starts at the first record at or after that time, even on a broker without timestamp lookup")
    func since() async throws {
        let broker = try EmbeddedBroker(nodes: 1, logger: logger)
        defer { broker.close() }
        try broker.createTopic(TopicSpec(name: "s", partitions: 2))
        let client = KafkaClientConfig(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(config: KafkaProducerConfig(client: client), logger: logger)
        defer { producer.close() }
        _ = try await producer.sendAll((0..<10).map { ProducerRecord(topic: "s", key: nil, value: Array("old\($0)".utf8)) })
        try await Task.sleep(for: .milliseconds(50))
        let cut = EventTime(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        try await Task.sleep(for: .milliseconds(50))
        _ = try await producer.sendAll((0..<10).map { ProducerRecord(topic: "s", key: nil, value: Array("new\($0)".utf8)) })
        #expect(try KafkaAdmin(config: client, logger: logger).offsets(topic: "s", atOrAfter: cut.microseconds / 1000) == nil)

        let path = try temporaryFile("since.vgr")
        var options = Recorder.Options(topics: ["s"], out: path)
        options.start = .since(cut)
        options.count = 10
        #expect(try await Recorder(options: options, client: client, logger: logger).run().records == 10)
        let reader = try RecordingReader(path: path)
        var values: [String] = []
        while let block = try reader.nextBlock() { values += block.map { String(decoding: $0.value, as: UTF8.self) } }
        #expect(Set(values) == Set((0..<10).map { "new\($0)" }))
    }
}
