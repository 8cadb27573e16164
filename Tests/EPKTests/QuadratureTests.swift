import XCTest

@testable import EPK

final class QuadratureTests: XCTestCase {
    func testGaussLegendreIntegratesPolynomialsOfDegree2nMinus1Exactly() {
        for n in 1...8 {
            let q = QuadratureNodes(rule: .gaussLegendre, points: n)
            XCTAssertEqual(q.weights.reduce(0, +), 1, accuracy: 1e-14)
            for degree in 0...(2 * n - 1) {
                let integral = zip(q.nodes, q.weights).map { pow($0, Double(degree)) * $1 }.reduce(0, +)
                XCTAssertEqual(integral, 1 / Double(degree + 1), accuracy: 1e-13, "n=\(n) degree=\(degree)")
            }
            // Degree 2n is not integrated exactly (the rule's order is 2n − 1).
            let d = 2 * n
            let integral = zip(q.nodes, q.weights).map { pow($0, Double(d)) * $1 }.reduce(0, +)
            XCTAssertGreaterThan(abs(integral - 1 / Double(d + 1)), 1e-12, "n=\(n)")
        }
    }

    func testGaussLegendreMatchesTabulatedNodes() {
        // Abramowitz & Stegun 25.4: n = 3 on [−1, 1] has x = 0, ±√(3/5), weights 8/9, 5/9 → mapped to [0, 1].
        let q3 = QuadratureNodes(rule: .gaussLegendre, points: 3)
        let x = (3.0 / 5.0).squareRoot()
        XCTAssertEqual(q3.nodes, [(1 - x) / 2, 0.5, (1 + x) / 2].sorted(), accuracy: 1e-15)
        XCTAssertEqual(q3.weights[1], 4.0 / 9.0, accuracy: 1e-15)
        XCTAssertEqual(q3.weights[0], 5.0 / 18.0, accuracy: 1e-15)
        // n = 5 tabulated: 0.9061798459386640, 0.5384693101056831, weights 0.2369268850561891, 0.4786286704993665.
        let q5 = QuadratureNodes(rule: .gaussLegendre, points: 5)
        XCTAssertEqual(q5.nodes[0], (1 - 0.9061798459386640) / 2, accuracy: 1e-15)
        XCTAssertEqual(q5.nodes[1], (1 - 0.5384693101056831) / 2, accuracy: 1e-15)
        XCTAssertEqual(q5.weights[0], 0.2369268850561891 / 2, accuracy: 1e-15)
        XCTAssertEqual(q5.weights[1], 0.4786286704993665 / 2, accuracy: 1e-15)
        XCTAssertEqual(q5.weights[2], 0.5688888888888889 / 2, accuracy: 1e-15)
    }

    /// The refinement summary counts integrals above each step's fixed rule (early steps included) and the ratio of
    /// points used to the fixed rule's points.
    func testRefinementSummaryAgainstTheFixedRule() {
        let plain = QuadratureConfig(rule: .midpoint, points: 4).refinementSummary(
            points: [4, 12, 4, 4], testCount: 2, firstStep: 0)
        XCTAssertEqual(plain.refined, 1); XCTAssertEqual(plain.integrals, 4);
        XCTAssertEqual(plain.pointRatio, 1.5, accuracy: 1e-12)
        let early = QuadratureConfig(rule: .midpoint, points: 4, earlyPoints: 12, earlySteps: 1)
        let s = early.refinementSummary(points: [12, 12, 4, 36], testCount: 2, firstStep: 0)
        XCTAssertEqual(s.refined, 1); XCTAssertEqual(s.pointRatio, 2, accuracy: 1e-12)
        // From step 1 on, the early rule no longer applies: both 12s are refinements of 4.
        XCTAssertEqual(early.refinementSummary(points: [12, 12, 4, 36], testCount: 2, firstStep: 1).refined, 3)
    }

    func testMidpointRuleAndEarlySteps() {
        let q = QuadratureNodes(rule: .midpoint, points: 4)
        XCTAssertEqual(q.nodes, [0.125, 0.375, 0.625, 0.875])
        XCTAssertEqual(QuadratureNodes(rule: .midpoint, points: 1).nodes, [0.5])
        let config = QuadratureConfig(rule: .midpoint, points: 10, earlyPoints: 100, earlySteps: 5)
        XCTAssertEqual(config.pointCount(forStep: 4), 100)
        XCTAssertEqual(config.pointCount(forStep: 5), 10)
        // Early steps are never coarser than the rest (docs/METHOD.md §9).
        XCTAssertEqual(
            QuadratureConfig(rule: .midpoint, points: 10, earlyPoints: 2, earlySteps: 3).pointCount(forStep: 0), 10)
        XCTAssertNotNil(QuadratureConfig(rule: .midpoint, points: 0).problem())
        // The log's summary names the early rule only when it adds points.
        XCTAssertEqual(config.summary, "midpoint with 10 points (100 on the first 5 steps)")
        XCTAssertEqual(
            QuadratureConfig(rule: .midpoint, points: 10, earlyPoints: 2, earlySteps: 3).summary,
            "midpoint with 10 points")
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line)
{
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
