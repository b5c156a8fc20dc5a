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
    /// Field naming who an alert is about. Default: the first field of `key` when the rule has
    /// one (a fan-in keyed by `creditor.account` is about the collecting account, not whoever
    /// paid into it last), else `debtor.account`.
    public var subject: String {
        get { explicitSubject ?? key?.first ?? "debtor.account" }
        set { explicitSubject = newValue }
    }
    private var explicitSubject: String?
    /// Finding score in [0, 1]. Default: 1.
    public var score: Double = 1
    /// Window rules: the field, or fields, that group events (`[debtor.account,
    /// creditor.account]` for one window per pair). Default: the subject (`debtor.account` unless
    /// `subject` names another field).
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
    /// Correlation rules: the rules, or typologies, whose findings flag a party (by id).
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
public struct Contribution: Sendable, Hashable, Codable {
    public var origin: EventOrigin
    public var eventID: String
    public var ts: EventTime
    /// A passenger (API or PNR) event: an alert resting on these alone is for review only.
    public var passenger: Bool

    public init(origin: EventOrigin, eventID: String, ts: EventTime, passenger: Bool = false) {
        self.origin = origin
        self.eventID = eventID
        self.ts = ts
        self.passenger = passenger
    }
    /// The same event of the same message: a redelivery. (The events of one message — a
    /// statement, a CSV extract — share its origin, so the origin alone does not say.)
    func isSameEvent(as other: Contribution) -> Bool { origin == other.origin && eventID == other.eventID }
}

/// A rule that fired: the finding and every event behind it.
public struct RuleMatch: Sendable, Hashable, Codable {
    public var finding: Alert.Finding
    public var subject: Alert.Subject
    /// Event time of the event that completed the match.
    public var ts: EventTime
    /// In event-time order.
    public var contributions: [Contribution]

    public init(finding: Alert.Finding, subject: Alert.Subject, ts: EventTime, contributions: [Contribution]) {
        self.finding = finding
        self.subject = subject
        self.ts = ts
        self.contributions = contributions
    }
}

/// Rules compiled once; shared read-only by every worker.
public struct CompiledRules: Sendable {
    /// A class, so the detector's loop over rules, run for every event, passes one reference
    /// rather than copying a dozen fields. Every property is a `let`, set once from the compiled
    /// parts: the detector holds a rule without retaining it while it runs it, and then reads a
    /// `let` (a condition, a step) in place, where a `var` was copied out, retaining each of its
    /// closures, for every step of every sequence on every event. Hence safe to share between
    /// workers too.
    final class Rule: Sendable {
        let definition: RuleDefinition
        let condition: CompiledExpression<Transaction>
        let subject: @Sendable (Transaction) -> String?
        /// Window rules: the text fields that key a window (one, or several for a composite key),
        /// and the one whose distinct values `distinct` counts.
        let keyFields: [String]
        let distinctField: String?
        let within: Duration?
        let having: CompiledExpression<WindowView>?
        let steps: [CompiledStep]
        /// The same, unretained (`steps` owns them).
        let stepRefs: [Unmanaged<CompiledStep>]
        let cycleLength: Int
        let cycleTolerance: Decimal?
        let flaggedBy: Set<String>
        let links: Set<IdentityLink>
        let passengerCondition: CompiledExpression<Passenger>?

        /// What compiling a rule's kind-specific keys yields.
        struct Parts {
            var keyFields: [String] = []
            var distinctField: String?
            var within: Duration?
            var having: CompiledExpression<WindowView>?
            var steps: [CompiledStep] = []
            var cycleLength = 6
            var cycleTolerance: Decimal?
            var flaggedBy: Set<String> = []
            var links: Set<IdentityLink> = []
            var passengerCondition: CompiledExpression<Passenger>?
        }

