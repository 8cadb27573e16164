import NN
import Tensor
import XCTest

/// The `.perSampleDot` sink equals materialised per-sample gradients dotted with directions, per component.
final class PerSampleDotTests: XCTestCase {
    private func randomCotangent(_ n: Int, _ C: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        var w = Tensor(shape: [n, C])
        w.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        return w
    }

    func testModuloTransformer() {
        let model = ModuloTransformer()
        var rng = RNG(seed: 1)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [5, 4])
        for i in 0..<5 {
            x.storage[i * 4] = Float(i * 7); x.storage[i * 4 + 1] = 113; x.storage[i * 4 + 2] = Float(i * 3 + 1);
            x.storage[i * 4 + 3] = 114
        }
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(
                model, parameters: theta, inputs: x, outputGradients: randomCotangent(5, 115, seed: 2)), 1e-5)
    }

    func testMNISTMLP() {
        let model = MNISTMLP()
        var rng = RNG(seed: 3)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [4, 784])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(
                model, parameters: theta, inputs: x, outputGradients: randomCotangent(4, 10, seed: 4)), 1e-5)
    }

    /// Projection blocks that straddle the convolution's column chunks (2 samples per chunk, blocks of 3 and of 1).
    func testConvolutionProjectionAcrossColumnChunks() {
        let model = SummedConvolution(columnSamples: 2)
        var rng = RNG(seed: 9)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [7, 1, 6, 6])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        for samples in [3, 1] {
            XCTAssertLessThan(
                GradientCheck.perSampleDotError(
                    model, parameters: theta, inputs: x, outputGradients: randomCotangent(7, 3, seed: 10),
                    directions: 4, scratch: samples * model.parameterCount), 1e-5, "blocks of \(samples)")
        }
    }

    /// Both paths on a small ResNet-9: direction by direction (no scratch), and the projection path (per-sample
    /// gradients of one component at a time, one GEMM against all directions) with scratch for one sample, for two
    /// and for the whole batch, and with many directions.
    func testTinyResNet9() {
        let model = ResNet9(.init(widths: [4, 8, 16, 8], inputChannels: 3, inputSize: 16, classCount: 2))
        var rng = RNG(seed: 5)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [5, 3, 16, 16])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        let largest = model.layout.components.map(\.count).max()!
        for (samples, directions) in [(0, 2), (1, 3), (2, 7), (5, 40)] {
            XCTAssertLessThan(
                GradientCheck.perSampleDotError(
                    model, parameters: theta, inputs: x, outputGradients: randomCotangent(5, 2, seed: 6),
                    directions: directions, scratch: samples * largest), 1e-5,
                "scratch for \(samples) samples, \(directions) directions")
        }
    }

    /// `ComponentProjection` at P4's block shape (46 samples, 40 directions) on a component of two reduction pieces,
    /// against a float64 reference. With OpenBLAS's AVX-512 kernels each piece runs as several accumulating sgemm
    /// calls per half of the block (`callShape`).
    func testComponentProjectionAtP4Shape() {
        var layout = ParameterLayout()
        layout.add("before", [3])
        let c = layout.add("weight", [ComponentProjection.pieceSize + 1_234])
        layout.add("after", [5])
        let P = layout.count, n = 46, D = 40, K = layout.components.count
        var rng = RNG(seed: 31)
        var g = [Float](repeating: 0, count: n * c.count), v = [Float](repeating: 0, count: D * P)
        g.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        v.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var reference = [Double](repeating: 0, count: n * D)
        for i in 0..<n {
            for d in 0..<D {
                var sum = 0.0
                for p in 0..<c.count { sum += Double(g[i * c.count + p]) * Double(v[d * P + c.offset + p]) }
                reference[i * D + d] = sum
            }
        }
        var out = [Double](repeating: 0, count: n * D * K)
        var scratch = [Float](repeating: .nan, count: n * c.count)
        v.withPointer { vp in
            out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    let dot = PerSampleDot(
                        directions: vp, directionCount: D, parameterCount: P, out: op.baseAddress!, componentCount: K,
                        scratch: sp)
                    var projection = ComponentProjection(dot, component: c)!
                    XCTAssertEqual(projection.capacity, n)
                    let rows = projection.reserve(samples: 0, count: n)
                    g.withPointer { rows.update(from: $0, count: n * c.count) }
                    projection.flush()
                }
            }
        }
        let scale = reference.map(abs).max()!
        var worst = 0.0
        for i in 0..<n {
            for d in 0..<D {
                worst = max(worst, abs(out[(i * D + d) * K + c.index] - reference[i * D + d]))
                XCTAssertEqual(out[(i * D + d) * K], 0)  // other components untouched
                XCTAssertEqual(out[(i * D + d) * K + 2], 0)
            }
        }
        XCTAssertLessThan(worst / scale, 1e-5)
    }

    /// The calls stay within what OpenBLAS's small-matrix kernels take (rows · D ≤ 1200, rows · D · length ≤ 100³),
    /// and are whole pieces without those kernels or when they would be thin.
    func testProjectionCallShapes() {
        let p4 = ComponentProjection.callShape(block: 46, directions: 40, smallKernels: true)
        XCTAssertEqual(p4.rows, 23)
        XCTAssertEqual(p4.length, 1072)
        for (n, D) in [(46, 40), (18, 40), (64, 40), (5, 2), (46, 1), (9, 150)] {
            let s = ComponentProjection.callShape(block: n, directions: D, smallKernels: true)
            XCTAssertLessThanOrEqual(s.rows * D, 1_200, "\(n) × \(D)")
            XCTAssertLessThanOrEqual(s.rows * D * s.length, 1_000_000, "\(n) × \(D)")
            XCTAssertEqual((n + s.rows - 1) / s.rows, (n * D + 1_199) / 1_200, "\(n) × \(D): fewest row parts")
        }
        let whole = (rows: 46, length: ComponentProjection.pieceSize)
        XCTAssert(ComponentProjection.callShape(block: 46, directions: 40, smallKernels: false) == whole)
        XCTAssert(ComponentProjection.callShape(block: 46, directions: 200, smallKernels: true) == whole)
    }
}

