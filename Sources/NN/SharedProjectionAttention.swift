import Foundation
import Tensor

/// The modulo Transformer's multi-head self-attention (docs/METHOD.md §14), evaluated for the **last query position only**.
///
/// For each head h, one projection `W_h` (headDimensions × modelDimensions, no bias) serves as query, key and value:
/// `H_h = X W_hᵀ`, scores `H_h H_hᵀ / √headDimensions` (= /4 for width 16), softmax over keys, `O_h = softmax · H_h`,
/// and `U = Σ_h O_h D_hᵀ` with `D_h` (modelDimensions × headDimensions, no bias). No mask, no residual.
///
/// **Only the query row of the last position is computed.** The model reads the output at the last position only, and
/// without a residual or LayerNorm the other query rows never reach it. Keys and values still come from every position,
/// so this is exact, and about T× cheaper than the full T × T attention (T = 4 here).
///
/// Because `W_h` appears as query, key and value, its gradient has three contributions (all accumulated in `dH`).
/// The encoders of all heads are registered consecutively, so they form one stacked (heads·headDimensions ×
/// modelDimensions) matrix and all projections `H = X W_allᵀ` are a single GEMM (column block h is head h).
public struct SharedProjectionAttention: Sendable {
    public let modelDimensions: Int
    public let heads: Int
    public let headDimensions: Int
    /// Number of positions T per sample; the query is position T − 1.
    public let sequenceLength: Int
    /// `head{h}_encoder.weight`, shape (headDimensions, modelDimensions), h = 1…heads, consecutive in θ.
    public let encoders: [ParameterLayout.Component]
    /// `head{h}_decoder.weight`, shape (modelDimensions, headDimensions), h = 1…heads, consecutive in θ.
    public let decoders: [ParameterLayout.Component]

    /// Registers all encoders, then all decoders (the state-dict order of the original model).
    public init(
        _ layout: inout ParameterLayout, modelDimensions: Int, heads: Int, headDimensions: Int, sequenceLength: Int
    ) {
        self.modelDimensions = modelDimensions
        self.heads = heads
        self.headDimensions = headDimensions
        self.sequenceLength = sequenceLength
        encoders = (1...heads).map { layout.add("head\($0)_encoder.weight", [headDimensions, modelDimensions]) }
        decoders = (1...heads).map { layout.add("head\($0)_decoder.weight", [modelDimensions, headDimensions]) }
        let encoderSize = headDimensions * modelDimensions
        precondition(
            encoders.enumerated().allSatisfy { $1.offset == encoders[0].offset + $0 * encoderSize },
            "SharedProjectionAttention: encoders must be consecutive in θ (stacked projection GEMM)")
    }

    /// Width of all heads side by side, heads · headDimensions.
    public var stackedWidth: Int { heads * headDimensions }
    /// Floats each saved buffer of `forward` needs for n samples: (projected, weights, mixed).
    public func bufferSizes(samples n: Int) -> (Int, Int, Int) {
        (n * sequenceLength * stackedWidth, n * heads * sequenceLength, n * stackedWidth)
    }
    /// Score scale 1/√headDimensions.
    public var scoreScale: Float { Float(1 / Double(headDimensions).squareRoot()) }

    /// PyTorch-default initialisation: encoders U(±1/√modelDimensions), then decoders U(±1/√headDimensions).
    public func initialize(_ parameters: inout [Float], rng: inout RNG) {
        let encoderBound = Float(1 / Double(modelDimensions).squareRoot())
        let decoderBound = Float(1 / Double(headDimensions).squareRoot())
        parameters.withUnsafeMutableBufferPointer { p in
            for e in encoders {
                rng.fillUniform(UnsafeMutableBufferPointer(rebasing: p[e.range]), -encoderBound, encoderBound)
            }
            for d in decoders {
                rng.fillUniform(UnsafeMutableBufferPointer(rebasing: p[d.range]), -decoderBound, decoderBound)
            }
        }
    }

