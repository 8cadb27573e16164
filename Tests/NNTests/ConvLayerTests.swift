import Tensor
import XCTest

@testable import NN

/// Pooling placed after the convolution under test in `ConvStackModel`.
enum TestPooling { case none, max2, global }

/// Test-only model: x (n, C, H, W) → conv A (k3 s1 p1) → conv B (configuration under test) → pooling → flatten →
/// log-softmax. Conv B's input gradient is exercised through the gradient of conv A's weights.
/// A small column budget forces the convolutions to work in several sample chunks.
final class ConvStackModel: Model {
    let name = "conv-stack"
    let layout: ParameterLayout
    let inputShape: [Int]
    let classCount: Int
    let convA: Conv2d, convB: Conv2d
    let pooling: TestPooling
    let height: Int, width: Int, heightB: Int, widthB: Int

    init(
        channels: Int, height: Int, width: Int, hidden: Int, outChannels: Int,
        kernel: Int, stride: Int, padding: Int, pooling: TestPooling, columnBudget: Int = 3000
    ) {
        var layout = ParameterLayout()
        convA = Conv2d(
            &layout, name: "a", inChannels: channels, outChannels: hidden, kernel: 3, stride: 1, padding: 1,
            columnBudget: columnBudget)
        convB = Conv2d(
            &layout, name: "b", inChannels: hidden, outChannels: outChannels, kernel: kernel, stride: stride,
            padding: padding, columnBudget: columnBudget)
        self.layout = layout
        self.pooling = pooling
        self.height = height; self.width = width
        let g = convB.geometry(height: height, width: width)
        heightB = g.outHeight; widthB = g.outWidth
        inputShape = [channels, height, width]
        switch pooling {
        case .none: classCount = outChannels * heightB * widthB
        case .max2: classCount = outChannels * (heightB / 2) * (widthB / 2)
        case .global: classCount = outChannels
        }
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        convA.initialize(&theta, rng: &rng)
        convB.initialize(&theta, rng: &rng)
        return theta
    }

    /// Per-sample feature plane after pooling.
    var pooledPlane: Int { classCount / convB.outChannels }

    struct Buffers {
        var x0, a, b, pooled, features, logProbs: [Float]
    }