/// log_softmax(Σ_positions conv(x)): one 1 → 3 channel 3×3 convolution on 6 × 6 images whose column workspace holds
/// `columnSamples` samples, so a batch is processed in several column chunks.
private final class SummedConvolution: Model, @unchecked Sendable {
    let name = "summed-convolution"
    let layout: ParameterLayout
    let inputShape = [1, 6, 6]
    let classCount = 3
    let conv: Conv2d

    init(columnSamples: Int) {
        var l = ParameterLayout()
        conv = Conv2d(
            &l, name: "conv", inChannels: 1, outChannels: 3, kernel: 3, padding: 1, columnBudget: 9 * 36 * columnSamples
        )
        layout = l
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        conv.initialize(&theta, rng: &rng)
        return theta
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor { run(parameters, inputs, nil, nil) }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        run(parameters, inputs, outputGradients, sink)
    }

    /// One input channel, so the sample-major input is already channel-major (1, n, 6, 6).
    private func run(_ theta: [Float], _ x: Tensor, _ df: Tensor?, _ sink: GradientSink?) -> Tensor {
        let n = x.shape[0], C = classCount, plane = 36
        var y = [Float](repeating: 0, count: C * n * plane)  // (3, n, 6, 6)
        var work = [Float](repeating: 0, count: conv.workspaceCount(samples: n, height: 6, width: 6))
        var z = [Float](repeating: 0, count: n * C)
        var f = Tensor(shape: [n, C])
        theta.withPointer { th in
            x.storage.withPointer { xp in
                y.withMutablePointer { yp in
                    work.withMutablePointer {
                        conv.forward(th, x: xp, y: yp, samples: n, height: 6, width: 6, workspace: $0)
                    }
                }
                for c in 0..<C {
                    for i in 0..<n { z[i * C + c] = y[(c * n + i) * plane..<((c * n + i + 1) * plane)].reduce(0, +) }
                }
                z.withPointer { zp in f.storage.withMutablePointer { LogSoftmax.forward(zp, $0, rows: n, classes: C) } }
                guard let df, let sink else { return }
                var dz = [Float](repeating: 0, count: n * C)
                f.storage.withPointer { fp in
                    df.storage.withPointer { dfp in
                        dz.withMutablePointer {
                            LogSoftmax.backward(output: fp, gradOutput: dfp, gradInput: $0, rows: n, classes: C)
                        }
                    }
                }
                var dy = [Float](repeating: 0, count: C * n * plane)
                for c in 0..<C { for i in 0..<n { for p in 0..<plane { dy[(c * n + i) * plane + p] = dz[i * C + c] } } }
                dy.withPointer { dyp in
                    work.withMutablePointer {
                        conv.backward(
                            th, x: xp, dy: dyp, dx: nil, samples: n, height: 6, width: 6, workspace: $0, sink: sink)
                    }
                }
            }
        }
        return f
    }
}
