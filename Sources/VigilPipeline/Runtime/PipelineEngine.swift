import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka

/// Header names Vigil sets on what it publishes.
public enum VigilHeaders {
    /// Dead-letter records: why the input was rejected (one line, names the field).
    public static let error = "vigil.error"
    /// Dead-letter records: the offending field's path, when known.
    public static let errorField = "vigil.error.field"
    public static let sourceTopic = "vigil.source.topic"
    public static let sourcePartition = "vigil.source.partition"
    public static let sourceOffset = "vigil.source.offset"
    /// Native input cut from a file (`vigil feed --format`): the file's name and the lines
    /// before the message in it, so events are named and errors located as in that file.
    public static let sourceFile = "vigil.source.file"
    public static let sourceLineOffset = "vigil.source.line-offset"
    /// `name@version` of the pipeline that wrote the record.
    public static let pipeline = "vigil.pipeline"
    /// Alerts: the alert id (also inside the value), so consumers can deduplicate without parsing.
    public static let alertID = "vigil.alert.id"
    /// Alerts: the envelope schema version.
    public static let schema = "vigil.schema"
    public static let contentType = "content-type"
}

/// What processing one input message produced: records to publish, and the alerts among them.
public struct EngineOutput: Sendable {
    public var record: ProducerRecord
    /// Set when the record is an alert.
    public var alert: Alert?
}

/// Which decoder reads which input topic: canonical JSON by default, the declared format for
/// the pipeline's `inputs`.
public struct InputDecoding: Sendable {
    public var formats: [String: FeedFormat]
    public var options: DecodeOptions

    public init(topics: VigilConfig.Topics, options: DecodeOptions = DecodeOptions()) {
        formats = Dictionary(topics.effectiveInputs.map { ($0.topic, $0.format) }, uniquingKeysWith: { a, _ in a })
        self.options = options
    }

    /// Pure, so a worker may decode a run of messages in parallel and then detect in order.
    public func decode(_ message: ConsumedMessage) -> Result<[CanonicalEvent], EventDecodingError> {
        guard !message.value.isEmpty else { return .failure(EventDecodingError(field: nil, reason: "empty message")) }
        let format = formats[message.topic] ?? .json
        if format == .json {
            // The hot path: canonical JSON, straight to the transaction (or passenger event).
            do { return .success([try CanonicalEvent.fromJSON(message.value)]) } catch { return .failure(error) }
        }
        var options = self.options
        if let file = message.headers.first(named: VigilHeaders.sourceFile) {
            options.file = file
            options.lineOffset = message.headers.first(named: VigilHeaders.sourceLineOffset).flatMap { Int($0) } ?? 0
        } else {
            options.origin = "\(message.topic)/\(message.partition)/\(message.offset)"
        }
        do { return .success(try FeedDecoder.decode(message.value, as: format, options: options)) } catch {
            return .failure(error.eventDecodingError)
        }
    }
}

/// Decode → detect → envelope, for one worker's share of the input. Knows nothing of where
/// messages come from or go to, so live runs, replays and benchmarks share it.
public struct PipelineEngine {
    public let pipeline: PipelineDefinition
    public let topics: VigilConfig.Topics
    public let decoding: InputDecoding
    private let detector: Detector
    private let combiner: TypologyCombiner?
    private let screening: ScreeningRunner?
    private let anomaly: AnomalyRunner?

    /// - Parameter previous: the engine of the pipeline this one replaces (hot reload); the state
    ///   of unchanged rules, typologies and anomaly detectors carries over.
    public init(pipeline: PipelineDefinition, topics: VigilConfig.Topics, limits: WindowLimits,
                decodeOptions: DecodeOptions = DecodeOptions(), carryingOver previous: PipelineEngine? = nil) {
        self.pipeline = pipeline
        self.topics = topics
        self.decoding = InputDecoding(topics: topics, options: decodeOptions)
        self.detector = Detector(rules: pipeline.rules, limits: limits, carryingOver: previous?.detector)
        self.combiner = pipeline.typologies.definitions.isEmpty ? nil
            : TypologyCombiner(typologies: pipeline.typologies, limits: limits, carryingOver: previous?.combiner)
        self.screening = pipeline.screening.map(ScreeningRunner.init)
        // Baselines take a long time to learn: an unchanged anomaly section keeps them across a
        // reload (of a rule, or of a watchlist).
        self.anomaly = pipeline.anomaly.map { d in previous?.anomaly.flatMap { $0.definition == d ? $0 : nil } ?? AnomalyRunner(d) }
    }

    public var stats: DetectorStats { detector.stats }

