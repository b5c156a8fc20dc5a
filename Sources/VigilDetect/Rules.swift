import Foundation
import VigilCore

/// A rule as declared in a pipeline file, before compilation.
public struct RuleDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Fires on a single event that satisfies `where`.
        case predicate
        /// Fires when the events satisfying `where` for one `key` within `within` of event time
        /// satisfy `having`, over the aggregates of ``WindowView``.
        case window
        /// Fires when events matching `steps` happen in that order for the same entity within
        /// `within` of the first; a last step marked `not` must *not* happen in that time.
        case sequence
        /// Fires when a transfer closes a cycle of funds (A → B → … → A), forward in event time,
        /// within `within`, of at most `maxLength` legs, amounts within `tolerance`.
        case cycle
        /// Fires when a passenger event (API or PNR) links, by the identity keys of `linkBy`, to
        /// a financial party flagged by one of `flaggedBy` within `within` before it. `where`
        /// is a condition on the passenger event.
        case correlation
    }

    /// One step of a sequence rule.
    public struct Step: Sendable, Hashable {
        /// Condition on the event (the `where` key in YAML).
        public var condition: String
        /// The field naming the entity in this step's event (`creditor.account` for a deposit
        /// into it, `debtor.account` for a transfer out of it). Default: the rule's `key`, else
        /// its subject.
        public var key: String?
        /// `not followed by`: this (last) step must not happen within the rule's span.
        public var negated = false

        public init(condition: String, key: String? = nil, negated: Bool = false) {
            self.condition = condition
            self.key = key
            self.negated = negated
        }
    }

    public var id: String
    /// Bumped by the rule's author on every change; part of every alert id it produces.
    public var version: Int
    public var description: String?
    public var kind: Kind
    /// Condition on each event (the `where` key in YAML).
    public var condition: String
    /// Field naming who an alert is about. Default: `debtor.account`.
    public var subject: String = "debtor.account"
    /// Finding score in [0, 1]. Default: 1.
    public var score: Double = 1
    /// Window rules: the field, or fields, that group events (`[debtor.account,
    /// creditor.account]` for one window per pair). Default: the subject.
    public var key: [String]?
    /// Window rules: the field whose distinct values `distinct` counts (`creditor.account` for
    /// fan-out, `debtor.account` for fan-in).
    public var distinct: String?
    /// Window rules: the event-time span.
    public var within: Duration?
    /// Window rules: condition on the window's aggregates.
    public var having: String?
    /// Sequence rules: the steps, in order.
    public var steps: [Step]?
    /// Cycle rules: the most legs a cycle may have (2–10). Default: 6.
    public var maxLength: Int?
    /// Cycle rules: how far each leg's amount may be from the closing one's, as a fraction
    /// (0.2 = ±20 %). Default: any amount.
    public var tolerance: Decimal?
    /// Window, sequence and cycle rules: how far behind its partition's newest event time an
    /// event may arrive and still count. Later ones are left out (and counted); predicates
    /// still see them. Default: no limit.
    public var grace: Duration?
    /// Correlation rules: the rules whose findings flag a party (by id).
    public var flaggedBy: [String]?
    /// Correlation rules: which identity keys link a traveller to a flagged party. Default: all.
    public var linkBy: [IdentityLink]?

    public init(id: String, version: Int, kind: Kind, condition: String) {
        self.id = id
        self.version = version
        self.kind = kind
        self.condition = condition
    }
}

/// A rule that cannot be compiled: which rule, which of its keys, and what is wrong.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var ruleID: String
    /// The rule's key the problem is in: `where`, `having`, `key`, `distinct`, `steps`, `subject`, `within`, `score`.
    public var key: String
    public var message: String
    /// 1-based column inside the key's text, when the problem is inside an expression.
    public var column: Int?
    public var hint: String?

    public var description: String {
        var s = "rule '\(ruleID)', \(key)"
        if let column { s += " column \(column)" }
        s += ": \(message)"
        if let hint { s += " (hint: \(hint))" }
        return s
    }
}

/// Bounds on window state, so memory stays flat whatever the input.
public struct WindowLimits: Sendable, Hashable {
    /// Most events kept per key and rule; the oldest are dropped beyond it. Default: 10,000.
    public var maxEventsPerKey: Int = 10_000
    /// Most keys kept per rule (per worker); the stalest are dropped beyond it. Default: 1,000,000.
    public var maxKeys: Int = 1_000_000

