import Foundation
import VigilCore

/// SWIFT FIN (ISO 15022 MT) MT103, MT200, MT202 and MT202 COV → one canonical transaction each;
/// MT101 (a customer's request for transfer), MT203 (several institution transfers) and MT204
/// (an institution's direct debit of others) → one per transaction in them.
///
/// Blocks 1 (basic header), 2 (application header, input or output), 3 (user header: `{121:}`
/// UETR, `{119:COV}`), 4 (text fields) and 5 (trailers) are read; an ACK/NAK service message
/// (`{1:F21…}`) in front of the message, as RJE files from SWIFT Alliance carry, is skipped.
/// RJE batches hold several messages separated by `$`: `FeedDecoder.split` cuts them apart so
/// each is decoded (and dead-lettered) on its own.
enum SwiftMT {
    /// The MT number from block 2 (`{2:O103…` or `{2:I202…`), with `COV` appended for a cover payment.
    static func messageType(in text: String) -> String? {
        guard let r = text.range(of: "{2:") else { return nil }
        let rest = text[r.upperBound...].prefix(4)
        guard rest.count == 4, rest.first == "I" || rest.first == "O" else { return nil }
        let mt = String(rest.dropFirst())
        guard mt.allSatisfy(\.isNumber) else { return nil }
        return text.contains("{119:COV}") ? mt + "COV" : mt
    }

