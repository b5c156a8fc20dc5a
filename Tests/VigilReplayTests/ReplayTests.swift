import Foundation
import Logging
import Testing
import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka
@testable import VigilPipeline
import VigilShare
@testable import VigilReplay

let logger: Logger = {
    var l = Logger(label: "vigil.replay-tests")
    l.logLevel = .critical
    return l
}()

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixture(_ name: String) throws -> String {
    try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(name)").path)
}

func temporaryFile(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func defaultPipeline() throws -> PipelineDefinition {
    try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/default.yaml").path)
}

/// Replays to a list of output lines (alerts as published; dead letters marked).
func replay(_ input: ReplayInput, pipeline: PipelineDefinition? = nil, config: VigilConfig = VigilConfig()) async throws -> (lines: [String], result: Replay.Result) {
    let lines = Locked([String]())
    let p = try pipeline ?? defaultPipeline()
    let sink = CallbackSink { record in
        // The unit's alerts as they are; dead letters and other topics (partners, held) marked.
        let text = switch record.topic {
        case "alerts.local": String(decoding: record.value, as: UTF8.self)
        case "fin.transactions.dlq": "DLQ \(record.headers.first(named: VigilHeaders.sourceOffset) ?? "?") \(record.headers.first(named: VigilHeaders.error) ?? "?")"
        default: "\(record.topic) \(String(decoding: record.value, as: UTF8.self))"
        }
        lines.withLock { $0.append(text) }
    }
    let result = try await Replay.run(input: input, pipeline: p, config: config, sink: sink, logger: logger)
    return (lines.value, result)
}

func messages(_ n: Int) -> [ConsumedMessage] {
    (0..<n).map { i in
        ConsumedMessage(topic: i % 3 == 0 ? "a" : "b.topic", partition: Int32(i % 4), offset: Int64(i * 7), timestampMilliseconds: i % 5 == 0 ? nil : 1_700_000_000_000 + Int64(i),
                        key: i % 2 == 0 ? nil : Array("k\(i)".utf8), value: Array("value \(i) ".utf8) + [UInt8](repeating: UInt8(i % 256), count: i % 50),
                        headers: i % 4 == 0 ? [] : [KafkaHeader("h", "\(i)"), KafkaHeader(name: "null", value: nil), KafkaHeader(name: "empty", value: [])])
    }
}

/// `count` generated payments as records of partition 0 of the input topic, in order.
func generatedRecords(_ count: Int) -> [ConsumedMessage] {
    SampleFeed.generate(count: count).lines.enumerated().map { n, line in
        ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(n), value: Array(line.utf8))
    }
}

/// Generated transactions over `partitions` partitions, keyed by debtor as `vigil feed` keys (an
/// account's payments are on one partition): each partition's records in offset order.
func debtorKeyedRecords(_ count: Int, partitions: Int) -> [[ConsumedMessage]] {
    var perPartition = [[ConsumedMessage]](repeating: [], count: partitions)
    for line in SampleFeed.generate(count: count).lines {
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let debtor = (object?["debtor"] as? [String: Any])?["account"] as? String ?? line
        let p = Int(FNV1a.hash(debtor.utf8) % UInt64(partitions))
        perPartition[p].append(ConsumedMessage(topic: "fin.transactions", partition: Int32(p), offset: Int64(perPartition[p].count), value: Array(line.utf8)))
    }
    return perPartition
}

/// Two lists of alerts are the same, byte for byte; a difference names the first alert that
/// differs, not all of them.
func expectSameAlerts(_ found: [String], _ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(found.count == expected.count, sourceLocation: sourceLocation)
    let differs = zip(found, expected).enumerated().first { $0.element.0 != $0.element.1 }
    #expect(differs == nil, "alert \(differs?.offset ?? 0) differs: \(differs?.element.0 ?? "")\nexpected: \(differs?.element.1 ?? "")",
            sourceLocation: sourceLocation)
}

/// Runs `pipeline` on a scripted source (`script` feeds it; the source is finished after it) and
/// returns what it published on `alerts.local`, in order.
private func scriptedRun(_ pipeline: PipelineDefinition, options: PipelineRunner.Options = .init(workers: 1),
                 _ script: (ScriptedSource, PipelineRunner) async throws -> Void) async throws -> [String] {
    let source = ScriptedSource()
    let alerts = Locked([String]())
    let sink = CallbackSink { record in
        if record.topic == "alerts.local" { alerts.withLock { $0.append(String(decoding: record.value, as: UTF8.self)) } }
    }
    let runner = PipelineRunner(pipeline: pipeline, topics: pipeline.topics(from: VigilConfig()), options: options,
                                source: source, sink: sink, logger: Logger(label: "test"))
    let running = Task { try await runner.run() }
    try await script(source, runner)
    source.finish()
    try await running.value
    return alerts.value
}

@Suite("Recording format")
struct RecordingFormatTests {
    func readAll(_ path: String) throws -> [ConsumedMessage] {
        let r = try RecordingReader(path: path)
        var out: [ConsumedMessage] = []
        while let block = try r.nextBlock() { out += block }
        return out
    }

    @Test("every field round-trips: topic, partition, offset, timestamp, null and empty keys, headers, values")
    func roundTrip() throws {
        let path = try temporaryFile("r.vgr")
        let w = try RecordingWriter(path: path)
        w.blockRecords = 64
        let input = messages(1_000)
        for m in input { try w.append(m) }
        try w.close()
        #expect(try readAll(path) == input)
        // Compressed: well under the raw size.
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < input.reduce(0) { $0 + $1.value.count })
    }

    @Test("a crash mid-block leaves a readable prefix; the reader says where it stopped; append continues after it")
    func tornTail() throws {
        let path = try temporaryFile("t.vgr")
        let w = try RecordingWriter(path: path)
        w.blockRecords = 100
        let input = messages(250)
        for m in input { try w.append(m) }
        try w.close()
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 10).write(to: URL(fileURLWithPath: path))

        let r = try RecordingReader(path: path)
        var good: [ConsumedMessage] = []
        let error = #expect(throws: RecordingError.self) {
            while let block = try r.nextBlock() { good += block }
        }
        #expect(good == Array(input.prefix(200)))
        #expect(error?.recordsRead == 200)
        #expect(error?.message.hasPrefix("truncated block") == true)
        #expect(error.map { $0.byteOffset > 16 && $0.byteOffset < full.count } == true)

        let again = try RecordingWriter(path: path, append: true)
        for m in input.suffix(50) { try again.append(m) }
        try again.close()
        #expect(try readAll(path) == Array(input.prefix(200)) + Array(input.suffix(50)))
    }

    @Test("a flipped byte is caught by the block checksum")
    func corruption() throws {
        let path = try temporaryFile("c.vgr")
        let w = try RecordingWriter(path: path)
        w.blockRecords = 10
        for m in messages(30) { try w.append(m) }
        try w.close()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 5] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: RecordingError.self) { _ = try readAll(path) }
        #expect(error?.message == "corrupted: block checksum mismatch")
        #expect(error?.recordsRead == 20)
    }

    @Test("files that are not recordings are refused with a reason")
    func notARecording() throws {
        let path = try temporaryFile("x.vgr")
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: RecordingError(file: path, byteOffset: 0, recordsRead: 0, message: "not a Vigil recording (no VIGILREC header)")) {
            _ = try RecordingReader(path: path)
        }
        #expect(throws: RecordingError.self) { _ = try RecordingReader(path: "/nonexistent.vgr") }
    }
}

