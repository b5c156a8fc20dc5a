import Foundation
import VigilCore
import VigilDetect
import VigilScreen
import VigilFormats
import VigilShare

/// A pipeline file (`pipelines/*.yaml`): what to detect and how to label what it publishes.
public struct PipelineDefinition: Sendable {
    /// Handling of the alerts this pipeline publishes.
    public struct Output: Sendable, Hashable {
        /// The recipient named on each alert. Default: `local` (this unit itself).
        public var partner: String = "local"
        /// TLP 2.0 label. Default: `TLP:AMBER`.
        public var tlp: String = "TLP:AMBER"
        /// What recipients may use alerts for. Default: `aml-investigation`.
        public var purpose: String = "aml-investigation"
        /// Onward dissemination. Default: `prior-consent` (Egmont principle).
        public var consent: String = "prior-consent"
        /// A more restrictive label or another purpose for alerts with a given finding
        /// (`by-finding`), e.g. watchlist hits as `TLP:RED` for counter-terrorism.
        public var byFinding: [String: Label] = [:]

        public struct Label: Sendable, Hashable {
            public var tlp: TLP?
            public var purpose: String?
        }
    }

    /// Topic names a pipeline may set, overriding the configuration's.
    public struct TopicOverrides: Sendable, Hashable {
        public var transactions: String?
        public var deadLetter: String?
        public var alerts: String?
        public var held: String?
    }

    public var name: String
    public var version: String
    public var description: String?
    public var output = Output()
    public var topics = TopicOverrides()
    /// Input topics and their formats (`inputs:`); empty means canonical JSON on the
    /// configuration's transactions topic.
    public var inputs: [VigilConfig.Topics.Input] = []
    public var rules: CompiledRules
    /// Weighted combinations of rule findings (`typologies:`). Empty: every rule match is an
    /// alert of its own; otherwise only typologies raise alerts.
    public var typologies = CompiledTypologies.none
    public var file: String
    /// Watchlist screening of transaction parties and travellers (`screening:`), if any.
    public var screening: ScreeningDefinition?
    /// Online anomaly scoring of payments (`anomaly:`), if any.
    public var anomaly: AnomalyDefinition?
    /// Who receives alerts, under which agreement (`partners:`). Empty: alerts stay with the
    /// unit (`topics.alerts`).
    public var partners: [PartnerPolicy] = []
    /// Named lists rules can test membership of (`lists:`), each with where it came from.
    public var lists: [String: NamedList] = [:]

    /// The findings the screening and anomaly stages raise, which typologies weigh like rules':
    /// each with the section that declares it and what the section calls it.
    public var stageFindings: [(section: String, name: String, id: String, version: Int)] {
        var out: [(section: String, name: String, id: String, version: Int)] = []
        if let s = screening { out.append(("screening", "screening", s.id, s.version)) }
        if let a = anomaly { out.append(("anomaly", "anomaly", a.id, a.version)) }
        if let d = anomaly?.dormant { out.append(("anomaly", "dormant", d.id, d.version)) }
        return out
    }

    /// A list of codes (e.g. FATF's high-risk jurisdictions), as of a date, from a source.
    public struct NamedList: Sendable, Hashable {
        public var values: Set<String>
        public var date: String?
        public var source: String?
    }

    public var ref: Alert.PipelineRef { Alert.PipelineRef(name: name, version: version) }

    /// The longest event-time span any rule keeps state for (`nil` when no rule keeps state).
    public var longestWindow: Duration? { rules.definitions.compactMap(\.within).max() }

