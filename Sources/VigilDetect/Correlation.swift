import Foundation
import VigilCore

/// How a financial party and a traveller can be the same person: the identifiers both kinds of
/// feed carry. Each is compared in a normalised form, so spelling and formatting differences
/// between a bank's records and an airline's do not hide a link.
public enum IdentityLink: String, Sendable, Hashable, CaseIterable {
    /// The number of an identity document (bank: `idNumber`; traveller: any document).
    case document
    /// Name and date of birth together (a name alone is too common).
    case nameDOB = "name-dob"
    case phone
    case email
    /// The keyed hash of a payment card (bank: the card a payment was made with; PNR: the card
    /// that paid the booking). Both sides must use the same key (`formats.card-hash-key`).
    case card

    /// The normalised keys of a financial party.
    static func keys(of party: Party) -> [(IdentityLink, String)] {
        var out: [(IdentityLink, String)] = []
        if let n = party.idNumber.flatMap(document) { out.append((.document, n)) }
        if let name = party.name, let dob = party.dob, let key = nameDOB(name.split(separator: " ").map(String.init), dob) {
            out.append((.nameDOB, key))
        }
        if let p = party.phone.flatMap(IdentityKey.phone) { out.append((.phone, p)) }
        if let e = party.email.flatMap(IdentityKey.email) { out.append((.email, e)) }
        if let c = party.cardHash, !c.isEmpty { out.append((.card, c.lowercased())) }
        return out
    }

    /// The normalised keys of a traveller and the booking they are on.
    static func keys(of p: Passenger) -> [(IdentityLink, String)] {
        var out: [(IdentityLink, String)] = []
        for d in p.traveller.documents ?? [] { if let n = document(d.number) { out.append((.document, n)) } }
        if let dob = p.traveller.dob,
           let key = nameDOB(p.traveller.surname.split(separator: " ").map(String.init) + (p.traveller.given ?? "").split(separator: " ").map(String.init), dob) {
            out.append((.nameDOB, key))
        }
        for ph in p.booking?.contacts?.phones ?? [] { if let v = IdentityKey.phone(ph) { out.append((.phone, v)) } }
        for e in p.booking?.contacts?.emails ?? [] { if let v = IdentityKey.email(e) { out.append((.email, v)) } }
        if let c = p.booking?.payment?.cardHash, !c.isEmpty { out.append((.card, c.lowercased())) }
        return out
    }

    /// A document number as ``IdentityKey/document(_:)`` writes it, of four characters or more.
    static func document(_ s: String) -> String? {
        let v = IdentityKey.document(s)
        return v.utf8.count >= 4 ? v : nil
    }

    /// Name tokens without accents, case or punctuation, in sorted order (so surname-first and
    /// given-first forms agree), with the date of birth.
    static func nameDOB(_ tokens: [String], _ dob: String) -> String? {
        let words = tokens.map {
            String($0.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).unicodeScalars.filter { $0.properties.isAlphabetic })
                .uppercased()
        }.filter { !$0.isEmpty }.sorted()
        guard words.count >= 2, dob.count == 10 else { return nil }
        return words.joined(separator: " ") + "|" + dob
    }
}

/// The fields of a passenger event that a correlation rule's `where` can name.
extension Schema where Input == Passenger {
    public static let passenger: Schema<Passenger> = {
        func s(_ read: @escaping @Sendable (Passenger) -> String?) -> Field { .text(read) }
        var fields: [String: Field] = [
            "id": s { $0.id },
            "kind": s { $0.kind.rawValue },
            "traveller.surname": s { $0.traveller.surname },
            "traveller.given": s { $0.traveller.given },
            "traveller.dob": s { $0.traveller.dob },
            // As an alpha-2 code, like `debtor.country` and the country lists: passenger data
            // gives alpha-3 (`RUS`) or a passport's ICAO code (`D`), which no list would hold.
            "traveller.nationality": s { $0.traveller.nationality.map(CountryCodes.alpha2OrAsGiven) },
            "traveller.role": s { $0.traveller.role },
            "booking.locator": s { $0.booking?.locator },
            "booking.agency": s { $0.booking?.agency },
            "booking.payment.form": s { $0.booking?.payment?.form },
            // The journey: where the first leg leaves from and the last one arrives.
            "flight.from": s { $0.flights?.first?.from },
            "flight.to": s { $0.flights?.last?.to },
            "flight.carrier": s { $0.flights?.first?.carrier },
        ]
        fields["booking.one-way"] = Field(type: .bool) { p in p.booking?.oneWay.map(Value.bool) ?? .null }
        // Hours from booking to the first departure: small for last-minute tickets.
        fields["booking.lead-hours"] = .number { p in
            guard let created = p.booking?.createdAt, let departure = p.flights?.first?.departure else { return nil }
            return Decimal((departure.microseconds - created.microseconds) / 3_600_000_000)
        }
        return Schema(name: "passenger event", fields: fields)
    }()
}

/// The state of one correlation rule: parties flagged by its source rules, indexed by their
/// identity keys, until the rule's span has passed in event time; and the links already
/// reported, so a booking sent again (PNRs are pushed several times before departure) does not
/// raise the same finding twice.
struct CorrelationTracker {
    private(set) var rule: CompiledRules.Rule
    let within: Duration
    let maxFlagsPerKey: Int

