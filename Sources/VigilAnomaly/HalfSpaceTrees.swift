import VigilCore

/// Half-Space Trees (Tan, Ting & Liu, "Fast Anomaly Detection for Streaming Data", IJCAI 2011),
/// the algorithm of River's `anomaly.HalfSpaceTrees`: an ensemble of random trees over the
/// feature space, each node counting how many points of the last window fell into it.
/// A point in a sparsely populated region is anomalous. Score first, then learn.
///
/// - Features are expected in `limits` (default [0, 1] each; put a ``MinMaxScaler`` in front
///   when they are not).
/// - Each tree is built once, from the seed: at every node a feature is drawn with probability
///   proportional to the width of its current range, and split uniformly within that range
///   without its outer 15 % on either side.
/// - The counts of the window being filled (`l`) become the reference counts (`r`) when the window
///   is full; scoring walks each tree, adding `r · 2^depth` at every node down to the first one
///   with fewer than a tenth of a window's points, and the sum is flipped and normalised so that
///   1 is the most anomalous.
///
/// Memory is constant: `trees × (2^(height+1) − 1)` nodes, stored level by level in flat arrays
/// (node `i` has children `2i+1` and `2i+2`).
public struct HalfSpaceTrees: Sendable {
    public struct Options: Sendable, Hashable {
        public var trees = 10
        public var height = 8
        public var window = 250
        public var seed: UInt64 = 42
        public init() {}
    }

    public let options: Options
    public let features: Int
    private let nodesPerTree: Int
    private var feature: [Int32]
    private var threshold: [Double]
    private var latest: [Int32]
    private var reference: [Int32]
    private var counter = 0
    private var firstWindow = true

    public init(features: Int, options: Options = Options(), limits: [ClosedRange<Double>]? = nil) {
        precondition(features > 0 && options.trees > 0 && options.height > 0 && options.window > 0)
        self.options = options
        self.features = features
        nodesPerTree = (1 << (options.height + 1)) - 1
        let total = nodesPerTree * options.trees
        feature = Array(repeating: -1, count: total)
        threshold = Array(repeating: 0, count: total)
        latest = Array(repeating: 0, count: total)
        reference = Array(repeating: 0, count: total)
        var rng = SplitMix64(seed: options.seed)
        let start = (limits ?? Array(repeating: 0...1, count: features)).map { ($0.lowerBound, $0.upperBound) }
        precondition(start.count == features, "one range per feature")
        for t in 0..<options.trees {
            var ranges = start
            build(tree: t * nodesPerTree, node: 0, depth: 0, ranges: &ranges, rng: &rng)
        }
    }

    private mutating func build(tree base: Int, node: Int, depth: Int, ranges: inout [(Double, Double)], rng: inout SplitMix64) {
        guard depth < options.height else { return }
        // A feature drawn in proportion to the width of its range at this node.
        let widths = ranges.map { $0.1 - $0.0 }
        let total = widths.reduce(0, +)
        var pick = rng.nextDouble() * total
        var f = 0
        while f < features - 1, pick >= widths[f] {
            pick -= widths[f]
            f += 1
        }
        let (a, b) = ranges[f]
        let at = a + 0.15 * (b - a) + rng.nextDouble() * 0.7 * (b - a)
        feature[base + node] = Int32(f)
        threshold[base + node] = at
        ranges[f] = (a, at)
        build(tree: base, node: 2 * node + 1, depth: depth + 1, ranges: &ranges, rng: &rng)
        ranges[f] = (at, b)
        build(tree: base, node: 2 * node + 2, depth: depth + 1, ranges: &ranges, rng: &rng)
        ranges[f] = (a, b)
    }