    func run(_ theta: UnsafePointer<Float>, inputs: Tensor) -> Buffers {
        let n = inputs.shape[0], c = inputShape[0], plane = height * width, planeB = heightB * widthB
        var buffers = Buffers(
            x0: [Float](repeating: 0, count: n * c * plane),
            a: [Float](repeating: 0, count: n * convA.outChannels * plane),
            b: [Float](repeating: 0, count: n * convB.outChannels * planeB),
            pooled: [Float](repeating: 0, count: n * classCount),
            features: [Float](repeating: 0, count: n * classCount),
            logProbs: [Float](repeating: 0, count: n * classCount))
        let work = max(
            convA.workspaceCount(samples: n, height: height, width: width),
            convB.workspaceCount(samples: n, height: height, width: width))
        var workspace = [Float](repeating: 0, count: work)
        inputs.storage.withPointer { x in
            buffers.x0.withMutablePointer {
                Conv2dLayout.channelMajor(x, $0, samples: n, channels: c, plane: plane)
            }
        }
        workspace.withMutablePointer { ws in
            buffers.x0.withPointer { x0 in
                buffers.a.withMutablePointer { a in
                    convA.forward(theta, x: x0, y: a, samples: n, height: height, width: width, workspace: ws)
                }
            }
            buffers.a.withPointer { a in
                buffers.b.withMutablePointer { b in
                    convB.forward(theta, x: a, y: b, samples: n, height: height, width: width, workspace: ws)
                }
            }
        }
        let planes = convB.outChannels * n
        buffers.b.withPointer { b in
            buffers.pooled.withMutablePointer { p in
                switch pooling {
                case .none: p.update(from: b, count: planes * planeB)
                case .max2: MaxPool2d.forward(b, p, planes: planes, height: heightB, width: widthB)
                case .global: GlobalMaxPool.forward(b, p, planes: planes, positions: planeB)
                }
            }
        }
        buffers.pooled.withPointer { p in
            buffers.features.withMutablePointer { f in
                Conv2dLayout.sampleMajor(p, f, samples: n, channels: convB.outChannels, plane: pooledPlane)
            }
        }
        buffers.features.withPointer { f in
            buffers.logProbs.withMutablePointer { l in
                LogSoftmax.forward(f, l, rows: n, classes: classCount)
            }
        }
        return buffers
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let buffers = parameters.withPointer { run($0, inputs: inputs) }
        return Tensor(shape: [inputs.shape[0], classCount], storage: buffers.logProbs)
    }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        let n = inputs.shape[0], plane = height * width, planeB = heightB * widthB, planes = convB.outChannels * n
        return parameters.withPointer { theta in
            let fw = run(theta, inputs: inputs)
            var dFeatures = [Float](repeating: 0, count: n * classCount)
            var dPooled = dFeatures
            var dB = [Float](repeating: 0, count: fw.b.count)
            var dA = [Float](repeating: 0, count: fw.a.count)
            var workspace = [Float](
                repeating: 0,
                count: max(
                    convA.workspaceCount(samples: n, height: height, width: width),
                    convB.workspaceCount(samples: n, height: height, width: width)))
            fw.logProbs.withPointer { l in
                outputGradients.storage.withPointer { df in
                    dFeatures.withMutablePointer { dz in
                        LogSoftmax.backward(output: l, gradOutput: df, gradInput: dz, rows: n, classes: classCount)
                    }
                }
            }
            dFeatures.withPointer { f in
                dPooled.withMutablePointer { p in
                    Conv2dLayout.channelMajor(f, p, samples: n, channels: convB.outChannels, plane: pooledPlane)
                }
            }
            fw.b.withPointer { b in
                dPooled.withPointer { dp in
                    dB.withMutablePointer { db in
                        switch pooling {
                        case .none: db.update(from: dp, count: planes * planeB)
                        case .max2:
                            MaxPool2d.backward(
                                input: b, gradOutput: dp, gradInput: db, planes: planes, height: heightB, width: widthB)
                        case .global:
                            GlobalMaxPool.backward(
                                input: b, gradOutput: dp, gradInput: db, planes: planes, positions: planeB)
                        }
                    }
                }
            }
            workspace.withMutablePointer { ws in
                fw.a.withPointer { a in
                    dB.withPointer { db in
                        dA.withMutablePointer { da in
                            convB.backward(
                                theta, x: a, dy: db, dx: da, samples: n, height: height, width: width,
                                workspace: ws, sink: sink)
                        }
                    }
                }
                fw.x0.withPointer { x0 in
                    dA.withPointer { da in
                        convA.backward(
                            theta, x: x0, dy: da, dx: nil, samples: n, height: height, width: width,
                            workspace: ws, sink: sink)
                    }
                }
            }
            _ = plane
            return Tensor(shape: [n, classCount], storage: fw.logProbs)
        }
    }
}

/// Random inputs and cotangents for the checks.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    var t = Tensor(shape: shape)
    t.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
    return t
}

/// Calls `body(xIndex, weightIndex, yIndex)` for every product x · W that the direct convolution of sample-major
/// x (n, C, H, W) with W (Cout, C, k, k) sums into y (n, Cout, OH, OW); returns OH and OW.
@discardableResult
func forEachConvolutionTap(
    samples n: Int, channels: Int, height: Int, width: Int, outChannels: Int, kernel k: Int, stride: Int,
    padding: Int, _ body: (Int, Int, Int) -> Void
) -> (outHeight: Int, outWidth: Int) {
    let oh = (height + 2 * padding - k) / stride + 1, ow = (width + 2 * padding - k) / stride + 1
    for s in 0..<n {
        for o in 0..<outChannels {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        for i in 0..<k {
                            for j in 0..<k {
                                let iy = oy * stride + i - padding, ix = ox * stride + j - padding
                                if iy < 0 || iy >= height || ix < 0 || ix >= width { continue }
                                body(
                                    ((s * channels + c) * height + iy) * width + ix,
                                    ((o * channels + c) * k + i) * k + j,
                                    ((s * outChannels + o) * oh + oy) * ow + ox)
                            }
                        }
                    }
                }
            }
        }
    }
    return (oh, ow)
}

