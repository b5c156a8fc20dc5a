import Foundation

/// Per-entity baselines: how unusual a payment is for the account that makes it, for its peer
/// group, and for the share of the account's balance it moves. Score first, then learn.
///
/// Features, each in [0, 1] (1 = most unusual), and the score is their mean:
/// - `share-of-balance`: the amount over the balance before it, capped at 1 (when the balance is
///   known and positive);
/// - `amount-vs-history`: how far the amount's logarithm lies above the account's exponentially
///   weighted mean, in its own standard deviations (z / (1 + z), only upwards; the account's
///   variance is shrunk towards everyone's by everyone's variance over its number of payments, so
///   three similar payments do not make the fourth look extreme). An account with fewer than
///   `minimumHistory` payments is measured against all accounts instead (robustly, as peers);
/// - `amount-vs-peers`: a robust standard score against the peer group (a payment type or
///   channel), both ways: the distance from the group's median in median absolute deviations;
/// - `new-counterparty`: 1 when an account with history pays someone it has not paid among its
///   last `rememberedCounterparties` (no evidence either way without history);
/// - `frequency-vs-history`: how much sooner than usual the payment follows the account's
///   previous one (the log gap against its moving mean and spread, only shorter counts), when
///   events carry their time.
///
/// Deterministic: no randomness, and state changes only by `learn`.
public struct EntityBaseline: Sendable {
    public struct Options: Sendable, Hashable {
        /// Weight of the newest payment in an account's moving mean and variance.
        public var alpha = 0.1
        public var minimumHistory = 3
        public var rememberedCounterparties = 16
        /// Accounts with a baseline, at most: past this, those that paid least recently are
        /// forgotten, down to nine tenths of it (they learn again from their next payment, as
        /// new accounts).
        public var maximumAccounts = 1_000_000
        public init() {}
    }

    public struct Event: Sendable {
        public var entity: String
        public var amount: Double
        public var balanceBefore: Double?
        public var peer: String?
        public var counterparty: String?
        /// When it happened, in seconds (event time), for the account's payment frequency.
        public var time: Double?
        public init(entity: String, amount: Double, balanceBefore: Double? = nil, peer: String? = nil, counterparty: String? = nil,
                    time: Double? = nil) {
            self.entity = entity
            self.amount = amount
            self.balanceBefore = balanceBefore
            self.peer = peer
            self.counterparty = counterparty
            self.time = time
        }
    }

    public struct Score: Sendable, Hashable, Codable {
        public var score: Double
        /// The features that were measured, most unusual first.
        public var features: [Feature]
    }

    public struct Feature: Sendable, Hashable, Codable {
        public var name: String
        public var value: Double
    }

    struct Account: Sendable {
        var count = 0
        var mean = 0.0
        var variance = 0.0
        var counterparties: [String] = []
        /// The last payment's time, and the moving mean and variance of the log gaps between payments.
        var last: Double?
        var gaps = 0
        var gapMean = 0.0
        var gapVariance = 0.0
        /// When it last paid, as a count of payments learnt (the order of the input, so a
        /// replay forgets the same accounts).
        var seen = 0
    }

    /// Exponentially weighted mean and variance (West 1979's incremental form).
    static func update(mean: inout Double, variance: inout Double, with x: Double, first: Bool, alpha: Double) {
        guard !first else {
            mean = x
            return
        }
        let d = x - mean
        mean += alpha * d
        variance = (1 - alpha) * (variance + alpha * d * d)
    }

    /// A robust location and scale for the population and each peer group: the median and the
    /// median absolute deviation, exact over the first values, then followed by stochastic
    /// approximation (each value moves the estimate one small step towards it, the step scaled by
    /// the spread), in constant memory. A few huge payments barely move either.
    struct Robust: Sendable {
        static let warmUp = 32
        static let rate = 0.02
        var warm: [Double] = []
        var median = 0.0
        var mad = 0.0
        var count = 0

        mutating func add(_ x: Double) {
            count += 1
            if count <= Self.warmUp {
                warm.append(x)
                let sorted = warm.sorted()
                median = Self.middle(sorted)
                mad = Self.middle(sorted.map { abs($0 - median) }.sorted())
                if count == Self.warmUp { warm = [] }  // from here on, constant memory
                return
            }
            let step = Self.rate * max(mad, 1e-6)
            if x > median { median += step } else if x < median { median -= step }
            let deviation = abs(x - median)
            if deviation > mad { mad += step } else if deviation < mad { mad = max(0, mad - step) }
        }

        static func middle(_ sorted: [Double]) -> Double {
            let n = sorted.count
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        }

        /// (x − median) / (1.4826 · MAD): a standard score for normal data, robust for the rest.
        func z(_ x: Double) -> Double? {
            guard count >= 2, mad > 0 else { return nil }
            return (x - median) / (1.4826 * mad)
        }

        /// The spread as a variance (1.4826 · MAD)².
        var variance: Double { (1.4826 * mad) * (1.4826 * mad) }
    }

