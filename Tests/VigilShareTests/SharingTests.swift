import Foundation
import Testing
import VigilCore
@testable import VigilShare

/// Partner copies: what each field policy lets through, labels and purposes, pseudonyms,
/// signatures, and the holds that keep a copy from leaving.
@Suite("Sharing with partners")
struct SharingTests {
    static let signingKey = [UInt8](repeating: 7, count: 32)

    static func alert(tlp: String = "TLP:AMBER", purpose: String = "aml-investigation") -> Alert {
        Alert(id: "al-0123456789abcdef", ts: EventTime(rfc3339: "2024-03-01T10:00:00Z")!,
              pipeline: .init(name: "default", version: "1.0.0"),
              findings: [.init(kind: .rule, id: "structuring-cash", version: 1, score: 0.9,
                               explanation: "3 cash deposits by debtor.account DE89370400440532013000 (Jane Q Doe) within 24h")],
              score: 0.9,
              subject: .init(field: "debtor.account", value: "DE89370400440532013000", name: "Jane Q Doe", dob: "1980-05-17",
                             document: "P1234567", nationality: "DE", institution: "COBADEFFXXX"),
              evidence: [.init(topic: "fin.transactions", partition: 3, offset: 42, eventId: "tx-1", ts: EventTime(seconds: 1_709_287_200))],
              tlp: tlp, purpose: purpose, consent: "prior-consent", partner: "local")
    }

    static func partner(_ name: String = "fiu-a", tlp: Set<TLP> = [.clear, .green, .amber], fields: [AlertField: FieldTreatment]) -> PartnerPolicy {
        PartnerPolicy(name: name, topic: "alerts.\(name)", tlp: tlp, purposes: ["aml-investigation"], consent: "prior-consent", fields: fields)
    }

    static let allPass = Dictionary(uniqueKeysWithValues: AlertField.allCases.map { ($0, FieldTreatment.pass) })

    static func sharing(_ partners: [PartnerPolicy], pseudonymKeys: [String: [UInt8]] = [:]) throws -> Sharing {
        let keys = SharingKeys(signer: try AlertSigner(privateKey: signingKey),
                               pseudonymisers: try pseudonymKeys.mapValues { try Pseudonymiser(key: $0) })
        return Sharing(partners: partners, keys: keys)
    }

    static func shared(_ d: Disclosure) -> Alert? {
        if case .shared(let a, _) = d { return a }
        return nil
    }

    static func heldReason(_ d: Disclosure) -> String? {
        if case .held(let r) = d { return r }
        return nil
    }

    @Test("pass sends every field as it is, labelled for the partner and signed")
    func pass() throws {
        let p = Self.partner(fields: Self.allPass)
        let copy = try #require(Self.shared(try Self.sharing([p]).disclose(Self.alert(), to: p)))
        var expected = Self.alert()
        expected.partner = "fiu-a"
        expected.signature = copy.signature
        #expect(copy == expected)
        #expect(copy.redactions == nil)
        #expect(copy.signature?.hasPrefix("ed25519:") == true)
    }

    @Test("redact leaves the field out and scrubs it from explanations")
    func redact() throws {
        var fields = Self.allPass
        fields[.subjectName] = .redact
        fields[.subjectDocument] = .redact
        fields[.evidence] = .redact
        let p = Self.partner(fields: fields)
        let copy = try #require(Self.shared(try Self.sharing([p]).disclose(Self.alert(), to: p)))
        #expect(copy.subject.name == nil && copy.subject.document == nil)
        #expect(copy.subject.value == "DE89370400440532013000")
        #expect(copy.evidence.isEmpty)
        #expect(copy.findings[0].explanation == "3 cash deposits by debtor.account DE89370400440532013000 ([subject.name redacted]) within 24h")
        #expect(copy.redactions == ["subject.name": "redact", "subject.document": "redact", "evidence": "redact"])
        let json = String(decoding: copy.canonicalJSON, as: UTF8.self)
        #expect(!json.contains("Jane") && !json.contains("P1234567") && !json.contains("tx-1"))
    }

    @Test("a redacted explanation reads [redacted]; ids, versions and scores stay")
    func redactExplanation() throws {
        var fields = Self.allPass
        fields[.explanation] = .redact
        let p = Self.partner(fields: fields)
        let copy = try #require(Self.shared(try Self.sharing([p]).disclose(Self.alert(), to: p)))
        #expect(copy.findings.map(\.explanation) == ["[redacted]"])
        #expect(copy.findings.map(\.id) == ["structuring-cash"] && copy.findings[0].score == 0.9)
    }

