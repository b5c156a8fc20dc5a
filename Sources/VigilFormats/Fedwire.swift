import Foundation
import VigilCore

/// Fedwire Funds Service messages in FAIM tag format (`{1500}…{1510}…{2000}…`) → one canonical
/// transaction per funds transfer.
///
/// Tag values come in both forms FAIM allows: elements delimited by `*`, or fixed-width and
/// space-padded. Tags outside the FAIM 3.0 list, missing mandatory tags, a malformed amount or an
/// unknown business function code are errors. Drawdown requests (DRB, DRC) and service messages
/// (SVC) are valid messages that move no money: they decode to no transaction.
enum Fedwire {
    /// The FAIM 3.0 tags, in order.
    static let knownTags: [Int] = [
        1100, 1110, 1120, 1130, 1500, 1510, 1520, 2000, 3000, 3100, 3320, 3400, 3500, 3600,
        3610, 3620, 3700, 3710, 3720, 4000, 4100, 4200, 4320, 4400, 5000, 5010, 5100, 5200,
        5400, 6000, 6100, 6110, 6200, 6210, 6300, 6310, 6400, 6410, 6420, 6500, 7033, 7050,
        7052, 7056, 7057, 7059, 7070, 7072, 8200, 8250, 8300, 8350, 8400, 8450, 8500, 8550,
        8600, 8650, 8700, 8750, 9000,
    ]

    /// A message's tag values and the lines they are on, in a slot per known tag: hashing the
    /// tags' strings into a dictionary was a third of decoding a message.
    struct Tags {
        private var slots = [(value: String, line: Int)?](repeating: nil, count: Fedwire.knownTags.count)
        private(set) var isEmpty = true

        /// The slot of a known tag; nil for another.
        static func slot(_ tag: Int) -> Int? {
            var low = 0, high = knownTags.count
            while low < high {
                let mid = (low + high) / 2
                if knownTags[mid] < tag { low = mid + 1 } else { high = mid }
            }
            return low < knownTags.count && knownTags[low] == tag ? low : nil
        }

        /// Tags Vigil reads (all known): nil when the message lacks it.
        subscript(tag: Int) -> (value: String, line: Int)? {
            get { slots[Self.slot(tag)!] }
            set {
                slots[Self.slot(tag)!] = newValue
                isEmpty = false
            }
        }
    }

    /// Mandatory for every transfer (FAIM 3.0).
    static let mandatory = [1500, 1510, 1520, 2000, 3100, 3400, 3600]
    /// Business function codes: what moves money, and what does not.
    static let transfers: Set<String> = ["BTR", "CKS", "CTP", "CTR", "DEP", "DRW", "FFR", "FFS"]
    static let nonTransfers: Set<String> = ["DRB", "DRC", "SVC"]

