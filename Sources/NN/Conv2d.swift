import Foundation
import Tensor

/// Bias-free 2-D convolution (PyTorch `nn.Conv2d(bias: false)`), square kernel, equal stride and padding on both axes.
///
/// Activations are channel-major batches (see `Conv2dLayout`): x (C, n, H, W) → y (Cout, n, OH, OW).
/// The batch is processed in chunks of samples whose column matrix (C·k·k, chunk·OH·OW) fits in
/// `columnBudget` floats (default 32 MiB); each chunk costs one im2col (parallel over samples) and one large GEMM.
/// 3×3 stride-1 convolutions between layers of at least `Conv2d.winogradMinimumChannels` channels compute the output
/// and the input gradient with Winograd F(4×4, 3×3) instead (`Conv2dWinograd`, 4× fewer multiplications), and
/// so does the batch weight gradient; per-sample weight gradients come from the columns. A 5×5 stride-2 layer with
/// padding 2 does the same through its four input phases (`Conv2dPhases`).
/// Weight W has the PyTorch shape (Cout, C, k, k), read as the matrix (Cout, C·k·k).
/// Initialisation (PyTorch default, docs/METHOD.md §14): W ~ U(±1/√(C·k·k)).
public struct Conv2d: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    /// W, shape (Cout, C, k, k).
    public let weight: ParameterLayout.Component
    /// Largest column workspace (in floats) one chunk may use.
    public let columnBudget: Int

    /// Default column budget: 8 Mi floats = 32 MiB, enough for GEMMs with N in the thousands on every ResNet-9 layer.
    public static let defaultColumnBudget = 1 << 23
    /// Fewest input and output channels for the Winograd path (below, its GEMMs are too thin to gain).
    public static let winogradMinimumChannels = 8

    /// Whether the output and the input gradient use Winograd F(4×4, 3×3): 3×3 kernel, stride 1, padding ≤ 2 (more
    /// would only add output rows and columns that see nothing but padding), and enough channels both ways.
    public var usesWinograd: Bool {
        kernel == 3 && stride == 1 && padding <= 2
            && min(inChannels, outChannels) >= Conv2d.winogradMinimumChannels
    }

    /// Adds the component `"\(name).weight"` to `layout`. `columnBudget` bounds the column workspace (tests pass a
    /// small one to exercise the chunking).
    public init(
        _ layout: inout ParameterLayout, name: String, inChannels: Int, outChannels: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0, columnBudget: Int = Conv2d.defaultColumnBudget
    ) {
        self.columnBudget = columnBudget
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.weight = layout.add("\(name).weight", [outChannels, inChannels, kernel, kernel])
    }

    /// PyTorch-default initialisation into θ.
    public func initialize(_ parameters: inout [Float], rng: inout RNG) {
        let bound = Float(1 / Double(inChannels * kernel * kernel).squareRoot())
        parameters.withUnsafeMutableBufferPointer { p in
            rng.fillUniform(UnsafeMutableBufferPointer(rebasing: p[weight.range]), -bound, bound)
        }
    }

    /// The im2col geometry of one input image of size H × W.
    public func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(
            channels: inChannels, height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// Samples per chunk for a batch of `n` images of size H × W: as many as fit in `columnBudget`,
    /// balanced so that all chunks have nearly equal size.
    public func samplesPerChunk(samples n: Int, height: Int, width: Int) -> Int {
        let g = geometry(height: height, width: width)
        let perSample = max(1, g.columnRows * g.columnCount)
        let most = max(1, min(n, columnBudget / perSample))
        let chunks = (n + most - 1) / most
        return max(1, (n + chunks - 1) / max(chunks, 1))
    }

    /// Floats of workspace that `forward` and `backward` need for a batch of `n` images of size H × W.
    public func workspaceCount(samples n: Int, height: Int, width: Int) -> Int {
        let g = geometry(height: height, width: width)
        let columns = g.columnRows * g.columnCount * samplesPerChunk(samples: n, height: height, width: width)
        if phaseShape {
            // the phase forward's chunks (all of `chunk` samples but the last; one chunk of n when the backward takes
            // the phase path too)
            let chunk = phaseForwardChunk(samples: n, height: height, width: width)
            guard chunk > 0 else { return columns }
            let last = n - (n - 1) / chunk * chunk
            return max(
                columns, phaseWorkspaceCount(samples: chunk, height: height, width: width),
                phaseWorkspaceCount(samples: last, height: height, width: width))
        }
        guard usesWinograd else { return columns }
        let tiles = Conv2dWinograd.workspaceCount(
            inChannels: inChannels, outChannels: outChannels, outHeight: g.outHeight, outWidth: g.outWidth,
            samples: winogradSamplesPerChunk(samples: n, height: height, width: width))
        // U and (in the backward pass) dU, then the chunk's tiles
        return max(columns, 2 * Conv2dWinograd.transformedCount(inChannels * outChannels) + tiles)
    }

    /// Samples per Winograd chunk: as many as fit their tiles (V and M, or V and DY) in `columnBudget`, balanced like
    /// `samplesPerChunk`.
    @usableFromInline
    func winogradSamplesPerChunk(samples n: Int, height: Int, width: Int) -> Int {
        let g = geometry(height: height, width: width)
        let perSample = Conv2dWinograd.floatsPerSample(
            inChannels: inChannels, outChannels: outChannels, outHeight: g.outHeight, outWidth: g.outWidth)
        let most = max(1, min(n, columnBudget / max(1, perSample)))
        let chunks = (n + most - 1) / most
        return max(1, (n + chunks - 1) / max(chunks, 1))
    }

    /// Floats of the Winograd input tiles V of a batch of `n` images, all chunks one after the other: what `forward`
    /// keeps in its `tiles` buffer for `backward`. Zero for a layer that takes no Winograd path at this batch size.
    public func savedTilesCount(samples n: Int, height: Int, width: Int) -> Int {
        if usesPhaseWinograd(samples: n, height: height, width: width) {
            let size = phaseSize(height: height, width: width)
            return phaseLayer.savedTilesCount(samples: n, height: size.height, width: size.width)
        }
        guard usesWinograd else { return 0 }
        var total = 0
        forEachWinogradChunk(samples: n, height: height, width: width) { _, _, tiles, _ in
            total += Conv2dWinograd.transformedCount(inChannels * tiles)
        }
        return total
    }

    /// `body(first, count, tiles, offset)` for the Winograd chunks of a batch of `n` images in order: samples
    /// `first ..< first + count`, their `tiles` output tiles, and the offset of their V in a `tiles` buffer.
    @inlinable
    func forEachWinogradChunk(samples n: Int, height: Int, width: Int, _ body: (Int, Int, Int, Int) -> Void) {
        let g = geometry(height: height, width: width)
        let (th, tw) = Conv2dWinograd.tiles(outHeight: g.outHeight, outWidth: g.outWidth)
        let chunk = winogradSamplesPerChunk(samples: n, height: height, width: width)
        var first = 0, offset = 0
        while first < n {
            let count = min(chunk, n - first), tiles = count * th * tw
            body(first, count, tiles, offset)
            offset += Conv2dWinograd.transformedCount(inChannels * tiles)
            first += count
        }
    }

    /// The Winograd forward pass of a whole batch in chunks: y (Cout, n, OH, OW) = W ⋆ x (C, n, H, W). Each chunk's
    /// V goes to `tiles` when given (`savedTilesCount` floats), else to the workspace.
    @inlinable
    func winogradForward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        samples n: Int, height: Int, width: Int, workspace: UnsafeMutablePointer<Float>,
        tiles saved: UnsafeMutablePointer<Float>?
    ) {
        let u = workspace
        Conv2dWinograd.transformWeights(
            theta + weight.offset, outChannels: outChannels, inChannels: inChannels, into: u)
        let v = u + Conv2dWinograd.transformedCount(inChannels * outChannels)
        forEachWinogradChunk(samples: n, height: height, width: width) { first, count, tiles, offset in
            Conv2dWinograd.correlate(
                u: u, x: x, inChannels: inChannels, outChannels: outChannels, samples: n, first: first, count: count,
                height: height, width: width, padding: padding, y: y, v: saved.map { $0 + offset } ?? v,
                m: v + Conv2dWinograd.transformedCount(inChannels * tiles))
        }
    }

    /// im2col of samples `first ..< first + count` of x (C, n, H, W) into cols (C·k·k, count·OH·OW).
    @inlinable
    func gatherChunk(
        _ g: ConvGeometry, x: UnsafePointer<Float>, samples n: Int, first: Int, count: Int,
        cols: UnsafeMutablePointer<Float>
    ) {
        let plane = g.height * g.width, positions = g.columnCount, rowStride = count * positions
        Parallel.forEachRange(count) { range in
            for j in range {
                Conv2dColumns.gather(
                    g, image: x + (first + j) * plane, channelStride: n * plane,
                    cols: cols + j * positions, rowStride: rowStride)
            }
        }
    }

    /// Forward: x (C, n, H, W) → y (Cout, n, OH, OW), overwritten. `workspace` holds `workspaceCount(…)` floats.
    /// `tiles`, when given, holds `savedTilesCount(…)` floats: a Winograd layer keeps its input tiles there, and a
    /// batch backward pass given the same buffer (and the same x and θ) reads them instead of recomputing them.
    @inlinable
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        samples n: Int, height: Int, width: Int, workspace cols: UnsafeMutablePointer<Float>,
        tiles: UnsafeMutablePointer<Float>? = nil
    ) {
        if usesWinograd {
            winogradForward(theta, x: x, y: y, samples: n, height: height, width: width, workspace: cols, tiles: tiles)
            return
        }
        if phaseForwardChunk(samples: n, height: height, width: width) > 0 {
            phaseForward(theta, x: x, y: y, samples: n, height: height, width: width, workspace: cols, tiles: tiles)
            return
        }
        let g = geometry(height: height, width: width)
        let positions = g.columnCount, rows = g.columnRows
        let chunk = samplesPerChunk(samples: n, height: height, width: width)
        var first = 0
        while first < n {
            let count = min(chunk, n - first)
            // cols (C·k·k, count·OH·OW) = im2col(x[:, first..<first+count])
            gatherChunk(g, x: x, samples: n, first: first, count: count, cols: cols)
            // y[:, first..<first+count] (Cout, count·OH·OW) = W (Cout, C·k·k) · cols
            BLAS.sgemm(
                m: outChannels, n: count * positions, k: rows, a: theta + weight.offset,
                b: cols, c: y + first * positions, ldc: n * positions)
            first += count
        }
    }

    /// Backward of `y = W ⋆ x`.
    /// - dx (C, n, H, W): `dx += col2im(Wᵀ · dY)` (Winograd layers: in the transformed domain, `winogradBackward`),
    ///   skipped when nil (the network input).
    /// - weights: `dW += dY · colsᵀ`, either summed over the samples (one GEMM over the chunk's columns side by side;
    ///   Winograd layers use `winogradBackward`) or per sample, `dW_i += dY_i (Cout, OH·OW) · cols_iᵀ
    ///   (OH·OW, C·k·k)`, one GEMM per sample in parallel.
    /// The columns are recomputed from x here (cheaper than keeping them for the whole batch); the Winograd input
    /// tiles are read from `tiles` when the forward pass kept them there (see `forward`), for a `.sum` sink.
    @inlinable
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, samples n: Int, height: Int, width: Int,
        workspace cols: UnsafeMutablePointer<Float>, sink: GradientSink, tiles: UnsafePointer<Float>? = nil
    ) {
        if case .sum(let gradient) = sink, usesPhaseWinograd(samples: n, height: height, width: width) {
            phaseBackward(
                theta, x: x, dy: dy, dx: dx, samples: n, height: height, width: width, workspace: cols,
                gradient: gradient, tiles: tiles)
            return
        }
        guard usesWinograd else {
            columnsWeightGradient(
                theta, x: x, dy: dy, dx: dx, samples: n, height: height, width: width, workspace: cols, sink: sink)
            return
        }
        if case .sum(let gradient) = sink {
            winogradBackward(
                theta, x: x, dy: dy, dx: dx, samples: n, height: height, width: width, workspace: cols,
                gradient: gradient + weight.offset, tiles: tiles)
            return
        }
        // per-sample weight gradients from the columns, the input gradient in the Winograd domain
        columnsWeightGradient(
            theta, x: x, dy: dy, dx: nil, samples: n, height: height, width: width, workspace: cols, sink: sink)
        if let dx {
            winogradBackward(
                theta, x: x, dy: dy, dx: dx, samples: n, height: height, width: width, workspace: cols, gradient: nil,
                tiles: nil)
        }
    }

    /// The Winograd backward pass of a batch (`Conv2dWinograd`), per chunk of samples: DY = A dy Aᵀ once, then at
    /// each of the 36 positions dU_ξ (Cout, C) (+)= DY_ξ (Cout, T) · V_ξᵀ (T, C) with V = Bᵀ x B when `gradient` is
    /// given (then dW += Gᵀ dU G), and dV_ξ (C, T) = U_ξᵀ (C, Cout) · DY_ξ (Cout, T) when dx is (then dx += the
    /// windows B dV Bᵀ). V is read from `tiles` when the forward pass kept it there (x is then not read), else computed.
    /// Workspace: U, dU, then the chunk's V (or dV) and DY.
    @inlinable
    func winogradBackward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, samples n: Int, height: Int, width: Int,
        workspace: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
        tiles saved: UnsafePointer<Float>?
    ) {
        let g = geometry(height: height, width: width)
        let cin = inChannels, cout = outChannels, positions = Conv2dWinograd.positions
        let u = workspace  // (36, Cout, C)
        let du = u + Conv2dWinograd.transformedCount(cout * cin)  // (36, Cout, C)
        let v = du + Conv2dWinograd.transformedCount(cout * cin)  // (36, C, T): V, or dV
        if dx != nil {
            Conv2dWinograd.transformWeights(theta + weight.offset, outChannels: cout, inChannels: cin, into: u)
        }
        forEachWinogradChunk(samples: n, height: height, width: width) { first, count, t, offset in
            let dyt = v + Conv2dWinograd.transformedCount(cin * t)  // (36, Cout, T)
            let us = Conv2dWinograd.planeStride(cout * cin), vs = Conv2dWinograd.planeStride(cin * t)
            let ds = Conv2dWinograd.planeStride(cout * t)
            var inputTiles = UnsafePointer(v)
            if let saved {
                inputTiles = saved + offset
            } else if gradient != nil {
                Conv2dWinograd.transformInput(
                    x, channels: cin, samples: n, first: first, count: count, height: height, width: width,
                    padding: padding, into: v)
            }
            Conv2dWinograd.transformOutputGradient(
                dy, channels: cout, samples: n, first: first, count: count, outHeight: g.outHeight,
                outWidth: g.outWidth, into: dyt)
            // the 36 positions side by side, one per worker at a time (splitting each product instead would pack its
            // shared operand once per worker); dV_ξ may replace V_ξ once dU_ξ has read it
            let dytp = UnsafePointer(dyt), up = UnsafePointer(u), beta: Float = first == 0 ? 0 : 1
            Parallel.forEachRange(positions, partsPerWorker: positions) { range in
                for xi in range {
                    if gradient != nil {
                        BLAS.sgemm(
                            transB: true, m: cout, n: cin, k: t, a: dytp + xi * ds, b: inputTiles + xi * vs,
                            beta: beta, c: du + xi * us)
                    }
                    if dx != nil {
                        BLAS.sgemm(
                            transA: true, m: cin, n: t, k: cout, a: up + xi * us, b: dytp + xi * ds, c: v + xi * vs)
                    }
                }
            }
            if let dx {
                Conv2dWinograd.addInputGradient(
                    v, channels: cin, samples: n, first: first, count: count, height: height, width: width,
                    padding: padding, into: dx)
            }
        }
        if let gradient { Conv2dWinograd.addWeightGradient(du, outChannels: cout, inChannels: cin, into: gradient) }
    }

    /// The weight gradients into `sink` from the im2col columns, and `dx += col2im(Wᵀ · dY)` when dx is given.
    @inlinable
    func columnsWeightGradient(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, samples n: Int, height: Int, width: Int,
        workspace cols: UnsafeMutablePointer<Float>, sink: GradientSink
    ) {
        let g = geometry(height: height, width: width)
        let positions = g.columnCount, rows = g.columnRows, plane = height * width
        let chunk = samplesPerChunk(samples: n, height: height, width: width)
        let cout = outChannels, w = weight
        // Per-sample gradients projected onto the directions a block at a time (`ComponentProjection`), when the
        // caller of a `.perSampleDot` passed a scratch.
        var projection: ComponentProjection?
        if case .perSampleDot(let dot) = sink { projection = ComponentProjection(dot, component: w) }
        var first = 0
        while first < n {
            let count = min(chunk, n - first)
            let dyChunk = dy + first * positions  // (Cout, count·OH·OW), row stride n·OH·OW
            // cols (C·k·k, count·OH·OW) = im2col(x[:, first..<first+count])
            gatherChunk(g, x: x, samples: n, first: first, count: count, cols: cols)
            switch sink {
            case .perSampleDot where projection != nil:
                let colsView = UnsafePointer(cols)
                var done = 0
                while done < count {
                    let take = min(count - done, projection!.capacity), lo = done
                    let block = projection!.reserve(samples: first + lo, count: take)
                    Parallel.forEachRange(take) { range in
                        for j in range {
                            // g_i (Cout, C·k·k) = dY_i (Cout, OH·OW) · cols_iᵀ, into the block's row j
                            BLAS.sgemm(
                                transB: true, m: cout, n: rows, k: positions,
                                a: dyChunk + (lo + j) * positions, lda: n * positions,
                                b: colsView + (lo + j) * positions, ldb: count * positions,
                                c: block + j * w.count)
                        }
                    }
                    done += take
                }
            case .sum(let gradient):
                // dW (Cout, C·k·k) += dY (Cout, count·OH·OW) · colsᵀ
                BLAS.sgemm(
                    transB: true, m: cout, n: rows, k: count * positions, a: dyChunk, lda: n * positions,
                    b: cols, ldb: count * positions, beta: 1, c: gradient + w.offset)
            case .perSample(let base, let rowStride):
                let firstSample = first
                let colsView = UnsafePointer(cols)
                Parallel.forEachRange(count) { range in
                    for j in range {
                        // dW_i (Cout, C·k·k) += dY_i (Cout, OH·OW) · cols_iᵀ
                        BLAS.sgemm(
                            transB: true, m: cout, n: rows, k: positions,
                            a: dyChunk + j * positions, lda: n * positions,
                            b: colsView + j * positions, ldb: count * positions,
                            beta: 1, c: base + (firstSample + j) * rowStride + w.offset)
                    }
                }
            case .perSampleDot(let dot):
                // ⟨dY_i cols_iᵀ, V⟩ = Σ dY_i ⊙ (V cols_i): Z = V (Cout, C·k·k) · cols (one GEMM for the chunk),
                // then per-sample sums of dY ⊙ Z — the per-sample weight gradient is never formed.
                let width = count * positions
                let z = UnsafeMutablePointer<Float>.allocate(capacity: cout * width)
                defer { z.deallocate() }
                for dir in 0..<dot.directionCount {
                    BLAS.sgemm(m: cout, n: width, k: rows, a: dot.direction(dir, w), b: cols, c: z)
                    let firstSample = first
                    let zView = UnsafePointer(z)
                    Parallel.forEachRange(count) { range in
                        for j in range {
                            var acc = 0.0
                            for o in 0..<cout {
                                acc += BLAS.dot(
                                    count: positions, dyChunk + o * n * positions + j * positions,
                                    zView + o * width + j * positions)
                            }
                            dot.add(acc, sample: firstSample + j, direction: dir, component: w)
                        }
                    }
                }
            }
            if let dx {
                // dcols (C·k·k, count·OH·OW) = Wᵀ (C·k·k, Cout) · dY, reusing the column workspace
                BLAS.sgemm(
                    transA: true, m: rows, n: count * positions, k: cout, a: theta + w.offset,
                    b: dyChunk, ldb: n * positions, c: cols)
                // dx[:, first..<first+count] += col2im(dcols)
                let firstSample = first
                Parallel.forEachRange(count) { range in
                    for j in range {
                        Conv2dColumns.scatterConsuming(
                            g, cols: cols + j * positions, rowStride: count * positions,
                            image: dx + (firstSample + j) * plane, channelStride: n * plane)
                    }
                }
            }
            first += count
        }
        projection?.flush()
    }
}
