import Foundation

/// The linear datamodeling score of one attribution method (docs/METHOD.md §17, TRAK's LDS).
///
/// For each test example z: ĝ_m(z) = Σ_{j ∈ S_m} τ(z)_j over the M subsets, and LDS(z) = Spearman(ĝ(z), o(z)) with
/// o_m(z) the margin of the model retrained on S_m. The score is the mean over test examples (NaN entries — a
/// constant sequence — are left out and counted), with a bootstrap interval over test examples.
public struct LinearDatamodelScore: Sendable {
    /// (n) LDS(z) per test example.
    public var perExample: [Double]
    /// Mean over the finite per-example values.
    public var mean: Double
    /// Bootstrap confidence interval of the mean.
    public var lower: Double
    public var upper: Double
    /// Test examples whose LDS is undefined (a constant sequence).
    public var undefinedCount: Int

    /// Predicted subset sums ĝ, shape (M) for one test example with scores `tau` (N).
    public static func subsetSums(_ tau: ArraySlice<Float>, subsets: [[Int]]) -> [Double] {
        let base = tau.startIndex
        return subsets.map { s in s.reduce(0.0) { $0 + Double(tau[base + $1]) } }
    }

    /// Scores a method: `scores` is (n, N) row-major, `margins` (M, n) row-major, `subsets` M index lists.
    public static func compute(
        scores: [Float], margins: [Double], subsets: [[Int]], testCount n: Int,
        resamples: Int, seed: UInt64, level: Double = 0.95
    ) -> LinearDatamodelScore {
        let M = subsets.count
        precondition(margins.count == M * n, "LDS: margins hold \(margins.count) values, expected \(M) × \(n)")
        precondition(n > 0 && scores.count % n == 0, "LDS: scores hold \(scores.count) values for \(n) test examples")
        let N = scores.count / n
        let perExample = (0..<n).map { a -> Double in
            let predicted = subsetSums(scores[(a * N)..<((a + 1) * N)], subsets: subsets)
            let actual = (0..<M).map { margins[$0 * n + a] }
            return RankStatistics.spearman(predicted, actual)
        }
        let ci = RankStatistics.bootstrapMeanInterval(perExample, resamples: resamples, seed: seed, level: level)
        return LinearDatamodelScore(
            perExample: perExample, mean: RankStatistics.finiteMean(perExample),
            lower: ci.lower, upper: ci.upper,
            undefinedCount: perExample.filter { !$0.isFinite }.count)
    }
}