/// Direct convolution of one sample-major batch, in Float64:
/// y[s, o, oy, ox] = Σ_{c,i,j} W[o,c,i,j] · x[s, c, oy·s+i−p, ox·s+j−p].
func naiveConvolution(
    x: [Float], weight: [Float], samples n: Int, channels: Int, height: Int, width: Int,
    outChannels: Int, kernel k: Int, stride: Int, padding: Int
) -> (values: [Double], outHeight: Int, outWidth: Int) {
    let oh = (height + 2 * padding - k) / stride + 1, ow = (width + 2 * padding - k) / stride + 1
    var y = [Double](repeating: 0, count: n * outChannels * oh * ow)
    forEachConvolutionTap(
        samples: n, channels: channels, height: height, width: width, outChannels: outChannels, kernel: k,
        stride: stride, padding: padding
    ) { xi, wi, yi in y[yi] += Double(weight[wi]) * Double(x[xi]) }
    return (y, oh, ow)
}

/// The largest |a_i − b_i|.
func largestGap(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0 }

/// The direct convolution's gradients in float64 for a sample-major cotangent dy (n, Cout, OH, OW): dx (n, C, H, W)
/// and dW (Cout, C, k, k), summed over the samples.
func naiveConvolutionGradients(
    x: [Float], weight: [Float], dy: [Float], samples n: Int, channels: Int, height: Int, width: Int,
    outChannels: Int, kernel k: Int, stride: Int, padding: Int
) -> (dx: [Double], dw: [Double]) {
    var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: weight.count)
    forEachConvolutionTap(
        samples: n, channels: channels, height: height, width: width, outChannels: outChannels, kernel: k,
        stride: stride, padding: padding
    ) { xi, wi, yi in
        dx[xi] += Double(weight[wi]) * Double(dy[yi])
        dw[wi] += Double(x[xi]) * Double(dy[yi])
    }
    return (dx, dw)
}

/// A convolution with PyTorch-default weights (seeded), a random sample-major input and its direct convolution.
func convolutionCase(
    samples n: Int, channels c: Int, height h: Int, width w: Int, outChannels cout: Int,
    kernel k: Int, stride s: Int, padding p: Int, columnBudget budget: Int, seed: UInt64
) -> (conv: Conv2d, theta: [Float], x: Tensor, reference: (values: [Double], outHeight: Int, outWidth: Int)) {
    var layout = ParameterLayout()
    let conv = Conv2d(
        &layout, name: "c", inChannels: c, outChannels: cout, kernel: k, stride: s, padding: p, columnBudget: budget)
    var rng = RNG(seed: seed)
    var theta = [Float](repeating: 0, count: layout.count)
    conv.initialize(&theta, rng: &rng)
    let x = randomTensor([n, c, h, w], seed: seed + 8)
    let reference = naiveConvolution(
        x: x.storage, weight: theta, samples: n, channels: c, height: h, width: w,
        outChannels: cout, kernel: k, stride: s, padding: p)
    return (conv, theta, x, reference)
}

final class ConvLayerTests: XCTestCase {
    /// (kernel, stride, padding) configurations used by ResNet-9 plus an even kernel.
    let configurations = [(3, 1, 1), (5, 2, 2), (3, 1, 0), (2, 2, 1)]

    func testConvForwardMatchesNaiveConvolution() {
        let n = 5, c = 2, h = 7, w = 6, cout = 3
        for (k, s, p) in configurations {
            for budget in [1 << 20, 2000, 60] {  // one chunk, chunks of two samples, chunks of one
                let (conv, theta, x, ref) = convolutionCase(
                    samples: n, channels: c, height: h, width: w, outChannels: cout, kernel: k, stride: s,
                    padding: p, columnBudget: budget, seed: 3)
                let g = conv.geometry(height: h, width: w)
                XCTAssertEqual(g.outHeight, ref.outHeight); XCTAssertEqual(g.outWidth, ref.outWidth)
                let planeOut = g.columnCount
                var x0 = [Float](repeating: 0, count: x.count)
                var y = [Float](repeating: .nan, count: cout * n * planeOut)
                var yOut = y
                var workspace = [Float](repeating: 0, count: conv.workspaceCount(samples: n, height: h, width: w))
                x.storage.withPointer { xs in
                    x0.withMutablePointer { Conv2dLayout.channelMajor(xs, $0, samples: n, channels: c, plane: h * w) }
                }
                theta.withPointer { t in
                    x0.withPointer { xp in
                        y.withMutablePointer { yp in
                            workspace.withMutablePointer { ws in
                                conv.forward(t, x: xp, y: yp, samples: n, height: h, width: w, workspace: ws)
                            }
                        }
                    }
                }
                y.withPointer { yp in
                    yOut.withMutablePointer {
                        Conv2dLayout.sampleMajor(yp, $0, samples: n, channels: cout, plane: planeOut)
                    }
                }
                for i in 0..<yOut.count {
                    XCTAssertEqual(
                        Double(yOut[i]), ref.values[i], accuracy: 1e-5, "k\(k) s\(s) p\(p) budget \(budget) at \(i)")
                }
            }
        }
    }

