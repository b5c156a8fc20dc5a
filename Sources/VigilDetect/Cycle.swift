import Foundation
import VigilCore

/// The state of one cycle rule: the recent transfers as a graph of accounts, searched for a
/// path back whenever a transfer arrives (funds A → B → … → A).
///
/// A cycle is a path of transfers forward in event time — each leg no earlier than the one
/// before — all within the rule's span, of 2 to `maxLength` legs, each amount within the
/// tolerance of the closing transfer's. The search is depth-first and bounded (at most
/// `maxVisits` legs looked at per transfer), so a dense graph cannot stall the worker. A cycle
/// that fired uses up its legs.
///
/// Every leg of a cycle must reach the same detector: with several workers, the input must be
/// on one partition (or keyed so that a cycle's accounts share one), which the rule cannot see.
struct CycleTracker {
    private(set) var rule: CompiledRules.Rule
    let within: Duration
    let maxLength: Int
    let tolerance: Decimal?
    let maxEdgesPerAccount: Int
    /// Legs looked at per arriving transfer, at most: keeps the cost per event bounded where
    /// accounts have hundreds of payees (payroll, rent), at the price of missing cycles hidden
    /// behind them.
    static let maxVisits = 2_000

    struct Edge {
        var to: String
        var amount: Decimal
        var contribution: Contribution
        var ts: EventTime { contribution.ts }
    }

    /// Debtor → its outgoing transfers, in arrival order.
    private var out: [String: [Edge]] = [:]
    private(set) var held = 0

    init(rule: CompiledRules.Rule, maxEdgesPerAccount: Int) {
        self.rule = rule
        self.within = rule.within!
        self.maxLength = rule.cycleLength
        self.tolerance = rule.cycleTolerance
        self.maxEdgesPerAccount = maxEdgesPerAccount
    }

    /// The same state under an equal rule compiled anew (hot reload).
    func rebound(to rule: CompiledRules.Rule) -> CycleTracker {
        // The state carries over; the settings taken from the rule (its span, …) are the same,
        // its definition being equal.
        var copy = self
        copy.rule = rule
        return copy
    }

    mutating func process(_ tx: Transaction, _ c: Contribution, redelivered: Bool) -> RuleMatch? {
        let from = tx.debtor.account, to = tx.creditor.account
        guard from != to else { return nil }
        if redelivered, out[from]?.contains(where: { $0.contribution.isSameEvent(as: c) }) == true { return nil }
        let closing = Edge(to: to, amount: tx.amount, contribution: c)
        if let path = search(from: to, back: from, closing: closing) {
            // Use up the legs that fired.
            for leg in path { remove(leg) }
            return match(path + [(from, closing)])
        }
        // Appended in place, with one lookup: copying the list out and back would copy it on
        // every transfer.
        held += Self.append(closing, to: &out[from, default: []], max: maxEdgesPerAccount)
        return nil
    }

    /// Appends an edge, dropping the oldest beyond `max`; how many edges the list gained.
    private static func append(_ edge: Edge, to list: inout [Edge], max: Int) -> Int {
        list.append(edge)
        guard list.count > max else { return 1 }
        list.removeFirst()
        return 0
    }

    /// A path start → … → target of legs forward in time, ending no later than the closing leg
    /// and starting within the span before it.
    private func search(from start: String, back target: String, closing: Edge) -> [(String, Edge)]? {
        // Most payees pay nobody on: no path, and no need to set up the search.
        guard let first = out[start] else { return nil }
        let earliest = closing.ts - within
        var visits = 0
        var path: [(String, Edge)] = []
        var onPath: Set<String> = [start]
        func ok(_ e: Edge, after: EventTime) -> Bool {
            guard e.ts >= after, e.ts <= closing.ts else { return false }
            guard let tolerance else { return true }
            return abs(e.amount - closing.amount) <= closing.amount * tolerance
        }
        // The depth is checked before going one leg further (the first call is at depth 0, and a
        // cycle has at least two legs), so a node too deep is never looked up.
        func dfs(_ node: String, _ edges: [Edge], after: EventTime) -> Bool {
            for e in edges {
                visits += 1
                if visits > Self.maxVisits { return false }
                guard ok(e, after: after) else { continue }
                if e.to == target {
                    path.append((node, e))
                    return true
                }
                guard !onPath.contains(e.to) else { continue }
                path.append((node, e))
                onPath.insert(e.to)
                if path.count < maxLength - 1, let next = out[e.to], dfs(e.to, next, after: e.ts) { return true }
                onPath.remove(e.to)
                path.removeLast()
            }
            return false
        }
        return dfs(start, first, after: earliest) ? path : nil
    }

    private mutating func remove(_ leg: (String, Edge)) {
        guard var list = out[leg.0], let i = list.firstIndex(where: { $0.contribution.isSameEvent(as: leg.1.contribution) }) else { return }
        list.remove(at: i)
        held -= 1
        out[leg.0] = list.isEmpty ? nil : list
    }

    /// Drops legs older than the span before their partition's event time: no cycle closing
    /// from now on can use them.
    mutating func sweep(_ watermarks: Detector.Watermarks) {
        let within = self.within
        held -= Detector.removeAll(from: &out) { watermarks.isStale($0.ts, span: within, origin: $0.contribution.origin) }
    }

    private func match(_ legs: [(String, Edge)]) -> RuleMatch {
        let d = rule.definition
        let accounts = legs.map(\.0) + [legs[0].0]
        let amounts = legs.map { DecimalText.format($0.1.amount) }.joined(separator: ", ")
        let explanation = "cycle of \(legs.count) transfers \(accounts.joined(separator: " → ")) within \(DurationText.format(within)) "
            + "(amounts \(amounts)" + (tolerance.map { ", each within \(DecimalText.format($0 * 100))% of the last" } ?? "") + ")"
        let finding = Alert.Finding(kind: .rule, id: d.id, version: d.version, score: d.score, explanation: explanation)
        let closing = legs[legs.count - 1].1
        return RuleMatch(finding: finding, subject: Alert.Subject(field: "creditor.account", value: closing.to), ts: closing.ts,
                         contributions: legs.map(\.1.contribution))
    }
}
