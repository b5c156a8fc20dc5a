import Foundation
import Logging
import VigilCore
import VigilDetect
import VigilKafka

/// The scoring stage's learnt state across restarts (`runtime.state-directory`): what the anomaly
/// detectors learnt, written by each worker every `runtime.checkpoint-interval` and at a clean
/// stop, and loaded at the next start.
///
/// Window state is rebuilt by re-reading the input (the state rewind), because a window holds at
/// most its length of history. A baseline holds an account's whole history (its moving mean over
/// the last dozens of payments, however long ago), which no rewind brings back: without this,
/// every account starts again as new after a restart.
///
/// A snapshot holds, per partition, the highest offset its detectors have learnt. A start reads
/// those offsets before it joins the group, and a partition assigned to it is re-read from the
/// record after that offset, when that lies before the committed one
/// (``KafkaConsumerConfig/stateReplayFrom``): those records are learnt again and alert nothing,
/// as the state rewind's are. So a snapshot of any age gives the state of a run that never
/// stopped — after a clean stop (nothing to re-read) and after a crash (what was learnt since
/// the last checkpoint is re-read) — as long as the input still holds those records.
public final class ScoringState: Sendable {
    public let store: ScoringSnapshots
    let workers: Int
    /// How often a running pipeline writes its state; `nil`: only at a clean stop.
    let checkpointInterval: Duration?
    private let logger: Logger
    /// Where writes are counted: `vigil_state_writes_total{kind,outcome}`, and per worker the
    /// last snapshot's size and when it was written (`vigil_state_snapshot_bytes`,
    /// `vigil_state_written_timestamp_seconds`: alert on an old one).
    private let metrics: PipelineMetrics?
    /// Each worker's snapshot as loaded at start, until its scoring stage takes it.
    private let loaded: Locked<[Int: [UInt8]]>
    /// The highest offset learnt per partition: the snapshots' at start, then each batch's.
    private let scored: Locked<[TopicPartition: Int64]>
    /// Whether a snapshot was loaded: then a partition it does not hold had learnt nothing when
    /// it was taken (it had no records yet, or another instance had it), and is re-read from
    /// its oldest record.
    private let restored: Bool
    /// Checkpoints being written, per worker (a worker writes one at a time; a clean stop waits
    /// for them before it writes the last).
    private let writing = Locked([Int: Task<Void, Never>]())

    /// Loads the workers' snapshots that fit `pipeline` and `limits` (a snapshot taken under
    /// another anomaly section, bound on accounts or number of workers, or damaged, is logged
    /// and left out).
    public init(directory: String, workers: Int, pipeline: PipelineDefinition, limits: WindowLimits, checkpointInterval: Duration?,
                logger: Logger, metrics: PipelineMetrics? = nil) {
        store = ScoringSnapshots(directory: directory)
        self.metrics = metrics
        self.workers = workers
        self.checkpointInterval = checkpointInterval.flatMap { $0 > .zero ? $0 : nil }
        self.logger = logger
        var loaded: [Int: [UInt8]] = [:], scored: [TopicPartition: Int64] = [:]
        for worker in 0..<workers where pipeline.anomaly != nil {
            let path = store.path(worker: worker, of: workers)
            do {
                guard let bytes = try store.load(worker: worker, of: workers) else { continue }
                scored.merge(try Scorers.scoredOffsets(in: bytes, pipeline: pipeline, limits: limits)) { max($0, $1) }
                loaded[worker] = bytes
            } catch {
                logger.warning("scoring state not restored; the anomaly detectors learn again from the records read",
                               metadata: ["file": "\(path)", "reason": "\(error)"])
            }
        }
        self.loaded = Locked(loaded)
        self.scored = Locked(scored)
        restored = !loaded.isEmpty
    }

    /// Where a newly assigned partition is re-read from, at the latest: the record after the last
    /// one its anomaly detectors learnt; its oldest (0) when a snapshot was loaded that does not
    /// hold it; `nil` otherwise (no state to complete: the state rewind alone applies).
    public func replayFrom(_ partition: TopicPartition) -> Int64? {
        if let learnt = scored.withLock({ $0[partition] }) { return learnt + 1 }
        return restored ? 0 : nil
    }

    /// Restores the worker's snapshot loaded at start into its scorers, once.
    func restore(_ scorers: Scorers, worker: Int) {
        guard let state = loaded.withLock({ $0.removeValue(forKey: worker) }) else { return }
        let started = ContinuousClock.now, path = store.path(worker: worker, of: workers)
        do {
            try scorers.restore(state)
            logger.info("scoring state restored", metadata: ["file": "\(path)", "bytes": "\(state.count)",
                                                             "took": "\(DurationText.format(ContinuousClock.now - started))"])
        } catch {
            logger.warning("scoring state not restored; the anomaly detectors learn again from the records read",
                           metadata: ["file": "\(path)", "reason": "\(error)"])
        }
    }

