import Foundation
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline

@Suite("Configuration and pipeline files")
struct ConfigTests {
    @Test("the shipped configuration and pipelines load and compile")
    func shippedFiles() throws {
        let config = try VigilConfig.load(file: shipped("config/default.yaml"), environment: [:])
        #expect(config.topics == VigilConfig.Topics())
        #expect(config.kafka.brokers == "")
        for file in try FileManager.default.contentsOfDirectory(atPath: shipped("config")) where file.hasSuffix(".yaml") {
            _ = try VigilConfig.load(file: shipped("config/\(file)"), environment: [:])
        }
        #expect(config.sharing.keysDirectory == "keys" && config.http.port == 9464 && config.topics.held == "alerts.held")
        let files = try FileManager.default.contentsOfDirectory(atPath: shipped("pipelines")).filter { $0.hasSuffix(".yaml") }
        #expect(!files.isEmpty)
        for f in files {
            let p = try PipelineDefinition.load(file: shipped("pipelines/\(f)"))
            #expect(!p.rules.definitions.isEmpty)
        }
        let p = try PipelineDefinition.load(file: shipped("pipelines/default.yaml"))
        #expect(p.rules.definitions.map(\.id) == ["large-cash", "structuring-cash"])
        #expect(p.rules.definitions[1].within == .seconds(86_400))
    }

