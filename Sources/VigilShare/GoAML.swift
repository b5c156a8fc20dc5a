import Foundation
import VigilCore

/// A goAML 5.0.2 report draft (UNODC's FIU reporting format) made from the unit's own alerts:
/// one report, one activity, one report party per alert subject, with the findings as reasons.
///
/// Alerts say why a subject is suspicious, not everything goAML asks of an account or a person.
/// Where the schema requires a value no alert carries (an account's balance and status, a
/// passport's country), the draft writes goAML's "not known" (`-`) or `0` and says so in the
/// party's comments, for the analyst who completes the draft before submitting it.
public struct GoAMLReport: Sendable {
    public enum ReportCode: String, Sendable, CaseIterable {
        /// Suspicious transaction report.
        case str = "STR"
        /// Suspicious activity report.
        case sar = "SAR"
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The reporting entity's id at the FIU (`rentity_id`).
    public var entityID: String
    public var reportCode: ReportCode
    /// goAML `currency_code_local`.
    public var currency: String
    /// goAML indicator code per finding id (rule, typology or stage); codes are the FIU's own list.
    public var indicators: [String: String]
    /// For alerts none of whose findings has an indicator.
    public var defaultIndicator: String?
    public var submissionDate: EventTime

    public init(entityID: String, reportCode: ReportCode, currency: String, indicators: [String: String],
                defaultIndicator: String?, submissionDate: EventTime) {
        self.entityID = entityID
        self.reportCode = reportCode
        self.currency = currency
        self.indicators = indicators
        self.defaultIndicator = defaultIndicator
        self.submissionDate = submissionDate
    }

