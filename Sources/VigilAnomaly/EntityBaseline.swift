import CPrefetch
import Foundation
import VigilCore

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
/// Deterministic: state changes only by `learn`, and nothing computed depends on the seed of
/// the accounts' hash table.
public struct EntityBaseline: Sendable {
    public struct Options: Sendable, Hashable {
        /// Weight of the newest payment in an account's moving mean and variance.
        public var alpha = 0.1
        public var minimumHistory = 3
        /// Counterparties an account remembers (its most recent, at most 16).
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
        /// The account's history before the payment, for checks of a payment against it that
        /// are not features of the score (a pipeline's dormant accounts).
        public var history = History()
    }

    /// What an account had learnt before a payment.
    public struct History: Sendable, Hashable, Codable {
        /// Its payments (0: the account is new, or was forgotten).
        public var payments = 0
        /// When it last paid, in seconds of event time (nil: new, or its payments had no time).
        public var lastPayment: Double?
        /// Whether the payee is among those it paid most recently (nil: a new account, or a
        /// payment that names no payee).
        public var paidPayeeBefore: Bool?
        public init(payments: Int = 0, lastPayment: Double? = nil, paidPayeeBefore: Bool? = nil) {
            self.payments = payments
            self.lastPayment = lastPayment
            self.paidPayeeBefore = paidPayeeBefore
        }
    }

    public struct Feature: Sendable, Hashable, Codable {
        public var name: String
        public var value: Double
    }

    struct Account: Sendable {
        var entity = ""
        var count = 0
        var mean = 0.0
        var variance = 0.0
        var counterparties = Counterparties()
        /// The last payment's time, and the moving mean and variance of the log gaps between payments.
        var last: Double?
        var gaps = 0
        var gapMean = 0.0
        var gapVariance = 0.0
        /// When it last paid, as a count of payments learnt (the order of the input, so a
        /// replay forgets the same accounts).
        var seen = 0
    }

    /// The counterparties an account paid most recently, as 64-bit FNV-1a hashes of their texts,
    /// in line in the account: a payment reads no memory beside the account's own. A list of
    /// strings was one more allocation per account and one more place to fetch from per
    /// payment; a list of hashes still measured 0.83–0.90 of this. In line, every account takes
    /// what one with sixteen counterparties took (about 610 bytes; one with a single
    /// counterparty took 310). Two texts with one hash would count as one counterparty: a
    /// chance of about one in 10^18 per pair.
    struct Counterparties: Sendable {
        static let most = 16
        private var hashes = InlineArray<16, UInt64>(repeating: 0)
        private var count = 0
        /// Where the next one goes once full: the oldest.
        private var next = 0

        func contains(_ h: UInt64) -> Bool {
            for i in 0..<count where hashes[i] == h { return true }
            return false
        }

        /// Remembers `h`, forgetting the oldest when `limit` (at most 16) are remembered.
        mutating func add(_ h: UInt64, limit: Int) {
            let limit = min(Self.most, max(1, limit))
            if count < limit {
                hashes[count] = h
                count += 1
            } else {
                hashes[next] = h
                next = (next + 1) % limit
            }
        }
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
    /// The accounts in the order they first paid (or were read back), found through `index`.
    /// What a payment costs here is mostly waiting for its account (a few hundred bytes, one of
    /// many thousands) to come from memory; with the table, where it lies is known before it is
    /// read, so ``prefetch(_:)`` can ask for it while the payment before is scored.
    private var accounts: [Account] = []
    private var index = ProbeTable<HashedID>()
    private let seed = UInt64.random(in: .min ... .max)
    private var population = Robust()
    private var peers: [String: Robust] = [:]
    /// Payments learnt, and accounts forgotten to stay within ``Options/maximumAccounts``.
    private var learnt = 0
    public private(set) var forgottenAccounts = 0

    public init(options: Options = Options()) { self.options = options }

    private static func squash(_ z: Double) -> Double { z <= 0 ? 0 : z / (1 + z) }

