/// Writes JSON exactly as ``CanonicalJSON`` encodes it (sorted keys, no escaped slashes, one
/// line), for the values written once per alert or event, where `JSONEncoder`'s boxing of
/// every value cost a quarter of the detection path. Callers write keys in sorted order
/// themselves; the tests hold each writer to `JSONEncoder`'s bytes.
public struct JSONOutput {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public mutating func object(_ body: (inout JSONOutput) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array<S: Sequence>(_ items: S, _ body: (inout JSONOutput, S.Element) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for item in items { body(&self, item) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A key known only at run time (a map's key); the caller keeps the keys sorted.
    public mutating func dynamicKey(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key inside an object; the value follows.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func string(_ s: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                escape(c)
                start = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func int<I: BinaryInteger>(_ n: I) { raw(String(n)) }

    /// As `JSONEncoder` writes a Double: its shortest round-trip text, without a trailing `.0`.
    public mutating func double(_ d: Double) {
        let text = d.description
        raw(text.hasSuffix(".0") ? String(text.dropLast(2)) : text)
    }

    public mutating func bool(_ b: Bool) { raw(b ? "true" : "false") }

    private mutating func raw(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func escape(_ c: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(c)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 0xF)]])
        }
    }
}

extension Alert {
    /// The alert's canonical JSON: the same bytes as `CanonicalJSON.encode(alert)`, written
    /// directly (keys in sorted order, absent optionals left out).
    public var canonicalJSON: [UInt8] {
        var mark = 0
        return canonicalJSON(signature: signature, mark: &mark)
    }

    /// The canonical JSON of the alert signed by `sign`, which is given the canonical JSON of
    /// the alert without a signature and returns the signature. The signature is spliced into
    /// those bytes at its sorted place (after `score`, before `subject`), which gives the bytes
    /// `canonicalJSON` gives for the signed alert without encoding it a second time.
    public func canonicalJSON(signedBy sign: ([UInt8]) -> String) -> (signature: String, json: [UInt8]) {
        var mark = 0
        let unsigned = canonicalJSON(signature: nil, mark: &mark)
        let signature = sign(unsigned)
        // `,"signature":"…"`: the member, after the comma that follows `score`.
        var member = JSONOutput(capacity: signature.utf8.count + 16)
        member.key("signature")
        member.string(signature)
        var json = [UInt8]()
        json.reserveCapacity(unsigned.count + 1 + member.bytes.count)
        json += unsigned[..<mark]
        json.append(UInt8(ascii: ","))
        json += member.bytes
        json += unsigned[mark...]
        return (signature, json)
    }

    /// `mark` is set to where the signature member goes: just after the `score` value.
    private func canonicalJSON(signature: String?, mark: inout Int) -> [UInt8] {
        var out = JSONOutput(capacity: 256 + 160 * evidence.count + 200 * findings.count)
        out.object { o in
            o.key("consent"); o.string(consent)
            o.key("evidence")
            o.array(evidence) { o, e in
                o.object { o in
                    o.key("eventId"); o.string(e.eventId)
                    o.key("offset"); o.int(e.offset)
                    o.key("partition"); o.int(e.partition)
                    if let p = e.passenger { o.key("passenger"); o.bool(p) }
                    o.key("topic"); o.string(e.topic)
                    o.key("ts"); o.string(e.ts.rfc3339)
                }
            }
            o.key("findings")
            o.array(findings) { o, f in
                o.object { o in
                    o.key("explanation"); o.string(f.explanation)
                    o.key("id"); o.string(f.id)
                    o.key("kind"); o.string(f.kind.rawValue)
                    o.key("score"); o.double(f.score)
                    o.key("version"); o.int(f.version)
                }
            }
            o.key("id"); o.string(id)
            o.key("partner"); o.string(partner)
            o.key("pipeline")
            o.object { o in
                o.key("name"); o.string(pipeline.name)
                o.key("version"); o.string(pipeline.version)
            }
            o.key("purpose"); o.string(purpose)
            if let redactions {
                o.key("redactions")
                o.object { o in
                    for (field, treatment) in redactions.sorted(by: { $0.key < $1.key }) {
                        o.dynamicKey(field); o.string(treatment)
                    }
                }
            }
            if let reviewOnly { o.key("reviewOnly"); o.bool(reviewOnly) }
            o.key("schema"); o.int(schema)
            o.key("score"); o.double(score)
            mark = o.bytes.count
            if let signature { o.key("signature"); o.string(signature) }
            o.key("subject")
            o.object { o in
                if let v = subject.dob { o.key("dob"); o.string(v) }
                if let v = subject.document { o.key("document"); o.string(v) }
                o.key("field"); o.string(subject.field)
                if let v = subject.institution { o.key("institution"); o.string(v) }
                if let v = subject.name { o.key("name"); o.string(v) }
                if let v = subject.nationality { o.key("nationality"); o.string(v) }
                if let v = subject.value { o.key("value"); o.string(v) }
            }
            o.key("tlp"); o.string(tlp)
            o.key("ts"); o.string(ts.rfc3339)
        }
        return out.bytes
    }
}

extension Transaction {
    /// The transaction's canonical JSON: the same bytes as `CanonicalJSON.encode(transaction)`,
    /// written directly. Feeds are written a transaction at a time (`vigil generate`, `vigil feed`,
    /// the bench), where `JSONEncoder` took three fifths of the time.
    public var canonicalJSON: [UInt8] {
        var out = JSONOutput(capacity: 320)
        out.object { o in
            o.key("amount"); o.string(DecimalText.format(amount))
            if let channel { o.key("channel"); o.string(channel) }
            o.key("creditor"); o.party(creditor)
            o.key("currency"); o.string(currency)
            o.key("debtor"); o.party(debtor)
            o.key("id"); o.string(id)
            if let reference { o.key("reference"); o.string(reference) }
            if let source {
                o.key("source")
                o.object { o in
                    if let v = source.file { o.key("file"); o.string(v) }
                    if let v = source.format { o.key("format"); o.string(v) }
                    if let v = source.institution { o.key("institution"); o.string(v) }
                }
            }
            o.key("ts"); o.string(ts.rfc3339)
        }
        return out.bytes
    }
}

extension JSONOutput {
    fileprivate mutating func party(_ p: Party) {
        object { o in
            o.key("account"); o.string(p.account)
            if let v = p.address { o.key("address"); o.string(v) }
            if let v = p.bic { o.key("bic"); o.string(v) }
            if let v = p.cardHash { o.key("cardHash"); o.string(v) }
            if let v = p.country { o.key("country"); o.string(v) }
            if let v = p.dob { o.key("dob"); o.string(v) }
            if let v = p.email { o.key("email"); o.string(v) }
            if let v = p.idNumber { o.key("idNumber"); o.string(v) }
            if let v = p.institution { o.key("institution"); o.string(v) }
            if let v = p.name { o.key("name"); o.string(v) }
            if let v = p.phone { o.key("phone"); o.string(v) }
        }
    }
}