    /// The Winograd path (3×3, stride 1, ≥ 8 channels both ways): the output and both gradients equal the direct
    /// convolution's, for every padding it takes, odd and even output sizes (clipped edge tiles), and chunked
    /// batches.
    func testWinogradConvolutionAndItsGradientsMatchTheDirectConvolution() {
        // 1 to 12 tiles a row; the 3 samples of 26 × 26 (147 tiles with p = 1 or 2) fill one block of
        // 128 tiles and start the next one inside an image; a 46 × 45 image has 144 tiles with p = 1 or 2, more than a block
        for (h, w) in [(7, 6), (8, 8), (5, 9), (18, 17), (17, 18), (26, 26), (46, 45)] {
            for p in [0, 1, 2] {
                for budget in [1 << 20, 4000] {  // one chunk; chunks of one sample
                    checkBatchConvolution(kernel: 3, stride: 1, padding: p, height: h, width: w, budget: budget) {
                        XCTAssertTrue($0.usesWinograd)
                    }
                }
            }
        }
    }

    /// The 5×5 stride-2 layer as a Winograd correlation of its four input phases (`Conv2dPhases`), the same checks:
    /// even and odd image sizes (a phase one row or column short), the phase images of the batch exactly at the
    /// budget (Winograd chunks of one sample inside), and one float under it (the columns instead).
    func testPhaseWinogradConvolutionAndItsGradientsMatchTheDirectConvolution() {
        let n = 3, c = 8
        for (h, w) in [(8, 8), (7, 9), (6, 5), (32, 32)] {
            let phases = 4 * c * n * ((h + 1) / 2) * ((w + 1) / 2)
            for (budget, phasePath) in [(1 << 20, true), (phases, true), (phases - 1, false)] {
                checkBatchConvolution(kernel: 5, stride: 2, padding: 2, height: h, width: w, budget: budget) {
                    XCTAssertEqual($0.usesPhaseWinograd(samples: n, height: h, width: w), phasePath)
                    XCTAssertFalse($0.usesWinograd)
                }
            }
        }
        var layout = ParameterLayout()
        let thin = Conv2d(&layout, name: "c", inChannels: 3, outChannels: 64, kernel: 5, stride: 2, padding: 2)
        XCTAssertFalse(thin.usesPhaseWinograd(samples: 1, height: 32, width: 32), "below 8 input channels")
    }

