import Foundation
import Logging
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline
import VigilScreen
import VigilShare

/// The `screening:` stage: lists loaded with the pipeline, transaction parties and travellers
/// screened, hits as alerts with their list version, bad lists rejected with their location,
/// lists reloaded on change.
@Suite("Screening stage")
struct ScreeningStageTests {
    static let list = """
        id,name,kind,aliases,birth_date,country,document
        W-1,Ivan Petrovich Sidorenko,person,Ivan Sidorenko,1970-04-05,RU,P7654321
        W-2,Blue Lantern Trading LLC,organization,,,,
        """

    static func pipeline(screen: String = "[debtor, creditor, traveller]", list: String = "watch.csv") -> String {
        """
        pipeline: { name: screened, version: "1" }
        inputs:
          - { topic: fin.transactions, format: json }
          - { topic: pax.events, format: json }
        rules:
          - { id: big, version: 1, kind: predicate, where: amount >= 1000000 }
        screening:
          id: watchlist
          version: 3
          threshold: 0.8
          screen: \(screen)
          lists:
            local: \(list)
        """
    }

    /// A folder holding the list and the pipeline; returns the pipeline's path.
    static func setUp(list: String = ScreeningStageTests.list, pipeline: String = ScreeningStageTests.pipeline()) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-screening-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try list.write(to: dir.appendingPathComponent("watch.csv"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("screened.yaml").path
        try pipeline.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A canonical event as a consumed message.
    static func message(_ object: [String: Any], topic: String = "fin.transactions", offset: Int64) -> ConsumedMessage {
        ConsumedMessage(topic: topic, partition: 0, offset: offset, value: Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])))
    }

    /// An engine of a pipeline screening `screen` against an OFAC CSV of `sdn`'s rows.
    static func engine(sdn: String, screen: String = "[debtor, creditor, traveller]") throws -> PipelineEngine {
        let path = try setUp(pipeline: pipeline(screen: screen, list: "sdn.csv"))
        try sdn.write(toFile: (path as NSString).deletingLastPathComponent + "/sdn.csv", atomically: true, encoding: .utf8)
        let p = try PipelineDefinition.load(file: path)
        return PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
    }

    static func tx(_ offset: Int64, debtor: String, creditor: String = "Corner Bakery", dob: String? = nil) -> ConsumedMessage {
        var d: [String: String] = ["account": "ACC-\(offset)", "name": debtor]
        if let dob { d["dob"] = dob }
        let object: [String: Any] = ["id": "t\(offset)", "ts": "2024-05-01T10:00:00Z", "amount": "250.00", "currency": "EUR", "channel": "wire",
                                     "debtor": d, "creditor": ["account": "SHOP-1", "name": creditor]]
        return Self.message(object, offset: offset)
    }

    static func passenger(_ offset: Int64, surname: String, given: String, document: String, nationality: String = "RUS",
                          more: [String] = []) -> ConsumedMessage {
        let object: [String: Any] = ["id": "p\(offset)", "ts": "2024-05-02T08:00:00Z", "kind": "api",
                                     "traveller": ["surname": surname, "given": given, "dob": "1970-04-05", "nationality": nationality,
                                                   "documents": ([document] + more).map { ["type": "P", "number": $0] }]]
        return Self.message(object, topic: "pax.events", offset: offset)
    }

    @Test("answers are remembered in two generations: a name in steady use is not screened again, one out of use is")
    func answerCache() throws {
        let p = try PipelineDefinition.load(file: try Self.setUp())
        var definition = try #require(p.screening)
        definition.remembered = 4
        let runner = ScreeningRunner(definition)
        let listed = ScreeningQuery(name: "Ivan Sidorenko", kind: .unknown, birthDate: "1970-04-05")
        let hits = runner.screen(listed)
        #expect(hits.map(\.entryID) == ["W-1"])
        // Two generations of two: `listed` is asked between every two new names, so it is never
        // dropped, while the others pass through once each.
        for i in 0..<20 {
            #expect(runner.screen(ScreeningQuery(name: "Payer \(i)", kind: .unknown)).isEmpty)
            if i % 2 == 1 { #expect(runner.screen(listed) == hits) }
        }
        #expect(runner.screened == 21)
        // Out of use for two generations: screened again, with the same answer.
        for i in 20..<24 { _ = runner.screen(ScreeningQuery(name: "Payer \(i)", kind: .unknown)) }
        #expect(runner.screen(listed) == hits)
        #expect(runner.screened == 26)
        // Another detail given with the name is another question.
        _ = runner.screen(ScreeningQuery(name: "Ivan Sidorenko", kind: .unknown, birthDate: "1980-01-01"))
        #expect(runner.screened == 27)
        // `listed` was answered from memory ten times.
        #expect(runner.remembered == 10)
    }

    @Test("`remember:` sets how many answers a worker keeps; 0 keeps none; a bad value names its place")
    func rememberSetting() throws {
        let none = try PipelineDefinition.load(file: try Self.setUp(pipeline: Self.pipeline() + "\n  remember: 0\n"))
        let runner = ScreeningRunner(try #require(none.screening))
        for _ in 0..<3 { _ = runner.screen(ScreeningQuery(name: "Payer 1", kind: .unknown)) }
        #expect(runner.screened == 3)
        let default_ = try PipelineDefinition.load(file: try Self.setUp())
        #expect(default_.screening?.remembered == 50_000)
        let some = try PipelineDefinition.load(file: try Self.setUp(pipeline: Self.pipeline() + "\n  remember: 1000\n"))
        #expect(some.screening?.remembered == 1000)
        let kept = ScreeningRunner(try #require(some.screening))
        for _ in 0..<3 { _ = kept.screen(ScreeningQuery(name: "Payer 1", kind: .unknown)) }
        #expect(kept.screened == 1)
        #expect {
            try PipelineDefinition.load(file: try Self.setUp(pipeline: Self.pipeline() + "\n  remember: lots\n"))
        } throws: { error in
            "\(error)".contains("screened.yaml:14:13") && "\(error)".contains("'screening.remember' must be a whole number")
        }
    }

    @Test("parties and travellers on a list raise alerts carrying the list version; others do not")
    func hits() throws {
        let p = try PipelineDefinition.load(file: try Self.setUp())
        let screening = try #require(p.screening)
        #expect(screening.lists.map(\.name) == ["local"])
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())

        let payer = engine.process(Self.tx(0, debtor: "SIDORENKO, Ivan", dob: "1970-04-05")).compactMap(\.alert)
        let alert = try #require(payer.first)
        #expect(payer.count == 1)
        #expect(alert.findings.map(\.kind) == [.screening])
        #expect(alert.findings[0].id == "watchlist" && alert.findings[0].version == 3)
        // The subject carries the payer's particulars from the payment.
        #expect(alert.subject == Alert.Subject(field: "debtor.account", value: "ACC-0", name: "SIDORENKO, Ivan", dob: "1970-04-05"))
        #expect(alert.reviewOnly == nil)
        let explanation = alert.findings[0].explanation
        #expect(explanation.contains("entry W-1"))
        #expect(explanation.contains(screening.screener.lists[0].version.label))
        #expect(explanation.contains("birth-date +0.1"))
        #expect(alert.evidence.map(\.eventId) == ["t0"])

        let company = engine.process(Self.tx(1, debtor: "Anna Berg", creditor: "Blue Lantern Trading Ltd")).compactMap(\.alert)
        #expect(company.map(\.subject.field) == ["creditor.account"])

        #expect(engine.process(Self.tx(2, debtor: "Anna Berg")).isEmpty)

        let traveller = engine.process(Self.passenger(3, surname: "SIDORENKO", given: "IVAN", document: "P7654321")).compactMap(\.alert)
        #expect(traveller.map(\.subject) == [Alert.Subject(field: "traveller.document", value: "P7654321", name: "IVAN SIDORENKO",
                                                           dob: "1970-04-05", document: "P7654321", nationality: "RU")])
        // A hit resting on passenger data alone is for a person to review, never for action.
        #expect(traveller.first?.reviewOnly == true)
        #expect(traveller.first?.evidence.map(\.passenger) == [true] && alert.evidence.map(\.passenger) == [nil])
        #expect(traveller.first?.findings[0].explanation.contains("document +0.25") == true)
        // Its nationality as passenger data gives it (alpha-3) agrees with the list's `RU`.
        #expect(traveller.first?.findings[0].explanation.contains("country +0.03 (RUS is listed)") == true)
        // Another name on the listed passport: a hit all the same, for a person to review.
        let alias = engine.process(Self.passenger(4, surname: "PETROV", given: "OLEG", document: "P7654321")).compactMap(\.alert)
        #expect(alias.map(\.subject.value) == ["P7654321"] && alias.first?.score == 0.85)
        #expect(alias.first?.findings[0].explanation.contains("document-hit") == true)
        // The listed passport as a traveller's second document counts the same.
        let second = engine.process(Self.passenger(5, surname: "PETROV", given: "OLEG", document: "V0000001", more: ["P7654321"])).compactMap(\.alert)
        #expect(second.map(\.subject.value) == ["V0000001"] && second.first?.findings[0].explanation.contains("P7654321 is listed") == true)
    }

    @Test("a payment to or from a listed wallet is a hit whatever the names; other accounts are not")
    func listedWallet() throws {
        let sdn = #"29702,"LIFSHITS, Artem Mikhaylovich","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 26 Dec 1992; Digital Currency Address - XBT 12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz; alt. Digital Currency Address - ETH 0x901bb9583b24d97e995513c6778dc6888ab6870e.""#
        let engine = try Self.engine(sdn: sdn, screen: "[debtor, creditor]")
        func payment(_ offset: Int64, from: String, to: String) -> ConsumedMessage {
            let object: [String: Any] = ["id": "c\(offset)", "ts": "2024-05-01T10:00:00Z", "amount": "0.5", "currency": "XBT", "channel": "crypto",
                                         "debtor": ["account": from], "creditor": ["account": to]]
            return Self.message(object, offset: offset)
        }
        let paid = engine.process(payment(0, from: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", to: "12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz")).compactMap(\.alert)
        let alert = try #require(paid.first)
        #expect(paid.count == 1 && alert.score == 1)
        #expect(alert.subject.field == "creditor.account" && alert.subject.value == "12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz")
        #expect(alert.findings.map(\.id) == ["watchlist"])
        #expect(alert.findings[0].explanation.contains("creditor account '12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz' matches local entry 29702 'Artem Mikhaylovich LIFSHITS'"))
        #expect(alert.findings[0].explanation.contains("address-hit +1.0 (Digital Currency Address - XBT 12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz is listed"))
        // From a listed Ethereum wallet, written in capitals.
        let sent = engine.process(payment(1, from: "0x901BB9583B24D97E995513C6778DC6888AB6870E", to: "0x0000000000000000000000000000000000000001"))
        #expect(sent.compactMap(\.alert).map(\.subject.field) == ["debtor.account"])
        #expect(engine.process(payment(2, from: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", to: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")).isEmpty)
        // Parties not named in screen: are not looked up.
        let other = try Self.engine(sdn: sdn, screen: "creditor")
        #expect(other.process(payment(3, from: "12udabs2TkX7NXCSj6KpqXfakjE52ZPLhz", to: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")).isEmpty)
    }

    @Test("a booking or a payment party whose contact e-mail or phone a list gives is a hit whatever the name; a booking's is for review")
    func listedContacts() throws {
        let sdn = #"29702,"LIFSHITS, Artem Mikhaylovich","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 26 Dec 1992; Email Address mycryptodeals@yandex.ru; alt. Email Address artemlv@hotmail.com; Phone Number 79110354982.""#
        let engine = try Self.engine(sdn: sdn)
        func booking(_ offset: Int64, emails: [String], phones: [String] = []) -> ConsumedMessage {
            let object: [String: Any] = ["id": "pnr\(offset)", "ts": "2024-05-02T08:00:00Z", "kind": "pnr",
                                         "traveller": ["surname": "BERG", "given": "ANNA", "documents": [["type": "P", "number": "X0000001"]]],
                                         "booking": ["locator": "ABC123", "contacts": ["emails": emails, "phones": phones]]]
            return Self.message(object, topic: "pax.events", offset: offset)
        }
        let alerts = engine.process(booking(0, emails: ["anna.berg@example.org", "ArtemLV@hotmail.com"])).compactMap(\.alert)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1 && alert.score == 0.85 && alert.reviewOnly == true)
        #expect(alert.subject.field == "traveller.document" && alert.subject.value == "X0000001")
        #expect(alert.findings[0].explanation.contains("booking contact 'ArtemLV@hotmail.com' matches local entry 29702 'Artem Mikhaylovich LIFSHITS'"))
        #expect(alert.findings[0].explanation.contains("email-hit +0.85 (e-mail address artemlv@hotmail.com is listed"))
        #expect(engine.process(booking(1, emails: ["anna.berg@example.org"], phones: ["+47 22 12 34 56"])).isEmpty)
        // The listed phone number as the PNR writes it: a hit of its own, after the e-mail's.
        let both = engine.process(booking(2, emails: ["artemlv@hotmail.com"], phones: ["+47 22 12 34 56", "+7 911 0354982"])).compactMap(\.alert)
        #expect(both.count == 2 && both.allSatisfy { $0.reviewOnly == true })
        let call = try #require(both.last?.findings.first)
        #expect(call.explanation.contains("booking contact '+7 911 0354982' matches local entry 29702"))
        #expect(call.explanation.contains("phone-hit +0.85 (phone number +7 911 0354982 is listed as 79110354982"))

        // A payment whose unnamed creditor gives a listed phone, and one whose debtor gives a listed e-mail.
        func payment(_ offset: Int64, debtor: [String: String], creditor: [String: String]) -> ConsumedMessage {
            let object: [String: Any] = ["id": "t\(offset)", "ts": "2024-05-02T09:00:00Z", "amount": "900", "currency": "EUR",
                                         "debtor": debtor, "creditor": creditor]
            return Self.message(object, offset: offset)
        }
        let called = engine.process(payment(3, debtor: ["account": "DE1"], creditor: ["account": "RU2", "phone": "8 911 035 49 82"])).compactMap(\.alert)
        #expect(called.map(\.subject.field) == ["creditor.account"] && called.first?.reviewOnly != true && called.first?.score == 0.85)
        #expect(called.first?.findings[0].explanation.contains("creditor contact '8 911 035 49 82' matches local entry 29702") == true)
        let mail = engine.process(payment(4, debtor: ["account": "DE1", "email": "MyCryptoDeals@yandex.ru"], creditor: ["account": "RU2"])).compactMap(\.alert)
        #expect(mail.map(\.subject.value) == ["DE1"] && mail.first?.findings[0].explanation.contains("email-hit") == true)
        #expect(engine.process(payment(5, debtor: ["account": "DE1", "email": "a@example.org"], creditor: ["account": "RU2", "phone": "+7 911 000 00 00"])).isEmpty)
    }

    @Test("a payment through a listed bank is a hit about the party whose bank it is, whatever the names")
    func listedBank() throws {
        let sdn = #"9577,"BANK MELLAT","-0- ","IRAN] [NPWMD",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"SWIFT/BIC BKMTIRTH; Website www.bankmellat.ir.""#
        let engine = try Self.engine(sdn: sdn, screen: "[debtor, creditor]")
        func payment(_ offset: Int64, debtorBIC: String, creditorBIC: String) -> ConsumedMessage {
            let object: [String: Any] = ["id": "w\(offset)", "ts": "2024-05-03T09:00:00Z", "amount": "250000", "currency": "EUR", "channel": "wire",
                                         "debtor": ["account": "DE89370400440532013000", "bic": debtorBIC, "name": "Hansa Maschinenbau GmbH"],
                                         "creditor": ["account": "IR580540105180021273113007", "bic": creditorBIC, "name": "Pars Trading Co"]]
            return Self.message(object, offset: offset)
        }
        let alerts = engine.process(payment(0, debtorBIC: "COBADEFFXXX", creditorBIC: "BKMTIRTH720")).compactMap(\.alert)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1 && alert.score == 1 && alert.reviewOnly != true)
        #expect(alert.subject.field == "creditor.account" && alert.subject.value == "IR580540105180021273113007")
        #expect(alert.findings[0].explanation.contains("creditor BIC 'BKMTIRTH720' matches local entry 9577 'BANK MELLAT'"))
        #expect(alert.findings[0].explanation.contains("bic-hit +1.0 (SWIFT/BIC BKMTIRTH is listed"))
        #expect(engine.process(payment(1, debtorBIC: "COBADEFFXXX", creditorBIC: "MELIIRTH")).isEmpty)
    }

    @Test("only the parties named in screen: are screened; a replay gives the same alerts")
    func targetsAndDeterminism() throws {
        let p = try PipelineDefinition.load(file: try Self.setUp(pipeline: Self.pipeline(screen: "creditor")))
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        #expect(engine.process(Self.tx(0, debtor: "Ivan Sidorenko")).isEmpty)
        let messages = (0..<20).map { Self.tx(Int64($0), debtor: "X", creditor: $0 % 2 == 0 ? "Ivan Sidorenko" : "Corner Bakery") }
        func run() -> [[UInt8]] {
            let e = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
            return messages.flatMap { e.process($0).compactMap(\.alert).map(\.canonicalJSON) }
        }
        let first = run()
        #expect(first.count == 10)
        #expect(first == run())
    }

    @Test("a list that does not load, or a bad screening section, is reported with its place")
    func errors() throws {
        let badList = try Self.setUp(list: "id,full\n1,x\n")
        let e = #expect(throws: ConfigError.self) { try PipelineDefinition.load(file: badList) }
        #expect(e?.line == 13)
        #expect(e?.description.contains("list 'local'") == true)
        #expect(e?.description.contains("no 'name' column") == true)

        let missing = try Self.setUp(pipeline: Self.pipeline(list: "nowhere.csv"))
        let m = #expect(throws: ConfigError.self) { try PipelineDefinition.load(file: missing) }
        #expect(m?.description.contains("no such file") == true)

        let target = try Self.setUp(pipeline: Self.pipeline(screen: "[debtor, pilot]"))
        let t = #expect(throws: ConfigError.self) { try PipelineDefinition.load(file: target) }
        #expect(t?.description.contains("cannot screen 'pilot'") == true)
    }

    @Test("through the embedded broker: the shipped screening pipeline publishes a hit on a listed payer, and nothing for others")
    func endToEnd() async throws {
        let h = try Harness(partitions: 2, group: "vigil-screening", pipeline: "pipelines/screening.yaml")
        let listed = #"{"id":"s1","ts":"2024-05-01T10:00:00Z","amount":"120.00","currency":"EUR","channel":"wire","debtor":{"account":"DE01","name":"SIDORENKO, Ivan Petrovich","dob":"1970-04-05"},"creditor":{"account":"DE02","name":"Corner Bakery"}}"#
        let other = #"{"id":"s2","ts":"2024-05-01T10:01:00Z","amount":"80.00","currency":"EUR","channel":"wire","debtor":{"account":"DE03","name":"Anna Berg"},"creditor":{"account":"DE02","name":"Corner Bakery"}}"#
        let reports = try await h.feed([listed, other])
        let service = try h.service(through: reports)
        try await service.run()
        let alerts = try await h.alerts()
        // Four parties: three screened against the list; `Corner Bakery` a second time from memory.
        let metrics = String(decoding: service.renderMetrics(), as: UTF8.self)
        #expect(OperationsEndpointTests.sample(metrics, #"vigil_screenings_total{answer="screened"}"#) == 3)
        #expect(OperationsEndpointTests.sample(metrics, #"vigil_screenings_total{answer="remembered"}"#) == 1)
        #expect(alerts.count == 1)
        #expect(alerts.first?.findings.map(\.kind) == [.screening])
        #expect(alerts.first?.subject.value == "DE01")
        #expect(alerts.first?.findings.first?.explanation.contains("SAMPLE-1") == true)
    }

    @Test("the shipped screening pipeline labels hits TLP:RED: shared with the counter-terrorism unit, held for the partner not allowed RED")
    func redHitsHeldForPartnersWithoutRed() throws {
        let p = try PipelineDefinition.load(file: shipped("pipelines/screening.yaml"))
        let keys = SharingKeys(signer: try AlertSigner(privateKey: .init(repeating: 3, count: 32)),
                               pseudonymisers: ["fiu-partner": try Pseudonymiser(key: .init(repeating: 4, count: 32))])
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits(), keys: keys)
        let out = engine.process(Self.tx(0, debtor: "SIDORENKO, Ivan Petrovich", dob: "1970-04-05"))
        let own = try #require(out.compactMap(\.alert).first)
        #expect(own.tlp == "TLP:RED" && own.purpose == "counter-terrorism" && own.signature != nil)
        var shared: [String] = [], held: [String: String] = [:]
        for o in out {
            switch o.kind {
            case .shared(let d): shared.append(d.alert.partner); #expect(d.alert.tlp == "TLP:RED" && o.record.topic == "alerts.ct-unit")
            case .held(let partner, let reason): held[partner] = reason; #expect(o.record.topic == "alerts.held")
            default: break
            }
        }
        #expect(shared == ["ct-unit"])
        #expect(held == ["fiu-partner": "TLP:RED is not a label partner fiu-partner may receive (allowed: TLP:CLEAR, TLP:GREEN, TLP:AMBER)"])
        // The cash rule keeps the pipeline's label and reaches the partner, pseudonymised.
        let cash = engine.process(ConsumedMessage(topic: "fin.transactions", partition: 0, offset: 9, value: Array(
            #"{"id":"c1","ts":"2024-05-01T10:00:00Z","amount":"12000","currency":"USD","channel":"cash","debtor":{"account":"ACC-C"},"creditor":{"account":"ACC-Z"}}"#.utf8)))
        let copies = cash.compactMap { o -> Alert? in if case .shared(let d) = o.kind { return d.alert } else { return nil } }
        #expect(copies.map(\.partner) == ["fiu-partner"] && copies.first?.tlp == "TLP:AMBER")
        #expect(copies.first?.subject.value?.hasPrefix("ps:") == true && copies.first?.findings.first?.explanation == "[redacted]")
    }

    @Test("a changed list is reloaded; a broken one is rejected and the running lists stay")
    func reload() throws {
        let path = try Self.setUp()
        let listPath = (path as NSString).deletingLastPathComponent + "/watch.csv"
        let p = try PipelineDefinition.load(file: path)
        let config = VigilConfig()
        let logger = Logger(label: "test")
        let runner = PipelineRunner(pipeline: p, topics: p.topics(from: config), options: .init(workers: 1),
                                    source: NoSource(), sink: NoSink(), logger: logger)
        let reloader = PipelineReloader(file: path, config: config, runner: runner, logger: logger)
        #expect(reloader.check() == .unchanged)
        let before = try #require(runner.pipeline.screening?.screener.lists.first?.version)

        try (Self.list + "\nW-3,Marta Quill,person,,,,\n").write(toFile: listPath, atomically: true, encoding: .utf8)
        #expect(reloader.check() == .reloaded("screened@1"))
        let after = try #require(runner.pipeline.screening?.screener.lists.first?.version)
        #expect(after.entries == 3 && after.sha256 != before.sha256)

        try "id,full\n1,x\n".write(toFile: listPath, atomically: true, encoding: .utf8)
        guard case .rejected(let reason) = reloader.check() else { Issue.record("a broken list was accepted"); return }
        #expect(reason.contains("watch.csv") && reason.contains("no 'name' column"))
        #expect(runner.pipeline.screening?.screener.lists.first?.version == after)
        #expect(reloader.check() == .unchanged)
    }
}

/// A runner that is only reloaded, never run, needs a source and a sink that do nothing.
private final class NoSource: RecordSource {
    func nextBatch() async -> ConsumerBatch? { nil }
    var generation: Int { 0 }
    func store(_ offsets: [TopicPartition: Int64]) {}
    func stop() {}
    func commit() {}
    func close() {}
    func onGenerationChange(_ handler: @escaping @Sendable (Int?) -> Void) {}
}

private final class NoSink: RecordSink {
    func publish(_ records: [ProducerRecord], completion: @escaping @Sendable ((any Error)?) -> Void) async { completion(nil) }
    func close() {}
}
