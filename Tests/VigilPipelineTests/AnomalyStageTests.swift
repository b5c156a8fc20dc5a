import Foundation
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline

/// The `anomaly:` stage: payments scored by online detectors, findings with their detectors'
/// scores and features, combined by typologies when the pipeline has them.
@Suite("Anomaly stage")
struct AnomalyStageTests {
    static func pipeline(_ extra: String = "", detectors: String = "{ baseline: 1.0 }") -> String {
        """
        pipeline: { name: unusual, version: "1" }
        rules:
          - { id: big, version: 1, kind: predicate, where: amount >= 1000000 }
        anomaly:
          id: anomaly
          version: 2
          threshold: 0.7
          detectors: \(detectors)
          tick: 1h
        \(extra)
        """
    }

    static func message(_ n: Int, from: String, to: String, amount: String, minutes: Int) -> ConsumedMessage {
        let ts = EventTime(rfc3339: "2024-06-01T00:00:00Z")! + .seconds(minutes * 60)
        let json = #"{"id":"t\#(n)","ts":"\#(ts.rfc3339)","amount":"\#(amount)","currency":"EUR","channel":"card","debtor":{"account":"\#(from)"},"creditor":{"account":"\#(to)"}}"#
        return ConsumedMessage(topic: "fin.transactions", partition: 0, offset: Int64(n), value: Array(json.utf8))
    }

    /// Forty ordinary card payments of A (and of others), then A moves a large sum to a stranger.
    static var stream: [ConsumedMessage] {
        var out: [ConsumedMessage] = []
        for i in 0..<40 {
            out.append(message(2 * i, from: "A", to: "SHOP-\(i % 3)", amount: "\(40 + i % 9).50", minutes: i * 90))
            out.append(message(2 * i + 1, from: "B\(i % 5)", to: "SHOP-\(i % 4)", amount: "\(30 + i % 11).00", minutes: i * 90 + 5))
        }
        out.append(message(200, from: "A", to: "STRANGER", amount: "9500.00", minutes: 40 * 90))
        return out
    }

    @Test("an unusual payment raises one finding with its detectors' scores and features; ordinary ones do not")
    func finding() throws {
        let p = try PipelineDefinition.parse(Self.pipeline(), file: "unusual.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        let alerts = Self.stream.flatMap { engine.process($0).compactMap(\.alert) }
        #expect(alerts.count == 1)
        let a = try #require(alerts.first)
        #expect(a.findings.map(\.kind) == [.anomaly])
        #expect(a.findings[0].id == "anomaly" && a.findings[0].version == 2)
        #expect(a.subject == Alert.Subject(field: "debtor.account", value: "A"))
        #expect(a.evidence.map(\.eventId) == ["t200"])
        let why = a.findings[0].explanation
        #expect(why.contains("amount-vs-history") && why.contains("new-counterparty 1.0"))
        #expect(a.score >= 0.7)
    }

    @Test("every detector together; a replay gives the same alerts, byte for byte")
    func deterministic() throws {
        let p = try PipelineDefinition.parse(Self.pipeline("  trees: { count: 5, height: 6, window: 20, features: [amount, weekday, hour] }",
                                                           detectors: "{ baseline: 0.6, edge: 0.3, hst: 0.1 }"), file: "unusual.yaml")
        #expect(p.anomaly?.weights.count == 3)
        #expect(p.anomaly?.treeFeatures == [.amount, .weekday, .hour] && p.anomaly?.trees.trees == 5)
        let bad = #expect(throws: ConfigError.self) {
            try PipelineDefinition.parse(Self.pipeline("  trees: { features: [colour] }"), file: "u.yaml")
        }
        #expect(bad?.description.contains("no tree feature 'colour'") == true)
        func run() -> [[UInt8]] {
            let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
            return Self.stream.flatMap { engine.process($0).compactMap(\.alert?.canonicalJSON) }
        }
        let first = run()
        #expect(first == run())
    }

    @Test("a reload that leaves the anomaly section alone keeps what the detectors learnt; a changed one starts afresh")
    func reloadKeepsBaselines() throws {
        let v1 = try PipelineDefinition.parse(Self.pipeline(), file: "unusual.yaml")
        let v2 = try PipelineDefinition.parse(Self.pipeline().replacingOccurrences(of: "1000000", with: "2000000"), file: "unusual.yaml")
        let v3 = try PipelineDefinition.parse(Self.pipeline().replacingOccurrences(of: "tick: 1h", with: "tick: 2h"), file: "unusual.yaml")
        let topics = v1.topics(from: VigilConfig())
        let stream = Self.stream
        for (next, keeps) in [(v2, true), (v3, false)] {
            let before = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
            for m in stream.dropLast() { _ = before.process(m) }
            let after = PipelineEngine(pipeline: next, topics: topics, limits: WindowLimits(), carryingOver: before)
            let alerts = after.process(stream.last!).compactMap(\.alert)
            #expect(alerts.count == (keeps ? 1 : 0), "keeps: \(keeps)")
        }
    }

    @Test("typologies weigh anomaly findings like rule findings; a pipeline where none does is refused")
    func typologies() throws {
        let typed = Self.pipeline("""
            typologies:
              - { id: unusual-and-big, version: 1, rules: { anomaly: 0.5, big: 0.5 }, threshold: 0.3 }
            """)
        let p = try PipelineDefinition.parse(typed, file: "unusual.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        let alerts = Self.stream.flatMap { engine.process($0).compactMap(\.alert) }
        #expect(alerts.map { $0.findings.map(\.id) } == [["unusual-and-big", "anomaly"]])

        let unweighted = Self.pipeline("""
            typologies:
              - { id: only-big, version: 1, rules: { big: 1.0 }, threshold: 0.5 }
            """)
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(unweighted, file: "unusual.yaml") }
        #expect(e?.description.contains("none weighs 'anomaly'") == true)
        let zero = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(Self.pipeline(detectors: "{ hst: 0 }"), file: "u.yaml") }
        #expect(zero?.description.contains("no detector has a weight above 0") == true)
        let unknown = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(Self.pipeline(detectors: "{ forest: 1 }"), file: "u.yaml") }
        #expect(unknown?.line == 8)
    }

    @Test("the baseline remembers at most the runtime's max-keys accounts, the least recently active going first")
    func accountBound() throws {
        // Six debtors; with room for one, A's history is forgotten whenever another pays, so its
        // large payment to a stranger is measured against everyone, not against its own habits.
        let p = try PipelineDefinition.parse(Self.pipeline(), file: "unusual.yaml")
        func explanations(maxKeys: Int) -> [String] {
            var limits = WindowLimits()
            limits.maxKeys = maxKeys
            let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: limits)
            return Self.stream.flatMap { engine.process($0).compactMap(\.alert) }.map(\.findings[0].explanation)
        }
        #expect(explanations(maxKeys: 6).contains { $0.contains("new-counterparty") })
        #expect(!explanations(maxKeys: 1).contains { $0.contains("new-counterparty") })
    }
}
