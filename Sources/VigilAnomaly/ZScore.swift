/// Per-feature standard scores against everything seen so far (Welford's running mean and
/// variance): the score is the largest |z| over the features, mapped to [0, 1) as z / (1 + z),
/// and the features ranked by |z| say why. Score first, then learn; constant memory.
public struct ZScoreDetector: Sendable {
    private var count = 0.0
    private var mean: [Double]
    private var m2: [Double]

    public init(features: Int) {
        mean = Array(repeating: 0, count: features)
        m2 = Array(repeating: 0, count: features)
    }

    /// |z| of each feature (0 while fewer than two points are known or a feature has not varied).
    public func zScores(_ x: [Double]) -> [Double] {
        guard count >= 2 else { return Array(repeating: 0, count: x.count) }
        return x.indices.map { i in
            let sd = (m2[i] / (count - 1)).squareRoot()
            return sd > 0 ? abs(x[i] - mean[i]) / sd : 0
        }
    }

    public func score(_ x: [Double]) -> Double {
        let z = zScores(x).max() ?? 0
        return z / (1 + z)
    }

    public mutating func learn(_ x: [Double]) {
        count += 1
        for i in x.indices {
            let delta = x[i] - mean[i]
            mean[i] += delta / count
            m2[i] += delta * (x[i] - mean[i])
        }
    }
}