    @Test("pseudonyms are stable for one partner and differ between partners")
    func pseudonymise() throws {
        var fields = Self.allPass
        fields[.subjectValue] = .pseudonymise
        fields[.subjectName] = .pseudonymise
        fields[.evidence] = .pseudonymise
        let a = Self.partner("fiu-a", fields: fields), b = Self.partner("fiu-b", fields: fields)
        let sharing = try Self.sharing([a, b], pseudonymKeys: ["fiu-a": .init(repeating: 1, count: 32), "fiu-b": .init(repeating: 2, count: 32)])
        let first = try #require(Self.shared(sharing.disclose(Self.alert(), to: a)))
        let again = try #require(Self.shared(sharing.disclose(Self.alert(), to: a)))
        let other = try #require(Self.shared(sharing.disclose(Self.alert(), to: b)))
        let value = try #require(first.subject.value)
        #expect(value.hasPrefix("ps:") && value.count == 35)
        #expect(again.subject.value == value && again.subject.name == first.subject.name)
        #expect(other.subject.value != value && other.subject.name != first.subject.name)
        #expect(first.evidence[0].eventId != "tx-1" && first.evidence[0].eventId.hasPrefix("ps:"))
        // The explanation names the account by the same pseudonym, so it still reads.
        #expect(first.findings[0].explanation.contains(value))
        #expect(!first.findings[0].explanation.contains("DE8937") && !first.findings[0].explanation.contains("Jane"))
        #expect(first.redactions?["subject.value"] == "pseudonymise")
    }

    @Test("generalise gives a date of birth's year and an account's institution")
    func generalise() throws {
        var fields = Self.allPass
        fields[.subjectDOB] = .generalise
        fields[.subjectValue] = .generalise
        let p = Self.partner(fields: fields)
        let copy = try #require(Self.shared(try Self.sharing([p]).disclose(Self.alert(), to: p)))
        #expect(copy.subject.dob == "1980")
        #expect(copy.subject.value == "COBADEFFXXX")
        #expect(copy.redactions == ["subject.dob": "generalise", "subject.value": "generalise"])
        // No institution known: nothing coarser exists, so the account is redacted.
        var bare = Self.alert()
        bare.subject.institution = nil
        fields[.subjectInstitution] = .pass
        let noInstitution = try #require(Self.shared(try Self.sharing([p]).disclose(bare, to: p)))
        #expect(noInstitution.subject.value == nil && noInstitution.redactions?["subject.value"] == "redact")
    }

    @Test("a partner not allowed TLP:RED never receives a TLP:RED alert")
    func tlpRed() throws {
        let p = Self.partner(tlp: [.clear, .green, .amber, .amberStrict], fields: Self.allPass)
        let d = try Self.sharing([p]).disclose(Self.alert(tlp: "TLP:RED"), to: p)
        #expect(Self.heldReason(d) == "TLP:RED is not a label partner fiu-a may receive (allowed: TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT)")
        let red = Self.partner(tlp: [.red], fields: Self.allPass)
        #expect(Self.shared(try Self.sharing([red]).disclose(Self.alert(tlp: "TLP:RED"), to: red))?.tlp == "TLP:RED")
    }

    @Test("a purpose the partner may not receive is held")
    func purpose() throws {
        let p = Self.partner(fields: Self.allPass)
        let reason = Self.heldReason(try Self.sharing([p]).disclose(Self.alert(purpose: "counter-terrorism"), to: p))
        #expect(reason?.hasPrefix("purpose counter-terrorism is not one partner fiu-a may receive") == true)
    }

    @Test("a field the policy does not cover holds the alert")
    func uncovered() throws {
        var fields = Self.allPass
        fields[.subjectDOB] = nil
        let p = Self.partner(fields: fields)
        let reason = Self.heldReason(try Self.sharing([p]).disclose(Self.alert(), to: p))
        #expect(reason?.hasPrefix("the alert carries subject.dob, which partner fiu-a's field policy does not allow") == true)
        // Without a date of birth on the alert there is nothing to hold.
        var noDOB = Self.alert()
        noDOB.subject.dob = nil
        #expect(Self.shared(try Self.sharing([p]).disclose(noDOB, to: p)) != nil)
    }