    /// The records one message leads to: its alerts, or one dead-letter record.
    public func process(_ message: ConsumedMessage) -> [EngineOutput] {
        outputs(for: message, decoded: decoding.decode(message))
    }

    /// Detection (stateful, in order) on a decoded message; a decoding failure becomes a dead
    /// letter. Passenger events reach the correlation rules and screening only.
    public func outputs(for message: ConsumedMessage, decoded: Result<[CanonicalEvent], EventDecodingError>) -> [EngineOutput] {
        switch decoded {
        case .failure(let error):
            return [deadLetter(message, error)]
        case .success(let events):
            let origin = EventOrigin(topic: message.topic, partition: message.partition, offset: message.offset)
            var out: [EngineOutput] = []
            for event in events {
                var matches: [RuleMatch]
                // A watchlist hit is an alert of its own, whatever typologies say; typologies may
                // weight it too. Anomaly findings are combined like rule findings.
                let hits: [RuleMatch]
                switch event {
                case .transaction(let tx):
                    matches = detector.process(tx, origin: origin)
                    hits = screening?.matches(tx, origin: origin) ?? []
                    matches += anomaly?.matches(tx, origin: origin) ?? []
                case .passenger(let p):
                    matches = detector.process(p, origin: origin)
                    hits = screening?.matches(p, origin: origin) ?? []
                }
                out += hits.map { m in
                    alert(findings: [m.finding], score: m.finding.score, subject: m.subject, ts: m.ts, contributions: m.contributions)
                }
                if combiner != nil { matches += hits }
                if matches.isEmpty { continue }
                if let combiner {
                    let raised = combiner.process(matches)
                    // Correlation rules may name typologies in `flagged-by`.
                    if case .transaction(let tx) = event, !raised.isEmpty { detector.flag(raised, in: tx) }
                    out += raised.map { t in
                        alert(findings: [t.typology] + t.rules, score: t.typology.score, subject: t.subject, ts: t.ts,
                              contributions: t.contributions, reviewOnly: t.reviewOnly)
                    }
                } else {
                    out += matches.map { m in
                        alert(findings: [m.finding], score: m.finding.score, subject: m.subject, ts: m.ts, contributions: m.contributions)
                    }
                }
            }
            return out
        }
    }

    private func alert(findings: [Alert.Finding], score: Double, subject: Alert.Subject, ts: EventTime,
                       contributions: [Contribution], reviewOnly: Bool = false) -> EngineOutput {
        let evidence = contributions.map {
            Alert.Evidence(topic: $0.origin.topic, partition: $0.origin.partition, offset: $0.origin.offset, eventId: $0.eventID, ts: $0.ts)
        }
        let out = pipeline.output
        var alert = Alert(
            id: Alert.deterministicID(pipeline: pipeline.ref, findings: findings, eventIDs: contributions.map(\.eventID)),
            ts: ts, pipeline: pipeline.ref, findings: findings, score: score,
            subject: subject, evidence: evidence, tlp: out.tlp, purpose: out.purpose, consent: out.consent,
            partner: out.partner)
        if reviewOnly { alert.reviewOnly = true }
        // Encoding a value made only of strings and numbers cannot fail.
        let value = alert.canonicalJSON
        let record = ProducerRecord(
            topic: topics.alerts, key: Array(subject.value.utf8), value: value,
            headers: [
                KafkaHeader(VigilHeaders.alertID, alert.id), KafkaHeader(VigilHeaders.schema, String(Alert.schemaVersion)),
                KafkaHeader(VigilHeaders.contentType, "application/json"),
                KafkaHeader(VigilHeaders.pipeline, "\(pipeline.name)@\(pipeline.version)"),
            ])
        return EngineOutput(record: record, alert: alert)
    }

    /// The original key and value, unchanged, with the reason and the source position in headers.
    private func deadLetter(_ m: ConsumedMessage, _ error: EventDecodingError) -> EngineOutput {
        var headers = [
            KafkaHeader(VigilHeaders.error, error.description),
            KafkaHeader(VigilHeaders.sourceTopic, m.topic),
            KafkaHeader(VigilHeaders.sourcePartition, String(m.partition)),
            KafkaHeader(VigilHeaders.sourceOffset, String(m.offset)),
            KafkaHeader(VigilHeaders.pipeline, "\(pipeline.name)@\(pipeline.version)"),
        ]
        if let field = error.field { headers.append(KafkaHeader(VigilHeaders.errorField, field)) }
        return EngineOutput(record: ProducerRecord(topic: topics.deadLetter, key: m.key, value: m.value, headers: headers + m.headers),
                            alert: nil)
    }
}
