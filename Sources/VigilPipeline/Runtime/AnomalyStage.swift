import Foundation
import VigilAnomaly
import VigilCore
import VigilDetect

/// A pipeline's `anomaly:` section: which online detectors score each payment, how their scores
/// combine, and from what combined score a finding is raised.
public struct AnomalyDefinition: Sendable, Equatable {
    public enum Detector: String, Sendable, CaseIterable, Comparable {
        /// Per-account baselines of the debtor (``EntityBaseline``), peers by channel.
        case baseline
        /// Bursts between debtor and creditor per tick of event time (``EdgeBurst``).
        case edge
        /// Half-Space Trees over the configured features of each payment (``HalfSpaceTrees``).
        case hst

        public static func < (a: Detector, b: Detector) -> Bool { a.rawValue < b.rawValue }
    }

    public var id = "anomaly"
    public var version = 1
    /// The weighted mean of the detectors' scores from which a finding is raised.
    public var threshold = 0.9
    /// Each detector's weight in the combined score (they are normalised to sum to 1).
    public var weights: [Detector: Double] = [.baseline: 1]
    /// The length of an edge-burst tick.
    public var tick: Duration = .seconds(3_600)
    public var trees = HalfSpaceTrees.Options()
    /// What Half-Space Trees look at, scaled online to [0, 1].
    public var treeFeatures: [Feature] = [.logAmount, .hour]
    /// Dormant accounts that pay again (`dormant:`): a finding of its own, from the baseline.
    public var dormant: Dormancy?

    /// An account that paid before, then nothing for ``idle``, pays again: a dormant account
    /// suddenly active (Tazama's example of an account taken over: dormant, then a large
    /// payment to a payee it had no relationship with). A window cannot see it: it cannot tell
    /// a dormant account from one seen for the first time, and no window spans half a year.
    /// The debtor's baseline can: it keeps when each account last paid, across restarts in the
    /// state directory's snapshots. An account it has never seen pay (or has forgotten, past
    /// `max-keys`) is new, not dormant.
    public struct Dormancy: Sendable, Equatable {
        public var id = "dormant-account"
        public var version = 1
        /// How long an account must have paid nothing.
        public var idle: Duration = .seconds(180 * 86_400)
        /// Which payments count when it wakes (a rule's `where`: `amount >= 5000`); nil: any.
        public var condition: CompiledExpression<Transaction>?
        /// Only a payment to a payee the account has not paid among those it remembers (the
        /// last sixteen it paid).
        public var newPayee = false
        /// The finding's score, for typologies that weigh it.
        public var score = 1.0

        public init() {}

        /// The check in a few words, for summaries: `dormant-account after 180 days, amount >= 5000`.
        public var summary: String { "\(id) after \(AnomalyRunner.days(idle.microseconds))\(qualifiers)" }

        /// What a waking payment must also be, as the summary and the explanation end.
        var qualifiers: String { (newPayee ? ", a new payee" : "") + (condition.map { ", \($0.source)" } ?? "") }

        public static func == (a: Dormancy, b: Dormancy) -> Bool {
            (a.id, a.version, a.idle, a.condition?.source, a.newPayee, a.score) == (b.id, b.version, b.idle, b.condition?.source, b.newPayee, b.score)
        }
    }

    /// The section but for ``dormant``, which only reads what the baseline learnt: a reload or
    /// a restart that changes only it keeps the detectors' state (months of it, for dormancy).
    var exceptDormancy: AnomalyDefinition {
        var d = self
        d.dormant = nil
        return d
    }

    /// Numbers Half-Space Trees can take from a payment.
    public enum Feature: String, Sendable, CaseIterable {
        case amount
        case logAmount = "log-amount"
        /// Hour of the day and day of the week, in UTC event time.
        case hour, weekday

        func value(_ tx: Transaction, amount: Double) -> Double {
            switch self {
            case .amount: amount
            case .logAmount: log1p(max(0, amount))
            case .hour: Double((tx.ts.microseconds / 3_600_000_000) % 24)
            // 1970-01-01 was a Thursday: 0 = Monday.
            case .weekday: Double((tx.ts.microseconds / 86_400_000_000 + 3) % 7)
            }
        }
    }

    public init() {}
}

