/// Ranking quality of anomaly scores against labels.
public enum RankingMetrics {
    /// Area under the ROC curve, exactly: the probability that a random anomaly scores above a
    /// random normal point, ties counting half (the Mann–Whitney statistic).
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count)
        let positives = labels.count { $0 }, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Ranks from 1, tied scores sharing their mean rank.
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let mean = Double(i + j + 2) / 2
            for k in i...j where labels[order[k]] { rankSum += mean }
            i = j + 1
        }
        let p = Double(positives), n = Double(negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }

    /// Area under the precision-recall curve as average precision: the precision at each
    /// anomaly, in decreasing score order, averaged (tied scores taken as one step).
    public static func prAUC(scores: [Double], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count)
        let positives = labels.count { $0 }
        guard positives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var truePositives = 0, seen = 0
        var sum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let hits = (i...j).count { labels[order[$0]] }
            truePositives += hits
            seen += j - i + 1
            sum += Double(hits) * Double(truePositives) / Double(seen)
            i = j + 1
        }
        return sum / Double(positives)
    }
}
