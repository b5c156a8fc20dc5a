import Foundation
import Testing
import VigilCore
import VigilDetect
import VigilKafka
@testable import VigilPipeline

/// Every typology of `pipelines/typologies.yaml` fires on a planted case and stays silent on a
/// near miss. Each case runs alone through a fresh engine, and the whole set of typologies it
/// raises is compared, so a typology firing where it should not shows up too.
@Suite("Typology library")
struct TypologyLibraryTests {
    /// A canonical transaction as JSON; `day` and `minute` from 2024-03-01T00:00Z.
    static func tx(_ id: String, day: Int = 0, minute: Int = 0, _ amount: String, channel: String = "wire", currency: String = "USD",
                   from: String, to: String, fromCountry: String? = "US", toCountry: String? = "US", fromName: String? = "Payer",
                   fromID: String? = nil) -> String {
        let ts = EventTime(rfc3339: "2024-03-01T00:00:00Z")! + .seconds(day * 86_400 + minute * 60)
        var debtor: [String: String] = ["account": from]
        if let fromCountry { debtor["country"] = fromCountry }
        if let fromName { debtor["name"] = fromName }
        if let fromID { debtor["idNumber"] = fromID }
        var creditor = ["account": to]
        if let toCountry { creditor["country"] = toCountry }
        let object: [String: Any] = ["id": id, "ts": ts.rfc3339, "amount": amount, "currency": currency, "channel": channel,
                                     "debtor": debtor, "creditor": creditor]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A canonical PNR passenger event on `day`: a flight departing `leadHours` after booking.
    static func pnr(_ id: String, day: Int, document: String, oneWay: Bool = false, payment: String = "CC", leadHours: Int = 400) -> String {
        let booked = EventTime(rfc3339: "2024-03-01T00:00:00Z")! + .seconds(day * 86_400)
        let object: [String: Any] = [
            "id": id, "ts": booked.rfc3339, "kind": "pnr",
            "traveller": ["surname": "DOE", "given": "JANE", "dob": "1991-02-03", "documents": [["type": "P", "number": document]]],
            "flights": [["carrier": "XY", "number": "123", "from": "LHR", "to": "IST", "departure": (booked + .seconds(leadHours * 3_600)).rfc3339]],
            "booking": ["locator": "ABC\(id)", "createdAt": booked.rfc3339, "oneWay": oneWay, "payment": ["form": payment]],
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Structuring by A, whose bank knows the holder's passport number.
    static let flagged = (0..<3).map { tx("s\($0)", minute: $0 * 300, "9500", channel: "cash", from: "A", to: "BANK", fromID: "P5551234") }

    /// The alerts the events raise, in order.
    static func alerts(_ events: [String]) throws -> [Alert] {
        let p = try PipelineDefinition.load(file: shipped("pipelines/typologies.yaml"))
        let engine = PipelineEngine(pipeline: p, topics: p.topics(from: VigilConfig()), limits: WindowLimits())
        var out: [Alert] = []
        for (offset, e) in events.enumerated() {
            // Passenger events on the pipeline's canonical passenger topic.
            let topic = e.contains("\"traveller\"") ? "pax.events" : "fin.transactions"
            let outputs = engine.process(ConsumedMessage(topic: topic, partition: 0, offset: Int64(offset), value: Array(e.utf8)))
            for o in outputs {
                out.append(try #require(o.alert, "dead letter: \(o.record.headers.first(named: VigilHeaders.error) ?? "")"))
            }
        }
        return out
    }

    /// The typologies the events raise, in order.
    static func typologies(_ events: [String]) throws -> [String] { try alerts(events).map(\.findings[0].id) }

    /// `also`: other typologies the planted case rightly raises as well (before or after it).
    typealias Case = (name: String, planted: [String], nearMiss: [String], also: [String])

    static let cases: [Case] = [
        ("cash-reporting",
         [tx("c1", "10000.01", channel: "cash", from: "A", to: "BANK")],
         [tx("c1", "10000", channel: "cash", from: "A", to: "BANK")], []),
        ("structuring",
         (0..<3).map { tx("s\($0)", minute: $0 * 300, "9500", channel: "cash", from: "A", to: "BANK") },
         (0..<3).map { tx("s\($0)", day: $0, minute: $0, "9500", channel: "cash", from: "A", to: "BANK") }, []),   // over three days
        ("funnel-account",
         (0..<3).map { tx("f\($0)", day: $0, "7500", channel: "cash", from: "DEPOSITOR-\($0)", to: "FUNNEL") },
         (0..<3).map { tx("f\($0)", day: $0, "7500", channel: "cash", from: "DEPOSITOR-0", to: "FUNNEL") }, []),  // one depositor
        ("rapid-pass-through",
         [tx("p1", "25000", from: "S", to: "MID"), tx("p2", day: 1, "24000", from: "MID", to: "T")],
         [tx("p1", "25000", from: "S", to: "MID"), tx("p2", day: 3, "24000", from: "MID", to: "T")], []),        // 72 h later
        ("mule-collection",
         (0..<10).map { tx("i\($0)", minute: $0, "300", from: "SENDER-\($0)", to: "MULE") },
         (0..<9).map { tx("i\($0)", minute: $0, "300", from: "SENDER-\($0)", to: "MULE") }, []),
        ("mule-distribution",
         (0..<10).map { tx("o\($0)", minute: $0 * 10, "300", from: "MULE", to: "PAYEE-\($0)") },
         (0..<10).map { tx("o\($0)", day: $0 / 3 * 4, "300", from: "MULE", to: "PAYEE-\($0)") }, []),            // spread over weeks
        ("fatf-call-for-action",
         [tx("k1", "800", from: "A", to: "B", toCountry: "KP")],
         [tx("k1", "800", from: "A", to: "B", toCountry: "KR")], []),
        ("grey-list-exposure",
         [tx("g1", "800", from: "A", to: "B", toCountry: "VG"), tx("g2", day: 2, "1500", from: "A", to: "C", fromName: nil)],
         [tx("g1", "800", from: "A", to: "B", toCountry: "VG"), tx("g2", day: 2, "1500", from: "A", to: "C")],   // grey alone
         ["incomplete-originator-wire"]),
        ("round-amount-wires",
         (0..<3).map { tx("r\($0)", day: $0 * 5, "50000", from: "A", to: "B-\($0)") },
         (0..<3).map { tx("r\($0)", day: $0 * 5, $0 == 1 ? "50001" : "50000", from: "A", to: "B-\($0)") }, []),
        ("incomplete-originator-wire",
         [tx("n1", "1500", from: "A", to: "B", fromName: nil)],
         [tx("n1", "999", from: "A", to: "B", fromName: nil)], []),                                            // under USD 1,000
        ("conflict-border-donations",
         (0..<5).map { tx("d\($0)", day: $0 * 5, "400", from: "DONOR-\($0)", to: "RECIPIENT", fromCountry: "FI", toCountry: "TR") },
         (0..<5).map { tx("d\($0)", day: $0 * 5, "400", from: "DONOR-\($0)", to: "RECIPIENT", fromCountry: "FI", toCountry: "DE") }, []),
        ("pair-layering",
         [tx("l1", "180", from: "A", to: "B"), tx("l2", minute: 60, "175", from: "A", to: "B")],
         [tx("l1", "180", from: "A", to: "B"), tx("l2", day: 1, "175", from: "A", to: "B")], []),
        ("cycle-of-funds",
         [tx("y1", "5000", from: "A", to: "B"), tx("y2", day: 1, "4800", from: "B", to: "C"), tx("y3", day: 2, "4600", from: "C", to: "A")],
         [tx("y1", "5000", from: "A", to: "B"), tx("y2", day: 1, "4800", from: "B", to: "C"), tx("y3", day: 2, "2600", from: "C", to: "A")], []),  // amount off
        ("cash-to-wire-abroad",
         [tx("w1", "4000", channel: "cash", from: "BRANCH", to: "X"), tx("w2", day: 1, "3800", from: "X", to: "F", toCountry: "AE")],
         [tx("w1", "4000", channel: "cash", from: "BRANCH", to: "X"), tx("w2", day: 1, "3800", from: "X", to: "F", toCountry: "US")], []),
        ("wire-structuring",
         (0..<3).map { tx("u\($0)", day: $0 * 2, "2900", from: "A", to: "B-\($0)") },
         (0..<3).map { tx("u\($0)", day: $0 * 2, $0 == 2 ? "3000" : "2900", from: "A", to: "B-\($0)") }, []),
        ("payment-burst",
         (0..<20).map { tx("b\($0)", minute: $0 * 2, "50", channel: "card", from: "A", to: "SHOP") },
         (0..<20).map { tx("b\($0)", minute: $0 * 4, "50", channel: "card", from: "A", to: "SHOP") }, []),     // 76 minutes
        // Cross-feed: the planted cases are flagged by structuring first; the near misses are
        // the same trips of a party no rule flagged (two deposits only).
        ("flagged-party-travel",
         flagged + [pnr("p1", day: 5, document: "P 555-1234")],
         Array(flagged.prefix(2)) + [pnr("p1", day: 5, document: "P 555-1234")], ["structuring"]),
        ("flagged-party-cash-ticket",
         flagged + [pnr("p1", day: 5, document: "P5551234", oneWay: true, payment: "CA", leadHours: 10)],
         Array(flagged.prefix(2)) + [pnr("p1", day: 5, document: "P5551234", oneWay: true, payment: "CA", leadHours: 10)],
         ["structuring", "flagged-party-travel"]),
    ]

    @Test("the library ships at least 15 typologies, each with a test case here")
    func coverage() throws {
        let p = try PipelineDefinition.load(file: shipped("pipelines/typologies.yaml"))
        let ids = p.typologies.definitions.map(\.id)
        #expect(ids.count >= 15)
        #expect(Set(ids) == Set(Self.cases.map(\.name)))
    }

    @Test("each typology fires on its planted case, and only it", arguments: cases.map(\.name))
    func planted(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let raised = try Self.typologies(c.planted)
        #expect(raised.sorted() == ([name] + c.also).sorted())
    }

    /// A window keyed by the receiving account is about that account, not about whoever paid
    /// into it last.
    @Test("an alert is about the account its window is keyed by", arguments: [
        ("funnel-account", "creditor.account", "FUNNEL"), ("mule-collection", "creditor.account", "MULE"),
        ("conflict-border-donations", "creditor.account", "RECIPIENT"), ("mule-distribution", "debtor.account", "MULE"),
        ("structuring", "debtor.account", "A"), ("pair-layering", "debtor.account", "A"),
    ])
    func subjectIsTheKey(name: String, field: String, account: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let alert = try #require(Self.alerts(c.planted).first { $0.findings[0].id == name })
        #expect(alert.subject.field == field && alert.subject.value == account)
    }

    @Test("each typology stays silent on its near miss", arguments: cases.map(\.name))
    func nearMiss(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let raised = try Self.typologies(c.nearMiss)
        #expect(raised == [])
    }
}
