import Foundation
import Tensor

/// Fully connected layer, `y = x Wᵀ + b` (PyTorch `nn.Linear`).
///
/// Rows are samples × positions: a sequence model passes all positions of all samples as rows and says how many
/// consecutive rows belong to one sample (`positionsPerSample`), so the per-sample rule sums over positions.
/// Initialisation (PyTorch default): W, b ~ U(±1/√inFeatures).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    /// W, shape (out, in).
    public let weight: ParameterLayout.Component
    /// b, shape (out), when present.
    public let bias: ParameterLayout.Component?

    public init(_ layout: inout ParameterLayout, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = layout.add("\(name).weight", [outFeatures, inFeatures])
        self.bias = bias ? layout.add("\(name).bias", [outFeatures]) : nil
    }

    /// PyTorch-default initialisation into θ.
    public func initialize(_ parameters: inout [Float], rng: inout RNG) {
        let bound = Float(1 / Double(inFeatures).squareRoot())
        parameters.withUnsafeMutableBufferPointer { p in
            rng.fillUniform(UnsafeMutableBufferPointer(rebasing: p[weight.range]), -bound, bound)
            if let b = bias { rng.fillUniform(UnsafeMutableBufferPointer(rebasing: p[b.range]), -bound, bound) }
        }
    }

    /// x (rows, in) → y (rows, out), overwritten.
    @inlinable
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int
    ) {
        // y = x · Wᵀ
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, b: theta + weight.offset, c: y)
        if let b = bias {
            let bp = theta + b.offset
            for r in 0..<rows { Vector.add(bp, into: y + r * outFeatures, count: outFeatures) }
        }
    }

    /// Backward of `y = x Wᵀ + b`.
    /// - dx (rows, in): `dx += dy · W`, skipped when nil.
    /// - weights: `dW += dyᵀ · x`, `db += Σ_rows dy` — summed over all rows, or per sample (over its positions).
    @inlinable
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, rows: Int, positionsPerSample: Int = 1, sink: GradientSink
    ) {
        if let dx {
            // dx += dy (rows, out) · W (out, in)
            BLAS.sgemm(m: rows, n: inFeatures, k: outFeatures, a: dy, b: theta + weight.offset, beta: 1, c: dx)
        }
        switch sink {
        case .sum(let g):
            // dW (out, in) += dyᵀ (out, rows) · x (rows, in)
            BLAS.sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, a: dy, b: x, beta: 1, c: g + weight.offset)
            if let b = bias {
                let gb = g + b.offset
                for r in 0..<rows { Vector.add(dy + r * outFeatures, into: gb, count: outFeatures) }
            }
        case .perSample(let base, let stride):
            let samples = rows / positionsPerSample
            let pps = positionsPerSample
            let out = outFeatures, inF = inFeatures
            let w = weight, bComp = bias
            Parallel.forEachRange(samples) { range in
                for s in range {
                    let row = base + s * stride
                    let dys = dy + s * pps * out, xs = x + s * pps * inF
                    if pps == 1 {
                        // Outer product dW_s += dy_s ⊗ x_s
                        let gw = row + w.offset
                        for o in 0..<out where dys[o] != 0 {
                            Vector.addScaled(xs, dys[o], into: gw + o * inF, count: inF)
                        }
                    } else {
                        // dW_s (out, in) += dy_sᵀ (out, pps) · x_s (pps, in)
                        BLAS.sgemm(transA: true, m: out, n: inF, k: pps, a: dys, b: xs, beta: 1, c: row + w.offset)
                    }
                    if let b = bComp {
                        for p in 0..<pps { Vector.add(dys + p * out, into: row + b.offset, count: out) }
                    }
                }
            }
        case .perSampleDot(let dot):
            // ⟨Σ_p dy_{s,p} x_{s,p}ᵀ, V⟩ = Σ_p dy_{s,p} · (V x_{s,p}): one GEMM Y = x Vᵀ (rows, out) per direction,
            // then row-wise dots with dy — the (out × in) per-sample gradient is never formed.
            let samples = rows / positionsPerSample
            let pps = positionsPerSample, out = outFeatures
            let projected = UnsafeMutablePointer<Float>.allocate(capacity: rows * out)
            defer { projected.deallocate() }
            for d in 0..<dot.directionCount {
                BLAS.sgemm(
                    transB: true, m: rows, n: out, k: inFeatures, a: x, b: dot.direction(d, weight), c: projected)
                let w = weight, bComp = bias
                Parallel.forEachRange(samples) { range in
                    for s in range {
                        var sw = 0.0, sb = 0.0
                        for p in 0..<pps {
                            let r = s * pps + p
                            sw += BLAS.dot(count: out, dy + r * out, projected + r * out)
                            if let b = bComp { sb += BLAS.dot(count: out, dy + r * out, dot.direction(d, b)) }
                        }
                        dot.add(sw, sample: s, direction: d, component: w)
                        if let b = bComp { dot.add(sb, sample: s, direction: d, component: b) }
                    }
                }
            }
        }
    }
}
