import Foundation
import Logging
import Testing
import VigilCore
import VigilKafka
@testable import VigilPipeline
import VigilShare

/// Partner sharing through the embedded broker with the shipped default pipeline: each partner
/// topic gets exactly what its policy allows, signed; every disclosure is in the audit log;
/// without keys nothing leaves and the copies are held with the reason.
@Suite("Partner sharing, end to end", .serialized, .timeLimit(.minutes(3)))
struct SharingEndToEndTests {
    /// Structuring by an account whose holder is named (with date of birth and passport), and
    /// one large cash deposit by another.
    static func feed() -> [String] {
        func line(_ id: String, _ ts: String, _ amount: String, _ debtor: String) -> String {
            #"{"id":"\#(id)","ts":"\#(ts)","amount":"\#(amount)","currency":"USD","channel":"cash","debtor":\#(debtor),"creditor":{"account":"ACC-ZZ"}}"#
        }
        let named = #"{"account":"ACC-S1","name":"Mira Okafor","dob":"1984-11-02","idNumber":"X9981234","country":"NG","bic":"ZEIBNGLAXXX"}"#
        return [
            line("s1", "2024-05-01T09:00:00Z", "9500.00", named),
            line("s2", "2024-05-01T11:00:00Z", "9400.00", named),
            line("s3", "2024-05-01T15:00:00Z", "9300.00", named),
            line("l1", "2024-05-01T16:00:00Z", "12000.00", #"{"account":"ACC-L1","country":"US"}"#),
        ]
    }

    @Test("partners receive exactly what their policies allow, signed, and every disclosure is audited")
    func shared() async throws {
        let dir = try temporaryDirectory()
        let keys = dir.appendingPathComponent("keys").path
        let audit = dir.appendingPathComponent("audit/disclosures.jsonl").path
        _ = try SharingKeys.generate(in: keys, partners: ["fiu-partner"])
        let h = try Harness(sharing: .init(keysDirectory: keys, auditLog: audit))
        // Every log line, down to trace, is kept to check that no key reaches the logs.
        let logged = Locked([String]())
        var logger = Logger(label: "vigil.sharing-test") { JSONLogHandler(label: $0) { line in logged.withLock { $0.append(line) } } }
        logger.logLevel = .trace
        let stats = try await h.runPipeline(through: try await h.feed(Self.feed()), logger: logger)
        #expect(stats.alerts == 2 && stats.shared == 3 && stats.held == 0)

        let own = try await h.alerts()
        let verifier = try SharingKeys.publicKey(file: keys + "/signing.pub")
        let structuring = try #require(own.first { $0.findings[0].id == "structuring-cash" })
        // The unit's own copy: everything, signed too.
        #expect(structuring.subject == Alert.Subject(field: "debtor.account", value: "ACC-S1", name: "Mira Okafor", dob: "1984-11-02",
                                                     document: "X9981234", nationality: "NG", institution: "ZEIBNGLAXXX"))
        #expect(structuring.signature != nil && structuring.redactions == nil)

