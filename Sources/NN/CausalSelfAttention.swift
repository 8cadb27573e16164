import Foundation
import Tensor

/// Causal multi-head self-attention of a GPT-style decoder block (docs/METHOD.md §19: the per-layer
/// "attention" module of the step explainer).
///
/// `qkv = x W_attnᵀ + b_attn` (d → 3d; columns [0, d) are queries, [d, 2d) keys, [2d, 3d) values, head h owns
/// columns h·hd ..< (h+1)·hd of each block), `A_h = softmax(Q_h K_hᵀ / √hd)` with the causal mask (key j ≤ query t),
/// `Y_h = A_h V_h`, heads side by side, then `out = Y W_projᵀ + b_proj`.
///
/// The attention core has no parameters: the two `Linear` layers carry all of them and implement the three
/// `GradientSink` cases with `positionsPerSample = T`, so per-sample gradients are per sequence.
public struct CausalSelfAttention: Sendable {
    public let modelDimensions: Int
    public let heads: Int
    public let sequenceLength: Int
    /// `<name>.c_attn`: (3d × d) and bias (3d).
    public let qkv: Linear
    /// `<name>.c_proj`: (d × d) and bias (d).
    public let projection: Linear

    public init(_ layout: inout ParameterLayout, name: String, modelDimensions d: Int, heads: Int, sequenceLength: Int)
    {
        precondition(d % heads == 0, "CausalSelfAttention: \(d) dimensions do not split into \(heads) heads")
        modelDimensions = d
        self.heads = heads
        self.sequenceLength = sequenceLength
        qkv = Linear(&layout, name: "\(name).c_attn", inFeatures: d, outFeatures: 3 * d)
        projection = Linear(&layout, name: "\(name).c_proj", inFeatures: d, outFeatures: d)
    }

    public var headDimensions: Int { modelDimensions / heads }

    /// Saved buffers of one forward, for `samples` sequences of T positions.
    public struct Buffers {
        public let qkv: UnsafeMutablePointer<Float>  // (n, T, 3d)
        public let attention: UnsafeMutablePointer<Float>  // (n, H, T, T)  softmax weights, 0 above the diagonal
        public let mixed: UnsafeMutablePointer<Float>  // (n, T, d)     Y, heads side by side
        public init(
            qkv: UnsafeMutablePointer<Float>, attention: UnsafeMutablePointer<Float>, mixed: UnsafeMutablePointer<Float>
        ) {
            self.qkv = qkv; self.attention = attention; self.mixed = mixed
        }
    }

    /// Floats each buffer needs for n samples: (qkv, attention, mixed).
    public func bufferSizes(samples n: Int) -> (Int, Int, Int) {
        let T = sequenceLength, d = modelDimensions
        return (n * T * 3 * d, n * heads * T * T, n * T * d)
    }

