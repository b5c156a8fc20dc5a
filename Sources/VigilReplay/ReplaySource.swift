import Foundation
import VigilCore
import VigilKafka
import VigilPipeline

/// How fast a replay goes: as fast as possible, or paced by the recorded timestamps.
public enum ReplaySpeed: Sendable, Equatable, CustomStringConvertible {
    case max
    /// 1 = the recorded pace (`realtime`); 10 = ten times faster (`x10`).
    case factor(Double)

    /// Parses `max`, `realtime` or `xN` (N > 0, may be fractional).
    public init?(_ text: String) {
        switch text {
        case "max": self = .max
        case "realtime": self = .factor(1)
        default:
            guard text.hasPrefix("x"), let f = Double(text.dropFirst()), f > 0, f.isFinite else { return nil }
            self = .factor(f)
        }
    }

    public var description: String {
        switch self {
        case .max: return "max"
        case .factor(let f): return f == 1 ? "realtime" : "x\(f)"
        }
    }
}

/// What a replay reads: a recording, or canonical JSON lines standing for one input topic.
public enum ReplayInput: Sendable {
    case recording(path: String)
    /// Each non-blank line becomes a message of `topic`, partition 0, offset = its line index
    /// (0-based), without a key (detection never reads the message key, and parsing every line
    /// twice to find one would halve the replay rate).
    case jsonLines(path: String, topic: String)

    /// A recording when the file starts with the recording header, JSON lines otherwise.
    public static func detect(path: String, topic: String) throws -> ReplayInput {
        guard let h = FileHandle(forReadingAtPath: path) else { throw RecordingError.unreadable(path) }
        defer { try? h.close() }
        let prefix = [UInt8](try h.read(upToCount: RecordingFormat.magic.count) ?? Data())
        return RecordingFormat.isRecording(prefix) ? .recording(path: path) : .jsonLines(path: path, topic: topic)
    }
}

/// A ``RecordSource`` over a file: messages in file order, in batches, optionally paced by their
/// timestamps. Reading stops at the first unreadable part of a recording; ``failure`` says where.
public final class ReplaySource: RecordSource, @unchecked Sendable {
    // Mutable state is touched only by the single consumer of `nextBatch()` (the runner's
    // dispatcher), except `stopped` and `failure`, which are locked.
    private let input: ReplayInput
    private let speed: ReplaySpeed
    private let batchSize: Int
    private var reader: RecordingReader?
    private var lineReader: LineReader?
    private var lineIndex = 0
    /// Messages read ahead, handed over from `next` on (an index, so taking one moves nothing).
    private var buffered: [ConsumedMessage] = []
    private var next = 0
    private var started = false
    private var pace: (first: Int64, start: ContinuousClock.Instant)?
    private let lock = NSLock()
    private var stopped = false
    private var _failure: RecordingError?
    public private(set) var messagesRead = 0

    public init(input: ReplayInput, speed: ReplaySpeed = .max, batchSize: Int = 512) {
        self.input = input
        self.speed = speed
        self.batchSize = batchSize
    }

    /// Why reading stopped early, if it did.
    public var failure: RecordingError? { lock.withLock { _failure } }

    public var generation: Int { 0 }
    public func store(_ offsets: [TopicPartition: Int64]) {}
    public func commit() {}
    public func close() {}
    public func onGenerationChange(_ handler: @escaping @Sendable (Int?) -> Void) {}
    public func stop() { lock.withLock { stopped = true } }

    public func nextBatch() async -> ConsumerBatch? {
        if lock.withLock({ stopped || _failure != nil }) { return nil }
        var batch: [ConsumedMessage] = []
        do {
            try open()
            while batch.count < batchSize {
                if next == buffered.count { (buffered, next) = (try readMore(), 0) }
                guard next < buffered.count else { break }
                if case .factor(let f) = speed, let ts = timestamp(of: buffered[next]) {
                    let due = dueTime(ts, factor: f)
                    if due > ContinuousClock.now {
                        // Hand over what is due; wait for the rest.
                        if !batch.isEmpty { break }
                        try? await Task.sleep(until: due)
                    }
                }
                batch.append(buffered[next])
                next += 1
            }
        } catch {
            // Everything read before the bad part is still handed over; the next call ends.
            let e = error as? RecordingError
                ?? RecordingError(file: "\(input)", byteOffset: 0, recordsRead: messagesRead + batch.count, message: "\(error)")
            lock.withLock { _failure = e }
        }
        messagesRead += batch.count
        return batch.isEmpty ? nil : ConsumerBatch(generation: 0, messages: batch)
    }

    private func open() throws {
        guard !started else { return }
        started = true
        switch input {
        case .recording(let path):
            reader = try RecordingReader(path: path)
        case .jsonLines(let path, _):
            guard let handle = FileHandle(forReadingAtPath: path) else { throw RecordingError.unreadable(path) }
            lineReader = LineReader(handle)
        }
    }

    private func readMore() throws -> [ConsumedMessage] {
        switch input {
        case .recording:
            return try reader?.nextBlock() ?? []
        case .jsonLines(_, let topic):
            var out: [ConsumedMessage] = []
            while out.count < batchSize, let raw = try lineReader?.next() {
                let offset = Int64(lineIndex)
                lineIndex += 1
                let line = raw.trimmingASCIIWhitespace()
                guard !line.isEmpty else { continue }
                out.append(ConsumedMessage(topic: topic, partition: 0, offset: offset, value: Array(line)))
            }
            return out
        }
    }

    /// Recorded messages pace by their Kafka timestamp; JSON lines by their event time.
    private func timestamp(of m: ConsumedMessage) -> Int64? {
        if let t = m.timestampMilliseconds { return t }
        return (try? CanonicalDecoder.transaction(from: m.value)).map { $0.ts.microseconds / 1000 }
    }

    private func dueTime(_ ts: Int64, factor: Double) -> ContinuousClock.Instant {
        if pace == nil { pace = (ts, ContinuousClock.now) }
        let elapsedMs = Double(max(0, ts - pace!.first)) / factor
        return pace!.start + .milliseconds(Int64(elapsedMs))
    }
}
