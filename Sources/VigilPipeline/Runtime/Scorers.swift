import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka

/// What watchlist screening and anomaly scoring found in one event.
public struct Scores: Sendable {
    /// Watchlist hits: each an alert of its own, and a finding typologies may weigh.
    public var hits: [RuleMatch] = []
    /// Anomaly findings, combined like rule findings.
    public var anomalies: [RuleMatch] = []
}

/// The scores of one input message, shaped like its ``DecodedMessage``: none for a message that
/// did not decode, one for one event (no array: that is nearly every message), one per event
/// otherwise.
public enum MessageScores: Sendable {
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
/// flight), and gets the scores it got the first time while those are remembered — the findings
/// of the last ``recentBatches`` batches — and none after that, as a window rule does not count
/// a redelivered record again. Learning it again would weigh those payments twice in a baseline
/// and count their edges twice in the burst sketches (a rebalance re-reads the whole state
/// rewind span, hours of payments); scoring it again against a history that holds it could lose
/// the finding of a message the rules skipped because its partition was reassigned after it was
/// scored (they skip it; it comes back; its finding must too).
final class Scorers {
    private let screening: ScreeningRunner?
    private let anomaly: AnomalyRunner?
    /// The highest offset scored per partition.
    private var highest: [TopicPartition: Int64]
    /// The scores with a finding of the last ``recentBatches`` batches, for their redeliveries.
    private var recent: [TopicPartition: [Int64: MessageScores]]
    /// Per batch (oldest first), the messages it added to `recent`, to forget them in turn.
    private var recentOrder: [[(TopicPartition, Int64)]]

    /// How many batches' findings a redelivery gets back. The runner keeps those of every batch
    /// that can be scored after one the rules then skip and before that one comes back: its
    /// queues between decoding and scoring and between scoring and the rules
    /// (``PipelineRunner/Options/queueDepth`` each), and the batches in hand (a batch decoded
    /// after its partition was reassigned is not scored, so it does not count).
    let recentBatches: Int

    /// - Parameter previous: the scorers of the pipeline this one replaces: baselines take a
    ///   long time to learn, so an unchanged anomaly section keeps them across a reload (of a
    ///   rule, or of a watchlist), and with them what has been scored.
    init(pipeline: PipelineDefinition, limits: WindowLimits, recentBatches: Int = 8, carryingOver previous: Scorers?) {
        screening = pipeline.screening.map { ScreeningRunner($0) }
        let kept = pipeline.anomaly.flatMap { d in previous?.anomaly.flatMap { $0.definition == d ? $0 : nil } }
        anomaly = kept ?? pipeline.anomaly.map { AnomalyRunner($0, maxKeys: limits.maxKeys) }
        // A new baseline has learnt nothing: it learns from whatever comes, redelivered or not.
        let carried = kept != nil || pipeline.anomaly == nil ? previous : nil
        highest = carried?.highest ?? [:]
        recent = carried?.recent ?? [:]
        recentOrder = carried?.recentOrder ?? []
        self.recentBatches = max(1, recentBatches)
    }

    /// One event's scores; each detector learns from it. Passenger events are screened only.
    private func scores(_ event: CanonicalEvent, _ origin: EventOrigin) -> Scores {
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
            var top = highest[partition] ?? .min
            for k in run {
                let offset = messages[k].offset
                guard offset > top else {
                    out.append(recent[partition]?[offset] ?? .none)
                    continue
                }
                top = offset
                let origin = EventOrigin(topic: partition.topic, partition: partition.partition, offset: offset)
                let s: MessageScores = switch decoded[k] {
                case .failure: .none
                case .one(let event): .one(scores(event, origin))
                case .many(let events): .many(events.map { scores($0, origin) })
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
        if recentOrder.count > recentBatches {
            for (partition, offset) in recentOrder.removeFirst() { recent[partition]?[offset] = nil }
        }
        return out
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