    public init(maxEventsPerKey: Int = 10_000, maxKeys: Int = 1_000_000) {
        self.maxEventsPerKey = maxEventsPerKey
        self.maxKeys = maxKeys
    }
}

/// An event that contributed to a match.
public struct Contribution: Sendable, Hashable {
    public var origin: EventOrigin
    public var eventID: String
    public var ts: EventTime

    public init(origin: EventOrigin, eventID: String, ts: EventTime) {
        self.origin = origin
        self.eventID = eventID
        self.ts = ts
    }
}

/// A rule that fired: the finding and every event behind it.
public struct RuleMatch: Sendable, Hashable {
    public var finding: Alert.Finding
    public var subject: Alert.Subject
    /// Event time of the event that completed the match.
    public var ts: EventTime
    /// In event-time order.
    public var contributions: [Contribution]
}

/// Rules compiled once; shared read-only by every worker.
public struct CompiledRules: Sendable {
    /// A class, so the detector's loop over rules, run for every event, passes one reference
    /// rather than copying a dozen fields. Filled in while compiling, never changed after:
    /// hence safe to share between workers.
    final class Rule: @unchecked Sendable {
        let definition: RuleDefinition
        let condition: CompiledExpression<TransactionRef>
        let subject: @Sendable (TransactionRef) -> String?
        var key: [@Sendable (TransactionRef) -> String?] = []
        var distinct: (@Sendable (TransactionRef) -> String?)?
        var within: Duration?
        var having: CompiledExpression<WindowView>?
        var steps: [CompiledStep] = []
        var cycleLength = 6
        var cycleTolerance: Decimal?
        var flaggedBy: Set<String> = []
        var links: Set<IdentityLink> = []
        var passengerCondition: CompiledExpression<Passenger>?

        init(definition: RuleDefinition, condition: CompiledExpression<TransactionRef>, subject: @escaping @Sendable (TransactionRef) -> String?) {
            self.definition = definition
            self.condition = condition
            self.subject = subject
        }
    }

    struct CompiledStep: Sendable {
        var condition: CompiledExpression<TransactionRef>
        var key: @Sendable (TransactionRef) -> String?
        var keyName: String
        var negated: Bool
    }
    let rules: [Rule]

    public var definitions: [RuleDefinition] { rules.map(\.definition) }

