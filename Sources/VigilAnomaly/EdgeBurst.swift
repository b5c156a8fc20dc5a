import CPrefetch
import Foundation
import VigilCore

/// Sudden bursts between accounts, MIDAS-style (Bhatia et al., "MIDAS: Microcluster-Based
/// Detector of Anomalies in Edge Streams", AAAI 2020), in its relational form (MIDAS-R): count-min
/// sketches count each (debtor, creditor) edge, each debtor and each creditor, in the current
/// time tick and since the start; a count in this tick far above the average per tick so far is a
/// burst. The score of an edge is the largest of the three chi-squared statistics
/// `(s − a/t)² · t² / (a · (t − 1))`, mapped to [0, 1) as x / (1 + x).
///
/// Constant memory: `rows × buckets` counters per sketch, whatever the number of accounts.
/// Current-tick counts decay by `decay` at each new tick rather than dropping to zero (the "R"
/// of MIDAS-R: a burst straddling a tick boundary is still seen). Hashing is seeded and the same on
/// every machine, so scores are deterministic.
public struct EdgeBurst: Sendable {
    public struct Options: Sendable, Hashable {
        public var rows = 2
        public var buckets = 4_096
        public var decay = 0.5
        public var seed: UInt64 = 42
        public init() {}
    }

    /// Per key kind (the edge's, the source's, the target's), two count-min sketches over the
    /// same buckets, the current tick's and the total, a bucket's counters side by side: a key's
    /// counts are read from one place in memory per row, not two. The three kinds' sketches lie
    /// one after the other in one array, so counting an edge is one exclusive access to it (as
    /// three arrays in an array, every event retained and released each of them).
    ///
    /// The current counts decay lazily: a bucket remembers how many tick changes it had seen
    /// when it was last counted, and catches up on those since (`decay` to that power) when it
    /// is next counted. Scaling every current count at each change read the whole sketch
    /// (393 KB) once a tick; with a sketch per partition that was a sweep every few dozen
    /// payments. With `decay` 0.5 the two give the same bits (halving is exact).
    ///
    /// Per row and bucket: the current count (as of the bucket's last count), the total, and
    /// the number of tick changes then (a whole number, exact as a double).
    private var counts: [Double]
    private static let width = 3, kinds = 3
    /// Counters of one kind's sketches.
    private let sketchSize: Int

    public let options: Options
    private var tick: Int64?
    private var ticks = 1.0
    /// How many times the tick has changed: each change decays every current count once.
    private var changes = 0.0
    private let seeds: [UInt64]
    /// `decay` to the powers 0 ..< 64, each the one before times `decay` (as repeated
    /// multiplication gives them).
    private let powers: [Double]
    /// The edges ``prefetch(source:target:)`` last asked for and their keys, so that counting
    /// one does not hash its accounts again. Not state: nothing is counted until it is processed.
    private var prefetched = InlineArray<2, (source: String, target: String, keys: InlineArray<3, UInt64>)?>(repeating: nil)
    private var nextPrefetched = 0

    public init(options: Options = Options()) {
        self.options = options
        sketchSize = Self.width * options.rows * options.buckets
        counts = Array(repeating: 0, count: Self.kinds * sketchSize)
        var rng = SplitMix64(seed: options.seed)
        seeds = (0..<options.rows).map { _ in rng.next() }
        var power = 1.0
        powers = (0..<64).map { _ in defer { power *= options.decay }; return power }
    }

    /// Continues the FNV-1a hash `h` over `text`'s bytes (FNV runs byte by byte, so a key made
    /// of several texts is hashed without joining them).
    private static func fnv(_ text: String, after h: UInt64 = FNV1a.offsetBasis) -> UInt64 {
        var h = h
        for b in text.utf8 { h = FNV1a.step(h, UInt64(b)) }
        return h
    }

