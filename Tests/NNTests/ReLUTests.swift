import Foundation
import Tensor
import XCTest

@testable import NN

/// Test-only model: x (n, 6) → Linear(6 → 5) → ReLU → log-softmax, so the ReLU's routing of gradients is checked.
final class ReLUProbe: Model {
    let name = "ReLUProbe"
    let layout: ParameterLayout
    let inputShape = [6]
    let classCount = 5
    let linear: Linear

    init() {
        var layout = ParameterLayout()
        linear = Linear(&layout, name: "probe", inFeatures: 6, outFeatures: 5)
        self.layout = layout
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        linear.initialize(&theta, rng: &rng)
        return theta
    }

    private func run(_ parameters: [Float], _ inputs: Tensor) -> (z: [Float], r: [Float], f: [Float]) {
        let n = inputs.shape[0]
        var z = [Float](repeating: 0, count: n * 5), r = z, f = z
        parameters.withPointer { t in
            inputs.storage.withPointer { x in
                z.withMutablePointer { linear.forward(t, x: x, y: $0, rows: n) }
            }
        }  // (n, 5)
        z.withPointer { zp in r.withMutablePointer { ReLU.forward(zp, $0, count: n * 5) } }  // (n, 5)
        r.withPointer { rp in f.withMutablePointer { LogSoftmax.forward(rp, $0, rows: n, classes: 5) } }
        return (z, r, f)
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        Tensor(shape: [inputs.shape[0], 5], storage: run(parameters, inputs).f)
    }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        let n = inputs.shape[0]
        let (z, _, f) = run(parameters, inputs)
        var dr = [Float](repeating: 0, count: n * 5), dz = dr
        f.withPointer { fp in
            outputGradients.storage.withPointer { df in
                dr.withMutablePointer {
                    LogSoftmax.backward(output: fp, gradOutput: df, gradInput: $0, rows: n, classes: 5)
                }
            }
        }
        z.withPointer { zp in
            dr.withPointer { drp in
                dz.withMutablePointer {
                    ReLU.backward(input: zp, gradOutput: drp, gradInput: $0, count: n * 5)
                }
            }
        }
        parameters.withPointer { t in
            inputs.storage.withPointer { x in
                dz.withPointer { dzp in
                    linear.backward(t, x: x, dy: dzp, dx: nil, rows: n, sink: sink)
                }
            }
        }
        return Tensor(shape: [n, 5], storage: f)
    }
}

final class ReLUTests: XCTestCase {
    let model = ReLUProbe()
    lazy var theta: [Float] = {
        var rng = RNG(seed: 21); return model.initialParameters(rng: &rng)
    }()
    let inputs = SequenceFixtures.normalTensor([6, 6], seed: 22)
    let w = SequenceFixtures.normalTensor([6, 5], seed: 23)

    func testForwardAndBackwardValues() {
        let x: [Float] = [-2, -0.5, 0, 0.25, 3]
        let dy: [Float] = [1, 2, 3, 4, 5]
        var y = [Float](repeating: 9, count: 5), dx = [Float](repeating: 1, count: 5)
        x.withPointer { xp in y.withMutablePointer { ReLU.forward(xp, $0, count: 5) } }
        XCTAssertEqual(y, [0, 0, 0, 0.25, 3])
        x.withPointer { xp in
            dy.withPointer { dyp in
                dx.withMutablePointer {
                    ReLU.backward(input: xp, gradOutput: dyp, gradInput: $0, count: 5, accumulate: true)
                }
            }
        }
        XCTAssertEqual(dx, [1, 1, 1, 5, 6])
        x.withPointer { xp in
            dy.withPointer { dyp in
                dx.withMutablePointer {
                    ReLU.backward(input: xp, gradOutput: dyp, gradInput: $0, count: 5)
                }
            }
        }
        XCTAssertEqual(dx, [0, 0, 0, 4, 5])
    }