    @Test("sequence rules, composite keys and distinct in YAML; a bad step is located")
    func sequenceRulesInYAML() throws {
        let text = """
            pipeline: { name: seq, version: 1.0.0 }
            rules:
              - id: cash-then-wire
                version: 1
                kind: sequence
                within: 48h
                steps:
                  - { where: 'channel == "cash" and amount >= 5000', key: creditor.account }
                  - { where: 'channel == "wire"', key: debtor.account }
                  - { where: 'channel == "cash"', key: debtor.account, not: true }
              - id: pairs
                version: 1
                kind: window
                where: amount > 0
                key: [debtor.account, creditor.account]
                distinct: reference
                within: 1d
                having: count >= 2 and distinct == 1
            """
        let p = try PipelineDefinition.parse(text, file: "seq.yaml")
        let seq = p.rules.definitions[0]
        #expect(seq.kind == .sequence && seq.condition == "true" && seq.steps?.count == 3 && seq.steps?[2].negated == true)
        #expect(p.rules.definitions[1].key == ["debtor.account", "creditor.account"] && p.rules.definitions[1].distinct == "reference")
        let bad = text.replacingOccurrences(of: "key: debtor.account, not: true", with: "key: debtor.account, not: maybe")
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(bad, file: "seq.yaml") }
        #expect(e?.description.contains("seq.yaml:10") == true && e?.description.contains("true or false") == true)
        let badStep = text.replacingOccurrences(of: "'channel == \"wire\"'", with: "'chanel == \"wire\"'")
        let s = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(badStep, file: "seq.yaml") }
        #expect(s?.description.contains("steps: step 2, column 1") == true)
    }

    @Test("typologies in YAML: only they raise alerts, with their finding first; errors name the typology")
    func typologiesInYAML() throws {
        let text = """
            pipeline: { name: typo, version: 1.0.0 }
            rules:
              - { id: big, version: 1, kind: predicate, where: amount >= 10000, score: 0.5 }
              - { id: risky, version: 1, kind: predicate, where: 'creditor.country in ["IR", "KP"]' }
            typologies:
              - id: big-to-risky
                version: 3
                rules: { big: 1, risky: 0.6 }
                threshold: 1
                within: 2d
                review-only: true
            """
        let p = try PipelineDefinition.parse(text, file: "t.yaml")
        #expect(p.typologies.definitions.map(\.id) == ["big-to-risky"])
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        func message(_ offset: Int64, _ json: String) -> ConsumedMessage {
            ConsumedMessage(topic: "fin.transactions", partition: 0, offset: offset, value: Array(json.utf8))
        }
        let big = #"{"id":"t1","ts":"2024-03-01T09:00:00Z","amount":"20000","currency":"EUR","debtor":{"account":"A"},"creditor":{"account":"B","country":"DE"}}"#
        let risky = #"{"id":"t2","ts":"2024-03-02T09:00:00Z","amount":"50","currency":"EUR","debtor":{"account":"A"},"creditor":{"account":"C","country":"IR"}}"#
        #expect(engine.process(message(0, big)).isEmpty)   // 1 × 0.5 alone is below 1
        let alerts = engine.process(message(1, risky)).compactMap(\.alert)
        #expect(alerts.map { $0.findings.map(\.id) } == [["big-to-risky", "big", "risky"]])
        #expect(alerts.first?.reviewOnly == true && alerts.first?.evidence.map(\.eventId) == ["t1", "t2"])
        #expect(alerts.first.map { String(decoding: (try? CanonicalJSON.encode($0)) ?? [], as: UTF8.self) }?.contains(#""reviewOnly":true"#) == true)

        let bad = text.replacingOccurrences(of: "risky: 0.6", with: "risky: 0.6, fan-in: 0.2")
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(bad, file: "t.yaml") }
        #expect(e?.description.contains("typology 'big-to-risky', rules: no rule 'fan-in' in this pipeline") == true)
        #expect(e?.description.contains("t.yaml:8") == true)
    }

    @Test("named lists: inline, or files relative to the pipeline with their date; the shipped FATF lists load")
    func namedLists() throws {
        let text = """
            pipeline: { name: lists, version: 1.0.0 }
            lists:
              black: lists/fatf-call-for-action.yaml
              grey: lists/fatf-increased-monitoring.yaml
              mine: [XX, YY]
            rules:
              - { id: high-risk, version: 1, kind: predicate, where: 'creditor.country in lists.black or creditor.country in lists.grey' }
            """
        let p = try PipelineDefinition.parse(text, file: shipped("pipelines/inline.yaml"))
        #expect(p.lists["black"]?.values == ["KP", "IR", "MM"] && p.lists["black"]?.date == "2025-06-13")
        #expect(p.lists["grey"]?.values.contains("VG") == true && p.lists["grey"]?.values.count == 24)
        #expect(p.lists["mine"]?.values == ["XX", "YY"])
        let missing = text.replacingOccurrences(of: "lists/fatf-call-for-action.yaml", with: "lists/nope.yaml")
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(missing, file: shipped("pipelines/inline.yaml")) }
        #expect(e?.description.contains("list 'black': cannot read") == true)
    }

    @Test("VIGIL_* environment variables override the file")
    func environment() throws {
        let env = ["VIGIL_BROKERS": "kafka:9092", "VIGIL_GROUP": "g2", "VIGIL_TOPIC_ALERTS": "alerts.fiu-x",
                   "VIGIL_WORKERS": "3", "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VIGIL_KAFKA_SASL_PASSWORD": "hunter2",
                   "VIGIL_STATE_DIR": "/var/lib/vigil/state"]
        let c = try VigilConfig.load(file: shipped("config/default.yaml"), environment: env)
        #expect(c.runtime.stateDirectory == "/var/lib/vigil/state")
        #expect(try VigilConfig.load(file: shipped("config/default.yaml"), environment: [:]).runtime.stateDirectory == nil)
        #expect(c.kafka.brokers == "kafka:9092")
        #expect(c.kafka.group == "g2")
        #expect(c.topics.alerts == "alerts.fiu-x")
        #expect(c.runtime.workers == 3)
        #expect(c.kafka.properties["security.protocol"] == "SASL_SSL")
        #expect(c.maskedProperties["sasl.password"] == "***")
        #expect(throws: ConfigError(file: "environment", message: "VIGIL_WORKERS='many' must be a whole number in 1...256")) {
            try VigilConfig.load(file: nil, environment: ["VIGIL_WORKERS": "many"])
        }
    }

    @Test("`config print` output parses back to the same configuration, with secrets masked")
    func rendered() throws {
        var env = ["VIGIL_GROUP": "g9", "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VIGIL_WORKERS": "3", "VIGIL_STATE_DIR": "/srv/vigil state"]
        let c = try VigilConfig.load(file: shipped("config/default.yaml"), environment: env)
        var back = try VigilConfig.parse(c.renderedYAML, file: "printed.yaml")
        back.origin = c.origin
        #expect(back == c)
        env["VIGIL_KAFKA_SSL_KEY_PASSWORD"] = "s3cret"
        let secret = try VigilConfig.load(file: nil, environment: env).renderedYAML
        #expect(!secret.contains("s3cret"))
        #expect(secret.contains(#""ssl.key.password": "***""#))
    }

    @Test("configuration errors say file, line, column and what is wrong", arguments: [
        ("kafka:\n  brokers: x\n  partitons: 3\n", "c.yaml:3:3: error: unknown key 'partitons' in 'kafka' (hint: did you mean partitions?)"),
        ("kafka:\n  partitions: lots\n", "c.yaml:2:15: error: 'kafka.partitions' must be a whole number"),
        ("topics:\n  alerts: 'alerts/fiu'\n", "c.yaml:2:11: error: 'alerts/fiu' is not a valid Kafka topic name (hint: use letters, digits, '.', '_' and '-')"),
        ("kafka:\n  commit-interval: soon\n", "c.yaml:2:20: error: 'kafka.commit-interval': 'soon' is not a duration (hint: write e.g. 500ms, 30s, 15m, 24h, 7d)"),
        ("kafka: [1, 2\n", "c.yaml:2:1: error: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence"),
    ])
    func configErrors(text: String, message: String) {
        let e = #expect(throws: ConfigError.self) { try VigilConfig.parse(text, file: "c.yaml") }
        #expect(e?.description == message)
    }

    static let header = "pipeline:\n  name: p\n  version: 1.0.0\nrules:\n"

    /// A pipeline with one rule and one partner; `extra` ends the partner (line 11 onwards).
    static func partner(_ extra: String, tlp: String = "[TLP:AMBER]") -> String {
        header + "  - { id: r, version: 1, kind: predicate, where: amount > 5 }\npartners:\n  - name: fiu\n    tlp: \(tlp)\n    purposes: [aml-investigation]\n    \(extra)\n"
    }

    @Test("pipeline errors point into the file, down to the column inside a rule expression", arguments: [
        (header + "  - id: r\n    version: 1\n    kind: predicate\n    where: amount >= \"10000\"\n",
         "p.yaml:8:19: error: rule 'r', where: cannot compare a number with a string (hint: numbers are written without quotes)"),
        (header + "  - id: r\n    version: 1\n    kind: predicate\n    where: 'amout > 5'\n",
         "p.yaml:8:13: error: rule 'r', where: unknown field 'amout' in transaction (hint: did you mean amount?)"),
        (header + "  - id: r\n    version: 1\n    kind: window\n    where: amount > 5\n    within: 24h\n",
         "p.yaml:5:5: error: rule 'r', having: a window rule needs 'having', e.g. 'count >= 3'"),
        (header + "  - id: r\n    version: 1\n    kind: graph\n    where: amount > 5\n",
         "p.yaml:7:11: error: unknown rule kind 'graph' (hint: predicate or window or sequence or cycle or correlation)"),
        (header + "  - id: r\n    version: 1\n    kind: correlation\n    flagged-by: [nope]\n    within: 30d\n",
         "p.yaml:8:17: error: rule 'r', flagged-by: no rule or typology 'nope' in this pipeline"),
        (header + "  - id: r\n    version: 1\n    kind: correlation\n    flagged-by: [r]\n    link-by: [passport]\n    within: 30d\n",
         "p.yaml:9:14: error: unknown identity key 'passport' (hint: document, name-dob, phone, email, card)"),
        (header + "  - id: r\n    version: 1\n    kind: correlation\n    where: booking.oneway == true\n    flagged-by: [r]\n    within: 30d\n",
         "p.yaml:8:12: error: rule 'r', where: unknown field 'booking.oneway' in passenger event (hint: did you mean booking.one-way?)"),
        (header + "  - id: r\n    version: 1\n    kind: predicate\n    where: amount > 5\n    score: 3\n",
         "p.yaml:9:12: error: 'rules[0].score' must be between 0.0 and 1.0, got 3.0"),
        ("pipeline:\n  name: p\n  version: 1.0.0\noutput:\n  tlp: TLP:PINK\nrules:\n  - id: r\n",
         "p.yaml:5:8: error: 'TLP:PINK' is not a TLP 2.0 label (hint: TLP:RED, TLP:AMBER+STRICT, TLP:AMBER, TLP:GREEN, TLP:CLEAR)"),
        ("pipeline:\n  name: p\nrules: []\n", "p.yaml:2:3: error: 'pipeline' needs a 'version' (hint: e.g. version: 1.0.0)"),
    ])
    func pipelineErrors(text: String, message: String) {
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(text, file: "p.yaml") }
        #expect(e?.description == message)
    }

    /// Partner declarations (lines 1–9: a rule and the partner's name, labels and purposes).
    static let partnerCases: [(text: String, message: String)] = [
        (Self.partner("fields: { subject.dob: pseudonymize }"),
         "p.yaml:10:28: error: 'pseudonymize' is not a treatment for subject.dob (hint: pass, redact, pseudonymise, generalise)"),
        (Self.partner("fields: { subject.name: generalise }"),
         "p.yaml:10:29: error: 'generalise' is not a treatment for subject.name (hint: pass, redact, pseudonymise)"),
        (Self.partner("fields: { subject.passport: pass }"),
         "p.yaml:10:15: error: unknown key 'subject.passport' in 'partners[0].fields' (hint: did you mean subject.value or subject.name or subject.dob or subject.document or subject.nationality or subject.institution?)"),
        (Self.partner("receives: { findings: [nope] }\n    fields: { evidence: pass }"),
         "p.yaml:10:27: error: no rule, typology or stage 'nope' in this pipeline (hint: r)"),
        (Self.partner("topic: alerts.local\n    fields: { evidence: pass }"),
         "p.yaml:10:12: error: topic 'alerts.local' is already used (inputs, alerts, dead letters, held alerts or another partner) (hint: each partner reads a topic of its own)"),
        (Self.partner("fields: { evidence: pass }", tlp: "[TLP:AMBER, TLP:BLACK]"),
         "p.yaml:8:22: error: 'TLP:BLACK' is not a TLP 2.0 label (hint: TLP:RED, TLP:AMBER+STRICT, TLP:AMBER, TLP:GREEN, TLP:CLEAR)"),
        (Self.partner("onward-dissemination: prior-consent"),
         "p.yaml:7:5: error: partner 'fiu' needs a field policy ('fields') (hint: e.g. fields: { subject.value: pseudonymise, subject.name: redact, findings.explanation: pass }; fields left out are not allowed)"),
    ]

    @Test("partner errors point at the field and say what is allowed", arguments: ConfigTests.partnerCases)
    func partnerErrors(text: String, message: String) {
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.parse(text, file: "p.yaml") }
        #expect(e?.description == message)
    }
}

