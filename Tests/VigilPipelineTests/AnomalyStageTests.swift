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

    // MARK: Dormant accounts

    /// A payment of `from` to `to` on a day of 2024 (day 1 is 1 January), as a message.
    static func payment(_ n: Int, from: String, to: String, amount: String, day: Int) -> ConsumedMessage {
        message(n, from: from, to: to, amount: amount, minutes: (day - 153) * 1_440)
    }

    /// Accounts that paid three times in the first days of January, then pay again on 1 August
    /// (day 214): after 211 days D pays a stranger 6,000; E pays as much after a pause of 150
    /// days; F pays 100 after 211; G pays for the first time; H pays a shop it paid before.
    static var dormancyStream: [ConsumedMessage] {
        var out: [ConsumedMessage] = []
        for (i, account) in ["D", "E", "F", "H"].enumerated() {
            for day in 1...3 { out.append(payment(10 * i + day, from: account, to: "SHOP-\(account)", amount: "50.00", day: day)) }
        }
        out.append(payment(100, from: "E-LATE", to: "SHOP-E", amount: "50.00", day: 64))
        for day in 1...3 { out.append(payment(100 + day, from: "E-LATE", to: "SHOP-E", amount: "50.00", day: 61 + day)) }
        out.append(payment(200, from: "E-LATE", to: "STRANGER", amount: "6000.00", day: 214))
        out.append(payment(201, from: "D", to: "STRANGER", amount: "6000.00", day: 214))
        out.append(payment(202, from: "F", to: "STRANGER", amount: "100.00", day: 214))
        out.append(payment(203, from: "G", to: "STRANGER", amount: "6000.00", day: 214))
        out.append(payment(204, from: "H", to: "SHOP-H", amount: "6000.00", day: 214))
        return out
    }

    static func dormancyPipeline(_ dormant: String, extra: String = "") -> String {
        pipeline("  dormant: \(dormant)\n\(extra)").replacingOccurrences(of: "threshold: 0.7", with: "threshold: 1")
    }

    /// The dormancy findings of a run over ``dormancyStream``, as (debtor, explanation).
    static func dormant(_ p: PipelineDefinition, id: String = "dormant-account") -> [(String, String)] {
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        return dormancyStream.flatMap { engine.process($0).compactMap(\.alert) }
            .flatMap { a in a.findings.filter { $0.id == id }.map { (a.subject.value ?? "", $0.explanation) } }
    }

    @Test("an account that paid before, then nothing for the idle span, raises a finding when it pays again; a new account, a shorter pause, a payment that does not count do not")
    func dormantAccount() throws {
        let p = try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 180d, where: amount >= 5000 }"), file: "dormant.yaml")
        #expect(p.anomaly?.dormant?.idle == .seconds(180 * 86_400) && p.anomaly?.dormant?.id == "dormant-account")
        let found = Self.dormant(p)
        #expect(found.map(\.0) == ["D", "H"])
        #expect(found.first?.1 == "debtor D paid 6000 EUR after 211 days without a payment (its last of 3 on 2024-01-03T00:00:00Z), "
            + "to STRANGER, which it had not paid among the last 16 it paid: idle ≥ 180 days, amount >= 5000")
        #expect(found.last?.1.contains("to SHOP-H, which it had paid before") == true)
        // E-LATE paid until 3 March: 150 days. With a shorter idle span it counts, and without
        // the condition F's 100 does too.
        #expect(Self.dormant(try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 150d, where: amount >= 5000 }"), file: "d.yaml")).map(\.0)
            == ["E-LATE", "D", "H"])
        #expect(Self.dormant(try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 180d }"), file: "d.yaml")).map(\.0) == ["D", "F", "H"])
        // Only to a payee it has not paid: H paid its shop before.
        let newPayee = try PipelineDefinition.parse(Self.dormancyPipeline("{ id: woke, version: 3, new-payee: true, score: 0.6 }"), file: "d.yaml")
        let engine = PipelineEngine(pipeline: newPayee, topics: newPayee.topics(from: VigilConfig()), limits: WindowLimits())
        let alerts = Self.dormancyStream.flatMap { engine.process($0).compactMap(\.alert) }.filter { $0.findings.contains { $0.id == "woke" } }
        #expect(alerts.map(\.subject.value) == ["D", "F"])
        let d = try #require(alerts.first)
        #expect(d.findings.map(\.kind) == [.anomaly] && d.findings[0].version == 3 && d.findings[0].score == 0.6)
        #expect(d.findings[0].explanation.hasSuffix(": idle ≥ 180 days, a new payee"))
        #expect(d.evidence.map(\.eventId) == ["t201"])
    }

    @Test("typologies weigh dormancy findings; a section without the baseline, a short idle span, a bad condition or a taken id are refused where they are")
    func dormantAccountConfiguration() throws {
        let typed = Self.dormancyPipeline("{ where: amount >= 5000 }", extra: """
            typologies:
              - { id: woken, version: 1, rules: { dormant-account: 1 }, threshold: 1 }
              - { id: unusual, version: 1, rules: { anomaly: 1 }, threshold: 1 }
            """)
        let p = try PipelineDefinition.parse(typed, file: "d.yaml")
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        let alerts = Self.dormancyStream.flatMap { engine.process($0).compactMap(\.alert) }
        #expect(alerts.filter { $0.findings[0].id == "woken" }.map { $0.findings.map(\.id) } == [["woken", "dormant-account"], ["woken", "dormant-account"]])
        let unweighted = Self.dormancyPipeline("{ idle: 180d }", extra: """
            typologies:
              - { id: t, version: 1, rules: { anomaly: 1 }, threshold: 0.5 }
            """)
        #expect(throws: ConfigError.self) { try PipelineDefinition.parse(unweighted, file: "d.yaml") }
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(unweighted, file: "d.yaml") }
        #expect(e?.description.contains("none weighs 'dormant-account'") == true)

        func refusal(_ yaml: String) -> ConfigError? { #expect(throws: ConfigError.self) { try PipelineDefinition.parse(yaml, file: "d.yaml") } }
        let noBaseline = refusal(Self.pipeline("  dormant: { idle: 180d }", detectors: "{ edge: 1 }"))
        #expect(noBaseline?.description.contains("found by the baseline detector") == true && noBaseline?.line == 10)
        #expect(refusal(Self.dormancyPipeline("{ idle: 12h }"))?.description.contains("idle must be at least 1d") == true)
        let badField = refusal(Self.dormancyPipeline("{ where: amonut >= 5000 }"))
        #expect(badField?.description.contains("anomaly, dormant, where:") == true && badField?.line == 10 && badField?.column == 21)
        #expect(refusal(Self.dormancyPipeline("{ id: big }"))?.description.contains("dormant id 'big' is also the id of a rule or another stage") == true)
        #expect(refusal(Self.dormancyPipeline("{ id: anomaly }"))?.description.contains("id 'anomaly' is also the id of a rule or another stage") == true)
        #expect(refusal(Self.dormancyPipeline("{ days: 3 }")) != nil)
    }

    @Test("changing only the dormancy check keeps what the baseline learnt, on a reload and from a snapshot; the new check applies")
    func dormancyKeepsBaselines() throws {
        let stream = Self.dormancyStream
        let v1 = try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 180d }"), file: "d.yaml")
        let v2 = try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 200d, where: amount >= 5000 }"), file: "d.yaml")
        let topics = v1.topics(from: VigilConfig())
        // Reload: before the payments of 1 August, v1; then v2, which finds D and H (not F's 100).
        let before = PipelineEngine(pipeline: v1, topics: topics, limits: WindowLimits())
        let wake = stream.firstIndex { $0.offset == 200 }!
        for m in stream[..<wake] { _ = before.process(m) }
        let after = PipelineEngine(pipeline: v2, topics: topics, limits: WindowLimits(), carryingOver: before)
        let reloaded = stream[wake...].flatMap { after.process($0).compactMap(\.alert) }.filter { $0.findings.contains { $0.id == "dormant-account" } }
        #expect(reloaded.map(\.subject.value) == ["D", "H"])
        // A changed threshold starts afresh: every account is new.
        let v3 = try PipelineDefinition.parse(Self.dormancyPipeline("{ idle: 180d }").replacingOccurrences(of: "threshold: 1", with: "threshold: 0.99"),
                                              file: "d.yaml")
        let afresh = PipelineEngine(pipeline: v3, topics: topics, limits: WindowLimits(), carryingOver: before)
        #expect(stream[wake...].flatMap { afresh.process($0).compactMap(\.alert) }.isEmpty)

        // Restart: a snapshot taken under v1 loads into v2's scorers.
        let decoded = stream.map { InputDecoding.json($0.value) }
        let scorers = Scorers(pipeline: v1, limits: WindowLimits(), carryingOver: nil)
        _ = scorers.scores(stream[..<wake], decoded: decoded[..<wake])
        let state = try #require(try scorers.snapshots()[TopicPartition("fin.transactions", 0)])
        let restarted = Scorers(pipeline: v2, limits: WindowLimits(), carryingOver: nil)
        try restarted.restore(state)
        let ids = restarted.scores(stream[wake...], decoded: decoded[wake...]).flatMap { s -> [String] in
            guard case .one(let one) = s else { return [] }
            return one.anomalies.filter { $0.finding.id == "dormant-account" }.compactMap(\.subject.value)
        }
        #expect(ids == ["D", "H"])
    }
}
