import Foundation
import VigilCore
import VigilDetect
import VigilScreen

/// A pipeline's `screening:` section: which lists, which parties, from what score. The lists
/// are loaded and indexed when the pipeline is, so a pipeline whose lists do not load is
/// rejected like any other invalid pipeline (and on a hot reload the running one stays).
public struct ScreeningDefinition: Sendable {
    public enum Target: String, Sendable, CaseIterable { case debtor, creditor, traveller }

    /// The finding's id and version on alerts.
    public var id = "watchlist"
    public var version = 1
    public var targets: Set<Target> = Set(Target.allCases)
    /// Each list's name and the file it was loaded from.
    public var lists: [(name: String, path: String)] = []
    public var screener: Screener
    /// How many answers for payment parties each worker remembers (`remember:`; 0: none). A
    /// bank's payers recur, so an operator sizes it to the parties seen between two payments of
    /// the same payer; each answer takes a few hundred bytes.
    public var remembered = 50_000

    public var threshold: Double { screener.options.threshold }
}

/// Screens the parties of each event for one engine. Remembers recent answers (the same
/// account holders pay again and again): the answer for a name depends only on the name, the
/// details given with it and the lists, so what is remembered never changes what is reported.
///
/// Answers are kept in two generations of at most half the bound each: one asked again is
/// moved to the newer; when the newer is full, the older is dropped and the newer takes its
/// place. A name in steady use stays (emptying the whole cache at the bound, as before, screened
/// every name again at once), memory stays within the bound, and a hit costs no bookkeeping.
final class ScreeningRunner {
    let definition: ScreeningDefinition
    private var newer: [ScreeningQuery: [ScreeningMatch]] = [:]
    private var older: [ScreeningQuery: [ScreeningMatch]] = [:]
    /// Queries screened against the lists, and payment parties answered from memory: what
    /// `vigil_screenings_total` counts, so an operator can see whether `remember:` holds the
    /// parties that come back.
    private(set) var screened = 0
    private(set) var remembered = 0

    init(_ definition: ScreeningDefinition) {
        self.definition = definition
    }

    func matches(_ tx: Transaction, origin: EventOrigin) -> [RuleMatch] {
        var out: [RuleMatch] = []
        screenIdentifiers(of: tx.debtor, as: .debtor, in: tx, origin: origin, into: &out)
        screenIdentifiers(of: tx.creditor, as: .creditor, in: tx, origin: origin, into: &out)
        // Most payments name no party (a name is required of wires only): they cost two reads.
        guard tx.debtor.name?.isEmpty == false || tx.creditor.name?.isEmpty == false else { return out }
        screen(tx.debtor, as: .debtor, in: tx, origin: origin, into: &out)
        screen(tx.creditor, as: .creditor, in: tx, origin: origin, into: &out)
        return out
    }

    /// Looks a party's account, bank and contacts up among what the lists give besides names.
    private func screenIdentifiers(of party: borrowing Party, as target: ScreeningDefinition.Target, in tx: Transaction, origin: EventOrigin,
                                   into out: inout [RuleMatch]) {
        let screener = definition.screener
        // A listed wallet is a hit whatever the names, and crypto payments mostly name no one.
        // Most accounts are turned away by their length alone.
        if screener.listsAddresses {
            report(screener.screen(address: party.account), role: "account", name: party.account, of: target, account: party.account,
                   in: tx, origin: origin, into: &out)
        }
        // A payment through a listed bank (OFAC's `SWIFT/BIC`). Most banks are turned away by
        // their country code.
        if screener.listsBICs, let bic = party.bic {
            report(screener.screen(bic: bic), role: "BIC", name: bic, of: target, account: party.account, in: tx, origin: origin, into: &out)
        }
        // The party's phone or e-mail, when the bank sent them (few do).
        if screener.listsContacts, party.phone != nil || party.email != nil {
            for (contact, m) in contactMatches(phones: party.phone.map { [$0] } ?? [], emails: party.email.map { [$0] } ?? []) {
                report([m], role: "contact", name: contact, of: target, account: party.account, in: tx, origin: origin, into: &out)
            }
        }
    }

    /// Findings about a party's account that rest on one value the lists give (its wallet, its
    /// bank's BIC, its phone or e-mail), when the party is screened at all. The targets are asked
    /// only of a hit: most payments have none.
    private func report(_ matches: [ScreeningMatch], role: String, name: String, of target: ScreeningDefinition.Target, account: String,
                        in tx: Transaction, origin: EventOrigin, into out: inout [RuleMatch]) {
        guard !matches.isEmpty, definition.targets.contains(target) else { return }
        for m in matches {
            out.append(finding(m, role: "\(target.rawValue) \(role)", name: name, subject: Alert.Subject(field: "\(target.rawValue).account", value: account),
                               ts: tx.ts, contribution: Contribution(origin: origin, eventID: tx.id, ts: tx.ts)))
        }
    }

