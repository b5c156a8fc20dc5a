import Foundation
import VigilCore

/// One disclosure: which alert went to which partner, what of it, on what grounds.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// An input event position behind the alert.
    public struct Input: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
    }

    /// 1, 2, 3, … with no gap.
    public var seq: Int
    /// When the partner's broker acknowledged the copy (wall clock: this records a disclosure,
    /// it takes no part in detection).
    public var time: String
    public var alert: String
    public var partner: String
    public var topic: String
    public var tlp: String
    public var purpose: String
    public var consent: String
    /// Every policy field the alert carried, with how it was disclosed (`pass`, `redact`, …).
    public var fields: [String: String]
    public var inputs: [Input]
    /// `id@version` of every rule, typology and stage behind the alert.
    public var rules: [String]
    public var pipeline: String
    /// The previous entry's hash (64 zeros for the first).
    public var prev: String
    /// SHA-256 of this entry's canonical JSON without `hash`, in hex.
    public var hash: String

    public static let genesis = String(repeating: "0", count: 64)

    /// The hash this entry must carry.
    public var expectedHash: String {
        var unhashed = self
        unhashed.hash = ""
        return SHA256.hash(try! CanonicalJSON.encode(unhashed)).hex
    }
}

/// What to record of one disclosure; the log adds the sequence, time and chain.
public struct DisclosureRecord: Sendable, Hashable {
    public var alert: Alert
    public var topic: String
    public var fields: [AlertField: FieldTreatment]

    public init(alert: Alert, topic: String, fields: [AlertField: FieldTreatment]) {
        self.alert = alert
        self.topic = topic
        self.fields = fields
    }
}

/// An append-only, hash-chained log of disclosures, one JSON line per entry.
///
/// Each entry carries its sequence number, the previous entry's hash and its own, so changing,
/// inserting or removing an entry breaks the chain where it happened. Removing entries from
/// the end leaves a valid shorter chain; the head file next to the log (`LOG.head`, rewritten
/// after every append) records the last sequence number and hash, so that is caught too.
public final class AuditLog: Sendable {
    public let path: String
    private let state: Locked<(seq: Int, hash: String, handle: FileHandle)>
    private let now: @Sendable () -> Date

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Opens (or creates) the log and continues its chain.
    public init(path: String, now: @escaping @Sendable () -> Date = Date.init) throws(Failure) {
        self.path = path
        self.now = now
        let fm = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? fm.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !fm.fileExists(atPath: path) { _ = fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) }
        guard let data = fm.contents(atPath: path), let handle = FileHandle(forWritingAtPath: path) else {
            throw Failure(description: "cannot open the audit log \(path)")
        }
        var seq = 0, hash = AuditEntry.genesis
        let text = String(decoding: data, as: UTF8.self)
        if let last = text.split(separator: "\n").last {
            // Appending after a damaged line would chain onto something unverifiable: stop and
            // let a person look (a write torn by a crash, or tampering).
            guard data.last == UInt8(ascii: "\n"), let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(last.utf8)) else {
                throw Failure(description: "the audit log \(path) ends in a line that is not a whole entry; check it with `vigil audit verify \(path)`")
            }
            (seq, hash) = (entry.seq, entry.hash)
        }
        handle.seekToEndOfFile()
        state = Locked((seq, hash, handle))
    }

    /// Appends one entry per disclosure, in order, and makes them durable before returning.
    public func append(_ records: [DisclosureRecord]) throws(Failure) {
        guard !records.isEmpty else { return }
        let time = ISO8601DateFormatter().string(from: now())
        let result: Result<Void, Failure> = state.withLock { s in
            var lines = Data()
            var (seq, hash) = (s.seq, s.hash)
            for r in records {
                seq += 1
                var entry = AuditEntry(
                    seq: seq, time: time, alert: r.alert.id, partner: r.alert.partner, topic: r.topic, tlp: r.alert.tlp,
                    purpose: r.alert.purpose, consent: r.alert.consent,
                    fields: Dictionary(uniqueKeysWithValues: r.fields.map { ($0.key.rawValue, $0.value.rawValue) }),
                    inputs: r.alert.evidence.map { .init(topic: $0.topic, partition: $0.partition, offset: $0.offset) },
                    rules: r.alert.findings.map { "\($0.id)@\($0.version)" },
                    pipeline: "\(r.alert.pipeline.name)@\(r.alert.pipeline.version)", prev: hash, hash: "")
                entry.hash = entry.expectedHash
                hash = entry.hash
                lines.append(contentsOf: try! CanonicalJSON.encode(entry))
                lines.append(UInt8(ascii: "\n"))
            }
            do {
                try s.handle.write(contentsOf: lines)
                try s.handle.synchronize()
                let head = try CanonicalJSON.encode(AuditHead(seq: seq, hash: hash))
                try Data(head).write(to: URL(fileURLWithPath: path + ".head"), options: .atomic)
            } catch {
                return .failure(Failure(description: "cannot write the audit log \(path): \(FileProblem.writeReason(path, otherwise: error.localizedDescription))"))
            }
            (s.seq, s.hash) = (seq, hash)
            return .success(())
        }
        try result.get()
    }

    /// Checks a log end to end. Returns the number of entries when the chain is whole;
    /// throws the first break, naming the line.
    public static func verify(path: String) throws(Failure) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path): \(FileProblem.reason(path))") }
        var seq = 0, hash = AuditEntry.genesis
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where !line.isEmpty {
            let at = "\(path):\(index + 1)"
            guard let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(line)) else {
                throw Failure(description: "\(at): not an audit entry (altered, or a write torn by a crash)")
            }
            if entry.seq != seq + 1 {
                let what = entry.seq > seq + 1 ? "entries \(seq + 1)…\(entry.seq - 1) are missing (removed)"
                    : "entry \(entry.seq) comes again after entry \(seq) (inserted or duplicated)"
                throw Failure(description: "\(at): \(what)")
            }
            guard entry.hash == entry.expectedHash else {
                throw Failure(description: "\(at): entry \(entry.seq) was altered (its hash does not match its content)")
            }
            guard entry.prev == hash else {
                throw Failure(description: "\(at): entry \(entry.seq) does not follow the entry before it (an entry was inserted, removed or replaced here)")
            }
            (seq, hash) = (entry.seq, entry.hash)
        }
        if let headData = FileManager.default.contents(atPath: path + ".head") {
            guard let head = try? JSONDecoder().decode(AuditHead.self, from: headData) else {
                throw Failure(description: "\(path).head: not a head record")
            }
            if head.seq != seq || head.hash != hash {
                throw Failure(description: head.seq > seq
                    ? "\(path): the log ends at entry \(seq) but its head records entry \(head.seq): entries \(seq + 1)…\(head.seq) were removed"
                    : "\(path): the log's last entry \(seq) is not the one its head records (entry \(head.seq))")
            }
        }
        return seq
    }
}

/// The last entry written, kept beside the log to catch removal at the end.
struct AuditHead: Codable {
    var seq: Int
    var hash: String
}
