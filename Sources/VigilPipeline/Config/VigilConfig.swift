import Foundation
import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka

/// The runtime configuration (`config/*.yaml`): where Kafka is, which topics, how many workers.
/// Every key has a default (documented here and in `config/default.yaml`), and the operational
/// ones can be overridden by `VIGIL_*` environment variables, which win over the file.
public struct VigilConfig: Sendable, Equatable {
    public struct Kafka: Sendable, Equatable {
        /// `bootstrap.servers`. Default: empty, meaning the embedded broker (or the address a
        /// running `vigil broker` wrote to ``Embedded/bootstrapFile``). Env: `VIGIL_BROKERS`.
        public var brokers: String = ""
        /// Env: `VIGIL_CLIENT_ID`. Default: `vigil`.
        public var clientID: String = "vigil"
        /// Consumer group; instances with the same group share the partitions. Env: `VIGIL_GROUP`.
        /// Default: `vigil`.
        public var group: String = "vigil"
        /// Partitions of the topics Vigil creates. Env: `VIGIL_PARTITIONS`. Default: 8.
        public var partitions: Int = 8
        /// Replication factor of the topics Vigil creates. Default: 1.
        public var replicationFactor: Int = 1
        /// How often stored offsets are committed. Default: 1s.
        public var commitInterval: Duration = .seconds(1)
        /// Consumer session timeout. Default: 10s.
        public var sessionTimeout: Duration = .seconds(10)
        /// Extra librdkafka properties (security.protocol, sasl.*, ssl.*, tuning), passed as-is.
        /// Env: `VIGIL_KAFKA_<NAME>` with dots as underscores, e.g. `VIGIL_KAFKA_SASL_PASSWORD`.
        public var properties: [String: String] = [:]
    }

    public struct Topics: Sendable, Equatable {
        /// Input: canonical transactions. Env: `VIGIL_TOPIC_TRANSACTIONS`. Default: `fin.transactions`.
        public var transactions: String = "fin.transactions"
        /// Undecodable input, with the reason in headers. Env: `VIGIL_TOPIC_DEAD_LETTER`.
        /// Default: `fin.transactions.dlq`.
        public var deadLetter: String = "fin.transactions.dlq"
        /// Alerts. Env: `VIGIL_TOPIC_ALERTS`. Default: `alerts.local`.
        public var alerts: String = "alerts.local"
        /// Partner copies that would break the partner's policy, with the reason in headers.
        /// Env: `VIGIL_TOPIC_HELD`. Default: `alerts.held`.
        public var held: String = "alerts.held"
        /// The partners' alert topics, declared by the pipeline (`partners:`).
        public var partners: [String] = []
        /// Input topics in native formats, declared by the pipeline (`inputs:`). Empty: the one
        /// input is `transactions`, in canonical JSON.
        public var inputs: [Input] = []

        /// Topics Vigil writes and reads itself to re-key an input's transactions by another
        /// field (``Rekeyed``), derived from the pipeline's rules.
        public var rekeyed: [Rekeyed] = []

        /// An input topic and the format of its messages.
        public struct Input: Sendable, Hashable {
            public var topic: String
            public var format: FeedFormat
            /// The transaction field its records are keyed (so partitioned) by, when declared
            /// (`key: debtor.account`, as `vigil feed` keys): window rules grouped by another
            /// field then get its transactions through a re-keying topic.
            public var key: String?
            public init(topic: String, format: FeedFormat, key: String? = nil) {
                self.topic = topic
                self.format = format
                self.key = key
            }
        }

        /// A re-keying topic: an input's transactions, keyed by `field`, for the window rules
        /// that group by it (Kafka Streams' repartition topic). It has the input's partitions,
        /// and its partition `p` goes to the worker (and instance) that has the input's `p`.
        public struct Rekeyed: Sendable, Hashable {
            public var topic: String
            public var input: String
            public var field: String
            public init(input: String, field: String) {
                self.topic = "\(input)-by-\(field)"
                self.input = input
                self.field = field
            }
        }

        /// The inputs in effect.
        public var effectiveInputs: [Input] { inputs.isEmpty ? [Input(topic: transactions, format: .json)] : inputs }

        /// Every topic consumed: the inputs and the re-keying topics.
        public var consumed: [String] { effectiveInputs.map(\.topic) + rekeyed.map(\.topic) }

