import Foundation
import Testing
@testable import VigilCore

@Suite("Event time")
struct EventTimeTests {
    @Test("RFC 3339 forms parse to the same instant", arguments: [
        "2024-03-01T09:30:00Z", "2024-03-01t09:30:00z", "2024-03-01 09:30:00Z", "2024-03-01T10:30:00+01:00",
        "2024-03-01T04:00:00-05:30", "2024-03-01T09:30:00.000Z",
    ])
    func equivalentForms(text: String) throws {
        let t = try #require(EventTime(rfc3339: text))
        #expect(t.rfc3339 == "2024-03-01T09:30:00Z")
    }

    @Test("fractions, leap days and pre-1970 instants round-trip")
    func roundTrip() throws {
        #expect(EventTime(rfc3339: "2024-02-29T23:59:59.123Z")?.rfc3339 == "2024-02-29T23:59:59.123Z")
        #expect(EventTime(rfc3339: "2024-02-29T23:59:59.123456Z")?.rfc3339 == "2024-02-29T23:59:59.123456Z")
        #expect(EventTime(rfc3339: "1969-12-31T23:59:59Z")?.microseconds == -1_000_000)
        #expect(EventTime(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
        #expect(EventTime(rfc3339: "2000-01-01T00:00:00Z")?.microseconds == 946_684_800_000_000)
        #expect(EventTime(microseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
        #expect(EventTime(rfc3339: "0001-01-01T00:00:00Z")?.rfc3339 == "0001-01-01T00:00:00Z")
        #expect(EventTime(rfc3339: "9999-12-31T23:59:59.5Z")?.rfc3339 == "9999-12-31T23:59:59.500Z")
        #expect(EventTime(rfc3339: "1964-07-12T18:45:00+02:00")?.dateText == "1964-07-12")
        // Beyond what RFC 3339 can write: a plain signed year, never a wrapped one.
        #expect(EventTime(microseconds: .max).rfc3339.hasPrefix("294247-01-10T04:00:54.775807"))
    }

    @Test("invalid timestamps are rejected", arguments: [
        "", "2024-03-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-03-01T24:00:00Z",
        "2024-03-01T09:30:00", "2024-03-01T09:30:00+0100", "2024-03-01T09:30:00Zjunk", "2024-03-01T09:30:00.Z",
    ])
    func invalid(text: String) {
        #expect(EventTime(rfc3339: text) == nil)
    }
}

@Suite("Canonical transactions")
struct TransactionDecodingTests {
    let valid = #"{"id":"tx-1","ts":"2024-03-01T09:30:00Z","amount":"9500.10","currency":"USD","channel":"cash","#
        + #""debtor":{"account":"ACC-1","name":"A","country":"US"},"creditor":{"account":"ACC-2"}}"#

    @Test("decodes a canonical transaction with an exact decimal amount")
    func decodes() throws {
        let tx = try CanonicalDecoder.transaction(from: Array(valid.utf8))
        #expect(tx.amount == Decimal(string: "9500.10")!)
        #expect(tx.debtor.account == "ACC-1")
        #expect(tx.ts.rfc3339 == "2024-03-01T09:30:00Z")
    }

