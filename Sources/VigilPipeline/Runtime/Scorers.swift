import Foundation
import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka

/// What watchlist screening and anomaly scoring found in one event.
public struct Scores: Sendable, Codable, Equatable {
    /// Watchlist hits: each an alert of its own, and a finding typologies may weigh.
    public var hits: [RuleMatch] = []
    /// Anomaly findings, combined like rule findings.
    public var anomalies: [RuleMatch] = []
}

/// The scores of one input message, shaped like its ``DecodedMessage``: none for a message that
/// did not decode, one for one event (no array: that is nearly every message), one per event
/// otherwise.
public enum MessageScores: Sendable, Codable, Equatable {
    case none
    case one(Scores)
    case many([Scores])
}

/// Watchlist screening and anomaly scoring: the detectors that need nothing from the rules.
/// Each keeps its own state and sees the events in order, so they can run on a stage of their
/// own ahead of the rules — which is how the pipeline runs them (``PipelineRunner``'s scoring
/// stage), so that they and the rules work on consecutive batches at once. ``PipelineEngine``
/// runs them inline otherwise (backtests, one message at a time); the findings are the same
/// either way.
///
/// **Redelivery.** A message is scored, and learnt from, once: one at or below the highest
/// offset of its partition already scored here is a redelivery (after a rebalance that left the
/// partition with this worker, the records re-read to rebuild window state, and whatever was in
/// flight, a restart from a checkpoint), and gets the scores it got the first time while those
/// are remembered — the findings of the last ``recentBatches`` batches, and in a pipeline every
/// finding whose record is not committed yet — and none after that, as a window rule does not
/// count a redelivered record again. Learning it again would weigh those payments twice in a baseline
/// and count their edges twice in the burst sketches (a rebalance re-reads the whole state
/// rewind span, hours of payments); scoring it again against a history that holds it could lose
/// the finding of a message the rules skipped because its partition was reassigned after it was
/// scored (they skip it; it comes back; its finding must too).
final class Scorers {
    private let screening: ScreeningRunner?
    /// Screenings so far: against the lists, and answered from memory.
    var screenings: (screened: Int, remembered: Int) { (screening?.screened ?? 0, screening?.remembered ?? 0) }
    /// The anomaly section, and how many accounts each partition's baseline remembers.
    private let anomaly: (definition: AnomalyDefinition, maxAccounts: Int)?
    /// Each partition's anomaly detectors, made at its first record. Per partition, not per
    /// worker, because a partition is the unit whose order Kafka keeps: a worker reads its
    /// partitions interleaved however the fetches come (a backlog a megabyte of one partition
    /// at a time), and detectors shared between partitions — everyone's amounts, the burst
    /// sketches' clock, the trees' window — saw a different stream at every run: three runs of
    /// 200,000 payments over 8 partitions raised 45, 41 and 68 anomaly alerts, none in two. Per
    /// partition, each detector sees its partition in offset order, whatever the interleaving,
    /// the number of workers or instances: the same input gives the same alerts. An account's
    /// payments are on one partition when the input is keyed by the debtor, as `vigil feed` keys.
    private var anomalies: [TopicPartition: AnomalyRunner]
    /// The highest offset scored per partition.
    private var highest: [TopicPartition: Int64]
    /// The scores with a finding of the last ``recentBatches`` batches, for their redeliveries.
    private var recent: [TopicPartition: [Int64: MessageScores]]
    /// Per batch (oldest first), the messages it added to `recent`, to forget them in turn.
    private var recentOrder: [[(TopicPartition, Int64)]]
    /// Where each partition's committed position is (the next offset a restart or a new owner
    /// reads), when known: a finding outlives ``recentBatches`` while its record is not yet
    /// committed, because until then it can come again (a restart from a checkpoint, a
    /// rebalance while acknowledgements lag). `nil` (backtests): by batches only.
    private let committedPosition: (@Sendable (TopicPartition) -> Int64?)?
    /// Findings past ``recentBatches`` whose records are not committed yet, oldest first.
    private var held: [(TopicPartition, Int64)]
    /// Findings held at most: a partition that moved to another instance commits nothing more
    /// here, and its held findings go oldest first past this.
    static let heldLimit = 100_000
    /// Called at a partition's first record, before its detectors are made, to restore what a
    /// snapshot holds of it (``restore(_:)``); `nil`: they start empty.
    private let restoring: ((Scorers, TopicPartition) -> Void)?
    /// Topics whose records are not scored.
    private let skipping: Set<String>
    /// Per partition, the highest offset scored when ``snapshots()`` last gave its state: a
    /// partition that scored nothing since (idle, or moved to another instance) is not written
    /// again.
    private var snapshotted: [TopicPartition: Int64]