    /// The 16-lane kernels against PyTorch's element-wise rule (x ≤ 0 → 0, else x; NaN passes) for every length
    /// 0…40 (whole vectors and tails), an unaligned start, NaN, ±0 and infinities in the input, and the parallel
    /// variants on 2¹⁷ + 5 elements.
    func testVectorKernelsMatchTheElementwiseRule() {
        var rng = RNG(seed: 31)
        let special: [Float] = [.nan, 0, -0.0, .infinity, -.infinity, 1e-30, -1e-30]
        for count in Array(0...40) + [ReLU.parallelChunk * 2 + 5] {
            var x = (0..<(count + 1)).map { _ in rng.uniform(-1, 1) }
            for (k, v) in special.enumerated() where k * 3 < count { x[1 + k * 3] = v }
            let dy = (0..<(count + 1)).map { _ in rng.uniform(-1, 1) }
            let start = (0..<(count + 1)).map { _ in rng.uniform() }
            let xs = Array(x[1...]), dys = Array(dy[1...]), starts = Array(start[1...])
            let y = xs.map { $0 <= 0 ? 0 : $0 }  // PyTorch's rule: NaN passes
            let written = zip(xs, dys).map { $0 <= 0 ? 0 : $1 }
            let summed = zip(written, starts).map { $0 + $1 }
            for parallel in [false, true] {
                let forward = parallel ? ReLU.parallelForward : ReLU.forward
                let backward = parallel ? ReLU.parallelBackward : ReLU.backward
                var out = [Float](repeating: .nan, count: count + 1), dx = [Float](repeating: .nan, count: count + 1)
                var acc = start
                x.withPointer { xp in
                    dy.withPointer { dyp in
                        // offset 1: the vector loads and stores are unaligned
                        out.withMutablePointer { forward(xp + 1, $0 + 1, count) }
                        dx.withMutablePointer { backward(xp + 1, dyp + 1, $0 + 1, count, false) }
                        acc.withMutablePointer { backward(xp + 1, dyp + 1, $0 + 1, count, true) }
                    }
                }
                let label = "count \(count), parallel \(parallel)"
                XCTAssertTrue(out[0].isNaN && dx[0].isNaN && acc[0] == start[0], "wrote before the range, \(label)")
                XCTAssertEqual(out[1...].map(\.bitPattern), y.map(\.bitPattern), label)
                XCTAssertEqual(dx[1...].map(\.bitPattern), written.map(\.bitPattern), label)
                XCTAssertEqual(acc[1...].map(\.bitPattern), summed.map(\.bitPattern), label)
                if count > 0 { XCTAssertTrue(out[1].isNaN, "NaN in, NaN out: \(label)") }
            }
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        // Step 1e-2 along a unit direction over 35 parameters moves each pre-activation by ~1e-2 · |x| / √35 ≈ 2e-3;
        // the test asserts that no pre-activation is that close to the kink, so the map is smooth along the segment.

        var z = [Float](repeating: 0, count: 30)
        theta.withPointer { t in
            inputs.storage.withPointer { x in z.withMutablePointer { model.linear.forward(t, x: x, y: $0, rows: 6) } }
        }
        XCTAssertGreaterThan(z.map { abs($0) }.min()!, 0.02)
        XCTAssertTrue(z.contains { $0 < 0 } && z.contains { $0 > 0 }, "both ReLU branches must be exercised")
        let err = GradientCheck.directionalError(
            model, parameters: theta, inputs: inputs, outputGradients: w, step: 1e-2)
        XCTAssertLessThan(err, 1e-2)
    }

    func testPerSampleRowsSumToBatchGradient() {
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-4)
    }

    func testPerSampleRowEqualsSingleSampleBatchGradient() {
        XCTAssertLessThan(SequenceFixtures.perSampleVersusSingleSampleError(model, theta, inputs, w), 1e-5)
    }
}