    @Test("the partition key is debtor.account, also on a message that is otherwise invalid")
    func partitionKey() {
        func key(_ text: String) -> String? { CanonicalDecoder.debtorAccount(in: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) } }
        #expect(key(valid) == "ACC-1")
        #expect(key(valid.replacingOccurrences(of: "9500.10", with: "12,5OO")) == "ACC-1")
        #expect(key(#"{"debtor":{"account":"AC\u0043-\u00e9"}}"#) == "ACC-é")
        #expect(key(#"{"debtor":{"account":""}}"#) == nil)
        #expect(key(#"{"creditor":{"account":"X"}}"#) == nil)
        #expect(key("{broken") == nil && key("[1]") == nil)
    }

    @Test("a JSON number amount is read exactly, not through a binary float")
    func numberAmount() throws {
        let json = valid.replacingOccurrences(of: #""9500.10""#, with: "0.1")
        let tx = try CanonicalDecoder.transaction(from: Array(json.utf8))
        #expect(tx.amount == Decimal(string: "0.1")!)
        #expect(tx.amount * 3 == Decimal(string: "0.3")!)
    }

    @Test("encoding and decoding give back the same transaction")
    func roundTrip() throws {
        let tx = try CanonicalDecoder.transaction(from: Array(valid.utf8))
        let bytes = try CanonicalJSON.encode(tx)
        #expect(try CanonicalDecoder.transaction(from: bytes) == tx)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""amount":"9500.1""#))
    }

    @Test("a party's details are its own: a copy changed does not change the original, and an emptied one equals none")
    func partyDetails() throws {
        let a = Party(account: "A", name: "N", bic: "DEUTDEFF", email: "a@example.org")
        var b = a
        b.bic = "COBADEFF"
        b.phone = "+49 30 1234"
        #expect(a.bic == "DEUTDEFF" && a.phone == nil && a.email == "a@example.org")
        #expect(b.bic == "COBADEFF" && b.phone == "+49 30 1234" && b.email == "a@example.org")
        #expect(a != b)

        var c = Party(account: "A", name: "N")
        c.cardHash = "f00d"
        #expect(c != Party(account: "A", name: "N"))
        c.cardHash = nil
        #expect(c == Party(account: "A", name: "N"))
        #expect(c.hashValue == Party(account: "A", name: "N").hashValue)

        // Every detail, through the canonical decoder and Codable, in both directions.
        let json = #"{"account":"A","name":"N","country":"DE","bic":"B","institution":"I","address":"S","dob":"1980-01-02","#
            + #""idNumber":"P1","phone":"T","email":"E","cardHash":"H"}"#
        let tx = try CanonicalDecoder.transaction(from: Array(valid.replacingOccurrences(of: #"{"account":"ACC-2"}"#, with: json).utf8))
        let full = Party(account: "A", name: "N", country: "DE", bic: "B", institution: "I", address: "S", dob: "1980-01-02",
                         idNumber: "P1", phone: "T", email: "E", cardHash: "H")
        #expect(tx.creditor == full)
        #expect(try JSONDecoder().decode(Party.self, from: JSONEncoder().encode(full)) == full)
        #expect(try JSONDecoder().decode(Party.self, from: Data(json.utf8)) == full)
    }

    @Test("errors name the field and say what was expected", arguments: [
        (#"{"id":"x"}"#, "field 'ts': required field is missing"),
        ("not json", "not valid JSON"),
        (#"{"id":"t","ts":"yesterday","amount":"1","currency":"USD","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'ts': 'yesterday' is not an RFC 3339 timestamp"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1e5","currency":"USD","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'amount': '1e5' is not a decimal amount"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"usd","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'currency': 'usd' is not an ISO 4217 code (three capital letters)"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"name":"a"},"creditor":{"account":"b"}}"#,
         "field 'debtor.account': required field is missing"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":"teleport","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'channel': 'teleport' is not one of ach, card, cash, cheque, crypto, mobile, other, wire"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":true,"currency":"USD","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'amount': expected a number"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":"Cash","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'channel': 'Cash' is not one of ach, card, cash, cheque, crypto, mobile, other, wire"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":"cashier","debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'channel': 'cashier' is not one of ach, card, cash, cheque, crypto, mobile, other, wire"),
        (#"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":5,"debtor":{"account":"a"},"creditor":{"account":"b"}}"#,
         "field 'channel': expected a string"),
    ])
    func errors(json: String, message: String) {
        let error = #expect(throws: EventDecodingError.self) { try CanonicalDecoder.transaction(from: Array(json.utf8)) }
        #expect(error?.description == message)
    }
}

@Suite("Alerts")
struct AlertTests {
    let pipeline = Alert.PipelineRef(name: "p", version: "1.0.0")
    let finding = Alert.Finding(kind: .rule, id: "r", version: 1, score: 1, explanation: "x")

    @Test("ids are deterministic, independent of event order, and change with any input")
    func deterministicIDs() {
        let a = Alert.deterministicID(pipeline: pipeline, findings: [finding], eventIDs: ["e1", "e2"])
        #expect(a == Alert.deterministicID(pipeline: pipeline, findings: [finding], eventIDs: ["e2", "e1"]))
        #expect(a.hasPrefix("al-") && a.count == 35)
        #expect(a != Alert.deterministicID(pipeline: pipeline, findings: [finding], eventIDs: ["e1", "e3"]))
        #expect(a != Alert.deterministicID(pipeline: .init(name: "p", version: "1.0.1"), findings: [finding], eventIDs: ["e1", "e2"]))
        var f2 = finding
        f2.version = 2
        #expect(a != Alert.deterministicID(pipeline: pipeline, findings: [f2], eventIDs: ["e1", "e2"]))
    }

    @Test("canonical JSON is byte-stable with sorted keys")
    func canonical() throws {
        let alert = Alert(id: "al-1", ts: EventTime(seconds: 0), pipeline: pipeline, findings: [finding], score: 1,
                          subject: .init(field: "debtor.account", value: "A/1"), evidence: [], tlp: "TLP:AMBER",
                          purpose: "aml-investigation", consent: "prior-consent", partner: "local")
        let one = try CanonicalJSON.encode(alert)
        #expect(one == (try CanonicalJSON.encode(alert)))
        let text = String(decoding: one, as: UTF8.self)
        #expect(text.hasPrefix(#"{"consent":"prior-consent","evidence":[],"findings":"#))
        #expect(text.contains(#""value":"A/1""#))
        #expect(try JSONDecoder().decode(Alert.self, from: Data(one)) == alert)
    }
}

@Suite("Durations in pipeline files")
struct DurationTextTests {
    @Test func parsing() {
        #expect(DurationText.parse("24h") == .seconds(86_400))
        #expect(DurationText.parse("1h30m") == .seconds(5_400))
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("7d") == .seconds(604_800))
        for bad in ["", "h", "24", "24x", "-1h", "1.5h", "24 h"] { #expect(DurationText.parse(bad) == nil, "\(bad)") }
        #expect(DurationText.format(.seconds(5_400)) == "1h30m")
        #expect(DurationText.format(.seconds(86_400)) == "24h")
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("FIPS 180-4 / NIST test vectors")
    func vectors() {
        #expect(SHA256.hash("abc".utf8).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)).hex
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Incremental updates across block boundaries give the same digest.
        var h = SHA256()
        h.update(Array(repeating: UInt8(ascii: "a"), count: 63))
        h.update(Array(repeating: UInt8(ascii: "a"), count: 65))
        #expect(h.finalize() == SHA256.hash(Array(repeating: UInt8(ascii: "a"), count: 128)))
        // Contiguous arrays (whole blocks at once) and byte-by-byte sequences mixed.
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var mixed = SHA256()
        mixed.update(bytes[0..<10])
        mixed.update(bytes[10..<300].lazy.map { $0 })
        mixed.update(Array(bytes[300..<1_000]))
        #expect(mixed.finalize() == SHA256.hash(bytes.lazy.map { $0 }))
    }

    @Test("HMAC-SHA256, RFC 4231 test cases 1, 2 and 6")
    func hmac() {
        #expect(HMACSHA256.authenticationCode(key: [UInt8](repeating: 0x0b, count: 20), message: "Hi There".utf8).hex
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(HMACSHA256.authenticationCode(key: Array("Jefe".utf8), message: "what do ya want for nothing?".utf8).hex
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256.authenticationCode(key: [UInt8](repeating: 0xaa, count: 131),
                                              message: "Test Using Larger Than Block-Size Key - Hash Key First".utf8).hex
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}

@Suite("The canonical JSON reader")
struct JSONReaderTests {
    @Test("agrees with Foundation's JSONDecoder on valid transactions, escapes and all")
    func agreesWithFoundation() throws {
        let texts = [
            #"{"id":"t\"1\\","ts":"2024-01-01T00:00:00.5+02:00","amount":12.50,"currency":"EUR","debtor":{"account":"A\u00e9\ud83d\ude00","name":"Zoë Ünal","extra":[1,{"x":null}]},"creditor":{"account":"B","country":"DE"},"reference":"line\nbreak\t/\/","unknown":{"deep":[true,false,null,-1.5e3]}}"#,
            #"  {"creditor":{"account":"B"},"debtor":{"account":"A"},"currency":"USD","amount":"0.10","ts":"2024-02-29T23:59:59Z","id":"x","channel":null,"source":{"format":"csv"}}  "#,
            #"{"id":"n","ts":"2024-01-01T00:00:00Z","amount":-0,"currency":"USD","debtor":{"account":"A"},"creditor":{"account":"B"},"id":"dup"}"#,
            // Long strings (read eight bytes at a time) with escapes and multi-byte letters at every distance.
            #"{"id":"a-rather-long-id-\"quoted\"-and-\\-then-more-é-ü-€-text","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"account":"ACCOUNT-WITH-LONG-NAME\u00e9"},"creditor":{"account":"B"},"reference":"1234567\"89abcdefg\\hijklmnop\/"}"#,
            // Keys written with escapes are the same keys; an unknown escaped key is skipped.
            #"{"\u0069d":"e","ts":"2024-01-01T00:00:00Z","amount":"1","curr\u0065ncy":"USD","debtor":{"acc\u006Funt":"A","n\u00e4me":"x"},"creditor":{"account":"B"}}"#,
            // Keys that share a known key's length or its first eight bytes are other keys.
            #"{"id":"k","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"account":"A","institutiom":"x","cardHasH":"y"},"creditor":{"account":"B","institution":"I"},"referencf":"no","reference":"yes","referencee":"no"}"#,
            // Channels, read as the known strings: escaped, and each of the eight.
            #"{"id":"c","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":"c\u0061sh","debtor":{"account":"A"},"creditor":{"account":"B"}}"#,
        ] + Transaction.channels.sorted().map {
            #"{"id":"c","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","channel":""# + $0 + #"","debtor":{"account":"A"},"creditor":{"account":"B"}}"#
        } + [
            // Object members (read in the pass over the whole): repeated (the first counts), an
            // escaped name, one empty, every detail of a party, and a nested object inside one.
            #"{"id":"o","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"account":"A","name":"first"},"debtor":{"account":"Z"},"creditor":{"account":"B","postal":{"street":"x"},"address":"S","bic":"DEUTDEFF","institution":"I","dob":"1980-01-02","idNumber":"P","phone":"T","email":"E","cardHash":"H"},"source":{}}"#,
        ]
        for text in texts {
            let fast = try CanonicalDecoder.transaction(from: Array(text.utf8))
            let slow = try JSONDecoder().decode(Transaction.self, from: Data(text.utf8))
            #expect(fast == slow, "\(text)")
        }
    }

    @Test("syntax errors anywhere are 'not valid JSON'; other top-level values are named", arguments: [
        (#"{"id":"x",}"#, "not valid JSON"), (#"{"id":"x"} {}"#, "not valid JSON"), (#"{"id":"x\q"}"#, "not valid JSON"),
        ("{\"id\":\"a\u{01}b\"}", "not valid JSON"), ("{\"id\":\"abcdefghijk\u{1F}lmnop\"}", "not valid JSON"),
        ("{\"id\":\"abcdefghijklmnop\u{7F}\u{0A}\"}", "not valid JSON"), ("{\"id\":\"abcdefghijklmnop", "not valid JSON"), (#"{"a":01}"#, "not valid JSON"), (#"{"a":[1,]}"#, "not valid JSON"),
        (#"{"a":tru}"#, "not valid JSON"), ("", "not valid JSON"), (#"[1,2]"#, "expected a JSON object, found an array"),
        (#""text""#, "expected a JSON object, found a single value"),
        // A syntax error inside a member object is reported as such, before a missing field.
        (#"{"id":"x","debtor":{"account":"a",}}"#, "not valid JSON"), (#"{"debtor":{"account":"a"},"debtor":{"account":}}"#, "not valid JSON"),
    ])
    func syntax(text: String, message: String) {
        let e = #expect(throws: EventDecodingError.self) { try CanonicalDecoder.transaction(from: Array(text.utf8)) }
        #expect(e?.description == message)
    }

    @Test("wrong types and nulls name the field")
    func types() {
        let base = #"{"id":"t","ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"account":"a"},"creditor":{"account":"b"}}"#
        for (from, to, message) in [
            (#""id":"t""#, #""id":5"#, "field 'id': expected a string"),
            (#""id":"t""#, #""id":null"#, "field 'id': expected a string, found null"),
            (#""debtor":{"account":"a"}"#, #""debtor":"a""#, "field 'debtor': expected an object"),
            (#""debtor":{"account":"a"}"#, #""debtor":[{"account":"a"}]"#, "field 'debtor': expected an object"),
            (#""debtor":{"account":"a"}"#, #""debtor":5,"debtor":{"account":"a"}"#, "field 'debtor': expected an object"),
            (#""creditor":{"account":"b"}"#, #""creditor":{"name":"b"}"#, "field 'creditor.account': required field is missing"),
            (#""creditor":{"account":"b"}"#, #""creditor":{"account":"b"},"source":{"format":1}"#, "field 'source.format': expected a string"),
            (#""debtor":{"account":"a"}"#, #""debtor":{"account":null}"#, "field 'debtor.account': expected a string, found null"),
            (#""amount":"1""#, #""amount":null"#, "field 'amount': expected a number, found null"),
            (#""creditor":{"account":"b"}"#, #""creditor":{"account":"b","country":"d"}"#, "field 'creditor.country': 'd' is not an ISO 3166-1 alpha-2 code"),
        ] {
            let text = base.replacingOccurrences(of: from, with: to)
            let e = #expect(throws: EventDecodingError.self) { try CanonicalDecoder.transaction(from: Array(text.utf8)) }
            #expect(e?.description == message, "\(text)")
        }
        // A key in the last eight bytes of the document is still found.
        let atEnd = #"{"ts":"2024-01-01T00:00:00Z","amount":"1","currency":"USD","debtor":{"account":"a"},"creditor":{"account":"b"},"id":""}"#
        let e = #expect(throws: EventDecodingError.self) { try CanonicalDecoder.transaction(from: Array(atEnd.utf8)) }
        #expect(e?.description == "field 'id': must not be empty")
    }
}

@Suite("Decimal text")
struct DecimalTextTests {
    @Test("parses exactly, like Foundation's parser, including long and signed values", arguments: [
        "0", "-0", "0.10", "9999.99", "-12.5", "1.", "123456789012345678", "1234567890123456789012.5",
        "0.000000000000000000001", "0.1234567890123456789", "00012.3400",
    ])
    func exact(text: String) throws {
        let d = try #require(DecimalText.parse(text))
        #expect(d == Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), "\(text)")
    }

    @Test("rejects what is not a plain decimal", arguments: ["", "-", ".", "1e5", "1,5", " 1", "1 ", "NaN", "+1", "1.2.3", "--1"])
    func rejects(text: String) {
        #expect(DecimalText.parse(text) == nil, "\(text)")
    }

    /// `format` writes values with a 64-bit mantissa itself: it must write Foundation's text.
    @Test("formats as Foundation does, to the byte: every scale, sign and width, zeros and NaN")
    func formatsAsFoundation() {
        let posix = Locale(identifier: "en_US_POSIX")
        var values = DecimalOrderTests.values
        var rng = SystemRandomNumberGenerator()
        for i in 0..<20_000 {
            let bits = Int.random(in: 1...64, using: &rng)
            let mantissa = bits == 64 ? UInt64.random(in: .min ... .max, using: &rng) : UInt64.random(in: 0..<(1 << UInt64(bits)), using: &rng)
            // Mostly the scales amounts have; every tenth anywhere in Decimal's range.
            let exponent = i % 10 == 0 ? Int.random(in: -128...127, using: &rng) : Int.random(in: -20...20, using: &rng)
            let value = Decimal(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa))
            values.append(value)
            // Sums and products, as window totals and thresholds come.
            values.append(value * Decimal(Int.random(in: 1...1_000, using: &rng)) + Decimal(sign: .plus, exponent: -2, significand: Decimal(Int.random(in: 0...99, using: &rng))))
        }
        values += ["0.00", "-0.00", "0.000", "1.10", "-0.05", "100", "65536", "18446744073709551615", "18446744073709551616"].compactMap { DecimalText.parse($0) }
        values += [Decimal(sign: .plus, exponent: -5, significand: 0), Decimal(sign: .minus, exponent: 3, significand: 0)]
        var differences: [String] = []
        for value in values {
            var v = value
            let expected = NSDecimalString(&v, posix)
            if DecimalText.format(value) != expected { differences.append("\(DecimalText.format(value)), expected \(expected)") }
        }
        #expect(differences.isEmpty, "\(differences.count) of \(values.count): \(differences.prefix(5))")
        #expect(DecimalText.format(DecimalText.parse("9500.10")!) == "9500.1")
        #expect(DecimalText.format(DecimalText.parse("0.000123")!) == "0.000123")
        #expect(DecimalText.format(DecimalText.parse("-0.05")!) == "-0.05")
        #expect(DecimalText.format(Decimal(sign: .plus, exponent: 3, significand: 12)) == "12000")
    }
}

@Suite("Decimal order")
struct DecimalOrderTests {
    /// Values built the ways amounts and thresholds are: parsed text with scales 0–6, literals,
    /// negatives, zeros of both signs, mantissas past 64 bits, and arithmetic results.
    static let values: [Decimal] = {
        var out: [Decimal] = []
        var rng = SystemRandomNumberGenerator()
        let texts = ["0", "-0", "0.00", "10000", "9999.99", "10000.00", "10000.001", "-10000", "1e4", "0.1", "0.10",
                     "123456789012345678", "1234567890123456789012345", "18446744073709551615", "18446744073709551616",
                     "-18446744073709551616", "0.000000000000000000001", "99999999999999999999999999999999999999"]
        for t in texts { out.append(Decimal(string: t, locale: Locale(identifier: "en_US_POSIX"))!) }
        for t in texts.prefix(8) { if let d = DecimalText.parse(t) { out.append(d) } }
        for _ in 0..<300 {
            let mantissa = UInt64.random(in: 0...2_000_000, using: &rng)
            let exponent = Int.random(in: -6...6, using: &rng)
            out.append(Decimal(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa)))
        }
        out.append(Decimal(10000) / Decimal(3))
        out.append(Decimal.nan)
        return out
    }()

    @Test("agrees with Foundation's comparison on every pair")
    func agreesWithFoundation() {
        var disagreements: [String] = []
        for a in Self.values where !a.isNaN {
            for b in Self.values where !b.isNaN {
                let expected = a < b ? -1 : a == b ? 0 : 1
                if Decimal.order(a, b) != expected { disagreements.append("\(a) vs \(b): \(Decimal.order(a, b)), expected \(expected)") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test("a prepared constant orders every value as the plain comparison does, either way round")
    func comparandAgreesWithOrder() {
        var disagreements: [String] = []
        for c in Self.values where !c.isNaN {
            let prepared = Decimal.Comparand(c)
            for x in Self.values where !x.isNaN {
                if prepared.order(x) != Decimal.order(x, c) { disagreements.append("\(x) vs \(c): \(prepared.order(x))") }
                if prepared.reverseOrder(x) != Decimal.order(c, x) { disagreements.append("\(c) vs \(x): \(prepared.reverseOrder(x))") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}

extension DecimalOrderTests {
    @Test("the fast path is taken on this platform (the layout check passes)")
    func fastPathActive() {
        #expect(Decimal.orderUsesFastPath)
    }

    /// Window sums are printed in explanations and compared in `having`: the integer path must
    /// give what Foundation's `+` gives, to the byte (its compact form included).
    @Test("DecimalSum gives Foundation's sum, byte for byte")
    func sumAgreesWithFoundation() {
        func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }
        var rng = SplitMix64(seed: 42)
        // Amounts as the feeds give them (parsed text, 0–4 decimals), and the awkward values above.
        let amounts = (0..<400).map { _ in
            DecimalText.parse("\(rng.next() % 5 == 0 ? "-" : "")\(rng.next() % 2_000_000).\(String(rng.next() % 10_000).prefix(Int(rng.next() % 5)))")
                ?? Decimal(Int(rng.next() % 1000))
        }
        let pool = amounts + Self.values.filter { !$0.isNaN }
        var mismatches: [String] = []
        for run in 0..<3_000 {
            var foundation = Decimal.zero
            var fast = DecimalSum()
            for _ in 0..<(1 + run % 8) {
                let d = pool[Int(rng.next() % UInt64(pool.count))]
                foundation += d
                fast.add(d)
            }
            if bytes(fast.value) != bytes(foundation) { mismatches.append("\(fast.value) vs \(foundation)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(bytes(DecimalSum().value) == bytes(Decimal.zero))
        var cancelled = DecimalSum()
        cancelled.add(Decimal(string: "12.50")!)
        cancelled.add(Decimal(string: "-12.5")!)
        #expect(bytes(cancelled.value) == bytes(Decimal(string: "12.50")! + Decimal(string: "-12.5")!))
    }
}

@Suite("Alert JSON")
struct AlertJSONTests {
    /// Texts that need every kind of escape, and non-ASCII that must pass through as UTF-8.
    static let awkward = ["", "plain", "quote \" and \\ backslash", "a/b", "line\nfeed\ttab\rcr\u{08}\u{0C}", "\u{01}\u{1F}\u{7F}",
                          "Zoë – Ünal € 😀", "\u{2028}\u{2029}", "ends with \\"]

    static func alert(_ n: Int) -> Alert {
        var rng = SystemRandomNumberGenerator()
        func text() -> String { awkward.randomElement(using: &rng)! + String(Int.random(in: 0...999, using: &rng)) }
        let scores = [0, 1, 0.5, 0.1, 1.0 / 3, 1e-7, 0.30000000000000004, 2.5, 1e16]
        var alert = Alert(
            id: text(), ts: EventTime(microseconds: Int64.random(in: -10_000_000...4_000_000_000_000_000, using: &rng)),
            pipeline: .init(name: text(), version: text()),
            findings: (0..<(n % 3 + 1)).map { _ in
                Alert.Finding(kind: [.rule, .typology, .screening, .anomaly].randomElement(using: &rng)!, id: text(),
                              version: Int.random(in: 0...100, using: &rng), score: scores.randomElement(using: &rng)!, explanation: text())
            },
            score: scores.randomElement(using: &rng)!, subject: .init(field: text(), value: text()),
            evidence: (0..<(n % 4)).map { _ in
                Alert.Evidence(topic: text(), partition: Int32.random(in: 0...63, using: &rng), offset: Int64.random(in: 0...Int64.max, using: &rng),
                               eventId: text(), ts: EventTime(microseconds: Int64.random(in: 0...2_000_000_000_000_000, using: &rng)))
            },
            tlp: text(), purpose: text(), consent: text(), partner: text(), signature: n % 2 == 0 ? nil : text())
        if n % 3 == 0 { alert.reviewOnly = true }
        return alert
    }

    @Test("the direct writer gives JSONEncoder's canonical bytes", arguments: 0..<200)
    func sameBytes(n: Int) throws {
        let alert = Self.alert(n)
        #expect(String(decoding: alert.canonicalJSON, as: UTF8.self) == String(decoding: try CanonicalJSON.encode(alert), as: UTF8.self))
    }

    @Test("signing encodes once: the signature spliced into the unsigned bytes gives the signed alert's bytes", arguments: 0..<100)
    func splicedSignature(n: Int) throws {
        var alert = Self.alert(n)
        // The members around the signature's place, present or not.
        if n % 4 == 1 { alert.redactions = ["subject.name": "redact", "evidence": "pseudonymise"] }
        if n % 5 == 2 { alert.subject = .init(field: "traveller.document", value: nil, name: "Zoë \"Ünal\"", dob: "1970", document: "X1") }
        var unsigned = alert
        unsigned.signature = nil
        var given: [UInt8] = []
        let signature = Self.awkward[n % Self.awkward.count] + "ed25519:k:\(n)"
        let (returned, json) = alert.canonicalJSON { bytes in
            given = bytes
            return signature
        }
        #expect(given == unsigned.canonicalJSON)
        #expect(returned == signature)
        var signed = alert
        signed.signature = signature
        #expect(String(decoding: json, as: UTF8.self) == String(decoding: try CanonicalJSON.encode(signed), as: UTF8.self))
    }
}

@Suite("Transaction JSON")
struct TransactionJSONTests {
    /// A transaction with each optional field present or not, texts from the awkward ones, and
    /// amounts with trailing zeros, signs, no fraction and more digits than a `Double` holds.
    static func transaction(_ n: Int) -> Transaction {
        var rng = SplitMix64(seed: UInt64(n))
        func text() -> String { AlertJSONTests.awkward.randomElement(using: &rng)! + String(rng.next() % 1000) }
        func maybe() -> String? { rng.next() % 2 == 0 ? text() : nil }
        func party() -> Party {
            Party(account: text(), name: maybe(), country: maybe(), bic: maybe(), institution: maybe(), address: maybe(), dob: maybe(),
                  idNumber: maybe(), phone: maybe(), email: maybe(), cardHash: maybe())
        }
        let amounts = ["0", "9500.00", "-12.50", "0.001", "177.82", "10000", "123456789012345678.25", "1.10", "-0"]
        let source = rng.next() % 3 == 0 ? nil : EventSource(format: maybe(), institution: maybe(), file: maybe())
        return Transaction(id: text(), ts: EventTime(microseconds: Int64(rng.next() % 4_000_000_000_000_000)),
                           amount: DecimalText.parse(amounts.randomElement(using: &rng)!)!, currency: text(), channel: maybe(),
                           debtor: party(), creditor: party(), reference: maybe(), source: source)
    }

    @Test("the direct writer gives JSONEncoder's canonical bytes", arguments: 0..<200)
    func sameBytes(n: Int) throws {
        let tx = Self.transaction(n)
        #expect(String(decoding: tx.canonicalJSON, as: UTF8.self) == String(decoding: try CanonicalJSON.encode(tx), as: UTF8.self))
    }
}

@Suite("ISO 3166 country codes")
struct CountryCodeTests {
    @Test("alpha-2 and alpha-3 codes and passports' ICAO codes read as alpha-2; anything else is not a code")
    func codes() {
        for (code, two) in [("RU", "RU"), ("rus", "RU"), ("RUS", "RU"), ("DEU", "DE"), ("D", "DE"), ("GBD", "GB"), ("GBR", "GB"),
                            ("COD", "CD"), ("PRK", "KP"), ("RKS", "XK"), ("ALA", "AX"), ("fr", "FR")] {
            #expect(CountryCodes.alpha2(code) == two, "\(code)")
        }
        for code in ["", "R", "XQ", "RUX", "RUSS", "Russia", "ABC", "12"] { #expect(CountryCodes.alpha2(code) == nil, "\(code)") }
    }
}

@Suite("Identifiers compared")
struct IdentityKeyTests {
    @Test("one phone number in every form it is written in gives one key", arguments: [
        "+33 1 23 45 67 89", "0033 1 23 45 67 89", "011 33 1 23 45 67 89", "01 23 45 67 89", "(01) 23.45.67.89", "33123456789",
    ])
    func phoneForms(_ written: String) {
        #expect(IdentityKey.phone(written) == "123456789")
    }

    @Test("a trunk zero in brackets, a national number of ten digits, and what is no number")
    func phoneEdges() {
        #expect(IdentityKey.phone("+44 (0)20 7946 0000") == IdentityKey.phone("020 7946 0000"))
        #expect(IdentityKey.phone("+1 702-555-1212") == IdentityKey.phone("(702) 555 1212"))
        // Two countries' numbers that differ before their last nine digits are two numbers.
        #expect(IdentityKey.phone("+98 21 8852 6300") != IdentityKey.phone("+98 21 8852 6301"))
        #expect(IdentityKey.phone("ext. 12345") == nil && IdentityKey.phone("") == nil)
        #expect(IdentityKey.phone("555 1234") == "5551234")
    }

    @Test("e-mail addresses trimmed and in lower case; text without a local part and a domain is none")
    func emails() {
        #expect(IdentityKey.email(" Zoe.Muller@Example.ORG\n") == "zoe.muller@example.org")
        #expect(IdentityKey.email("zoe.muller") == nil && IdentityKey.email("@example.org") == nil && IdentityKey.email("zoe@") == nil)
    }

    @Test("document numbers as upper-case Latin letters and digits, whatever the punctuation")
    func documents() {
        #expect(IdentityKey.document("P 123-456 7") == "P1234567" && IdentityKey.document("p1234567") == "P1234567")
        #expect(IdentityKey.document("0x8589427373d6D84E") == "0X8589427373D6D84E" && IdentityKey.document(" -/ ") == "")
    }
}

@Suite("Why a file cannot be read or written")
struct FileProblemTests {
    @Test("a missing file, a folder where a file belongs, a missing folder to write in")
    func reasons() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fileproblem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("f.txt").path
        try "x".write(toFile: file, atomically: true, encoding: .utf8)

        #expect(FileProblem.reason(dir.appendingPathComponent("none").path) == "no such file")
        #expect(FileProblem.reason(dir.path) == "is a folder, not a file")
        #expect(FileProblem.reason(file, unreadable: "not UTF-8 text") == "not UTF-8 text")

        #expect(FileProblem.writeReason(dir.path, otherwise: "other") == "is a folder, not a file")
        let missing = dir.appendingPathComponent("no/such")
        #expect(FileProblem.writeReason(missing.appendingPathComponent("out.json").path, otherwise: "other") == "no such folder '\(missing.path)'")
        #expect(FileProblem.writeReason(file + "/out.json", otherwise: "other") == "'\(file)' is a file, not a folder")
        #expect(FileProblem.writeReason(dir.appendingPathComponent("new.json").path, otherwise: "other") == "other")
    }
}
