import Foundation
import VigilCore

/// SWIFT statements — MT940 (customer statement), MT950 (statement message) and MT942 (interim
/// transaction report) — → one canonical transaction per statement line (`:61:`), between the
/// statement's account (`:25:`) and the counterparty its `:86:` names, by the line's debit or
/// credit mark, as camt.053 entries are read.
///
/// Statements come in a FIN envelope (blocks 1–5) or, as banks export them for their
/// customers, as fields alone: several statements one after another, each from its `:20:`,
/// often with a line `-` between them and a few lines of the bank's own before the first.
///
/// `:86:` has no one layout; two are read for the counterparty, else it is the reference:
/// - the German banks' (DFÜ): a business transaction code, then `?20`–`?29` and `?60`–`?63`
///   remittance, `?30` the BIC, `?31` the account, `?32`–`?33` the name (some Dutch banks write
///   the same subfields with `>`);
/// - the Dutch banks' keyed one: `/EREF/…/BENM//NAME/…/REMI/…`, `/CNTP/IBAN/BIC/NAME/CITY/`,
///   `/IBAN/…/BIC/…/NAME/…`.
enum SwiftStatement {
    static let messageTypes: Set<String> = ["940", "942", "950"]

    /// `lineOffset`: lines of the file before these bytes, so positions refer to the file.
    static func decode(_ bytes: [UInt8], file: String?, lineOffset: Int = 0) throws(FormatError) -> [Transaction] {
        if bytes.trimmingASCIIWhitespace().first == UInt8(ascii: "{") {
            let parts = SwiftMT.split(bytes)
            guard parts.count <= 1 else {
                throw FormatError(.mt940, "\(parts.count) messages in one input; an RJE batch is split into messages before decoding (vigil parse and vigil feed do)")
            }
            guard let part = parts.first else { throw FormatError(.mt940, "empty message") }
            let m = try SwiftMT.parse(part, format: .mt940)
            let mt = m.block2.map { String($0.dropFirst().prefix(3)) } ?? ""
            guard messageTypes.contains(mt) else {
                throw FormatError(.mt940, at: "block 2", "MT\(mt) is not a statement (MT940, MT942 or MT950)")
            }
            // The statement's sender is the bank that keeps the account.
            return try statement(m.fields, servicer: SwiftMT.correspondents(m).sender, format: "mt\(mt)", file: file)
        }
        let parts = split(bytes)
        guard !parts.isEmpty else { throw FormatError(.mt940, "no statement: no line begins with :20: (the statement's reference)") }
        var out: [Transaction] = []
        for part in parts {
            let body = String(decoding: part.bytes, as: UTF8.self)
            let fields = try SwiftMT.fieldLines(body, firstLine: lineOffset + part.lineOffset + 1, format: .mt940, block: "statement")
            out += try statement(fields, servicer: nil, format: nil, file: file)
        }
        return out
    }

    /// Statements as banks export them: each from a line `:20:` to the next, the bank's own lines
    /// before the first and the `-` lines between them left out. A FIN envelope's RJE batch
    /// splits at its `$` instead.
    static func split(_ bytes: [UInt8]) -> [FeedMessage] {
        if bytes.trimmingASCIIWhitespace().first == UInt8(ascii: "{") { return SwiftMT.messages(bytes) }
        var out: [FeedMessage] = []
        var current: (start: Int, lines: [Substring])?
        // Banks export statements in their own code page as often as in UTF-8: bytes that are not
        // UTF-8 are read as ISO 8859-1 (`Müller` written 0xFC), not replaced.
        var text = String(validating: bytes, as: UTF8.self) ?? String(latin1: bytes)
        // A byte-order mark, as Windows tools write one, is not part of the first line.
        while text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        for (n, line) in text.lines().enumerated() {
            if line.hasPrefix(":20:") {
                if let c = current { out.append(message(c)) }
                current = (n, [line])
            } else if current != nil, line.trimmed(" \t") != "-" {
                current!.lines.append(line)
            }
        }
        if let c = current { out.append(message(c)) }
        return out
    }

    private static func message(_ c: (start: Int, lines: [Substring])) -> FeedMessage {
        FeedMessage(bytes: Array(c.lines.joined(separator: "\n").utf8), lineOffset: c.start)
    }

    // MARK: one statement

