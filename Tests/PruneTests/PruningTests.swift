import EPK
import Foundation
import History
import NN
import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

final class PruningTests: XCTestCase {
    static let problem = TinyResNetProblem.make()

    func testZeroFractionLeavesModelUnchanged() throws {
        let p = Self.problem
        let theta = try p.history.parameters(at: p.history.stepCount)
        let ranges = Pruning.prunableRanges(p.model.layout, neverPruned: ["9.weight"])
        let scores = Pruning.magnitudeScores(theta)
        for plan in [
            Pruning.Plan(scores: scores, ranges: ranges, scope: .global),
            Pruning.Plan(scores: scores, ranges: ranges, scope: .perModule),
            Pruning.Plan(globalOrder: Pruning.randomOrder(ranges: ranges, seed: 3), ranges: ranges),
        ] {
            let pruned = plan.apply(to: theta, fraction: 0)
            XCTAssertEqual(pruned, theta)
            XCTAssertEqual(
                p.model.forward(parameters: pruned, inputs: p.tests).storage,
                p.model.forward(parameters: theta, inputs: p.tests).storage)
        }
    }

    func testMagnitudePrunesExactCountAndNeverFinalLayer() throws {
        let p = Self.problem
        let theta = try p.history.parameters(at: p.history.stepCount)
        let layout = p.model.layout
        let ranges = Pruning.prunableRanges(layout, neverPruned: ["9.weight"])
        let prunable = ranges.reduce(0) { $0 + $1.count }
        XCTAssertEqual(prunable, layout.count - layout.component(named: "9.weight")!.range.count)
        let plan = Pruning.Plan(scores: Pruning.magnitudeScores(theta), ranges: ranges, scope: .global)
        let final = layout.component(named: "9.weight")!.range
        for f in [0.1, 0.5, 0.73, 0.99, 1.0] {
            let pruned = plan.apply(to: theta, fraction: f)
            let removed = zip(theta, pruned).filter { $0.0 != 0 && $0.1 == 0 }.count
            XCTAssertEqual(removed, Int((f * Double(prunable)).rounded()), "fraction \(f)")
            XCTAssertEqual(Array(pruned[final]), Array(theta[final]), "9.weight must never be pruned")
            // Every pruned magnitude ≤ every kept prunable magnitude.
            var maxPruned: Float = 0, minKept = Float.infinity
            for r in ranges {
                for i in r {
                    if pruned[i] == 0 {
                        maxPruned = max(maxPruned, abs(theta[i]))
                    } else {
                        minKept = min(minKept, abs(theta[i]))
                    }
                }
            }
            XCTAssertLessThanOrEqual(maxPruned, minKept)
        }
        // Per module: round(f·P_k) inside every prunable component.
        let module = Pruning.Plan(scores: Pruning.magnitudeScores(theta), ranges: ranges, scope: .perModule).apply(
            to: theta, fraction: 0.6)
        for r in ranges {
            XCTAssertEqual(r.filter { module[$0] == 0 }.count, Int((0.6 * Double(r.count)).rounded()))
        }
    }

    func testRandomKeepsExactlyTheRequestedCount() throws {
        let p = Self.problem
        let theta = try p.history.parameters(at: p.history.stepCount)
        let ranges = Pruning.prunableRanges(p.model.layout, neverPruned: ["9.weight"])
        let prunable = ranges.reduce(0) { $0 + $1.count }
        let a = Pruning.Plan(globalOrder: Pruning.randomOrder(ranges: ranges, seed: 1), ranges: ranges)
        let b = Pruning.Plan(globalOrder: Pruning.randomOrder(ranges: ranges, seed: 2), ranges: ranges)
        for f in [0.3, 0.97, 0.999] {
            let keep = prunable - Int((f * Double(prunable)).rounded())
            let pa = a.apply(to: theta, fraction: f)
            let kept = ranges.reduce(0) { s, r in s + r.filter { pa[$0] != 0 }.count }
            XCTAssertEqual(kept, keep)
            XCTAssertEqual(Set(a.prunedIndices(fraction: f)).count, a.prunedIndices(fraction: f).count)
            XCTAssertNotEqual(
                Set(a.prunedIndices(fraction: 0.3)), Set(b.prunedIndices(fraction: 0.3)), "seeds must differ")
        }
    }

    func testTaylorScoreIsThetaTimesLossGradient() throws {
        let p = Self.problem
        let theta = try p.history.parameters(at: p.history.stepCount)
        let scores = Pruning.taylorScores(model: p.model, theta: theta, inputs: p.tests, labels: p.testLabels, chunk: 2)
        let g = p.model.lossAndGradient(parameters: theta, inputs: p.tests, labels: p.testLabels).gradient
        var worst = 0.0, scale = 0.0
        for i in 0..<theta.count {
            worst = max(worst, Double(abs(scores[i] - abs(theta[i] * g[i]))))
            scale = max(scale, Double(abs(theta[i] * g[i])))
        }
        XCTAssertGreaterThan(scale, 1e-4)
        XCTAssertLessThan(worst, 1e-5 * scale)
        // Central finite difference of the loss for the highest-scoring scalar: |θ_p ∂L/∂θ_p| agrees to 2 %.
        let top = scores.indices.max { scores[$0] < scores[$1] }!
        func loss(_ delta: Double) -> Double {
            var t = theta; t[top] += Float(delta)
            return p.model.evaluate(parameters: t, inputs: p.tests, labels: p.testLabels).loss
        }
        let h = 1e-2 * max(1e-3, Double(abs(theta[top])))
        let fd = (loss(h) - loss(-h)) / (2 * h)
        XCTAssertEqual(Double(abs(theta[top])) * abs(fd), Double(scores[top]), accuracy: 0.02 * Double(scores[top]))
    }