@Suite("Replay")
struct ReplayTests {
    @Test("replaying the recorded sample feed gives exactly the golden alerts, byte for byte, every time")
    func golden() async throws {
        let golden = try String(contentsOfFile: try fixture("sample-feed.default.golden.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let first = try await replay(.recording(path: try fixture("sample-feed.vgr")))
        let alerts = first.lines.filter { $0.hasPrefix("{") }
        #expect(GoldenAlerts.differences(expected: golden, actual: alerts) == [])
        #expect(first.result.messagesRead == 2_657)
        #expect(first.result.stats.deadLettered == 2)
        #expect(first.result.stoppedEarly == nil)
        let second = try await replay(.recording(path: try fixture("sample-feed.vgr")))
        #expect(second.lines == first.lines)
    }

    @Test("canonical JSON lines replay like a recording (same alerts but for offsets)")
    func jsonLines() async throws {
        let path = try temporaryFile("feed.jsonl")
        try (SampleFeed.generate().lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ReplayInput.detect(path: path, topic: "fin.transactions").isJSONLines)
        let fromLines = try await replay(.jsonLines(path: path, topic: "fin.transactions"))
        let fromRecording = try await replay(.recording(path: try fixture("sample-feed.vgr")))
        func ids(_ lines: [String]) throws -> Set<String> {
            Set(try lines.filter { $0.hasPrefix("{") }.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)).id })
        }
        #expect(try ids(fromLines.lines) == ids(fromRecording.lines))
        #expect(fromLines.lines.filter { $0.hasPrefix("DLQ") }.count == 2)
    }

    @Test("screening and anomaly scoring on their own stage give the alerts the engine gives doing everything in order, byte for byte")
    func scoringStage() async throws {
        // The pipeline scores screening and anomalies on a stage ahead of the rules; a backtest's
        // engine scores them inline, between the rules and the typologies of each event. A list
        // of names some generated wires carry, typologies weighing both, and a window rule.
        let feed = SampleFeed.generate(count: 10_000).lines
        let named = feed.compactMap { line -> String? in
            guard case .transaction(let tx)? = try? CanonicalEvent.fromJSON(Array(line.utf8)) else { return nil }
            return tx.debtor.name
        }
        let listed = Array(Set(named).sorted().prefix(12))
        try #require(listed.count == 12)
        let dir = URL(fileURLWithPath: try temporaryFile("scored.yaml")).deletingLastPathComponent()
        try (["id,name,kind,aliases,birth_date,country,document"] + listed.enumerated().map { "L-\($0.offset),\($0.element),person,,,," })
            .joined(separator: "\n").write(to: dir.appendingPathComponent("watch.csv"), atomically: true, encoding: .utf8)
        let yaml = """
            pipeline: { name: scored, version: "1" }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 5000 }
              - { id: fan-in, version: 1, kind: window, where: amount > 0, key: creditor.account, distinct: debtor.account, within: 3d, having: distinct >= 6 }
            typologies:
              - { id: big-payment, version: 1, rules: { big: 1 }, threshold: 1 }
              - { id: collection, version: 1, rules: { fan-in: 1 }, threshold: 1 }
              - { id: unusual, version: 1, rules: { anomaly: 1 }, threshold: 0.85 }
              - { id: unusual-and-big, version: 1, rules: { anomaly: 0.5, big: 0.5 }, threshold: 0.9 }
              - { id: listed, version: 1, rules: { watchlist: 1 }, threshold: 0.8 }
            anomaly: { id: anomaly, version: 1, threshold: 0.85, detectors: { baseline: 0.7, edge: 0.3 }, tick: 1h }
            screening: { id: watchlist, version: 1, threshold: 0.8, screen: [debtor, creditor], lists: { local: watch.csv } }
            """
        try yaml.write(to: dir.appendingPathComponent("scored.yaml"), atomically: true, encoding: .utf8)
        let pipeline = try PipelineDefinition.load(file: dir.appendingPathComponent("scored.yaml").path)
        let path = dir.appendingPathComponent("feed.jsonl").path
        try (feed.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let staged = try await replay(.jsonLines(path: path, topic: "fin.transactions"), pipeline: pipeline).lines.filter { $0.hasPrefix("{") }
        let engine = PipelineEngine(pipeline: pipeline, topics: pipeline.topics(from: VigilConfig()), limits: WindowLimits())
        let inline = feed.enumerated().flatMap { n, line in
            engine.process(ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(n), value: Array(line.utf8)))
                .compactMap(\.alert).map { String(decoding: $0.canonicalJSON, as: UTF8.self) }
        }
        expectSameAlerts(staged, inline)
        // Each kind of finding is there, so each stage had its part.
        let kinds = Set(try inline.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }.flatMap { $0.findings.map(\.kind) })
        #expect(kinds == [.rule, .typology, .anomaly, .screening])
        #expect(inline.count > 50)
    }

    @Test("a redelivered message is scored once: its payments are not learnt again, and it gets its first findings back")
    func redeliveredScoring() throws {
        // After a rebalance that leaves a partition with its worker, the records of the state
        // rewind span come again, and so does whatever was in flight.
        let feed = SampleFeed.generate(count: 6_000).lines
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: redelivered, version: "1" }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 20000 }
            anomaly: { id: anomaly, version: 1, threshold: 0.8, detectors: { baseline: 0.7, edge: 0.3 }, tick: 1h }
            """, file: "redelivered.yaml")
        let topics = pipeline.topics(from: VigilConfig())
        func message(_ n: Int) -> ConsumedMessage {
            ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(n), value: Array(feed[n].utf8))
        }
        func alerts(_ engine: PipelineEngine, _ range: Range<Int>) -> [String] {
            range.flatMap { engine.process(message($0)).compactMap(\.alert).map { String(decoding: $0.canonicalJSON, as: UTF8.self) } }
        }
        func anomalies(_ lines: [String]) -> Int { lines.filter { $0.contains(#""kind":"anomaly""#) }.count }

        // A second time through the first 4,000 payments changes nothing that comes after.
        let once = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits())
        let twice = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits())
        _ = alerts(once, 0..<4_000)
        #expect(anomalies(alerts(twice, 0..<4_000)) > 0)
        // Handled when they came first, long ago (here a message is a batch): nothing again.
        #expect(anomalies(alerts(twice, 0..<4_000)) == 0)
        let after = alerts(once, 4_000..<6_000)
        #expect(alerts(twice, 4_000..<6_000) == after)
        #expect(anomalies(after) > 0)

        // A message that comes again at once (its batch was skipped) raises what it raised.
        let first = try #require((4_000..<6_000).first { n in after.contains { $0.contains(#""kind":"anomaly""#) && $0.contains("\"\(Self.eventID(feed[n]))\"") } })
        let engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: WindowLimits())
        _ = alerts(engine, 0..<first)
        let raised = alerts(engine, first..<(first + 1))
        #expect(anomalies(raised) == 1)
        #expect(alerts(engine, first..<(first + 1)) == raised)
    }

    static func eventID(_ line: String) -> String {
        (try? CanonicalEvent.fromJSON(Array(line.utf8))).flatMap { if case .transaction(let tx) = $0 { tx.id } else { nil } } ?? ""
    }

    @Test("recorded native messages replay with the configured decoding (CSV mapping), as they run live")
    func nativeFormats() async throws {
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: csv, version: 1.0.0 }
            inputs: [{ topic: fin.csv, format: csv }]
            rules:
              - { id: large, version: 1, kind: predicate, where: amount >= 10000, subject: debtor.account }
            """, file: "csv.yaml")
        let config = try VigilConfig.parse("""
            formats:
              csv: { columns: { id: ID, ts: WHEN, amount: AMT, debtor.account: FROM, creditor.account: TO }, currency: EUR }
            """, file: "c.yaml")
        let path = try temporaryFile("csv.vgr")
        let w = try RecordingWriter(path: path)
        for (offset, row) in ["t1,2024-03-01T09:00:00Z,25000,A,B", "t2,2024-03-01T09:01:00Z,5,A,B"].enumerated() {
            try w.append(ConsumedMessage(topic: "fin.csv", partition: 0, offset: Int64(offset), value: Array("ID,WHEN,AMT,FROM,TO\n\(row)\n".utf8)))
        }
        try w.close()
        let out = try await replay(.recording(path: path), pipeline: pipeline, config: config)
        let alerts = try out.lines.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }
        #expect(alerts.map { $0.evidence.map(\.eventId) } == [["t1"]])
        #expect(alerts.first?.subject.value == "A")
    }

    @Test("a truncated recording replays up to its last good record, then says where it stopped")
    func truncated() async throws {
        let path = try temporaryFile("cut.vgr")
        let full = try Data(contentsOf: URL(fileURLWithPath: try fixture("sample-feed.vgr")))
        try full.prefix(full.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        let r = try await replay(.recording(path: path))
        let stopped = try #require(r.result.stoppedEarly)
        #expect(stopped.message.hasPrefix("truncated block"))
        #expect(r.result.messagesRead == stopped.recordsRead)
        #expect(r.result.messagesRead > 0 && r.result.messagesRead < 2_657)
    }

    @Test("realtime pacing follows the recorded timestamps (scaled), without changing the alerts")
    func pacing() async throws {
        let path = try temporaryFile("paced.vgr")
        let w = try RecordingWriter(path: path)
        let lines = [(0, "9000"), (300, "9100"), (600, "9200")].map { ms, amount in
            (ms, #"{"id":"p\#(ms)","ts":"2024-01-01T00:00:0\#(ms / 300)Z","amount":"\#(amount)","currency":"USD","channel":"cash","debtor":{"account":"A"},"creditor":{"account":"B"}}"#)
        }
        for (ms, line) in lines {
            try w.append(ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(ms), timestampMilliseconds: 1_000_000 + Int64(ms), value: Array(line.utf8)))
        }
        try w.close()
        let clock = ContinuousClock()
        let source = ReplaySource(input: .recording(path: path), speed: ReplaySpeed("x2")!)
        let start = clock.now
        var got = 0
        while let b = await source.nextBatch() { got += b.messages.count }
        #expect(got == 3)
        // 600 ms of recorded time at x2 takes at least 300 ms of wall time.
        #expect(clock.now - start >= .milliseconds(300))
        #expect(ReplaySpeed("realtime") == .factor(1) && ReplaySpeed("max") == .max && ReplaySpeed("x0") == nil && ReplaySpeed("fast") == nil)
    }

    @Test("a partner's copies replay byte for byte too: redacted, pseudonymised and signed the same way every time")
    func partnerGolden() async throws {
        let golden = try String(contentsOfFile: try fixture("sample-feed.default.fiu-partner.golden.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var config = VigilConfig()
        // Test-only keys, committed with the fixtures so signatures and pseudonyms are fixed.
        config.sharing.keysDirectory = try fixture("test-keys")
        let first = try await replay(.recording(path: try fixture("sample-feed.vgr")), config: config)
        let copies = first.lines.filter { $0.hasPrefix("alerts.fiu-partner ") }.map { String($0.dropFirst("alerts.fiu-partner ".count)) }
        #expect(GoldenAlerts.differences(expected: golden, actual: copies) == [])
        #expect(copies == golden)
        // Every alert scores at least the route's 0.6, and nothing is held with the keys present.
        #expect(first.result.stats.shared == 11 + 6 && first.result.stats.held == 0)
        let verifier = try SharingKeys.publicKey(file: try fixture("test-keys/signing.pub"))
        for line in copies { #expect(verifier.problem(with: Array(line.utf8)) == nil) }
        #expect(copies.allSatisfy { !$0.contains("ACC-") })
        let second = try await replay(.recording(path: try fixture("sample-feed.vgr")), config: config)
        #expect(second.lines == first.lines)
    }

    @Test("golden differences are described per alert and field")
    func differences() {
        let a = #"{"findings":[{"id":"r"}],"id":"al-1","subject":{"value":"S"},"ts":"2024-01-01T00:00:00Z","score":0.5}"#
        let b = #"{"findings":[{"id":"r"}],"id":"al-2","subject":{"value":"T"},"ts":"2024-01-01T00:00:00Z","score":0.5}"#
        let a2 = a.replacingOccurrences(of: "0.5", with: "0.7")
        #expect(GoldenAlerts.differences(expected: [a], actual: [a]) == [])
        #expect(GoldenAlerts.differences(expected: [a, b], actual: [a2]) == [
            "missing: al-2 (rule r, subject T, ts 2024-01-01T00:00:00Z)",
            "changed: al-1 score: expected 0.5, got 0.7",
        ])
        #expect(GoldenAlerts.differences(expected: [a], actual: [a, b]) == ["unexpected: al-2 (rule r, subject T, ts 2024-01-01T00:00:00Z)"])
        #expect(GoldenAlerts.differences(expected: [a, b], actual: [b, a]) == ["same alerts in another order: first difference at alert 1"])
    }
}

extension ReplayInput {
    var isJSONLines: Bool { if case .jsonLines = self { return true } else { return false } }
}

@Suite("Line reader")
struct LineReaderTests {
    @Test("lines across chunk boundaries, CRLF endings, blank lines and no final newline")
    func lines() throws {
        let path = try temporaryFile("lines.txt")
        let long = String(repeating: "x", count: 1_500_000)
        try "a\r\n\nb\n\(long)\nlast".write(toFile: path, atomically: true, encoding: .utf8)
        let reader = LineReader(try #require(FileHandle(forReadingAtPath: path)))
        var got: [String] = []
        while let line = try reader.next() { got.append(String(decoding: line, as: UTF8.self)) }
        #expect(got == ["a", "", "b", long, "last"])
    }
}

@Suite("Backtest")
struct BacktestTests {
    /// The AMLSim subset through pipelines/amlsim.yaml: the alerts and accounts the rule must
    /// produce are worked out here independently, straight from the CSV.
    @Test("backtest on an AMLSim subset: alert and account counts match an independent count; precision and recall from the labels")
    func amlsimSubset() throws {
        let config = try VigilConfig.load(file: repoRoot.appendingPathComponent("config/amlsim.yaml").path)
        let pipeline = try PipelineDefinition.load(file: repoRoot.appendingPathComponent("pipelines/amlsim.yaml").path)
        let data = try String(contentsOfFile: try fixture("amlsim/transactions.csv"), encoding: .utf8)
        let positives = try Backtest.labels(csv: try String(contentsOfFile: try fixture("amlsim/nodes.csv"), encoding: .utf8))
        let report = Backtest.run(pipeline: pipeline, config: config, messages: FeedDecoder.split(Array(data.utf8), as: .csv), file: "transactions.csv",
                                  format: .csv, positives: positives)

        // pair-repeat: a second transfer of the same pair on the same day (step) fires and uses
        // up both; a fourth fires again.
        var perPairDay: [String: Int] = [:]
        let rows = data.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",").map(String.init) }
        for r in rows { perPairDay["\(r[0]) \(r[1]) \(r[3])", default: 0] += 1 }
        let alerts = perPairDay.values.reduce(0) { $0 + $1 / 2 }
        let subjects = Set(perPairDay.filter { $0.value >= 2 }.keys.map { String($0.split(separator: " ")[0]) })
        let parties = Set(perPairDay.filter { $0.value >= 2 }.keys.flatMap { $0.split(separator: " ").prefix(2).map(String.init) })

        #expect(report.events == rows.count && report.deadLetters == 0)
        #expect(report.alerts == alerts && alerts > 0)
        let rule = try #require(report.rules.first { $0.id == "pair-repeat" })
        #expect(rule.subjects?.flagged == subjects.count)
        #expect(rule.parties?.flagged == parties.count)
        #expect(rule.parties?.truePositives == parties.intersection(positives).count)
        let recall = Double(parties.intersection(positives).count) / Double(positives.count)
        #expect(abs((rule.parties?.recall ?? 0) - recall) < 1e-9)
        #expect(report.positives == positives.count)
        let table = Backtest.table(report)
        #expect(table.contains("pair-repeat@1") && table.contains("(all rules)") && table.contains("subjects"))
    }

    @Test("backtest rows for the stages' findings: dormant accounts in the AMLSim subset, counted independently")
    func dormantAccounts() throws {
        let config = try VigilConfig.load(file: repoRoot.appendingPathComponent("config/amlsim.yaml").path)
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: dormant, version: "1" }
            rules: [{ id: huge, version: 1, kind: predicate, where: amount >= 100000000 }]
            anomaly: { id: anomaly, version: 1, threshold: 1, detectors: { baseline: 1 }, dormant: { idle: 20d } }
            """, file: "dormant.yaml")
        let data = try String(contentsOfFile: try fixture("amlsim/transactions.csv"), encoding: .utf8)
        let positives = try Backtest.labels(csv: try String(contentsOfFile: try fixture("amlsim/nodes.csv"), encoding: .utf8))
        let report = Backtest.run(pipeline: pipeline, config: config, messages: FeedDecoder.split(Array(data.utf8), as: .csv), file: "transactions.csv",
                                  format: .csv, positives: positives)
        // A payment 20 days (steps) or more after its payer's latest one before it.
        var latest: [String: Int] = [:], woke = 0, subjects = Set<String>()
        for r in data.split(whereSeparator: \.isNewline).dropFirst().map({ $0.split(separator: ",").map(String.init) }) {
            let (payer, step) = (r[0], Int(r[3])!)
            if let before = latest[payer], step - before >= 20 { woke += 1; subjects.insert(payer) }
            latest[payer] = max(latest[payer] ?? step, step)
        }
        #expect(report.rules.map(\.id) == ["huge", "anomaly", "dormant-account"])
        let row = try #require(report.rules.last)
        #expect(row.alerts == woke && woke > 0)
        #expect(row.subjects?.flagged == subjects.count && row.subjects?.truePositives == subjects.intersection(positives).count)
        #expect(Backtest.table(report).contains("dormant-account@1"))
    }

    @Test("labels: the label column is found by name or given; a file without one is refused")
    func labels() throws {
        #expect(try Backtest.labels(csv: "acct,IS_SAR\na,1\nb,0\nc,true\n") == ["a", "c"])
        #expect(try Backtest.labels(csv: "acct,x,flag\na,1,yes\nb,1,no\n", column: "flag") == ["a"])
        #expect(throws: BacktestError.self) { try Backtest.labels(csv: "acct,x\na,1\n") }
    }
}

@Suite("Hot reload")
struct HotReloadTests {
    static let structuring = """
        pipeline: { name: hot, version: "1" }
        rules:
          - { id: structuring, version: 1, kind: window, where: 'channel == "cash" and 8000 <= amount < 10000', within: 24h, having: count >= 3 }
          - { id: big, version: 1, kind: predicate, where: amount >= 50000 }
        """

    static func message(_ offset: Int64, _ id: String, _ ts: String, _ amount: String) -> ConsumedMessage {
        let json = #"{"id":"\#(id)","ts":"\#(ts)","amount":"\#(amount)","currency":"USD","channel":"cash","debtor":{"account":"A"},"creditor":{"account":"B"}}"#
        return ConsumedMessage(topic: "fin.transactions", partition: 0, offset: offset, value: Array(json.utf8))
    }

    @Test("a window spanning the reload completes when its rule is unchanged; a changed rule starts afresh")
    func stateCarriesOver() throws {
        let v1 = try PipelineDefinition.parse(Self.structuring, file: "hot.yaml")
        let topics = v1.topics(from: VigilConfig())
        let old = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
        #expect(old.process(Self.message(0, "a", "2024-01-01T08:00:00Z", "9000")).isEmpty)
        #expect(old.process(Self.message(1, "b", "2024-01-01T09:00:00Z", "9000")).isEmpty)
        // v2 changes the other rule only: structuring keeps its two deposits.
        let v2 = try PipelineDefinition.parse(Self.structuring.replacingOccurrences(of: "50000", with: "60000")
            .replacingOccurrences(of: #"version: "1""#, with: #"version: "2""#), file: "hot.yaml")
        let kept = PipelineEngine(pipeline: v2, topics: topics, limits: WindowLimits(), carryingOver: old)
        let alerts = kept.process(Self.message(2, "c", "2024-01-01T10:00:00Z", "9000")).compactMap(\.alert)
        #expect(alerts.map { $0.evidence.map(\.eventId) } == [["a", "b", "c"]])
        #expect(alerts.first?.pipeline.version == "2")
        // v3 changes the structuring rule itself: its window starts empty.
        let fresh = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
        _ = fresh.process(Self.message(0, "a", "2024-01-01T08:00:00Z", "9000"))
        _ = fresh.process(Self.message(1, "b", "2024-01-01T09:00:00Z", "9000"))
        let v3 = try PipelineDefinition.parse(Self.structuring.replacingOccurrences(of: "count >= 3", with: "count >= 2"), file: "hot.yaml")
        let changed = PipelineEngine(pipeline: v3, topics: topics, limits: WindowLimits(), carryingOver: fresh)
        #expect(changed.process(Self.message(2, "c", "2024-01-01T10:00:00Z", "9000")).isEmpty)
        #expect(changed.process(Self.message(3, "d", "2024-01-01T11:00:00Z", "9000")).compactMap(\.alert).count == 1)
    }

    @Test("a sequence and a cycle spanning the reload complete when their rules are unchanged")
    func sequenceAndCycleCarryOver() throws {
        let text = """
            pipeline: { name: hot, version: "1" }
            rules:
              - id: pass
                version: 1
                kind: sequence
                within: 48h
                steps:
                  - { where: amount >= 10000, key: creditor.account }
                  - { where: amount >= 9000, key: debtor.account }
              - { id: loop, version: 1, kind: cycle, where: amount > 0, within: 7d }
              - { id: big, version: 1, kind: predicate, where: amount >= 50000 }
            """
        func transfer(_ offset: Int64, _ ts: String, _ amount: String, _ from: String, _ to: String) -> ConsumedMessage {
            let json = #"{"id":"t\#(offset)","ts":"\#(ts)","amount":"\#(amount)","currency":"USD","channel":"wire","debtor":{"account":"\#(from)"},"creditor":{"account":"\#(to)"}}"#
            return ConsumedMessage(topic: "fin.transactions", partition: 0, offset: offset, value: Array(json.utf8))
        }
        let v1 = try PipelineDefinition.parse(text, file: "hot.yaml")
        let topics = v1.topics(from: VigilConfig())
        let old = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
        #expect(old.process(transfer(0, "2024-01-01T08:00:00Z", "25000", "S", "MID")).isEmpty)
        // v2 changes the predicate only.
        let v2 = try PipelineDefinition.parse(text.replacingOccurrences(of: "50000", with: "60000")
            .replacingOccurrences(of: #"version: "1""#, with: #"version: "2""#), file: "hot.yaml")
        let kept = PipelineEngine(pipeline: v2, topics: topics, limits: WindowLimits(), carryingOver: old)
        let passed = kept.process(transfer(1, "2024-01-01T12:00:00Z", "24000", "MID", "T")).compactMap(\.alert)
        #expect(passed.map { $0.findings[0].id } == ["pass"] && passed.first?.subject.value == "MID")
        // (T passes the money on too: a second `pass`, through T.)
        let looped = kept.process(transfer(2, "2024-01-02T08:00:00Z", "23000", "T", "S")).compactMap(\.alert)
        #expect(looped.map { $0.findings[0].id } == ["pass", "loop"])
        #expect(looped.last?.evidence.map(\.eventId) == ["t0", "t1", "t2"])
    }

    @Test("a running pipeline reloaded between batches: scoring and rules switch together; baselines carry over unless their section changed")
    func runningReloadWithScoring() async throws {
        // Forty ordinary card payments of A (and of others), then A pays a large sum to a
        // stranger: unusual only against A's history, so only a baseline that lived through the
        // reload raises the anomaly finding.
        func payment(_ n: Int, _ from: String, _ to: String, _ amount: String, minutes: Int) -> ConsumedMessage {
            let ts = EventTime(rfc3339: "2024-06-01T00:00:00Z")! + .seconds(minutes * 60)
            let json = #"{"id":"t\#(n)","ts":"\#(ts.rfc3339)","amount":"\#(amount)","currency":"EUR","channel":"card","debtor":{"account":"\#(from)"},"creditor":{"account":"\#(to)"}}"#
            return ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(n), value: Array(json.utf8))
        }
        var ordinary: [ConsumedMessage] = []
        for i in 0..<40 {
            ordinary.append(payment(2 * i, "A", "SHOP-\(i % 3)", "\(40 + i % 9).50", minutes: i * 90))
            ordinary.append(payment(2 * i + 1, "B\(i % 5)", "SHOP-\(i % 4)", "\(30 + i % 11).00", minutes: i * 90 + 5))
        }
        let unusual = payment(200, "A", "STRANGER", "9500.00", minutes: 40 * 90)
        let text = """
            pipeline: { name: hot, version: "1" }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 1000000 }
            anomaly: { id: anomaly, version: 2, threshold: 0.7, detectors: { baseline: 1.0 }, tick: 1h }
            """
        let v1 = try PipelineDefinition.parse(text, file: "hot.yaml")
        let bumped = text.replacingOccurrences(of: #"version: "1""#, with: #"version: "2""#)
        let v2 = try PipelineDefinition.parse(bumped.replacingOccurrences(of: "1000000", with: "2000000"), file: "hot.yaml")
        let v3 = try PipelineDefinition.parse(bumped.replacingOccurrences(of: "tick: 1h", with: "tick: 2h"), file: "hot.yaml")
        for (next, keeps) in [(v2, true), (v3, false)] {
            let found = try await scriptedRun(v1) { source, runner in
                await source.send(ordinary)
                // Reloaded once the first batch is through every stage, so the next one meets the new pipeline.
                while runner.stats.completed < ordinary.count { try await Task.sleep(for: .milliseconds(5)) }
                try runner.reload(next, topics: next.topics(from: VigilConfig()))
                await source.send([unusual])
            }.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }
            #expect(found.count == (keeps ? 1 : 0), "keeps: \(keeps)")
            #expect(found.allSatisfy { $0.pipeline.version == "2" && $0.findings.map(\.kind) == [.anomaly] && $0.evidence.map(\.eventId) == ["t200"] })
        }
    }

    @Test("a rebalance that leaves the partition with its worker: the records re-read to rebuild state change nothing, the alerts are those of a run without it")
    func rebalanceKeepsState() async throws {
        let feed = generatedRecords(4_000)
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: rebalanced, version: "1" }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 20000 }
              - { id: deposits, version: 1, kind: window, where: 'channel == "cash"', within: 24h, having: count >= 2 }
            anomaly: { id: anomaly, version: 1, threshold: 0.8, detectors: { baseline: 0.7, edge: 0.3 }, tick: 1h }
            """, file: "rebalanced.yaml")
        func run(rebalance: Bool) async throws -> [String] {
            try await scriptedRun(pipeline) { source, runner in
                await source.send(Array(feed[..<2_000]))
                while runner.stats.completed < 2_000 { try await Task.sleep(for: .milliseconds(5)) }
                if rebalance {
                    source.rebalance()
                    // The state rewind: what came before the committed offset, again, to rebuild state.
                    await source.send(feed[..<2_000].map { var m = $0; m.isStateReplay = true; return m })
                }
                await source.send(Array(feed[2_000...]))
            }
        }
        let plain = try await run(rebalance: false)
        let rebalanced = try await run(rebalance: true)
        #expect(plain.filter { $0.contains(#""kind":"anomaly""#) }.count > 1 && plain.contains { $0.contains(#""id":"deposits""#) })
        expectSameAlerts(rebalanced, plain)
    }

    @Test("anomaly scores do not depend on how a worker's partitions are interleaved: a partition at a time or a batch of each in turn, the same alerts")
    func anomalyIndependentOfInterleaving() async throws {
        let perPartition = debtorKeyedRecords(6_000, partitions: 4)
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: interleaved, version: "1" }
            rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
            anomaly: { id: anomaly, version: 1, threshold: 0.8, detectors: { baseline: 0.6, edge: 0.2, hst: 0.2 }, tick: 1h }
            """, file: "interleaved.yaml")
        func alerts(_ batches: [[ConsumedMessage]]) async throws -> [String] {
            // Published in the order the partitions came; compared as sets of alerts.
            try await scriptedRun(pipeline) { source, _ in for batch in batches { await source.send(batch) } }.sorted()
        }
        let oneAtATime = try await alerts(perPartition)
        let chunks = perPartition.map { p in stride(from: 0, to: p.count, by: 97).map { Array(p[$0..<min($0 + 97, p.count)]) } }
        let turns = (0..<chunks.map(\.count).max()!).flatMap { i in chunks.compactMap { i < $0.count ? $0[i] : nil } }
        let inTurn = try await alerts(turns)
        #expect(oneAtATime.filter { $0.contains(#""kind":"anomaly""#) }.count > 5)
        expectSameAlerts(inTurn, oneAtATime)
    }

    @Test("with a state directory a restart goes on with the baselines learnt before it, after a clean stop or from a checkpoint: the alerts are those of a run without the restart")
    func restartKeepsBaselines() async throws {
        let feed = generatedRecords(4_000)
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: restarted, version: "1" }
            rules:
              - { id: deposits, version: 1, kind: window, where: 'channel == "cash"', within: 24h, having: count >= 2 }
            anomaly: { id: anomaly, version: 1, threshold: 0.8, detectors: { baseline: 0.6, edge: 0.2, hst: 0.2 }, tick: 1h }
            """, file: "restarted.yaml")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let snapshot = (directory as NSString).appendingPathComponent("scoring-fin.transactions-0.state")
        /// One runner over `messages`; its alerts.
        func run(_ messages: [ConsumedMessage], state: ScoringState?) async throws -> [String] {
            var options = PipelineRunner.Options(workers: 1)
            options.state = state
            return try await scriptedRun(pipeline, options: options) { source, _ in await source.send(messages) }
        }
        // After the restart the state rewind re-reads the last of what came before, to rebuild
        // the windows (their length and an hour): far less than a baseline's history.
        let replayed = feed[1_500..<2_000].map { var m = $0; m.isStateReplay = true; return m }
        func state() -> ScoringState {
            ScoringState(directory: directory, pipeline: pipeline, limits: WindowLimits(), checkpointInterval: nil, logger: Logger(label: "test"))
        }
        let plain = try await run(feed, state: nil)
        let metrics = PipelineMetrics()
        let before = try await run(Array(feed[..<2_000]), state: ScoringState(directory: directory, pipeline: pipeline, limits: WindowLimits(),
                                                                            checkpointInterval: nil, logger: Logger(label: "test"), metrics: metrics))
        #expect(FileManager.default.fileExists(atPath: snapshot), "a clean stop keeps the state")
        let exposed = String(decoding: metrics.render(), as: UTF8.self)
        #expect(exposed.contains(#"vigil_state_writes_total{kind="kept",outcome="written"} 1"#), "\(exposed)")
        #expect(exposed.contains(#"vigil_state_snapshot_bytes{worker="1"}"#))
        let restarted = state()
        // Nothing to re-read after a clean stop: the state has learnt up to the committed offset.
        #expect(restarted.replayFrom(TopicPartition("fin.transactions", 0)) == 2_000)
        let after = try await run(replayed + feed[2_000...], state: restarted)
        #expect(plain.filter { $0.contains(#""kind":"anomaly""#) }.count > 1 && plain.contains { $0.contains(#""id":"deposits""#) })
        expectSameAlerts(before + after, plain)

        // A crash at 2,000 with 1,800 committed, the last checkpoint at 1,500: the restart loads
        // the checkpoint and the consumer re-reads from where it ends (the records up to 1,800 as
        // state, the rest again), so from 1,800 on it alerts as the run that did not stop.
        try FileManager.default.removeItem(atPath: directory)
        _ = try await run(Array(feed[..<1_500]), state: state())
        let checkpoint = state()
        let from = try #require(checkpoint.replayFrom(TopicPartition("fin.transactions", 0)))
        #expect(from == 1_500)
        // The windows' rewind (a day and an hour) reaches further back, from 1,000; the records the
        // checkpoint holds are not learnt twice.
        let reread = feed[min(1_000, Int(from))..<1_800].map { var m = $0; m.isStateReplay = true; return m }
        let recovered = try await run(reread + feed[1_800...], state: checkpoint)
        let offsets = try plain.map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)) }.map { $0.evidence.map(\.offset).max() ?? 0 }
        #expect(recovered.filter { $0.contains(#""kind":"anomaly""#) }.count > 1)
        expectSameAlerts(recovered, zip(plain, offsets).filter { $0.1 >= 1_800 }.map(\.0))

        // Without the state the restarted baselines know only what the rewind re-read, and the
        // alerts after it differ.
        let forgetful = try await run(Array(feed[..<2_000]), state: nil) + (try await run(replayed + feed[2_000...], state: nil))
        let same = forgetful == plain
        #expect(!same)
    }

    @Test("a finding outlives the remembered batches while its record is not committed, and goes once it is")
    func findingsHeldUntilCommitted() throws {
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: held, version: "1" }
            rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
            anomaly: { id: anomaly, version: 1, threshold: 0.6, detectors: { baseline: 1 } }
            """, file: "held.yaml")
        let messages = generatedRecords(3_000)
        let decoded = messages.map { InputDecoding.json($0.value) }
        let position = Locked([TopicPartition: Int64]())
        let scorers = Scorers(pipeline: pipeline, limits: WindowLimits(), recentBatches: 1, carryingOver: nil,
                              committedPosition: { tp in position.withLock { $0[tp] } })
        var first: [MessageScores] = []
        for start in stride(from: 0, to: 3_000, by: 100) { first += scorers.scores(messages[start..<start + 100], decoded: decoded[start..<start + 100]) }
        /// The findings, message by message (a redelivery without one gets none at all).
        func findings(_ scores: some Collection<MessageScores>) -> [MessageScores?] { scores.map { $0.hasFindings ? $0 : nil } }
        #expect(first.filter(\.hasFindings).count > 10)
        // Nothing committed: every finding comes back with its record, far past the one batch remembered.
        #expect(findings(scorers.scores(messages[..<1_000], decoded: decoded[..<1_000])) == findings(first[..<1_000]))
        // Committed up to 2,000: those findings go, the later ones stay.
        position.withLock { $0[TopicPartition("fin.transactions", 0)] = 2_000 }
        _ = scorers.scores(messages[2_900...], decoded: decoded[2_900...])
        #expect(!scorers.scores(messages[..<2_000], decoded: decoded[..<2_000]).contains { $0.hasFindings })
        #expect(findings(scorers.scores(messages[2_000...], decoded: decoded[2_000...])) == findings(first[2_000...]))
    }

    @Test("a scoring snapshot reads back whole, and one that is damaged, cut short or taken under another anomaly section is refused with the reason")
    func scoringSnapshotRefusals() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ScoringSnapshots(directory: directory)
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: p, version: "1" }
            rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
            anomaly: { id: anomaly, version: 1, threshold: 0.6, detectors: { baseline: 1 } }
            """, file: "p.yaml")
        let scorers = Scorers(pipeline: pipeline, limits: WindowLimits(), carryingOver: nil)
        let messages = generatedRecords(3_000)
        let decoded = messages.map { InputDecoding.json($0.value) }
        _ = scorers.scores(messages[..<2_000], decoded: decoded[..<2_000])
        let partition = TopicPartition("fin.transactions", 0)
        let snapshots = try scorers.snapshots()
        #expect(Array(snapshots.keys) == [partition])
        let state = try #require(snapshots[partition])
        try store.save(state, partition)
        #expect(store.files() == [store.path(partition)])
        #expect(try store.load(store.path(partition)) == state)
        #expect(try Scorers.scoredOffset(in: state, pipeline: pipeline, limits: WindowLimits()) == (partition, 1_999))
        // Restored, the copy scores what comes next as the original does.
        let copy = Scorers(pipeline: pipeline, limits: WindowLimits(), carryingOver: nil)
        try copy.restore(state)
        let next = copy.scores(messages[2_000...], decoded: decoded[2_000...])
        #expect(next.contains { $0.hasFindings })
        #expect(next == scorers.scores(messages[2_000...], decoded: decoded[2_000...]))
        #expect(throws: StateError("checksum does not match (the file is damaged or cut short)")) {
            try ScoringSnapshots.unwrap(Array(ScoringSnapshots.wrap(state).dropLast()))
        }
        #expect(throws: StateError("not a Vigil scoring snapshot")) { try ScoringSnapshots.unwrap(Array("{}".utf8)) }
        // A file of the first form (one per worker, until 2026-12-06) is recognised as such.
        var first = StateWriter()
        first.write(UInt64(1))
        first.write(bytes: state)
        first.write(UInt64(CRC32.of(state)))
        #expect(throws: StateError("snapshot form 1; this build reads form 2")) { try ScoringSnapshots.unwrap(ScoringSnapshots.magic + first.bytes) }
        let other = try PipelineDefinition.parse("""
            pipeline: { name: p, version: "1" }
            rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
            anomaly: { id: anomaly, version: 1, threshold: 0.7, detectors: { baseline: 1 } }
            """, file: "p.yaml")
        #expect {
            try Scorers(pipeline: other, limits: WindowLimits(), carryingOver: nil).restore(state)
        } throws: { ($0 as? StateError)?.description.hasPrefix("taken under another anomaly section") == true }
        #expect(throws: StateError.self) { try copy.restore(Array(state.dropLast(9))) }
    }

    @Test("the scoring state is kept per partition: a restart with another number of workers goes on with every partition's baselines")
    func snapshotsFollowPartitions() async throws {
        let pipeline = try PipelineDefinition.parse("""
            pipeline: { name: rescaled, version: "1" }
            rules: [{ id: big, version: 1, kind: predicate, where: amount >= 50000 }]
            anomaly: { id: anomaly, version: 1, threshold: 0.8, detectors: { baseline: 0.6, edge: 0.2, hst: 0.2 }, tick: 1h }
            """, file: "rescaled.yaml")
        let perPartition = debtorKeyedRecords(6_000, partitions: 4)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func state() -> ScoringState {
            ScoringState(directory: directory, pipeline: pipeline, limits: WindowLimits(), checkpointInterval: nil, logger: Logger(label: "test"))
        }
        /// The alerts of one runner over `batches`, as a set (several workers publish in any order).
        func run(_ batches: [[ConsumedMessage]], workers: Int, state: ScoringState?) async throws -> [String] {
            var options = PipelineRunner.Options(workers: workers)
            options.state = state
            return try await scriptedRun(pipeline, options: options) { source, _ in for batch in batches { await source.send(batch) } }.sorted()
        }
        let plain = try await run(perPartition, workers: 1, state: nil)
        let firstHalves = perPartition.map { Array($0[..<($0.count / 2)]) }, secondHalves = perPartition.map { Array($0[($0.count / 2)...]) }
        let before = try await run(firstHalves, workers: 1, state: state())
        #expect(ScoringSnapshots(directory: directory).files().count == 4)
        let restarted = ScoringState(directory: directory, pipeline: pipeline, limits: WindowLimits(), checkpointInterval: nil,
                                     logger: Logger(label: "test"), unscored: ["fin.transactions-by-creditor.account"])
        for (p, half) in firstHalves.enumerated() { #expect(restarted.replayFrom(TopicPartition("fin.transactions", Int32(p))) == Int64(half.count)) }
        // A partition no snapshot holds is read from its oldest record; a re-keying topic's copies are not scored, so not re-read.
        #expect(restarted.replayFrom(TopicPartition("fin.transactions", 4)) == 0)
        #expect(restarted.replayFrom(TopicPartition("fin.transactions-by-creditor.account", 0)) == nil)
        let after = try await run(secondHalves, workers: 2, state: restarted)
        #expect(plain.filter { $0.contains(#""kind":"anomaly""#) }.count > 5)
        expectSameAlerts((before + after).sorted(), plain)
        // Without the state the second run's baselines start empty, and it alerts otherwise.
        let forgetful = try await run(secondHalves, workers: 2, state: nil)
        #expect((before + forgetful).sorted() != plain)
    }

    @Test("a party flagged before the reload is found on a booking after it, when the correlation rule is unchanged")
    func correlationCarriesOver() throws {
        let text = """
            pipeline: { name: hot, version: "1" }
            inputs:
              - { topic: fin.transactions, format: json }
              - { topic: pax.events, format: json }
            rules:
              - { id: structuring, version: 1, kind: window, where: 'channel == "cash" and 8000 <= amount < 10000', within: 24h, having: count >= 3 }
              - { id: travels, version: 1, kind: correlation, flagged-by: [structuring], within: 30d }
              - { id: big, version: 1, kind: predicate, where: amount >= 50000 }
            """
        func deposit(_ offset: Int64, _ hour: Int) -> ConsumedMessage {
            let json = #"{"id":"d\#(offset)","ts":"2024-01-01T\#(10 + hour):00:00Z","amount":"9500","currency":"USD","channel":"cash","debtor":{"account":"A","idNumber":"P5551234"},"creditor":{"account":"BANK"}}"#
            return ConsumedMessage(topic: "fin.transactions", partition: 0, offset: offset, value: Array(json.utf8))
        }
        let booking = #"{"id":"p1","ts":"2024-01-05T10:00:00Z","kind":"pnr","traveller":{"surname":"DOE","given":"JANE","documents":[{"type":"P","number":"P5551234"}]},"flights":[{"carrier":"XY","number":"123","from":"LHR","to":"IST","departure":"2024-01-20T10:00:00Z"}],"booking":{"locator":"ABC123","createdAt":"2024-01-05T10:00:00Z"}}"#
        let v1 = try PipelineDefinition.parse(text, file: "hot.yaml")
        let topics = v1.topics(from: VigilConfig())
        let old = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
        let flagged = (0..<3).flatMap { old.process(deposit(Int64($0), $0 * 2)) }.compactMap(\.alert)
        #expect(flagged.map { $0.findings[0].id } == ["structuring"])
        let v2 = try PipelineDefinition.parse(text.replacingOccurrences(of: "50000", with: "60000")
            .replacingOccurrences(of: #"version: "1""#, with: #"version: "2""#), file: "hot.yaml")
        let kept = PipelineEngine(pipeline: v2, topics: topics, limits: WindowLimits(), carryingOver: old)
        let found = kept.process(ConsumedMessage(topic: "pax.events", partition: 0, offset: 0, value: Array(booking.utf8))).compactMap(\.alert)
        #expect(found.map { $0.findings[0].id } == ["travels"])
    }

    @Test("a partner's changed field policy applies from the reload on, and the window state carries over")
    func partnerPolicyReload() throws {
        func pipeline(_ version: String, value treatment: String) throws -> PipelineDefinition {
            try PipelineDefinition.parse(Self.structuring.replacingOccurrences(of: #"version: "1""#, with: #"version: "\#(version)""#) + """

                partners:
                  - name: fiu
                    tlp: [TLP:AMBER]
                    purposes: [aml-investigation]
                    fields: { subject.value: \(treatment), findings.explanation: redact, evidence: pass }
                """, file: "hot.yaml")
        }
        let keys = SharingKeys(signer: try AlertSigner(privateKey: .init(repeating: 5, count: 32)))
        let v1 = try pipeline("1", value: "pass"), v2 = try pipeline("2", value: "redact")
        let topics = v1.topics(from: VigilConfig())
        #expect(v2.topics(from: VigilConfig()) == topics)
        let old = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits(), keys: keys)
        _ = old.process(Self.message(0, "a", "2024-01-01T08:00:00Z", "9000"))
        _ = old.process(Self.message(1, "b", "2024-01-01T09:00:00Z", "9000"))
        let new = PipelineEngine(pipeline: v2, topics: topics, limits: WindowLimits(), keys: keys, carryingOver: old)
        let copies = new.process(Self.message(2, "c", "2024-01-01T10:00:00Z", "9000")).compactMap { o -> Alert? in
            if case .shared(let d) = o.kind { return d.alert } else { return nil }
        }
        #expect(copies.count == 1)
        #expect(copies.first?.evidence.map(\.eventId) == ["a", "b", "c"])
        #expect(copies.first?.subject.value == nil && copies.first?.redactions?["subject.value"] == "redact")
        #expect(copies.first?.pipeline.version == "2")
    }

    @Test("the reloader swaps in a valid change, rejects an invalid one with its location, and a change of topics")
    func reloader() throws {
        let path = try temporaryFile("hot.yaml")
        try Self.structuring.write(toFile: path, atomically: true, encoding: .utf8)
        let v1 = try PipelineDefinition.load(file: path)
        let config = VigilConfig()
        let runner = PipelineRunner(pipeline: v1, topics: v1.topics(from: config), options: .init(workers: 1),
                                    source: ReplaySource(input: .jsonLines(path: path, topic: "unused")), sink: CallbackSink { _ in },
                                    logger: logger)
        let reloader = PipelineReloader(file: path, config: config, runner: runner, logger: logger)
        #expect(reloader.check() == .unchanged)

        try Self.structuring.replacingOccurrences(of: "amount >= 50000", with: "amout >= 50000").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .rejected(let reason) = reloader.check() else { Issue.record("an invalid pipeline was accepted"); return }
        #expect(reason.contains("hot.yaml:4:") && reason.contains("unknown field 'amout'"))
        #expect(runner.pipeline.rules.definitions.map(\.condition).contains("amount >= 50000"))
        #expect(reloader.check() == .unchanged)   // reported once

        try Self.structuring.replacingOccurrences(of: #"version: "1""#, with: #"version: "2""#).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(reloader.check() == .reloaded("hot@2"))
        #expect(runner.pipeline.version == "2")

        try (Self.structuring + "\ntopics: { alerts: alerts.other }\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .rejected(let topics) = reloader.check() else { Issue.record("a change of topics was accepted"); return }
        #expect(topics.contains("needs a restart"))
        #expect(runner.pipeline.version == "2")

        // A new partner brings a topic of its own: also a restart.
        try (Self.structuring + "\npartners:\n  - { name: newcomer, tlp: [TLP:AMBER], purposes: [aml-investigation], fields: { evidence: pass } }\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        guard case .rejected(let partner) = reloader.check() else { Issue.record("a new partner topic was accepted"); return }
        #expect(partner.contains("needs a restart"))
    }

    @Test("a rotated signing key is taken up at the next check, with the pipeline unchanged")
    func reloaderTakesUpRotatedKey() throws {
        let path = try temporaryFile("hot.yaml")
        try Self.structuring.write(toFile: path, atomically: true, encoding: .utf8)
        let keys = try temporaryFile("keys")
        _ = try SharingKeys.generate(in: keys, partners: [])
        let pipeline = try PipelineDefinition.load(file: path)
        var config = VigilConfig()
        config.sharing.keysDirectory = keys
        var options = PipelineRunner.Options(workers: 1)
        options.keysDirectory = keys
        let runner = PipelineRunner(pipeline: pipeline, topics: pipeline.topics(from: config), options: options,
                                    source: ReplaySource(input: .jsonLines(path: path, topic: "unused")), sink: CallbackSink { _ in },
                                    logger: logger)
        let reloader = PipelineReloader(file: path, config: config, runner: runner, logger: logger)
        let before = try #require(runner.signingKeyID)
        #expect(reloader.check() == .unchanged)
        let (retired, current) = try SharingKeys.rotate(in: keys)
        #expect(retired == before)
        #expect(reloader.check() == .reloaded("hot@1"))
        #expect(runner.signingKeyID == current)
        #expect(reloader.check() == .unchanged)
    }
}


/// A source fed by the test, batch by batch, on a single partition; its assignment changes
/// when the test says so.
private final class ScriptedSource: RecordSource {
    private let batches = AsyncBoundedQueue<ConsumerBatch>(capacity: 4)
    private let assignment = Locked<(generation: Int, handler: (@Sendable (Int?) -> Void)?)>((0, nil))

    func send(_ messages: [ConsumedMessage]) async { await batches.send(ConsumerBatch(generation: generation, messages: messages)) }
    func finish() { batches.finish() }
    /// A rebalance that gives the partition back to this worker: revoked, then assigned anew.
    func rebalance() {
        let (generation, handler) = assignment.withLock { a in
            a.generation += 1
            return (a.generation, a.handler)
        }
        handler?(nil)
        handler?(generation)
    }

    func nextBatch() async -> ConsumerBatch? { await batches.receive() }
    var generation: Int { assignment.value.generation }
    func store(_ offsets: [TopicPartition: Int64]) {}
    func stop() { batches.finish() }
    func commit() {}
    func close() {}
    func onGenerationChange(_ handler: @escaping @Sendable (Int?) -> Void) { assignment.withLock { $0.handler = handler } }
}
