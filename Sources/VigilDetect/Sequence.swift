import VigilCore

/// The state of one sequence rule: for each entity, the partial matches waiting for their next
/// step, and the matches whose last step is a `not` waiting for their span to pass.
///
/// Matching is "skip till next match": events between the steps are ignored, an event advances
/// the oldest partial match it can, and a partial match is used once, so one alert per
/// (rule, entity, run of steps). Time is event time; a `not` step is confirmed absent when the
/// event time of the partition the sequence started on passes the span, and the alert carries
/// that deadline as its time, so replays give the same alerts.
struct SequenceTracker {
    private(set) var rule: CompiledRules.Rule
    let within: Duration
    let maxPartialsPerEntity: Int

    private struct Partial {
        var entity: String
        var next: Int
        var contributions: [Contribution]
        var start: EventTime { contributions[0].ts }
        var last: EventTime { contributions[contributions.count - 1].ts }
    }

    /// Entity → partial matches, oldest first.
    private var partials: [String: [Partial]] = [:]
    /// Partial matches complete but for a `not` step, by deadline.
    private var waiting: [Partial] = []
    private(set) var held = 0

    init(rule: CompiledRules.Rule, maxPartialsPerEntity: Int) {
        self.rule = rule
        self.within = rule.within!
        self.maxPartialsPerEntity = maxPartialsPerEntity
    }

    /// The same state under an equal rule compiled anew (hot reload).
    func rebound(to rule: CompiledRules.Rule) -> SequenceTracker {
        // The state carries over; the settings taken from the rule (its span, …) are the same,
        // its definition being equal.
        var copy = self
        copy.rule = rule
        return copy
    }

    /// Advances the sequences the transaction takes part in; returns the ones it completes.
    /// `met`: the steps whose condition the transaction meets, as bits (step 0 the lowest).
    mutating func process(_ tx: Transaction, _ c: Contribution, redelivered: Bool, met: UInt64) -> [RuleMatch] {
        var out: [RuleMatch] = []
        let ts = tx.ts
        let steps = rule.steps
        // Later steps first, so one event cannot start a sequence and advance it too.
        for s in steps.indices.reversed() where met & (1 << UInt64(s)) != 0 {
            guard let entity = steps[s].key(tx) else { continue }
            if s == 0 {
                if redelivered, partials[entity]?.contains(where: { $0.contributions[0].isSameEvent(as: c) }) == true { continue }
                // Appended in place: copying the list out and back would copy it on every event.
                partials[entity, default: []].append(Partial(entity: entity, next: 1, contributions: [c]))
                held += 1
                if partials[entity]!.count > maxPartialsPerEntity {
                    partials[entity]!.removeFirst()
                    held -= 1
                }
                continue
            }
            if steps[s].negated {
                // The forbidden step happened in time: those sequences will not fire.
                let before = waiting.count
                waiting.removeAll { $0.entity == entity && ts >= $0.last && ts <= $0.start + within }
                held -= before - waiting.count
                continue
            }
            // Looked up in place first: most events advance nothing, and taking the list out and
            // putting it back rehashed the entity twice for nothing.
            guard let i = partials[entity]?.firstIndex(where: { $0.next == s && ts >= $0.last && ts <= $0.start + within }),
                  var list = partials.removeValue(forKey: entity) else { continue }
            if redelivered, list[i].contributions.contains(where: { $0.isSameEvent(as: c) }) {
                partials[entity] = list
                continue
            }
            var p = list.remove(at: i)
            p.contributions.append(c)
            p.next += 1
            if p.next == steps.count {
                held -= 1
                out.append(match(p, at: ts))
            } else if steps[p.next].negated {
                waiting.append(p)
                waiting.sort { ($0.start, $0.entity) < ($1.start, $1.entity) }
            } else {
                list.append(p)
            }
            partials[entity] = list.isEmpty ? nil : list
        }
        return out
    }

    /// Fires the `not` sequences whose span has passed on their partition's event time.
    /// `newest`: the newest event time on any partition — none can be due before it passes the
    /// earliest deadline (`waiting` is ordered by start), which keeps this O(1) per event.
    mutating func expire(newest: EventTime, watermark: (EventOrigin) -> EventTime) -> [RuleMatch] {
        guard let first = waiting.first, newest > first.start + within else { return [] }
        var due: [Partial] = [], kept: [Partial] = []
        for p in waiting {
            if watermark(p.contributions[0].origin) > p.start + within { due.append(p) } else { kept.append(p) }
        }
        guard !due.isEmpty else { return [] }
        waiting = kept
        held -= due.count
        return due.map { match($0, at: $0.start + within) }
    }

    /// Drops partial matches that can no longer advance: their span has passed.
    mutating func sweep(_ watermarks: Detector.Watermarks) {
        let within = self.within
        held -= Detector.removeAll(from: &partials) { watermarks.isStale($0.start, span: within, origin: $0.contributions[0].origin) }
    }

    private func match(_ p: Partial, at ts: EventTime) -> RuleMatch {
        let d = rule.definition
        let described = rule.steps.enumerated().map { n, step -> String in
            let when = n < p.contributions.count ? " at \(p.contributions[n].ts)" : ""
            return (step.negated ? "not followed by (" : "(") + (d.steps?[n].condition ?? "") + ")" + when
        }
        let explanation = "sequence for \(rule.steps[0].keyName) \(p.entity) within \(DurationText.format(within)): "
            + described.joined(separator: ", then ")
        let finding = Alert.Finding(kind: .rule, id: d.id, version: d.version, score: d.score, explanation: explanation)
        return RuleMatch(finding: finding, subject: Alert.Subject(field: rule.steps[0].keyName, value: p.entity), ts: ts,
                         contributions: p.contributions)
    }
}
