import Tensor

/// A 5×5 stride-2 convolution with padding 2 (ResNet-9's second layer) as one 3×3 stride-1 Winograd correlation of
/// its four input phases.
///
/// With the phases X_(ry,rx)[c][m, l] = x[c][2m + ry, 2l + rx] (ry, rx ∈ {0, 1}; zero past the image) of size
/// hp × wp = ⌈H/2⌉ × ⌈W/2⌉, and the kernel taps u = 2u′ + ry, v = 2v′ + rx,
///
///     y[o][i, j] = Σ_c Σ_{u,v} W[o, c, u, v] · x[c][2i + u − 2, 2j + v − 2]
///                = Σ_(ry,rx,c) Σ_{u′,v′ ∈ 0…2} W′[o, (ry,rx,c), u′, v′] · X_(ry,rx)[c][i + u′ − 1, j + v′ − 1],
///
///     W′[o, (ry,rx,c), u′, v′] = W[o, c, 2u′ + ry, 2v′ + rx]   (zero when 2u′ + ry = 5 or 2v′ + rx = 5):
///
/// a 3×3 stride-1 correlation with padding 1 of 4C channels on hp × wp images, whose output size is the layer's
/// OH × OW = hp × wp. Winograd F(4×4, 3×3) does it with 2.25 · 4C multiplies per output and output channel against
/// 25 · C for the direct product (2.8× fewer), without the layer's 25·C-row im2col. The input gradient is that
/// correlation's input gradient merged back into x's pixels, the weight gradient its weight gradient read at the
/// 25 real taps (`Conv2dWinograd` for the correlation itself).
///
/// Phase channel (ry, rx, c) is channel (2·ry + rx)·C + c of the phase images X (4C, n, hp, wp).
extension Conv2d {
    /// Whether a batch backward pass on `n` images of H × W takes the phase path: kernel 5, stride 2, padding 2, at
    /// least `winogradMinimumChannels` channels both ways, and the phase images of the batch within `columnBudget`
    /// floats (larger batches take the columns, which chunk). The forward pass takes the phase path for any batch
    /// once one image's phase images fit, in chunks of samples (`phaseForwardChunk`).
    public func usesPhaseWinograd(samples n: Int, height: Int, width: Int) -> Bool {
        phaseShape && n <= phaseSampleLimit(height: height, width: width)
    }

    /// Samples per chunk of the phase forward pass on `n` images, as many as `phaseSampleLimit` allows, balanced; 0
    /// when the layer takes no phase path.
    @usableFromInline
    func phaseForwardChunk(samples n: Int, height: Int, width: Int) -> Int {
        let most = min(n, phaseSampleLimit(height: height, width: width))
        guard phaseShape && most >= 1 else { return 0 }
        let chunks = (n + most - 1) / most
        return (n + chunks - 1) / chunks
    }

    /// The kernel shape the phase path rewrites.
    var phaseShape: Bool {
        kernel == 5 && stride == 2 && padding == 2 && min(inChannels, outChannels) >= Conv2d.winogradMinimumChannels
    }

    /// Most images whose phase images fit in `columnBudget` floats.
    func phaseSampleLimit(height: Int, width: Int) -> Int {
        columnBudget / max(1, phaseCounts(samples: 1, height: height, width: width).images)
    }

    /// The stride-1 3×3 layer of the rewrite, 4C → Cout with padding 1, its W′ at offset 0 of its own θ.
    var phaseLayer: Conv2d {
        var layout = ParameterLayout()
        return Conv2d(
            &layout, name: "phases", inChannels: 4 * inChannels, outChannels: outChannels, kernel: 3, stride: 1,
            padding: 1, columnBudget: columnBudget)
    }

    /// The phase images' size, ⌈H/2⌉ × ⌈W/2⌉ (also the layer's output size).
    func phaseSize(height: Int, width: Int) -> (height: Int, width: Int) { ((height + 1) / 2, (width + 1) / 2) }

    /// Floats of W′ (Cout, 4C, 3, 3), of the phase images X (4C, n, hp, wp) of `n` images, and of the slot after X:
    /// dX in the backward pass, a chunk's output (Cout, n, hp, wp) in a chunked forward pass.
    func phaseCounts(samples n: Int, height: Int, width: Int) -> (weights: Int, images: Int, second: Int) {
        let size = phaseSize(height: height, width: width), plane = n * size.height * size.width
        return (outChannels * 4 * inChannels * 9, 4 * inChannels * plane, max(4 * inChannels, outChannels) * plane)
    }

    /// Floats of workspace the phase path needs for `n` images: the buffers of `phaseBuffers`, then the phase
    /// layer's Winograd workspace.
    func phaseWorkspaceCount(samples n: Int, height: Int, width: Int) -> Int {
        let counts = phaseCounts(samples: n, height: height, width: width),
            size = phaseSize(height: height, width: width)
        return 2 * counts.weights + counts.images + counts.second
            + phaseLayer.workspaceCount(samples: n, height: size.height, width: size.width)
    }