/// Scores each payment with the configured detectors for one engine, then learns from it.
/// One per partition (``Scorers``); state changes only with the events it sees, in the
/// partition's order: a replay gives the same scores.
final class AnomalyRunner {
    /// Set anew when a reload changes only the section's ``AnomalyDefinition/dormant`` (the
    /// detectors are kept).
    var definition: AnomalyDefinition {
        didSet { dormantIdle = definition.dormant?.idle.microseconds }
    }
    /// The dormancy check's idle span in microseconds, apart: nearly every payment fails it, and
    /// reading it through ``definition`` copied the whole check out (its texts and compiled
    /// condition retained and released) for every payment: the anomaly pipeline ran 0.92 times
    /// as fast (median of 18 rounds each, alternating).
    private var dormantIdle: Int64?
    private var baseline: EntityBaseline
    private var edges = EdgeBurst()
    private var scaler: MinMaxScaler
    private var trees: HalfSpaceTrees
    /// The detectors in a fixed order, their weights, and the sum of the weights (the parsed
    /// section keeps only positive weights, so it is above 0).
    private let detectors: [AnomalyDefinition.Detector]
    private let weights: [Double]
    private let totalWeight: Double
    private let scoresEdges: Bool
    private let scoresBaseline: Bool
    /// The edge-burst tick in microseconds of event time.
    private let tickMicros: Int64

    /// - Parameter maxKeys: accounts the baseline remembers, at most (the runtime's `max-keys`,
    ///   the bound on per-key state).
    init(_ definition: AnomalyDefinition, maxKeys: Int) {
        self.definition = definition
        var options = EntityBaseline.Options()
        options.maximumAccounts = maxKeys
        baseline = EntityBaseline(options: options)
        scaler = MinMaxScaler(features: definition.treeFeatures.count)
        trees = HalfSpaceTrees(features: definition.treeFeatures.count, options: definition.trees)
        detectors = definition.weights.keys.sorted()
        weights = detectors.map { definition.weights[$0]! }
        totalWeight = weights.reduce(0, +)
        scoresEdges = detectors.contains(.edge)
        scoresBaseline = detectors.contains(.baseline)
        tickMicros = max(1, definition.tick.components.seconds * 1_000_000)
        dormantIdle = definition.dormant?.idle.microseconds
    }

    /// Readies the memory ``matches(_:origin:)`` will need for `tx`, the next payment, while
    /// the current one is scored (``EdgeBurst/prefetch(source:target:)``,
    /// ``EntityBaseline/prefetch(_:)``). Changes nothing.
    func prefetch(_ tx: Transaction) {
        if scoresEdges { edges.prefetch(source: tx.debtor.account, target: tx.creditor.account) }
        if scoresBaseline { baseline.prefetch(tx.debtor.account) }
    }

    func matches(_ tx: Transaction, origin: EventOrigin) -> [RuleMatch] {
        let amount = NSDecimalNumber(decimal: tx.amount).doubleValue
        let event = EntityBaseline.Event(entity: tx.debtor.account, amount: amount, peer: tx.channel, counterparty: tx.creditor.account,
                                         time: Double(tx.ts.microseconds) / 1e6)
        // Each detector scores, then learns. The baseline goes last, so that the combined score
        // is known while it still holds the state before this payment: it lists its features,
        // for the explanation, only for the rare payment that raises a finding.
        var scores = InlineArray<3, Double>(repeating: 0)
        var baselineAt: Int?
        for (i, detector) in detectors.enumerated() {
            switch detector {
            case .baseline:
                baselineAt = i
            case .edge:
                scores[i] = edges.process(source: tx.debtor.account, target: tx.creditor.account, time: tx.ts.microseconds / tickMicros)
            case .hst:
                let x = definition.treeFeatures.map { $0.value(tx, amount: amount) }
                scores[i] = trees.score(scaler.transform(x))
                scaler.learn(x)
                trees.learn(scaler.transform(x))
            }
        }
        /// The weighted mean, summed in detector order.
        func combined(_ scores: InlineArray<3, Double>) -> Double {
            var sum = 0.0
            for i in detectors.indices { sum += scores[i] * weights[i] }
            return sum / totalWeight
        }
        var features: [EntityBaseline.Feature] = []
        var awoke: RuleMatch?
        if let b = baselineAt {
            let s = baseline.scoreAndLearn(event) { s in
                var with = scores
                with[b] = s
                return combined(with) >= definition.threshold
            }
            scores[b] = s.score
            features = s.features
            if let least = dormantIdle, let last = s.history.lastPayment {
                let lastTime = EventTime(microseconds: Self.microseconds(last))
                if tx.ts.microseconds - lastTime.microseconds >= least, let dormant = definition.dormant {
                    awoke = Self.awoke(tx, origin: origin, since: lastTime, history: s.history,
                                       remembered: baseline.options.rememberedCounterparties, dormant)
                }
            }
        }
        let score = combined(scores)
        guard score >= definition.threshold else { return awoke.map { [$0] } ?? [] }
        let found = finding(tx, origin: origin, score: score, scores: scores, baselineFeatures: features)
        return awoke.map { [found, $0] } ?? [found]
    }