    /// The report XML for `alerts` (at least one, each with its subject's value).
    public func xml(for alerts: [Alert]) throws(Failure) -> String {
        guard !alerts.isEmpty else { throw Failure(description: "no alerts to report") }
        var indicatorCodes: [String] = []
        for alert in alerts {
            let codes = alert.findings.compactMap { indicators[$0.id] }
            guard let first = codes.first ?? defaultIndicator else {
                throw Failure(description: "alert \(alert.id): no goAML indicator for its findings (\(alert.findings.map(\.id).joined(separator: ", "))): give --indicator FINDING=CODE or --default-indicator CODE")
            }
            for c in codes.isEmpty ? [first] : codes where !indicatorCodes.contains(c) { indicatorCodes.append(c) }
        }
        // One party per subject, in the order subjects first appear.
        var parties: [(subject: Alert.Subject, alerts: [Alert])] = []
        for alert in alerts {
            guard alert.redactions == nil, let value = alert.subject.value else {
                throw Failure(description: "alert \(alert.id) is a partner's copy (fields redacted or pseudonymised): goAML drafts are made from the unit's own alerts")
            }
            if let i = parties.firstIndex(where: { $0.subject.field == alert.subject.field && $0.subject.value == value }) {
                parties[i].alerts.append(alert)
            } else {
                parties.append((alert.subject, [alert]))
            }
        }
        let ids = alerts.map(\.id).sorted()
        var x = XMLText()
        x.line(#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#)
        x.open("report")
        x.element("schema_version", "5.0.2")
        x.element("rentity_id", entityID)
        x.element("submission_code", "E")
        x.element("report_code", reportCode.rawValue)
        // The same alerts always give the same reference, so a draft made twice is recognisable.
        x.element("entity_reference", "VIGIL-" + SHA256.hash(ids.joined(separator: "\n").utf8).prefix(8).hex.uppercased())
        x.element("submission_date", Self.sqlDate(submissionDate))
        x.element("currency_code_local", currency)
        x.element("reason", "\(alerts.count) alert\(alerts.count == 1 ? "" : "s") raised by Vigil on \(parties.count) subject\(parties.count == 1 ? "" : "s"): "
                  + Set(alerts.flatMap { $0.findings.map(\.id) }).sorted().joined(separator: ", "))
        x.element("action", "Draft made by Vigil from alerts \(ids.joined(separator: ", ")); to be reviewed and completed before submission.")
        x.open("activity")
        x.open("report_parties")
        for party in parties { writeParty(party.subject, party.alerts, into: &x) }
        x.close("report_parties")
        x.close("activity")
        x.open("report_indicators")
        for code in indicatorCodes { x.element("indicator", code) }
        x.close("report_indicators")
        x.close("report")
        return x.text
    }

    private func writeParty(_ s: Alert.Subject, _ alerts: [Alert], into x: inout XMLText) {
        x.open("report_party")
        let value = s.value ?? ""
        var missing: [String] = []
        if s.field.hasPrefix("traveller") {
            // A traveller screened or linked: a person, with the travel document as passport.
            x.open("person")
            let (first, last) = Self.split(s.name ?? "")
            x.element("first_name", first.isEmpty ? "-" : first)
            x.element("last_name", last.isEmpty ? "-" : last)
            if let dob = s.dob, let date = EventTime(rfc3339: dob + "T00:00:00Z") { x.element("birthdate", Self.sqlDate(date)) }
            x.element("passport_number", s.document ?? value)
            let country = s.nationality.flatMap(CountryCodes.alpha2) ?? "-"
            if country == "-" { missing.append("passport country") }
            x.element("passport_country", country)
            if let n = s.nationality.flatMap(CountryCodes.alpha2) { x.element("nationality1", n) }
            x.close("person")
        } else {
            x.open("account")
            if let bic = s.institution, bic.count == 8 || bic.count == 11 { x.element("swift", bic) } else {
                x.element("institution_code", s.institution ?? "-")
                if s.institution == nil { missing.append("institution") }
            }
            x.element("account", value)
            x.element("account_name", s.name ?? value)
            if s.name == nil { missing.append("account name") }
            x.element("balance", "0")
            x.element("status_code", "-")
            missing += ["balance", "status"]
            x.element("comments", "Not known to Vigil, written as 0 or '-': \(missing.joined(separator: ", ")). Complete before submission.")
            x.close("account")
        }
        let score = alerts.map(\.score).max() ?? 0
        x.element("significance", String(max(1, min(10, Int((score * 10).rounded())))))
        x.element("reason", alerts.flatMap { a in a.findings.map { "\($0.id)@\($0.version) (\($0.score)): \($0.explanation)" } }.joined(separator: "\n"))
        var comments = alerts.map { a in
            "alert \(a.id) at \(a.ts.rfc3339), \(a.tlp), purpose \(a.purpose)\(a.reviewOnly == true ? ", review only" : ""); events "
                + a.evidence.map { "\($0.eventId) (\($0.topic)[\($0.partition)]@\($0.offset))" }.joined(separator: ", ")
        }
        if s.field.hasPrefix("traveller"), !missing.isEmpty { comments.append("Not known to Vigil, written as '-': \(missing.joined(separator: ", ")).") }
        x.element("comments", comments.joined(separator: "\n"))
        x.close("report_party")
    }

    /// goAML's `sql_date`: local date-time without zone (UTC here).
    static func sqlDate(_ t: EventTime) -> String { String(t.rfc3339.prefix(19)) }

    /// "Given Middle Surname" → ("Given Middle", "Surname"); "SURNAME, Given" → ("Given", "SURNAME").
    static func split(_ name: String) -> (String, String) {
        if let comma = name.firstIndex(of: ",") {
            return (name[name.index(after: comma)...].trimmingCharacters(in: .whitespaces), String(name[..<comma]))
        }
        let words = name.split(separator: " ")
        guard words.count > 1 else { return ("", name) }
        return (words.dropLast().joined(separator: " "), String(words.last!))
    }

}

/// Indented XML with escaped text.
struct XMLText {
    private(set) var text = ""
    private var depth = 0

    mutating func line(_ s: String) { text += String(repeating: "    ", count: depth) + s + "\n" }
    mutating func open(_ tag: String) {
        line("<\(tag)>")
        depth += 1
    }
    mutating func close(_ tag: String) {
        depth -= 1
        line("</\(tag)>")
    }
    mutating func element(_ tag: String, _ value: String) { line("<\(tag)>\(Self.escape(value))</\(tag)>") }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            // XML 1.0 cannot carry most control characters; tabs and newlines stay.
            case _ where c.value < 0x20 && c != "\n" && c != "\t": out += " "
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