    /// Compiles every rule, checking expressions, field names and types.
    /// - Throws: ``RuleError`` for the first rule that does not compile.
    /// `lists`: the named lists expressions may test membership of (`x in lists.NAME`).
    public init(_ definitions: [RuleDefinition], lists: [String: Set<String>] = [:]) throws(RuleError) {
        var seen = Set<String>()
        var compiled: [Rule] = []
        for d in definitions {
            guard seen.insert(d.id).inserted else {
                throw RuleError(ruleID: d.id, key: "id", message: "another rule has the same id")
            }
            guard (0...1).contains(d.score) else {
                throw RuleError(ruleID: d.id, key: "score", message: "\(d.score) is outside [0, 1]")
            }
            let schema = Schema<TransactionRef>.transaction
            let condition: CompiledExpression<TransactionRef>
            // A correlation rule's `where` reads passenger events; on transactions it never matches.
            do { condition = try ExpressionCompiler.compile(d.kind == .correlation ? "false" : d.condition, schema: schema, lists: lists) } catch {
                throw RuleError(ruleID: d.id, key: "where", message: error.message, column: error.column, hint: error.hint)
            }
            guard let subject = schema.fields[d.subject], subject.type == .string else {
                throw RuleError(ruleID: d.id, key: "subject", message: "'\(d.subject)' is not a text field of a transaction",
                                hint: "e.g. debtor.account or creditor.account")
            }
            let rule = Rule(definition: d, condition: condition, subject: subject.readText)
            if d.kind != .sequence, d.steps != nil {
                throw RuleError(ruleID: d.id, key: "steps", message: "only sequence rules take 'steps'", hint: "set kind: sequence")
            }
            if d.kind == .predicate, d.grace != nil {
                throw RuleError(ruleID: d.id, key: "grace", message: "a predicate keeps no state, so it takes no grace period")
            }
            if let g = d.grace, g < .zero { throw RuleError(ruleID: d.id, key: "grace", message: "must not be negative") }
            for (name, present) in [("max-length", d.maxLength != nil), ("tolerance", d.tolerance != nil)] where present && d.kind != .cycle {
                throw RuleError(ruleID: d.id, key: name, message: "only cycle rules take '\(name)'", hint: "set kind: cycle")
            }
            for (name, present) in [("flagged-by", d.flaggedBy != nil), ("link-by", d.linkBy != nil)] where present && d.kind != .correlation {
                throw RuleError(ruleID: d.id, key: name, message: "only correlation rules take '\(name)'", hint: "set kind: correlation")
            }
            switch d.kind {
            case .correlation:
                do { rule.passengerCondition = try ExpressionCompiler.compile(d.condition, schema: .passenger, lists: lists) } catch {
                    throw RuleError(ruleID: d.id, key: "where", message: error.message, column: error.column, hint: error.hint)
                }
                guard let sources = d.flaggedBy, !sources.isEmpty else {
                    throw RuleError(ruleID: d.id, key: "flagged-by", message: "name the rules whose findings flag a party", hint: "e.g. flagged-by: [fan-out, structuring]")
                }
                for source in sources {
                    guard let other = definitions.first(where: { $0.id == source }) else {
                        throw RuleError(ruleID: d.id, key: "flagged-by", message: "no rule '\(source)' in this pipeline")
                    }
                    guard other.kind != .correlation else {
                        throw RuleError(ruleID: d.id, key: "flagged-by", message: "'\(source)' is a correlation rule; name rules over transactions")
                    }
                }
                rule.flaggedBy = Set(sources)
                rule.links = Set(d.linkBy ?? IdentityLink.allCases)
                guard !rule.links.isEmpty else { throw RuleError(ruleID: d.id, key: "link-by", message: "name at least one identity key") }
                guard let within = d.within, within > .zero else {
                    throw RuleError(ruleID: d.id, key: "within", message: "a correlation rule needs a positive 'within', e.g. 30d")
                }
                rule.within = within
                for (name, present) in [("key", d.key != nil), ("distinct", d.distinct != nil), ("having", d.having != nil)] where present {
                    throw RuleError(ruleID: d.id, key: name, message: "correlation rules do not take '\(name)'")
                }
            case .cycle:
                guard let within = d.within, within > .zero else {
                    throw RuleError(ruleID: d.id, key: "within", message: "a cycle rule needs a positive 'within', e.g. 7d")
                }
                rule.within = within
                if let n = d.maxLength {
                    guard (2...10).contains(n) else { throw RuleError(ruleID: d.id, key: "max-length", message: "\(n) is not between 2 and 10") }
                    rule.cycleLength = n
                }
                if let t = d.tolerance {
                    guard t >= 0, t <= 1 else { throw RuleError(ruleID: d.id, key: "tolerance", message: "\(DecimalText.format(t)) is not between 0 and 1") }
                    rule.cycleTolerance = t
                }
                for (name, present) in [("key", d.key != nil), ("distinct", d.distinct != nil), ("having", d.having != nil)] where present {
                    throw RuleError(ruleID: d.id, key: name, message: "cycle rules do not take '\(name)': they follow debtor → creditor")
                }
            case .sequence:
                rule.steps = try Self.compileSteps(d, schema: schema, lists: lists)
                guard let within = d.within, within > .zero else {
                    throw RuleError(ruleID: d.id, key: "within", message: "a sequence rule needs a positive 'within', e.g. 48h")
                }
                rule.within = within
                for (name, present) in [("distinct", d.distinct != nil), ("having", d.having != nil)] where present {
                    throw RuleError(ruleID: d.id, key: name, message: "sequence rules do not take '\(name)'")
                }
            case .predicate:
                for (name, present) in [("key", d.key != nil), ("distinct", d.distinct != nil), ("within", d.within != nil),
                                         ("having", d.having != nil)] where present {
                    throw RuleError(ruleID: d.id, key: name, message: "only window rules take '\(name)'", hint: "set kind: window")
                }
            case .window:
                let keyNames = d.key ?? [d.subject]
                guard !keyNames.isEmpty else { throw RuleError(ruleID: d.id, key: "key", message: "name at least one field") }
                for name in keyNames {
                    guard let field = schema.fields[name], field.type == .string else {
                        throw RuleError(ruleID: d.id, key: "key", message: "'\(name)' is not a text field of a transaction")
                    }
                    rule.key.append(field.readText)
                }
                if let name = d.distinct {
                    guard let field = schema.fields[name], field.type == .string else {
                        throw RuleError(ruleID: d.id, key: "distinct", message: "'\(name)' is not a text field of a transaction",
                                        hint: "e.g. creditor.account for fan-out")
                    }
                    rule.distinct = field.readText
                }
                guard let within = d.within, within > .zero else {
                    throw RuleError(ruleID: d.id, key: "within", message: "a window rule needs a positive 'within', e.g. 24h")
                }
                guard let havingText = d.having else {
                    throw RuleError(ruleID: d.id, key: "having", message: "a window rule needs 'having', e.g. 'count >= 3'")
                }
                rule.within = within
                do { rule.having = try ExpressionCompiler.compile(havingText, schema: WindowView.schema) } catch {
                    throw RuleError(ruleID: d.id, key: "having", message: error.message, column: error.column, hint: error.hint)
                }
                if rule.distinct == nil, havingText.contains("distinct") {
                    throw RuleError(ruleID: d.id, key: "having", message: "'distinct' counts the values of the rule's 'distinct' field, and it has none",
                                    hint: "add e.g. distinct: creditor.account")
                }
            }
            compiled.append(rule)
        }
        self.rules = compiled
    }

