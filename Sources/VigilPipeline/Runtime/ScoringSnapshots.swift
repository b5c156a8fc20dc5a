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
    /// How often a running pipeline writes its state; `nil`: only at a clean stop.
    let checkpointInterval: Duration?
    private let logger: Logger
    /// Where writes are counted: `vigil_state_writes_total{kind,outcome}`, and per worker the
    /// size of its last snapshots and when they were written (`vigil_state_snapshot_bytes`,
    /// `vigil_state_written_timestamp_seconds`: alert on an old one).
    private let metrics: PipelineMetrics?
    /// Each partition's snapshot as loaded at start, until its first record takes it.
    private let loaded: Locked<[TopicPartition: [UInt8]]>
    /// The highest offset learnt per partition: the snapshots' at start, then each batch's.
    private let scored: Locked<[TopicPartition: Int64]>
    /// Whether a snapshot was loaded: then a partition none holds had learnt nothing when they
    /// were taken (it had no records yet, or another instance had it), and is re-read from its
    /// oldest record.
    private let restored: Bool
    /// Checkpoints being written, per worker (a worker writes one at a time; a clean stop waits
    /// for them before it writes the last).
    private let writing = Locked([Int: Task<Void, Never>]())
    /// Topics whose records are not scored (re-keyed copies): no state of theirs to complete.
    private let unscored: Set<String>

    /// Loads the partitions' snapshots that fit `pipeline` and `limits` (one taken under another
    /// anomaly section or bound on accounts, or damaged, is logged and left out).
    /// - Parameter unscored: topics whose records the scorers skip (``VigilConfig/Topics/rekeyed``).
    public init(directory: String, pipeline: PipelineDefinition, limits: WindowLimits, checkpointInterval: Duration?,
                logger: Logger, metrics: PipelineMetrics? = nil, unscored: Set<String> = []) {
        self.unscored = unscored
        store = ScoringSnapshots(directory: directory)
        self.metrics = metrics
        self.checkpointInterval = checkpointInterval.flatMap { $0 > .zero ? $0 : nil }
        self.logger = logger
        var loaded: [TopicPartition: [UInt8]] = [:], scored: [TopicPartition: Int64] = [:]
        let started = ContinuousClock.now
        for path in pipeline.anomaly == nil ? [] : store.files() {
            do {
                let bytes = try store.load(path)
                let (partition, offset) = try Scorers.scoredOffset(in: bytes, pipeline: pipeline, limits: limits)
                // Two files of one partition (copied in from elsewhere): the one that learnt more.
                guard offset > scored[partition] ?? .min else { continue }
                scored[partition] = offset
                loaded[partition] = bytes
            } catch {
                logger.warning("scoring state not restored; the anomaly detectors learn again from the records read",
                               metadata: ["file": "\(path)", "reason": "\(error)"])
            }
        }
        if !loaded.isEmpty {
            logger.info("scoring state loaded", metadata: [
                "directory": "\(directory)", "partitions": "\(loaded.count)", "bytes": "\(loaded.values.reduce(0) { $0 + $1.count })",
                "took": "\(DurationText.format(ContinuousClock.now - started))",
            ])
        }
        self.loaded = Locked(loaded)
        self.scored = Locked(scored)
        restored = !loaded.isEmpty
    }

    /// Where a newly assigned partition is re-read from, at the latest: the record after the last
    /// one its anomaly detectors learnt; its oldest (0) when a snapshot was loaded that does not
    /// hold it; `nil` otherwise, and for an unscored topic (no state to complete: the state
    /// rewind alone applies).
    public func replayFrom(_ partition: TopicPartition) -> Int64? {
        guard !unscored.contains(partition.topic) else { return nil }
        if let learnt = scored.withLock({ $0[partition] }) { return learnt + 1 }
        return restored ? 0 : nil
    }

    /// Restores the partition's snapshot loaded at start into `scorers`, once (at the partition's
    /// first record, on whichever worker has it).
    func restore(_ scorers: Scorers, _ partition: TopicPartition) {
        guard let state = loaded.withLock({ $0.removeValue(forKey: partition) }) else { return }
        do { try scorers.restore(state) } catch {
            logger.warning("scoring state not restored; the anomaly detectors learn again from the records read",
                           metadata: ["file": "\(store.path(partition))", "reason": "\(error)"])
        }
    }

    /// Records how far the detectors have learnt.
    func learnt(through offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        scored.withLock { $0.merge(offsets) { max($0, $1) } }
    }

    /// Takes a worker's checkpoint (`snapshots`) and writes it in the background; skipped, not
    /// even taken, while its last one is still being written (a slow disk must not pile them up,
    /// nor reorder them; and a snapshot taken counts its partitions as kept).
    func checkpoint(worker: Int, _ snapshots: () throws(StateError) -> [TopicPartition: [UInt8]]) throws(StateError) {
        // Only the worker itself starts its writes: free now, it stays free until the one below.
        guard writing.withLock({ $0[worker] == nil }) else { return }
        let taken = try snapshots()
        writing.withLock { tasks in
            tasks[worker] = Task.detached { [self] in
                write(taken, worker: worker, what: "checkpoint")
                _ = writing.withLock { $0.removeValue(forKey: worker) }
            }
        }
    }

    /// At a clean stop: waits for checkpoints being written, then writes each worker's last state.
    func finish(_ states: [Int: [TopicPartition: [UInt8]]]) async {
        for task in writing.value.values { await task.value }
        for (worker, snapshots) in states.sorted(by: { $0.key < $1.key }) { write(snapshots, worker: worker, what: "kept") }
    }

    private func write(_ snapshots: [TopicPartition: [UInt8]], worker: Int, what: String) {
        guard !snapshots.isEmpty else { return }
        let started = ContinuousClock.now
        let bytes = snapshots.values.reduce(0) { $0 + $1.count }
        do {
            for (partition, snapshot) in snapshots.sorted(by: { $0.key < $1.key }) { try store.save(snapshot, partition) }
            logger.info("scoring state \(what)", metadata: ["directory": "\(store.directory)", "worker": "\(worker + 1)",
                                                            "partitions": "\(snapshots.count)", "bytes": "\(bytes)",
                                                            "took": "\(DurationText.format(ContinuousClock.now - started))"])
            metrics?.count("vigil_state_writes_total", [("kind", what), ("outcome", "written")])
            metrics?.gauge("vigil_state_snapshot_bytes", [("worker", String(worker + 1))], Int64(bytes))
            metrics?.gauge("vigil_state_written_timestamp_seconds", [("worker", String(worker + 1))], Int64(Date().timeIntervalSince1970))
        } catch {
            logger.error("scoring state not written", metadata: ["reason": "\(error)"])
            metrics?.count("vigil_state_writes_total", [("kind", what), ("outcome", "failed")])
        }
    }
}