        /// The topics alerts go to: the local one, and with partners their copies and the held ones.
        public var alertTopics: [String] { [alerts] + (partners.isEmpty ? [] : [held] + partners) }

        /// The topics the pipeline's results go to: dead letters and the alert topics.
        public var outputs: [String] { [deadLetter] + alertTopics }

        /// Every topic written: the outputs and the re-keying topics.
        public var produced: [String] { outputs + rekeyed.map(\.topic) }

        public var all: [String] { consumed + outputs }
    }

    public struct Runtime: Sendable, Equatable {
        /// Detection workers; each owns a share of the partitions. Env: `VIGIL_WORKERS`.
        /// Default: half the CPU cores, at least one. A worker already keeps two cores busy (it
        /// decodes one batch on two tasks while it detects on the one before), so one per core
        /// only added hand-offs: on 2 cores, one worker moved 193,000–198,000 events/s through
        /// the embedded broker and two 162,000–166,000, in alternating runs.
        public var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        /// Window state bounds, per worker and rule.
        public var limits = WindowLimits()
        /// How long a graceful shutdown waits for in-flight alerts to be acknowledged. Default: 30s.
        public var shutdownTimeout: Duration = .seconds(30)
        /// How far back (by record timestamp) a newly assigned partition is re-read to rebuild
        /// window state after a restart or rebalance; `0s` turns it off. Default: `nil`, meaning
        /// the pipeline's longest window plus one hour.
        public var stateRewind: Duration?
        /// How often the pipeline file is checked for changes to hot-reload; `0s` turns it off.
        /// Default: 5s.
        public var reloadInterval: Duration = .seconds(5)
        /// Alert ids remembered to suppress republishing after a restart or rebalance (read back
        /// from the output topics at start); 0 turns it off. Default: 100,000.
        public var dedupeWindow: Int = 100_000
        /// Where the anomaly detectors' learnt state is written at a clean stop and read back at
        /// the next start (``ScoringSnapshots``). Env: `VIGIL_STATE_DIR` (empty: none). Default:
        /// none: a restart starts the baselines again from what the state rewind re-reads.
        public var stateDirectory: String?
        /// How often each worker writes that state while running (a restart after a crash goes on
        /// from the last one, re-reading what came after it); `0s`: only at a clean stop.
        /// Default: 5m.
        public var checkpointInterval: Duration = .seconds(300)
    }

    public struct Embedded: Sendable, Equatable {
        /// Broker nodes of the embedded cluster. Default: 1.
        public var nodes: Int = 1
        /// Where `vigil broker` writes its address, and other commands look for it.
        /// Env: `VIGIL_BOOTSTRAP_FILE`. Default: `$TMPDIR/vigil/bootstrap` (`/tmp` without TMPDIR).
        public var bootstrapFile: String = {
            let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            return (tmp as NSString).appendingPathComponent("vigil/bootstrap")
        }()
    }

    /// How native feed formats are decoded (`formats` section).
    public struct Formats: Sendable, Equatable {
        /// Key of the HMAC-SHA-256 that replaces payment-card numbers in PNRs. Secret: set it
        /// through `VIGIL_CARD_HASH_KEY`. Without it, PNRs carrying card numbers are rejected.
        public var cardHashKey: String?
        /// Column mapping for `csv` inputs.
        public var csv: CSVMapping?

        public var decodeOptions: DecodeOptions {
            DecodeOptions(cardHashKey: cardHashKey.map { Array($0.utf8) }, csv: csv)
        }
    }

    /// Where the keys and the audit log of partner sharing are (`sharing` section).
    public struct SharingFiles: Sendable, Equatable {
        public init(keysDirectory: String? = nil, auditLog: String? = nil) {
            self.keysDirectory = keysDirectory
            self.auditLog = auditLog
        }

        /// The directory of `signing.key` and the partners' `pseudonym-<partner>.key`.
        /// Env: `VIGIL_KEYS_DIR`. Default: none (alerts go unsigned, partner copies are held);
        /// `config/default.yaml` sets `keys`.
        public var keysDirectory: String?
        /// The hash-chained log of every disclosure to a partner. Env: `VIGIL_AUDIT_LOG` (empty
        /// turns it off). Default: none; `config/default.yaml` sets `audit/disclosures.jsonl`.
        public var auditLog: String?
        /// How long passenger data may stay identifiable in stored alerts (`vigil retention`).
        /// Default: 180d (six months, EU PNR Directive 2016/681 art. 12).
        public var passengerRetention: Duration = .seconds(180 * 86_400)
    }