    private static func compileSteps(_ d: RuleDefinition, schema: Schema<TransactionRef>, lists: [String: Set<String>]) throws(RuleError) -> [CompiledStep] {
        guard let steps = d.steps, steps.count >= 2 else {
            throw RuleError(ruleID: d.id, key: "steps", message: "a sequence needs at least two steps", hint: "e.g. a cash deposit, then a wire out")
        }
        guard d.key == nil || d.key!.count == 1 else {
            throw RuleError(ruleID: d.id, key: "key", message: "a sequence follows one entity: name one field, or one per step")
        }
        var out: [CompiledStep] = []
        for (n, step) in steps.enumerated() {
            guard !step.negated || n == steps.count - 1, !(step.negated && n == 0) else {
                throw RuleError(ruleID: d.id, key: "steps", message: "step \(n + 1): only the last step (after at least one other) can be 'not'")
            }
            let keyName = step.key ?? d.key?.first ?? d.subject
            guard let key = schema.fields[keyName], key.type == .string else {
                throw RuleError(ruleID: d.id, key: "steps", message: "step \(n + 1): key '\(keyName)' is not a text field of a transaction")
            }
            do {
                out.append(CompiledStep(condition: try ExpressionCompiler.compile(step.condition, schema: schema, lists: lists), key: key.readText,
                                        keyName: keyName, negated: step.negated))
            } catch {
                throw RuleError(ruleID: d.id, key: "steps", message: "step \(n + 1), column \(error.column): \(error.message)", hint: error.hint)
            }
        }
        return out
    }
}

/// The aggregates a window rule's `having` can use: over the amounts in the window, and the
/// number of distinct values of the rule's `distinct` field. Each is computed only when the
/// expression reads it.
public struct WindowView {
    let entries: ArraySlice<WindowEntry>
    /// Computed when read: most `having` conditions never look at the amounts.
    var sum: Decimal { entries.reduce(Decimal.zero) { $0 + $1.amount } }
    /// Evaluated on every event of a fan-in or fan-out window. Windows are mostly short, and
    /// comparing a few short strings pairwise is cheaper than hashing them into a new set.
    var distinctCount: Int {
        guard entries.count > 24 else {
            var n = 0
            for i in entries.indices {
                guard let v = entries[i].distinct else { continue }
                if !entries[entries.startIndex..<i].contains(where: { $0.distinct == v }) { n += 1 }
            }
            return n
        }
        return Set(entries.lazy.compactMap(\.distinct)).count
    }

