import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka
import VigilShare

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
    /// Held alerts: the partner the copy was for, and why it was not published.
    public static let heldPartner = "vigil.held.partner"
    public static let heldReason = "vigil.held.reason"
}

/// What processing one input message produced: records to publish, and what each one is.
public struct EngineOutput: Sendable {
    public enum Kind: Sendable {
        /// The unit's own copy of an alert (`topics.alerts`).
        case alert(Alert)
        /// A partner's copy, to be recorded in the audit log once acknowledged.
        case shared(DisclosureRecord)
        /// A partner's copy that would break its policy, on the held topic with the reason.
        case held(partner: String, reason: String)
        /// Input that could not be decoded.
        case deadLetter
        /// A transaction on its way to a re-keying topic (``VigilConfig/Topics/Rekeyed``).
        case forwarded
    }

    public var record: ProducerRecord
    public var kind: Kind

    /// The alert id the record carries (the unit's alert, a partner's copy or a held one).
    public var alertID: String? { record.headers.first(named: VigilHeaders.alertID) }

    /// The unit's own alert, when the record is one.
    public var alert: Alert? {
        if case .alert(let a) = kind { return a }
        return nil
    }
}

/// What detection decided about one message, before anything is signed or serialised.
public enum PendingOutput: Sendable {
    /// An alert as detection made it: unsigned, not yet shared.
    case alert(Alert)
    /// A record already whole (a dead letter).
    case ready(EngineOutput)
}

/// Signs alerts, makes the partners' copies and serialises the records. Pure, and the costly
/// part of an alert (an Ed25519 signature per copy, canonical JSON twice): the pipeline runs it
/// on its publishing stage, so it overlaps detection instead of taking detection's time.
public struct OutputSealer: Sendable {
    let sharing: Sharing
    let topics: VigilConfig.Topics
    /// `name@version` of the pipeline, for the records' headers.
    let pipelineLabel: String

    public func seal(_ pending: [PendingOutput]) -> [EngineOutput] {
        var out: [EngineOutput] = []
        for p in pending {
            switch p {
            case .ready(let o): out.append(o)
            case .alert(let a): seal(a, into: &out)
            }
        }
        return out
    }

    /// The unit's own alert, then each partner's copy (or the reason it is held).
    private func seal(_ unsigned: Alert, into out: inout [EngineOutput]) {
        let (alert, json) = sharing.own(unsigned)
        out.append(EngineOutput(record: record(alert, json, topic: topics.alerts), kind: .alert(alert)))
        for partner in sharing.partners {
            let (disclosure, copyJSON) = sharing.disclosure(alert, to: partner)
            switch disclosure {
            case .notRouted: continue
            case .shared(let copy, let fields):
                out.append(EngineOutput(record: record(copy, copyJSON ?? copy.canonicalJSON, topic: partner.topic),
                                        kind: .shared(DisclosureRecord(alert: copy, topic: partner.topic, fields: fields))))
            case .held(let reason):
                var held = record(alert, json, topic: topics.held)
                held.headers += [KafkaHeader(VigilHeaders.heldPartner, partner.name), KafkaHeader(VigilHeaders.heldReason, reason)]
                out.append(EngineOutput(record: held, kind: .held(partner: partner.name, reason: reason)))
            }
        }
    }

    /// `json` is the alert's canonical JSON (signing made it already).
    private func record(_ alert: Alert, _ json: [UInt8], topic: String) -> ProducerRecord {
        // Keyed by subject so a subject's alerts stay in order; a copy without a subject value
        // (redacted) is keyed by its alert id.
        ProducerRecord(
            topic: topic, key: Array((alert.subject.value ?? alert.id).utf8), value: json,
            headers: [
                KafkaHeader(VigilHeaders.alertID, alert.id), KafkaHeader(VigilHeaders.schema, String(Alert.schemaVersion)),
                KafkaHeader(VigilHeaders.contentType, "application/json"),
                KafkaHeader(VigilHeaders.pipeline, pipelineLabel),
            ])
    }
}

/// Which decoder reads which input topic: canonical JSON by default, the declared format for
/// the pipeline's `inputs`.
public struct InputDecoding: Sendable {
    public let formats: [String: FeedFormat]
    public var options: DecodeOptions

    public init(topics: VigilConfig.Topics, options: DecodeOptions = DecodeOptions()) {
        formats = Dictionary(topics.effectiveInputs.map { ($0.topic, $0.format) }, uniquingKeysWith: { a, _ in a })
        self.options = options
    }