    /// The score and the features it is the mean of, most unusual first.
    public func score(_ e: Event) -> Score {
        let x = log1p(max(0, e.amount)), payee = Self.payee(e)
        let slot = index.slots[find(e.entity).slot]
        return Self.score(e, x: x, payee: payee, account: slot.isVacant ? Account() : accounts[Int(slot.id)],
                          peerZ: e.peer.flatMap { peers[$0]?.z(x) }, population: population, options: options, explain: { _ in true })
    }

    /// Asks for the entity's account to be fetched from memory, so that it is there when its
    /// payment is scored (the caller scores the payment before it meanwhile). Changes nothing,
    /// but is `mutating` so that a caller holding the baseline in a class's property (the
    /// pipeline's `AnomalyRunner`) calls it in place: a plain call copies the baseline out of the
    /// property first, a retain and a release of each of its buffers for every payment.
    public mutating func prefetch(_ entity: String) {
        // The first slot with the entity's hash, without reading its account to check the
        // entity (that read would wait for the very memory this asks for): another entity with
        // the same hash costs a fetch for nothing.
        let hash = ProbeHash.text(entity, seed: seed)
        let slot = index.slots[index.find(home: Int(hash)) { $0.hash == hash }]
        guard !slot.isVacant else { return }
        accounts.withUnsafeBufferPointer { accounts in
            let start = UnsafeRawPointer(accounts.baseAddress! + Int(slot.id))
            for line in stride(from: 0, to: MemoryLayout<Account>.stride, by: 64) { vigil_prefetch(start + line) }
        }
    }

    /// The slot of `index` that holds the entity's account, or the vacant one where it would go.
    private func find(_ entity: String) -> (slot: Int, hash: UInt32) {
        let hash = ProbeHash.text(entity, seed: seed)
        return (index.find(home: Int(hash)) { $0.hash == hash && accounts[Int($0.id)].entity == entity }, hash)
    }

    /// The entity's account, added (empty) if it has none.
    private mutating func account(_ entity: String) -> Int {
        let (slot, hash) = find(entity)
        if !index.slots[slot].isVacant { return Int(index.slots[slot].id) }
        accounts.append(Account(entity: entity))
        index.store(HashedID(hash: hash, id: Int32(accounts.count - 1)), at: slot)
        return accounts.count - 1
    }

    /// Rebuilds `index` for `accounts` as they now are.
    private mutating func reindex() {
        index = ProbeTable(holding: accounts.count)
        for (i, a) in accounts.enumerated() { index.insert(HashedID(hash: ProbeHash.text(a.entity, seed: seed), id: Int32(i))) }
    }

    /// Learns from a payment without asking for its score (the evaluation scores and learns in
    /// two calls): the same step as ``scoreAndLearn(_:explain:)``, whose score it drops.
    public mutating func learn(_ e: Event) { _ = scoreAndLearn(e) { _ in false } }

    /// Scores the payment as ``score(_:)`` does, then learns from it, finding its account and
    /// its peer group once. `explain` is asked with the score before anything is learnt; the
    /// features are listed only when it says yes (a pipeline words them for the few payments
    /// that raise a finding).
    public mutating func scoreAndLearn(_ e: Event, explain: (Double) -> Bool) -> Score {
        let x = log1p(max(0, e.amount)), payee = Self.payee(e)
        learnt += 1
        let known = accounts.count
        // Everything is measured against the state before this payment.
        let peerZ = e.peer.flatMap { p in Self.zThenAdd(&peers[p, default: Robust()], x) }
        // Updated in place (one lookup, and the counterparties are not copied to append one). A
        // new account is an empty one, which measures as no history.
        let at = account(e.entity)
        let result = Self.scoreAndLearn(&accounts[at], e, x: x, payee: payee, peerZ: peerZ, population: population,
                                        options: options, seen: learnt, explain: explain)
        population.add(x)
        if accounts.count > known, accounts.count > options.maximumAccounts { forgetLeastRecent() }
        return result
    }