    func testKLAndAgreement() {
        // Two examples, two classes: identical rows give KL 0 and agreement 1; a flipped row gives the textbook KL.
        let base: [Float] = [log(0.8), log(0.2), log(0.3), log(0.7)]
        let pruned: [Float] = [log(0.8), log(0.2), log(0.6), log(0.4)]
        let m = PruneMetrics.compute(base: base, pruned: pruned, labels: [0, 1], classes: 2)
        XCTAssertEqual(m.accuracy, 0.5)
        XCTAssertEqual(m.agreement, 0.5)
        let kl = 0.3 * log(0.3 / 0.6) + 0.7 * log(0.7 / 0.4)
        XCTAssertEqual(m.kl, kl / 2, accuracy: 1e-6)
    }

    /// The one all-class pass with per-row parameter attribution (features from the softmax basis) gives each
    /// class's row exactly as a separate pass at that class alone does, and the scores are Σ_x Σ_c |PK[x, c, p]|.
    func testOneAllClassPassGivesEveryClassRowOfTheParameterAttribution() throws {
        let p = Self.problem
        let names = p.model.layout.names.filter { $0 != "9.weight" }
        let q = QuadratureConfig(rule: .midpoint, points: 2)
        let n = p.tests.shape[0], C = p.model.classCount
        let both = try EPKEngine(
            model: p.model, history: p.history, data: p.data,
            options: EPKOptions(
                quadrature: q, classes: .all, attributionClasses: .selected,
                parameterAttribution: ParameterAttributionOptions(components: names, perRow: true),
                memoryBudgetBytes: 1 << 28)
        ).run(testInputs: p.tests, testLabels: nil).parameterAttribution!
        XCTAssertEqual(both.rowsPerTest, C)
        let Pg = both.parameterCount
        var expectedScores = [Double](repeating: 0, count: Pg)
        for c in 0..<C {
            let one = try EPKEngine(
                model: p.model, history: p.history, data: p.data,
                options: EPKOptions(
                    quadrature: q, classes: .target, attributionClasses: .selected,
                    parameterAttribution: ParameterAttributionOptions(components: names),
                    memoryBudgetBytes: 1 << 28)
            ).run(testInputs: p.tests, testLabels: [Int](repeating: c, count: n)).parameterAttribution!
            XCTAssertEqual(one.rowsPerTest, 1)
            var worst = 0.0, scale = 0.0
            for a in 0..<n {
                for i in 0..<Pg {
                    let expected = Double(one.kernelTotal[a * Pg + i]),
                        got = Double(both.kernelTotal[(a * C + c) * Pg + i])
                    worst = max(worst, abs(got - expected)); scale = max(scale, abs(expected))
                    expectedScores[i] += abs(expected)
                }
            }
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThan(worst, 1e-4 * scale, "class \(c)")
        }
        let scores = try EPKImportance.compute(
            model: p.model, history: p.history, data: p.data, testInputs: p.tests,
            membership: [[Int]](repeating: [0], count: n), setCount: 1, components: names, quadrature: q, chunk: n,
            memoryBudgetBytes: 1 << 28
        ).scores[0]
        var q0 = 0
        for name in names {
            for i in p.model.layout.component(named: name)!.range {
                XCTAssertEqual(Double(scores[i]), expectedScores[q0], accuracy: 1e-4 * max(1e-6, expectedScores[q0]))
                q0 += 1
            }
        }
    }

    func testEPKImportanceIsAdditiveOverTestPoints() throws {
        let p = Self.problem
        let names = p.model.layout.names.filter { $0 != "9.weight" }
        // Set 0 = all five test points; set 1 = {0, 2}; set 2 = {1, 3, 4}; chunks of 2 vs 5 must agree.
        let membership: [[Int]] = [[0, 1], [0, 2], [0, 1], [0, 2], [0, 2]]
        let q = QuadratureConfig(rule: .midpoint, points: 2)
        let a = try EPKImportance.compute(
            model: p.model, history: p.history, data: p.data, testInputs: p.tests, membership: membership,
            setCount: 3, components: names, quadrature: q, chunk: 2, memoryBudgetBytes: 1 << 28)
        let b = try EPKImportance.compute(
            model: p.model, history: p.history, data: p.data, testInputs: p.tests, membership: membership,
            setCount: 3, components: names, quadrature: q, chunk: 5, memoryBudgetBytes: 1 << 28)
        let final = p.model.layout.component(named: "9.weight")!.range
        var total = 0.0
        for i in 0..<p.model.parameterCount {
            XCTAssertEqual(
                a.scores[0][i], a.scores[1][i] + a.scores[2][i], accuracy: 1e-5 * max(1, abs(a.scores[0][i])))
            XCTAssertEqual(a.scores[0][i], b.scores[0][i], accuracy: 1e-5 * max(1e-6, abs(a.scores[0][i])))
            if final.contains(i) { XCTAssertEqual(a.scores[0][i], 0) } else { total += Double(a.scores[0][i]) }
        }
        XCTAssertGreaterThan(total, 0)
        // Per-class absolute values: the score is at least |Σ_x Σ_c PK| per parameter, i.e. ≥ |total output change
        // attributed| summed; and the EPK pass reproduced the model.
        XCTAssertLessThan(a.meanAbsoluteError, 0.05)
    }
}