    /// x (n, T, d) → y (n, T, d), overwritten; fills `buffers`.
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, buffers: Buffers,
        y: UnsafeMutablePointer<Float>, samples n: Int
    ) {
        let T = sequenceLength, d = modelDimensions, H = heads, hd = headDimensions, d3 = 3 * d
        let scale = Float(1 / Double(hd).squareRoot())
        // qkv (n·T, 3d) = x W_attnᵀ + b_attn
        qkv.forward(theta, x: x, y: buffers.qkv, rows: n * T)
        let qkvBuffer = buffers.qkv, att = buffers.attention, mixed = buffers.mixed
        Parallel.forEachRange(n * H) { range in
            for sh in range {
                let s = sh / H, h = sh % H
                let base = qkvBuffer + s * T * d3 + h * hd
                let q = base, k = base + d, v = base + 2 * d  // (T, hd) each, row stride 3d
                let a = att + sh * T * T  // (T, T)
                // scores (T, T) = Q Kᵀ / √hd
                BLAS.sgemm(transB: true, m: T, n: T, k: hd, alpha: scale, a: q, lda: d3, b: k, ldb: d3, c: a)
                for t in 0..<T {
                    let row = a + t * T
                    var m = -Float.infinity
                    for j in 0...t { m = max(m, row[j]) }
                    var total: Float = 0
                    for j in 0...t { row[j] = Foundation.exp(row[j] - m); total += row[j] }
                    let inv = 1 / total
                    for j in 0...t { row[j] *= inv }  // A[t, j] = softmax_j≤t
                    for j in (t + 1)..<T { row[j] = 0 }  // causal mask
                }
                // Y_h (T, hd) = A (T, T) · V_h (T, hd)
                BLAS.sgemm(m: T, n: hd, k: T, a: a, b: v, ldb: d3, c: mixed + s * T * d + h * hd, ldc: d)
            }
        }
        // y = Y W_projᵀ + b_proj
        projection.forward(theta, x: mixed, y: y, rows: n * T)
    }

    /// Backward of `forward`, given its buffers and dy (n, T, d) = ∂S/∂out.
    /// - dx (n, T, d): `dx += dqkv · W_attn`, skipped when nil. Parameter gradients go to `sink`.
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, buffers: Buffers,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, samples n: Int, sink: GradientSink
    ) {
        let T = sequenceLength, d = modelDimensions, H = heads, hd = headDimensions, d3 = 3 * d
        let scale = Float(1 / Double(hd).squareRoot())
        let dMixed = UnsafeMutablePointer<Float>.allocate(capacity: n * T * d)  // (n, T, d)
        let dQKV = UnsafeMutablePointer<Float>.allocate(capacity: n * T * d3)  // (n, T, 3d)
        dMixed.initialize(repeating: 0, count: n * T * d)
        dQKV.initialize(repeating: 0, count: n * T * d3)
        defer { dMixed.deallocate(); dQKV.deallocate() }
        // out = Y W_projᵀ + b_proj  ⇒  dY += dout W_proj; dW_proj, db_proj
        projection.backward(theta, x: buffers.mixed, dy: dy, dx: dMixed, rows: n * T, positionsPerSample: T, sink: sink)
        let qkvBuffer = UnsafePointer(buffers.qkv), att = UnsafePointer(buffers.attention), dY = UnsafePointer(dMixed)
        Parallel.forEachRange(n * H) { range in
            let dA = UnsafeMutablePointer<Float>.allocate(capacity: T * T)  // (T, T) workspace
            defer { dA.deallocate() }
            for sh in range {
                let s = sh / H, h = sh % H
                let base = qkvBuffer + s * T * d3 + h * hd, dBase = dQKV + s * T * d3 + h * hd
                let q = base, k = base + d, v = base + 2 * d
                let a = att + sh * T * T
                let dYh = dY + s * T * d + h * hd  // (T, hd), row stride d
                // Y = A V  ⇒  dA (T, T) = dY Vᵀ;  dV (T, hd) += Aᵀ dY
                BLAS.sgemm(transB: true, m: T, n: T, k: hd, a: dYh, lda: d, b: v, ldb: d3, c: dA)
                BLAS.sgemm(transA: true, m: T, n: hd, k: T, a: a, b: dYh, ldb: d, beta: 1, c: dBase + 2 * d, ldc: d3)
                // A = softmax(scores) row-wise  ⇒  dscores[t, j] = A[t, j] (dA[t, j] − Σ_k A[t, k] dA[t, k]) / √hd
                for t in 0..<T {
                    let ar = a + t * T, dr = dA + t * T
                    var dotAD: Float = 0
                    for j in 0...t { dotAD += ar[j] * dr[j] }
                    for j in 0...t { dr[j] = ar[j] * (dr[j] - dotAD) * scale }
                    for j in (t + 1)..<T { dr[j] = 0 }
                }
                // scores = Q Kᵀ/√hd (scale folded in above)  ⇒  dQ += dS K;  dK += dSᵀ Q
                BLAS.sgemm(m: T, n: hd, k: T, a: dA, b: k, ldb: d3, beta: 1, c: dBase, ldc: d3)
                BLAS.sgemm(transA: true, m: T, n: hd, k: T, a: dA, b: q, ldb: d3, beta: 1, c: dBase + d, ldc: d3)
            }
        }
        // qkv = x W_attnᵀ + b_attn  ⇒  dx += dqkv W_attn; dW_attn, db_attn
        qkv.backward(theta, x: x, dy: dQKV, dx: dx, rows: n * T, positionsPerSample: T, sink: sink)
    }
}
