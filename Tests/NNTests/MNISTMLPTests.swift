import Foundation
import Tensor
import XCTest

@testable import NN

final class MNISTMLPTests: XCTestCase {
    let model = MNISTMLP()
    lazy var theta: [Float] = {
        var rng = RNG(seed: 51); return model.initialParameters(rng: &rng)
    }()
    let inputs = SequenceFixtures.normalTensor([5, 784], seed: 52)
    let w = SequenceFixtures.normalTensor([5, 10], seed: 53)

    func testLayoutAndParameterCount() {
        XCTAssertEqual(model.layout.names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        XCTAssertEqual(model.layout.components.map(\.shape), [[128, 784], [128], [10, 128], [10]])
        XCTAssertEqual(model.parameterCount, 101_770)
        let fc1 = SequenceFixtures.slice(theta, model, "fc1.weight")
        XCTAssertLessThanOrEqual(fc1.map(abs).max()!, 1 / 28.0)
        XCTAssertGreaterThan(fc1.map(abs).max()!, 0.99 / 28.0)
    }

    func testForwardMatchesReference() {
        let f = model.forward(parameters: theta, inputs: inputs)
        let W1 = SequenceFixtures.slice(theta, model, "fc1.weight"),
            b1 = SequenceFixtures.slice(theta, model, "fc1.bias")
        let W2 = SequenceFixtures.slice(theta, model, "fc2.weight"),
            b2 = SequenceFixtures.slice(theta, model, "fc2.bias")
        for s in 0..<5 {
            let x = (0..<784).map { Double(inputs.storage[s * 784 + $0]) }
            let z1 = SequenceFixtures.matVec(W1, x)
            let r = (0..<128).map { max(0, z1[$0] + b1[$0]) }
            let z2 = SequenceFixtures.matVec(W2, r)
            let ref = SequenceFixtures.logSoftmax((0..<10).map { z2[$0] + b2[$0] })
            for c in 0..<10 { XCTAssertEqual(Double(f.storage[s * 10 + c]), ref[c], accuracy: 1e-5) }
        }
        XCTAssertLessThan(SequenceFixtures.worstLogSumExp(f), 1e-5)
    }

    func testBackwardMatchesFiniteDifferences() {
        // Step 1e-2 along unit directions over 101,770 parameters moves each hidden pre-activation by about
        // 1e-2 · |x| / √784 ≈ 1e-2 (|x| ≈ 28), so only units within ~1e-2 of the kink could switch; the smooth part has
        // truncation ~1e-4 relative and Float32 round-off ~1e-5 relative.
        for component in [nil] + model.layout.names {
            let err = GradientCheck.directionalError(
                model, parameters: theta, inputs: inputs, outputGradients: w,
                directions: 3, step: 1e-2, component: component)
            XCTAssertLessThan(err, 1e-2, "component \(component ?? "all")")
        }
    }

    func testPerSampleRowsSumToBatchGradient() {
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-4)
    }

    func testPerSampleRowEqualsSingleSampleBatchGradient() {
        XCTAssertLessThan(SequenceFixtures.perSampleVersusSingleSampleError(model, theta, inputs, w), 1e-5)
    }

    func testLossGradientIsMinusMeanOfTargetGradients() {
        // ∇L = −(1/n) Σ_i ∇f_{y_i}(x_i) (docs/METHOD.md §1), against the per-sample rows of the target outputs.
        let labels = [3, 0, 9, 3, 7]
        let (loss, grad) = model.lossAndGradient(parameters: theta, inputs: inputs, labels: labels)
        let f = model.forward(parameters: theta, inputs: inputs)
        var targetSum = 0.0
        for i in 0..<5 { targetSum += Double(f.storage[i * 10 + labels[i]]) }
        XCTAssertEqual(loss, -targetSum / 5, accuracy: 1e-5)
        let rows = model.perSampleGradients(parameters: theta, inputs: inputs, classes: labels)
        let P = model.parameterCount
        var reference = [Float](repeating: 0, count: P)
        for i in 0..<5 { for p in 0..<P { reference[p] -= rows[i * P + p] / 5 } }
        XCTAssertLessThan(SequenceFixtures.relativeError(grad[...], reference[...]), 1e-5)
    }
}
