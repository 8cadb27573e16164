import Foundation
import Tensor
import XCTest

@testable import NN

/// Test-only model: tokens (n, 3) → Embedding(6 → 8) → attention (2 heads of width 4, last query) → log-softmax of
/// U (n, 8). The embedding in front makes the finite-difference check cover the attention's input gradient dX too.
final class AttentionProbe: Model {
    let name = "AttentionProbe"
    let layout: ParameterLayout
    let inputShape = [3]
    let classCount = 8
    let embedding: Embedding
    let attention: SharedProjectionAttention

    init() {
        var layout = ParameterLayout()
        embedding = Embedding(&layout, name: "emb", vocabularySize: 6, dimensions: 8)
        attention = SharedProjectionAttention(
            &layout, modelDimensions: 8, heads: 2, headDimensions: 4, sequenceLength: 3)
        self.layout = layout
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        embedding.initialize(&theta, rng: &rng)
        attention.initialize(&theta, rng: &rng)
        // Larger encoders than the default make the attention weights far from uniform, so every path matters.
        for e in attention.encoders { for p in e.range { theta[p] *= 4 } }
        return theta
    }

    struct Buffers { var x, projected, weights, mixed, u, f: [Float] }

    func run(_ parameters: [Float], _ inputs: Tensor) -> Buffers {
        let n = inputs.shape[0]
        var b = Buffers(
            x: .init(repeating: 0, count: n * 24), projected: .init(repeating: 0, count: n * 24),
            weights: .init(repeating: 0, count: n * 6), mixed: .init(repeating: 0, count: n * 8),
            u: .init(repeating: 0, count: n * 8), f: .init(repeating: 0, count: n * 8))
        parameters.withPointer { t in
            inputs.storage.withPointer { tok in
                b.x.withMutablePointer { embedding.forward(t, tokens: tok, y: $0, rows: n * 3) }  // (n, 3, 8)
                b.x.withPointer { x in
                    b.projected.withMutablePointer { h in
                        b.weights.withMutablePointer { a in
                            b.mixed.withMutablePointer { o in
                                b.u.withMutablePointer { u in
                                    attention.forward(t, x: x, projected: h, weights: a, mixed: o, y: u, samples: n)
                                }
                            }
                        }
                    }
                }
            }
        }
        b.u.withPointer { u in b.f.withMutablePointer { LogSoftmax.forward(u, $0, rows: n, classes: 8) } }
        return b
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        Tensor(shape: [inputs.shape[0], 8], storage: run(parameters, inputs).f)
    }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        let n = inputs.shape[0]
        let b = run(parameters, inputs)
        var du = [Float](repeating: 0, count: n * 8), dx = [Float](repeating: 0, count: n * 24)
        b.f.withPointer { fp in
            outputGradients.storage.withPointer { df in
                du.withMutablePointer {
                    LogSoftmax.backward(output: fp, gradOutput: df, gradInput: $0, rows: n, classes: 8)
                }
            }
        }
        parameters.withPointer { t in
            b.x.withPointer { x in
                b.projected.withPointer { h in
                    b.weights.withPointer { a in
                        b.mixed.withPointer { o in
                            du.withPointer { dup in
                                dx.withMutablePointer { dxp in
                                    attention.backward(
                                        t, x: x, projected: h, weights: a, mixed: o, dy: dup, dx: dxp, samples: n,
                                        sink: sink)
                                }
                            }
                        }
                    }
                }
            }
            inputs.storage.withPointer { tok in
                dx.withPointer { dxp in
                    embedding.backward(tokens: tok, dy: dxp, rows: n * 3, positionsPerSample: 3, sink: sink)
                }
            }
        }
        return Tensor(shape: [n, 8], storage: b.f)
    }
}

final class SharedProjectionAttentionTests: XCTestCase {
    let model = AttentionProbe()
    lazy var theta: [Float] = {
        var rng = RNG(seed: 31); return model.initialParameters(rng: &rng)
    }()
    let inputs = SequenceFixtures.tokens(5, 3, vocabulary: 6, seed: 32)
    let w = SequenceFixtures.normalTensor([5, 8], seed: 33)

    /// Full T × T attention in Float64 from the definition, then the last position's row.
    func referenceOutput(sample s: Int) -> [Double] {
        let E = SequenceFixtures.slice(theta, model, "emb.weight")
        let x = (0..<3).map { t in (0..<8).map { E[Int(inputs.storage[s * 3 + t]) * 8 + $0] } }
        typealias F = SequenceFixtures
        var uAll = [[Double]](repeating: [Double](repeating: 0, count: 8), count: 3)
        for h in 1...2 {
            let Wh = F.slice(theta, model, "head\(h)_encoder.weight")  // (4, 8)
            let Dh = F.slice(theta, model, "head\(h)_decoder.weight")  // (8, 4)
            let H = x.map { F.matVec(Wh, $0) }
            for q in 0..<3 {
                let a = F.softmax(H.map { F.dot(H[q], $0) / 2 })  // scores / √4
                let out = F.matVec(Dh, F.combine(a, H))
                for r in 0..<8 { uAll[q][r] += out[r] }
            }
        }
        return SequenceFixtures.logSoftmax(uAll[2])
    }

    func testLastQueryForwardMatchesFullAttentionReference() {
        let f = model.forward(parameters: theta, inputs: inputs)
        for s in 0..<5 {
            let ref = referenceOutput(sample: s)
            for c in 0..<8 { XCTAssertEqual(Double(f.storage[s * 8 + c]), ref[c], accuracy: 1e-5) }
        }
    }

    func testAttentionWeightsAreNotUniform() {
        // Guards the gradient checks below: with uniform weights the score path would contribute nothing.
        let a = model.run(theta, inputs).weights
        XCTAssertGreaterThan(a.max()! - a.min()!, 0.3)
    }

    func testBackwardMatchesFiniteDifferencesPerComponent() {
        // Step 1e-2: the map is smooth (softmax, bilinear scores; no kinks), truncation ~1e-4 relative, Float32
        // round-off ~1e-7·|S|/h ≈ 1e-5. Each component is checked on its own: the embedding checks dX, the
        // encoders check the sum of the query, key and value contributions of the shared projection.
        for component in [nil] + model.layout.names {
            let err = GradientCheck.directionalError(
                model, parameters: theta, inputs: inputs, outputGradients: w,
                step: 1e-2, component: component)
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
}