    /// Records how far the detectors have learnt.
    func learnt(through offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        scored.withLock { $0.merge(offsets) { max($0, $1) } }
    }

    /// Writes a worker's checkpoint in the background; skipped while its last one is still being
    /// written (a slow disk must not pile them up, nor reorder them).
    func checkpoint(_ state: [UInt8], worker: Int) {
        writing.withLock { tasks in
            guard tasks[worker] == nil else { return }
            tasks[worker] = Task.detached { [self] in
                write(state, worker: worker, what: "checkpoint")
                _ = writing.withLock { $0.removeValue(forKey: worker) }
            }
        }
    }

    /// At a clean stop: waits for checkpoints being written, then writes each worker's last state.
    func finish(_ states: [Int: [UInt8]]) async {
        for task in writing.value.values { await task.value }
        for (worker, state) in states.sorted(by: { $0.key < $1.key }) { write(state, worker: worker, what: "kept") }
    }

    private func write(_ state: [UInt8], worker: Int, what: String) {
        let started = ContinuousClock.now
        do {
            try store.save(state, worker: worker, of: workers)
            logger.info("scoring state \(what)", metadata: ["file": "\(store.path(worker: worker, of: workers))", "bytes": "\(state.count)",
                                                            "took": "\(DurationText.format(ContinuousClock.now - started))"])
            metrics?.count("vigil_state_writes_total", [("kind", what), ("outcome", "written")])
            metrics?.gauge("vigil_state_snapshot_bytes", [("worker", String(worker + 1))], Int64(state.count))
            metrics?.gauge("vigil_state_written_timestamp_seconds", [("worker", String(worker + 1))], Int64(Date().timeIntervalSince1970))
        } catch {
            logger.error("scoring state not written", metadata: ["reason": "\(error)"])
            metrics?.count("vigil_state_writes_total", [("kind", what), ("outcome", "failed")])
        }
    }
}

/// The files of ``ScoringState``: one per worker, named with the number of workers (partitions
/// are shared among workers by that number, so a snapshot taken with another holds other
/// partitions). A file: `VIGILSCORE`, the form's version, the payload's length, the payload
/// (``Scorers/snapshot()``) and its CRC-32, so a file cut short by a full disk or damaged is
/// recognised and not loaded (a SHA-256 of the 225 MB of a million accounts took 0.6 s more, for
/// nothing: the file is the process's own, not a message between parties).
public struct ScoringSnapshots: Sendable {
    public let directory: String
    static let magic = Array("VIGILSCORE".utf8)
    static let version: UInt64 = 1

    public init(directory: String) { self.directory = directory }

    func path(worker: Int, of workers: Int) -> String {
        (directory as NSString).appendingPathComponent("scoring-\(worker + 1)-of-\(workers).state")
    }

    /// The payload of the worker's snapshot; `nil` when there is none.
    func load(worker: Int, of workers: Int) throws(StateError) -> [UInt8]? {
        let path = path(worker: worker, of: workers)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let contents: [UInt8]
        do { contents = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw StateError("\(path): \(error.localizedDescription)")
        }
        do { return try Self.unwrap(contents) } catch { throw StateError("\(path): \(error)") }
    }

    /// Writes the worker's snapshot (to a temporary file renamed into place: a reader never sees
    /// half a file).
    func save(_ payload: [UInt8], worker: Int, of workers: Int) throws(StateError) {
        let path = path(worker: worker, of: workers)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(Self.wrap(payload)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StateError("\(path): \(error.localizedDescription)")
        }
    }

    static func wrap(_ payload: [UInt8]) -> [UInt8] {
        var w = StateWriter()
        w.write(version)
        w.write(bytes: payload)
        w.write(UInt64(CRC32.of(payload)))
        return magic + w.bytes
    }

    static func unwrap(_ contents: [UInt8]) throws(StateError) -> [UInt8] {
        guard contents.starts(with: magic) else { throw StateError("not a Vigil scoring snapshot") }
        var r = StateReader(Array(contents.dropFirst(magic.count)))
        let version = try r.uint64()
        guard version == Self.version else { throw StateError("snapshot form \(version); this build reads form \(Self.version)") }
        let payload = try r.bytes()
        guard let crc = try? r.uint64(), r.isAtEnd, crc == UInt64(CRC32.of(payload)) else {
            throw StateError("checksum does not match (the file is damaged or cut short)")
        }
        return payload
    }
}
