import Foundation
import Logging
import VigilKafka

/// Publishes canonical JSON lines to a topic, keyed by `debtor.account`, so all of an account's
/// transactions land on one partition (which is what per-account windows rely on).
public enum Feeder {
    public struct Report: Sendable, Equatable {
        public var sent = 0
        public var acknowledged = 0
        /// Lines sent without a key because no `debtor.account` could be read from them.
        public var unkeyed = 0
        /// Per-line delivery failures, as `line N: reason`.
        public var failures: [String] = []
    }

    /// The partition key of a canonical transaction line: its `debtor.account`, if readable.
    public static func key(of line: String) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let debtor = object["debtor"] as? [String: Any], let account = debtor["account"] as? String, !account.isEmpty
        else { return nil }
        return Array(account.utf8)
    }

    /// Sends every non-empty line and waits for all acknowledgements. Blank lines are skipped;
    /// lines that are not valid transactions are still sent (the pipeline dead-letters them, with
    /// the reason), because losing them silently is worse.
    public static func publish(_ lines: [String], topic: String, producer: KafkaProducer) async -> Report {
        var report = Report()
        var records: [ProducerRecord] = []
        var lineNumbers: [Int] = []
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            let key = key(of: trimmed)
            if key == nil { report.unkeyed += 1 }
            records.append(ProducerRecord(topic: topic, key: key, value: Array(trimmed.utf8)))
            lineNumbers.append(i + 1)
        }
        report.sent = records.count
        let results = Locked([Result<DeliveryReport, KafkaError>?](repeating: nil, count: records.count))
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            guard !records.isEmpty else { return done.resume() }
            let countdown = PublishCountdownAll(records.count) { done.resume() }
            for (i, r) in records.enumerated() {
                producer.sendRetryingWhenFull(r) { result in
                    results.withLock { $0[i] = result }
                    countdown.done()
                }
            }
        }
        for (i, result) in results.value.enumerated() {
            switch result {
            case .success?: report.acknowledged += 1
            case .failure(let e)?: report.failures.append("line \(lineNumbers[i]): \(e)")
            case nil: report.failures.append("line \(lineNumbers[i]): no delivery report")
            }
        }
        return report
    }
}

/// Calls `completion` once after `count` calls to `done()`.
final class PublishCountdownAll: Sendable {
    private let remaining: Locked<Int>
    private let completion: @Sendable () -> Void
    init(_ count: Int, _ completion: @escaping @Sendable () -> Void) {
        remaining = Locked(count)
        self.completion = completion
    }
    func done() {
        if remaining.withLock({ $0 -= 1; return $0 == 0 }) { completion() }
    }
}