    @Test("a hidden value written another way in a passed explanation holds the alert")
    func leak() throws {
        var fields = Self.allPass
        fields[.subjectName] = .redact
        let p = Self.partner(fields: fields)
        var a = Self.alert()
        a.findings[0].explanation = "name JANE Q DOE matched list entry"
        let reason = Self.heldReason(try Self.sharing([p]).disclose(a, to: p))
        #expect(reason == "the explanation of structuring-cash would disclose subject.name to partner fiu-a, whose policy does not pass it")
    }

    @Test("missing keys hold the copy instead of sending it unsigned or in clear")
    func missingKeys() throws {
        var fields = Self.allPass
        fields[.subjectValue] = .pseudonymise
        let p = Self.partner(fields: fields)
        let noPseudonymKey = try Self.sharing([p])
        #expect(Self.heldReason(noPseudonymKey.disclose(Self.alert(), to: p)) == "partner fiu-a pseudonymises but its pseudonym key is not loaded")
        let unsigned = Sharing(partners: [Self.partner(fields: Self.allPass)], keys: SharingKeys())
        #expect(Self.heldReason(unsigned.disclose(Self.alert(), to: unsigned.partners[0])) == "no signing key: partners receive signed alerts only")
    }

    @Test("routes pick alerts by finding, score and review-only")
    func routes() throws {
        let a = Self.alert()
        #expect(PartnerPolicy.Route(findings: ["structuring-cash"]).accepts(a))
        #expect(!PartnerPolicy.Route(findings: ["large-cash"]).accepts(a))
        #expect(!PartnerPolicy.Route(minScore: 0.95).accepts(a))
        var review = a
        review.reviewOnly = true
        #expect(!PartnerPolicy.Route(reviewOnly: false).accepts(review))
        #expect(PartnerPolicy.Route().accepts(review))
        var p = Self.partner(fields: Self.allPass)
        p.route = .init(findings: ["large-cash"])
        #expect(try Self.sharing([p]).disclose(a, to: p) == .notRouted)
    }

    @Test("signatures verify, and fail after any one-byte change")
    func signatures() throws {
        let signer = try AlertSigner(privateKey: Self.signingKey)
        let verifier = try AlertVerifier(publicKey: signer.publicKey)
        let line = signer.sign(Self.alert()).canonicalJSON
        #expect(verifier.problem(with: line) == nil)
        // Signing is deterministic: the same alert and key, the same bytes.
        #expect(signer.sign(Self.alert()).canonicalJSON == line)
        for i in line.indices {
            var changed = line
            changed[i] ^= 0x01
            #expect(verifier.problem(with: changed) != nil, "byte \(i) changed and the signature still verified")
        }
        let other = try AlertVerifier(publicKey: AlertSigner(privateKey: .init(repeating: 9, count: 32)).publicKey)
        #expect(other.problem(with: line)?.hasPrefix("signed with key \(signer.keyID), not with this key") == true)
        #expect(verifier.problem(with: Self.alert().canonicalJSON) == "no signature")
    }

    @Test("a rotated signing key: the old public key is kept, alerts of both keys verify, the old private key is gone")
    func signingKeyRotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SharingKeys.generate(in: dir, partners: ["fiu-a"])
        let pseudonymKey = try String(contentsOfFile: dir + "/pseudonym-fiu-a.key", encoding: .utf8)
        let old = try #require(SharingKeys.load(directory: dir, partners: [], environment: [:]).signer)
        let oldPrivateKey = try String(contentsOfFile: dir + "/signing.key", encoding: .utf8)
        let before = old.sign(Self.alert()).canonicalJSON