    /// `format`: the message type of an envelope; an export's is told by its fields.
    private static func statement(_ fields: [(tag: String, value: String, line: Int)], servicer: String?, format: String?, file: String?) throws(FormatError) -> [Transaction] {
        func field(_ tags: String...) -> (tag: String, value: String, line: Int)? { fields.first { tags.contains($0.tag) } }
        let first = fields.first?.line ?? 1
        guard field("20") != nil else { throw FormatError(.mt940, at: "line \(first)", "mandatory field :20: (transaction reference) is missing") }
        guard let acct = field("25", "25P") else { throw FormatError(.mt940, at: "line \(first)", "mandatory field :25: (account identification) is missing") }
        let number = field("28C", "28")?.value.trimmed(" \r") ?? ""
        // The statement's currency: its opening balance's (MT940, MT950), or an interim
        // report's floor limit (MT942).
        guard let balance = field("60F", "60M", "34F"), balance.value.count >= 3 else {
            throw FormatError(.mt940, at: "line \(acct.line)", "no opening balance (:60F: or :60M:) or floor limit (:34F:), so the currency is unknown")
        }
        let b = balance.value.trimmed(" \r")
        let currency = balance.tag == "34F" ? String(b.prefix(3)) : String(b.dropFirst(7).prefix(3))
        guard currency.count == 3, currency.allSatisfy(\.isLetter) else {
            throw FormatError(.mt940, at: "line \(balance.line), field :\(balance.tag):", "'\(b)' does not give a currency code where one belongs")
        }
        let own = account(acct, servicer: servicer)
        let source = EventSource(format: format ?? (balance.tag == "34F" ? "mt942" : "mt940"), institution: servicer ?? own.bic, file: file)
        var out: [Transaction] = []
        var used = Set<String>()
        for (i, f) in fields.enumerated() where f.tag == "61" {
            // `:86:` right after a line is about that line; one after the closing balance is about the statement.
            let info = fields.indices.contains(i + 1) && fields[i + 1].tag == "86" ? fields[i + 1].value : nil
            let line = try statementLine(f)
            let details = info.map(Details.init) ?? Details()
            var other = Party(account: details.account ?? line.supplementaryAccount ?? Party.unidentified,
                              name: details.name, bic: details.bic)
            other.country = SwiftMT.ibanCountry(other.account)
            // The bank's reference, unless the statement repeats it; else where the line stands.
            let position = "\(own.account):\(number):\(line.valueText):\(out.count + 1)"
            let id = line.bankReference.flatMap { used.insert($0).inserted ? $0 : nil } ?? position
            out.append(Transaction(
                id: id, ts: line.time, amount: line.amount, currency: currency,
                channel: details.cash ? "cash" : channel(line.code),
                debtor: line.outgoing ? own : other, creditor: line.outgoing ? other : own,
                reference: details.remittance ?? line.ownerReference,
                source: source))
        }
        return out
    }

    /// `:25:` as banks write it: an IBAN, `BIC/account`, a German `bank code/account`, or an
    /// account alone; `:25P:` the account, then the BIC on the next line.
    private static func account(_ f: (tag: String, value: String, line: Int), servicer: String?) -> Party {
        let lines = f.value.lines(omittingEmpty: true).map { $0.trimmed(" \r") }
        var account = lines.first ?? ""
        var bic = f.tag == "25P" && lines.count > 1 ? lines[1] : servicer
        if let slash = account.firstIndex(of: "/") {
            let prefix = account[..<slash]
            let isBIC = (prefix.count == 8 || prefix.count == 11) && prefix.prefix(6).allSatisfy(\.isLetter)
            let isBankCode = prefix.count == 8 && prefix.allSatisfy(\.isNumber)
            if isBIC || isBankCode {
                if isBIC { bic = String(prefix) }
                account = String(account[account.index(after: slash)...])
            }
        }
        // A currency some banks add to the account (`NL12BANK0123456789EUR`) is not part of it.
        if account.count > 18, SwiftMT.ibanCountry(String(account.dropLast(3))) != nil, account.suffix(3).allSatisfy(\.isLetter) {
            account = String(account.dropLast(3))
        }
        return Party(account: account, country: SwiftMT.ibanCountry(account), bic: bic.map { String($0.prefix(8)) })
    }

    struct Line {
        var valueText: String
        var time: EventTime
        var outgoing: Bool
        var amount: Decimal
        var code: String
        var ownerReference: String?
        var bankReference: String?
        var supplementaryAccount: String?
    }