        // The foreign FIU: a pseudonym, no name or document, the year of birth, no evidence.
        let fiu = try await h.readAll("alerts.fiu-partner")
        #expect(fiu.count == 2)
        for m in fiu { #expect(verifier.problem(with: m.value) == nil) }
        let copy = try #require(try fiu.map { try JSONDecoder().decode(Alert.self, from: Data($0.value)) }.first { $0.id == structuring.id })
        #expect(copy.partner == "fiu-partner" && copy.consent == "prior-consent" && copy.tlp == "TLP:AMBER")
        let pseudonym = try #require(copy.subject.value)
        #expect(pseudonym.hasPrefix("ps:"))
        #expect(copy.subject.name == nil && copy.subject.document == nil && copy.subject.dob == "1984")
        #expect(copy.subject.nationality == "NG" && copy.subject.institution == "ZEIBNGLAXXX")
        #expect(copy.evidence.isEmpty)
        #expect(copy.findings[0].explanation.contains(pseudonym))
        #expect(copy.redactions == ["subject.value": "pseudonymise", "subject.name": "redact", "subject.dob": "generalise",
                                    "subject.document": "redact", "evidence": "redact"])
        let text = String(decoding: fiu.flatMap(\.value), as: UTF8.self)
        // The event id as a JSON string: bare, `s1` turns up in a base64 signature now and then.
        for secret in ["ACC-S1", "Mira", "Okafor", "X9981234", "1984-11-02", #""s1""#, "ACC-L1"] { #expect(!text.contains(secret), "\(secret)") }
        // Keyed by the pseudonym, not the account.
        #expect(fiu.allSatisfy { String(decoding: $0.key ?? [], as: UTF8.self).hasPrefix("ps:") })

        // The police: structuring only (its route), in full.
        let police = try await h.alerts(topic: "alerts.police")
        #expect(police.map(\.id) == [structuring.id])
        #expect(police[0].subject == structuring.subject && police[0].evidence == structuring.evidence && police[0].partner == "police")

        // No personal data in logs above debug (operators ship those to shared log stores).
        let aboveDebug = logged.value.filter { !$0.contains(#""level":"debug""#) && !$0.contains(#""level":"trace""#) }
        #expect(!aboveDebug.isEmpty)
        for personal in ["Mira", "Okafor", "X9981234", "1984-11-02", "ACC-S1", "ACC-L1"] {
            #expect(!aboveDebug.contains { $0.contains(personal) }, "\(personal) logged above debug")
        }

        // The audit log: one entry per disclosure, the chain whole.
        #expect(try AuditLog.verify(path: audit) == 3)
        let entries = try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(AuditEntry.self, from: Data($0.utf8)) }
        #expect(Set(entries.map(\.partner)) == ["fiu-partner", "police"])
        let policeEntry = try #require(entries.first { $0.partner == "police" })
        #expect(policeEntry.alert == structuring.id && policeEntry.topic == "alerts.police")
        #expect(policeEntry.rules == ["structuring-cash@1"] && policeEntry.inputs.count == 3)
        #expect(policeEntry.fields["subject.name"] == "pass")
        #expect(entries.first { $0.partner == "fiu-partner" && $0.alert == structuring.id }?.fields["subject.name"] == "redact")
        // No key material in the log.
        let log = try String(contentsOfFile: audit, encoding: .utf8)
        for file in ["signing.key", "pseudonym-fiu-partner.key"] {
            let key = try String(contentsOfFile: keys + "/" + file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!log.contains(key) && !text.contains(key))
            #expect(!logged.value.isEmpty && !logged.value.contains { $0.contains(key) })
            let hex = try #require(Data(base64Encoded: key)).map { String(format: "%02x", $0) }.joined()
            #expect(!logged.value.contains { $0.contains(hex) } && !text.contains(hex))
        }
    }

    @Test("without keys nothing reaches a partner: the copies are held with the reason")
    func heldWithoutKeys() async throws {
        let h = try Harness()
        let stats = try await h.runPipeline(through: try await h.feed(Self.feed()))
        #expect(stats.alerts == 2 && stats.shared == 0 && stats.held == 3)
        #expect(try await h.readAll("alerts.fiu-partner").isEmpty)
        let held = try await h.readAll("alerts.held")
        #expect(held.count == 3)
        #expect(Set(held.compactMap { $0.headers.first(named: VigilHeaders.heldPartner) }) == ["fiu-partner", "police"])
        let reasons = Dictionary(held.map { ($0.headers.first(named: VigilHeaders.heldPartner) ?? "", $0.headers.first(named: VigilHeaders.heldReason) ?? "") },
                                 uniquingKeysWith: { a, _ in a })
        #expect(reasons == ["fiu-partner": "partner fiu-partner pseudonymises but its pseudonym key is not loaded",
                            "police": "no signing key: partners receive signed alerts only"])
        // The unit still has its alerts, unsigned.
        #expect(try await h.alerts().allSatisfy { $0.signature == nil })
    }

    @Test("the publisher's duplicate window forgets the oldest ids first and keeps topics apart")
    func duplicateWindow() {
        let w = PublishedAlerts(capacity: 3)
        for id in ["a", "b", "c"] { w.insert(topic: "alerts.local", id: id) }
        w.insert(topic: "alerts.local", id: "b")   // already known: no change
        #expect(w.count == 3 && w.contains(topic: "alerts.local", id: "a"))
        w.insert(topic: "alerts.local", id: "d")
        #expect(!w.contains(topic: "alerts.local", id: "a") && w.contains(topic: "alerts.local", id: "d") && w.count == 3)
        #expect(!w.contains(topic: "alerts.fiu", id: "d"))
    }

    @Test("a restart does not publish again what the broker already holds: read back, suppressed, counted")
    func restartSuppressesRepeats() async throws {
        let h = try Harness(partitions: 2, group: "vigil-dedupe")
        let lines = SharingEndToEndTests.feed()
        let reports = try await h.feed(lines)
        let first = try await h.runPipeline(through: reports)
        #expect(first.alerts == 2 && first.suppressed == 0)
        // Forget the commits: the same input is processed again from the start.
        var config = h.config
        config.kafka.group = "vigil-dedupe-again"
        let again = try PipelineService(pipeline: h.pipeline, config: config, bootstrap: h.broker.bootstrapServers, logger: testLogger,
                                        stopAt: Harness.ends(reports))
        try await again.run()
        // Two alerts and three held partner copies were already on their topics.
        #expect(again.stats.alerts == 0 && again.stats.suppressed == 5)
        #expect(try await h.alerts().count == 2)
        #expect(try await h.readAll("alerts.held").count == 3)
    }
}