@Suite("The bundled sample feed")
struct SampleFeedTests {
    /// Runs the shipped default pipeline over the feed without a broker (same engine as live).
    func alerts(_ feed: SampleFeed) throws -> (alerts: [Alert], deadLettered: Int) {
        let p = try PipelineDefinition.load(file: shipped("pipelines/default.yaml"))
        let engine = PipelineEngine(pipeline: p, topics: VigilConfig.Topics(), limits: WindowLimits())
        var alerts: [Alert] = []
        var dead = 0
        for (i, line) in feed.lines.enumerated() {
            for out in engine.process(.init(topic: "fin.transactions", partition: 0, offset: Int64(i), value: Array(line.utf8))) {
                switch out.kind {
                case .alert(let a): alerts.append(a)
                case .deadLetter: dead += 1
                case .shared, .held, .forwarded: break
                }
            }
        }
        return (alerts, dead)
    }

    @Test("the default pipeline finds exactly the planted cases, and no near miss")
    func plantedCases() throws {
        let feed = SampleFeed.generate()
        #expect(feed.lines.count > 2_000)
        let (alerts, dead) = try alerts(feed)
        #expect(dead == feed.planted.filter { $0.kind == .malformed }.count)
        let expected = feed.planted.filter { $0.kind == .structuring || $0.kind == .largeCash }
        #expect(alerts.count == expected.count)
        for plant in expected {
            // A fourth deposit after a fired window starts a new one: the alert holds the first three.
            let ids = plant.kind == .structuring ? Array(plant.eventIDs.prefix(3)) : plant.eventIDs
            let rule = plant.kind == .structuring ? "structuring-cash" : "large-cash"
            #expect(alerts.contains { $0.findings[0].id == rule && $0.evidence.map(\.eventId) == ids && $0.subject.value == plant.account },
                    "\(plant)")
        }
        let nearMissAccounts = Set(feed.planted.filter { $0.kind == .nearMiss }.map(\.account))
        #expect(alerts.allSatisfy { !nearMissAccounts.contains($0.subject.value ?? "") })
    }

    @Test("a looped feed repeats the feed in rounds, each later in event time with fresh ids, and every round alerts its plants")
    func looped() throws {
        let feed = SampleFeed.generate()
        let looped = LoopedFeed(feed)
        let n = feed.lines.count
        #expect(looped.count == n)
        for i in 0..<n { #expect(looped[i] == Array(feed.lines[i].utf8)) }
        // Round 2: the same transactions, with ".2" on the id and two shifts on the time;
        // the malformed lines fail in the same way.
        let shift = looped.shift
        #expect(shift > .seconds(7 * 86_400))
        var previous = EventTime(microseconds: .min)
        for i in 0..<(3 * n) {
            let bytes = looped[i]
            let base = Array(feed.lines[i % n].utf8)
            guard let tx = try? CanonicalDecoder.transaction(from: bytes) else {
                #expect((try? CanonicalDecoder.transaction(from: base)) == nil)
                continue
            }
            var expected = try CanonicalDecoder.transaction(from: base)
            let round = i / n
            if round > 0 { expected.id += ".\(round)" }
            expected.ts = expected.ts + shift * round
            #expect(tx == expected)
            #expect(looped.key(i) == Feeder.key(of: bytes), "event \(i) is keyed by its debtor account")
            #expect(tx.ts >= previous, "event \(i) goes back in time")
            previous = tx.ts
        }
        // Three rounds through the default pipeline: each round's plants alert again, with
        // alert ids of their own.
        let p = try PipelineDefinition.load(file: shipped("pipelines/default.yaml"))
        let engine = PipelineEngine(pipeline: p, topics: VigilConfig.Topics(), limits: WindowLimits())
        var alerts: [Alert] = []
        var dead = 0
        for i in 0..<(3 * n) {
            for out in engine.process(.init(topic: "fin.transactions", partition: 0, offset: Int64(i), value: looped[i])) {
                if case .alert(let a) = out.kind { alerts.append(a) }
                if case .deadLetter = out.kind { dead += 1 }
            }
        }
        let (once, deadOnce) = try self.alerts(feed)
        #expect(alerts.count == 3 * once.count && dead == 3 * deadOnce)
        #expect(Set(alerts.map(\.id)).count == alerts.count)
        #expect(alerts.suffix(once.count).map { $0.evidence.map(\.eventId) } == once.map { $0.evidence.map { $0.eventId + ".2" } })
    }

    @Test("the feed is the same for the same seed, and different for another")
    func deterministic() {
        #expect(SampleFeed.generate().lines == SampleFeed.generate().lines)
        #expect(SampleFeed.generate(seed: 1).lines != SampleFeed.generate().lines)
    }

    @Test("network plants have the shape their labels claim: fan-in, fan-out, cycles and funnels")
    func networkPlants() throws {
        let feed = SampleFeed.generate(seed: 11, count: 3_000, plants: [.fanIn, .fanOut, .cycle, .funnel])
        #expect(feed.lines.count == 3_000)
        let byID = Dictionary(uniqueKeysWithValues: feed.lines.compactMap { try? CanonicalDecoder.transaction(from: Array($0.utf8)) }.map { ($0.id, $0) })
        func txs(_ p: SampleFeed.Planted) throws -> [Transaction] { try p.eventIDs.map { try #require(byID[$0]) }.sorted { $0.ts < $1.ts } }
        func span(_ t: [Transaction]) -> Int64 { (t.last!.ts.microseconds - t.first!.ts.microseconds) / 3_600_000_000 }
        let planted = Dictionary(grouping: feed.planted, by: \.kind)
        #expect(planted[.structuring] == nil && planted[.largeCash] == nil)
        for p in planted[.fanIn] ?? [] {
            let t = try txs(p)
            #expect(Set(t.map(\.debtor.account)).count == 12 && Set(t.map(\.creditor.account)) == [p.account] && span(t) <= 36)
        }
        for p in planted[.fanOut] ?? [] {
            let t = try txs(p)
            #expect(Set(t.map(\.creditor.account)).count == 12 && Set(t.map(\.debtor.account)) == [p.account] && span(t) <= 36)
        }
        #expect(planted[.cycle]?.map(\.eventIDs.count).sorted() == [3, 4, 5])
        for p in planted[.cycle] ?? [] {
            let t = try txs(p)
            #expect(t.first!.debtor.account == p.account && t.last!.creditor.account == p.account && span(t) <= 72)
            for (a, b) in zip(t, t.dropFirst()) {
                #expect(a.creditor.account == b.debtor.account)
                #expect(b.amount < a.amount && b.amount >= a.amount * Decimal(string: "0.97")!)
            }
        }
        #expect(planted[.funnel]?.count == 2)
        for p in planted[.funnel] ?? [] {
            let t = try txs(p)
            let deposits = t.filter { $0.channel == "cash" }, wire = try #require(t.last)
            #expect(deposits.count == 8 && Set(deposits.compactMap(\.source?.institution)).count == 8)
            #expect(wire.channel == "wire" && wire.creditor.country == "MX")
            #expect(wire.amount >= deposits.reduce(Decimal.zero) { $0 + $1.amount } * Decimal(string: "0.85")!)
            #expect(span(t) <= 72 + 24)
        }
    }

    @Test("planted dormant accounts are what pipelines/anomaly.yaml finds dormant; its near miss, awake after 120 days, is not")
    func dormantPlants() throws {
        let feed = SampleFeed.generate(seed: 5, count: 3_000, plants: [.dormant])
        let p = try PipelineDefinition.load(file: shipped("pipelines/anomaly.yaml"))
        let engine = PipelineEngine(pipeline: p, topics: VigilConfig.Topics(), limits: WindowLimits())
        var found: [(account: String, event: String)] = []
        for (i, line) in feed.lines.enumerated() {
            for case .alert(let a) in engine.process(.init(topic: "fin.transactions", partition: 0, offset: Int64(i), value: Array(line.utf8))).map(\.kind)
            where a.findings.contains(where: { $0.id == "dormant-account" }) {
                found.append((a.subject.value ?? "", a.evidence[0].eventId))
            }
        }
        let dormant = feed.planted.filter { $0.kind == .dormant }
        #expect(dormant.map(\.account) == ["ACC-D1", "ACC-D2"])
        // The wire that wakes each is its last planted event.
        #expect(found.map(\.account) == dormant.map(\.account) && found.map(\.event) == dormant.map { $0.eventIDs.last! })
        #expect(feed.planted.contains { $0.kind == .nearMiss && $0.account == "ACC-D3" })
        #expect(SampleFeed.generate(seed: 5, count: 3_000).planted.allSatisfy { $0.kind != .dormant && !$0.account.hasPrefix("ACC-D") })
    }

    @Test("passenger events: canonical, deterministic, card numbers only as keyed hashes, planted FTF travel as labelled")
    func passengers() throws {
        let feed = PassengerFeed.generate(seed: 3, count: 500)
        #expect(feed.lines.count == 500)
        #expect(PassengerFeed.generate(seed: 3, count: 500).lines == feed.lines)
        let events = try feed.lines.map { try JSONDecoder().decode(Passenger.self, from: Data($0.utf8)) }
        #expect(events.map(\.ts) == events.map(\.ts).sorted())
        #expect(Set(events.map(\.kind)) == [.pnr, .api])
        // No clear card number anywhere (no value that is 13–19 digits): only 64-hex HMACs.
        #expect(!feed.lines.contains { $0.firstMatch(of: /"[0-9]{13,19}"/) != nil })
        for e in events where e.booking?.payment?.form == "CC" {
            #expect(e.booking?.payment?.cardHash?.count == 64)
        }
        let byID = Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0) })
        #expect(feed.planted.count == 3)
        for p in feed.planted {
            let trip = try p.eventIDs.map { try #require(byID[$0]) }
            let pnr = try #require(trip.first { $0.kind == .pnr })
            let booking = try #require(pnr.booking)
            let flights = try #require(pnr.flights)
            #expect(booking.oneWay == true && booking.payment?.form == "CA")
            #expect(flights[0].departure!.microseconds - booking.createdAt!.microseconds < 72 * 3_600_000_000)
            #expect(["GZT", "HTY"].contains(flights.last!.to!))
            #expect(trip.filter { $0.kind == .api }.count == flights.count)
            #expect(pnr.traveller.documents?.first?.number == p.traveller)
        }
        // Habitual travel is round trips booked days ahead.
        for e in events where e.kind == .pnr && !feed.planted.contains(where: { $0.eventIDs.contains(e.id) }) {
            #expect(e.booking?.oneWay == false && e.flights?.count == 2 && e.flights?.first?.from == e.flights?.last?.to)
        }
    }
}
