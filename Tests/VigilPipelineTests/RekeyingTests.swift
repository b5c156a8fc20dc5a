import Foundation
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline

/// Window rules grouped by another field than the one the input is keyed by: the input's
/// transactions are forwarded, keyed by that field, to a re-keying topic whose records those
/// rules alone count.
@Suite("Re-keying")
struct RekeyingTests {
    /// Keyed by debtor (as `vigil feed` keys): a fan-in (five payers into one account within a
    /// day) groups by creditor; pair repeats and large payments are the debtor's partition's.
    static func pipeline(keyed: Bool) throws -> PipelineDefinition {
        try PipelineDefinition.parse("""
            pipeline: { name: rekeyed, version: "1" }
            inputs:
              - { topic: fin.transactions, format: json\(keyed ? ", key: debtor.account" : "") }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 50000 }
              - id: fan-in
                version: 1
                kind: window
                where: amount > 0 and channel != "cash"
                key: creditor.account
                distinct: debtor.account
                within: 24h
                having: distinct >= 5
              - { id: pair-repeat, version: 1, kind: window, where: amount > 0, key: [debtor.account, creditor.account], within: 24h, having: count >= 2 }
            """, file: "rekeyed.yaml")
    }

    /// Six payers into MULE-1, each once, by wire; one of them pays big to a shop twice.
    static let feed: [String] = (1...6).map { n in
        txLine("m\(n)", "2024-03-01T0\(n):00:00Z", "900", channel: "wire", debtor: "PAYER-\(n)", creditor: "MULE-1")
    } + [txLine("b1", "2024-03-01T07:00:00Z", "60000", channel: "wire", debtor: "PAYER-1", creditor: "SHOP"),
         txLine("b2", "2024-03-01T08:00:00Z", "60000", channel: "wire", debtor: "PAYER-1", creditor: "SHOP")]

    @Test("a declared input key routes each rule: the input's records reach the rules its key brings together and are forwarded for the others, keyed by their field; the copies reach those alone and count as the records they copy")
    func routing() throws {
        let pipeline = try Self.pipeline(keyed: true)
        let topics = pipeline.topics(from: VigilConfig())
        #expect(topics.rekeyed == [VigilConfig.Topics.Rekeyed(input: "fin.transactions", field: "creditor.account")])
        #expect(topics.rekeyed[0].topic == "fin.transactions-by-creditor.account")
        #expect(topics.consumed == ["fin.transactions", "fin.transactions-by-creditor.account"])
        #expect(try Self.pipeline(keyed: false).topics(from: VigilConfig()).rekeyed.isEmpty)

        let engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits(), rekeying: true)
        let input = Self.feed.enumerated().map { ConsumedMessage(topic: "fin.transactions", partition: 2, offset: Int64(10 + $0), value: Array($1.utf8)) }
        let first = engine.outputs(for: input[...], decoded: input.map { InputDecoding.json($0.value) }[...])
        // Locally: the big payments and the pair repeat; no fan-in from the input's own records.
        #expect(first.compactMap(\.alert).map { $0.findings[0].id }.sorted() == ["big", "big", "pair-repeat"])
        let forwarded = first.filter { if case .forwarded = $0.kind { return true } else { return false } }.map(\.record)
        #expect(forwarded.count == 8)
        #expect(forwarded.allSatisfy { $0.topic == "fin.transactions-by-creditor.account" })
        #expect(forwarded.map { String(decoding: $0.key ?? [], as: UTF8.self) } == Array(repeating: "MULE-1", count: 6) + ["SHOP", "SHOP"])
        #expect(forwarded[0].value == input[0].value, "canonical JSON goes on as it came")
        #expect(forwarded[3].headers.first(named: VigilHeaders.sourceOffset) == "13")

        // The copies, as the re-keying topic delivers them: the fan-in alone, citing the input records.
        let copies = forwarded.enumerated().map { n, r in
            ConsumedMessage(topic: r.topic, partition: 0, offset: Int64(n), key: r.key, value: r.value, headers: r.headers)
        }
        let second = engine.outputs(for: copies[...], decoded: copies.map { InputDecoding.json($0.value) }[...])
        let fanIn = second.compactMap(\.alert)
        #expect(fanIn.map { $0.findings[0].id } == ["fan-in"])
        #expect(fanIn.first?.subject.value == "MULE-1")
        #expect(fanIn.first?.evidence.map(\.offset) == [10, 11, 12, 13, 14])
        #expect(fanIn.first?.evidence.allSatisfy { $0.topic == "fin.transactions" && $0.partition == 2 } == true)
        #expect(!second.contains { if case .forwarded = $0.kind { return true } else { return false } }, "copies are not forwarded again")