    /// The counterparty as the accounts remember it (``Counterparties``), hashed once a payment.
    private static func payee(_ e: Event) -> UInt64? { e.counterparty.map { FNV1a.hash($0.utf8) } }

    private static func zThenAdd(_ r: inout Robust, _ x: Double) -> Double? {
        defer { r.add(x) }
        return r.z(x)
    }

    private static func scoreAndLearn(_ a: inout Account, _ e: Event, x: Double, payee: UInt64?, peerZ: Double?, population: borrowing Robust,
                                      options: Options, seen: Int, explain: (Double) -> Bool) -> Score {
        let result = score(e, x: x, payee: payee, account: a, peerZ: peerZ, population: population, options: options, explain: explain)
        learn(&a, e, x: x, payee: payee, seen: seen, alpha: options.alpha, remembered: options.rememberedCounterparties)
        return result
    }

    /// The mean of the features, listed (most unusual first) only if `explain` says yes to it,
    /// and the account's history before the payment.
    private static func score(_ e: Event, x: Double, payee: UInt64?, account: borrowing Account, peerZ: Double?, population: borrowing Robust,
                              options: Options, explain: (Double) -> Bool) -> Score {
        var sum = 0.0, count = 0
        measure(e, x: x, payee: payee, account: account, peerZ: peerZ, population: population, options: options) { _, value in
            sum += value
            count += 1
        }
        let score = count == 0 ? 0 : sum / Double(count)
        let history = account.count == 0 ? History()
            : History(payments: account.count, lastPayment: account.last, paidPayeeBefore: payee.map { account.counterparties.contains($0) })
        guard count > 0, explain(score) else { return Score(score: score, features: [], history: history) }
        var features: [Feature] = []
        measure(e, x: x, payee: payee, account: account, peerZ: peerZ, population: population, options: options) { features.append(Feature(name: $0, value: $1)) }
        return Score(score: score, features: features.sorted { ($0.value, $1.name) > ($1.value, $0.name) }, history: history)
    }

    /// Measures each feature the event has evidence for, in a fixed order (the score sums them
    /// in it), from the state before the payment: its account's (empty when new), the `z` of its
    /// amount in its peer group, and everyone's.
    private static func measure(_ e: Event, x: Double, payee: UInt64?, account a: borrowing Account, peerZ: Double?, population: borrowing Robust,
                                options: Options, _ feature: (String, Double) -> Void) {
        if let balance = e.balanceBefore, balance > 0 {
            feature("share-of-balance", min(1, e.amount / balance))
        }
        if a.count >= options.minimumHistory {
            // A few payments say little about an account's spread: its variance is shrunk
            // towards everyone's, the less the more payments it has.
            let everyone = population.variance
            let sd = (a.variance + everyone / Double(a.count)).squareRoot()
            feature("amount-vs-history", sd > 0 ? squash((x - a.mean) / sd) : (x > a.mean ? 1 : 0))
            if let payee {
                feature("new-counterparty", a.counterparties.contains(payee) ? 0 : 1)
            }
        } else if let z = population.z(x) {
            feature("amount-vs-history", squash(z))
        }
        if a.gaps >= options.minimumHistory, let t = e.time, let last = a.last {
            // Sooner than usual after the previous payment: the gap's log below its moving mean.
            let sd = (a.gapVariance + 1 / Double(a.gaps)).squareRoot()
            feature("frequency-vs-history", squash((a.gapMean - log1p(max(0, t - last))) / sd))
        }
        if let z = peerZ {
            feature("amount-vs-peers", squash(abs(z)))
        }
    }

    /// Forgets the accounts that paid least recently, down to nine tenths of the bound (the
    /// newest stays): a pass over them all once per tenth of the bound in new accounts, rather
    /// than a list kept in order at every payment.
    private mutating func forgetLeastRecent() {
        let keep = max(1, options.maximumAccounts - max(1, options.maximumAccounts / 10))
        let seen = accounts.map(\.seen).sorted()
        let cutoff = seen[seen.count - keep - 1]  // `seen` values are distinct
        let before = accounts.count
        accounts.removeAll { $0.seen <= cutoff }
        forgottenAccounts += before - accounts.count
        reindex()
    }

