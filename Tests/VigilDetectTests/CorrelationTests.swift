import Foundation
import Testing
import VigilCore
@testable import VigilDetect

/// Cross-feed correlation: parties flagged by a rule over transactions, linked to travellers by
/// document, name and date of birth, phone, e-mail or card.
@Suite("Correlation: flagged parties on passenger events")
struct CorrelationTests {
    static let day: Int64 = 86_400_000_000

    /// Structuring by ACC-9, whose bank knows its holder's passport, birth date, phone, e-mail
    /// and card; it fires on the second deposit, on day 0.
    static func flaggedDeposits() -> [Transaction] {
        (0..<2).map { n in
            var t = tx("dep-\(n)", "2024-03-01T0\(n + 1):00:00Z", "9500", debtor: "ACC-9", creditor: "BANK")
            t.debtor = Party(account: "ACC-9", name: "Zoë Ann Müller", dob: "1990-04-02", idNumber: "P 1234-567",
                             phone: "+44 20 7946 0123", email: "Zoe.Muller@Example.org ", cardHash: "AB12CD34EF")
            return t
        }
    }

    static func rules(where condition: String = "true", linkBy: [IdentityLink]? = nil, lists: [String: Set<String>] = [:]) throws -> CompiledRules {
        var structuring = RuleDefinition(id: "structuring", version: 1, kind: .window, condition: #"channel == "cash" and amount < 10000"#)
        structuring.within = .seconds(86_400)
        structuring.having = "count >= 2"
        var travels = RuleDefinition(id: "flagged-travel", version: 3, kind: .correlation, condition: condition)
        travels.flaggedBy = ["structuring"]
        travels.within = .seconds(30 * 86_400)
        travels.linkBy = linkBy
        return try CompiledRules([structuring, travels], lists: lists)
    }

    static func passenger(_ id: String, day: Int64, surname: String = "MULLER", given: String? = "ANN ZOE", dob: String? = "1990-04-02",
                          nationality: String? = nil, document: String? = nil, phones: [String]? = nil, emails: [String]? = nil, card: String? = nil,
                          locator: String? = "LOC123", oneWay: Bool? = nil, payment: String? = nil) -> Passenger {
        let ts = EventTime(microseconds: EventTime(rfc3339: "2024-03-01T00:00:00Z")!.microseconds + day * Self.day)
        let booking = locator.map {
            Booking(locator: $0, createdAt: ts, payment: .init(form: payment, cardHash: card), contacts: .init(phones: phones, emails: emails),
                    oneWay: oneWay)
        }
        return Passenger(id: id, ts: ts, kind: locator == nil ? .api : .pnr,
                         traveller: Traveller(surname: surname, given: given, dob: dob, nationality: nationality, documents: document.map { [TravelDocument(number: $0)] }),
                         flights: [Flight(carrier: "XY", number: "123", from: "LHR", to: "IST", departure: ts + .seconds(86_400))],
                         booking: booking)
    }

    /// The correlation findings the passenger events raise after the deposits.
    func links(_ passengers: [Passenger], rules: CompiledRules? = nil) throws -> [RuleMatch] {
        let detector = Detector(rules: try rules ?? Self.rules())
        var offset: Int64 = 0
        for t in Self.flaggedDeposits() {
            _ = detector.process(t, origin: EventOrigin(topic: "fin.transactions", partition: 0, offset: offset))
            offset += 1
        }
        return passengers.enumerated().flatMap { n, p in
            detector.process(p, origin: EventOrigin(topic: "pax.pnr", partition: 0, offset: Int64(n)))
        }
    }

    @Test("each identity key links, however it is written", arguments: [
        ("document", passenger("p", day: 10, given: "X", dob: nil, document: "p1234567", locator: nil)),
        ("name and date of birth, in another order, case and accents", passenger("p", day: 10)),
        ("phone, with another prefix", passenger("p", day: 10, given: "X", phones: ["020 7946 0123"])),
        ("e-mail", passenger("p", day: 10, given: "X", emails: ["zoe.muller@example.org"])),
        ("card hash", passenger("p", day: 10, given: "X", card: "ab12cd34ef")),
    ])
    func linkKinds(_ name: String, _ p: Passenger) throws {
        let m = try links([p])
        try #require(m.count == 1, "\(name)")
        #expect(m[0].finding.id == "flagged-travel" && m[0].finding.version == 3)
        #expect(m[0].subject == Alert.Subject(field: "debtor.account", value: "ACC-9"))
        #expect(m[0].contributions.map(\.eventID) == ["dep-0", "dep-1", "p"])
        #expect(m[0].finding.explanation.contains("flagged by structuring@1"))
    }

    @Test("the explanation names the traveller, the trip, the flag and the keys that link")
    func explanation() throws {
        let m = try links([Self.passenger("p", day: 10, document: "P1234567")])
        #expect(m.map(\.finding.explanation) == [
            "traveller MULLER/ANN ZOE (booking LOC123, XY123 LHR→IST departing 2024-03-12T00:00:00Z) is debtor.account ACC-9, "
                + "flagged by structuring@1 at 2024-03-01T02:00:00Z, 9d 22h before; linked by document (P 1234-567), name-dob",
        ])
    }

    @Test("no link: another person, only a name, before the flag, after the span, or a key not used")
    func nearMisses() throws {
        #expect(try links([Self.passenger("p", day: 10, dob: "1990-04-03", document: "P7654321")]).isEmpty)  // other document and birth date
        #expect(try links([Self.passenger("p", day: 10, dob: nil)]).isEmpty)                                 // a name alone does not link
        #expect(try links([Self.passenger("p", day: -1, document: "P1234567")]).isEmpty)                     // before the deposits
        #expect(try links([Self.passenger("p", day: 31, document: "P1234567")]).isEmpty)                     // 31 days after
        #expect(try links([Self.passenger("p", day: 10, given: "X", dob: nil, document: "P1234567")], rules: Self.rules(linkBy: [.phone])).isEmpty)
    }

    @Test("a booking sent again raises no second finding; another trip of the same person does")
    func once() throws {
        let m = try links([Self.passenger("p1", day: 5, document: "P1234567"), Self.passenger("p2", day: 6, document: "P1234567"),
                           Self.passenger("p3", day: 7, document: "P1234567", locator: "OTHER1")])
        #expect(m.map { $0.contributions.last!.eventID } == ["p1", "p3"])
    }

    @Test("the rule's condition on the passenger event: last-minute one-way tickets paid in cash")
    func condition() throws {
        let rules = try Self.rules(where: #"booking.one-way == true and booking.payment.form == "CA" and booking.lead-hours < 48"#)
        #expect(try links([Self.passenger("p", day: 5, document: "P1234567", oneWay: true, payment: "CA")], rules: rules).count == 1)
        #expect(try links([Self.passenger("p", day: 5, document: "P1234567", oneWay: false, payment: "CA")], rules: rules).isEmpty)
        #expect(try links([Self.passenger("p", day: 5, document: "P1234567", oneWay: true, payment: "CC")], rules: rules).isEmpty)
    }

    /// Passenger data gives nationalities in alpha-3 or as passport codes; country lists, like
    /// transactions, hold alpha-2 codes. The rule reads the alpha-2 code, so it meets the list.
    @Test("a traveller's nationality meets alpha-2 country lists, however the feed wrote it", arguments: [
        ("IRN", true), ("irn", true), ("IR", true), ("D", false), ("DEU", false), ("XXX", false),
    ])
    func nationalityAgainstCountryLists(_ nationality: String, _ listed: Bool) throws {
        let rules = try Self.rules(where: "traveller.nationality in lists.high-risk", lists: ["high-risk": ["IR", "KP", "MM"]])
        let m = try links([Self.passenger("p", day: 5, nationality: nationality, document: "P1234567")], rules: rules)
        #expect(m.count == (listed ? 1 : 0), "\(nationality)")
        let germans = try Self.rules(where: #"traveller.nationality == "DE""#)
        let g = try links([Self.passenger("p", day: 5, nationality: nationality, document: "P1234567")], rules: germans)
        #expect(g.count == (["D", "DEU"].contains(nationality) ? 1 : 0), "\(nationality)")
    }

    @Test("compile errors: no sources, a correlation as source, an unknown passenger field")
    func errors() throws {
        var r = RuleDefinition(id: "c", version: 1, kind: .correlation, condition: "true")
        r.within = .seconds(86_400)
        #expect(throws: RuleError.self) { try CompiledRules([r]) }
        r.flaggedBy = ["c"]
        #expect { try CompiledRules([r]) } throws: { ($0 as? RuleError)?.message == "'c' is a correlation rule; name rules over transactions" }
        var p = RuleDefinition(id: "p", version: 1, kind: .predicate, condition: "amount > 0")
        p.subject = "debtor.account"
        r.flaggedBy = ["p"]
        r.condition = "amount > 5"
        #expect { try CompiledRules([p, r]) } throws: { ($0 as? RuleError)?.message.contains("unknown field 'amount' in passenger event") == true }
    }

    @Test("rules over transactions can read the parties' identity fields")
    func identityFields() throws {
        let t = Self.flaggedDeposits()[0]
        #expect(try ExpressionCompiler.compile(#"debtor.idNumber startswith "P" and debtor.dob < "2000-01-01""#, schema: .transaction).test(t))
        #expect(try ExpressionCompiler.compile("creditor.email is null and debtor.cardHash is not null", schema: .transaction).test(t))
    }
}
