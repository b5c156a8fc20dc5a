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

    public var threshold: Double { screener.options.threshold }
}

/// Screens the parties of each event for one engine. Remembers recent answers (the same
/// account holders pay again and again): the answer for a name depends only on the name, the
/// details given with it and the lists, so what is remembered never changes what is reported.
final class ScreeningRunner {
    let definition: ScreeningDefinition
    private var cache: [ScreeningQuery: [ScreeningMatch]] = [:]
    /// Queries remembered before the cache is emptied and starts again (a bound on memory that
    /// needs no bookkeeping per hit).
    static let cacheLimit = 50_000

    init(_ definition: ScreeningDefinition) { self.definition = definition }

    func matches(_ tx: Transaction, origin: EventOrigin) -> [RuleMatch] {
        // Most payments name no party (a name is required of wires only): they cost two reads.
        guard tx.debtor.name?.isEmpty == false || tx.creditor.name?.isEmpty == false else { return [] }
        var out: [RuleMatch] = []
        screen(tx.debtor, as: .debtor, in: tx, origin: origin, into: &out)
        screen(tx.creditor, as: .creditor, in: tx, origin: origin, into: &out)
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
        let query = ScreeningQuery(name: name, kind: .person, birthDate: t.dob, country: t.nationality, document: document?.number)
        // A traveller is known by the travel document, else by name and date of birth.
        let subject = document.map { Alert.Subject(field: "traveller.document", value: $0.number) }
            ?? Alert.Subject(field: "traveller.name", value: [name, t.dob].compactMap { $0 }.joined(separator: " "))
        // Travellers are not cached: no passenger data stays in screening state (PNR retention).
        return definition.screener.screen(query).matches.map {
            finding($0, role: "traveller", name: name, subject: subject, ts: p.ts, contribution: Contribution(origin: origin, eventID: p.id, ts: p.ts, passenger: true))
        }
    }

    private func screen(_ query: ScreeningQuery) -> [ScreeningMatch] {
        if let known = cache[query] { return known }
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        let found = definition.screener.screen(query).matches
        cache[query] = found
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
