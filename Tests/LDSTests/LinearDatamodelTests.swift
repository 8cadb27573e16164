import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The LDS on a synthetic linear datamodel: margins are an exact linear function of subset membership plus small
/// noise, so the true coefficients must score near 1 and random scores near 0.
final class LinearDatamodelTests: XCTestCase {
    func testTrueCoefficientsScoreNearOneAndRandomNearZero() {
        let N = 300, M = 80, n = 30
        let subsets = SubsetSampler.sample(count: M, fraction: 0.5, of: N, seed: 7)
        XCTAssertEqual(subsets.count, M)
        XCTAssertTrue(subsets.allSatisfy { $0.count == 150 && Set($0).count == 150 && $0 == $0.sorted() })
        var rng = RNG(seed: 11)
        let tau = (0..<(n * N)).map { _ in Float(rng.normal()) }
        // Σ of 150 unit normals has sd ≈ 12; the subset-to-subset spread of the sums is ≈ √(N/4) ≈ 8.7. Noise sd 1.
        var margins = [Double](repeating: 0, count: M * n)
        for m in 0..<M {
            for a in 0..<n {
                margins[m * n + a] = 0.3 + subsets[m].reduce(0.0) { $0 + Double(tau[a * N + $1]) } + rng.normal()
            }
        }
        let truth = LinearDatamodelScore.compute(
            scores: tau, margins: margins, subsets: subsets, testCount: n, resamples: 500, seed: 1)
        XCTAssertGreaterThan(truth.mean, 0.97)
        XCTAssertLessThanOrEqual(truth.upper, 1)
        XCTAssertEqual(truth.undefinedCount, 0)

        let random = GradientScores.random(testCount: n, trainingCount: N, seed: 5)
        let chance = LinearDatamodelScore.compute(
            scores: random, margins: margins, subsets: subsets, testCount: n, resamples: 500, seed: 1)
        XCTAssertLessThan(abs(chance.mean), 0.1)
        XCTAssertLessThan(chance.lower, 0.05); XCTAssertGreaterThan(chance.upper, -0.05)

        // Negated scores rank the subsets backwards.
        let negated = LinearDatamodelScore.compute(
            scores: tau.map { -$0 }, margins: margins, subsets: subsets, testCount: n, resamples: 10, seed: 1)
        XCTAssertEqual(negated.mean, -truth.mean, accuracy: 1e-12)
    }

    func testSubsetSumsAndConstantScores() {
        let subsets = [[0, 2], [1, 3], [0, 1]]
        XCTAssertEqual(LinearDatamodelScore.subsetSums([1, 10, 100, 1000][...], subsets: subsets), [101, 1010, 11])
        // Constant scores give constant sums: LDS undefined for that example, excluded from the mean.
        let s = LinearDatamodelScore.compute(
            scores: [1, 1, 1, 1, 1, 2, 3, 4], margins: [0, 1, 1, 2, 2, 0], subsets: subsets,
            testCount: 2, resamples: 20, seed: 0)
        XCTAssertTrue(s.perExample[0].isNaN)
        XCTAssertEqual(s.undefinedCount, 1)
        // Example 1: sums [4, 6, 3] vs margins [1, 2, 0] → identical ranks.
        XCTAssertEqual(s.perExample[1], 1, accuracy: 1e-12)
        XCTAssertEqual(s.mean, 1, accuracy: 1e-12)
    }
}
