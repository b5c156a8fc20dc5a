import Foundation
import Testing
import VigilCore
@testable import VigilShare

/// Passenger data in stored alerts is masked once its retention period has passed, and only then.
@Suite("Passenger data retention")
struct RetentionTests {
    static func travellerAlert() -> Alert {
        var a = SharingTests.alert()
        a.findings = [.init(kind: .screening, id: "watchlist", version: 3, score: 0.93,
                            explanation: "traveller IVAN SIDORENKO (P7654321) ~ entry W-1")]
        a.subject = .init(field: "traveller.document", value: "P7654321", name: "IVAN SIDORENKO", dob: "1970-04-05",
                          document: "P7654321", nationality: "RU")
        a.evidence = [.init(topic: "pax.api", partition: 0, offset: 7, eventId: "api-LOC123-1", ts: a.ts, passenger: true)]
        a.reviewOnly = true
        a.signature = "ed25519:0000000000000000:AAAA"
        return a
    }

    static let t0 = EventTime(rfc3339: "2024-03-01T10:00:00Z")!

    @Test("within the period nothing changes; after it the traveller's data is masked and the signature dropped")
    func masks() throws {
        let a = Self.travellerAlert()
        #expect(Retention.depersonalise(a, asOf: Self.t0 + .seconds(179 * 86_400)) == nil)
        let masked = try #require(Retention.depersonalise(a, asOf: Self.t0 + .seconds(180 * 86_400)))
        #expect(masked.subject == Alert.Subject(field: "traveller.document", value: nil))
        #expect(masked.findings.map(\.explanation) == [Retention.marker])
        #expect(masked.findings[0].id == "watchlist" && masked.findings[0].score == 0.93)
        #expect(masked.evidence.map(\.eventId) == ["masked"] && masked.evidence[0].offset == 7)
        #expect(masked.signature == nil && masked.id == a.id && masked.reviewOnly == true)
        #expect(masked.redactions == ["subject.value": "depersonalise", "subject.name": "depersonalise", "subject.dob": "depersonalise",
                                      "subject.document": "depersonalise", "subject.nationality": "depersonalise",
                                      "findings.explanation": "depersonalise", "evidence": "depersonalise"])
        let json = String(decoding: masked.canonicalJSON, as: UTF8.self)
        for personal in ["IVAN", "SIDORENKO", "P7654321", "1970", "LOC123"] { #expect(!json.contains(personal), "\(personal)") }
        // Once masked, stays as it is.
        #expect(Retention.depersonalise(masked, asOf: Self.t0 + .seconds(400 * 86_400)) == nil)
    }

    @Test("a financial subject linked to a booking keeps its account; alerts without passenger evidence are never touched")
    func scope() throws {
        var linked = SharingTests.alert()
        linked.evidence.append(.init(topic: "pax.pnr", partition: 1, offset: 3, eventId: "pnr-XYZ", ts: linked.ts, passenger: true))
        let masked = try #require(Retention.depersonalise(linked, asOf: Self.t0 + .seconds(200 * 86_400)))
        #expect(masked.subject.value == "DE89370400440532013000" && masked.subject.institution == "COBADEFFXXX")
        #expect(masked.subject.name == nil)
        #expect(masked.evidence.map(\.eventId) == ["tx-1", "masked"])
        #expect(Retention.depersonalise(SharingTests.alert(), asOf: Self.t0 + .seconds(10_000 * 86_400)) == nil)
    }
}