    private struct Flag {
        var source: Alert.Finding
        var subject: Alert.Subject
        var link: IdentityLink
        /// The party's value for `link`, as it was written on the transaction.
        var shown: String
        var ts: EventTime
        var contributions: [Contribution]
    }

    /// `link:normalised value` → flags, oldest first.
    private var flags: [String: [Flag]] = [:]
    /// `subject|traveller` → when it was reported.
    private var reported: [String: EventTime] = [:]
    private(set) var held = 0

    init(rule: CompiledRules.Rule, maxFlagsPerKey: Int) {
        self.rule = rule
        self.within = rule.within!
        self.maxFlagsPerKey = maxFlagsPerKey
    }

    func rebound(to rule: CompiledRules.Rule) -> CorrelationTracker {
        // The state carries over; the settings taken from the rule (its span, …) are the same,
        // its definition being equal.
        var copy = self
        copy.rule = rule
        return copy
    }

    /// Records the parties of `tx` that the matches of this rule's sources are about.
    mutating func flag(_ matches: [RuleMatch], in tx: Transaction) {
        for m in matches where rule.flaggedBy.contains(m.finding.id) {
            // The flagged account is one of this transaction's parties: it completed the match.
            let party = [tx.debtor, tx.creditor].first { $0.account == m.subject.value }
            guard let party else { continue }
            for (link, key) in IdentityLink.keys(of: party) where rule.links.contains(link) {
                let flag = Flag(source: m.finding, subject: m.subject, link: link, shown: Self.shown(party, link), ts: m.ts,
                                contributions: m.contributions)
                let at = "\(link.rawValue):\(key)"
                flags[at, default: []].append(flag)
                held += 1
                if flags[at]!.count > maxFlagsPerKey {
                    flags[at]!.removeFirst()
                    held -= 1
                }
            }
        }
    }

    /// The findings a passenger event raises: one per flagged party it links to, within the
    /// span after the flag, not reported before for this traveller.
    mutating func process(_ p: Passenger, _ c: Contribution) -> [RuleMatch] {
        guard let condition = rule.passengerCondition, condition.test(p) else { return [] }
        // Who the traveller is, for reporting once: the booking, else the first document, else the event.
        let traveller = p.booking?.locator ?? p.traveller.documents?.first?.number ?? p.id
        var linked: [String: (Flag, [IdentityLink])] = [:]
        var order: [String] = []
        for (link, key) in IdentityLink.keys(of: p) where rule.links.contains(link) {
            for f in flags["\(link.rawValue):\(key)"] ?? [] where f.ts <= p.ts && p.ts <= f.ts + within {
                let id = "\(f.subject.value ?? "")|\(f.source.id)"
                if linked[id] == nil { order.append(id); linked[id] = (f, []) }
                if !linked[id]!.1.contains(link) { linked[id]!.1.append(link) }
            }
        }
        var out: [RuleMatch] = []
        for id in order {
            let (f, links) = linked[id]!
            let once = "\(f.subject.value ?? "")|\(traveller)"
            if let at = reported[once], p.ts <= at + within { continue }
            reported[once] = p.ts
            out.append(match(p, c, f, links))
        }
        return out
    }

    /// Drops flags and reports older than the span (event time of the newest event anywhere).
    mutating func sweep(newest: EventTime) {
        let cutoff = newest - within
        held -= Detector.removeAll(from: &flags) { $0.ts < cutoff }
        reported = reported.filter { $0.value >= cutoff }
    }

    private static func shown(_ party: Party, _ link: IdentityLink) -> String {
        switch link {
        case .document: return party.idNumber ?? ""
        case .nameDOB: return "\(party.name ?? ""), born \(party.dob ?? "")"
        case .phone: return party.phone ?? ""
        case .email: return party.email ?? ""
        case .card: return "card " + String((party.cardHash ?? "").prefix(12)) + "…"
        }
    }

    private func match(_ p: Passenger, _ c: Contribution, _ f: Flag, _ links: [IdentityLink]) -> RuleMatch {
        let d = rule.definition
        let name = [p.traveller.surname, p.traveller.given].compactMap { $0 }.joined(separator: "/")
        var trip = p.kind == .pnr ? "booking \(p.booking?.locator ?? p.id)" : "API \(p.id)"
        if let leg = p.flights?.first {
            trip += ", \(leg.carrier)\(leg.number) \(leg.from ?? "?")→\(p.flights?.last?.to ?? "?")"
            if let dep = leg.departure { trip += " departing \(dep)" }
        }
        let hours = (p.ts.microseconds - f.ts.microseconds) / 3_600_000_000
        let explanation = "traveller \(name) (\(trip)) is \(f.subject.field) \(f.subject.value ?? ""), flagged by \(f.source.id)@\(f.source.version) "
            + "at \(f.ts), \(hours / 24)d \(hours % 24)h before; linked by "
            + links.map { $0 == f.link ? "\($0.rawValue) (\(f.shown))" : $0.rawValue }.joined(separator: ", ")
        let finding = Alert.Finding(kind: .rule, id: d.id, version: d.version, score: d.score, explanation: explanation)
        return RuleMatch(finding: finding, subject: f.subject, ts: p.ts, contributions: f.contributions + [c])
    }
}