    /// How many batches' findings a redelivery gets back. The runner keeps those of every batch
    /// that can be scored after one the rules then skip and before that one comes back: its
    /// queues between decoding and scoring and between scoring and the rules
    /// (``PipelineRunner/Options/queueDepth`` each), and the batches in hand (a batch decoded
    /// after its partition was reassigned is not scored, so it does not count).
    let recentBatches: Int

    /// - Parameters:
    ///   - previous: the scorers of the pipeline this one replaces: baselines take a long time
    ///     to learn, so an unchanged anomaly section keeps them across a reload (of a rule, or
    ///     of a watchlist, or of the section's `dormant:` alone), and with them what has been
    ///     scored.
    ///   - restoring: see ``restoring``.
    ///   - skipping: topics whose records get no scores (re-keyed copies of input records).
    init(pipeline: PipelineDefinition, limits: WindowLimits, recentBatches: Int = 8, carryingOver previous: Scorers?,
         committedPosition: (@Sendable (TopicPartition) -> Int64?)? = nil, restoring: ((Scorers, TopicPartition) -> Void)? = nil,
         skipping: Set<String> = []) {
        screening = pipeline.screening.map { ScreeningRunner($0) }
        anomaly = pipeline.anomaly.map { ($0, limits.maxKeys) }
        let kept = anomaly != nil && previous?.anomaly?.definition.exceptDormancy == anomaly?.definition.exceptDormancy
            && previous?.anomaly?.maxAccounts == anomaly?.maxAccounts
        anomalies = kept ? previous?.anomalies ?? [:] : [:]
        // Kept detectors check dormancy as the new section says (called at a batch boundary, on
        // the task that scores).
        if kept, let definition = anomaly?.definition { for runner in anomalies.values { runner.definition = definition } }
        // A new baseline has learnt nothing: it learns from whatever comes, redelivered or not.
        let carried = kept || pipeline.anomaly == nil ? previous : nil
        highest = carried?.highest ?? [:]
        recent = carried?.recent ?? [:]
        recentOrder = carried?.recentOrder ?? []
        held = carried?.held ?? []
        snapshotted = kept ? previous?.snapshotted ?? [:] : [:]
        self.committedPosition = committedPosition
        self.restoring = restoring
        self.skipping = skipping
        self.recentBatches = max(1, recentBatches)
    }

    /// One event's scores; each detector learns from it. Passenger events are screened only.
    private func scores(_ event: CanonicalEvent, _ origin: EventOrigin, _ anomaly: AnomalyRunner?) -> Scores {
        var s = Scores()
        switch event {
        case .transaction(let tx):
            if let screening { s.hits = screening.matches(tx, origin: origin) }
            if let anomaly { s.anomalies = anomaly.matches(tx, origin: origin) }
        case .passenger(let p):
            if let screening { s.hits = screening.matches(p, origin: origin) }
        }
        return s
    }