    /// The anomaly score of `x` in [0, 1] (0 until the first window is full).
    public func score(_ x: [Double]) -> Double {
        guard !firstWindow else { return 0 }
        var sum = 0.0
        x.withUnsafeBufferPointer { x in
            feature.withUnsafeBufferPointer { feature in
                threshold.withUnsafeBufferPointer { threshold in
                    reference.withUnsafeBufferPointer { reference in
                        for t in 0..<options.trees {
                            let base = t * nodesPerTree
                            var node = 0
                            var weight = 1.0
                            var depth = 0
                            while true {
                                let r = reference[base + node]
                                sum += Double(r) * weight
                                // River and the paper stop where mass falls below a tenth of a window
                                // (River's `size_limit` is 0.1 · window; counts are whole numbers).
                                if depth == options.height || Double(r) < 0.1 * Double(options.window) { break }
                                node = x[Int(feature[base + node])] < threshold[base + node] ? 2 * node + 1 : 2 * node + 2
                                weight *= 2
                                depth += 1
                            }
                        }
                    }
                }
            }
        }
        let maximum = Double(options.trees) * Double(options.window) * Double((1 << (options.height + 1)) - 1)
        return 1 - sum / maximum
    }

    /// Counts `x` in the window being filled; when it is full, it becomes the reference.
    public mutating func learn(_ x: [Double]) {
        let trees = options.trees, height = options.height, per = nodesPerTree
        x.withUnsafeBufferPointer { x in
            feature.withUnsafeBufferPointer { feature in
                threshold.withUnsafeBufferPointer { threshold in
                    latest.withUnsafeMutableBufferPointer { latest in
                        for t in 0..<trees {
                            let base = t * per
                            var node = 0
                            for _ in 0..<height {
                                latest[base + node] += 1
                                node = x[Int(feature[base + node])] < threshold[base + node] ? 2 * node + 1 : 2 * node + 2
                            }
                            latest[base + node] += 1
                        }
                    }
                }
            }
        }
        counter += 1
        if counter == options.window {
            swap(&reference, &latest)
            for i in latest.indices { latest[i] = 0 }
            firstWindow = false
            counter = 0
        }
    }
}

extension HalfSpaceTrees {
    /// Writes the mass profiles and the window's position (``StateWriter``); the trees' shape
    /// comes from the seed and options, so it is not state.
    public func write(to w: inout StateWriter) {
        w.write(latest.count)
        for v in latest { w.write(Int64(v)) }
        for v in reference { w.write(Int64(v)) }
        w.write(counter)
        w.write(firstWindow)
    }

    /// Reads what ``write(to:)`` wrote into trees made with the same options and features.
    public mutating func read(from r: inout StateReader) throws(StateError) {
        let n = try r.count(ofAtLeast: 16)
        guard n == latest.count else { throw StateError("half-space trees: \(n) nodes, expected \(latest.count) (trees or height changed)") }
        for i in 0..<n { latest[i] = Int32(truncatingIfNeeded: try r.int64()) }
        for i in 0..<n { reference[i] = Int32(truncatingIfNeeded: try r.int64()) }
        counter = try r.int()
        firstWindow = try r.bool()
    }
}

/// Online min-max scaling to [0, 1], as River's `preprocessing.MinMaxScaler`: learn a point, then
/// scale with the minimum and maximum seen so far (a feature that has not varied scales to its
/// distance from the minimum, i.e. 0).
public struct MinMaxScaler: Sendable {
    private var low: [Double]
    private var high: [Double]
    private var seen = false

    public init(features: Int) {
        low = Array(repeating: .infinity, count: features)
        high = Array(repeating: -.infinity, count: features)
    }

    public mutating func learn(_ x: [Double]) {
        seen = true
        for i in x.indices {
            low[i] = min(low[i], x[i])
            high[i] = max(high[i], x[i])
        }
    }

    public func transform(_ x: [Double]) -> [Double] {
        guard seen else { return Array(repeating: 0, count: x.count) }
        return x.indices.map { i in
            let range = high[i] - low[i]
            return range == 0 ? x[i] - low[i] : (x[i] - low[i]) / range
        }
    }
}

extension MinMaxScaler {
    public func write(to w: inout StateWriter) {
        w.write(low)
        w.write(high)
        w.write(seen)
    }

    public mutating func read(from r: inout StateReader) throws(StateError) {
        let low = try r.doubles(), high = try r.doubles()
        guard low.count == self.low.count, high.count == self.high.count else {
            throw StateError("scaler: \(low.count) features, expected \(self.low.count)")
        }
        self.low = low
        self.high = high
        seen = try r.bool()
    }
}
