import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// Spearman with average ranks and the bootstrap interval (docs/METHOD.md §17), on hand-computed values.
final class RankStatisticsTests: XCTestCase {
    func testAverageRanksShareTiedPositions() {
        XCTAssertEqual(RankStatistics.averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4])
        XCTAssertEqual(RankStatistics.averageRanks([3, 1, 3, 3]), [3, 1, 3, 3])
        XCTAssertEqual(RankStatistics.averageRanks([0.5, -2, 7]), [2, 1, 3])
    }

    func testSpearmanOnHandComputedVectors() {
        // No ties in x; y = [5, 6, 7, 8, 7] has ranks [1, 2, 3.5, 5, 3.5]: ρ = 8 / √(10 · 9.5) (scipy: 0.8207826816681233).
        XCTAssertEqual(
            RankStatistics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / (95.0).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(RankStatistics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, accuracy: 1e-12)
        // Ties on both sides: ranks [1.5, 1.5, 3, 4] and [1, 2.5, 2.5, 4] give ρ = 3.75 / 4.5.
        XCTAssertEqual(RankStatistics.spearman([1, 1, 2, 3], [1, 2, 2, 3]), 3.75 / 4.5, accuracy: 1e-12)
        // Monotone but non-linear: exactly ±1.
        let x: [Double] = [0.3, -1, 2, 5, 0]
        XCTAssertEqual(RankStatistics.spearman(x, x.map { $0 * $0 * $0 }), 1, accuracy: 1e-12)
        XCTAssertEqual(RankStatistics.spearman(x, x.map { -exp($0) }), -1, accuracy: 1e-12)
        XCTAssertTrue(RankStatistics.spearman([1, 2, 3], [4, 4, 4]).isNaN)
    }

    func testBootstrapIntervalBracketsTheMeanAndIsSeeded() {
        let values = (0..<200).map { Double(($0 * 37) % 101) / 100 }
        let mean = values.reduce(0, +) / Double(values.count)
        let a = RankStatistics.bootstrapMeanInterval(values, resamples: 1000, seed: 3)
        let b = RankStatistics.bootstrapMeanInterval(values, resamples: 1000, seed: 3)
        XCTAssertEqual(a.lower, b.lower); XCTAssertEqual(a.upper, b.upper)
        XCTAssertLessThan(a.lower, mean); XCTAssertGreaterThan(a.upper, mean)
        // The standard error of the mean is about 0.29/√200 ≈ 0.0205, so the 95% interval is ≈ ±0.04.
        XCTAssertEqual(a.upper - a.lower, 2 * 1.96 * 0.0205, accuracy: 0.015)
        let constant = RankStatistics.bootstrapMeanInterval([0.4, 0.4, 0.4], resamples: 50, seed: 0)
        XCTAssertEqual(constant.lower, 0.4, accuracy: 1e-15); XCTAssertEqual(constant.upper, 0.4, accuracy: 1e-15)
        XCTAssertEqual(RankStatistics.quantile([0, 10, 20, 30], 0.5), 15)
    }

    func testMarginIsLogOddsOfTheCorrectClass() {
        XCTAssertEqual(Margin.fromLogProbability(log(0.5)), 0, accuracy: 1e-12)
        XCTAssertEqual(Margin.fromLogProbability(log(0.9)), log(9.0), accuracy: 1e-12)
        XCTAssertEqual(Margin.fromLogProbability(log(0.01)), log(0.01 / 0.99), accuracy: 1e-12)
        // p = 1 − 1e-10: log p ≈ −1e-10, margin ≈ log(1e10) — the naive log(1 − exp(log p)) loses this.
        XCTAssertEqual(Margin.fromLogProbability(-1e-10), log(1e10), accuracy: 1e-5)
        // From a log-probability row: 1 − p_y is the sum of the other classes, finite even when p_y rounds to 1.
        var t = Tensor(shape: [2, 3])
        t.storage = [log(0.7), log(0.2), log(0.1), 0, -30, -31].map(Float.init)
        let m = Margin.margins(logProbs: t, labels: [0, 0])
        XCTAssertEqual(m[0], log(0.7 / 0.3), accuracy: 1e-6)
        XCTAssertEqual(m[1], 30 - log(1 + exp(-1.0)), accuracy: 1e-4)
    }
}
