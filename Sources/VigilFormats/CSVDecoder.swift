import Foundation
import VigilCore

/// How a CSV export maps onto the canonical transaction: declared in the configuration
/// (`formats.csv`), since every bank and simulator names its columns differently.
public struct CSVMapping: Sendable, Hashable {
    /// How to read the `ts` column.
    public enum TimeFormat: Sendable, Hashable {
        /// RFC 3339.
        case rfc3339
        /// A pattern of `yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss` and literal characters, read
        /// at the configured UTC offset (e.g. `dd.MM.yyyy HH:mm`).
        case pattern(String, offsetSeconds: Int)
        /// Seconds (or milliseconds) since 1970-01-01T00:00:00Z.
        case unixSeconds, unixMilliseconds
        /// Simulation steps (AMLSim days, PaySim hours): `origin + step × length`.
        case steps(origin: EventTime, length: Duration)
    }

    /// What a negative amount means.
    public enum Sign: String, Sendable, Hashable {
        /// Negative amounts are an error: the export lists every transfer debtor → creditor.
        case positive
        /// A negative amount is money flowing the other way: debtor and creditor swap, amount made positive.
        case negativeReverses = "negative-reverses"
    }

    /// Canonical field (`id`, `ts`, `amount`, `currency`, `channel`, `reference`,
    /// `debtor.account`, `debtor.name`, `debtor.country`, `debtor.bic`, the same for `creditor`)
    /// → column name in the header row.
    public var columns: [String: String]
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var decimalSeparator: UInt8 = UInt8(ascii: ".")
    public var time: TimeFormat = .rfc3339
    public var sign: Sign = .positive
    /// Used when no `currency` column is mapped.
    public var currency: String?
    /// Used when no `channel` column is mapped.
    public var channel: String?
    /// Values of the `channel` column → canonical channels (`CASH-OUT: cash`).
    public var channelValues: [String: String] = [:]

    public static let fields: Set<String> = [
        "id", "ts", "amount", "currency", "channel", "reference",
        "debtor.account", "debtor.name", "debtor.country", "debtor.bic",
        "creditor.account", "creditor.name", "creditor.country", "creditor.bic",
    ]

    public init(columns: [String: String]) { self.columns = columns }
}

