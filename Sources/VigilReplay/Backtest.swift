import Foundation
import VigilCore
import VigilDetect
import VigilFormats
import VigilKafka
import VigilPipeline

/// Runs a pipeline over a data set, through the same engine as live runs (decode → detect →
/// envelope), and measures it: alerts per rule, and — with account-level labels — precision,
/// recall and F1 of the accounts the alerts point at.
///
/// Two readings of "the accounts an alert points at" are reported, because rules differ in
/// whom they name: **subjects** (the account an alert is about) and **parties** (every debtor
/// and creditor of the alert's evidence — what an investigator opening the alert sees).
public enum Backtest {
    public struct Figures: Sendable, Hashable, Codable {
        /// Accounts flagged.
        public var flagged: Int
        /// Flagged accounts that are labelled positive.
        public var truePositives: Int
        public var precision: Double
        public var recall: Double
        public var f1: Double

        init(flagged: Set<String>, positives: Set<String>) {
            self.flagged = flagged.count
            truePositives = flagged.intersection(positives).count
            precision = flagged.isEmpty ? 0 : Double(truePositives) / Double(flagged.count)
            recall = positives.isEmpty ? 0 : Double(truePositives) / Double(positives.count)
            f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        }
    }

    public struct RuleReport: Sendable, Hashable, Codable {
        public var id: String
        public var version: Int
        public var alerts: Int
        /// With labels only.
        public var subjects: Figures?
        public var parties: Figures?
    }

    public struct Report: Sendable, Hashable, Codable {
        public var pipeline: String
        public var file: String
        public var format: String
        public var messages: Int
        public var events: Int
        public var deadLetters: Int
        /// The first few dead-letter reasons, to see at once why input was refused.
        public var deadLetterSamples: [String]
        public var alerts: Int
        /// Accounts labelled positive (with labels only).
        public var positives: Int?
        public var rules: [RuleReport]
        /// Every rule together.
        public var all: RuleReport
    }