    /// A batch larger than the phase path's limit: the forward pass runs the phases in chunks of samples (here
    /// 3, 3 and 1 of 7, or 4 and 3), equals the direct convolution, and stays inside
    /// `workspaceCount` floats (sentinels after it).
    func testPhaseForwardInChunksMatchesTheDirectConvolution() {
        let n = 7, c = 8, cout = 9, h = 9, w = 8
        let perImage = 4 * c * ((h + 1) / 2) * ((w + 1) / 2)
        for images in [3, 4] {
            let (conv, theta, x, ref) = convolutionCase(
                samples: n, channels: c, height: h, width: w, outChannels: cout, kernel: 5, stride: 2, padding: 2,
                columnBudget: images * perImage, seed: 41)
            XCTAssertFalse(conv.usesPhaseWinograd(samples: n, height: h, width: w))
            XCTAssertEqual(conv.phaseForwardChunk(samples: n, height: h, width: w), images == 3 ? 3 : 4)
            let planeOut = ref.outHeight * ref.outWidth, count = conv.workspaceCount(samples: n, height: h, width: w)
            var xc = [Float](repeating: 0, count: x.count)
            x.storage.withPointer { xs in
                xc.withMutablePointer { Conv2dLayout.channelMajor(xs, $0, samples: n, channels: c, plane: h * w) }
            }
            var y = [Float](repeating: .nan, count: cout * n * planeOut)
            var workspace = [Float](repeating: .nan, count: count + 64)
            for i in count..<(count + 64) { workspace[i] = 1234.5 }
            theta.withPointer { t in
                xc.withPointer { xp in
                    workspace.withMutablePointer { ws in
                        y.withMutablePointer {
                            conv.forward(t, x: xp, y: $0, samples: n, height: h, width: w, workspace: ws)
                        }
                    }
                }
            }
            XCTAssertTrue(workspace[count...].allSatisfy { $0 == 1234.5 }, "workspace overrun, \(images) images")
            var ySample = [Float](repeating: 0, count: y.count)
            y.withPointer { yp in
                ySample.withMutablePointer {
                    Conv2dLayout.sampleMajor(yp, $0, samples: n, channels: cout, plane: planeOut)
                }
            }
            XCTAssertLessThan(largestGap(ySample, ref.values), 2e-5, "chunks of \(images)")
        }
    }