        init(definition: RuleDefinition, condition: CompiledExpression<Transaction>, subject: @escaping @Sendable (Transaction) -> String?,
             parts: Parts) {
            self.definition = definition
            self.condition = condition
            self.subject = subject
            keyFields = parts.keyFields
            distinctField = parts.distinctField
            within = parts.within
            having = parts.having
            steps = parts.steps
            stepRefs = parts.steps.map { Unmanaged.passUnretained($0) }
            cycleLength = parts.cycleLength
            cycleTolerance = parts.cycleTolerance
            flaggedBy = parts.flaggedBy
            links = parts.links
            passengerCondition = parts.passengerCondition
        }
    }

    /// A class with `let`s, like ``Rule``: the detector tests every step of every sequence on
    /// every event, through an unretained reference (``Rule/stepRefs``).
    final class CompiledStep: Sendable {
        let condition: CompiledExpression<Transaction>
        let key: @Sendable (Transaction) -> String?
        let keyName: String
        let negated: Bool

        init(condition: CompiledExpression<Transaction>, key: @escaping @Sendable (Transaction) -> String?, keyName: String, negated: Bool) {
            self.condition = condition
            self.key = key
            self.keyName = keyName
            self.negated = negated
        }
    }
    let rules: [Rule]
    /// Per rule, the index of its condition among the distinct ones: rules written with the same
    /// `where` (fan-in, fan-out and pair-repeat in the typology library) test it once per event.
    let conditionSlots: [Int]
    let conditionCount: Int

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
            let schema = Schema<Transaction>.transaction
            let condition: CompiledExpression<Transaction>
            // A correlation rule's `where` reads passenger events; on transactions it never matches.
            do { condition = try ExpressionCompiler.compile(d.kind == .correlation ? "false" : d.condition, schema: schema, lists: lists) } catch {
                throw RuleError(ruleID: d.id, key: "where", message: error.message, column: error.column, hint: error.hint)
            }
            var rule = Rule.Parts()
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
                // Ids that are not rules may be typologies: the pipeline checks those against its
                // typologies, which are compiled after the rules.
                for source in sources {
                    if let other = definitions.first(where: { $0.id == source }), other.kind == .correlation {
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
                    guard schema.fields[name]?.type == .string else {
                        throw RuleError(ruleID: d.id, key: "key", message: "'\(name)' is not a text field of a transaction")
                    }
                    rule.keyFields.append(name)
                }
                if let name = d.distinct {
                    guard schema.fields[name]?.type == .string else {
                        throw RuleError(ruleID: d.id, key: "distinct", message: "'\(name)' is not a text field of a transaction",
                                        hint: "e.g. creditor.account for fan-out")
                    }
                    rule.distinctField = name
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
                if rule.distinctField == nil, havingText.contains("distinct") {
                    throw RuleError(ruleID: d.id, key: "having", message: "'distinct' counts the values of the rule's 'distinct' field, and it has none",
                                    hint: "add e.g. distinct: creditor.account")
                }
            }
            // After the kind's own checks: a subject taken from the key is reported there when wrong.
            guard let subject = schema.fields[d.subject], subject.type == .string else {
                throw RuleError(ruleID: d.id, key: "subject", message: "'\(d.subject)' is not a text field of a transaction",
                                hint: "e.g. debtor.account or creditor.account")
            }
            compiled.append(Rule(definition: d, condition: condition, subject: subject.readText, parts: rule))
        }
        self.rules = compiled
        var slots: [String: Int] = [:]
        conditionSlots = compiled.map { rule in
            // By the text the condition was compiled from (a correlation rule's is "false").
            let text = rule.definition.kind == .correlation ? "false" : rule.definition.condition
            if let slot = slots[text] { return slot }
            slots[text] = slots.count
            return slots.count - 1
        }
        conditionCount = slots.count
    }

    private static func compileSteps(_ d: RuleDefinition, schema: Schema<Transaction>, lists: [String: Set<String>]) throws(RuleError) -> [CompiledStep] {
        guard let steps = d.steps, steps.count >= 2 else {
            throw RuleError(ruleID: d.id, key: "steps", message: "a sequence needs at least two steps", hint: "e.g. a cash deposit, then a wire out")
        }
        // The steps an event meets are passed on as bits of a word.
        guard steps.count <= 64 else { throw RuleError(ruleID: d.id, key: "steps", message: "a sequence has at most 64 steps") }
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
/// goes to the same worker. Hence its state is marked `@exclusivity(unchecked)`: the runtime's
/// check of every access to a class's stored property was about a tenth of an event's fixed
/// cost, and only one call at a time ever touches a detector.
///
/// Time is the events' own; the wall clock is never read, so the same input sequence always
/// gives the same matches.
public final class Detector {
    private let rules: CompiledRules
    /// The same rules, unretained (`rules` owns them): the loop over them runs for every event,
    /// and retaining and releasing each rule there (two atomic operations a rule) was a third of
    /// an event's cost outside the rules' own work.
    private let ruleRefs: [Unmanaged<CompiledRules.Rule>]
    private let limits: WindowLimits
    /// Per rule (same index as `rules.rules`; empty for rules other than windows): key → its
    /// window, whose entries are in `pool`.
    @exclusivity(unchecked) private var windows: [WindowStore]
    private let pool: WindowPool
    /// The text fields window rules key or count by, each read and interned at most once per
    /// event however many rules use it; per rule, the indexes of its key fields and of its
    /// `distinct` field (-1 for none) in this table.
    private let fieldReaders: [@Sendable (Transaction) -> String?]
    private let windowFields: [(key: [Int], distinct: Int)]
    /// This event's ids of those fields: `unread`, `absent`, or the id in `pool.keys`.
    @exclusivity(unchecked) private var fieldIDs: [Int32]
    /// This event's result of each distinct rule condition: `untested`, or whether it held.
    @exclusivity(unchecked) private var conditions: [UInt8]
    private static let untested: UInt8 = 2
    private static let unread: Int32 = -2, absent: Int32 = -1
    /// What the detector knows of each input partition, by its index in this table (window
    /// entries refer to their partition by that index).
    @exclusivity(unchecked) private var partitions: [PartitionState] = []
    private var partitionRefs: [PartitionRef] = []
    private var partitionIndex: [PartitionRef: Int32] = [:]
    @exclusivity(unchecked) private var lastSlot: (topic: String, partition: Int32, via: Int32, slot: Int32)?

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

    /// The partitions' watermarks as a sweep reads them. An entry is stale once its event time
    /// is more than a span before its own partition's watermark; most entries are well within
    /// the span of the highest watermark, which settles them without finding their partition (a
    /// hash of its topic name per entry was most of a cycle rule's sweep).
    struct Watermarks {
        let highest: EventTime
        let of: (EventOrigin) -> EventTime

        func isStale(_ ts: EventTime, span: Duration, origin: EventOrigin) -> Bool {
            let end = ts + span
            return end < highest && end < of(origin)
        }
    }

    /// Removes the elements `stale` picks from every list of `table`, and the keys left with
    /// none; returns how many elements went. The lists are changed where they are: a loop over
    /// the table that stored lists back into it copied the whole table at the first change.
    static func removeAll<Key: Hashable, Element>(from table: inout [Key: [Element]], where stale: (Element) -> Bool) -> Int {
        var removed = 0
        var emptied: [Key] = []
        var i = table.startIndex
        while i != table.endIndex {
            // Most lists lose nothing: they are only read.
            if table.values[i].contains(where: stale) {
                let before = table.values[i].count
                table.values[i].removeAll(where: stale)
                removed += before - table.values[i].count
                if table.values[i].isEmpty { emptied.append(table.keys[i]) }
            }
            i = table.index(after: i)
        }
        for key in emptied { table[key] = nil }
        return removed
    }

    /// An input partition, or its records' re-keyed copies that came through one partition of
    /// a re-keying topic (`via`; -1 for the records themselves). Copies are a stream of their
    /// own: they lag the records (a trip through Kafka more), and those of one input partition
    /// are in order on each re-keying partition only, so each such stream has its own watermark
    /// (a key is evicted by the stream that feeds it) and its own redelivery mark.
    private struct PartitionRef: Hashable {
        var topic: String
        var partition: Int32
        var via: Int32
        init(_ o: EventOrigin, via: Int32) {
            topic = o.topic
            partition = o.partition
            self.via = via
        }
    }
    @exclusivity(unchecked) private var sinceSweep = 0
    /// The rule a sweep looks at next (see ``countTowardsSweep()``).
    @exclusivity(unchecked) private var nextSwept = 0
    /// Per rule: the newest event time when its state was last swept.
    @exclusivity(unchecked) private var sweptAt: [EventTime]
    /// The rules with a span (the only ones with state to sweep), in rule order.
    private let spanned: [Int]
    /// Per sequence rule (same index as `rules.rules`; `nil` for other kinds).
    @exclusivity(unchecked) private var sequences: [SequenceTracker?]
    /// Per cycle rule, likewise.
    @exclusivity(unchecked) private var cycles: [CycleTracker?]
    /// Per correlation rule, likewise.
    @exclusivity(unchecked) private var correlations: [CorrelationTracker?]
    private let hasCorrelations: Bool
    /// The rules to try on a transaction, by its channel (``channelIndex(_:)``), in rule order.
    ///
    /// A channel is one of a few values (decoding checks it), and most typologies begin with a
    /// test of it (`channel == "cash" and …`, `channel not in ["cash", "card"] and …`). Such a
    /// test is decided here once per channel value, so an event's loop skips the rules its
    /// channel rules out: about half of them, each a closure call and a branch the processor
    /// could not predict.
    let rulesByChannel: [[Int]]
    private static let channelValues = Transaction.channels.sorted()
    /// The newest event time seen on any partition.
    @exclusivity(unchecked) private var newestAnywhere = EventTime(microseconds: .min)
    /// The counts kept as events go; what trackers hold is added when `stats` is read. Summing
    /// the trackers on every event copied each one (and retained its tables) per event.
    @exclusivity(unchecked) private var counts = DetectorStats()

    public var stats: DetectorStats {
        var s = counts
        s.sequencePartials = sequences.indices.reduce(0) { $0 + (sequences[$1]?.held ?? 0) }
        s.cycleEdges = cycles.indices.reduce(0) { $0 + (cycles[$1]?.held ?? 0) }
        s.correlationFlags = correlations.indices.reduce(0) { $0 + (correlations[$1]?.held ?? 0) }
        return s
    }

    /// - Parameter previous: the detector of the pipeline being replaced (hot reload): the state
    ///   of every rule whose definition is unchanged (same id, version and every key) carries
    ///   over, so a window or sequence that spans the reload still completes; changed and new
    ///   rules start empty.
    public init(rules: CompiledRules, limits: WindowLimits = WindowLimits(), carryingOver previous: Detector? = nil) {
        self.rules = rules
        self.ruleRefs = rules.rules.map { Unmanaged.passUnretained($0) }
        self.limits = limits
        self.windows = Array(repeating: WindowStore(), count: rules.rules.count)
        // A reload shares the pool: the windows carried over point into it.
        self.pool = previous?.pool ?? WindowPool()
        self.sweptAt = Array(repeating: EventTime(microseconds: .min), count: rules.rules.count)
        self.spanned = rules.rules.indices.filter { rules.rules[$0].within != nil }
        self.sequences = rules.rules.map { $0.definition.kind == .sequence ? SequenceTracker(rule: $0, maxPartialsPerEntity: limits.maxEventsPerKey) : nil }
        self.cycles = rules.rules.map { $0.definition.kind == .cycle ? CycleTracker(rule: $0, maxEdgesPerAccount: limits.maxEventsPerKey) : nil }
        self.correlations = rules.rules.map { $0.definition.kind == .correlation ? CorrelationTracker(rule: $0, maxFlagsPerKey: limits.maxEventsPerKey) : nil }
        self.hasCorrelations = correlations.contains { $0 != nil }
        self.rulesByChannel = Self.rulesByChannel(rules)
        var names: [String] = []
        func slot(_ name: String) -> Int {
            if let i = names.firstIndex(of: name) { return i }
            names.append(name)
            return names.count - 1
        }
        self.windowFields = rules.rules.map { ($0.keyFields.map(slot), $0.distinctField.map(slot) ?? -1) }
        self.fieldReaders = names.map { Schema<Transaction>.transaction.fields[$0]!.readText }
        self.fieldIDs = Array(repeating: Self.unread, count: names.count)
        self.conditions = Array(repeating: Self.untested, count: rules.conditionCount)
        guard let previous else { return }
        partitions = previous.partitions
        partitionRefs = previous.partitionRefs
        partitionIndex = previous.partitionIndex
        newestAnywhere = previous.newestAnywhere
        let before = Dictionary(previous.rules.rules.enumerated().map { ($1.definition, $0) }, uniquingKeysWith: { a, _ in a })
        var carried = Set<Int>()
        for (j, rule) in rules.rules.enumerated() {
            guard let i = before[rule.definition] else { continue }
            carried.insert(i)
            windows[j] = previous.windows[i]
            sequences[j] = previous.sequences[i]?.rebound(to: rule)
            cycles[j] = previous.cycles[i]?.rebound(to: rule)
            correlations[j] = previous.correlations[i]?.rebound(to: rule)
        }
        for i in previous.windows.indices where !carried.contains(i) { previous.windows[i].releaseAll(pool: pool) }
        counts.windowKeys = windows.reduce(0) { $0 + $1.keys }
        counts.windowEntries = windows.reduce(0) { $0 + $1.entries }
    }

    /// Through ``partitionSlot(_:)``, which remembers the last partition: a sweep asks for the
    /// same few partitions key after key.
    private func watermark(_ origin: EventOrigin) -> EventTime { partitions[Int(partitionSlot(origin, via: -1))].watermark }

    /// Slots in the window pool, free ones included (for tests of compaction).
    var windowPoolSlots: Int { pool.slots }
    /// Ids in the window key table (for tests of its collection).
    var keyCount: Int { pool.keys.count }

    /// The index of an input partition in the table, added when first seen.
    private func partitionSlot(_ origin: EventOrigin, via: Int32) -> Int32 {
        // Runs of events come from one partition: compare with the last one (the same topic
        // string compares by identity) before hashing the topic name.
        if let last = lastSlot, last.partition == origin.partition, last.via == via, last.topic == origin.topic { return last.slot }
        let ref = PartitionRef(origin, via: via)
        defer { lastSlot = (origin.topic, origin.partition, via, partitionIndex[ref]!) }
        if let i = partitionIndex[ref] { return i }
        partitions.append(PartitionState())
        partitionRefs.append(ref)
        partitionIndex[ref] = Int32(partitions.count - 1)
        return Int32(partitions.count - 1)
    }

    /// What one window entry occupies in the pool (the strings it refers to are shared with
    /// the event or stored inline when short), for state-size reports.
    public static var bytesPerWindowEntry: Int { MemoryLayout<WindowPool.Node>.stride }

    /// Some of the rules, for events only they are to see: on a re-keying pipeline, an input's
    /// transactions go to the rules its key brings together, and the re-keyed copies to those
    /// that group by the other field (``process(_:origin:among:)``).
    public struct RuleSubset: Sendable {
        /// Per channel index, as ``rulesByChannel``.
        fileprivate let byChannel: [[Int]]
    }

    /// The rules whose ids are in `ids`.
    public func subset(_ ids: Set<String>) -> RuleSubset {
        RuleSubset(byChannel: rulesByChannel.map { $0.filter { ids.contains(rules.rules[$0].definition.id) } })
    }

    /// Evaluates every rule on one event, in rule order; with `among`, only those. `via`: for a
    /// re-keyed copy of the input record at `origin`, the partition of the re-keying topic it
    /// came through (see `PartitionRef`).
    public func process(_ tx: Transaction, origin: EventOrigin, among subset: RuleSubset? = nil, via: Int32 = -1) -> [RuleMatch] {
        let slot = partitionSlot(origin, via: via)
        let (newest, redelivered) = partitions[Int(slot)].admit(ts: tx.ts, offset: origin.offset)
        for i in fieldIDs.indices { fieldIDs[i] = Self.unread }
        for i in conditions.indices { conditions[i] = Self.untested }
        var matches: [RuleMatch] = []
        let contribution = Contribution(origin: origin, eventID: tx.id, ts: tx.ts)
        // Sequences whose `not` step stayed absent until now fire first: their time has passed.
        if tx.ts > newestAnywhere { newestAnywhere = tx.ts }
        for index in sequences.indices where sequences[index] != nil {
            let due = sequences[index]!.expire(newest: newestAnywhere, watermark: watermark)
            if !due.isEmpty { matches += due }
        }
        for index in (subset?.byChannel ?? rulesByChannel)[Self.channelIndex(tx.channel)] {
            ruleRefs[index]._withUnsafeGuaranteedRef { rule in
                guard holds(index, rule, tx) else { return }
                evaluate(index, rule, tx, slot, contribution, newest: newest, redelivered: redelivered, into: &matches)
            }
        }
        pool.keys.dropUnkept()
        countTowardsSweep()
        flagParties(matches, in: tx)
        return matches
    }

    /// Whether the condition of a rule of `subset` holds for `tx`, the transaction
    /// ``process(_:origin:among:)`` was last given (conditions tested then are not tested again).
    public func holdsAny(_ subset: RuleSubset, _ tx: Transaction) -> Bool {
        subset.byChannel[Self.channelIndex(tx.channel)].contains { index in
            ruleRefs[index]._withUnsafeGuaranteedRef { holds(index, $0, tx) }
        }
    }

    /// Where a channel is in ``rulesByChannel``: its place among the known values, then no
    /// channel, then any other text (a decoder that does not check it), for which every rule
    /// is tried.
    private static func channelIndex(_ channel: String?) -> Int {
        guard let channel else { return channelValues.count }
        return channelValues.firstIndex(of: channel) ?? channelValues.count + 1
    }

    /// Per channel index, the rules whose condition may hold on a transaction with that channel:
    /// all but those with a top-level condition that reads nothing but the channel (or nothing
    /// at all, like a correlation rule's `false`) and is false for it.
    private static func rulesByChannel(_ rules: CompiledRules) -> [[Int]] {
        func transaction(channel: String?) -> Transaction {
            Transaction(id: "", ts: EventTime(microseconds: 0), amount: 0, currency: "", channel: channel,
                        debtor: Party(account: ""), creditor: Party(account: ""))
        }
        let decided = rules.rules.map { rule in rule.condition.conjuncts.filter { $0.fields.isSubset(of: ["channel"]) } }
        return (channelValues.map(Optional.some) + [nil]).map { channel in
            let tx = transaction(channel: channel)
            return rules.rules.indices.filter { i in decided[i].allSatisfy { $0.test(tx) } }
        } + [Array(rules.rules.indices)]
    }

    /// One rule on an event whose condition it holds.
    private func evaluate(_ index: Int, _ rule: CompiledRules.Rule, _ tx: Transaction, _ slot: Int32, _ contribution: Contribution,
                          newest: EventTime, redelivered: Bool, into matches: inout [RuleMatch]) {
        if let grace = rule.definition.grace, tx.ts < newest - grace {
            counts.droppedLate += 1
            return
        }
        if sequences[index] != nil {
            // The steps' conditions are tested here, where the rule and its steps are held
            // without retaining them.
            var met: UInt64 = 0
            for (s, step) in rule.stepRefs.enumerated() where step._withUnsafeGuaranteedRef({ $0.condition.test(tx) }) {
                met |= 1 << UInt64(s)
            }
            guard met != 0 else { return }
            let completed = sequences[index]!.process(tx, contribution, redelivered: redelivered, met: met)
            if !completed.isEmpty { matches += completed }
            return
        }
        if cycles[index] != nil {
            if let m = cycles[index]!.process(tx, contribution, redelivered: redelivered) { matches.append(m) }
            return
        }
        guard let subject = rule.subject(tx) else { return }
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
            if let m = window(index, rule, tx, slot, contribution, subject, redelivered: redelivered) { matches.append(m) }
        }
    }

    /// Flags the parties of `tx` that typology findings raised on it are about, for the
    /// correlation rules whose `flagged-by` names those typologies.
    public func flag(_ typologies: [TypologyMatch], in tx: Transaction) {
        guard hasCorrelations else { return }
        flagParties(typologies.map { RuleMatch(finding: $0.typology, subject: $0.subject, ts: $0.ts, contributions: $0.contributions) }, in: tx)
    }

    /// Hands findings on `tx` to the correlation rules, which flag the parties their sources name.
    private func flagParties(_ findings: [RuleMatch], in tx: Transaction) {
        guard hasCorrelations, !findings.isEmpty else { return }
        for index in correlations.indices where correlations[index] != nil { correlations[index]!.flag(findings, in: tx) }
    }

    /// Evaluates the correlation rules on one passenger event: links from the traveller to
    /// parties flagged before it. Other rules read transactions only.
    public func process(_ p: Passenger, origin: EventOrigin) -> [RuleMatch] {
        let (_, redelivered) = partitions[Int(partitionSlot(origin, via: -1))].admit(ts: p.ts, offset: origin.offset)
        if p.ts > newestAnywhere { newestAnywhere = p.ts }
        guard hasCorrelations, !redelivered else { return [] }
        let contribution = Contribution(origin: origin, eventID: p.id, ts: p.ts, passenger: true)
        var matches: [RuleMatch] = []
        for index in correlations.indices where correlations[index] != nil {
            matches += correlations[index]!.process(p, contribution)
        }
        // Passenger events count towards sweeps too: a stream of bookings alone must not let the
        // correlation rules' record of reported links grow without bound.
        countTowardsSweep()
        return matches
    }

    /// Sweeping a rule visits every key it holds. Each rule's turn comes once per as many events
    /// as all rules hold keys (at least 4096), so the cost per event stays constant however many
    /// keys are held; and it is swept then only when event time has moved on by a quarter of its
    /// span since its last sweep: before that few of its keys can have expired, and its state
    /// stays within 1.25 spans.
    ///
    /// The rules take their turns one at a time, spread over that period. Swept all at once,
    /// with half a million keys held, they stopped the worker for 80–150 ms (a cycle rule alone
    /// 50), and every event behind them waited that long: the latency tail of a pipeline with
    /// every detector on was made of sweeps.
    private func countTowardsSweep() {
        sinceSweep += 1
        guard !spanned.isEmpty, sinceSweep >= max(4096, counts.windowKeys) / spanned.count else { return }
        sinceSweep = 0
        sweep(spanned[nextSwept])
        nextSwept += 1
        if nextSwept == spanned.count {
            nextSwept = 0
            collectKeys()
        }
    }

    /// Whether a rule's condition holds for this event, tested when first asked for.
    private func holds(_ index: Int, _ rule: CompiledRules.Rule, _ tx: Transaction) -> Bool {
        let slot = rules.conditionSlots[index]
        if conditions[slot] == Self.untested { conditions[slot] = rule.condition.test(tx) ? 1 : 0 }
        return conditions[slot] == 1
    }

    /// The id of one of the window fields of this event, interned when first asked for.
    private func fieldID(_ field: Int, _ tx: Transaction) -> Int32? {
        var id = fieldIDs[field]
        if id == Self.unread {
            id = fieldReaders[field](tx).map(pool.keys.id) ?? Self.absent
            fieldIDs[field] = id
        }
        return id == Self.absent ? nil : id
    }

    private func window(_ index: Int, _ rule: CompiledRules.Rule, _ tx: Transaction, _ slot: Int32, _ contribution: Contribution,
                        _ subject: String, redelivered: Bool) -> RuleMatch? {
        guard let within = rule.within else { return nil }
        // A composite key (one window per pair) is the id of its parts' ids, pair by pair.
        let fields = windowFields[index]
        guard var key = fieldID(fields.key[0], tx) else { return nil }
        for field in fields.key.dropFirst() {
            guard let part = fieldID(field, tx) else { return nil }
            key = pool.keys.id(key, part)
        }
        let distinct = fields.distinct >= 0 ? fieldID(fields.distinct, tx) ?? -1 : -1
        if redelivered, windows[index].contains(key, partition: slot, offset: contribution.origin.offset, eventID: contribution.eventID, in: pool) {
            return nil
        }
        let node = WindowPool.Node(amount: tx.amount, partition: slot, next: -1, distinct: distinct, ts: contribution.ts,
                                   offset: contribution.origin.offset, eventID: contribution.eventID)
        let admitted = windows[index].admit(node, key: key, within: within, cap: limits.maxEventsPerKey, having: rule.having!, pool: pool)
        counts.droppedByEventCap += admitted.capped
        guard let fired = admitted.fired else {
            if admitted.before == 0 { counts.windowKeys += 1 }
            counts.windowEntries += admitted.after - admitted.before
            if windows[index].keys > limits.maxKeys { dropStalestKeys(index) }
            return nil
        }
        // The events that fired are consumed: the next match needs new events (no alert per
        // extra event on an already-flagged window).
        counts.windowEntries -= admitted.before
        if admitted.before > 0 { counts.windowKeys -= 1 }
        let def = rule.definition
        let keyFields = (def.key ?? [def.subject]).joined(separator: ", ")
        // The window's bounds: its first and last event, in event time.
        let entries = fired.entries
        var figures = "\(entries[0].ts) to \(entries[entries.count - 1].ts); sum \(DecimalText.format(fired.sum)) \(tx.currency)"
        if let name = def.distinct { figures += ", \(fired.distinct) distinct \(name)" }
        let explanation = "\(entries.count) transactions with \(def.condition) for \(keyFields) \(pool.keys.texts(key).joined(separator: ", ")) within "
            + "\(DurationText.format(within)) (\(figures)): \(def.having!)"
        let finding = Alert.Finding(kind: .rule, id: def.id, version: def.version, score: def.score, explanation: explanation)
        let contributions = entries.map { e in
            let p = partitionRefs[Int(e.partition)]
            return Contribution(origin: EventOrigin(topic: p.topic, partition: p.partition, offset: e.offset), eventID: e.eventID, ts: e.ts)
        }
        return RuleMatch(finding: finding, subject: Alert.Subject(field: def.subject, value: subject), ts: tx.ts,
                         contributions: contributions)
    }

    /// Drops the rule's keys whose newest event is older than its partition's watermark minus
    /// the rule's span: no new in-order event of that partition can join them any more.
    private func sweep(_ index: Int) {
        let rule = rules.rules[index]
        guard let within = rule.within, newestAnywhere >= sweptAt[index] + within / 4 else { return }
        sweptAt[index] = newestAnywhere
        if sequences[index] != nil {
            sequences[index]!.sweep(watermarks)
        } else if cycles[index] != nil {
            cycles[index]!.sweep(watermarks)
        } else if correlations[index] != nil {
            correlations[index]!.sweep(newest: newestAnywhere)
        } else {
            let removed = windows[index].sweep(pool: pool) { newest in
                newest.ts < partitions[Int(newest.partition)].watermark - within
            }
            counts.windowKeys -= removed.keys
            counts.windowEntries -= removed.entries
        }
    }

    /// After every rule had its turn: gives back the key ids the sweeps freed, and compacts.
    private func collectKeys() {
        pool.keys.collect()
        if let map = pool.keys.compact() { pool.rekey(map, &windows) }
        // Give back what expired windows held once most of the pool is free slots.
        if pool.slots > 4096, counts.windowEntries < pool.slots / 4 { pool.compact(&windows) }
    }

    /// The partitions' watermarks, for a sweep of entries that each name their partition.
    private var watermarks: Watermarks {
        Watermarks(highest: partitions.reduce(EventTime(microseconds: .min)) { max($0, $1.watermark) }, of: watermark)
    }

    private func dropStalestKeys(_ index: Int) {
        let removed = windows[index].dropStalest(windows[index].keys - limits.maxKeys, pool: pool)
        counts.windowKeys -= removed.keys
        counts.windowEntries -= removed.entries
        counts.droppedByKeyCap += removed.keys
    }
}