    static func decode(_ bytes: [UInt8], file: String?) throws(FormatError) -> [Transaction] {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw FormatError(.fedwire, "message is not text") }
        var tags = Tags()
        var line = 1
        // Read as bytes (FAIM is ASCII): by Character, finding the braces and counting lines
        // was most of decoding a message.
        var i = 0
        while let open = bytes[i...].firstIndex(of: UInt8(ascii: "{")) {
            let before = bytes[i ..< open]
            line += before.count(where: { $0 == 0x0A })
            guard tags.isEmpty ? before.allSatisfy({ $0 == 0x20 || (0x09...0x0D).contains($0) }) : true else {
                throw FormatError(.fedwire, at: "line \(line)", "text before the first tag")
            }
            guard let close = bytes[open...].firstIndex(of: UInt8(ascii: "}")) else {
                throw FormatError(.fedwire, at: "line \(line)", "tag is not closed with '}'")
            }
            let tagBytes = bytes[open + 1 ..< close]
            guard tagBytes.count == 4, tagBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw FormatError(.fedwire, at: "line \(line)", "'{\(String(decoding: tagBytes, as: UTF8.self))}' is not a FAIM tag (four digits in braces)")
            }
            let tag = tagBytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard Tags.slot(tag) != nil else {
                throw FormatError(.fedwire, at: "line \(line), tag {\(String(decoding: tagBytes, as: UTF8.self))}", "unknown tag")
            }
            // A value ends at the next tag or at the end of its line (`\n` or `\r\n`).
            let valueEnd = bytes[close...].firstIndex(where: { $0 == UInt8(ascii: "{") || $0 == 0x0A || $0 == 0x0D }) ?? bytes.endIndex
            let value = String(decoding: bytes[close + 1 ..< valueEnd], as: UTF8.self)
            guard tags[tag] == nil else { throw FormatError(.fedwire, at: "line \(line), tag {\(tag)}", "tag appears twice") }
            tags[tag] = (value, line)
            i = valueEnd
        }
        guard !tags.isEmpty else { throw FormatError(.fedwire, "no FAIM tags") }
        for t in mandatory where tags[t] == nil {
            throw FormatError(.fedwire, at: "tag {\(t)}", "mandatory tag is missing")
        }
        func at(_ t: Int) -> String { "line \(tags[t]!.line), tag {\(t)}" }

        let function = String(tags[3600]!.value.prefix(3))
        let typeCode = tags[3600]!.value.dropFirst(3).prefix(3).trimmed(" *")
        guard transfers.contains(function) || nonTransfers.contains(function) else {
            throw FormatError(.fedwire, at: at(3600), "unknown business function code '\(function)'")
        }
        guard typeCode.isEmpty || typeCode == "COV" else {
            throw FormatError(.fedwire, at: at(3600), "transaction type code '\(typeCode)' is not blank or COV")
        }
        if tags[9000] != nil, function != "SVC" {
            throw FormatError(.fedwire, at: at(9000), "service message information is only allowed in an SVC message, not \(function)")
        }
        let imad = tags[1520]!.value.trimmed(" *")
        let cycle = Array(imad.utf8.prefix(8))
        guard imad.count >= 22, cycle.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let date = EventTime(year: num(cycle, 0, 4), month: num(cycle, 4, 2), day: num(cycle, 6, 2)) else {
            throw FormatError(.fedwire, at: at(1520), "'\(imad)' is not an IMAD (cycle date YYYYMMDD, source, sequence)")
        }
        let amountText = tags[2000]!.value.trimmed(" *")
        guard amountText.utf8.count == 12, amountText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let cents = Int64(amountText) else {
            throw FormatError(.fedwire, at: at(2000), "'\(amountText)' is not an amount (12 digits, in cents)")
        }
        if nonTransfers.contains(function) { return [] }

        // Acceptance time {1110} (MMDDHHMM) when present; else the start of the cycle date.
        var ts = date
        let accepted = Array((tags[1110]?.value ?? "").utf8.prefix(8))
        if accepted.count == 8, accepted.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
           let t = EventTime(year: num(cycle, 0, 4), month: num(accepted, 0, 2), day: num(accepted, 2, 2),
                             hour: num(accepted, 4, 2), minute: num(accepted, 6, 2)) { ts = t }

        let sender = institution(tags[3100]!.value)
        let receiver = institution(tags[3400]!.value)
        var debtor = party(tags[5000]?.value) ?? Party(account: sender.aba, institution: sender.name)
        var creditor = party(tags[4200]?.value) ?? party(tags[4100]?.value) ?? Party(account: receiver.aba, institution: receiver.name)
        if let fi = party(tags[5100]?.value) { debtor.institution = fi.name; debtor.bic = fi.bic }
        else if debtor.institution == nil { debtor.institution = sender.name }
        if tags[4200] != nil, let fi = party(tags[4100]?.value) { creditor.institution = fi.name; creditor.bic = fi.bic }
        else if creditor.institution == nil { creditor.institution = receiver.name }

        let info = tags[6000].map { elements($0.value, widths: [35, 35, 35, 35]).filter { !$0.isEmpty }.joined(separator: " ") }
        return [Transaction(id: "IMAD:" + imad, ts: ts, amount: dollars(cents), currency: "USD", channel: "wire",
                            debtor: debtor, creditor: creditor, reference: info?.isEmpty == false ? info : tags[3320]?.value.trimmed(" *"),
                            source: EventSource(format: FeedFormat.fedwire.rawValue, institution: sender.aba, file: file))]
    }

    /// An amount in cents as dollars, without trailing zeros (`150000` → `1500`, `150050` →
    /// `1500.5`), as dividing the Decimal by 100 gives it, without that division's cost (an
    /// eighth of a message's decoding).
    static func dollars(_ cents: Int64) -> Decimal {
        var mantissa = cents, exponent = -2
        while exponent < 0, mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        return Decimal(sign: .plus, exponent: mantissa == 0 ? 0 : exponent, significand: Decimal(mantissa))
    }

    private static func num(_ d: [UInt8], _ from: Int, _ len: Int) -> Int {
        d[from ..< from + len].reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// A value's elements: split at `*` when delimited, else cut at the fixed widths.
    static func elements(_ value: String, widths: [Int]) -> [String] {
        // (In bytes: `*` is ASCII, and by Character this split was a fifth of a message's decoding.)
        if value.utf8.contains(UInt8(ascii: "*")) {
            return value.utf8.split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false).map { String(decoding: $0.trimming(" "), as: UTF8.self) }
        }
        var out: [String] = []
        var rest = Substring(value)
        for w in widths {
            out.append(String(rest.prefix(w)).trimmed(" "))
            rest = rest.dropFirst(w)
        }
        return out
    }

    /// {3100}/{3400}: ABA routing number (9 digits) and short name.
    private static func institution(_ value: String) -> (aba: String, name: String?) {
        let aba = String(value.prefix(9))
        let name = String(value.dropFirst(9)).trimmed(" *")
        return (aba, name.isEmpty ? nil : name)
    }

    /// {4100}/{4200}/{5000}/{5100}: identification code (1), identifier (34), name (35), three address lines (35).
    private static func party(_ value: String?) -> Party? {
        guard let value, value.count > 1 else { return nil }
        let code = value.first!
        let e = elements(String(value.dropFirst()), widths: [34, 35, 35, 35, 35])
        guard let id = e.first, !id.isEmpty else { return nil }
        let address = e.dropFirst(2).filter { !$0.isEmpty }
        return Party(account: id, name: e.count > 1 && !e[1].isEmpty ? e[1] : nil, bic: code == "B" ? id : nil,
                     address: address.isEmpty ? nil : address.joined(separator: ", "))
    }
}