    /// Splits an RJE batch at its `$` separators (SWIFT's character set has no `$`, so it cannot
    /// occur inside a message).
    static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "$")) ?? bytes.count
            if !bytes[start ..< end].trimmingASCIIWhitespace().isEmpty { parts.append(bytes[start ..< end]) }
            start = end + 1
        }
        return parts
    }

    /// The messages of an RJE batch, each with the lines before it.
    static func messages(_ bytes: [UInt8]) -> [FeedMessage] {
        var lines = 0, counted = 0
        return split(bytes).map { m in
            lines += bytes[counted ..< m.startIndex].count(where: { $0 == 0x0A })
            counted = m.startIndex
            return FeedMessage(bytes: Array(m), lineOffset: lines)
        }
    }

    struct Message {
        var block1: String?
        var block2: String?
        var block3: [String: String] = [:]
        /// Text fields in order: tag (`32A`) and value (lines joined with `\n`), and the line each starts on.
        var fields: [(tag: String, value: String, line: Int)] = []

        func field(_ tags: String...) -> (tag: String, value: String, line: Int)? {
            fields.first { tags.contains($0.tag) }
        }
    }

    static func decode(_ bytes: [UInt8], expected: FeedFormat, file: String?) throws(FormatError) -> [Transaction] {
        let parts = split(bytes)
        guard parts.count <= 1 else {
            throw FormatError(expected, "\(parts.count) messages in one input; an RJE batch is split into messages before decoding (vigil parse and vigil feed do)")
        }
        guard let part = parts.first else { throw FormatError(expected, "empty message") }
        let m = try parse(part, format: expected)
        guard let b2 = m.block2, b2.count >= 4 else {
            throw FormatError(expected, at: "block 2", "no application header (block 2), so the message type is unknown")
        }
        let mt = String(b2.dropFirst().prefix(3))
        let cover = m.block3["119"] == "COV"
        switch (expected, mt) {
        case (.mt103, "103"): return [try customerTransfer(m, format: expected, file: file)]
        case (.mt103, "101"): return try requestsForTransfer(m, format: expected, file: file)
        case (.mt202, "202"), (.mt202, "205"): return [try institutionTransfer(m, cover: cover, format: expected, file: file)]
        case (.mt202, "200"): return [try ownAccountTransfer(m, format: expected, file: file)]
        case (.mt202, "203"), (.mt202, "204"): return try multipleInstitutionTransfers(m, directDebit: mt == "204", format: expected, file: file)
        default:
            let known = ["101", "103", "200", "202", "203", "204", "205", "940", "942", "950"].contains(mt)
            throw FormatError(expected, at: "block 2", known
                ? "MT\(mt)\(cover ? " COV" : "") is not \(expected == .mt103 ? "an MT101 or MT103" : "an MT200, MT202, MT203, MT204 or MT205 (COV)")"
                : "MT\(mt) is not read by Vigil (it reads MT101 and MT103 as mt103; MT200, MT202 (COV), MT203, MT204 and MT205 as mt202; the statements MT940, MT942 and MT950 as mt940)")
        }
    }

    // MARK: blocks

    static func parse(_ bytes: ArraySlice<UInt8>, format: FeedFormat) throws(FormatError) -> Message {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(format, "message is not text (SWIFT FIN is ASCII)")
        }
        let chars = Array(text.utf8)
        var i = 0, line = 1
        var m = Message()
        var sawText = false
        while i < chars.count {
            let c = chars[i]
            if c == 0x0A { line += 1; i += 1; continue }
            if c == 0x20 || c == 0x0D || c == 0x09 || c == 0x03 || c == 0x01 { i += 1; continue }
            guard c == UInt8(ascii: "{"), i + 2 < chars.count, chars[i + 2] == UInt8(ascii: ":") else {
                throw FormatError(format, at: "line \(line)", "expected a block '{n:' but found '\(String(decoding: chars[i...].prefix(12), as: UTF8.self))'")
            }
            let id = chars[i + 1]
            let blockLine = line
            i += 3
            switch id {
            case UInt8(ascii: "1"):
                // A new basic header after a block 4 means what came before was an ACK/NAK wrapper.
                if m.block1 != nil { m = Message() }
                m.block1 = try flat(chars, &i, line: blockLine, format: format)
            case UInt8(ascii: "2"):
                m.block2 = try flat(chars, &i, line: blockLine, format: format)
            case UInt8(ascii: "3"), UInt8(ascii: "5"):
                let sub = try nested(chars, &i, line: &line, format: format, block: Int(id - 0x30))
                if id == UInt8(ascii: "3") { m.block3 = sub }
            case UInt8(ascii: "4"):
                if i < chars.count, chars[i] == UInt8(ascii: "{") {
                    // A block 4 of subfields ({177:…}{451:0}) belongs to an ACK/NAK service message.
                    _ = try nested(chars, &i, line: &line, format: format, block: 4)
                    continue
                }
                m.fields = try textBlock(chars, &i, line: &line, format: format)
                sawText = true
            default:
                throw FormatError(format, at: "line \(blockLine)", "unknown block {\(Character(Unicode.Scalar(id))):")
            }
        }
        guard sawText else { throw FormatError(format, "no text block (block 4)") }
        return m
    }

    private static func flat(_ c: [UInt8], _ i: inout Int, line: Int, format: FeedFormat) throws(FormatError) -> String {
        let start = i
        while i < c.count, c[i] != UInt8(ascii: "}") {
            guard c[i] != UInt8(ascii: "{"), c[i] != 0x0A else { throw FormatError(format, at: "line \(line)", "header block is not closed with '}'") }
            i += 1
        }
        guard i < c.count else { throw FormatError(format, at: "line \(line)", "input ends inside a header block") }
        i += 1
        return String(decoding: c[start ..< i - 1], as: UTF8.self)
    }

    /// `{tag:value}{tag:value}}` (block 3, 5 and ACK block 4).
    private static func nested(_ c: [UInt8], _ i: inout Int, line: inout Int, format: FeedFormat, block: Int) throws(FormatError) -> [String: String] {
        var out: [String: String] = [:]
        let blockLine = line
        while i < c.count {
            if c[i] == UInt8(ascii: "}") { i += 1; return out }
            guard c[i] == UInt8(ascii: "{") else {
                throw FormatError(format, at: "line \(line), block \(block)", "expected '{' or '}'")
            }
            i += 1
            let start = i
            var depth = 1
            while i < c.count, depth > 0 {
                if c[i] == UInt8(ascii: "{") { depth += 1 } else if c[i] == UInt8(ascii: "}") { depth -= 1 } else if c[i] == 0x0A { line += 1 }
                i += 1
            }
            guard depth == 0 else { break }
            if let colon = c[start ..< i - 1].firstIndex(of: UInt8(ascii: ":")) {
                out[String(decoding: c[start ..< colon], as: UTF8.self)] = String(decoding: c[colon + 1 ..< i - 1], as: UTF8.self)
            }
        }
        throw FormatError(format, at: "line \(blockLine), block \(block)", "block is not closed with '}' (truncated message?)")
    }

    /// Block 4: CRLF, then `:tag:value` lines (values may continue on following lines), ending `-}`.
    private static func textBlock(_ c: [UInt8], _ i: inout Int, line: inout Int, format: FeedFormat) throws(FormatError) -> [(tag: String, value: String, line: Int)] {
        let blockLine = line
        // (A message cut right after `{4:` leaves nothing to search: the range must not invert.)
        guard let end = (i ..< max(i, c.count - 1)).first(where: { c[$0] == UInt8(ascii: "-") && c[$0 + 1] == UInt8(ascii: "}") && ($0 == 0 || c[$0 - 1] == 0x0A) }) else {
            throw FormatError(format, at: "line \(blockLine), block 4", "text block does not end with a line '-}' (truncated message?)")
        }
        let body = c[i ..< end]
        line += body.count(where: { $0 == 0x0A })
        i = end + 2
        return try body.withUnsafeBufferPointer { b throws(FormatError) in try fieldLines(b, firstLine: blockLine, format: format, block: "block 4") }
    }

    /// `:tag:value` lines, a value continuing on the lines that follow until the next tag
    /// (`20`, `32A`, `28C`: two digits and an optional letter), joined with `\n`. Lines end with
    /// `\n` or `\r\n`; empty lines are skipped.
    ///
    /// Read as bytes (FIN is ASCII, and a statement export read as ISO 8859-1 is UTF-8 again
    /// here): by Character, splitting the lines and finding the tags was a third of decoding an
    /// MT103.
    static func fieldLines(_ body: UnsafeBufferPointer<UInt8>, firstLine: Int, format: FeedFormat, block: String) throws(FormatError) -> [(tag: String, value: String, line: Int)] {
        var fields: [(tag: String, value: String, line: Int)] = []
        // The value of the last field so far, made a String when the next field starts.
        var value: [UInt8] = []
        func finish() {
            if !fields.isEmpty { fields[fields.count - 1].value = String(decoding: value, as: UTF8.self) }
        }
        var n = firstLine
        try body.forEachLine { l throws(FormatError) in
            defer { n += 1 }
            guard !l.isEmpty else { return }
            if let close = tagEnd(l) {
                finish()
                fields.append((String(decoding: body[l.startIndex + 1 ..< close], as: UTF8.self), "", n))
                value.removeAll(keepingCapacity: true)
                value.append(contentsOf: body[close + 1 ..< l.endIndex])
                return
            }
            guard !fields.isEmpty else {
                throw FormatError(format, at: "line \(n), \(block)", "text before the first field tag: '\(String(decoding: l, as: UTF8.self).prefix(30))'")
            }
            value.append(0x0A)
            value.append(contentsOf: l)
        }
        finish()
        return fields
    }

    static func fieldLines(_ body: String, firstLine: Int, format: FeedFormat, block: String) throws(FormatError) -> [(tag: String, value: String, line: Int)] {
        var body = body
        // (`withUTF8` rethrows untyped errors: the result is carried out instead.)
        return try body.withUTF8 { b in
            Result { () throws(FormatError) in try fieldLines(b, firstLine: firstLine, format: format, block: block) }
        }.get()
    }

    /// Where the tag of a line `:tag:value` ends (its second colon); nil for a line that
    /// continues a value.
    private static func tagEnd(_ l: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard l.first == UInt8(ascii: ":") else { return nil }
        var close = l.startIndex + 1
        while close < l.endIndex, l[close] != UInt8(ascii: ":") {
            let c = l[close], length = close - l.startIndex - 1
            // Two digits, then at most one more character (`32A`, `13C`).
            guard length < 3, length >= 2 ? c < 0x80 : c >= 0x30 && c <= 0x39 else { return nil }
            close += 1
        }
        return close < l.endIndex && close - l.startIndex - 1 >= 2 ? close : nil
    }

    // MARK: message mappings

    private static func customerTransfer(_ m: Message, format: FeedFormat, file: String?) throws(FormatError) -> Transaction {
        let ref = try required(m, "20", format: format).value
        let (date, currency, amount) = try valueDateAmount(m, format: format)
        var debtor = try customer(m, tags: ["50A", "50F", "50K", "50H"], role: "ordering customer", format: format)
        var creditor = try customer(m, tags: ["59", "59A", "59F"], role: "beneficiary", format: format)
        let (sender, receiver) = correspondents(m)
        debtor.bic = institution(m, "52A") ?? sender
        debtor.institution = institutionName(m, "52D")
        creditor.bic = institution(m, "57A") ?? receiver
        creditor.institution = institutionName(m, "57D")
        return Transaction(id: m.block3["121"] ?? ref, ts: sendTime(m) ?? date, amount: amount, currency: currency, channel: "wire",
                           debtor: debtor, creditor: creditor, reference: m.field("70")?.value.replacingNewlines,
                           source: EventSource(format: "mt103", institution: sender, file: file))
    }

    /// MT101: sequence A (up to the first `:21:`) holds what all transactions share — the
    /// ordering customer (50F/G/H) unless each transaction names its own, the account servicing
    /// institution (52a), the requested execution date (30); each sequence B, from its `:21:`,
    /// one transfer: amount (32B), beneficiary (59a) and its institution (57a), remittance (70).
    /// The instructing party (50C/L) is who sent the request, not whose money moves, so it is not read.
    private static func requestsForTransfer(_ m: Message, format: FeedFormat, file: String?) throws(FormatError) -> [Transaction] {
        let ref = try required(m, "20", format: format).value
        guard let first = m.fields.firstIndex(where: { $0.tag == "21" }) else {
            throw FormatError(format, at: "block 4", "no transaction: sequence B starts with field :21: (transaction reference)")
        }
        let shared = m.fields[..<first]
        let sequences = repeated(m.fields, from: first, tag: "21")
        let execution = try shared.first { $0.tag == "30" }.map { f throws(FormatError) in try yymmdd(f, format: format) }
        let (sender, _) = correspondents(m)
        return try sequences.map { sequence throws(FormatError) in
            // A transaction's own fields first, so they take precedence over sequence A's.
            var t = m
            t.fields = Array(sequence) + shared
            let txRef = sequence.first!.value
            let (currency, amount) = try currencyAmount(sequence, reference: txRef, format: format)
            var debtor = try customer(t, tags: ["50F", "50G", "50H"], role: "ordering customer", format: format)
            var creditor = try customer(t, tags: ["59", "59A", "59F"], role: "beneficiary", format: format)
            debtor.bic = institution(t, "52A") ?? sender
            creditor.bic = institution(t, "57A")
            creditor.institution = institutionName(t, "57D")
            guard let ts = sendTime(m) ?? execution else {
                throw FormatError(format, at: "block 4", "no time: neither an output header (block 2) nor field :30: (requested execution date)")
            }
            let id = sequences.count == 1 ? (m.block3["121"] ?? "\(ref)/\(txRef)") : "\(ref)/\(txRef)"
            return Transaction(id: id, ts: ts, amount: amount, currency: currency, channel: "wire",
                               debtor: debtor, creditor: creditor, reference: t.field("70")?.value.replacingNewlines,
                               source: EventSource(format: "mt101", institution: sender, file: file))
        }
    }

    /// The repeated sequences of a message (MT101's, MT203's and MT204's B), each from a field
    /// `tag` on, the first at `first`.
    private static func repeated(_ fields: [(tag: String, value: String, line: Int)], from first: Int, tag: String) -> [ArraySlice<(tag: String, value: String, line: Int)>] {
        var out: [ArraySlice<(tag: String, value: String, line: Int)>] = []
        var start = first
        for i in first + 1 ..< fields.count where fields[i].tag == tag {
            out.append(fields[start ..< i])
            start = i
        }
        out.append(fields[start...])
        return out
    }

    /// A sequence's `:32B:`: currency and amount, `EUR1250,`.
    private static func currencyAmount(_ sequence: ArraySlice<(tag: String, value: String, line: Int)>, reference: String,
                                       format: FeedFormat) throws(FormatError) -> (String, Decimal) {
        guard let f = sequence.first(where: { $0.tag == "32B" }) else {
            throw FormatError(format, at: "line \(sequence.first!.line)", "transaction '\(reference)': mandatory field :32B: (currency and amount) is missing")
        }
        let v = f.value.trimmed(" \r")
        guard v.count > 3, let amount = swiftAmount(v.utf8.dropFirst(3)) else {
            throw FormatError(format, at: "line \(f.line), field :32B:", "'\(f.value)' is not a currency code and an amount (e.g. EUR1250,)")
        }
        return (String(v.prefix(3)), amount)
    }

    /// An institution named in an option A (`[/account]` and a BIC), B or D (`[/account]`, name
    /// and address) field.
    private static func institutionParty(_ f: (tag: String, value: String, line: Int)) -> Party {
        let (account, lines) = accountLine(f.value)
        let bic = f.tag.hasSuffix("A") ? lines.first.map { String($0.prefix(8)) } : nil
        return Party(account: account ?? bic ?? lines.first ?? Party.unidentified, name: f.tag.hasSuffix("D") ? lines.first : nil, bic: bic)
    }

    /// MT200: the sender moves its own funds to its account with another institution (57a);
    /// both sides are the sender's.
    private static func ownAccountTransfer(_ m: Message, format: FeedFormat, file: String?) throws(FormatError) -> Transaction {
        let ref = try required(m, "20", format: format).value
        let (date, currency, amount) = try valueDateAmount(m, format: format)
        let (sender, _) = correspondents(m)
        let from = m.field("53B").map { accountLine($0.value).0 } ?? nil
        guard let to = m.field("57A", "57B", "57D") else {
            throw FormatError(format, at: "block 4", "field :57a: (the account with institution receiving the funds) is missing")
        }
        let debtor = Party(account: from ?? sender ?? Party.unidentified, bic: sender)
        let creditor = institutionParty(to)
        return Transaction(id: m.block3["121"] ?? ref, ts: sendTime(m) ?? date, amount: amount, currency: currency, channel: "wire",
                           debtor: debtor, creditor: creditor, reference: m.field("72")?.value.replacingNewlines,
                           source: EventSource(format: "mt200", institution: sender, file: file))
    }

    /// MT203 (several institution transfers) and MT204 (an institution debiting others): sequence
    /// A gives the value date (30) and what the transfers share; each sequence B, from its own
    /// `:20:`, one transfer. MT203: the ordering institution (52a, else the sender) pays each
    /// B's beneficiary institution (58a). MT204: each B's debited institution (53a) pays the
    /// beneficiary of sequence A (58a, else the sender).
    private static func multipleInstitutionTransfers(_ m: Message, directDebit: Bool, format: FeedFormat, file: String?) throws(FormatError) -> [Transaction] {
        guard m.fields.first?.tag == "20", let first = m.fields.dropFirst().firstIndex(where: { $0.tag == "20" }) else {
            throw FormatError(format, at: "block 4", "no transaction: each of sequence B starts with its own field :20: after sequence A's")
        }
        let shared = Message(block1: m.block1, block2: m.block2, block3: m.block3, fields: Array(m.fields[..<first]))
        let valueDate = try shared.field("30").map { f throws(FormatError) in try yymmdd(f, format: format) }
        guard let ts = sendTime(m) ?? valueDate else {
            throw FormatError(format, at: "block 4", "no time: neither an output header (block 2) nor field :30: (value date)")
        }
        let (sender, _) = correspondents(m)
        func institutionParty(_ message: Message, _ tags: [String], fallback: String?) -> Party? {
            guard let f = message.fields.first(where: { tags.contains($0.tag) }) else { return fallback.map { Party(account: $0, bic: $0) } }
            return Self.institutionParty(f)
        }
        return try repeated(m.fields, from: first, tag: "20").map { sequence throws(FormatError) in
            let b = Message(block1: m.block1, block2: m.block2, block3: m.block3, fields: Array(sequence))
            let txRef = sequence.first!.value
            let (currency, amount) = try currencyAmount(sequence, reference: txRef, format: format)
            let debtor: Party, creditor: Party
            if directDebit {
                guard let debited = institutionParty(b, ["53A", "53B", "53D"], fallback: nil) else {
                    throw FormatError(format, at: "line \(sequence.first!.line)", "transaction '\(txRef)': field :53a: (the institution debited) is missing")
                }
                debtor = debited
                creditor = institutionParty(shared, ["58A", "58D"], fallback: sender) ?? Party(account: Party.unidentified)
            } else {
                debtor = institutionParty(shared, ["52A", "52D"], fallback: sender) ?? Party(account: Party.unidentified)
                guard let beneficiary = institutionParty(b, ["58A", "58D"], fallback: nil) else {
                    throw FormatError(format, at: "line \(sequence.first!.line)", "transaction '\(txRef)': field :58a: (beneficiary institution) is missing")
                }
                creditor = beneficiary
            }
            return Transaction(id: "\(shared.fields[0].value)/\(txRef)", ts: ts, amount: amount, currency: currency, channel: "wire",
                               debtor: debtor, creditor: creditor, reference: (b.field("72") ?? shared.field("72"))?.value.replacingNewlines,
                               source: EventSource(format: directDebit ? "mt204" : "mt203", institution: sender, file: file))
        }
    }

    private static func institutionTransfer(_ m: Message, cover: Bool, format: FeedFormat, file: String?) throws(FormatError) -> Transaction {
        let ref = try required(m, "20", format: format).value
        let (date, currency, amount) = try valueDateAmount(m, format: format)
        let (sender, receiver) = correspondents(m)
        var debtor: Party, creditor: Party
        if cover, m.field("50A", "50F", "50K") != nil {
            // MT202 COV: sequence B names the underlying customers, the real parties.
            debtor = try customer(m, tags: ["50A", "50F", "50K"], role: "ordering customer", format: format)
            creditor = try customer(m, tags: ["59", "59A", "59F"], role: "beneficiary", format: format)
            debtor.bic = institution(m, "52A") ?? sender
            creditor.bic = institution(m, "57A") ?? receiver
        } else {
            let ordering = institution(m, "52A") ?? sender
            guard let beneficiary = m.field("58A", "58D") else {
                throw FormatError(format, at: "block 4", "field :58a: (beneficiary institution) is missing")
            }
            let (account, rest) = accountLine(beneficiary.value)
            let bic = beneficiary.tag == "58A" ? rest.first : nil
            debtor = Party(account: ordering ?? Party.unidentified, bic: ordering)
            creditor = Party(account: account ?? bic ?? rest.first ?? Party.unidentified, name: beneficiary.tag == "58D" ? rest.first : nil, bic: bic)
        }
        return Transaction(id: m.block3["121"] ?? ref, ts: sendTime(m) ?? date, amount: amount, currency: currency, channel: "wire",
                           debtor: debtor, creditor: creditor, reference: m.field("72")?.value.replacingNewlines,
                           source: EventSource(format: cover ? "mt202cov" : "mt202", institution: sender, file: file))
    }

    private static func required(_ m: Message, _ tag: String, format: FeedFormat) throws(FormatError) -> (tag: String, value: String, line: Int) {
        guard let f = m.field(tag) else { throw FormatError(format, at: "block 4", "mandatory field :\(tag): is missing") }
        return f
    }

    /// `:32A:190425USD3700,` — value date, currency, amount with a decimal comma.
    private static func valueDateAmount(_ m: Message, format: FeedFormat) throws(FormatError) -> (EventTime, String, Decimal) {
        let f = try required(m, "32A", format: format)
        let v = Array(f.value.utf8)
        let bad = FormatError(format, at: "line \(f.line), field :32A:", "'\(f.value)' is not YYMMDD, a currency code and an amount (e.g. 190425USD3700,)")
        guard v.count >= 10, let date = date(v[0 ..< 6]) else { throw bad }
        let currency = String(decoding: v[6 ..< 9], as: UTF8.self)
        guard let amount = swiftAmount(v[9...]) else { throw bad }
        return (date, currency, amount)
    }

    /// A field that is a date alone (`:30:170502`).
    private static func yymmdd(_ f: (tag: String, value: String, line: Int), format: FeedFormat) throws(FormatError) -> EventTime {
        let v = Array(f.value.trimmed(" \r").utf8)
        guard v.count == 6, let d = date(v[...]) else {
            throw FormatError(format, at: "line \(f.line), field :\(f.tag):", "'\(f.value)' is not a date (YYMMDD)")
        }
        return d
    }

    /// `YYMMDD`: FIN dates have two-digit years, all of them this century.
    static func date(_ v: ArraySlice<UInt8>) -> EventTime? {
        guard v.count == 6, v.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let d = Array(v)
        func n(_ a: Int) -> Int { Int(d[a] - 0x30) * 10 + Int(d[a + 1] - 0x30) }
        return EventTime(year: 2000 + n(0), month: n(2), day: n(4))
    }

    /// SWIFT amounts: digits, one decimal comma (mandatory, possibly last), no thousands separators.
    static func swiftAmount(_ bytes: some Collection<UInt8>) -> Decimal? {
        var t = Array(bytes)
        guard t.count(where: { $0 == UInt8(ascii: ",") }) == 1,
              t.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ",") }),
              let comma = t.firstIndex(of: UInt8(ascii: ",")) else { return nil }
        if comma == t.count - 1 { t.removeLast() } else { t[comma] = UInt8(ascii: ".") }
        return t.withUnsafeBufferPointer { DecimalText.parse($0) }
    }

    /// The time the sender's bank sent it: block 2 of an output message carries the input time
    /// (HHMM) and the date of the message input reference (YYMMDD). Input messages carry none.
    private static func sendTime(_ m: Message) -> EventTime? {
        guard let b2 = m.block2, b2.first == "O", b2.count >= 14 else { return nil }
        let d = Array(b2.utf8)
        func n(_ a: Int) -> Int? { Int(String(decoding: d[a ..< a + 2], as: UTF8.self)) }
        guard let hh = n(4), let mi = n(6), let yy = n(8), let mo = n(10), let dd = n(12) else { return nil }
        return EventTime(year: 2000 + yy, month: mo, day: dd, hour: hh, minute: mi)
    }

    /// Sender and receiver BICs (8 characters): block 2 output carries the sender in its MIR,
    /// block 1 the receiving logical terminal; an input message the reverse.
    static func correspondents(_ m: Message) -> (sender: String?, receiver: String?) {
        let local = m.block1.flatMap { b1 -> String? in b1.count >= 15 ? String(b1.dropFirst(3).prefix(8)) : nil }
        guard let b2 = m.block2 else { return (local, nil) }
        if b2.first == "O", b2.count >= 26 {
            return (String(b2.dropFirst(14).prefix(8)), local)
        }
        if b2.first == "I", b2.count >= 12 {
            return (local, String(b2.dropFirst(4).prefix(8)))
        }
        return (local, nil)
    }

    /// `/account` on the first line, if present, and the remaining lines.
    ///
    /// Lines that are empty are left out; the others are trimmed of spaces. Read as bytes: by
    /// Character, this was a fifth of decoding an MT101.
    private static func accountLine(_ value: String) -> (String?, [String]) {
        var value = value
        return value.withUTF8 { b in
            var lines: [String] = []
            var account: String?, first = true
            b.forEachLine { l in
                guard !l.isEmpty else { return }
                let line = l.trimming(" \r")
                defer { first = false }
                if first, line.first == UInt8(ascii: "/") {
                    account = String(decoding: line.drop { $0 == UInt8(ascii: "/") }, as: UTF8.self)
                } else {
                    lines.append(String(decoding: line, as: UTF8.self))
                }
            }
            return (account?.isEmpty == true ? nil : account, lines)
        }
    }

    /// 50A/50F/50K (ordering customer) and 59/59A/59F (beneficiary).
    private static func customer(_ m: Message, tags: [String], role: String, format: FeedFormat) throws(FormatError) -> Party {
        guard let f = m.fields.first(where: { tags.contains($0.tag) }) else {
            throw FormatError(format, at: "block 4", "field :\(tags[0].prefix(2))a: (\(role)) is missing")
        }
        let (account, lines) = accountLine(f.value)
        var p = Party(account: account ?? "")
        switch f.tag.last {
        case "A", "G":
            // A party identified by its BIC (50G: an MT101 ordering customer by identifier code).
            p.bic = lines.first
        case "F":
            // Structured: 1/name, 2/address, 3/country/town, …; party identifier on the first line.
            var address: [String] = []
            for l in lines {
                let parts = l.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "1": p.name = p.name.map { $0 + " " + parts[1] } ?? parts[1]
                case "2": address.append(parts[1])
                case "3":
                    let cc = parts[1].split(separator: "/", maxSplits: 1)
                    p.country = cc.first.map(String.init)
                    if cc.count > 1 { address.append(String(cc[1])) }
                default: break
                }
            }
            p.address = address.isEmpty ? nil : address.joined(separator: ", ")
        default:
            p.name = lines.first
            p.address = lines.count > 1 ? lines.dropFirst().joined(separator: ", ") : nil
        }
        if p.account.isEmpty { p.account = p.bic ?? p.name ?? "" }
        guard !p.account.isEmpty else {
            throw FormatError(format, at: "line \(f.line), field :\(f.tag):", "\(role) has neither an account nor a name")
        }
        if p.country == nil { p.country = ibanCountry(p.account) }
        return p
    }

    private static func institution(_ m: Message, _ tag: String) -> String? {
        guard let f = m.field(tag) else { return nil }
        return accountLine(f.value).1.first.map { String($0.prefix(8)) }
    }

    private static func institutionName(_ m: Message, _ tag: String) -> String? {
        guard let f = m.field(tag) else { return nil }
        return accountLine(f.value).1.first
    }

    /// The country of an IBAN (`DE89…` → `DE`), when the account is one.
    static func ibanCountry(_ account: String) -> String? {
        let u = Array(account.utf8)
        guard u.count >= 15, u.count <= 34, (65...90).contains(u[0]), (65...90).contains(u[1]),
              (48...57).contains(u[2]), (48...57).contains(u[3]) else { return nil }
        return String(decoding: u[0 ..< 2], as: UTF8.self)
    }
}

extension String {
    var replacingNewlines: String { lines(omittingEmpty: true).map { $0.trimmed(" \r") }.joined(separator: " ") }

}
