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
final class Scorers {
    private let screening: ScreeningRunner?
    private let anomaly: AnomalyRunner?

    /// - Parameter previous: the scorers of the pipeline this one replaces: baselines take a
    ///   long time to learn, so an unchanged anomaly section keeps them across a reload (of a
    ///   rule, or of a watchlist).
    init(pipeline: PipelineDefinition, limits: WindowLimits, carryingOver previous: Scorers?) {
        screening = pipeline.screening.map { ScreeningRunner($0) }
        anomaly = pipeline.anomaly.map { d in
            previous?.anomaly.flatMap { $0.definition == d ? $0 : nil } ?? AnomalyRunner(d, maxKeys: limits.maxKeys)
        }
    }

    /// Whether there is anything to score.
    var isEmpty: Bool { screening == nil && anomaly == nil }

    /// One event's scores; each detector learns from it. Passenger events are screened only.
    func scores(_ event: CanonicalEvent, _ origin: EventOrigin) -> Scores {
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

    /// The scores of a batch, message by message (`decoded[i]` is what `messages[i]` decoded to).
    func scores(_ messages: ArraySlice<ConsumedMessage>, decoded: ArraySlice<DecodedMessage>) -> [MessageScores] {
        var out: [MessageScores] = []
        out.reserveCapacity(decoded.count)
        for i in decoded.indices {
            let origin = EventOrigin(topic: messages[i].topic, partition: messages[i].partition, offset: messages[i].offset)
            switch decoded[i] {
            case .failure: out.append(.none)
            case .one(let event): out.append(.one(scores(event, origin)))
            case .many(let events): out.append(.many(events.map { scores($0, origin) }))
            }
        }
        return out
    }
}