/// A CSV export (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row → one
/// transaction per data row.
package enum CSVDecoder {
    static func decode(_ bytes: [UInt8], mapping: CSVMapping, options: DecodeOptions) throws(FormatError) -> [Transaction] {
        let file = options.file
        let rows = try records(bytes, delimiter: mapping.delimiter)
        guard let header = rows.first else { throw FormatError(.csv, "empty input: a header row is required") }
        var index: [String: Int] = [:]
        for (n, name) in header.fields.enumerated() where index[name] == nil { index[name] = n }
        var column: [String: Int] = [:]
        for (field, name) in mapping.columns {
            guard let i = index[name] else {
                throw FormatError(.csv, at: "line \(header.line)", "column '\(name)' (mapped to \(field)) is not in the header: \(header.fields.joined(separator: ", "))")
            }
            column[field] = i
        }
        for required in ["ts", "amount", "debtor.account", "creditor.account"] where column[required] == nil {
            throw FormatError(.csv, "the mapping has no column for \(required)")
        }
        if column["currency"] == nil, mapping.currency == nil {
            throw FormatError(.csv, "the mapping has no currency column and no default currency")
        }
        var out: [Transaction] = []
        for row in rows.dropFirst() {
            if row.fields.count == 1, row.fields[0].isEmpty { continue }
            // The row's line in the file it was cut from.
            let line = row.line + options.lineOffset
            func value(_ field: String) throws(FormatError) -> String? {
                guard let i = column[field] else { return nil }
                guard i < row.fields.count else {
                    throw FormatError(.csv, at: "line \(line)", "row has \(row.fields.count) fields; column '\(mapping.columns[field]!)' (\(field)) is number \(i + 1)")
                }
                let v = row.fields[i]
                return v.isEmpty ? nil : v
            }
            func at(_ field: String) -> String { "line \(line), column '\(mapping.columns[field] ?? field)'" }
            guard let tsText = try value("ts"), let ts = time(tsText, mapping.time) else {
                throw FormatError(.csv, at: at("ts"), "'\((try? value("ts")) ?? "")' is not a time in the configured format")
            }
            guard let amountText = try value("amount"), var amount = self.amount(amountText, decimal: mapping.decimalSeparator) else {
                throw FormatError(.csv, at: at("amount"), "'\((try? value("amount")) ?? "")' is not a decimal amount")
            }
            // Exports write countries as alpha-2 or alpha-3 codes, in either case; the canonical
            // transaction (and every country list a rule compares with) has alpha-2.
            func country(_ field: String) throws(FormatError) -> String? {
                guard let v = try value(field) else { return nil }
                guard let code = CountryCodes.alpha2(v) else {
                    throw FormatError(.csv, at: at(field), "'\(v)' is not an ISO 3166-1 country code (alpha-2 or alpha-3)")
                }
                return code
            }
            var debtor = Party(account: try value("debtor.account") ?? "", name: try value("debtor.name"),
                               country: try country("debtor.country"), bic: try value("debtor.bic"))
            var creditor = Party(account: try value("creditor.account") ?? "", name: try value("creditor.name"),
                                 country: try country("creditor.country"), bic: try value("creditor.bic"))
            if amount < 0 {
                guard mapping.sign == .negativeReverses else {
                    throw FormatError(.csv, at: at("amount"), "negative amount '\(amountText)' (set sign: negative-reverses if negatives mean the other direction)")
                }
                amount = -amount
                swap(&debtor, &creditor)
            }
            let channel = try value("channel").map { mapping.channelValues[$0] ?? $0.lowercased() } ?? mapping.channel
            let id = try value("id") ?? "\(file ?? options.origin ?? "csv"):\(line)"
            out.append(Transaction(id: id, ts: ts, amount: amount, currency: try value("currency") ?? mapping.currency!,
                                   channel: channel, debtor: debtor, creditor: creditor, reference: try value("reference"),
                                   source: EventSource(format: FeedFormat.csv.rawValue, file: file)))
        }
        return out
    }

    package struct Record {
        package var fields: [String]
        package var line: Int
    }

    /// RFC 4180 records; a quoted field may span lines.
    package static func records(_ b: [UInt8], delimiter: UInt8) throws(FormatError) -> [Record] {
        var out: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        // A byte-order mark, or several: files saved again by tools that add one each time.
        var i = 0
        while b[i...].starts(with: [0xEF, 0xBB, 0xBF]) { i += 3 }
        var line = 1, recordLine = 1
        var quoted = false
        // Exports from Windows tools and banks come in a code page as often as in UTF-8: input that
        // is not UTF-8 is read as ISO 8859-1 (`Empfänger` written 0xE4), not with its letters replaced.
        let utf8 = String(validating: b, as: UTF8.self) != nil
        func endField() {
            fields.append(utf8 ? String(decoding: field, as: UTF8.self) : String(latin1: field))
            field.removeAll(keepingCapacity: true)
        }
        while i < b.count {
            let c = b[i]
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                    quoted = false
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                guard field.isEmpty else { throw FormatError(.csv, at: "line \(line)", "quote inside an unquoted field") }
                quoted = true
            case delimiter:
                endField()
            case 0x0D:
                break
            case 0x0A:
                endField()
                out.append(Record(fields: fields, line: recordLine))
                fields.removeAll()
                line += 1
                recordLine = line
            default:
                field.append(c)
            }
            i += 1
        }
        guard !quoted else { throw FormatError(.csv, at: "line \(recordLine)", "input ends inside a quoted field") }
        if !field.isEmpty || !fields.isEmpty {
            endField()
            out.append(Record(fields: fields, line: recordLine))
        }
        return out
    }

    /// Splits an export into one self-describing CSV per data row (header + row), the unit
    /// `vigil feed --format csv` publishes.
    /// Header-plus-row messages, each knowing its row's line in the file (the row is line 2 of
    /// its message, so the offset is the file line minus 2).
    static func splitRows(_ b: [UInt8]) -> [FeedMessage] {
        let lines = b.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
            .filter { !$0.element.trimmingASCIIWhitespace().isEmpty }
        guard let header = lines.first else { return [] }
        // Rows with quoted line breaks would be cut apart here; such exports are fed whole.
        guard !b.contains(UInt8(ascii: "\"")) else { return [FeedMessage(bytes: b)] }
        return lines.dropFirst().map { n, row in
            FeedMessage(bytes: Array(header.element) + [0x0A] + Array(row) + [0x0A], lineOffset: n + 1 - 2)
        }
    }

    /// An amount as exports write it: the configured decimal separator; thousands grouped by
    /// whichever of `,` `.` `'` or a space is not the decimal separator (`1,234.56`, `1.234,56`,
    /// `1'234.56`, `1 234,56`); a sign in front, a minus behind (`123.45-`, as SAP writes) or
    /// parentheses for a negative (`(123.45)`, as accountants write).
    static func amount(_ text: String, decimal: UInt8) -> Decimal? {
        var t = text.trimmed(" ")
        // Most values need none of what follows (a simulator's `99.87`).
        if decimal == UInt8(ascii: "."), t.utf8.drop(while: { $0 == UInt8(ascii: "-") }).allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }) {
            return DecimalText.parse(t)
        }
        var negative = false
        if t.hasPrefix("("), t.hasSuffix(")") { t = String(t.dropFirst().dropLast()); negative = true }
        if t.hasSuffix("-") { t.removeLast(); negative = true }
        // Thousands separators (including the no-break spaces U+00A0 and U+202F some locales
        // group with) go; the decimal separator becomes a point. A separator must group digits
        // (three after the last one, two or three after others, as Indian lakhs have): `99,87`
        // read with a decimal point is an error, not 9987, so a wrong separator is noticed.
        let b = Array(t.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var groups: [Int] = []            // digits after each separator, up to the next non-digit
        var afterDecimal = false
        var i = 0
        while i < b.count {
            let c = b[i]
            var width = 0
            if c == decimal { out.append(UInt8(ascii: ".")); afterDecimal = true }
            else if c == 0xC2, i + 1 < b.count, b[i + 1] == 0xA0 { width = 2 }
            else if c == 0xE2, i + 2 < b.count, b[i + 1] == 0x80, b[i + 2] == 0xAF { width = 3 }
            else if c == UInt8(ascii: ",") || c == UInt8(ascii: ".") || c == UInt8(ascii: "'") || c == UInt8(ascii: " ") { width = 1 }
            else { out.append(c) }
            if width > 0 {
                guard !afterDecimal, !out.isEmpty, out.last! >= 0x30, out.last! <= 0x39 else { return nil }
                groups.append(b[(i + width)...].prefix { $0 >= 0x30 && $0 <= 0x39 }.count)
                i += width
            } else {
                i += 1
            }
        }
        guard groups.isEmpty || (groups.last == 3 && groups.dropLast().allSatisfy { $0 == 2 || $0 == 3 }) else { return nil }
        t = String(decoding: out, as: UTF8.self)
        if t.hasPrefix("+") { t.removeFirst() }
        if negative {
            guard !t.hasPrefix("-") else { return nil }
            t = "-" + t
        }
        return DecimalText.parse(t)
    }

    static func time(_ text: String, _ format: CSVMapping.TimeFormat) -> EventTime? {
        switch format {
        case .rfc3339:
            return EventTime(rfc3339: text)
        case .unixSeconds, .unixMilliseconds:
            guard let v = Int64(text) else { return nil }
            return EventTime(microseconds: format == .unixSeconds ? v * 1_000_000 : v * 1000)
        case .steps(let origin, let length):
            guard let n = Int64(text) else { return nil }
            return EventTime(microseconds: origin.microseconds + n * length.microseconds)
        case .pattern(let pattern, let offset):
            var y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0
            let p = Array(pattern.utf8), v = Array(text.utf8)
            var i = 0, j = 0
            func digits(_ n: Int) -> Int? {
                guard j + n <= v.count, v[j ..< j + n].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                defer { j += n }
                return v[j ..< j + n].reduce(0) { $0 * 10 + Int($1 - 0x30) }
            }
            while i < p.count {
                let rest = p[i...]
                func take(_ token: String) -> Bool { rest.starts(with: token.utf8) ? { i += token.utf8.count; return true }() : false }
                if take("yyyy") { guard let x = digits(4) else { return nil }; y = x }
                else if take("yy") { guard let x = digits(2) else { return nil }; y = 2000 + x }
                else if take("MM") { guard let x = digits(2) else { return nil }; mo = x }
                else if take("dd") { guard let x = digits(2) else { return nil }; d = x }
                else if take("HH") { guard let x = digits(2) else { return nil }; h = x }
                else if take("mm") { guard let x = digits(2) else { return nil }; mi = x }
                else if take("ss") { guard let x = digits(2) else { return nil }; s = x }
                else {
                    guard j < v.count, v[j] == p[i] else { return nil }
                    i += 1
                    j += 1
                }
            }
            guard j == v.count else { return nil }
            return EventTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s, offsetSeconds: offset)
        }
    }
}