    /// The scores of a batch, message by message (`decoded[i]` is what `messages[i]` decoded
    /// to). A redelivered message (see above) is not scored again. With nothing to score, none.
    func scores(_ messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>) -> [MessageScores] {
        guard screening != nil || anomaly != nil else { return Array(repeating: .none, count: decoded.count) }
        var out: [MessageScores] = []
        out.reserveCapacity(decoded.count)
        var added: [(TopicPartition, Int64)] = []
        // Run by run of one partition's messages (a batch is mostly a few long runs): the
        // partition's highest offset is looked up once a run.
        for run in messages.partitionRuns {
            let partition = TopicPartition(messages[run.lowerBound].topic, messages[run.lowerBound].partition)
            if !skipping.isEmpty, skipping.contains(partition.topic) {
                out += repeatElement(.none, count: run.count)
                continue
            }
            let detectors = anomalyRunner(for: partition)
            var top = highest[partition] ?? .min
            for k in run {
                let offset = messages[k].offset
                guard offset > top else {
                    out.append(recent[partition]?[offset] ?? .none)
                    continue
                }
                top = offset
                // The next payment's sketch counters are fetched while this one is scored.
                if let detectors, k + 1 < run.upperBound, case .one(.transaction(let next)) = decoded[k + 1] { detectors.prefetch(next) }
                let origin = EventOrigin(topic: partition.topic, partition: partition.partition, offset: offset)
                let s: MessageScores = switch decoded[k] {
                case .failure: .none
                case .one(let event): .one(scores(event, origin, detectors))
                case .many(let events): .many(events.map { scores($0, origin, detectors) })
                }
                if s.hasFindings {
                    recent[partition, default: [:]][offset] = s
                    added.append((partition, offset))
                }
                out.append(s)
            }
            highest[partition] = top
        }
        recentOrder.append(added)
        if recentOrder.count > recentBatches { forget(recentOrder.removeFirst()) }
        return out
    }

    /// Forgets the findings of a batch that aged out, holding those whose records are not
    /// committed yet, and lets go of held ones whose records now are.
    private func forget(_ aged: [(TopicPartition, Int64)]) {
        guard let committedPosition else {
            for (partition, offset) in aged { recent[partition]?[offset] = nil }
            return
        }
        guard !aged.isEmpty || !held.isEmpty else { return }
        var positions: [TopicPartition: Int64] = [:]
        var kept: [(TopicPartition, Int64)] = []
        for (partition, offset) in held + aged {
            let position: Int64
            if let known = positions[partition] { position = known } else {
                position = committedPosition(partition) ?? .min
                positions[partition] = position
            }
            if offset < position { recent[partition]?[offset] = nil } else { kept.append((partition, offset)) }
        }
        if kept.count > Self.heldLimit {
            for (partition, offset) in kept.prefix(kept.count - Self.heldLimit) { recent[partition]?[offset] = nil }
            kept.removeFirst(kept.count - Self.heldLimit)
        }
        held = kept
    }
}

extension Scorers {
    /// The partition's anomaly detectors, made at its first record; `nil` without an anomaly section.
    private func anomalyRunner(for partition: TopicPartition) -> AnomalyRunner? {
        guard let anomaly else { return nil }
        if let known = anomalies[partition] { return known }
        if let restoring {
            restoring(self, partition)
            if let restored = anomalies[partition] { return restored }
        }
        let made = AnomalyRunner(anomaly.definition, maxKeys: anomaly.maxAccounts)
        anomalies[partition] = made
        return made
    }

    /// What the anomaly state was learnt under (``AnomalyRunner/fingerprint(_:maxAccounts:)``).
    private static func fingerprint(_ pipeline: PipelineDefinition, _ limits: WindowLimits) -> String? {
        pipeline.anomaly.map { AnomalyRunner.fingerprint($0, maxAccounts: limits.maxKeys) }
    }
    private var fingerprint: String? { anomaly.map { AnomalyRunner.fingerprint($0.definition, maxAccounts: $0.maxAccounts) } }

    /// The highest offset scored per partition: through these the anomaly detectors have learnt.
    var scoredOffsets: [TopicPartition: Int64] { anomaly == nil ? [:] : highest }

