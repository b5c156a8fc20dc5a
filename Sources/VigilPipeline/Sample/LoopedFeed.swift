import Foundation
import VigilCore
import VigilFormats

/// A feed of any length made from a generated one, for runs longer than a feed can be held in
/// memory (`vigil bench --duration`): event `n` is line `n % count` of the base feed, in its
/// round `n / count`. Round 0 is the base feed unchanged; in round `r` every event id gets the
/// suffix `.r` and every event time moves on by `r` times the feed's span plus a day.
///
/// So the whole stream stays in event-time order, ids stay unique (and alert ids with them),
/// and each round's windows have closed before the next starts: detection state stays within
/// its bounds however long the run, which is what a memory test must see. Only the two fields
/// are rewritten, in the bytes; a malformed line stays malformed.
public struct LoopedFeed: Sendable {
    private struct Line {
        var bytes: [UInt8]
        /// Where the id's value ends (the suffix goes there) and where the time's value lies.
        var idEnd: Int?
        var ts: (range: Range<Int>, time: EventTime)?
        /// The partition key (`debtor.account`), the same in every round: read once here rather
        /// than by parsing every message as it is sent (that was a twentieth of a bench run).
        var key: String?
    }

    private let lines: [Line]
    /// How far one round moves event time.
    public let shift: Duration

    public init(_ feed: SampleFeed) {
        lines = feed.lines.map { Self.parse(Array($0.utf8)) }
        let times = lines.compactMap { $0.ts?.time.microseconds }
        let span = (times.max() ?? 0) - (times.min() ?? 0)
        shift = .microseconds(span) + .seconds(86_400)
    }

    /// Lines in one round.
    public var count: Int { lines.count }

    /// The partition key of event `n` (``Feeder/key(of:)-([UInt8])`` of its line).
    public func key(_ n: Int) -> [UInt8]? { lines[n % lines.count].key.map { Array($0.utf8) } }

    /// Event `n` of the endless feed.
    public subscript(n: Int) -> [UInt8] {
        let round = n / lines.count
        // Only the bytes in the first round: copying the whole line out retained its key too.
        guard round > 0 else { return lines[n % lines.count].bytes }
        let line = lines[n % lines.count]
        // The two edits, in the order they occur in the line.
        var edits: [(range: Range<Int>, text: [UInt8])] = []
        if let end = line.idEnd { edits.append((end..<end, Array(".\(round)".utf8))) }
        if let ts = line.ts {
            let moved = ts.time + shift * round
            edits.append((ts.range, Array(moved.rfc3339.utf8)))
        }
        edits.sort { $0.range.lowerBound < $1.range.lowerBound }
        var out: [UInt8] = []
        out.reserveCapacity(line.bytes.count + 8)
        var at = 0
        for e in edits {
            out += line.bytes[at..<e.range.lowerBound]
            out += e.text
            at = e.range.upperBound
        }
        out += line.bytes[at...]
        return out
    }

    /// Finds the top-level `"id":"…"` and `"ts":"…"` members. The generator writes both as plain
    /// strings (no escapes, no spaces), which is all this needs to read.
    private static func parse(_ bytes: [UInt8]) -> Line {
        func value(of key: StaticString) -> Range<Int>? {
            guard let at = bytes.firstIndex(of: key) else { return nil }
            let start = at + key.utf8CodeUnitCount
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return start..<end
        }
        var line = Line(bytes: bytes, key: Feeder.key(of: bytes).map { String(decoding: $0, as: UTF8.self) })
        line.idEnd = value(of: #""id":""#)?.upperBound
        if let r = value(of: #""ts":""#), let t = EventTime(rfc3339: String(decoding: bytes[r], as: UTF8.self)) { line.ts = (r, t) }
        return line
    }
}