        let (retired, current) = try SharingKeys.rotate(in: dir)
        #expect(retired == old.keyID && current != old.keyID)
        let new = try #require(SharingKeys.load(directory: dir, partners: [], environment: [:]).signer)
        #expect(new.keyID == current)
        let after = new.sign(Self.alert()).canonicalJSON
        // The pair on disk is consistent, and the old private key is in no file of the folder.
        #expect(try SharingKeys.publicKey(file: dir + "/signing.pub").keyID == current)
        #expect(try SharingKeys.publicKey(file: dir + "/" + SharingKeys.retiredPublicFile(retired)).keyID == retired)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["pseudonym-fiu-a.key", "signing-\(retired).pub", "signing.key", "signing.pub"])
        for file in files { #expect(try String(contentsOfFile: dir + "/" + file, encoding: .utf8) != oldPrivateKey) }
        // Pseudonyms do not change with the signing key.
        #expect(try String(contentsOfFile: dir + "/pseudonym-fiu-a.key", encoding: .utf8) == pseudonymKey)

        // The folder verifies both; the current key alone names the one it lacks.
        let both = try SharingKeys.publicKeys([dir])
        #expect(Set(both.keyIDs) == [retired, current])
        #expect(both.verify(before) == .signed(keyID: retired))
        #expect(both.verify(after) == .signed(keyID: current))
        let one = try SharingKeys.publicKeys([dir + "/signing.pub"])
        #expect(one.verify(after) == .signed(keyID: current))
        #expect(one.problem(with: before) == "signed with key \(retired), not with this key (\(current))")
        let stranger = try AlertVerifier(publicKeys: [AlertSigner(privateKey: .init(repeating: 9, count: 32)).publicKey, new.publicKey])
        #expect(stranger.problem(with: before)?.hasPrefix("signed with key \(retired), none of the keys given (") == true)
        // A rotation changed nothing an alert signs: the signatures differ, the rest does not.
        #expect(try JSONDecoder().decode(Alert.self, from: Data(before)).id == JSONDecoder().decode(Alert.self, from: Data(after)).id)

        #expect(throws: KeyError.self) { try SharingKeys.rotate(in: dir + "/missing") }
        #expect(throws: KeyError.self) { try SharingKeys.publicKeys([dir + "/missing.pub"]) }
    }

    @Test("a rotated pseudonym key: new pseudonyms from then on, the old key kept apart for the unit alone, the signing key untouched")
    func pseudonymKeyRotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SharingKeys.generate(in: dir, partners: ["fiu-a", "fiu-b"])
        let signingKey = try String(contentsOfFile: dir + "/signing.key", encoding: .utf8)
        func pseudonymisers() throws -> [String: Pseudonymiser] {
            let policies = ["fiu-a", "fiu-b"].map { Self.partner($0, fields: [.subjectValue: .pseudonymise]) }
            return SharingKeys.load(directory: dir, partners: policies, environment: [:]).pseudonymisers
        }
        let before = try pseudonymisers()

        let (retired, current) = try SharingKeys.rotatePseudonym(of: "fiu-a", in: dir)
        #expect(retired != current && retired.count == 16)
        let after = try pseudonymisers()
        #expect(after["fiu-a"]?.pseudonym("DE89370400440532013000") != before["fiu-a"]?.pseudonym("DE89370400440532013000"))
        // The other partner's pseudonyms and the signing key stay.
        #expect(after["fiu-b"]?.pseudonym("DE89370400440532013000") == before["fiu-b"]?.pseudonym("DE89370400440532013000"))
        #expect(try String(contentsOfFile: dir + "/signing.key", encoding: .utf8) == signingKey)
        // The retired key resolves the old pseudonyms, and only its owner can read it.
        let kept = dir + "/" + SharingKeys.retiredPseudonymFile("fiu-a", keyID: retired)
        #expect(kept.hasSuffix("/pseudonym-fiu-a.\(retired).retired"))
        #expect(try FileManager.default.attributesOfItem(atPath: kept)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/pseudonym-fiu-a.key")[.posixPermissions] as? Int == 0o600)
        let old = try Pseudonymiser(key: Array(Data(base64Encoded: String(contentsOfFile: kept, encoding: .utf8).trimmingCharacters(in: .newlines))!))
        #expect(old.pseudonym("DE89370400440532013000") == before["fiu-a"]?.pseudonym("DE89370400440532013000"))

        #expect(throws: KeyError.self) { try SharingKeys.rotatePseudonym(of: "police", in: dir) }
    }

    @Test("keys never appear in what is shared")
    func keysStayPrivate() throws {
        var fields = Self.allPass
        fields[.subjectValue] = .pseudonymise
        let pseudonymKey = [UInt8](repeating: 0x5A, count: 32)
        let p = Self.partner(fields: fields)
        let copy = try #require(Self.shared(try Self.sharing([p], pseudonymKeys: ["fiu-a": pseudonymKey]).disclose(Self.alert(), to: p)))
        let bytes = copy.canonicalJSON
        for key in [Self.signingKey, pseudonymKey] {
            for form in [Data(key).base64EncodedString(), key.hex] {
                #expect(!String(decoding: bytes, as: UTF8.self).contains(form))
            }
        }
    }
}