    /// `:61:` — `6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]`, then on a second line `34x` of
    /// supplementary details: value date, entry date (MMDD), debit/credit mark (`D`, `C`, or a
    /// reversal `RD`, `RC`), funds code, amount with a decimal comma, the type (`NTRF`, `N102`),
    /// the account owner's reference and the bank's.
    static func statementLine(_ f: (tag: String, value: String, line: Int)) throws(FormatError) -> Line {
        let lines = f.value.lines()
        let u = Array((lines.first.map { $0.trimmed(" \r") } ?? "").utf8)
        func bad(_ what: String) -> FormatError {
            FormatError(.mt940, at: "line \(f.line), field :61:", "'\(String(decoding: u, as: UTF8.self))': \(what)")
        }
        func digits(_ r: Range<Int>) -> Bool { r.upperBound <= u.count && u[r].allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard digits(0 ..< 6), let value = SwiftMT.date(u[0 ..< 6]) else { throw bad("no value date (YYMMDD) at its start") }
        var i = 6
        var time = value
        if digits(6 ..< 10) {
            // The entry (booking) date, month and day: the year is the one nearest the value date's.
            let m = Int(u[6] - 0x30) * 10 + Int(u[7] - 0x30), d = Int(u[8] - 0x30) * 10 + Int(u[9] - 0x30)
            let year = value.rfc3339.prefix(4)
            let candidates = [-1, 0, 1].compactMap { EventTime(year: Int(year)! + $0, month: m, day: d) }
            guard let entry = candidates.min(by: { abs($0.microseconds - value.microseconds) < abs($1.microseconds - value.microseconds) }) else {
                throw bad("entry date '\(String(decoding: u[6 ..< 10], as: UTF8.self))' is not a month and day (MMDD)")
            }
            time = entry
            i = 10
        }
        let outgoing: Bool
        func at(_ s: String) -> Bool { u[i...].starts(with: Array(s.utf8)) }
        if at("RC") { outgoing = true; i += 2 }            // reversal of a credit: money leaves
        else if at("RD") { outgoing = false; i += 2 }      // reversal of a debit: money returns
        else if at("C") || at("EC") { outgoing = false; i += at("C") ? 1 : 2 }
        else if at("D") || at("ED") { outgoing = true; i += at("D") ? 1 : 2 }
        else { throw bad("no debit/credit mark (D, C, RD or RC) after the date") }
        // The funds code, a letter, before the amount's first digit.
        if i < u.count, (0x41 ... 0x5A).contains(u[i]) { i += 1 }
        let amountStart = i
        while i < u.count, (u[i] >= 0x30 && u[i] <= 0x39) || u[i] == UInt8(ascii: ",") { i += 1 }
        guard let amount = SwiftMT.swiftAmount(u[amountStart ..< i]) else {
            throw bad("no amount with a decimal comma after the debit/credit mark")
        }
        guard i + 4 <= u.count, [UInt8(ascii: "N"), UInt8(ascii: "S"), UInt8(ascii: "F")].contains(u[i]) else {
            throw bad("no transaction type (N, S or F and three characters, e.g. NTRF) after the amount")
        }
        let code = String(decoding: u[i + 1 ..< i + 4], as: UTF8.self)
        // The owner's reference, then `//` and the bank's (up to another `//`, if any).
        let owner = u.firstIndex(of: "//", from: i + 4)
        let bank = owner.map { $0 + 2 ..< (u.firstIndex(of: "//", from: $0 + 2) ?? u.count) }
        func reference(_ r: Range<Int>?) -> String? {
            guard let r, case let t = String(decoding: u[r], as: UTF8.self).trimmed(" "), !t.isEmpty, t != "NONREF" else { return nil }
            return t
        }
        let supplementary = lines.count > 1 ? lines[1].trimmed(" \r") : ""
        return Line(valueText: String(decoding: u[0 ..< 6], as: UTF8.self), time: time, outgoing: outgoing, amount: amount, code: code,
                    ownerReference: reference(i + 4 ..< (owner ?? u.count)), bankReference: reference(bank),
                    supplementaryAccount: SwiftMT.ibanCountry(supplementary) != nil ? supplementary : nil)
    }

    /// The `:61:` type's code: cheques, direct debits and transfers; the rest (charges,
    /// interest, banks' own numeric codes) is `other`.
    static func channel(_ code: String) -> String {
        switch code {
        case "CHK", "TCK": "cheque"
        case "DDT": "ach"
        case "TRF", "STO": "wire"
        default: "other"
        }
    }

    /// What `:86:` says of the counterparty and the payment.
    struct Details {
        var account: String?
        var name: String?
        var bic: String?
        var remittance: String?
        /// A German business transaction code for a cash deposit (082) or withdrawal (083).
        var cash = false

        init() {}

        init(_ text: String) {
            // Lines are cut at 65 characters wherever they fall, keys included (`?2` / `2MTLG`).
            let joined = text.lines(omittingEmpty: true).joined()
            // Subfields after a three-digit code: `?20` as the German banks write them, `>20` as some Dutch ones do.
            let u = Array(joined.utf8.prefix(4))
            if u.count == 4, u[0 ..< 3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), u[3] == UInt8(ascii: "?") || u[3] == UInt8(ascii: ">") {
                subfields(joined, mark: u[3])
            } else if joined.hasPrefix("/") {
                keyed(joined)
            } else {
                // Free text, its lines and runs of spaces (padding to fixed columns) made single spaces.
                let free = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                remittance = free.isEmpty ? nil : free
            }
        }

        /// Read as bytes (the marks and keys are ASCII): by Character, with Foundation's search
        /// for `SVWZ+`, this was a third of decoding a German export.
        private mutating func subfields(_ s: String, mark: UInt8) {
            let b = Array(s.utf8)
            cash = b.starts(with: "082".utf8) || b.starts(with: "083".utf8)
            var sub: [Int: [UInt8]] = [:]
            var i = 3
            while let q = b[i...].firstIndex(of: mark) {
                let keyStart = q + 1
                guard keyStart + 2 <= b.count, let key = Int(String(decoding: b[keyStart ..< keyStart + 2], as: UTF8.self)) else {
                    i = keyStart
                    continue
                }
                let valueEnd = b[(keyStart + 2)...].firstIndex(of: mark) ?? b.count
                sub[key, default: []] += b[(keyStart + 2) ..< valueEnd]
                i = valueEnd
            }
            func nonEmpty<Bytes: Collection<UInt8>>(_ t: Bytes?) -> String? {
                t.map { String(decoding: $0, as: UTF8.self).trimmed(" ") }.flatMap { $0.isEmpty ? nil : $0 }
            }
            bic = nonEmpty(sub[30])
            account = nonEmpty(sub[31])
            name = nonEmpty([sub[32], sub[33]].compactMap { $0 }.joined())
            // SEPA payments write their fields here as `EREF+…KREF+…SVWZ+…`: the remittance
            // proper is `SVWZ+`, up to a different ultimate party's `ABWA+`/`ABWE+`.
            let text = Array((Array(20 ... 29) + Array(60 ... 63)).compactMap { sub[$0] }.joined())
            if let svwz = text.firstIndex(of: "SVWZ+") {
                let start = svwz + 5
                let end = [text.firstIndex(of: "ABWA+", from: start), text.firstIndex(of: "ABWE+", from: start)].compactMap { $0 }.min() ?? text.count
                remittance = nonEmpty(text[start ..< end])
            } else {
                remittance = nonEmpty(text)
            }
        }

        private static let keys: Set<Substring> = ["EREF", "BENM", "ORDP", "NAME", "REMI", "IBAN", "BIC", "CNTP", "ISDT", "TRCD", "TRTP",
                                                   "CSID", "MARF", "PREF", "RTRN", "ID", "ADDR", "ULTD", "ULTC", "ULTB", "ULTA", "PURP", "SVCL", "CDTRREF", "CDTRREFTP", "CD", "ISSR", "EXCH", "OCMT", "CHGS"]

        private mutating func keyed(_ s: String) {
            var values: [String: String] = [:]
            var key: String?
            var value: [Substring] = []
            func flush() {
                if let k = key, values[k] == nil { values[k] = value.joined(separator: "/") }
            }
            // Split as bytes (`/` is ASCII): by Character, with the key set built per call, this
            // was a quarter of decoding a Dutch export.
            for part in s.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst().map(Substring.init) {
                if Self.keys.contains(part), !(key == "CNTP" && value.count < 4) {
                    flush()
                    key = String(part)
                    value = []
                } else {
                    value.append(part)
                }
            }
            flush()
            func nonEmpty(_ t: String?) -> String? { t.map { $0.trimmed(" ") }.flatMap { $0.isEmpty ? nil : $0 } }
            if let cntp = values["CNTP"] {
                // ING: account, BIC, name, town.
                let p = cntp.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                account = nonEmpty(p.first)
                bic = nonEmpty(p.count > 1 ? p[1] : nil)
                name = nonEmpty(p.count > 2 ? p[2] : nil)
            }
            account = nonEmpty(values["IBAN"]) ?? account
            bic = nonEmpty(values["BIC"]) ?? bic
            name = nonEmpty(values["NAME"]) ?? name
            // `/REMI/USTD//text/` or `/REMI/STRD/CUR/ref/`: the text, its kind and empty parts left out.
            let remi = values["REMI"].map { r in
                r.split(separator: "/").filter { !["USTD", "STRD", "CUR", "ISO"].contains($0) }.joined(separator: " ")
            }
            remittance = nonEmpty(remi) ?? nonEmpty(values["EREF"])
        }
    }
}