    /// The phase path's buffers at the head of `workspace`: W′ and dW′, X, the second slot (dX, or a chunk's output),
    /// then the rest for the phase layer.
    func phaseBuffers(
        _ workspace: UnsafeMutablePointer<Float>, samples n: Int, height: Int, width: Int
    ) -> (
        weights: UnsafeMutablePointer<Float>, weightGradient: UnsafeMutablePointer<Float>,
        images: UnsafeMutablePointer<Float>, second: UnsafeMutablePointer<Float>,
        rest: UnsafeMutablePointer<Float>
    ) {
        let counts = phaseCounts(samples: n, height: height, width: width)
        let images = workspace + 2 * counts.weights, second = images + counts.images
        return (workspace, workspace + counts.weights, images, second, second + counts.second)
    }

    /// y (Cout, n, OH, OW) = W ⋆ x through the phases, overwritten. A batch within `phaseSampleLimit` is one
    /// chunk, written straight to y (and may keep its tiles, see `Conv2d.forward`); a larger one runs in chunks of
    /// samples, each chunk's output going through the workspace into its samples of y (no tiles kept).
    @usableFromInline
    func phaseForward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, samples n: Int,
        height: Int, width: Int, workspace: UnsafeMutablePointer<Float>, tiles: UnsafeMutablePointer<Float>?
    ) {
        let size = phaseSize(height: height, width: width), plane = size.height * size.width
        let chunk = phaseForwardChunk(samples: n, height: height, width: width)
        let buffers = phaseBuffers(workspace, samples: chunk, height: height, width: width)
        phaseKernel(theta + weight.offset, into: buffers.weights)
        guard chunk < n else {
            splitPhases(x, samples: n, first: 0, count: n, height: height, width: width, into: buffers.images)
            phaseLayer.winogradForward(
                buffers.weights, x: buffers.images, y: y, samples: n, height: size.height, width: size.width,
                workspace: buffers.rest, tiles: tiles)
            return
        }
        var first = 0
        while first < n {
            let count = min(chunk, n - first), output = buffers.second  // (Cout, count, hp, wp)
            splitPhases(x, samples: n, first: first, count: count, height: height, width: width, into: buffers.images)
            phaseLayer.winogradForward(
                buffers.weights, x: buffers.images, y: output, samples: count, height: size.height,
                width: size.width, workspace: buffers.rest, tiles: nil)
            Parallel.forEachRange(outChannels) { channels in
                for o in channels {
                    (y + (o * n + first) * plane).update(from: output + o * count * plane, count: count * plane)
                }
            }
            first += count
        }
    }

    /// Batch backward through the phases: dW += Σ_samples ∂y/∂W · dy at the 25 taps, and dx += its input gradient
    /// when dx is given. With the phase layer's input tiles kept by `phaseForward` (`tiles`), the phase images are
    /// not formed again.
    @usableFromInline
    func phaseBackward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, samples n: Int, height: Int, width: Int,
        workspace: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, tiles: UnsafePointer<Float>?
    ) {
        let size = phaseSize(height: height, width: width)
        let counts = phaseCounts(samples: n, height: height, width: width)
        let buffers = phaseBuffers(workspace, samples: n, height: height, width: width)
        phaseKernel(theta + weight.offset, into: buffers.weights)
        buffers.weightGradient.update(repeating: 0, count: counts.weights)
        if tiles == nil {
            splitPhases(x, samples: n, first: 0, count: n, height: height, width: width, into: buffers.images)
        }
        if dx != nil { buffers.second.update(repeating: 0, count: counts.images) }
        phaseLayer.backward(
            buffers.weights, x: buffers.images, dy: dy, dx: dx == nil ? nil : buffers.second, samples: n,
            height: size.height, width: size.width, workspace: buffers.rest, sink: .sum(buffers.weightGradient),
            tiles: tiles)
        addPhaseKernelGradient(buffers.weightGradient, into: gradient + weight.offset)
        if let dx { mergePhases(buffers.second, samples: n, height: height, width: width, into: dx) }
    }

    /// W′ (Cout, 4C, 3, 3) from W (Cout, C, 5, 5): W′[o, (ry,rx,c), u′, v′] = W[o, c, 2u′ + ry, 2v′ + rx], or 0.
    func phaseKernel(_ w: UnsafePointer<Float>, into wp3: UnsafeMutablePointer<Float>) {
        forEachPhaseTap { phaseTap, tap in wp3[phaseTap] = tap.map { w[$0] } ?? 0 }
    }

    /// dW[o, c, 2u′ + ry, 2v′ + rx] += dW′[o, (ry,rx,c), u′, v′] at the 25 real taps (the adjoint of `phaseKernel`).
    func addPhaseKernelGradient(_ dwp: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
        forEachPhaseTap { phaseTap, tap in
            if let tap { dw[tap] += dwp[phaseTap] }
        }
    }

    /// `body(i′, i)` for every entry i′ of W′ (Cout, 4C, 3, 3), with i its entry in W (Cout, C, 5, 5), or nil for
    /// the taps past the 5×5 kernel (W′ is zero there).
    func forEachPhaseTap(_ body: (Int, Int?) -> Void) {
        let c = inChannels
        for o in 0..<outChannels {
            for phase in 0..<4 {
                let ry = phase / 2, rx = phase % 2
                for ci in 0..<c {
                    let base = (o * c + ci) * 25, phaseBase = ((o * 4 + phase) * c + ci) * 9
                    for u in 0..<3 {
                        for v in 0..<3 {
                            let su = 2 * u + ry, sv = 2 * v + rx
                            body(phaseBase + u * 3 + v, su < 5 && sv < 5 ? base + su * 5 + sv : nil)
                        }
                    }
                }
            }
        }
    }

    /// X (4C, count, hp, wp) from samples `first ..< first + count` of x (C, n, H, W):
    /// X[(ry,rx,c), j][m, l] = x[c, first + j][2m + ry, 2l + rx], zero past the image.
    func splitPhases(
        _ x: UnsafePointer<Float>, samples n: Int, first: Int, count: Int, height: Int, width: Int,
        into xp: UnsafeMutablePointer<Float>
    ) {
        let c = inChannels, (hp, wp) = phaseSize(height: height, width: width), phaseStride = c * count * hp * wp
        Parallel.forEachRange(c * count) { range in
            for plane in range {  // plane = ci · count + j in each phase block of X; ci · n + first + j in x
                let image = x + (plane / count * n + first + plane % count) * height * width
                for ry in 0..<2 {
                    let even = xp + (2 * ry * c * count + plane) * hp * wp, odd = even + phaseStride
                    for m in 0..<hp {
                        let sy = 2 * m + ry
                        guard sy < height else {
                            (even + m * wp).update(repeating: 0, count: wp)
                            (odd + m * wp).update(repeating: 0, count: wp)
                            continue
                        }
                        Conv2d.splitRow(image + sy * width, width: width, even: even + m * wp, odd: odd + m * wp)
                    }
                }
            }
        }
    }

    /// even[l] = row[2l], odd[l] = row[2l + 1] for l < ⌈W/2⌉, zero past the row: sixteen floats at a time, then one
    /// by one.
    @inline(__always)
    static func splitRow(
        _ row: UnsafePointer<Float>, width: Int, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>
    ) {
        var l = 0
        while 2 &* l &+ 16 <= width {
            let pair = UnsafeRawPointer(row + 2 &* l).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(even + l).storeBytes(of: pair.evenHalf, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(odd + l).storeBytes(of: pair.oddHalf, as: SIMD8<Float>.self)
            l &+= 8
        }
        while 2 &* l < width {
            even[l] = row[2 &* l]
            odd[l] = 2 &* l &+ 1 < width ? row[2 &* l &+ 1] : 0
            l &+= 1
        }
    }

    /// dx (C, n, H, W) += the phases dX (4C, n, hp, wp) at their pixels (the adjoint of `splitPhases`).
    func mergePhases(
        _ dxp: UnsafePointer<Float>, samples n: Int, height: Int, width: Int, into dx: UnsafeMutablePointer<Float>
    ) {
        let c = inChannels, (hp, wp) = phaseSize(height: height, width: width), phaseStride = c * n * hp * wp
        Parallel.forEachRange(c * n) { range in
            for plane in range {
                let image = dx + plane * height * width
                for ry in 0..<2 {
                    let even = dxp + (2 * ry * c * n + plane) * hp * wp, odd = even + phaseStride
                    for m in 0..<hp where 2 * m + ry < height {
                        Conv2d.mergeRow(
                            even: even + m * wp, odd: odd + m * wp, width: width, into: image + (2 * m + ry) * width)
                    }
                }
            }
        }
    }

    /// row[2l] += even[l], row[2l + 1] += odd[l] inside the row (the adjoint of `splitRow`).
    @inline(__always)
    static func mergeRow(
        even: UnsafePointer<Float>, odd: UnsafePointer<Float>, width: Int, into row: UnsafeMutablePointer<Float>
    ) {
        var l = 0
        while 2 &* l &+ 16 <= width {
            Vector.addInterleaved(
                UnsafeRawPointer(even + l).loadUnaligned(as: SIMD8<Float>.self),
                UnsafeRawPointer(odd + l).loadUnaligned(as: SIMD8<Float>.self), into: row + 2 &* l)
            l &+= 8
        }
        while 2 &* l < width {
            row[2 &* l] += even[l]
            if 2 &* l &+ 1 < width { row[2 &* l &+ 1] += odd[l] }
            l &+= 1
        }
    }
}