    /// For n = 3 samples of 8 → 9 channels: the forward and the batch backward's input and weight gradients against
    /// the direct convolution in float64, entry by entry, and the weight gradient against the sum of the per-sample
    /// (column) gradients. `paths` asserts which algorithm the layer takes.
    func checkBatchConvolution(
        kernel k: Int, stride s: Int, padding p: Int, height h: Int, width w: Int, budget: Int,
        paths: (Conv2d) -> Void
    ) {
        let n = 3, c = 8, cout = 9
        let (conv, theta, x, ref) = convolutionCase(
            samples: n, channels: c, height: h, width: w, outChannels: cout, kernel: k, stride: s, padding: p,
            columnBudget: budget, seed: 5)
        paths(conv)
        let label = "k\(k) s\(s) \(h)×\(w) p\(p) budget \(budget)"
        let P = theta.count
        let planeOut = ref.outHeight * ref.outWidth
        var xc = [Float](repeating: 0, count: x.count)
        x.storage.withPointer { xs in
            xc.withMutablePointer {
                Conv2dLayout.channelMajor(xs, $0, samples: n, channels: c, plane: h * w)
            }
        }
        let dySample = randomTensor([n, cout, ref.outHeight, ref.outWidth], seed: 21).storage
        var dy = [Float](repeating: 0, count: dySample.count)
        dySample.withPointer { d in
            dy.withMutablePointer {
                Conv2dLayout.channelMajor(d, $0, samples: n, channels: cout, plane: planeOut)
            }
        }
        var y = [Float](repeating: .nan, count: cout * n * planeOut)
        let dxStart = randomTensor([xc.count], seed: 22).storage  // the backward adds to dx
        var dx = dxStart
        var gradient = [Float](repeating: 0, count: P)
        var workspace = [Float](
            repeating: .nan, count: conv.workspaceCount(samples: n, height: h, width: w))
        theta.withPointer { t in
            xc.withPointer { xp in
                workspace.withMutablePointer { ws in
                    y.withMutablePointer {
                        conv.forward(t, x: xp, y: $0, samples: n, height: h, width: w, workspace: ws)
                    }
                    dy.withPointer { dyp in
                        dx.withMutablePointer { dxp in
                            gradient.withMutablePointer { g in
                                conv.backward(
                                    t, x: xp, dy: dyp, dx: dxp, samples: n, height: h, width: w,
                                    workspace: ws, sink: .sum(g))
                            }
                        }
                    }
                }
            }
        }
        var ySample = [Float](repeating: 0, count: y.count)
        y.withPointer { yp in
            ySample.withMutablePointer {
                Conv2dLayout.sampleMajor(yp, $0, samples: n, channels: cout, plane: planeOut)
            }
        }
        var worst = 0.0
        for i in 0..<ySample.count { worst = max(worst, abs(Double(ySample[i]) - ref.values[i])) }
        // Winograd F(4×4, 3×3) rounds to a few units in the sixth digit (Conv2dWinograd), hence 2·10⁻⁵
        XCTAssertLessThan(worst, 2e-5, "forward \(label)")
        // dx (accumulated onto its random start) and dW against the direct convolution's gradients in float64
        let exact = naiveConvolutionGradients(
            x: x.storage, weight: theta, dy: dySample, samples: n, channels: c, height: h, width: w,
            outChannels: cout, kernel: k, stride: s, padding: p)
        var dxSample = [Float](repeating: 0, count: dx.count)
        let dxAdded = zip(dx, dxStart).map { $0 - $1 }
        dxAdded.withPointer { d in
            dxSample.withMutablePointer { Conv2dLayout.sampleMajor(d, $0, samples: n, channels: c, plane: h * w) }
        }
        // relative to the largest entry: the weight gradient sums n·OH·OW products
        let inputScale = exact.dx.map(abs).max()!, weightScale = exact.dw.map(abs).max()!
        XCTAssertLessThan(largestGap(dxSample, exact.dx), 2e-5 * inputScale, "input gradient \(label)")
        XCTAssertLessThan(largestGap(gradient, exact.dw), 2e-5 * weightScale, "weight gradient \(label)")
        // the Winograd batch weight gradient equals the sum of the per-sample (column) gradients, and the input
        // gradient of a per-sample backward equals the batch backward's
        var rows = [Float](repeating: 0, count: n * P)
        var dxPerSample = dxStart
        theta.withPointer { t in
            xc.withPointer { xp in
                dy.withPointer { dyp in
                    workspace.withMutablePointer { ws in
                        rows.withMutablePointer { r in
                            dxPerSample.withMutablePointer { dxp in
                                conv.backward(
                                    t, x: xp, dy: dyp, dx: dxp, samples: n, height: h, width: w,
                                    workspace: ws, sink: .perSample(r, rowStride: P))
                            }
                        }
                    }
                }
            }
        }
        XCTAssertLessThan(
            largestGap(dxPerSample, dx.map(Double.init)), 2e-5 * inputScale, "per-sample backward's dx \(label)")
        // with the input tiles kept by the forward pass, the batch backward gives the same gradients without reading
        // x (NaN here)
        let tileCount = conv.savedTilesCount(samples: n, height: h, width: w)
        XCTAssertEqual(tileCount > 0, conv.usesWinograd || conv.usesPhaseWinograd(samples: n, height: h, width: w))
        var tiles = [Float](repeating: .nan, count: max(1, tileCount))
        var dxTiles = dxStart, gradientTiles = [Float](repeating: 0, count: P)
        let backwardX = tileCount > 0 ? [Float](repeating: .nan, count: xc.count) : xc
        theta.withPointer { t in
            workspace.withMutablePointer { ws in
                tiles.withMutablePointer { tp in
                    xc.withPointer { xp in
                        y.withMutablePointer {
                            conv.forward(t, x: xp, y: $0, samples: n, height: h, width: w, workspace: ws, tiles: tp)
                        }
                    }
                    backwardX.withPointer { xp in
                        dy.withPointer { dyp in
                            dxTiles.withMutablePointer { dxp in
                                gradientTiles.withMutablePointer { g in
                                    conv.backward(
                                        t, x: xp, dy: dyp, dx: dxp, samples: n, height: h, width: w, workspace: ws,
                                        sink: .sum(g), tiles: UnsafePointer(tp))
                                }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertLessThan(largestGap(dxTiles, dx.map(Double.init)), 1e-6 * inputScale, "dx with kept tiles \(label)")
        XCTAssertLessThan(
            largestGap(gradientTiles, gradient.map(Double.init)), 1e-6 * weightScale, "dW with kept tiles \(label)")
        var scale = 0.0, gap = 0.0
        for k in 0..<P {
            var sum = 0.0
            for i in 0..<n { sum += Double(rows[i * P + k]) }
            scale = max(scale, abs(sum)); gap = max(gap, abs(sum - Double(gradient[k])))
        }
        XCTAssertLessThan(gap, 1e-5 * max(1, scale), "weight gradient vs per-sample sum \(label)")
    }

    func testColumnGatherMatchesSharedIm2ColAndScatterIsItsAdjoint() {
        let g = ConvGeometry(channels: 3, height: 6, width: 5, kernel: 3, stride: 2, padding: 1)
        let image = randomTensor([3, 6, 5], seed: 5).storage
        var reference = [Float](repeating: 0, count: g.columnRows * g.columnCount)
        var cols = reference
        image.withPointer { im in reference.withMutablePointer { Im2Col.forward(g, image: im, cols: $0) } }
        image.withPointer { im in
            cols.withMutablePointer {
                Conv2dColumns.gather(g, image: im, channelStride: 30, cols: $0, rowStride: g.columnCount)
            }
        }
        XCTAssertEqual(cols, reference)
        // ⟨gather(x), c⟩ = ⟨x, scatter(c)⟩ for random c.
        let c = randomTensor([g.columnRows * g.columnCount], seed: 6).storage
        var back = [Float](repeating: 0, count: image.count)
        c.withPointer { cp in
            back.withMutablePointer {
                Conv2dColumns.scatter(g, cols: cp, rowStride: g.columnCount, image: $0, channelStride: 30)
            }
        }
        var lhs = 0.0, rhs = 0.0
        for i in 0..<c.count { lhs += Double(cols[i]) * Double(c[i]) }
        for i in 0..<image.count { rhs += Double(image[i]) * Double(back[i]) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
    }

    func stackModel(
        kernel: Int, stride: Int, padding: Int, pooling: TestPooling,
        height: Int = 9, width: Int = 8
    ) -> ConvStackModel {
        ConvStackModel(
            channels: 2, height: height, width: width, hidden: 3, outChannels: 3,
            kernel: kernel, stride: stride, padding: padding, pooling: pooling)
    }

    func checkGradients(_ model: ConvStackModel, label: String, samples n: Int = 4, step: Float = 1e-2) {
        var rng = RNG(seed: 21)
        let theta = model.initialParameters(rng: &rng)
        let x = randomTensor([n] + model.inputShape, seed: 22)
        let cotangent = randomTensor([n, model.classCount], seed: 23)
        for component in model.layout.names {
            let error = GradientCheck.directionalError(
                model, parameters: theta, inputs: x, outputGradients: cotangent,
                directions: 3, step: step, component: component)
            XCTAssertLessThan(error, 1e-2, "\(label) component \(component)")
        }
        let perSample = GradientCheck.perSampleSumError(model, parameters: theta, inputs: x, outputGradients: cotangent)
        XCTAssertLessThan(perSample, 1e-4, "\(label) per-sample sum")
    }

    /// Finite differences through a stack whose second convolution takes the Winograd path: the first layer's
    /// gradient flows through the Winograd input gradient.
    func testWinogradStackGradientsMatchFiniteDifferences() {
        for p in [0, 1, 2] {
            let model = ConvStackModel(
                channels: 2, height: 7, width: 6, hidden: 8, outChannels: 8,
                kernel: 3, stride: 1, padding: p, pooling: .none)
            checkGradients(model, label: "Winograd p\(p)")
        }
    }

    func testConvGradientsMatchFiniteDifferences() {
        for (k, s, p) in configurations {
            checkGradients(stackModel(kernel: k, stride: s, padding: p, pooling: .none), label: "k\(k) s\(s) p\(p)")
        }
    }

    // Pooling is piecewise linear: a central difference is exact only when no window's argmax changes within ±h.
    // Random inputs have no ties, but many windows make near-ties likely, so these checks use few, small planes
    // (the tie rule itself is tested exactly below).

    func testMaxPoolGradientsMatchFiniteDifferences() {
        checkGradients(
            stackModel(kernel: 3, stride: 1, padding: 1, pooling: .max2, height: 4, width: 4),
            label: "max-pool", samples: 3, step: 3e-3)
    }

    func testGlobalMaxPoolGradientsMatchFiniteDifferences() {
        checkGradients(
            stackModel(kernel: 3, stride: 1, padding: 0, pooling: .global, height: 6, width: 5),
            label: "global max-pool", samples: 2, step: 3e-3)
    }

    func testMaxPoolValuesAndFirstMaximumTieRule() {
        // One 4×5 plane (the odd last column is dropped): windows with a unique maximum, a tie, and all equal.
        let x: [Float] = [
            1, 5, 2, 2, 9,
            3, 4, 2, 0, 9,
            7, 7, 6, 1, 9,
            7, 1, 1, 6, 9,
        ]
        var y = [Float](repeating: 0, count: 4)
        x.withPointer { xp in y.withMutablePointer { MaxPool2d.forward(xp, $0, planes: 1, height: 4, width: 5) } }
        XCTAssertEqual(y, [5, 2, 7, 6])
        var dx = [Float](repeating: 0, count: 20)
        let dy: [Float] = [1, 2, 3, 4]
        x.withPointer { xp in
            dy.withPointer { d in
                dx.withMutablePointer {
                    MaxPool2d.backward(input: xp, gradOutput: d, gradInput: $0, planes: 1, height: 4, width: 5)
                }
            }
        }
        var expected = [Float](repeating: 0, count: 20)
        expected[1] = 1  // 5 at (0,1)
        expected[2] = 2  // tie 2,2,2: first at (0,2)
        expected[10] = 3  // tie 7,7,7: first at (2,0)
        expected[12] = 4  // tie 6,6: first at (2,2)
        XCTAssertEqual(dx, expected)
    }

    /// Rows wide enough for the eight-window path of the max-pool backward (and an odd width, so a scalar tail and a
    /// dropped column), on values from a set of five so that most windows tie, with NaNs among them: every gradient
    /// lands on the first maximum in row-major order, as the one-window rule defines it.
    func testMaxPoolBackwardRoutesToTheFirstMaximumOnWideRows() {
        let planes = 3, h = 6, w = 37, oh = h / 2, ow = w / 2
        var rng = RNG(seed: 31)
        var x = (0..<(planes * h * w)).map { _ in Float(Int(rng.uniformDouble() * 5)) }
        for i in stride(from: 5, to: x.count, by: 23) { x[i] = .nan }
        let dy = (0..<(planes * oh * ow)).map { Float($0 % 7) + 0.5 }
        var dx = [Float](repeating: 0, count: x.count)
        x.withPointer { xp in
            dy.withPointer { d in
                dx.withMutablePointer {
                    MaxPool2d.backward(input: xp, gradOutput: d, gradInput: $0, planes: planes, height: h, width: w)
                }
            }
        }
        var expected = [Float](repeating: 0, count: x.count)
        for q in 0..<planes {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let base = q * h * w + 2 * oy * w + 2 * ox
                    var best = base
                    for offset in [1, w, w + 1] where x[base + offset] > x[best] { best = base + offset }
                    expected[best] += dy[(q * oh + oy) * ow + ox]
                }
            }
        }
        XCTAssertEqual(dx, expected)
    }

    func testGlobalMaxPoolValuesAndFirstMaximumTieRule() {
        let x: [Float] = [1, 3, 3, 2, -4, -1, -2, -1]
        var y = [Float](repeating: 0, count: 2)
        x.withPointer { xp in y.withMutablePointer { GlobalMaxPool.forward(xp, $0, planes: 2, positions: 4) } }
        XCTAssertEqual(y, [3, -1])
        var dx = [Float](repeating: 0, count: 8)
        let dy: [Float] = [2, 5]
        x.withPointer { xp in
            dy.withPointer { d in
                dx.withMutablePointer {
                    GlobalMaxPool.backward(input: xp, gradOutput: d, gradInput: $0, planes: 2, positions: 4)
                }
            }
        }
        XCTAssertEqual(dx, [0, 2, 0, 0, 0, 5, 0, 0])
    }

    func testLayoutTransposesAreInverse() {
        let x = randomTensor([3, 4, 5], seed: 9).storage
        var channelMajor = [Float](repeating: 0, count: x.count), back = channelMajor
        x.withPointer { xp in
            channelMajor.withMutablePointer { Conv2dLayout.channelMajor(xp, $0, samples: 3, channels: 4, plane: 5) }
        }
        XCTAssertEqual(channelMajor[(2 * 3 + 1) * 5 + 4], x[(1 * 4 + 2) * 5 + 4])  // (c=2, s=1) ← (s=1, c=2)
        channelMajor.withPointer { cp in
            back.withMutablePointer { Conv2dLayout.sampleMajor(cp, $0, samples: 3, channels: 4, plane: 5) }
        }
        XCTAssertEqual(back, x)
    }
}