    static let schema = Schema<WindowView>(name: "window aggregates", fields: [
        "count": .number { Decimal($0.entries.count) },
        "sum": .number { $0.sum },
        "min": .number { $0.entries.lazy.map(\.amount).min() },
        "max": .number { $0.entries.lazy.map(\.amount).max() },
        "avg": .number { v in v.entries.isEmpty ? nil : v.sum / Decimal(v.entries.count) },
        // Population standard deviation; through Double, which is exact enough for a threshold
        // and still deterministic (the same operations in the same order).
        "stddev": .number { v in
            guard !v.entries.isEmpty else { return nil }
            let xs = v.entries.map { NSDecimalNumber(decimal: $0.amount).doubleValue }
            let mean = xs.reduce(0, +) / Double(xs.count)
            return Decimal((xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)).squareRoot())
        },
        "distinct": .number { Decimal($0.distinctCount) },
        "median": percentile(50), "p90": percentile(90), "p95": percentile(95), "p99": percentile(99),
    ])

    /// Nearest-rank percentile of the amounts: a value that occurred, never an interpolation.
    private static func percentile(_ p: Int) -> Schema<WindowView>.Field {
        .number { v in
            guard !v.entries.isEmpty else { return nil }
            let sorted = v.entries.map(\.amount).sorted()
            return sorted[max(0, (p * sorted.count + 99) / 100 - 1)]
        }
    }
}

struct WindowEntry: Sendable {
    var amount: Decimal
    /// The value of the rule's `distinct` field, when it has one.
    var distinct: String?
    var contribution: Contribution
    var ts: EventTime { contribution.ts }
}

/// Counters a detector keeps about its own state, for metrics.
public struct DetectorStats: Sendable, Hashable {
    /// Window entries held now, over all rules and keys.
    public var windowEntries = 0
    /// Keys held now, over all window rules.
    public var windowKeys = 0
    /// Entries dropped because a key reached ``WindowLimits/maxEventsPerKey``.
    public var droppedByEventCap = 0
    /// Keys dropped because a rule reached ``WindowLimits/maxKeys``.
    public var droppedByKeyCap = 0
    /// Partial sequence matches held now, over all sequence rules.
    public var sequencePartials = 0
    /// Transfers held in the graphs of cycle rules now.
    public var cycleEdges = 0
    /// Events left out of a rule's state because they arrived later than its grace period.
    public var droppedLate = 0
    /// Flagged parties' identity keys held by correlation rules now.
    public var correlationFlags = 0

    public init() {}

    /// The sum of two detectors' counters (e.g. over a pipeline's workers).
    public static func + (a: DetectorStats, b: DetectorStats) -> DetectorStats {
        var s = DetectorStats()
        s.windowEntries = a.windowEntries + b.windowEntries
        s.windowKeys = a.windowKeys + b.windowKeys
        s.droppedByEventCap = a.droppedByEventCap + b.droppedByEventCap
        s.droppedByKeyCap = a.droppedByKeyCap + b.droppedByKeyCap
        s.sequencePartials = a.sequencePartials + b.sequencePartials
        s.cycleEdges = a.cycleEdges + b.cycleEdges
        s.droppedLate = a.droppedLate + b.droppedLate
        s.correlationFlags = a.correlationFlags + b.correlationFlags
        return s
    }
}

/// Evaluates compiled rules over a stream of transactions, holding window state.
///
/// One detector per worker: it is not thread-safe and needs none, because every event of a key
/// goes to the same worker. Time is the events' own; the wall clock is never read, so the same
/// input sequence always gives the same matches.
public final class Detector {
    private let rules: CompiledRules
    private let limits: WindowLimits
    /// Per window rule (same index as `rules.rules`): key → entries in event-time order.
    private var windows: [[String: [WindowEntry]]]
    /// What the detector knows of each input partition (one lookup per event reads and updates it).
    private var partitions: [PartitionRef: PartitionState] = [:]

    private struct PartitionState {
        /// Highest event time seen; drives eviction of idle keys. Per partition, because
        /// partitions advance independently: one partition far ahead in event time (a backlog,
        /// a replay) must not make another partition's keys look idle.
        var watermark = EventTime(microseconds: .min)
        /// Highest offset seen: an event at or below it is a redelivery (after a rebalance, an
        /// outage or a state rebuild) and must not be counted twice in a window.
        var highestOffset: Int64 = -1

        /// Takes in one event; returns the watermark after it and whether it was a redelivery.
        mutating func admit(ts: EventTime, offset: Int64) -> (watermark: EventTime, redelivered: Bool) {
            if ts > watermark { watermark = ts }
            let redelivered = offset <= highestOffset
            if !redelivered { highestOffset = offset }
            return (watermark, redelivered)
        }
    }