    /// Forward for `samples` sequences.
    /// - x (samples, T, d): input. Outputs (all overwritten):
    /// - projected (samples, T, heads·hd): `H = X W_allᵀ`;
    /// - weights (samples, heads, T): softmax of the last query row's scores;
    /// - mixed (samples, heads·hd): `O_h = Σ_j a_j H_j` for the last query;
    /// - y (samples, d): `U = Σ_h O_h D_hᵀ`.
    @inlinable
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, projected: UnsafeMutablePointer<Float>,
        weights: UnsafeMutablePointer<Float>, mixed: UnsafeMutablePointer<Float>,
        y: UnsafeMutablePointer<Float>, samples n: Int
    ) {
        let d = modelDimensions, hd = headDimensions, T = sequenceLength, W = stackedWidth, H = heads
        let scale = scoreScale
        // H (n·T, W) = X (n·T, d) · W_allᵀ (d, W)
        BLAS.sgemm(transB: true, m: n * T, n: W, k: d, a: x, b: theta + encoders[0].offset, c: projected)
        // Attention of the last query row, per sample and head.
        for s in 0..<n {
            let hs = projected + s * T * W
            for h in 0..<H {
                let q = hs + (T - 1) * W + h * hd  // (hd) query = H_h[T−1]
                let a = weights + (s * H + h) * T  // (T)
                var m = -Float.infinity
                for j in 0..<T {
                    let k = hs + j * W + h * hd
                    var dot: Float = 0
                    var i = 0
                    while i < hd { dot += q[i] * k[i]; i &+= 1 }
                    a[j] = dot * scale  // score_j = q·H_j / √hd
                    m = max(m, a[j])
                }
                var total: Float = 0
                for j in 0..<T { a[j] = Foundation.exp(a[j] - m); total += a[j] }
                for j in 0..<T { a[j] /= total }  // a = softmax(score)
                let o = mixed + s * W + h * hd  // (hd) O_h = Σ_j a_j H_h[j]
                for i in 0..<hd { o[i] = 0 }
                for j in 0..<T { Vector.addScaled(hs + j * W + h * hd, a[j], into: o, count: hd) }
            }
        }
        // U (n, d) = Σ_h O_h (n, hd) · D_hᵀ (hd, d)
        for h in 0..<H {
            BLAS.sgemm(
                transB: true, m: n, n: d, k: hd, a: mixed + h * hd, lda: W, b: theta + decoders[h].offset, ldb: hd,
                beta: h == 0 ? 0 : 1, c: y)
        }
    }

    /// Backward of `forward`, given its saved buffers and `dy` (samples, d) = ∂S/∂U.
    /// - dx (samples, T, d): `dx += dH · W_all`, skipped when nil.
    /// - decoders: `dD_h += dUᵀ O_h`; encoders: `dW_all += dHᵀ X` (the Q, K and V paths are all inside dH) —
    ///   summed over samples, or per sample into each sample's gradient row.
    @inlinable
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, projected: UnsafePointer<Float>,
        weights: UnsafePointer<Float>, mixed: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, samples n: Int, sink: GradientSink
    ) {
        let d = modelDimensions, hd = headDimensions, T = sequenceLength, W = stackedWidth, H = heads
        let scale = scoreScale
        let encoderOffset = encoders[0].offset
        let decoderOffsets = decoders.map(\.offset)
        let dMixed = UnsafeMutablePointer<Float>.allocate(capacity: max(n * W, 1))  // (n, W)
        let dProjected = UnsafeMutablePointer<Float>.allocate(capacity: max(n * T * W, 1))  // (n, T, W)
        defer { dMixed.deallocate(); dProjected.deallocate() }

        // U = Σ_h O_h D_hᵀ  ⇒  dO_h (n, hd) = dU (n, d) · D_h (d, hd)
        for h in 0..<H {
            BLAS.sgemm(m: n, n: hd, k: d, a: dy, b: theta + decoderOffsets[h], c: dMixed + h * hd, ldc: W)
        }
        // dD_h (d, hd) += dUᵀ O_h
        switch sink {
        case .sum(let g):
            for h in 0..<H {
                BLAS.sgemm(
                    transA: true, m: d, n: hd, k: n, a: dy, b: mixed + h * hd, ldb: W, beta: 1, c: g + decoderOffsets[h]
                )
            }
        case .perSample(let base, let stride):
            Parallel.forEachRange(n) { range in
                for s in range {
                    let dus = dy + s * d
                    for h in 0..<H {
                        // dD_h,s (d, hd) += dU_s ⊗ O_h,s
                        let gD = base + s * stride + decoderOffsets[h], os = mixed + s * W + h * hd
                        for r in 0..<d where dus[r] != 0 { Vector.addScaled(os, dus[r], into: gD + r * hd, count: hd) }
                    }
                }
            }
        case .perSampleDot(let dot):
            // ⟨dU_s ⊗ O_h,s, V_h⟩ = dU_s · (V_h O_h,s): Y = O_h V_hᵀ (n, d) per head and direction, then row dots.
            let projectedDecoder = UnsafeMutablePointer<Float>.allocate(capacity: max(n * d, 1))
            defer { projectedDecoder.deallocate() }
            for dir in 0..<dot.directionCount {
                for h in 0..<H {
                    let comp = decoders[h]
                    BLAS.sgemm(
                        transB: true, m: n, n: d, k: hd, a: mixed + h * hd, lda: W, b: dot.direction(dir, comp),
                        c: projectedDecoder)
                    for s in 0..<n {
                        dot.add(
                            BLAS.dot(count: d, dy + s * d, projectedDecoder + s * d), sample: s, direction: dir,
                            component: comp)
                    }
                }
            }
        }

        // Attention core, per sample and head, into dH (written).
        for s in 0..<n {
            let hs = projected + s * T * W, dhs = dProjected + s * T * W
            for i in 0..<(T * W) { dhs[i] = 0 }
            for h in 0..<H {
                let a = weights + (s * H + h) * T, dO = dMixed + s * W + h * hd
                let q = hs + (T - 1) * W + h * hd, dq = dhs + (T - 1) * W + h * hd
                // O = Σ_j a_j H_j  ⇒  dH_j += a_j dO (value path);  da_j = dO · H_j.
                // a = softmax(score)  ⇒  dscore_j = a_j (da_j − Σ_k a_k da_k); da_j is recomputed in the second pass
                // (T·hd multiply-adds) rather than stored, so the loop needs no workspace.
                var weightedSum: Float = 0
                for j in 0..<T {
                    let k = hs + j * W + h * hd
                    var dot: Float = 0
                    var i = 0
                    while i < hd { dot += dO[i] * k[i]; i &+= 1 }
                    weightedSum += a[j] * dot
                    Vector.addScaled(dO, a[j], into: dhs + j * W + h * hd, count: hd)
                }
                for j in 0..<T {
                    let k = hs + j * W + h * hd
                    var dot: Float = 0
                    var i = 0
                    while i < hd { dot += dO[i] * k[i]; i &+= 1 }
                    let ds = a[j] * (dot - weightedSum) * scale
                    // score_j = q·H_j/√hd  ⇒  dq += ds_j H_j (query path);  dH_j += ds_j q (key path)
                    Vector.addScaled(k, ds, into: dq, count: hd)
                    Vector.addScaled(q, ds, into: dhs + j * W + h * hd, count: hd)
                }
            }
        }
        if let dx {
            // H = X W_allᵀ  ⇒  dX (n·T, d) += dH (n·T, W) · W_all (W, d)
            BLAS.sgemm(m: n * T, n: d, k: W, a: dProjected, b: theta + encoderOffset, beta: 1, c: dx)
        }
        switch sink {
        case .sum(let g):
            // dW_all (W, d) += dHᵀ (W, n·T) · X (n·T, d)
            BLAS.sgemm(transA: true, m: W, n: d, k: n * T, a: dProjected, b: x, beta: 1, c: g + encoderOffset)
        case .perSample(let base, let stride):
            let dH = UnsafePointer(dProjected)
            Parallel.forEachRange(n) { range in
                for s in range {
                    // dW_all,s (W, d) += Σ_t dH_s[t] ⊗ X_s[t]
                    let gW = base + s * stride + encoderOffset
                    let dhs = dH + s * T * W, xs = x + s * T * d
                    for r in 0..<W {
                        for t in 0..<T {
                            let c = dhs[t * W + r]
                            if c != 0 { Vector.addScaled(xs + t * d, c, into: gW + r * d, count: d) }
                        }
                    }
                }
            }
        case .perSampleDot(let dot):
            // ⟨Σ_t dH_s[t] ⊗ X_s[t], V⟩ per head: Y = X V_allᵀ (n·T, W) per direction (the encoders are contiguous
            // in θ), then Σ_t dH_s[t, head block] · Y_s[t, head block].
            let projectedEncoder = UnsafeMutablePointer<Float>.allocate(capacity: max(n * T * W, 1))
            defer { projectedEncoder.deallocate() }
            let dH = UnsafePointer(dProjected)
            for dir in 0..<dot.directionCount {
                BLAS.sgemm(
                    transB: true, m: n * T, n: W, k: d, a: x, b: dot.direction(dir, encoders[0]), c: projectedEncoder)
                for s in 0..<n {
                    for h in 0..<H {
                        var acc = 0.0
                        for t in 0..<T {
                            let o = (s * T + t) * W + h * hd
                            acc += BLAS.dot(count: hd, dH + o, projectedEncoder + o)
                        }
                        dot.add(acc, sample: s, direction: dir, component: encoders[h])
                    }
                }
            }
        }
    }
}
