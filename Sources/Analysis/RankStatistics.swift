import Foundation
import Tensor

/// Rank statistics of the linear datamodeling score (docs/METHOD.md §17): Spearman correlation with average ranks
/// for ties, and a percentile bootstrap over test examples.
public enum RankStatistics {
    /// 1-based ranks; tied values share the average of the ranks they span (e.g. [10, 20, 20, 30] → [1, 2.5, 2.5, 4]).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let shared = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = shared }
            i = j + 1
        }
        return ranks
    }

    /// Pearson correlation; NaN when either sequence is constant or shorter than 2.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "pearson: \(x.count) vs \(y.count) values")
        let n = Double(x.count)
        guard x.count >= 2 else { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        guard sxx > 0 && syy > 0 else { return .nan }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Spearman's ρ: the Pearson correlation of the average ranks (the tie-correct form). NaN for constant input.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(averageRanks(x), averageRanks(y))
    }

    /// Mean of the finite entries (NaN if none).
    public static func finiteMean(_ values: [Double]) -> Double {
        let finite = values.filter { $0.isFinite }
        return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
    }

    /// Percentile-bootstrap confidence interval of the mean over examples: `resamples` draws of n examples with
    /// replacement (seeded), the mean of each draw's finite values, and the (1−level)/2 and (1+level)/2 quantiles
    /// (linear interpolation between order statistics).
    public static func bootstrapMeanInterval(
        _ values: [Double], resamples: Int, seed: UInt64,
        level: Double = 0.95
    ) -> (lower: Double, upper: Double) {
        guard !values.isEmpty, resamples >= 1 else { return (.nan, .nan) }
        var rng = RNG(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0, count = 0
            for _ in 0..<values.count {
                let v = values[rng.int(below: values.count)]
                if v.isFinite { sum += v; count += 1 }
            }
            if count > 0 { means.append(sum / Double(count)) }
        }
        guard !means.isEmpty else { return (.nan, .nan) }
        means.sort()
        return (quantile(means, (1 - level) / 2), quantile(means, (1 + level) / 2))
    }

    /// Quantile of sorted values with linear interpolation (type 7, as numpy's default).
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