    /// The dormancy finding for a payment that comes the idle span or more after the debtor's
    /// last (`lastTime`), when it is one that counts.
    private static func awoke(_ tx: Transaction, origin: EventOrigin, since lastTime: EventTime, history: EntityBaseline.History,
                              remembered: Int, _ dormant: AnomalyDefinition.Dormancy) -> RuleMatch? {
        let idle = tx.ts.microseconds - lastTime.microseconds
        if dormant.newPayee, history.paidPayeeBefore != false { return nil }
        if let condition = dormant.condition, !condition.test(tx) { return nil }
        var explanation = "debtor \(tx.debtor.account) paid \(DecimalText.format(tx.amount)) \(tx.currency) after \(Self.days(idle)) without a payment "
            + "(its last of \(history.payments) on \(lastTime.rfc3339))"
        switch history.paidPayeeBefore {
        case true?: explanation += ", to \(tx.creditor.account), which it had paid before"
        case false?: explanation += ", to \(tx.creditor.account), which it had not paid among the last \(remembered) it paid"
        case nil: break
        }
        explanation += ": idle ≥ \(Self.days(dormant.idle.microseconds))\(dormant.qualifiers)"
        let finding = Alert.Finding(kind: .anomaly, id: dormant.id, version: dormant.version, score: dormant.score, explanation: explanation)
        return RuleMatch(finding: finding, subject: Alert.Subject(field: "debtor.account", value: tx.debtor.account), ts: tx.ts,
                         contributions: [Contribution(origin: origin, eventID: tx.id, ts: tx.ts)])
    }

    /// The baseline's time of a payment (seconds) as event time's microseconds.
    private static func microseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e6).rounded()) }

    /// A span of event time in days, to a tenth, rounded down: `212.4 days`.
    static func days(_ microseconds: Int64) -> String {
        let tenths = microseconds / 8_640_000_000
        return tenths == 10 ? "1 day" : tenths % 10 == 0 ? "\(tenths / 10) days" : "\(tenths / 10).\(tenths % 10) days"
    }

    private func finding(_ tx: Transaction, origin: EventOrigin, score: Double, scores: InlineArray<3, Double>,
                         baselineFeatures features: [EntityBaseline.Feature]) -> RuleMatch {
        let parts = detectors.enumerated().map { i, detector in
            let detail: String
            switch detector {
            case .baseline:
                detail = features.isEmpty ? "no baseline yet" : features.map { "\($0.name) \(Self.round($0.value))" }.joined(separator: ", ")
            case .edge: detail = "payments \(tx.debtor.account) → \(tx.creditor.account) in this \(DurationText.format(definition.tick)) against earlier ones"
            case .hst: detail = definition.treeFeatures.map(\.rawValue).joined(separator: ", ")
            }
            return "\(detector.rawValue) \(Self.round(scores[i])) × \(weights[i]) (\(detail))"
        }
        let explanation = "anomaly score \(Self.round(score)) ≥ \(definition.threshold) for debtor \(tx.debtor.account): " + parts.joined(separator: "; ")
        let finding = Alert.Finding(kind: .anomaly, id: definition.id, version: definition.version, score: Self.round(score), explanation: explanation)
        return RuleMatch(finding: finding, subject: Alert.Subject(field: "debtor.account", value: tx.debtor.account), ts: tx.ts,
                         contributions: [Contribution(origin: origin, eventID: tx.id, ts: tx.ts)])
    }

    private static func round(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

    /// What the state was learnt under: a snapshot taken under another section (or bound on
    /// accounts) is not loaded into this one. Spelt out field by field in a fixed order (the
    /// weights sorted), so it is the same text in every process.
    static func fingerprint(_ d: AnomalyDefinition, maxAccounts: Int) -> String {
        let t = d.trees
        return "anomaly id=\(d.id) v=\(d.version) threshold=\(d.threshold) weights="
            + d.weights.sorted { $0.key < $1.key }.map { "\($0.key.rawValue):\($0.value)" }.joined(separator: ",")
            + " tick=\(DurationText.format(d.tick)) trees=\(t.trees)/\(t.height)/\(t.window)/\(t.seed) features="
            + d.treeFeatures.map(\.rawValue).joined(separator: ",") + " max-accounts=\(maxAccounts)"
    }

    /// Writes what every detector has learnt (``StateWriter``).
    func write(to w: inout StateWriter) {
        baseline.write(to: &w)
        edges.write(to: &w)
        scaler.write(to: &w)
        trees.write(to: &w)
    }

    /// Reads what ``write(to:)`` wrote under the same ``fingerprint``.
    func read(from r: inout StateReader) throws(StateError) {
        try baseline.read(from: &r)
        try edges.read(from: &r)
        try scaler.read(from: &r)
        try trees.read(from: &r)
    }
}