    /// The bucket of a key's hash in the row of `seed`.
    static func bucket(_ key: UInt64, seed: UInt64, buckets: Int) -> Int {
        var x = key ^ seed
        x = (x ^ (x >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        x = (x ^ (x >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        // The same bucket either way; a mask is a cycle where a 64-bit division is dozens, six
        // times an edge (the default 4,096 buckets are a power of two).
        return buckets & (buckets - 1) == 0 ? Int(x & UInt64(buckets - 1)) : Int(x % UInt64(buckets))
    }

    private static func chiSquared(current s: Double, total a: Double, ticks t: Double) -> Double {
        guard t > 1, a > 0 else { return 0 }
        let expected = a / t
        return (s - expected) * (s - expected) * t * t / (a * (t - 1))
    }

    /// The edge, its source and its target as sketch keys: "source␟target", "s␟source", "t␟target".
    private static func keys(source: String, target: String) -> InlineArray<3, UInt64> {
        [fnv(target, after: fnv("\u{1F}", after: fnv(source))), fnv(source, after: fnv("s\u{1F}")), fnv(target, after: fnv("t\u{1F}"))]
    }

    /// Where each key's counters are, in each row: `at[k * rows + r]` for key `k` in row `r`.
    private func locate(_ keys: InlineArray<3, UInt64>, into at: UnsafeMutableBufferPointer<Int>) {
        let rows = options.rows, buckets = options.buckets
        seeds.withUnsafeBufferPointer { seeds in
            for k in 0..<Self.kinds {
                for r in 0..<rows { at[k * rows + r] = k * sketchSize + Self.width * (r * buckets + Self.bucket(keys[k], seed: seeds[r], buckets: buckets)) }
            }
        }
    }

    /// Asks for the counters the edge from `source` to `target` will count, without counting it:
    /// called for the next payment while this one is being scored, their fetches from memory
    /// overlap with that work instead of stalling ``process(source:target:time:)`` (with a
    /// sketch per partition, 75 MB over 128 partitions, they are rarely in any cache).
    public mutating func prefetch(source: String, target: String) {
        let keys = Self.keys(source: source, target: target)
        // The caller asks for the next edge before counting this one: two are remembered.
        prefetched[nextPrefetched] = (source, target, keys)
        nextPrefetched ^= 1
        withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.kinds * options.rows) { at in
            locate(keys, into: at)
            counts.withUnsafeBufferPointer { counts in
                for i in at { vigil_prefetch(counts.baseAddress! + i) }
            }
        }
    }

    /// Counts the edge from `source` to `target` at time tick `time` (ticks must not go back),
    /// and scores it against what came before.
    public mutating func process(source: String, target: String, time: Int64) -> Double {
        if let last = tick, time > last {
            ticks += Double(time - last)
            changes += 1
        }
        tick = max(tick ?? time, time)
        let keys: InlineArray<3, UInt64>
        if let p = prefetched[0], p.source == source, p.target == target {
            keys = p.keys
            prefetched[0] = nil
        } else if let p = prefetched[1], p.source == source, p.target == target {
            keys = p.keys
            prefetched[1] = nil
        } else {
            keys = Self.keys(source: source, target: target)
        }
        let rows = options.rows, changes = changes, ticks = ticks, decay = options.decay
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.kinds * rows) { at in
            locate(keys, into: at)
            return powers.withUnsafeBufferPointer { powers in
                counts.withUnsafeMutableBufferPointer { counts in
                    // All the buckets are asked for at once (if `prefetch` did not already), so
                    // their fetches from memory overlap instead of following one another.
                    for i in at { vigil_prefetch(counts.baseAddress! + i) }
                    var worst = 0.0
                    for k in 0..<Self.kinds {
                        // One added to the key's counters in every row, as of `changes` tick
                        // changes; the estimates are the smallest current and total counts after.
                        var current = Double.infinity, total = Double.infinity
                        for i in at[k * rows..<(k + 1) * rows] {
                            let missed = changes - counts[i + 2]
                            if missed > 0 {
                                counts[i] *= missed < Double(powers.count) ? powers[Int(missed)] : pow(decay, missed)
                                counts[i + 2] = changes
                            }
                            counts[i] += 1
                            counts[i + 1] += 1
                            current = min(current, counts[i])
                            total = min(total, counts[i + 1])
                        }
                        worst = max(worst, Self.chiSquared(current: current, total: total, ticks: ticks))
                    }
                    return worst / (1 + worst)
                }
            }
        }
    }
}

extension EdgeBurst {
    /// Writes what the sketches have counted (``StateWriter``); the options and seeds are the
    /// configuration's, not state.
    public func write(to w: inout StateWriter) {
        // Each kind's sketches as an array of their own, as when they were kept apart.
        w.write(Self.kinds)
        for k in 0..<Self.kinds { w.write(Array(counts[k * sketchSize..<(k + 1) * sketchSize])) }
        w.write(tick != nil)
        w.write(tick ?? 0)
        w.write(ticks)
        w.write(changes)
    }

    /// Reads what ``write(to:)`` wrote into a detector made with the same options.
    public mutating func read(from r: inout StateReader) throws(StateError) {
        let n = try r.count(ofAtLeast: 8)
        guard n == Self.kinds else { throw StateError("edge bursts: \(n) sketches, expected \(Self.kinds)") }
        var read: [Double] = []
        read.reserveCapacity(counts.count)
        for _ in 0..<n {
            let sketch = try r.doubles()
            guard sketch.count == sketchSize else {
                throw StateError("edge bursts: a sketch of \(sketch.count) counters, expected \(sketchSize) (rows or buckets changed)")
            }
            read += sketch
        }
        counts = read
        let hasTick = try r.bool()
        let t = try r.int64()
        tick = hasTick ? t : nil
        ticks = try r.double()
        changes = try r.double()
    }
}