/// The files of ``ScoringState``: one per partition, `scoring-<topic>-<partition>.state`
/// (whichever worker or instance has the partition). A file: `VIGILSCORE`, the form's version,
/// the payload's length, the payload (a partition's part of ``Scorers/snapshots()``) and its
/// CRC-32, so a file cut short by a full disk or damaged is recognised and not loaded (a SHA-256
/// of the 225 MB of a million accounts took 0.6 s more, for nothing: the file is the process's
/// own, not a message between parties). Form 1 (until 2026-12-06) was a file per worker.
public struct ScoringSnapshots: Sendable {
    public let directory: String
    static let magic = Array("VIGILSCORE".utf8)
    static let version: UInt64 = 2
    private static let prefix = "scoring-", suffix = ".state"

    public init(directory: String) { self.directory = directory }

    /// A partition's file. Topic names are letters, digits, `.`, `_` and `-`, so they need no escaping.
    func path(_ partition: TopicPartition) -> String {
        (directory as NSString).appendingPathComponent("\(Self.prefix)\(partition.topic)-\(partition.partition)\(Self.suffix)")
    }

    /// The snapshot files in the directory, by name (none when it does not exist).
    func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(Self.prefix) && $0.hasSuffix(Self.suffix) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The payload of a snapshot file.
    func load(_ path: String) throws(StateError) -> [UInt8] {
        let contents: [UInt8]
        do { contents = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw StateError("\(path): \(error.localizedDescription)")
        }
        do { return try Self.unwrap(contents) } catch { throw StateError("\(path): \(error)") }
    }

    /// Writes a partition's snapshot (to a temporary file renamed into place: a reader never sees
    /// half a file).
    func save(_ payload: [UInt8], _ partition: TopicPartition) throws(StateError) {
        let path = path(partition)
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
