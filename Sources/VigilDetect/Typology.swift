import VigilCore

/// A typology as declared in a pipeline file: findings of several rules about one subject,
/// weighted and summed, raise an alert when they reach a threshold (as Tazama's typology
/// processor does). A rule weak on its own (a one-way ticket paid in cash) contributes without
/// alerting by itself.
public struct TypologyDefinition: Sendable, Hashable {
    public var id: String
    public var version: Int
    public var description: String?
    /// Rule id → weight. A rule's contribution is its weight times its finding's score; a rule
    /// counts once (its best finding in the span).
    public var weights: [String: Double]
    /// The sum that raises the alert, in (0, Σ weights].
    public var threshold: Double
    /// How far apart in event time the findings may be. Default: they must coincide (0s), i.e.
    /// one finding alone decides.
    public var within: Duration = .zero
    /// The alert is for a person to review, never for automatic action or sharing on its own.
    public var reviewOnly = false

    public init(id: String, version: Int, weights: [String: Double], threshold: Double) {
        self.id = id
        self.version = version
        self.weights = weights
        self.threshold = threshold
    }
}

/// A typology that reached its threshold: the typology's finding, the rule findings behind it
/// and every contributing event.
public struct TypologyMatch: Sendable, Hashable {
    public var typology: Alert.Finding
    public var reviewOnly: Bool
    public var rules: [Alert.Finding]
    public var subject: Alert.Subject
    public var ts: EventTime
    public var contributions: [Contribution]
}

/// Typologies checked against the pipeline's rules, once.
public struct CompiledTypologies: Sendable {
    public let definitions: [TypologyDefinition]

    /// No typologies: every rule match alerts on its own.
    public static let none = CompiledTypologies(checked: [])

    private init(checked: [TypologyDefinition]) { definitions = checked }

    /// - Throws: ``RuleError`` (with the typology's id) for an unknown rule, a weight outside
    ///   (0, 1], or a threshold the weights cannot reach.
    /// - Parameter otherFindings: ids of findings from other stages (screening, anomaly scoring)
    ///   that typologies may weight like rules.
    public init(_ definitions: [TypologyDefinition], rules: CompiledRules, otherFindings: Set<String> = []) throws(RuleError) {
        let ruleIDs = Set(rules.definitions.map(\.id)).union(otherFindings)
        var seen = Set<String>()
        for t in definitions {
            guard seen.insert(t.id).inserted, !ruleIDs.contains(t.id) else {
                throw RuleError(ruleID: t.id, key: "id", message: "another typology or rule has the same id")
            }
            guard !t.weights.isEmpty else { throw RuleError(ruleID: t.id, key: "rules", message: "a typology needs at least one rule") }
            for (rule, weight) in t.weights.sorted(by: { $0.key < $1.key }) {
                guard ruleIDs.contains(rule) else {
                    throw RuleError(ruleID: t.id, key: "rules", message: "no rule '\(rule)' in this pipeline",
                                    hint: "rules: \(ruleIDs.sorted().joined(separator: ", "))")
                }
                guard weight > 0, weight <= 1 else { throw RuleError(ruleID: t.id, key: "rules", message: "weight of '\(rule)' is \(weight), outside (0, 1]") }
            }
            let reachable = t.weights.values.reduce(0, +)
            guard t.threshold > 0, t.threshold <= reachable + 1e-9 else {
                throw RuleError(ruleID: t.id, key: "threshold", message: "\(t.threshold) is not in (0, \(reachable)], the sum of the weights")
            }
            guard t.within >= .zero else { throw RuleError(ruleID: t.id, key: "within", message: "must not be negative") }
        }
        self.definitions = definitions
    }
}

/// Combines rule matches into typology matches, per subject, in event time. One per worker,
/// like ``Detector``; deterministic for the same sequence of matches.
public final class TypologyCombiner {
    private let typologies: CompiledTypologies
    /// Per typology (same index): subject value → its recent matches of the typology's rules.
    private var held: [[String: [RuleMatch]]]
    private let maxPerSubject: Int
    /// Rule id → the typologies that weigh it, in typology order: one lookup per finding, where
    /// asking every typology for the rule's weight hashed the id once per typology.
    private let byRule: [String: [Int]]

    /// - Parameter previous: the combiner being replaced (hot reload): findings held for an
    ///   unchanged typology carry over.
    public init(typologies: CompiledTypologies, limits: WindowLimits = WindowLimits(), carryingOver previous: TypologyCombiner? = nil) {
        self.typologies = typologies
        self.held = Array(repeating: [:], count: typologies.definitions.count)
        self.maxPerSubject = limits.maxEventsPerKey
        var byRule: [String: [Int]] = [:]
        for (index, t) in typologies.definitions.enumerated() {
            for rule in t.weights.keys { byRule[rule, default: []].append(index) }
        }
        self.byRule = byRule
        guard let previous else { return }
        for (j, t) in typologies.definitions.enumerated() {
            if let i = previous.typologies.definitions.firstIndex(of: t) { held[j] = previous.held[i] }
        }
    }

    /// The typologies the new rule matches complete. Findings that raised an alert are used up,
    /// so one alert per (typology, subject, span), not one per extra finding.
    public func process(_ matches: [RuleMatch]) -> [TypologyMatch] {
        var out: [TypologyMatch] = []
        for m in matches {
            // Detection always names the subject's value; only partner copies may lack it.
            let subject = m.subject.value ?? ""
            for index in byRule[m.finding.id] ?? [] {
                let t = typologies.definitions[index]
                var list = held[index][subject] ?? []
                list.append(m)
                // Keep what is still within the span of the newest finding.
                list.removeAll { $0.ts < m.ts - t.within }
                if list.count > maxPerSubject { list.removeFirst(list.count - maxPerSubject) }
                // Each rule counts once, with its best finding.
                var best: [String: RuleMatch] = [:]
                for x in list where (best[x.finding.id]?.finding.score ?? -1) < x.finding.score { best[x.finding.id] = x }
                let score = best.values.reduce(0) { $0 + t.weights[$1.finding.id]! * $1.finding.score }
                if score + 1e-9 >= t.threshold {
                    out.append(match(t, best.values.sorted { ($0.ts, $0.finding.id) < ($1.ts, $1.finding.id) }, score: score, subject: m.subject, ts: m.ts))
                    held[index][subject] = nil
                } else {
                    held[index][subject] = list
                }
            }
        }
        return out
    }

    private func match(_ t: TypologyDefinition, _ parts: [RuleMatch], score: Double, subject: Alert.Subject, ts: EventTime) -> TypologyMatch {
        let terms = parts.map { "\($0.finding.id) \(fixed(t.weights[$0.finding.id]!)) × \(fixed($0.finding.score))" }
        let explanation = "typology \(t.id): " + terms.joined(separator: " + ") + " = \(fixed(score)) ≥ threshold \(fixed(t.threshold))"
            + (t.within > .zero ? " within \(DurationText.format(t.within))" : "")
        var seen = Set<EventOrigin>()
        let contributions = parts.flatMap(\.contributions).filter { seen.insert($0.origin).inserted }.sorted { ($0.ts, $0.eventID) < ($1.ts, $1.eventID) }
        return TypologyMatch(typology: Alert.Finding(kind: .typology, id: t.id, version: t.version, score: min(1, score), explanation: explanation),
                             reviewOnly: t.reviewOnly, rules: parts.map(\.finding), subject: subject, ts: ts, contributions: contributions)
    }

    private func fixed(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