    /// The format of a topic's messages.
    public func format(of topic: String) -> FeedFormat { formats[topic] ?? .json }

    /// Pure, so a worker may decode a run of messages in parallel and then detect in order.
    public func decode(_ message: borrowing ConsumedMessage) -> DecodedMessage { decode(message, as: format(of: message.topic)) }

    /// The same, with the topic's format looked up already.
    func decode(_ message: borrowing ConsumedMessage, as format: FeedFormat) -> DecodedMessage {
        if format == .json { return Self.json(message.value) }
        guard !message.value.isEmpty else { return Self.empty }
        var options = self.options
        if let file = message.headers.first(named: VigilHeaders.sourceFile) {
            options.file = file
            options.lineOffset = message.headers.first(named: VigilHeaders.sourceLineOffset).flatMap { Int($0) } ?? 0
        } else {
            options.origin = "\(message.topic)/\(message.partition)/\(message.offset)"
        }
        do { return .many(try FeedDecoder.decode(message.value, as: format, options: options)) } catch {
            return .failure(error.eventDecodingError)
        }
    }

    /// The hot path: a canonical JSON message, straight to the transaction (or passenger event).
    static func json(_ value: [UInt8]) -> DecodedMessage {
        guard !value.isEmpty else { return empty }
        do { return .one(try CanonicalEvent.fromJSON(value)) } catch { return .failure(error) }
    }

    private static let empty = DecodedMessage.failure(EventDecodingError(field: nil, reason: "empty message"))
}

/// What one input message decoded to: nearly always one event, held without an array (which
/// cost an allocation per message); several for a message that is a whole file (a PAXLST, a
/// CSV extract); or why it could not be decoded.
public enum DecodedMessage: Sendable {
    case one(CanonicalEvent)
    case many([CanonicalEvent])
    case failure(EventDecodingError)