    private static func learn(_ a: inout Account, _ e: Event, x: Double, payee: UInt64?, seen: Int, alpha: Double, remembered: Int) {
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
        if let payee, !a.counterparties.contains(payee) {
            a.counterparties.add(payee, limit: remembered)
        }
    }

    /// Accounts with a baseline.
    public var accountCount: Int { accounts.count }
}

extension EntityBaseline {
    /// Writes everything learnt (``StateWriter``): every account's history, the population's
    /// and each peer group's robust statistics, and the counters that order forgetting. The
    /// options are the configuration's, not state.
    public func write(to w: inout StateWriter) {
        w.write(learnt)
        w.write(forgottenAccounts)
        population.write(to: &w)
        w.write(peers.count)
        // By name: a dictionary's order differs from one instance to the next, and the same
        // state should write the same bytes (accounts go in the order they first paid).
        for (name, robust) in peers.sorted(by: { $0.key < $1.key }) {
            w.write(name)
            robust.write(to: &w)
        }
        w.write(accounts.count)
        for a in accounts {
            w.write(a.entity)
            a.write(to: &w)
        }
    }

    /// Reads what ``write(to:)`` wrote, replacing what this baseline has learnt.
    public mutating func read(from r: inout StateReader) throws(StateError) {
        learnt = try r.int()
        forgottenAccounts = try r.int()
        population = try Robust(from: &r)
        let peerCount = try r.count(ofAtLeast: 33)
        var peers: [String: Robust] = Dictionary(minimumCapacity: peerCount)
        for _ in 0..<peerCount { peers[try r.string()] = try Robust(from: &r) }
        // An account takes at least its fixed fields and sixteen counterparty slots.
        let accountCount = try r.count(ofAtLeast: 8 * 26)
        var accounts: [Account] = []
        accounts.reserveCapacity(accountCount)
        var entities = Set<String>(minimumCapacity: accountCount)
        for _ in 0..<accountCount {
            var a = Account(entity: try r.string())
            guard entities.insert(a.entity).inserted else { throw StateError("account \(a.entity) is written twice") }
            try a.read(from: &r)
            accounts.append(a)
        }
        self.peers = peers
        self.accounts = accounts
        reindex()
    }
}

extension EntityBaseline.Account {
    func write(to w: inout StateWriter) {
        w.write(count)
        w.write(mean)
        w.write(variance)
        counterparties.write(to: &w)
        w.write(last)
        w.write(gaps)
        w.write(gapMean)
        w.write(gapVariance)
        w.write(seen)
    }

    /// Reads what ``write(to:)`` wrote (all but the entity, which the baseline writes before it).
    mutating func read(from r: inout StateReader) throws(StateError) {
        count = try r.int()
        mean = try r.double()
        variance = try r.double()
        counterparties = try EntityBaseline.Counterparties(from: &r)
        last = try r.optionalDouble()
        gaps = try r.int()
        gapMean = try r.double()
        gapVariance = try r.double()
        seen = try r.int()
    }
}

extension EntityBaseline.Counterparties {
    func write(to w: inout StateWriter) {
        for i in 0..<Self.most { w.write(hashes[i]) }
        w.write(count)
        w.write(next)
    }

    init(from r: inout StateReader) throws(StateError) {
        self.init()
        for i in 0..<Self.most { hashes[i] = try r.uint64() }
        count = try r.int()
        next = try r.int()
        guard (0...Self.most).contains(count), (0..<Self.most).contains(next) else {
            throw StateError("counterparties: count \(count), next \(next) out of range")
        }
    }
}

extension EntityBaseline.Robust {
    func write(to w: inout StateWriter) {
        w.write(warm)
        w.write(median)
        w.write(mad)
        w.write(count)
    }

    init(from r: inout StateReader) throws(StateError) {
        self.init()
        warm = try r.doubles()
        median = try r.double()
        mad = try r.double()
        count = try r.int()
    }
}