    /// The operations endpoint (`http` section): `/livez`, `/readyz`, `/metrics`.
    public struct HTTP: Sendable, Equatable {
        /// Env: `VIGIL_HTTP_ADDRESS`. Default: `127.0.0.1` (in a container: `0.0.0.0`).
        public var address: String = "127.0.0.1"
        /// Env: `VIGIL_HTTP_PORT`. Default: 0, no endpoint; `config/default.yaml` sets 9464.
        public var port: Int = 0
    }

    public var kafka = Kafka()
    public var http = HTTP()
    public var topics = Topics()
    public var sharing = SharingFiles()
    public var formats = Formats()
    public var runtime = Runtime()
    public var embedded = Embedded()
    /// Where this configuration came from, for messages (`config/default.yaml`, `(defaults)`).
    public var origin: String = "(defaults)"

    public init() {}

    /// Loads a configuration file, then applies `VIGIL_*` overrides from `environment`.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> VigilConfig {
        var config = VigilConfig()
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ConfigError(file: file, message: "cannot read the configuration file: \(FileProblem.reason(file, unreadable: "not UTF-8 text"))")
            }
            try config.apply(YAMLValue.parse(text, file: file))
            config.origin = file
        }
        try config.applyEnvironment(environment)
        return config
    }

    /// Parses configuration text (for tests and `vigil validate`).
    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> VigilConfig {
        var config = VigilConfig()
        try config.apply(YAMLValue.parse(text, file: file))
        config.origin = file
        try config.applyEnvironment(environment)
        return config
    }

    private mutating func apply(_ root: YAMLValue) throws(ConfigError) {
        let top = try root.mapping(allowed: ["kafka", "topics", "runtime", "embedded", "formats", "sharing", "http"])
        if let h = try top["http"]?.mapping(allowed: ["address", "port"]) {
            if let v = h["address"] { http.address = try v.string() }
            if let v = h["port"] { http.port = try v.int(in: 0...65_535) }
        }
        if let sh = try top["sharing"]?.mapping(allowed: ["keys", "audit-log", "passenger-retention"]) {
            if let v = sh["keys"] { sharing.keysDirectory = try v.string().isEmpty ? nil : try v.string() }
            if let v = sh["audit-log"] { sharing.auditLog = try v.string().isEmpty ? nil : try v.string() }
            if let v = sh["passenger-retention"] { sharing.passengerRetention = try v.duration() }
        }
        if let f = try top["formats"]?.mapping(allowed: ["card-hash-key", "csv"]) {
            if let v = f["card-hash-key"] { formats.cardHashKey = try v.string() }
            if let v = f["csv"] { formats.csv = try Self.csvMapping(v) }
        }
        if let k = try top["kafka"]?.mapping(allowed: ["brokers", "client-id", "group", "partitions", "replication-factor",
                                                       "commit-interval", "session-timeout", "properties"]) {
            if let v = k["brokers"] { kafka.brokers = try v.string() }
            if let v = k["client-id"] { kafka.clientID = try v.string() }
            if let v = k["group"] { kafka.group = try v.string() }
            if let v = k["partitions"] { kafka.partitions = try v.int(in: 1...10_000) }
            if let v = k["replication-factor"] { kafka.replicationFactor = try v.int(in: 1...32) }
            if let v = k["commit-interval"] { kafka.commitInterval = try v.duration() }
            if let v = k["session-timeout"] { kafka.sessionTimeout = try v.duration() }
            if let v = k["properties"] { kafka.properties = try v.stringMap() }
        }
        if let t = try top["topics"]?.mapping(allowed: ["transactions", "dead-letter", "alerts", "held"]) {
            if let v = t["transactions"] { topics.transactions = try Self.topicName(v) }
            if let v = t["dead-letter"] { topics.deadLetter = try Self.topicName(v) }
            if let v = t["alerts"] { topics.alerts = try Self.topicName(v) }
            if let v = t["held"] { topics.held = try Self.topicName(v) }
        }
        if let r = try top["runtime"]?.mapping(allowed: ["workers", "max-events-per-key", "max-keys", "shutdown-timeout", "state-rewind", "reload-interval",
                                                         "dedupe-window", "state-directory", "checkpoint-interval"]) {
            if let v = r["state-directory"] { runtime.stateDirectory = try v.string() }
            if let v = r["checkpoint-interval"] { runtime.checkpointInterval = try v.duration() }
            if let v = r["dedupe-window"] { runtime.dedupeWindow = try v.int(in: 0...10_000_000) }
            if let v = r["reload-interval"] { runtime.reloadInterval = try v.duration() }
            if let v = r["state-rewind"] { runtime.stateRewind = try v.duration() }
            if let v = r["workers"] { runtime.workers = try v.int(in: 1...256) }
            if let v = r["max-events-per-key"] { runtime.limits.maxEventsPerKey = try v.int(in: 1...10_000_000) }
            if let v = r["max-keys"] { runtime.limits.maxKeys = try v.int(in: 1...100_000_000) }
            if let v = r["shutdown-timeout"] { runtime.shutdownTimeout = try v.duration() }
        }
        if let e = try top["embedded"]?.mapping(allowed: ["nodes", "bootstrap-file"]) {
            if let v = e["nodes"] { embedded.nodes = try v.int(in: 1...16) }
            if let v = e["bootstrap-file"] { embedded.bootstrapFile = try v.string() }
        }
    }

    /// `formats.csv`: the column mapping and how values are written.
    static func csvMapping(_ node: YAMLValue) throws(ConfigError) -> CSVMapping {
        let m = try node.mapping(allowed: ["columns", "delimiter", "decimal-separator", "time", "utc-offset", "sign", "currency",
                                           "channel", "channel-values"])
        guard let columnsNode = m["columns"] else {
            throw node.error("'formats.csv' needs 'columns'", hint: "e.g. columns: { ts: date, amount: amount, debtor.account: from, creditor.account: to }")
        }
        let columns = try columnsNode.stringMap()
        for key in columns.keys where !CSVMapping.fields.contains(key) {
            throw columnsNode.error("'\(key)' is not a canonical field", hint: CSVMapping.fields.sorted().joined(separator: ", "))
        }
        var mapping = CSVMapping(columns: columns)
        func oneByte(_ v: YAMLValue) throws(ConfigError) -> UInt8 {
            let s = try v.string()
            guard s.utf8.count == 1, let b = s.utf8.first else { throw v.error("must be a single character, e.g. ';'") }
            return b
        }
        if let v = m["delimiter"] { mapping.delimiter = try oneByte(v) }
        if let v = m["decimal-separator"] { mapping.decimalSeparator = try oneByte(v) }
        var offset = 0
        if let v = m["utc-offset"] {
            let text = try v.string()
            guard let t = EventTime(rfc3339: "1970-01-01T00:00:00" + text) else {
                throw v.error("'\(text)' is not a UTC offset", hint: "e.g. +01:00 or Z")
            }
            offset = Int(-t.microseconds / 1_000_000)
        }
        if let v = m["time"] {
            let text = try v.string()
            switch text {
            case "rfc3339": mapping.time = .rfc3339
            case "unix": mapping.time = .unixSeconds
            case "unix-ms": mapping.time = .unixMilliseconds
            default:
                if text.hasPrefix("steps ") {
                    // steps <origin> <length>: simulators count steps (AMLSim days, PaySim hours).
                    let parts = text.split(separator: " ")
                    guard parts.count == 3, let origin = EventTime(rfc3339: String(parts[1])),
                          let length = DurationText.parse(String(parts[2])) else {
                        throw v.error("'\(text)' is not 'steps <RFC 3339 origin> <length>'", hint: "e.g. steps 2017-01-01T00:00:00Z 1d")
                    }
                    mapping.time = .steps(origin: origin, length: length)
                } else {
                    guard text.contains("yy"), text.contains("MM"), text.contains("dd") else {
                        throw v.error("'\(text)' is not a time format", hint: "rfc3339, unix, unix-ms, 'steps <origin> <length>' or a pattern such as dd.MM.yyyy HH:mm")
                    }
                    mapping.time = .pattern(text, offsetSeconds: offset)
                }
            }
        }
        if let v = m["sign"] {
            let text = try v.string()
            guard let sign = CSVMapping.Sign(rawValue: text) else { throw v.error("'\(text)' is not a sign convention", hint: "positive or negative-reverses") }
            mapping.sign = sign
        }
        if let v = m["currency"] { mapping.currency = try v.string() }
        if let v = m["channel"] { mapping.channel = try v.string() }
        if let v = m["channel-values"] { mapping.channelValues = try v.stringMap() }
        return mapping
    }

    /// Kafka topic names: 1–249 of `[a-zA-Z0-9._-]`.
    static func isValidTopic(_ name: String) -> Bool {
        !name.isEmpty && name.count < 250 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    static func topicName(_ v: YAMLValue) throws(ConfigError) -> String {
        let name = try v.string()
        guard isValidTopic(name) else {
            throw v.error("'\(name)' is not a valid Kafka topic name", hint: "use letters, digits, '.', '_' and '-'")
        }
        return name
    }

    /// The environment variables Vigil reads, for `--help` texts and docs.
    public static let environmentVariables: [(String, String)] = [
        ("VIGIL_BROKERS", "kafka.brokers"), ("VIGIL_CLIENT_ID", "kafka.client-id"), ("VIGIL_GROUP", "kafka.group"),
        ("VIGIL_PARTITIONS", "kafka.partitions"), ("VIGIL_TOPIC_TRANSACTIONS", "topics.transactions"),
        ("VIGIL_TOPIC_DEAD_LETTER", "topics.dead-letter"), ("VIGIL_TOPIC_ALERTS", "topics.alerts"),
        ("VIGIL_TOPIC_HELD", "topics.held"), ("VIGIL_HTTP_ADDRESS", "http.address"), ("VIGIL_HTTP_PORT", "http.port"), ("VIGIL_KEYS_DIR", "sharing.keys"), ("VIGIL_AUDIT_LOG", "sharing.audit-log"),
        ("VIGIL_SIGNING_KEY", "the Ed25519 signing key itself (base64), instead of sharing.keys/signing.key"),
        ("VIGIL_PSEUDONYM_KEY_<PARTNER>", "a partner's pseudonym key (base64), instead of sharing.keys/pseudonym-<partner>.key"),
        ("VIGIL_WORKERS", "runtime.workers"), ("VIGIL_STATE_DIR", "runtime.state-directory"), ("VIGIL_BOOTSTRAP_FILE", "embedded.bootstrap-file"),
        ("VIGIL_KAFKA_<NAME>", "kafka.properties.<name> (dots as underscores)"),
        ("VIGIL_LOG_FORMAT", "--log-format (text or json)"), ("VIGIL_CARD_HASH_KEY", "formats.card-hash-key"),
    ]

    private mutating func applyEnvironment(_ env: [String: String]) throws(ConfigError) {
        func int(_ name: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
            guard let text = env[name] else { return nil }
            guard let v = Int(text), range.contains(v) else {
                throw ConfigError(file: "environment", message: "\(name)='\(text)' must be a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }
        func topic(_ name: String) throws(ConfigError) -> String? {
            guard let text = env[name] else { return nil }
            guard Self.isValidTopic(text) else {
                throw ConfigError(file: "environment", message: "\(name)='\(text)' is not a valid Kafka topic name")
            }
            return text
        }
        if let v = env["VIGIL_BROKERS"] { kafka.brokers = v }
        if let v = env["VIGIL_CLIENT_ID"] { kafka.clientID = v }
        if let v = env["VIGIL_GROUP"] { kafka.group = v }
        if let v = try int("VIGIL_PARTITIONS", 1...10_000) { kafka.partitions = v }
        if let v = try int("VIGIL_WORKERS", 1...256) { runtime.workers = v }
        if let v = try topic("VIGIL_TOPIC_TRANSACTIONS") { topics.transactions = v }
        if let v = try topic("VIGIL_TOPIC_DEAD_LETTER") { topics.deadLetter = v }
        if let v = try topic("VIGIL_TOPIC_ALERTS") { topics.alerts = v }
        if let v = try topic("VIGIL_TOPIC_HELD") { topics.held = v }
        if let v = env["VIGIL_HTTP_ADDRESS"] { http.address = v }
        if let v = try int("VIGIL_HTTP_PORT", 0...65_535) { http.port = v }
        if let v = env["VIGIL_KEYS_DIR"] { sharing.keysDirectory = v.isEmpty ? nil : v }
        if let v = env["VIGIL_AUDIT_LOG"] { sharing.auditLog = v.isEmpty ? nil : v }
        if let v = env["VIGIL_STATE_DIR"] { runtime.stateDirectory = v.isEmpty ? nil : v }
        if let v = env["VIGIL_BOOTSTRAP_FILE"] { embedded.bootstrapFile = v }
        if let v = env["VIGIL_CARD_HASH_KEY"] { formats.cardHashKey = v }
        for (name, value) in env where name.hasPrefix("VIGIL_KAFKA_") {
            let property = name.dropFirst("VIGIL_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            guard !property.isEmpty else { continue }
            kafka.properties[property] = value
        }
    }

    /// Client settings for the given bootstrap address.
    public func clientConfig(bootstrap: String) -> KafkaClientConfig {
        KafkaClientConfig(bootstrapServers: bootstrap, clientID: kafka.clientID, properties: kafka.properties)
    }

    /// Property names whose values are secrets; masked by ``masked``.
    static func isSecret(_ property: String) -> Bool {
        let p = property.lowercased()
        return p.contains("password") || p.contains("secret") || p.hasSuffix(".key") || p.contains("key.pem") || p.contains("token")
    }

    /// The effective configuration as YAML in the shape of `config/default.yaml`, with secret
    /// values masked; it parses back with ``parse(_:file:environment:)``.
    public var renderedYAML: String {
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func d(_ v: Duration) -> String { DurationText.format(v) }
        var out = "# Effective configuration (\(origin), then VIGIL_* environment overrides). Secrets are masked.\n"
        out += "kafka:\n"
        out += "  brokers: \(q(kafka.brokers))\n"
        out += "  client-id: \(q(kafka.clientID))\n"
        out += "  group: \(q(kafka.group))\n"
        out += "  partitions: \(kafka.partitions)\n"
        out += "  replication-factor: \(kafka.replicationFactor)\n"
        out += "  commit-interval: \(d(kafka.commitInterval))\n"
        out += "  session-timeout: \(d(kafka.sessionTimeout))\n"
        if maskedProperties.isEmpty {
            out += "  properties: {}\n"
        } else {
            out += "  properties:\n"
            for (k, v) in maskedProperties.sorted(by: { $0.key < $1.key }) { out += "    \(q(k)): \(q(v))\n" }
        }
        out += "http:\n"
        out += "  address: \(q(http.address))\n"
        out += "  port: \(http.port)\n"
        out += "topics:\n"
        out += "  transactions: \(q(topics.transactions))\n"
        out += "  dead-letter: \(q(topics.deadLetter))\n"
        out += "  alerts: \(q(topics.alerts))\n"
        out += "  held: \(q(topics.held))\n"
        out += "runtime:\n"
        out += "  workers: \(runtime.workers)\n"
        out += "  max-events-per-key: \(runtime.limits.maxEventsPerKey)\n"
        out += "  max-keys: \(runtime.limits.maxKeys)\n"
        out += "  shutdown-timeout: \(d(runtime.shutdownTimeout))\n"
        out += "  reload-interval: \(d(runtime.reloadInterval))\n"
        out += "  dedupe-window: \(runtime.dedupeWindow)\n"
        if let rewind = runtime.stateRewind { out += "  state-rewind: \(d(rewind))\n" } else {
            out += "  # state-rewind: the pipeline's longest window + 1h\n"
        }
        if let dir = runtime.stateDirectory { out += "  state-directory: \(q(dir))\n" } else {
            out += "  # state-directory: not set (anomaly baselines start again at each restart)\n"
        }
        out += "  checkpoint-interval: \(d(runtime.checkpointInterval))\n"
        out += "formats:\n"
        out += formats.cardHashKey == nil ? "  # card-hash-key: not set (PNRs with card numbers are rejected)\n" : "  card-hash-key: \"***\"\n"
        if formats.csv != nil { out += "  # csv: a column mapping is configured (see the configuration file)\n" }
        out += "sharing:\n"
        out += "  keys: \(q(sharing.keysDirectory ?? ""))\n"
        out += "  audit-log: \(q(sharing.auditLog ?? ""))\n"
        out += "  passenger-retention: \(d(sharing.passengerRetention))\n"
        out += "embedded:\n"
        out += "  nodes: \(embedded.nodes)\n"
        out += "  bootstrap-file: \(q(embedded.bootstrapFile))\n"
        return out
    }

    /// The librdkafka properties with secret values replaced by `***`.
    public var maskedProperties: [String: String] {
        kafka.properties.reduce(into: [:]) { $0[$1.key] = Self.isSecret($1.key) ? "***" : $1.value }
    }
}