        // A copy forwarded again (its input record handled again after a restart) is a redelivery, not a sixth payer.
        let again = ConsumedMessage(topic: copies[5].topic, partition: 0, offset: 99, key: copies[5].key, value: copies[5].value, headers: copies[5].headers)
        let more = [again] + (6..<10).map { n in
            ConsumedMessage(topic: copies[0].topic, partition: 0, offset: Int64(100 + n), value: Array(txLine("x\(n)", "2024-03-01T09:00:00Z", "900", channel: "wire",
                                                                                                              debtor: "OTHER-\(n)", creditor: "MULE-1").utf8),
                            headers: [KafkaHeader(VigilHeaders.sourceTopic, "fin.transactions"), KafkaHeader(VigilHeaders.sourcePartition, "3"),
                                      KafkaHeader(VigilHeaders.sourceOffset, String(n))])
        }
        // The window holds m6 (the fan-in used up m1–m5); m6 again and four new payers make five distinct, not six.
        let third = engine.outputs(for: more[...], decoded: more.map { InputDecoding.json($0.value) }[...]).compactMap(\.alert)
        #expect(third.map { $0.evidence.map(\.eventId) } == [["m6", "x6", "x7", "x8", "x9"]])

        // Without re-keying (a replay of one input), every rule sees every record, as before.
        let plain = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits())
        let all = plain.outputs(for: input[...], decoded: input.map { InputDecoding.json($0.value) }[...])
        #expect(all.compactMap(\.alert).map { $0.findings[0].id }.sorted() == ["big", "big", "fan-in", "pair-repeat"])
        #expect(!all.contains { if case .forwarded = $0.kind { return true } else { return false } })
    }

    @Test("copies lag their input records: a key fed by copies is not evicted because its input partition has moved on in event time")
    func copiesLag() throws {
        let pipeline = try Self.pipeline(keyed: true)
        let topics = pipeline.topics(from: VigilConfig())
        let engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits(), rekeying: true)
        var offset: Int64 = 0
        /// Input records on partition 2; what they forward.
        func local(_ lines: [String]) -> [ProducerRecord] {
            let messages = lines.map { line in
                defer { offset += 1 }
                return ConsumedMessage(topic: "fin.transactions", partition: 2, offset: offset, value: Array(line.utf8))
            }
            return engine.outputs(for: messages[...], decoded: messages.map { InputDecoding.json($0.value) }[...])
                .filter { if case .forwarded = $0.kind { return true } else { return false } }.map(\.record)
        }
        func copies(_ records: some Collection<ProducerRecord>, from first: Int64) -> [Alert] {
            let messages = records.enumerated().map { n, r in
                ConsumedMessage(topic: r.topic, partition: 0, offset: first + Int64(n), key: r.key, value: r.value, headers: r.headers)
            }
            return engine.outputs(for: messages[...], decoded: messages.map { InputDecoding.json($0.value) }[...]).compactMap(\.alert)
        }
        let forwarded = local(Array(Self.feed.prefix(5)))
        #expect(forwarded.count == 5)
        #expect(copies(forwarded.prefix(3), from: 0).isEmpty)
        // Meanwhile the input partition reads on, five days later (cash: nothing to forward),
        // enough records for the detector to sweep idle keys.
        let later = (0..<5_000).map { n in txLine("f\(n)", "2024-03-06T12:00:00Z", "100", debtor: "FILLER-\(n)", creditor: "BANK") }
        #expect(local(later).isEmpty)
        // The last two payers' copies arrive: five distinct payers within the day.
        #expect(copies(forwarded.suffix(2), from: 3).map { $0.evidence.map(\.eventId) } == [["m1", "m2", "m3", "m4", "m5"]])
    }

    @Test("a re-keying topic is made with its input's partitions, and one that has another number is reported")
    func partitionCounts() throws {
        let r = VigilConfig.Topics.Rekeyed(input: "fin.transactions", field: "creditor.account")
        let specs = [TopicSpec(name: "fin.transactions", partitions: 8), TopicSpec(name: r.topic, partitions: 8), TopicSpec(name: "alerts.local", partitions: 8)]
        #expect(TopicSetup.sized(specs, rekeyed: [r], existing: ["fin.transactions": 12]).map(\.partitions) == [8, 12, 8])
        #expect(TopicSetup.sized(specs, rekeyed: [r], existing: [:]).map(\.partitions) == [8, 8, 8])
        // As a cluster's metadata gives them: the embedded broker, the two made apart.
        let broker = try EmbeddedBroker(nodes: 1, logger: testLogger)
        defer { broker.close() }
        try broker.createTopic(TopicSpec(name: "fin.transactions", partitions: 6))
        try broker.createTopic(TopicSpec(name: r.topic, partitions: 4))
        let existing = try KafkaAdmin(config: KafkaClientConfig(bootstrapServers: broker.bootstrapServers), logger: testLogger).metadata().topics
        #expect(TopicSetup.mismatched([r], existing: existing)
                    == ["re-keying topic fin.transactions-by-creditor.account has 4 partitions, its input fin.transactions 6: give it 6"])
        #expect(TopicSetup.mismatched([r], existing: ["fin.transactions": 4, r.topic: 4]).isEmpty)
    }

    @Test("a key is a transaction text field of a transaction input")
    func keyChecked() throws {
        func parse(_ input: String) throws -> PipelineDefinition {
            try PipelineDefinition.parse("""
                pipeline: { name: p, version: "1" }
                inputs: [\(input)]
                rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
                """, file: "p.yaml")
        }
        #expect(try parse("{ topic: t, format: json, key: creditor.account }").inputs[0].key == "creditor.account")
        #expect { try parse("{ topic: t, format: json, key: creditor.acount }") } throws: {
            "\($0)".contains("unknown transaction field 'creditor.acount'")
        }
        #expect { try parse("{ topic: t, format: json, key: amount }") } throws: { "\($0)".contains("unknown transaction field 'amount'") }
        #expect { try parse("{ topic: t, format: paxlst, key: debtor.account }") } throws: { "\($0)".contains("'key' is for transaction inputs") }
    }

    @Test("live, two workers: payers spread over partitions of both workers make one fan-in through the re-keying topic; without the key, neither worker sees enough")
    func twoWorkers() async throws {
        func run(keyed: Bool) async throws -> (alerts: [Alert], partitions: [Int32], harness: Harness) {
            let h = try Harness(partitions: 4, group: "rekey-\(UUID().uuidString)", definition: try Self.pipeline(keyed: keyed))
            // And the collecting account pays on: its own record shows its partition as a debtor.
            let reports = try await h.feed(Self.feed + [txLine("out", "2024-03-01T10:00:00Z", "4000", channel: "wire", debtor: "MULE-1", creditor: "ABROAD")])
            let service = try h.service()
            let running = Task { try await service.run() }
            // The copies are handled after their input records: wait for the input to be
            // committed, then for the re-keying topic's records to be handled too.
            #expect(try await h.waitUntilCommittedToEnd())
            let expected: Int64 = keyed ? 4 : 3
            let admin = KafkaAdmin(config: h.client, logger: testLogger)
            for _ in 0..<150 {
                if try admin.endOffsets(topic: h.topics.alerts).values.reduce(0, +) >= expected { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            service.stop()
            try await running.value
            return (try await h.alerts(), reports.map(\.partition), h)
        }
        let rekeyed = try await run(keyed: true)
        // The six payers' records are on partitions of both workers, so no worker alone sees five.
        let perWorker = Dictionary(grouping: rekeyed.partitions.prefix(6)) { PipelineRunner.shard("fin.transactions", $0, 2) }.mapValues(\.count)
        #expect(perWorker.count == 2 && perWorker.values.allSatisfy { $0 < 5 }, "payers per worker: \(perWorker)")
        let fanIn = rekeyed.alerts.filter { $0.findings[0].id == "fan-in" }
        #expect(fanIn.count == 1)
        #expect(fanIn.first?.subject.value == "MULE-1")
        #expect(Set(fanIn.first?.evidence.map(\.eventId) ?? []).isSubset(of: Set((1...6).map { "m\($0)" })) && fanIn.first?.evidence.count == 5)
        #expect(fanIn.first?.evidence.allSatisfy { $0.topic == "fin.transactions" } == true)
        #expect(rekeyed.alerts.map { $0.findings[0].id }.sorted() == ["big", "big", "fan-in", "pair-repeat"])
        let copies = try await rekeyed.harness.readAll("fin.transactions-by-creditor.account")
        #expect(copies.count == 9)
        // The copies to MULE-1 are on the partition number its own payments are on (the same
        // partitioner, the same number of partitions): one worker has both.
        #expect(Set(copies.filter { $0.key == Array("MULE-1".utf8) }.map(\.partition)) == [rekeyed.partitions.last!])

        let plain = try await run(keyed: false)
        #expect(plain.alerts.map { $0.findings[0].id }.sorted() == ["big", "big", "pair-repeat"])

        // Stopping by itself at the end of a feed (`vigil run` without --follow): the copies
        // are handled before it stops, so the fan-in is there.
        let h = try Harness(partitions: 4, group: "rekey-\(UUID().uuidString)", definition: try Self.pipeline(keyed: true))
        try await h.runPipeline(through: try await h.feed(Self.feed))
        #expect(try await h.alerts().map { $0.findings[0].id }.sorted() == ["big", "big", "fan-in", "pair-repeat"])
    }
}
