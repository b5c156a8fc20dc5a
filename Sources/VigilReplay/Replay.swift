import Foundation
import Logging
import VigilCore
import VigilKafka
import VigilPipeline

/// A ``RecordSink`` that acknowledges at once and hands every record to a closure, in the order
/// published (stdout, a file, a test).
public final class CallbackSink: RecordSink {
    private let handle: @Sendable (ProducerRecord) -> Void
    public init(_ handle: @escaping @Sendable (ProducerRecord) -> Void) { self.handle = handle }
    public func publish(_ records: [ProducerRecord], completion: @escaping @Sendable ((any Error)?) -> Void) async {
        records.forEach(handle)
        completion(nil)
    }
    public func close() {}
}

/// Replays a file through the same runner, engine and rules as a live pipeline.
public enum Replay {
    public struct Result: Sendable {
        public var stats: PipelineRunner.Stats
        public var messagesRead: Int
        /// Set when a recording could not be read to its end: everything before was replayed.
        public var stoppedEarly: RecordingError?
    }

    /// Runs the replay to the end of the input.
    ///
    /// One worker keeps the output order identical to the input order, so two replays of the same
    /// file give byte-identical output (alerts are already deterministic in content; a single
    /// worker makes their order so too).
    public static func run(
        input: ReplayInput,
        pipeline: PipelineDefinition,
        config: VigilConfig,
        speed: ReplaySpeed = .max,
        sink: any RecordSink,
        logger: Logger,
        onAlert: (@Sendable (Alert) -> Void)? = nil
    ) async throws -> Result {
        let source = ReplaySource(input: input, speed: speed)
        var options = PipelineRunner.Options(workers: 1, limits: config.runtime.limits)
        options.shutdownTimeout = config.runtime.shutdownTimeout
        options.decodeOptions = config.formats.decodeOptions
        options.keysDirectory = config.sharing.keysDirectory
        let runner = PipelineRunner(pipeline: pipeline, topics: pipeline.topics(from: config), options: options,
                                    source: source, sink: sink, logger: logger, onAlert: onAlert)
        try await runner.run()
        return Result(stats: runner.stats, messagesRead: source.messagesRead, stoppedEarly: source.failure)
    }
}

/// Compares alert lines with a golden file and describes every difference in words.
public enum GoldenAlerts {
    /// Differences between expected and actual alert lines (JSON), matched by alert id:
    /// missing, unexpected, and changed alerts with the fields that differ. Empty when equal,
    /// including order.
    public static func differences(expected: [String], actual: [String]) -> [String] {
        if expected == actual { return [] }
        func parse(_ lines: [String]) -> [(id: String, fields: [String: String], line: String)] {
            lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { line in
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) ?? line
                var fields: [String: String] = [:]
                flatten(object, "", into: &fields)
                return (fields["id"] ?? "(no id: \(line.prefix(60)))", fields, line)
            }
        }
        let e = parse(expected), a = parse(actual)
        let expectedByID = Dictionary(e.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let actualByID = Dictionary(a.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var out: [String] = []
        func describe(_ f: [String: String]) -> String {
            "rule \(f["findings[0].id"] ?? "?"), subject \(f["subject.value"] ?? "?"), ts \(f["ts"] ?? "?")"
        }
        for x in e where actualByID[x.id] == nil { out.append("missing: \(x.id) (\(describe(x.fields)))") }
        for x in a where expectedByID[x.id] == nil { out.append("unexpected: \(x.id) (\(describe(x.fields)))") }
        for x in e {
            guard let y = actualByID[x.id] else { continue }
            for key in Set(x.fields.keys).union(y.fields.keys).sorted() where x.fields[key] != y.fields[key] {
                out.append("changed: \(x.id) \(key): expected \(x.fields[key] ?? "(absent)"), got \(y.fields[key] ?? "(absent)")")
            }
        }
        if out.isEmpty {
            let common = Array(zip(e, a)).firstIndex { $0.id != $1.id } ?? min(e.count, a.count)
            out.append("same alerts in another order: first difference at alert \(common + 1)")
        }
        return out
    }

    private static func flatten(_ value: Any, _ path: String, into out: inout [String: String]) {
        switch value {
        case let d as [String: Any]:
            for (k, v) in d { flatten(v, path.isEmpty ? k : "\(path).\(k)", into: &out) }
        case let a as [Any]:
            for (i, v) in a.enumerated() { flatten(v, "\(path)[\(i)]", into: &out) }
        default:
            out[path] = "\(value)"
        }
    }
}