    /// What a restart can load to go on where this left off (see ``ScoringState``), a snapshot
    /// per partition: the highest offset scored first (a start reads it before anything else,
    /// to re-read what came after), then the partition's anomaly detectors and its findings
    /// remembered for redeliveries. Per partition, not per worker, so that a snapshot does not
    /// depend on how partitions are shared among workers: a restart with another number of
    /// workers, or on another instance that gets the partition, goes on from it. Only the
    /// partitions that scored something since the last call (the file of another still holds its
    /// state; a restart re-reads from its offset in any case). Empty without an anomaly section:
    /// screening learns nothing (its cache of answers is rebuilt as names come).
    func snapshots() throws(StateError) -> [TopicPartition: [UInt8]] {
        guard let fingerprint else { return [:] }
        var remembered: [TopicPartition: [Remembered]] = [:]
        // Held findings first, as the oldest.
        for (tp, offset) in held + recentOrder.joined() {
            remembered[tp, default: []].append(Remembered(offset: offset, scores: recent[tp]?[offset] ?? .none))
        }
        var out: [TopicPartition: [UInt8]] = [:]
        for (tp, detectors) in anomalies where snapshotted[tp] != highest[tp] {
            var w = StateWriter()
            w.write(fingerprint)
            w.write(tp.topic)
            w.write(Int(tp.partition))
            w.write(highest[tp] ?? -1)
            detectors.write(to: &w)
            do { w.write(bytes: Array(try Self.rememberedCoding.encoder.encode(remembered[tp] ?? []))) } catch {
                throw StateError("remembered findings: \(error)")
            }
            out[tp] = w.bytes
            snapshotted[tp] = highest[tp]
        }
        return out
    }

    /// Reads a snapshot's fingerprint, checked against `fingerprint`, its partition and offset.
    private static func header(_ r: inout StateReader, fingerprint: String?) throws(StateError) -> (partition: TopicPartition, offset: Int64) {
        guard let fingerprint else { throw StateError("the pipeline has no anomaly section") }
        let taken = try r.string()
        guard taken == fingerprint else {
            throw StateError("taken under another anomaly section: '\(taken)', now '\(fingerprint)'")
        }
        let topic = try r.string(), partition = try r.int()
        guard let p = Int32(exactly: partition), p >= 0 else { throw StateError("partition \(partition) out of range") }
        return (TopicPartition(topic, p), try r.int64())
    }

    /// The partition a snapshot is of and the offset its state was learnt through, if it was
    /// taken under this pipeline's anomaly section and bounds (read without the rest of it).
    static func scoredOffset(in bytes: [UInt8], pipeline: PipelineDefinition, limits: WindowLimits) throws(StateError) -> (partition: TopicPartition, offset: Int64) {
        var r = StateReader(bytes)
        return try header(&r, fingerprint: fingerprint(pipeline, limits))
    }

    /// Loads what ``snapshots()`` wrote for one partition, replacing what these scorers have
    /// learnt and scored of that partition.
    /// - Throws: when the snapshot was taken under another anomaly section, or is damaged.
    func restore(_ bytes: [UInt8]) throws(StateError) {
        var r = StateReader(bytes)
        let (tp, offset) = try Self.header(&r, fingerprint: fingerprint)
        guard let anomaly else { throw StateError("the pipeline has no anomaly section") }
        let detectors = AnomalyRunner(anomaly.definition, maxKeys: anomaly.maxAccounts)
        try detectors.read(from: &r)
        let remembered: [Remembered]
        let json = try r.bytes()
        do { remembered = try Self.rememberedCoding.decoder.decode([Remembered].self, from: Data(json)) } catch {
            throw StateError("remembered findings: \(error)")
        }
        guard r.isAtEnd else { throw StateError("\(bytes.count - r.position) bytes left over after the state") }
        anomalies[tp] = detectors
        highest[tp] = offset
        snapshotted[tp] = offset
        recent[tp] = Dictionary(remembered.map { ($0.offset, $0.scores) }, uniquingKeysWith: { a, _ in a })
        // Kept until their records are committed, as findings past the remembered batches are
        // (a restart from a checkpoint delivers them again).
        held = remembered.map { (tp, $0.offset) } + held.filter { $0.0 != tp }
    }

    /// Findings are few (those of the last few batches), so they go as JSON, their Codable form;
    /// a score that is not a number is kept as text rather than failing the snapshot.
    private static var rememberedCoding: (encoder: JSONEncoder, decoder: JSONDecoder) {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (encoder, decoder)
    }

    /// A remembered finding as a partition's snapshot keeps it.
    private struct Remembered: Codable {
        var offset: Int64
        var scores: MessageScores
    }
}

extension Scores {
    var hasFindings: Bool { !hits.isEmpty || !anomalies.isEmpty }
}

extension MessageScores {
    var hasFindings: Bool {
        switch self {
        case .none: false
        case .one(let s): s.hasFindings
        case .many(let all): all.contains(where: \.hasFindings)
        }
    }
}