    public let options: Options
    private var accounts: [String: Account] = [:]
    private var population = Robust()
    private var peers: [String: Robust] = [:]
    /// Payments learnt, and accounts forgotten to stay within ``Options/maximumAccounts``.
    private var learnt = 0
    public private(set) var forgottenAccounts = 0

    public init(options: Options = Options()) { self.options = options }

    private static func squash(_ z: Double) -> Double { z <= 0 ? 0 : z / (1 + z) }

    /// The score and the features it is the mean of, most unusual first.
    public func score(_ e: Event) -> Score {
        var features: [Feature] = []
        measure(e) { features.append(Feature(name: $0, value: $1)) }
        guard !features.isEmpty else { return Score(score: 0, features: []) }
        let score = features.reduce(0) { $0 + $1.value } / Double(features.count)
        return Score(score: score, features: features.sorted { ($0.value, $1.name) > ($1.value, $0.name) })
    }

    /// The score alone, the same as ``score(_:)``'s: a pipeline scores every payment and words
    /// the features only for the few that raise a finding.
    public func scoreValue(_ e: Event) -> Double {
        var sum = 0.0, count = 0
        measure(e) { _, value in
            sum += value
            count += 1
        }
        return count == 0 ? 0 : sum / Double(count)
    }

    /// Measures each feature the event has evidence for, in a fixed order.
    private func measure(_ e: Event, _ feature: (String, Double) -> Void) {
        let x = log1p(max(0, e.amount))
        if let balance = e.balanceBefore, balance > 0 {
            feature("share-of-balance", min(1, e.amount / balance))
        }
        // Read in place: a copy of the account would retain its counterparties.
        accounts.withAccount(e.entity) { account in
            if let a = account, a.count >= options.minimumHistory {
                // A few payments say little about an account's spread: its variance is shrunk
                // towards everyone's, the less the more payments it has.
                let everyone = population.variance
                let sd = (a.variance + everyone / Double(a.count)).squareRoot()
                feature("amount-vs-history", sd > 0 ? Self.squash((x - a.mean) / sd) : (x > a.mean ? 1 : 0))
                if let c = e.counterparty {
                    feature("new-counterparty", a.counterparties.contains(c) ? 0 : 1)
                }
            } else if let z = population.z(x) {
                feature("amount-vs-history", Self.squash(z))
            }
            if let a = account, a.gaps >= options.minimumHistory, let t = e.time, let last = a.last {
                // Sooner than usual after the previous payment: the gap's log below its moving mean.
                let sd = (a.gapVariance + 1 / Double(a.gaps)).squareRoot()
                feature("frequency-vs-history", Self.squash((a.gapMean - log1p(max(0, t - last))) / sd))
            }
        }
        if let p = e.peer, let z = peers[p]?.z(x) {
            feature("amount-vs-peers", Self.squash(abs(z)))
        }
    }

    public mutating func learn(_ e: Event) {
        let x = log1p(max(0, e.amount))
        population.add(x)
        if let p = e.peer { peers[p, default: Robust()].add(x) }
        learnt += 1
        let known = accounts.count
        // Updated in place (one lookup, and the counterparties are not copied to append one).
        Self.learn(&accounts[e.entity, default: Account()], e, x: x, seen: learnt, alpha: options.alpha,
                   remembered: options.rememberedCounterparties)
        if accounts.count > known, accounts.count > options.maximumAccounts { forgetLeastRecent() }
    }

    /// Forgets the accounts that paid least recently, down to nine tenths of the bound (the
    /// newest stays): a pass over them all once per tenth of the bound in new accounts, rather
    /// than a list kept in order at every payment.
    private mutating func forgetLeastRecent() {
        let keep = max(1, options.maximumAccounts - max(1, options.maximumAccounts / 10))
        let seen = accounts.values.map(\.seen).sorted()
        let cutoff = seen[seen.count - keep - 1]  // `seen` values are distinct
        let before = accounts.count
        accounts = accounts.filter { $0.value.seen > cutoff }
        forgottenAccounts += before - accounts.count
    }

    private static func learn(_ a: inout Account, _ e: Event, x: Double, seen: Int, alpha: Double, remembered: Int) {
        a.seen = seen
        update(mean: &a.mean, variance: &a.variance, with: x, first: a.count == 0, alpha: alpha)
        a.count += 1
        if let t = e.time {
            if let last = a.last {
                update(mean: &a.gapMean, variance: &a.gapVariance, with: log1p(max(0, t - last)), first: a.gaps == 0, alpha: alpha)
                a.gaps += 1
            }
            a.last = max(a.last ?? t, t)
        }
        if let c = e.counterparty, !a.counterparties.contains(c) {
            a.counterparties.append(c)
            if a.counterparties.count > remembered { a.counterparties.removeFirst() }
        }
    }

    /// Accounts with a baseline.
    public var accountCount: Int { accounts.count }
}

private extension Dictionary where Key == String, Value == EntityBaseline.Account {
    /// The account under `key`, borrowed for `body`.
    func withAccount(_ key: String, _ body: (borrowing EntityBaseline.Account?) -> Void) {
        if let i = index(forKey: key) { body(values[i]) } else { body(nil) }
    }
}