    /// The hits on contacts that lists give (OFAC's `Phone Number`, `Email Address`), each with
    /// the contact it rests on, in a fixed order so replays agree.
    private func contactMatches(phones: [String], emails: [String]) -> [(String, ScreeningMatch)] {
        let screener = definition.screener
        var out: [(String, ScreeningMatch)] = []
        if screener.listsEmails { for e in Set(emails).sorted() { out += screener.screen(email: e).map { (e, $0) } } }
        if screener.listsPhones { for p in Set(phones).sorted() { out += screener.screen(phone: p).map { (p, $0) } } }
        return out
    }

    private func screen(_ party: borrowing Party, as target: ScreeningDefinition.Target, in tx: Transaction, origin: EventOrigin,
                        into out: inout [RuleMatch]) {
        guard definition.targets.contains(target), let name = party.name, !name.isEmpty else { return }
        let query = ScreeningQuery(name: name, kind: .unknown, birthDate: party.dob, country: party.country, document: party.idNumber)
        for m in screen(query) {
            out.append(finding(m, role: target.rawValue, name: name, subject: Alert.Subject(field: "\(target.rawValue).account", value: party.account),
                               ts: tx.ts, contribution: Contribution(origin: origin, eventID: tx.id, ts: tx.ts)))
        }
    }

    func matches(_ p: Passenger, origin: EventOrigin) -> [RuleMatch] {
        guard definition.targets.contains(.traveller) else { return [] }
        let t = p.traveller
        let name = [t.given, t.surname].compactMap { $0 }.joined(separator: " ")
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { return [] }
        let document = t.documents?.first
        // Each of the traveller's documents (a passport and a visa, two passports) is evidence.
        let others = (t.documents ?? []).dropFirst().map(\.number)
        let query = ScreeningQuery(name: name, kind: .person, birthDate: t.dob, country: t.nationality, document: document?.number,
                                   otherDocuments: others.isEmpty ? nil : Array(others))
        // A traveller is known by the travel document, else by name and date of birth.
        let subject = document.map { Alert.Subject(field: "traveller.document", value: $0.number) }
            ?? Alert.Subject(field: "traveller.name", value: [name, t.dob].compactMap { $0 }.joined(separator: " "))
        let contribution = Contribution(origin: origin, eventID: p.id, ts: p.ts, passenger: true)
        // Travellers are not cached: no passenger data stays in screening state (PNR retention).
        screened += 1
        var out = definition.screener.screen(query).matches.map {
            finding($0, role: "traveller", name: name, subject: subject, ts: p.ts, contribution: contribution)
        }
        // A booking's contact that a list gives (OFAC's `Email Address`, `Phone Number`): a hit
        // whatever the name, for review like every passenger finding.
        if definition.screener.listsContacts, let contacts = p.booking?.contacts {
            for (contact, m) in contactMatches(phones: contacts.phones ?? [], emails: contacts.emails ?? []) {
                out.append(finding(m, role: "booking contact", name: contact, subject: subject, ts: p.ts, contribution: contribution))
            }
        }
        return out
    }

    func screen(_ query: ScreeningQuery) -> [ScreeningMatch] {
        guard definition.remembered > 0 else {
            screened += 1
            return definition.screener.screen(query).matches
        }
        let half = definition.remembered / 2
        if let known = newer[query] {
            remembered += 1
            return known
        }
        let found: [ScreeningMatch]
        if let known = older.removeValue(forKey: query) {
            remembered += 1
            found = known
        } else {
            screened += 1
            found = definition.screener.screen(query).matches
        }
        if newer.count >= max(1, half) {
            older = newer
            // The last generation filled up, so this one will: made at its size once, not grown
            // (and copied) step by step.
            newer = Dictionary(minimumCapacity: max(1, half))
        }
        newer[query] = found
        return found
    }

    private func finding(_ m: ScreeningMatch, role: String, name: String, subject: Alert.Subject, ts: EventTime,
                         contribution: Contribution) -> RuleMatch {
        let evidence = m.features.map { f in
            "\(f.feature) \(f.contribution >= 0 ? "+" : "")\(f.contribution)\(f.detail.isEmpty ? "" : " (\(f.detail))")"
        }
        let programs = m.programs.isEmpty ? "" : ", programmes \(m.programs.joined(separator: ", "))"
        let explanation = "\(role) '\(name)' matches \(m.list) entry \(m.entryID) '\(m.matchedName)' (\(m.nameQuality) name; list version "
            + "\(m.listVersion)\(programs)) with score \(m.score) ≥ \(definition.threshold): \(evidence.joined(separator: "; "))"
        let finding = Alert.Finding(kind: .screening, id: definition.id, version: definition.version, score: m.score, explanation: explanation)
        return RuleMatch(finding: finding, subject: subject, ts: ts, contributions: [contribution])
    }
}
