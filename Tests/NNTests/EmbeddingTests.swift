import Foundation
import Tensor
import XCTest

@testable import NN

/// Test-only model: logits (n, 5) = Σ_t 1.5 · E[t_j] over 3 tokens from a vocabulary of 7, then log-softmax.
/// Tokens repeat inside a sample, so the scatter must accumulate.
final class EmbeddingProbe: Model {
    let name = "EmbeddingProbe"
    let layout: ParameterLayout
    let inputShape = [3]
    let classCount = 5
    let embedding: Embedding
    static let scale: Float = 1.5

    init() {
        var layout = ParameterLayout()
        embedding = Embedding(&layout, name: "emb", vocabularySize: 7, dimensions: 5)
        self.layout = layout
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        embedding.initialize(&theta, rng: &rng)
        return theta
    }

    private func logits(
        _ theta: UnsafePointer<Float>, _ tokens: UnsafePointer<Float>, n: Int, y: UnsafeMutablePointer<Float>
    ) -> [Float] {
        embedding.forward(theta, tokens: tokens, y: y, rows: n * 3, scale: Self.scale)  // (n, 3, 5)
        var z = [Float](repeating: 0, count: n * 5)  // (n, 5)
        for s in 0..<n { for t in 0..<3 { for c in 0..<5 { z[s * 5 + c] += y[(s * 3 + t) * 5 + c] } } }
        return z
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let n = inputs.shape[0]
        var f = [Float](repeating: 0, count: n * 5), y = [Float](repeating: 0, count: n * 15)
        parameters.withPointer { theta in
            inputs.storage.withPointer { tokens in
                y.withMutablePointer { yp in
                    let z = logits(theta, tokens, n: n, y: yp)
                    z.withPointer { zp in f.withMutablePointer { LogSoftmax.forward(zp, $0, rows: n, classes: 5) } }
                }
            }
        }
        return Tensor(shape: [n, 5], storage: f)
    }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        let n = inputs.shape[0]
        let f = forward(parameters: parameters, inputs: inputs)
        var dz = [Float](repeating: 0, count: n * 5), dy = [Float](repeating: 0, count: n * 15)
        f.storage.withPointer { fp in
            outputGradients.storage.withPointer { df in
                dz.withMutablePointer {
                    LogSoftmax.backward(output: fp, gradOutput: df, gradInput: $0, rows: n, classes: 5)
                }
            }
        }
        // z = Σ_t y_t  ⇒  dy_t = dz
        for s in 0..<n { for t in 0..<3 { for c in 0..<5 { dy[(s * 3 + t) * 5 + c] = dz[s * 5 + c] } } }
        inputs.storage.withPointer { tokens in
            dy.withPointer { dyp in
                embedding.backward(
                    tokens: tokens, dy: dyp, rows: n * 3, positionsPerSample: 3, scale: Self.scale, sink: sink)
            }
        }
        return f
    }
}

final class EmbeddingTests: XCTestCase {
    let model = EmbeddingProbe()
    lazy var theta: [Float] = {
        var rng = RNG(seed: 11); return model.initialParameters(rng: &rng)
    }()
    // Sample 0 repeats token 2, sample 1 repeats token 6 three times.
    let inputs = Tensor(shape: [4, 3], storage: [2, 0, 2, 6, 6, 6, 1, 3, 5, 4, 0, 1])
    let w = SequenceFixtures.normalTensor([4, 5], seed: 12)

    func testForwardGathersScaledRows() {
        var y = [Float](repeating: 0, count: 4 * 3 * 5)
        theta.withPointer { t in
            inputs.storage.withPointer { tok in
                y.withMutablePointer {
                    model.embedding.forward(t, tokens: tok, y: $0, rows: 12, scale: 1.5)
                }
            }
        }
        for r in 0..<12 {
            let token = Int(inputs.storage[r])
            for c in 0..<5 { XCTAssertEqual(y[r * 5 + c], 1.5 * theta[token * 5 + c]) }
        }
    }

    func testInitialisationIsStandardNormal() {
        var layout = ParameterLayout()
        let e = Embedding(&layout, name: "e", vocabularySize: 200, dimensions: 100)
        var theta = [Float](repeating: 0, count: layout.count)
        var rng = RNG(seed: 5)
        e.initialize(&theta, rng: &rng)
        let mean = theta.reduce(0.0) { $0 + Double($1) } / Double(theta.count)
        let variance = theta.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(theta.count) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
    }

    func testBackwardMatchesFiniteDifferences() {
        // Step 1e-2: the probe is a log-softmax of a linear map of θ (smooth, curvature O(1)), so the central-difference
        // truncation error is ~1e-4 relative while Float32 round-off stays ~1e-7·|S|/h ≈ 1e-5.
        let err = GradientCheck.directionalError(
            model, parameters: theta, inputs: inputs, outputGradients: w, step: 1e-2)
        XCTAssertLessThan(err, 1e-2)
    }

    func testBackwardScatterMatchesHandComputedRowGradient() {
        // Sample 1 is [6, 6, 6]: ∂S/∂E[6] = 3 · 1.5 · dz_1, and every other row of its gradient is zero.
        let f = model.forward(parameters: theta, inputs: inputs)
        let rows = SequenceFixtures.perSampleRows(model, theta, inputs, w)
        let P = model.parameterCount
        var wsum: Float = 0
        for c in 0..<5 { wsum += w.storage[5 + c] }
        for v in 0..<7 {
            for c in 0..<5 {
                let dz = w.storage[5 + c] - Foundation.exp(f.storage[5 + c]) * wsum
                let expected: Float = v == 6 ? 4.5 * dz : 0
                XCTAssertEqual(rows[P + v * 5 + c], expected, accuracy: 1e-5)
            }
        }
    }

    func testPerSampleRowsSumToBatchGradient() {
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-4)
    }

    func testPerSampleRowEqualsSingleSampleBatchGradient() {
        XCTAssertLessThan(SequenceFixtures.perSampleVersusSingleSampleError(model, theta, inputs, w), 1e-5)
    }
}
