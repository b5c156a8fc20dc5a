import Foundation
import VigilCore

/// Where the scoring stage keeps what its anomaly detectors learnt across a restart
/// (`runtime.state-directory`): one file per worker, written when the pipeline stops cleanly
/// (every alert acknowledged) and read, then removed, when it starts.
///
/// Window state is rebuilt by re-reading the input (the state rewind), because a window holds
/// at most its length of history. A baseline holds an account's whole history (its moving mean
/// over the last dozens of payments, however long ago) and no rewind brings that back: without a
/// snapshot every account starts again as new after a deploy.
///
/// Removed once read: from then on the state moves on, and a crash must not bring back the
/// state of the start (the baselines would then miss what was learnt in between, and skip it as
/// already scored). After a crash, there is no file and the baselines learn again from what the
/// state rewind re-reads, as without snapshots.
///
/// A file: `VIGILSCORE` and the form's version, the payload's length, the payload
/// (``Scorers/snapshot()``), and its CRC-32, so a file cut short by a full disk or damaged is
/// recognised and not loaded (a SHA-256 of the 225 MB of a million accounts took 0.6 s more,
/// for nothing: the file is the process's own, not a message between parties).
public struct ScoringSnapshots: Sendable {
    public let directory: String
    static let magic = Array("VIGILSCORE".utf8)
    static let version: UInt64 = 1

    public init(directory: String) { self.directory = directory }

    /// A worker's file; the worker count is in the name because partitions are shared among
    /// workers by it: a snapshot taken with another count holds other partitions' accounts.
    func path(worker: Int, of workers: Int) -> String {
        (directory as NSString).appendingPathComponent("scoring-\(worker + 1)-of-\(workers).state")
    }

    /// The payload of the worker's snapshot, removing the file; `nil` when there is none.
    func take(worker: Int, of workers: Int) throws(StateError) -> [UInt8]? {
        let path = path(worker: worker, of: workers)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let contents: [UInt8]
        do {
            contents = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw StateError("\(path): \(error.localizedDescription)")
        }
        do {
            return try Self.unwrap(contents)
        } catch {
            throw StateError("\(path): \(error)")
        }
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