    /// Account labels from a CSV file: the first column is the account; the label column is
    /// `column`, or the first named like a label (`isFraud`, `is_sar`, `sar`, `label`,
    /// `fraud`); `1`, `true`, `yes` mean positive.
    public static func labels(csv text: String, column: String? = nil) throws(BacktestError) -> Set<String> {
        var lines = text.split(whereSeparator: \.isNewline).makeIterator()
        guard let headerLine = lines.next() else { throw BacktestError("the labels file is empty") }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let candidates = column.map { [$0] } ?? ["isFraud", "is_sar", "sar", "label", "fraud", "is_fraud"]
        guard let index = header.firstIndex(where: { name in candidates.contains { $0.caseInsensitiveCompare(name) == .orderedSame } }),
              index > 0 else {
            throw BacktestError("no label column in the labels header (\(header.joined(separator: ","))); name it with --label-column")
        }
        var positives = Set<String>()
        for line in lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > index else { continue }
            let v = fields[index].trimmingCharacters(in: .whitespaces).lowercased()
            if v == "1" || v == "true" || v == "yes" || v == "y" { positives.insert(fields[0].trimmingCharacters(in: .whitespaces)) }
        }
        return positives
    }

    /// - Parameter messages: the data set cut as a live feed would carry it (``FeedDecoder/split(_:as:)``).
    public static func run(pipeline: PipelineDefinition, config: VigilConfig, messages: [FeedMessage], file: String,
                           format: FeedFormat, positives: Set<String>?) -> Report {
        // The data set stands for one input topic of the declared format.
        var topics = pipeline.topics(from: config)
        let topic = "backtest." + format.rawValue
        topics.inputs = [.init(topic: topic, format: format)]
        let engine = PipelineEngine(pipeline: pipeline, topics: topics, limits: config.runtime.limits,
                                    decodeOptions: config.formats.decodeOptions)
        var report = Report(pipeline: "\(pipeline.name)@\(pipeline.version)", file: file, format: format.rawValue, messages: messages.count, events: 0,
                            deadLetters: 0, deadLetterSamples: [], alerts: 0, positives: positives?.count, rules: [],
                            all: RuleReport(id: "all", version: 0, alerts: 0))
        // Per rule: alert count, subjects and parties named.
        var counts: [String: Int] = [:]
        var subjects: [String: Set<String>] = [:], parties: [String: Set<String>] = [:]
        // Event id → its two accounts, to resolve evidence into parties (only with labels).
        var accountsOf: [String: (String, String)] = [:]
        for (offset, m) in messages.enumerated() {
            var message = ConsumedMessage(topic: topic, partition: 0, offset: Int64(offset), value: m.bytes)
            message.headers = [KafkaHeader(VigilHeaders.sourceFile, file), KafkaHeader(VigilHeaders.sourceLineOffset, String(m.lineOffset))]
            let decoded = engine.decoding.decode(message)
            for case .transaction(let t) in decoded.events {
                report.events += 1
                if positives != nil { accountsOf[t.id] = (t.debtor.account, t.creditor.account) }
            }
            for output in engine.outputs(for: message, decoded: decoded) {
                guard let alert = output.alert else {
                    report.deadLetters += 1
                    if report.deadLetterSamples.count < 5 {
                        let reason = output.record.headers.first(named: VigilHeaders.error) ?? "?"
                        report.deadLetterSamples.append("message \(offset + 1): \(reason)")
                    }
                    continue
                }
                report.alerts += 1
                let named = Set(alert.evidence.flatMap { e in accountsOf[e.eventId].map { [$0.0, $0.1] } ?? [] })
                for f in alert.findings {
                    counts[f.id, default: 0] += 1
                    subjects[f.id, default: []].insert(alert.subject.value ?? "")
                    parties[f.id, default: []].formUnion(named)
                }
            }
        }
        func rule(_ id: String, _ version: Int, alerts: Int, _ s: Set<String>, _ p: Set<String>) -> RuleReport {
            RuleReport(id: id, version: version, alerts: alerts, subjects: positives.map { Figures(flagged: s, positives: $0) },
                       parties: positives.map { Figures(flagged: p, positives: $0) })
        }
        let named = pipeline.rules.definitions.map { ($0.id, $0.version) } + pipeline.stageFindings.map { ($0.id, $0.version) }
            + pipeline.typologies.definitions.map { ($0.id, $0.version) }
        report.rules = named.map { id, version in
            rule(id, version, alerts: counts[id] ?? 0, subjects[id] ?? [], parties[id] ?? [])
        }
        report.all = rule("all", 0, alerts: report.alerts, subjects.values.reduce(into: []) { $0.formUnion($1) },
                          parties.values.reduce(into: []) { $0.formUnion($1) })
        return report
    }

    /// The report as a table for people.
    public static func table(_ r: Report) -> String {
        var out = "pipeline \(r.pipeline) over \(r.file) (\(r.format)): \(r.messages) messages, \(r.events) transactions, "
            + "\(r.deadLetters) dead letters, \(r.alerts) alerts"
        if let p = r.positives { out += ", \(p) accounts labelled positive" }
        out += "\n"
        for s in r.deadLetterSamples { out += "  dead letter: \(s)\n" }
        let labelled = r.positives != nil
        var rows = [["rule", "alerts"] + (labelled ? ["subjects", "P", "R", "F1", "parties", "P", "R", "F1"] : [])]
        for rule in r.rules + [r.all] {
            var row = [rule.id == "all" ? "(all rules)" : "\(rule.id)@\(rule.version)", String(rule.alerts)]
            for f in [rule.subjects, rule.parties].compactMap({ $0 }) {
                row += [String(f.flagged), fixed(f.precision), fixed(f.recall), fixed(f.f1)]
            }
            rows.append(row)
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            out += row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ") + "\n"
        }
        return out
    }

    private static func fixed(_ v: Double) -> String { String(format: "%.3f", v) }
}

public struct BacktestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