    /// The events, in order (none for a failure).
    public var events: [CanonicalEvent] {
        switch self {
        case .one(let e): [e]
        case .many(let events): events
        case .failure: []
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
    /// Screening and anomaly scoring when this engine runs them itself; nil when they run on a
    /// stage ahead of it (``init(pipeline:topics:limits:decodeOptions:keys:scoresAhead:carryingOver:)``).
    private let scorers: Scorers?
    /// Turns what detection decides into records; ``outputs(for:decoded:)`` applies it at once,
    /// the pipeline on its publishing stage.
    public let sealer: OutputSealer
    /// With re-keying on, how each consumed topic's events are detected (by topic); empty
    /// otherwise: every rule sees every event.
    private let routes: [String: Route]

    /// Re-keying (``VigilConfig/Topics/Rekeyed``): which rules an event is for, and where an
    /// input's transactions go on to.
    enum Route {
        /// An input keyed by a field: the rules its key brings together; each transaction that
        /// a rule grouped by another field may count is forwarded, keyed by that field.
        case input(Detector.RuleSubset, forwards: [Forward], canonical: Bool)
        /// A re-keying topic: the rules grouped by its field, on the events as they came in.
        case rekeyed(Detector.RuleSubset)
    }

    struct Forward {
        var topic: String
        var read: @Sendable (Transaction) -> String?
        var rules: Detector.RuleSubset
    }

    /// - Parameters:
    ///   - keys: the signing key and partners' pseudonym keys; without them alerts go unsigned
    ///     and partner copies are held.
    ///   - scoresAhead: screening and anomaly scoring run elsewhere (``Scorers``, on the
    ///     pipeline's scoring stage), and every call to ``detect(_:decoded:scored:)`` brings
    ///     their findings.
    ///   - rekeying: route events as ``VigilConfig/Topics/rekeyed`` says (a live pipeline reading
    ///     Kafka); without, every rule sees every event, as a replay of one input must.
    ///   - previous: the engine of the pipeline this one replaces (hot reload); the state of
    ///     unchanged rules, typologies and anomaly detectors carries over.
    public init(pipeline: PipelineDefinition, topics: VigilConfig.Topics, limits: WindowLimits,
                decodeOptions: DecodeOptions = DecodeOptions(), keys: SharingKeys = SharingKeys(),
                scoresAhead: Bool = false, rekeying: Bool = false, carryingOver previous: PipelineEngine? = nil) {
        self.pipeline = pipeline
        self.sealer = OutputSealer(sharing: Sharing(partners: pipeline.partners, keys: keys), topics: topics,
                                   pipelineLabel: "\(pipeline.name)@\(pipeline.version)")
        self.topics = topics
        self.decoding = InputDecoding(topics: topics, options: decodeOptions)
        self.detector = Detector(rules: pipeline.rules, limits: limits, carryingOver: previous?.detector)
        self.combiner = pipeline.typologies.definitions.isEmpty ? nil
            : TypologyCombiner(typologies: pipeline.typologies, limits: limits, carryingOver: previous?.combiner)
        self.scorers = scoresAhead ? nil : Scorers(pipeline: pipeline, limits: limits, carryingOver: previous?.scorers)
        self.routes = rekeying ? Self.routes(pipeline, topics, detector) : [:]
    }

    /// The routes of a re-keying pipeline.
    private static func routes(_ pipeline: PipelineDefinition, _ topics: VigilConfig.Topics, _ detector: Detector) -> [String: Route] {
        var routes: [String: Route] = [:]
        let all = Set(pipeline.rules.definitions.map(\.id))
        for input in topics.effectiveInputs {
            guard let key = input.key else { continue }
            let rekeyed = pipeline.rekeyedRules(inputKey: key)
            func rules(by field: String) -> Detector.RuleSubset {
                detector.subset(Set(rekeyed.filter { ($0.key ?? [$0.subject])[0] == field }.map(\.id)))
            }
            var forwards: [Forward] = []
            for r in topics.rekeyed where r.input == input.topic {
                forwards.append(Forward(topic: r.topic, read: Schema<Transaction>.transaction.fields[r.field]!.readText, rules: rules(by: r.field)))
                routes[r.topic] = .rekeyed(forwards.last!.rules)
            }
            routes[input.topic] = .input(detector.subset(all.subtracting(rekeyed.map(\.id))), forwards: forwards, canonical: input.format == .json)
        }
        return routes
    }

    public var stats: DetectorStats { detector.stats }

    /// The records one message leads to: its alerts, or one dead-letter record.
    public func process(_ message: ConsumedMessage) -> [EngineOutput] {
        outputs(for: message, decoded: decoding.decode(message))
    }

    /// Detection (stateful, in order) on a decoded message; a decoding failure becomes a dead
    /// letter. Passenger events reach the correlation rules and screening only.
    public func outputs(for message: ConsumedMessage, decoded: DecodedMessage) -> [EngineOutput] {
        sealer.seal(detect([message][...], decoded: [decoded][...]))
    }

    /// The same for a batch, in order: `decoded[i]` is what `messages[i]` decoded to.
    ///
    /// The hot path. Passing `messages[i]` to a function copies the whole message out of the
    /// array (a retain of each of its strings and arrays, and a release after), which was a
    /// twentieth of detection; here only the fields an event's origin needs are read, and the
    /// message itself only for a dead letter.
    public func outputs(for messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>) -> [EngineOutput] {
        sealer.seal(detect(messages, decoded: decoded))
    }

    /// Detection alone, for a batch: what ``sealer`` then turns into records. `scored[i]` is
    /// what ``Scorers`` found in `decoded[i]`, required when the engine was made with
    /// `scoresAhead` (and ignored otherwise).
    public func detect(_ messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>,
                       scored: ArraySlice<MessageScores>? = nil) -> [PendingOutput] {
        var quiet = 0
        return detect(messages, decoded: decoded, scored: scored, quietPrefix: &quiet)
    }

    /// The same, and `quietPrefix` is set to how many of the messages, from the first, produced
    /// nothing: the runner releases their offsets at once instead of after the acknowledgement
    /// of the first output (see ``PipelineRunner``).
    public func detect(_ messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>,
                       scored: ArraySlice<MessageScores>?, quietPrefix: inout Int) -> [PendingOutput] {
        precondition(messages.indices == decoded.indices, "one decoding result per message")
        precondition(scorers != nil || scored?.indices == decoded.indices, "this engine's screening and anomaly scores come from a stage ahead")
        // Scored first, then the rules: neither needs the other's results (the scoring stage's
        // premise), so this is what the runner's two stages do.
        let inline = scorers?.scores(messages, decoded: decoded)
        var out: [PendingOutput] = []
        quietPrefix = 0
        // Runs of one topic: its route is looked up when the topic changes, and what it says is
        // kept in these until then. Bound afresh for every message, the route's rules and
        // forwards were retained and released each time, and passing the message to read a
        // copy's headers or to forward it copied the whole message: with re-keying on, these
        // were a tenth of the extra CPU its copies cost.
        var topic: String?
        var among: Detector.RuleSubset?
        var forwards: [Forward] = []
        var canonical = false, rekeyed = false
        for i in messages.indices {
            let found = inline.map { $0[i - messages.startIndex] } ?? scored?[i]
            if !routes.isEmpty, topic != messages[i].topic {
                topic = messages[i].topic
                (among, forwards, canonical, rekeyed) = switch routes[messages[i].topic] {
                case .input(let rules, let list, let canonical)?: (rules, list, canonical, false)
                case .rekeyed(let rules)?: (rules, [], false, true)
                case nil: (nil, [], false, false)
                }
            }
            var origin = EventOrigin(topic: messages[i].topic, partition: messages[i].partition, offset: messages[i].offset)
            var via: Int32 = -1
            if rekeyed {
                // Cited as the input record it is a copy of, and counted as such on its way
                // through this partition: a copy forwarded again after a restart is then
                // recognised as a redelivery.
                origin = Self.source(messages[i].headers) ?? origin
                via = messages[i].partition
            }
            switch decoded[i] {
            case .failure(let error):
                out.append(.ready(deadLetter(messages[i], error)))
            case .one(let event):
                detect(event, origin, scores(found, 0), among: among, via: via, to: &out)
                if !forwards.isEmpty, case .transaction(let tx) = event {
                    forward(tx, from: origin, bytes: canonical ? messages[i].value : nil, to: forwards, into: &out)
                }
            case .many(let events):
                for (n, event) in events.enumerated() {
                    detect(event, origin, scores(found, n), among: among, via: via, to: &out)
                    if !forwards.isEmpty, case .transaction(let tx) = event { forward(tx, from: origin, bytes: nil, to: forwards, into: &out) }
                }
            }
            if out.isEmpty { quietPrefix = i - messages.startIndex + 1 }
        }
        return out
    }

    /// Forwards a transaction just detected to each re-keying topic one of whose rules may count
    /// it, keyed by that topic's field, with where it came from in headers. `bytes`: its
    /// canonical JSON as it came (else it is written).
    private func forward(_ tx: Transaction, from m: EventOrigin, bytes: [UInt8]?, to forwards: [Forward], into out: inout [PendingOutput]) {
        for f in forwards {
            guard let key = f.read(tx), detector.holdsAny(f.rules, tx) else { continue }
            let headers = [
                KafkaHeader(VigilHeaders.sourceTopic, m.topic), KafkaHeader(VigilHeaders.sourcePartition, String(m.partition)),
                KafkaHeader(VigilHeaders.sourceOffset, String(m.offset)), KafkaHeader(VigilHeaders.pipeline, sealer.pipelineLabel),
            ]
            out.append(.ready(EngineOutput(record: ProducerRecord(topic: f.topic, key: Array(key.utf8), value: bytes ?? tx.canonicalJSON, headers: headers),
                                           kind: .forwarded)))
        }
    }

    /// Where a forwarded record came from (its headers); nil for one without them.
    static func source(_ headers: [KafkaHeader]) -> EventOrigin? {
        guard let topic = headers.first(named: VigilHeaders.sourceTopic),
              let partition = headers.first(named: VigilHeaders.sourcePartition).flatMap({ Int32($0) }),
              let offset = headers.first(named: VigilHeaders.sourceOffset).flatMap({ Int64($0) }) else { return nil }
        return EventOrigin(topic: topic, partition: partition, offset: offset)
    }

    /// The scores of the `n`th event of a message.
    private func scores(_ scored: MessageScores?, _ n: Int) -> Scores {
        switch scored {
        case .one(let s)?: return s
        case .many(let all)?: return all[n]
        case .none?, nil: return Scores()
        }
    }

    /// Detection on one event: its alerts.
    private func detect(_ event: CanonicalEvent, _ origin: EventOrigin, _ scores: Scores, among: Detector.RuleSubset?, via: Int32,
                        to out: inout [PendingOutput]) {
        var matches: [RuleMatch]
        switch event {
        case .transaction(let tx): matches = detector.process(tx, origin: origin, among: among, via: via)
        case .passenger(let p): matches = detector.process(p, origin: origin)
        }
        // Anomaly findings are combined like rule findings. A watchlist hit is an alert of its
        // own, whatever typologies say; typologies may weight it too.
        matches += scores.anomalies
        let hits = scores.hits
        if !hits.isEmpty {
            out += hits.map { m in
                alert(findings: [m.finding], score: m.finding.score, subject: m.subject, ts: m.ts, contributions: m.contributions, event: event)
            }
            if combiner != nil { matches += hits }
        }
        if matches.isEmpty { return }
        if let combiner {
            let raised = combiner.process(matches)
            // Correlation rules may name typologies in `flagged-by`.
            if case .transaction(let tx) = event, !raised.isEmpty { detector.flag(raised, in: tx) }
            out += raised.map { t in
                alert(findings: [t.typology] + t.rules, score: t.typology.score, subject: t.subject, ts: t.ts,
                      contributions: t.contributions, event: event, reviewOnly: t.reviewOnly)
            }
        } else {
            out += matches.map { m in
                alert(findings: [m.finding], score: m.finding.score, subject: m.subject, ts: m.ts, contributions: m.contributions, event: event)
            }
        }
    }

    /// An alert of the findings, unsigned: the sealer signs it and makes the partners' copies.
    private func alert(findings: [Alert.Finding], score: Double, subject: Alert.Subject, ts: EventTime,
                       contributions: [Contribution], event: CanonicalEvent, reviewOnly: Bool = false) -> PendingOutput {
        let evidence = contributions.map {
            Alert.Evidence(topic: $0.origin.topic, partition: $0.origin.partition, offset: $0.origin.offset, eventId: $0.eventID, ts: $0.ts,
                           passenger: $0.passenger ? true : nil)
        }
        let out = pipeline.output
        let (tlp, purpose) = pipeline.labels(for: findings)
        var alert = Alert(
            id: Alert.deterministicID(pipeline: pipeline.ref, findings: findings, eventIDs: contributions.map(\.eventID)),
            ts: ts, pipeline: pipeline.ref, findings: findings, score: score,
            subject: Self.particulars(of: subject, in: event), evidence: evidence, tlp: tlp, purpose: purpose,
            consent: out.consent, partner: out.partner)
        // Passenger data alone never grounds an automated decision (CJEU C-817/19): such alerts
        // are for a person to review.
        if reviewOnly || (!contributions.isEmpty && contributions.allSatisfy(\.passenger)) { alert.reviewOnly = true }
        return .alert(alert)
    }

    /// The subject with the particulars the event gives of it: the party whose account it is,
    /// or the traveller.
    static func particulars(of subject: Alert.Subject, in event: CanonicalEvent) -> Alert.Subject {
        var s = subject
        switch event {
        case .transaction(let tx):
            guard let party = [tx.debtor, tx.creditor].first(where: { $0.account == subject.value }) else { return s }
            s.name = party.name
            s.dob = party.dob
            s.document = party.idNumber
            s.nationality = party.country
            s.institution = party.bic ?? party.institution
        case .passenger(let p):
            guard subject.field.hasPrefix("traveller") else { return s }
            let t = p.traveller
            s.name = [t.given, t.surname].compactMap { $0 }.joined(separator: " ")
            s.dob = t.dob
            s.document = t.documents?.first?.number
            // In the alpha-2 code parties' countries have, so one field has one form.
            s.nationality = t.nationality.map(CountryCodes.alpha2OrAsGiven)
        }
        return s
    }

    /// The original key and value, unchanged, with the reason and the source position in headers.
    private func deadLetter(_ m: ConsumedMessage, _ error: EventDecodingError) -> EngineOutput {
        var headers = [
            KafkaHeader(VigilHeaders.error, error.description),
            KafkaHeader(VigilHeaders.sourceTopic, m.topic),
            KafkaHeader(VigilHeaders.sourcePartition, String(m.partition)),
            KafkaHeader(VigilHeaders.sourceOffset, String(m.offset)),
            KafkaHeader(VigilHeaders.pipeline, sealer.pipelineLabel),
        ]
        if let field = error.field { headers.append(KafkaHeader(VigilHeaders.errorField, field)) }
        return EngineOutput(record: ProducerRecord(topic: topics.deadLetter, key: m.key, value: m.value, headers: headers + m.headers),
                            kind: .deadLetter)
    }
}
