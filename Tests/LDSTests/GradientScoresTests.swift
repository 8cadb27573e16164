import NN
import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// Gradient baselines: the blocked products equal direct dot products, and the sign convention means a gradient
/// step on z_j raises f_y(x) by ≈ η τ_j.
final class GradientScoresTests: XCTestCase {
    func testDotProductsCosinesAndSign() {
        let model = MNISTMLP()
        var rng = RNG(seed: 4)
        let theta = model.initialParameters(rng: &rng)
        let P = model.parameterCount
        func inputs(_ k: Int) -> Tensor {
            var t = Tensor(shape: [k, 784])
            for i in t.storage.indices { t.storage[i] = Float(rng.normal()) }
            return t
        }
        let test = inputs(3), train = inputs(7)
        let testLabels = [1, 4, 9], trainLabels = [0, 1, 2, 3, 4, 1, 9]
        var dot = [Float](repeating: 0, count: 3 * 7), cos = dot
        GradientScores.accumulate(
            model: model, parameters: theta, testInputs: test, testLabels: testLabels, trainInputs: train,
            trainLabels: trainLabels, weight: 1, cosine: false, chunk: 3, into: &dot)
        GradientScores.accumulate(
            model: model, parameters: theta, testInputs: test, testLabels: testLabels, trainInputs: train,
            trainLabels: trainLabels, weight: 1, cosine: true, chunk: 4, into: &cos)
        let gt = model.perSampleGradients(parameters: theta, inputs: test, classes: testLabels)
        let gr = model.perSampleGradients(parameters: theta, inputs: train, classes: trainLabels)
        for a in 0..<3 {
            for j in 0..<7 {
                var d = 0.0, na = 0.0, nj = 0.0
                for p in 0..<P {
                    d += Double(gt[a * P + p]) * Double(gr[j * P + p]); na += Double(gt[a * P + p] * gt[a * P + p]);
                    nj += Double(gr[j * P + p] * gr[j * P + p])
                }
                XCTAssertEqual(Double(dot[a * 7 + j]), d, accuracy: 1e-4 * max(1, abs(d)))
                XCTAssertEqual(Double(cos[a * 7 + j]), d / (na * nj).squareRoot(), accuracy: 1e-4)
            }
        }

        // One SGD step on z_j alone (θ − η∇L_j = θ + η g(z_j)) moves f_y(x) by η τ_j to first order.
        let eta: Float = 1e-3, j = 4
        var stepped = theta
        for p in 0..<P { stepped[p] += eta * gr[j * P + p] }
        let before = model.forward(parameters: theta, inputs: test),
            after = model.forward(parameters: stepped, inputs: test)
        for a in 0..<3 {
            let change = Double(after.storage[a * 10 + testLabels[a]] - before.storage[a * 10 + testLabels[a]])
            let predicted = Double(eta * dot[a * 7 + j])
            XCTAssertEqual(change, predicted, accuracy: 0.05 * abs(predicted) + 1e-5)
        }
    }
}