    /// Reads and compiles a pipeline file. Every error names the file, line and column.
    public static func load(file: String) throws(ConfigError) -> PipelineDefinition {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            // Foundation's own wording ("The operation could not be completed…") says less.
            throw ConfigError(file: file, message: "cannot read the pipeline file: \(FileProblem.reason(file, unreadable: "not UTF-8 text"))")
        }
        return try parse(text, file: file)
    }

    /// Parses and compiles pipeline text.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> PipelineDefinition {
        let root = try YAMLValue.parse(text, file: file)
        let top = try root.mapping(allowed: ["pipeline", "output", "topics", "inputs", "lists", "rules", "typologies", "screening", "anomaly", "partners"])
        guard let header = top["pipeline"] else {
            throw root.error("missing 'pipeline' section", hint: "start with pipeline: { name: ..., version: ... }")
        }
        let h = try header.mapping(allowed: ["name", "version", "description"])
        guard let nameNode = h["name"] else { throw header.error("'pipeline' needs a 'name'") }
        guard let versionNode = h["version"] else { throw header.error("'pipeline' needs a 'version'", hint: "e.g. version: 1.0.0") }
        let name = try nameNode.string()
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && !$0.properties.isWhitespace }) else {
            throw nameNode.error("pipeline name must be non-empty ASCII without spaces")
        }

        var output = Output()
        let outputSection = try top["output"]?.mapping(allowed: ["partner", "tlp", "purpose", "consent", "by-finding"])
        if let o = outputSection {
            if let v = o["partner"] { output.partner = try v.string() }
            if let v = o["tlp"] { output.tlp = try tlp(v).description }
            if let v = o["purpose"] { output.purpose = try v.string() }
            if let v = o["consent"] { output.consent = try v.string() }
        }

        var topics = TopicOverrides()
        if let t = try top["topics"]?.mapping(allowed: ["transactions", "dead-letter", "alerts", "held"]) {
            if let v = t["transactions"] { topics.transactions = try VigilConfig.topicName(v) }
            if let v = t["dead-letter"] { topics.deadLetter = try VigilConfig.topicName(v) }
            if let v = t["alerts"] { topics.alerts = try VigilConfig.topicName(v) }
            if let v = t["held"] { topics.held = try VigilConfig.topicName(v) }
        }

        var inputs: [VigilConfig.Topics.Input] = []
        if let list = top["inputs"] {
            for item in try list.sequence() {
                let m = try item.mapping(allowed: ["topic", "format", "key"])
                guard let topicNode = m["topic"] else { throw item.error("an input needs a 'topic'") }
                guard let formatNode = m["format"] else {
                    throw item.error("an input needs a 'format'", hint: FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))
                }
                let formatText = try formatNode.string()
                guard let format = FeedFormat(rawValue: formatText) else {
                    throw formatNode.error("unknown format '\(formatText)'", hint: FeedFormat.allCases.map(\.rawValue).joined(separator: ", "))
                }
                let topic = try VigilConfig.topicName(topicNode)
                guard !inputs.contains(where: { $0.topic == topic }) else { throw topicNode.error("topic '\(topic)' is listed twice") }
                var key: String?
                if let keyNode = m["key"] {
                    guard format != .paxlst, format != .pnrgov else { throw keyNode.error("'key' is for transaction inputs; \(format.rawValue) carries passenger events") }
                    let field = try keyNode.string()
                    guard Schema<Transaction>.transaction.fields[field]?.type == .string else {
                        throw keyNode.error("unknown transaction field '\(field)'", hint: "the field the records are keyed by, e.g. debtor.account")
                    }
                    key = field
                }
                inputs.append(.init(topic: topic, format: format, key: key))
            }
        }

        guard let rulesNode = top["rules"] else {
            throw root.error("missing 'rules' section", hint: "a pipeline needs at least one rule")
        }
        let ruleNodes = try rulesNode.sequence()
        guard !ruleNodes.isEmpty else { throw rulesNode.error("'rules' is empty") }
        var definitions: [RuleDefinition] = []
        var nodesByID: [String: [String: YAMLValue]] = [:]
        var ruleNodeByID: [String: YAMLValue] = [:]
        for r in ruleNodes {
            let m = try r.mapping(allowed: ["id", "version", "kind", "description", "where", "subject", "score", "key", "distinct", "within", "having", "steps", "max-length", "tolerance", "grace", "flagged-by", "link-by"])
            guard let id = try m["id"]?.string() else { throw r.error("a rule needs an 'id'") }
            guard let versionNode = m["version"] else { throw r.error("rule '\(id)' needs a 'version' (a whole number)") }
            let version = try versionNode.int(in: 1...1_000_000)
            guard let kindNode = m["kind"] else {
                throw r.error("rule '\(id)' needs a 'kind'", hint: RuleDefinition.Kind.allCases.map(\.rawValue).joined(separator: " or "))
            }
            let kindText = try kindNode.string()
            guard let kind = RuleDefinition.Kind(rawValue: kindText) else {
                throw kindNode.error("unknown rule kind '\(kindText)'", hint: RuleDefinition.Kind.allCases.map(\.rawValue).joined(separator: " or "))
            }
            // A sequence's conditions are in its steps; its own `where`, a filter on every step, is
            // optional, as it is for cycles and correlations.
            guard let condition = try m["where"]?.string() ?? ([.sequence, .cycle, .correlation].contains(kind) ? "true" : nil) else {
                throw r.error("rule '\(id)' needs a 'where' condition")
            }
            var d = RuleDefinition(id: id, version: version, kind: kind, condition: condition)
            d.description = try m["description"]?.string()
            if let v = m["subject"] { d.subject = try v.string() }
            if let v = m["score"] { d.score = try v.double(in: 0...1) }
            if let v = m["key"] { d.key = try v.stringOrList() }
            if let v = m["distinct"] { d.distinct = try v.string() }
            if let v = m["max-length"] { d.maxLength = try v.int(in: 2...10) }
            if let v = m["grace"] { d.grace = try v.duration() }
            if let v = m["tolerance"] {
                guard let t = DecimalText.parse(try v.string()), t >= 0, t <= 1 else { throw v.error("tolerance must be a fraction between 0 and 1, e.g. 0.2") }
                d.tolerance = t
            }
            if let v = m["within"] { d.within = try v.duration() }
            if let v = m["having"] { d.having = try v.string() }
            if let v = m["flagged-by"] { d.flaggedBy = try v.stringOrList() }
            if let v = m["link-by"] {
                d.linkBy = try v.stringOrList().map { (name: String) throws(ConfigError) -> IdentityLink in
                    guard let link = IdentityLink(rawValue: name) else {
                        throw v.error("unknown identity key '\(name)'", hint: IdentityLink.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    return link
                }
            }
            if let v = m["steps"] {
                var steps: [RuleDefinition.Step] = []
                for node in try v.sequence() {
                    let s = try node.mapping(allowed: ["where", "key", "not"])
                    guard let w = try s["where"]?.string() else { throw node.error("a step needs a 'where' condition") }
                    steps.append(RuleDefinition.Step(condition: w, key: try s["key"]?.string(), negated: try s["not"]?.bool() ?? false))
                }
                d.steps = steps
            }
            definitions.append(d)
            nodesByID[id] = m
            ruleNodeByID[id] = r
        }
        let lists = try top["lists"].map { node throws(ConfigError) in try namedLists(node, file: file) } ?? [:]
        let rules: CompiledRules
        do { rules = try CompiledRules(definitions, lists: lists.mapValues(\.values)) } catch {
            // Point at the offending key (and column inside an expression) in the file.
            let node = nodesByID[error.ruleID]?[error.key] ?? ruleNodeByID[error.ruleID] ?? rulesNode
            let (line, column) = error.column.map { node.position(ofColumn: $0) } ?? (node.node.mark?.line, node.node.mark?.column)
            var message = "rule '\(error.ruleID)', \(error.key): \(error.message)"
            if column == nil, let c = error.column { message += " (at column \(c) of the expression)" }
            throw ConfigError(file: file, line: line, column: column, message: message, hint: error.hint)
        }

        var p = PipelineDefinition(name: name, version: try versionNode.string(), rules: rules, file: file)
        // Screening and anomaly findings have ids typologies may weight: read them first.
        if let node = top["screening"] { p.screening = try screening(node, file: file) }
        if let node = top["anomaly"] { p.anomaly = try anomaly(node, lists: lists.mapValues(\.values), file: file) }
        let stages = p.stageFindings
        let stageIDs = stages.map(\.id)
        for (section, name, id, _) in stages {
            if definitions.contains(where: { $0.id == id }) || stageIDs.filter({ $0 == id }).count > 1 {
                throw top[section]!.error("\(name) id '\(id)' is also the id of a rule or another stage", hint: "give it an id of its own: id: \(name)-1")
            }
        }
        if let node = top["typologies"] { p.typologies = try typologies(node, rules: rules, otherFindings: Set(stageIDs), file: file) }
        for (section, _, id, _) in stages where section == "anomaly"
            && !p.typologies.definitions.isEmpty && !p.typologies.definitions.contains(where: { $0.weights[id] != nil }) {
            throw top["anomaly"]!.error("anomaly findings would never alert: with typologies only typologies alert, and none weighs '\(id)'",
                                        hint: "add '\(id)' to a typology's rules, e.g. rules: { \(id): 1.0 }")
        }
        // A correlation's `flagged-by` names rules or typologies.
        let known = Set(definitions.map(\.id) + p.typologies.definitions.map(\.id))
        for d in definitions {
            for source in d.flaggedBy ?? [] where !known.contains(source) {
                let node = nodesByID[d.id]?["flagged-by"] ?? ruleNodeByID[d.id] ?? rulesNode
                throw ConfigError(file: file, line: node.node.mark?.line, column: node.node.mark?.column,
                                  message: "rule '\(d.id)', flagged-by: no rule or typology '\(source)' in this pipeline")
            }
        }
        // Labels and partner routes name findings: rules, typologies and stages.
        let findings = known.union(stageIDs)
        if let v = outputSection?["by-finding"] { output.byFinding = try labelsByFinding(v, knownFindings: findings) }
        if let node = top["partners"] {
            // The configuration may rename its topics; its defaults and this file's overrides are
            // what can be checked here.
            let defaults = VigilConfig.Topics()
            let reserved = Set(inputs.map(\.topic) + [topics.transactions, topics.deadLetter, topics.alerts, topics.held].compactMap { $0 }
                + [defaults.transactions, defaults.deadLetter, defaults.alerts, defaults.held])
            p.partners = try partners(node, knownFindings: findings, reserved: reserved)
        }
        p.lists = lists
        p.description = try h["description"]?.string()
        p.output = output
        p.topics = topics
        p.inputs = inputs
        return p
    }

    /// `screening:` — lists to load (name → file, relative to the pipeline file), the parties to
    /// screen, the threshold, and the finding's id and version.
    private static func screening(_ node: YAMLValue, file: String) throws(ConfigError) -> ScreeningDefinition {
        let m = try node.mapping(allowed: ["id", "version", "lists", "threshold", "screen", "candidates", "remember"])
        guard let listsNode = m["lists"] else {
            throw node.error("screening needs 'lists': name → file", hint: "lists: { un: watchlists/UN_consolidated.xml, ofac: watchlists/ofac }")
        }
        var options = ScreeningOptions()
        if let v = m["threshold"] { options.threshold = try v.double(in: 0...1) }
        if let v = m["candidates"] { options.candidates = try v.int(in: 1...10_000) }
        var specs: [(name: String, path: String)] = []
        var lists: [Watchlist] = []
        for (name, value) in try listsNode.mapping(allowed: nil).sorted(by: { $0.key < $1.key }) {
            let relative = try value.string()
            let path = relative.hasPrefix("/") ? relative
                : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(relative).path
            do { lists.append(try WatchlistLoader.load(name: name, path: path)) } catch {
                throw value.error("list '\(name)': \(error)", hint: "UN XML, an OFAC CSV folder, FollowTheMoney JSON lines or a CSV with a name column; paths are relative to the pipeline file")
            }
            specs.append((name, path))
        }
        guard !lists.isEmpty else { throw listsNode.error("'lists' is empty") }
        var d = ScreeningDefinition(screener: Screener(lists: lists, options: options))
        d.lists = specs
        if let v = m["id"] { d.id = try v.string() }
        if let v = m["version"] { d.version = try v.int(in: 1...1_000_000) }
        if let v = m["remember"] { d.remembered = try v.int(in: 0...10_000_000) }
        if let v = m["screen"] {
            var targets = Set<ScreeningDefinition.Target>()
            for name in try v.stringOrList() {
                guard let t = ScreeningDefinition.Target(rawValue: name) else {
                    throw v.error("cannot screen '\(name)'", hint: ScreeningDefinition.Target.allCases.map(\.rawValue).joined(separator: ", "))
                }
                targets.insert(t)
            }
            d.targets = targets
        }
        return d
    }

    /// `anomaly:` — detectors and their weights, the threshold of the combined score, the
    /// edge-burst tick, the trees' settings and dormant accounts.
    private static func anomaly(_ node: YAMLValue, lists: [String: Set<String>], file: String) throws(ConfigError) -> AnomalyDefinition {
        let m = try node.mapping(allowed: ["id", "version", "threshold", "detectors", "tick", "trees", "dormant"])
        var d = AnomalyDefinition()
        if let v = m["id"] { d.id = try v.string() }
        if let v = m["version"] { d.version = try v.int(in: 1...1_000_000) }
        if let v = m["threshold"] { d.threshold = try v.double(in: 0...1) }
        if let v = m["tick"] {
            d.tick = try v.duration()
            guard d.tick >= .seconds(1) else { throw v.error("tick must be at least 1s") }
        }
        if let detectors = m["detectors"] {
            var weights: [AnomalyDefinition.Detector: Double] = [:]
            for (name, value) in try detectors.mapping(allowed: AnomalyDefinition.Detector.allCases.map(\.rawValue)) {
                weights[AnomalyDefinition.Detector(rawValue: name)!] = try value.double(in: 0...1)
            }
            guard weights.values.contains(where: { $0 > 0 }) else {
                throw detectors.error("no detector has a weight above 0", hint: "detectors: { baseline: 0.6, edge: 0.4 }")
            }
            d.weights = weights.filter { $0.value > 0 }
        }
        if let t = try m["trees"]?.mapping(allowed: ["count", "height", "window", "seed", "features"]) {
            if let v = t["features"] {
                var features: [AnomalyDefinition.Feature] = []
                for name in try v.stringOrList() {
                    guard let f = AnomalyDefinition.Feature(rawValue: name) else {
                        throw v.error("no tree feature '\(name)'", hint: AnomalyDefinition.Feature.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    features.append(f)
                }
                guard !features.isEmpty else { throw v.error("trees need at least one feature") }
                d.treeFeatures = features
            }
            if let v = t["count"] { d.trees.trees = try v.int(in: 1...1_000) }
            if let v = t["height"] { d.trees.height = try v.int(in: 1...20) }
            if let v = t["window"] { d.trees.window = try v.int(in: 1...1_000_000) }
            if let v = t["seed"] { d.trees.seed = UInt64(try v.int(in: 0...Int.max)) }
        }
        if let v = m["dormant"] {
            guard d.weights[.baseline] != nil else {
                throw v.error("dormant accounts are found by the baseline detector, which this section does not use",
                              hint: "give it a weight: detectors: { baseline: 0.7, edge: 0.3 }")
            }
            d.dormant = try dormancy(v, lists: lists, file: file)
        }
        return d
    }

    /// `anomaly: dormant:` — `{ id, version, idle, where, new-payee, score }`, all optional.
    private static func dormancy(_ node: YAMLValue, lists: [String: Set<String>], file: String) throws(ConfigError) -> AnomalyDefinition.Dormancy {
        let m = try node.mapping(allowed: ["id", "version", "idle", "where", "new-payee", "score"])
        var d = AnomalyDefinition.Dormancy()
        if let v = m["id"] { d.id = try v.string() }
        if let v = m["version"] { d.version = try v.int(in: 1...1_000_000) }
        if let v = m["idle"] {
            d.idle = try v.duration()
            guard d.idle >= .seconds(86_400) else { throw v.error("idle must be at least 1d", hint: "an account dormant for six months: idle: 180d") }
        }
        if let v = m["new-payee"] { d.newPayee = try v.bool() }
        if let v = m["score"] { d.score = try v.double(in: 0...1) }
        if let v = m["where"] {
            let source = try v.string()
            do { d.condition = try ExpressionCompiler.compile(source, schema: .transaction, lists: lists) } catch {
                let (line, column) = v.position(ofColumn: error.column)
                throw ConfigError(file: file, line: line, column: column, message: "anomaly, dormant, where: \(error.message)", hint: error.hint)
            }
        }
        return d
    }

    /// `lists:` maps a name to inline values (`[KP, IR]`) or to a list file, relative to the
    /// pipeline file: `{ name, date, source, values: [...] }`.
    private static func namedLists(_ node: YAMLValue, file: String) throws(ConfigError) -> [String: NamedList] {
        var out: [String: NamedList] = [:]
        for (name, value) in try node.mapping(allowed: nil) {
            if case .sequence = value.node {
                out[name] = NamedList(values: Set(try value.stringOrList()))
                continue
            }
            let relative = try value.string()
            let path = relative.hasPrefix("/") ? relative
                : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(relative).path
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw value.error("list '\(name)': cannot read '\(path)': \(FileProblem.reason(path, unreadable: "not UTF-8 text"))", hint: "paths are relative to the pipeline file")
            }
            let m = try YAMLValue.parse(text, file: path).mapping(allowed: ["name", "date", "source", "values"])
            guard let values = m["values"] else { throw value.error("list file '\(path)' has no 'values'") }
            out[name] = NamedList(values: Set(try values.stringOrList()), date: try m["date"]?.string(), source: try m["source"]?.string())
        }
        return out
    }

    private static func typologies(_ node: YAMLValue, rules: CompiledRules, otherFindings: Set<String>, file: String) throws(ConfigError) -> CompiledTypologies {
        var definitions: [TypologyDefinition] = []
        var nodes: [String: [String: YAMLValue]] = [:]
        for t in try node.sequence() {
            let m = try t.mapping(allowed: ["id", "version", "description", "rules", "threshold", "within", "review-only"])
            guard let id = try m["id"]?.string() else { throw t.error("a typology needs an 'id'") }
            guard let version = try m["version"]?.int(in: 1...1_000_000) else { throw t.error("typology '\(id)' needs a 'version' (a whole number)") }
            guard let rulesNode = m["rules"] else {
                throw t.error("typology '\(id)' needs 'rules': rule id → weight", hint: "rules: { fan-in: 0.6, rapid-pass-through: 0.4 }")
            }
            var weights: [String: Double] = [:]
            for (rule, weight) in try rulesNode.stringMap() {
                guard let w = Double(weight) else { throw rulesNode.error("weight of '\(rule)' must be a number, got '\(weight)'") }
                weights[rule] = w
            }
            guard let threshold = try m["threshold"]?.double(in: 0...1_000) else { throw t.error("typology '\(id)' needs a 'threshold'") }
            var d = TypologyDefinition(id: id, version: version, weights: weights, threshold: threshold)
            d.description = try m["description"]?.string()
            if let v = m["within"] { d.within = try v.duration() }
            if let v = m["review-only"] { d.reviewOnly = try v.bool() }
            definitions.append(d)
            nodes[id] = m
        }
        do { return try CompiledTypologies(definitions, rules: rules, otherFindings: otherFindings) } catch {
            let at = nodes[error.ruleID]?[error.key] ?? node
            throw ConfigError(file: file, line: at.node.mark?.line, column: at.node.mark?.column,
                              message: "typology '\(error.ruleID)', \(error.key): \(error.message)", hint: error.hint)
        }
    }

    init(name: String, version: String, rules: CompiledRules, file: String) {
        self.name = name
        self.version = version
        self.rules = rules
        self.file = file
    }

    /// The window rules an input keyed by `key` does not bring together: those grouped by
    /// fields none of which is `key` (a composite key holding it is on the key's partition).
    public func rekeyedRules(inputKey key: String) -> [RuleDefinition] {
        rules.definitions.filter { $0.kind == .window && !($0.key ?? [$0.subject]).contains(key) }
    }

    /// The re-keying topics: per input with a declared key, one per field that window rules it
    /// does not bring together group by first.
    func rekeyed(_ inputs: [VigilConfig.Topics.Input]) -> [VigilConfig.Topics.Rekeyed] {
        var out: [VigilConfig.Topics.Rekeyed] = []
        for input in inputs {
            guard let key = input.key else { continue }
            for rule in rekeyedRules(inputKey: key) {
                let r = VigilConfig.Topics.Rekeyed(input: input.topic, field: (rule.key ?? [rule.subject])[0])
                if !out.contains(r) { out.append(r) }
            }
        }
        return out
    }

    /// The topics in effect: the pipeline's own, else the configuration's.
    public func topics(from config: VigilConfig) -> VigilConfig.Topics {
        var t = config.topics
        if let v = topics.transactions { t.transactions = v }
        if let v = topics.deadLetter { t.deadLetter = v }
        if let v = topics.alerts { t.alerts = v }
        if let v = topics.held { t.held = v }
        if !inputs.isEmpty { t.inputs = inputs }
        t.partners = partners.map(\.topic)
        t.rekeyed = rekeyed(t.effectiveInputs)
        return t
    }
}
