import Foundation
import Tensor

/// Layer normalisation over the last axis, `y = (x − μ)/√(σ² + ε) · γ + β` (PyTorch `nn.LayerNorm`, ε = 1e-5,
/// biased variance), used by the decoder-only language model of the step explainer (docs/METHOD.md §19).
///
/// Rows are samples × positions as in `Linear`: `positionsPerSample` consecutive rows belong to one sample, and the
/// per-sample rules sum over them. Initialisation (PyTorch default): γ = 1, β = 0.
public struct LayerNorm: Sendable {
    public let dimensions: Int
    public let epsilon: Float
    /// γ, shape (dimensions).
    public let weight: ParameterLayout.Component
    /// β, shape (dimensions).
    public let bias: ParameterLayout.Component

    public init(_ layout: inout ParameterLayout, name: String, dimensions: Int, epsilon: Float = 1e-5) {
        self.dimensions = dimensions
        self.epsilon = epsilon
        weight = layout.add("\(name).weight", [dimensions])
        bias = layout.add("\(name).bias", [dimensions])
    }

    /// γ = 1, β = 0.
    public func initialize(_ parameters: inout [Float]) {
        for p in weight.range { parameters[p] = 1 }
        for p in bias.range { parameters[p] = 0 }
    }

    /// x (rows, C) → y (rows, C), overwritten; saves mean (rows) and rstd = 1/√(σ² + ε) (rows) for the backward.
    @inlinable
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, rows: Int
    ) {
        let C = dimensions, eps = Double(epsilon)
        let g = theta + weight.offset, b = theta + bias.offset
        for r in 0..<rows {
            let xr = x + r * C, yr = y + r * C
            var m = 0.0
            for i in 0..<C { m += Double(xr[i]) }
            m /= Double(C)
            var v = 0.0
            for i in 0..<C { let c = Double(xr[i]) - m; v += c * c }
            v /= Double(C)
            let s = Float(1 / (v + eps).squareRoot())
            let mf = Float(m)
            var i = 0
            while i < C { yr[i] = (xr[i] - mf) * s * g[i] + b[i]; i &+= 1 }  // y = x̂ γ + β
            mean[r] = mf
            rstd[r] = s
        }
    }

    /// Backward of `y = x̂ γ + β`, `x̂ = (x − μ)·rstd`:
    /// - dx (rows, C): `dx += rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))` with `dx̂ = dy ⊙ γ`;
    /// - `dγ += Σ dy ⊙ x̂`, `dβ += Σ dy`, summed over rows, per sample, or dotted with directions.
    @inlinable
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
        rows: Int, positionsPerSample: Int = 1, sink: GradientSink
    ) {
        let C = dimensions
        let g = theta + weight.offset
        if let dx {
            for r in 0..<rows {
                let xr = x + r * C, dyr = dy + r * C, dxr = dx + r * C
                let m = mean[r], s = rstd[r]
                var meanD: Float = 0, meanDN: Float = 0
                for i in 0..<C {
                    let n = (xr[i] - m) * s
                    let dn = dyr[i] * g[i]  // dx̂ = dy γ
                    meanD += dn; meanDN += dn * n
                }
                meanD /= Float(C); meanDN /= Float(C)
                var i = 0
                while i < C {
                    let n = (xr[i] - m) * s
                    dxr[i] += (dyr[i] * g[i] - meanD - n * meanDN) * s
                    i &+= 1
                }
            }
        }
        // Parameter gradients of rows lo..<hi: dγ += dy ⊙ x̂, dβ += dy.
        func accumulate(_ lo: Int, _ hi: Int, _ gw: UnsafeMutablePointer<Float>, _ gb: UnsafeMutablePointer<Float>) {
            for r in lo..<hi {
                let xr = x + r * C, dyr = dy + r * C
                let m = mean[r], s = rstd[r]
                var i = 0
                while i < C { gw[i] += dyr[i] * (xr[i] - m) * s; gb[i] += dyr[i]; i &+= 1 }
            }
        }
        switch sink {
        case .sum(let base):
            accumulate(0, rows, base + weight.offset, base + bias.offset)
        case .perSample(let base, let stride):
            let pps = positionsPerSample, samples = rows / positionsPerSample
            let w = weight, b = bias
            Parallel.forEachRange(samples) { range in
                for s in range {
                    accumulate(s * pps, (s + 1) * pps, base + s * stride + w.offset, base + s * stride + b.offset)
                }
            }
        case .perSampleDot(let dot):
            // ⟨dγ_s, V_γ⟩ = Σ_p Σ_i dy x̂ V_γ,  ⟨dβ_s, V_β⟩ = Σ_p Σ_i dy V_β
            let pps = positionsPerSample, samples = rows / positionsPerSample
            let w = weight, b = bias
            Parallel.forEachRange(samples) { range in
                for s in range {
                    for d in 0..<dot.directionCount {
                        let vw = dot.direction(d, w), vb = dot.direction(d, b)
                        var aw = 0.0, ab = 0.0
                        for r in (s * pps)..<((s + 1) * pps) {
                            let xr = x + r * C, dyr = dy + r * C
                            let m = mean[r], sd = rstd[r]
                            var fw: Float = 0, fb: Float = 0
                            for i in 0..<C { fw += dyr[i] * (xr[i] - m) * sd * vw[i]; fb += dyr[i] * vb[i] }
                            aw += Double(fw); ab += Double(fb)
                        }
                        dot.add(aw, sample: s, direction: d, component: w)
                        dot.add(ab, sample: s, direction: d, component: b)
                    }
                }
            }
        }
    }
}