    private struct PartitionRef: Hashable {
        var topic: String
        var partition: Int32
        init(_ o: EventOrigin) {
            topic = o.topic
            partition = o.partition
        }
    }
    private var sinceSweep = 0
    /// Per rule: the newest event time when its state was last swept.
    private var sweptAt: [EventTime]
    /// Per sequence rule (same index as `rules.rules`; `nil` for other kinds).
    private var sequences: [SequenceTracker?]
    /// Per cycle rule, likewise.
    private var cycles: [CycleTracker?]
    /// Per correlation rule, likewise.
    private var correlations: [CorrelationTracker?]
    private let hasCorrelations: Bool
    /// The newest event time seen on any partition.
    private var newestAnywhere = EventTime(microseconds: .min)
    public private(set) var stats = DetectorStats()

    /// - Parameter previous: the detector of the pipeline being replaced (hot reload): the state
    ///   of every rule whose definition is unchanged (same id, version and every key) carries
    ///   over, so a window or sequence that spans the reload still completes; changed and new
    ///   rules start empty.
    public init(rules: CompiledRules, limits: WindowLimits = WindowLimits(), carryingOver previous: Detector? = nil) {
        self.rules = rules
        self.limits = limits
        self.windows = Array(repeating: [:], count: rules.rules.count)
        self.sweptAt = Array(repeating: EventTime(microseconds: .min), count: rules.rules.count)
        self.sequences = rules.rules.map { $0.definition.kind == .sequence ? SequenceTracker(rule: $0, maxPartialsPerEntity: limits.maxEventsPerKey) : nil }
        self.cycles = rules.rules.map { $0.definition.kind == .cycle ? CycleTracker(rule: $0, maxEdgesPerAccount: limits.maxEventsPerKey) : nil }
        self.correlations = rules.rules.map { $0.definition.kind == .correlation ? CorrelationTracker(rule: $0, maxFlagsPerKey: limits.maxEventsPerKey) : nil }
        self.hasCorrelations = correlations.contains { $0 != nil }
        guard let previous else { return }
        partitions = previous.partitions
        newestAnywhere = previous.newestAnywhere
        let before = Dictionary(previous.rules.rules.enumerated().map { ($1.definition, $0) }, uniquingKeysWith: { a, _ in a })
        for (j, rule) in rules.rules.enumerated() {
            guard let i = before[rule.definition] else { continue }
            windows[j] = previous.windows[i]
            sequences[j] = previous.sequences[i]?.rebound(to: rule)
            cycles[j] = previous.cycles[i]?.rebound(to: rule)
            correlations[j] = previous.correlations[i]?.rebound(to: rule)
        }
        stats.windowKeys = windows.reduce(0) { $0 + $1.count }
        stats.windowEntries = windows.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }
        stats.sequencePartials = sequences.reduce(0) { $0 + ($1?.held ?? 0) }
        stats.cycleEdges = cycles.reduce(0) { $0 + ($1?.held ?? 0) }
        stats.correlationFlags = correlations.reduce(0) { $0 + ($1?.held ?? 0) }
    }

    private func watermark(_ origin: EventOrigin) -> EventTime? { partitions[PartitionRef(origin)]?.watermark }

    /// What one window entry occupies in its array (the strings it refers to are shared with
    /// the event or stored inline when short), for state-size reports.
    public static var bytesPerWindowEntry: Int { MemoryLayout<WindowEntry>.stride }

    /// Evaluates every rule on one event, in rule order.
    public func process(_ tx: Transaction, origin: EventOrigin) -> [RuleMatch] {
        let (newest, redelivered) = partitions[PartitionRef(origin), default: PartitionState()].admit(ts: tx.ts, offset: origin.offset)
        var matches: [RuleMatch] = []
        let contribution = Contribution(origin: origin, eventID: tx.id, ts: tx.ts)
        // Sequences whose `not` step stayed absent until now fire first: their time has passed.
        if tx.ts > newestAnywhere { newestAnywhere = tx.ts }
        for index in sequences.indices where sequences[index] != nil {
            matches += sequences[index]!.expire(newest: newestAnywhere, watermark: watermark)
        }
        let ref = TransactionRef(tx)
        for (index, rule) in rules.rules.enumerated() where rule.condition.test(ref) {
            if let grace = rule.definition.grace, tx.ts < newest - grace {
                stats.droppedLate += 1
                continue
            }
            if sequences[index] != nil {
                matches += sequences[index]!.process(ref, contribution, redelivered: redelivered)
                continue
            }
            if cycles[index] != nil {
                if let m = cycles[index]!.process(tx, contribution, redelivered: redelivered) { matches.append(m) }
                continue
            }
            guard let subject = rule.subject(ref) else { continue }
            let def = rule.definition
            switch def.kind {
            case .sequence, .cycle, .correlation:
                break
            case .predicate:
                let finding = Alert.Finding(kind: .rule, id: def.id, version: def.version, score: def.score,
                                            explanation: "matched \(def.condition)")
                matches.append(RuleMatch(finding: finding, subject: Alert.Subject(field: def.subject, value: subject),
                                         ts: tx.ts, contributions: [contribution]))
            case .window:
                if let m = window(index, rule, ref, contribution, subject, redelivered: redelivered) { matches.append(m) }
            }
        }
        sinceSweep += 1
        // A sweep visits every key, so it runs once per that many events (at least 4096): its
        // cost per event stays constant however many keys are held. Each rule is swept only
        // when event time has moved on by a quarter of its span since its last sweep: before
        // that few of its keys can have expired, and its state stays within 1.25 spans.
        if sinceSweep >= max(4096, stats.windowKeys) { sweep() }
        if hasCorrelations, !matches.isEmpty {
            for index in correlations.indices where correlations[index] != nil { correlations[index]!.flag(matches, in: tx) }
            stats.correlationFlags = correlations.reduce(0) { $0 + ($1?.held ?? 0) }
        }
        stats.sequencePartials = sequences.reduce(0) { $0 + ($1?.held ?? 0) }
        stats.cycleEdges = cycles.reduce(0) { $0 + ($1?.held ?? 0) }
        return matches
    }

    /// Evaluates the correlation rules on one passenger event: links from the traveller to
    /// parties flagged before it. Other rules read transactions only.
    public func process(_ p: Passenger, origin: EventOrigin) -> [RuleMatch] {
        let (_, redelivered) = partitions[PartitionRef(origin), default: PartitionState()].admit(ts: p.ts, offset: origin.offset)
        if p.ts > newestAnywhere { newestAnywhere = p.ts }
        guard hasCorrelations, !redelivered else { return [] }
        let contribution = Contribution(origin: origin, eventID: p.id, ts: p.ts)
        var matches: [RuleMatch] = []
        for index in correlations.indices where correlations[index] != nil {
            matches += correlations[index]!.process(p, contribution)
        }
        return matches
    }

    private func window(_ index: Int, _ rule: CompiledRules.Rule, _ ref: TransactionRef, _ contribution: Contribution,
                        _ subject: String, redelivered: Bool) -> RuleMatch? {
        guard let within = rule.within else { return nil }
        // A composite key (one window per pair) joins its values with a separator no account contains.
        var parts: [String] = []
        for field in rule.key {
            guard let v = field(ref) else { return nil }
            parts.append(v)
        }
        let key = parts.count == 1 ? parts[0] : parts.joined(separator: "\u{1F}")
        if redelivered, windows[index][key]?.contains(where: { $0.contribution.origin == contribution.origin }) == true {
            return nil
        }
        let entry = WindowEntry(amount: ref.tx.amount, distinct: rule.distinct?(ref), contribution: contribution)
        // In place through the dictionary's accessor: one lookup, and the list is not copied.
        let admitted = Self.admit(entry, into: &windows[index][key, default: []], within: within, cap: limits.maxEventsPerKey,
                                  having: rule.having!)
        stats.droppedByEventCap += admitted.capped
        guard let entries = admitted.fired else {
            if admitted.before == 0 { stats.windowKeys += 1 }
            stats.windowEntries += admitted.after - admitted.before
            if windows[index].count > limits.maxKeys { dropStalestKeys(index) }
            return nil
        }
        // The events that fired are consumed: the next match needs new events (no alert per
        // extra event on an already-flagged window).
        windows[index][key] = nil
        stats.windowEntries -= admitted.before
        if admitted.before > 0 { stats.windowKeys -= 1 }
        let def = rule.definition
        let view = WindowView(entries: entries[...])
        let keyFields = (def.key ?? [def.subject]).joined(separator: ", ")
        // The window's bounds: its first and last event, in event time.
        var figures = "\(entries[0].ts) to \(entries[entries.count - 1].ts); sum \(DecimalText.format(view.sum)) \(ref.tx.currency)"
        if let name = def.distinct { figures += ", \(view.distinctCount) distinct \(name)" }
        let explanation = "\(entries.count) transactions with \(def.condition) for \(keyFields) \(parts.joined(separator: ", ")) within "
            + "\(DurationText.format(within)) (\(figures)): \(def.having!)"
        let finding = Alert.Finding(kind: .rule, id: def.id, version: def.version, score: def.score, explanation: explanation)
        return RuleMatch(finding: finding, subject: Alert.Subject(field: def.subject, value: subject), ts: ref.tx.ts,
                         contributions: entries.map(\.contribution))
    }

    /// Adds one entry to a key's window (in event-time order, even when it arrives late), drops
    /// what fell out of the span or over the cap, and tests `having`. `fired`: the window's
    /// entries when it fired.
    private static func admit(_ entry: WindowEntry, into entries: inout [WindowEntry], within: Duration, cap: Int,
                              having: CompiledExpression<WindowView>) -> (before: Int, after: Int, capped: Int, fired: [WindowEntry]?) {
        let before = entries.count
        if let last = entries.last, last.ts > entry.ts {
            let at = entries.firstIndex { $0.ts > entry.ts } ?? entries.endIndex
            entries.insert(entry, at: at)
        } else {
            entries.append(entry)
        }
        let cutoff = entries[entries.count - 1].ts - within
        if entries[0].ts < cutoff {
            entries.removeFirst(entries.firstIndex { $0.ts >= cutoff } ?? entries.endIndex)
        }
        let capped = max(0, entries.count - cap)
        if capped > 0 { entries.removeFirst(capped) }
        let fired = having.test(WindowView(entries: entries[...]))
        return (before, entries.count, capped, fired ? entries : nil)
    }

    /// Drops keys whose newest event is older than its partition's watermark minus the rule's
    /// span: no new in-order event of that partition can join them any more.
    private func sweep() {
        sinceSweep = 0
        // Nearly every key of a sweep was last touched from the same few partitions: remember
        // the last partition's watermark rather than hash its topic name for every key.
        var memo: (topic: String, partition: Int32, mark: EventTime?)?
        let watermark = { [partitions] (o: EventOrigin) -> EventTime? in
            if let m = memo, m.partition == o.partition, m.topic == o.topic { return m.mark }
            let mark = partitions[PartitionRef(o)]?.watermark
            memo = (o.topic, o.partition, mark)
            return mark
        }
        for (index, rule) in rules.rules.enumerated() {
            guard let within = rule.within, newestAnywhere >= sweptAt[index] + within / 4 else {
                continue
            }
            sweptAt[index] = newestAnywhere
            if sequences[index] != nil {
                sequences[index]!.sweep(watermark: watermark)
                continue
            }
            if cycles[index] != nil {
                cycles[index]!.sweep(watermark: watermark)
                continue
            }
            if correlations[index] != nil {
                correlations[index]!.sweep(newest: newestAnywhere)
                stats.correlationFlags = correlations.reduce(0) { $0 + ($1?.held ?? 0) }
                continue
            }
            var stale: [String] = []
            for (key, entries) in windows[index] {
                let last = entries[entries.count - 1].contribution
                if let mark = watermark(last.origin), last.ts < mark - within { stale.append(key) }
            }
            for key in stale {
                stats.windowEntries -= windows[index].removeValue(forKey: key)!.count
                stats.windowKeys -= 1
            }
        }
    }

    private func dropStalestKeys(_ index: Int) {
        let excess = windows[index].count - limits.maxKeys
        let stalest = windows[index].sorted { ($0.value.last!.ts, $0.key) < ($1.value.last!.ts, $1.key) }.prefix(excess)
        for (key, entries) in stalest {
            windows[index][key] = nil
            stats.windowKeys -= 1
            stats.windowEntries -= entries.count
            stats.droppedByKeyCap += 1
        }
    }
}
