import Foundation
import Tensor

/// Exact Hessian-vector products of the training objective of a `ReLUMLP`,
///
///     J(θ) = (1/N) Σ_i −log p_{y_i}(x_i; θ) + (wd/2)‖θ‖²,
///
/// for a block of D directions at once, by Pearlmutter's R-operator (docs/METHOD.md §17): a forward pass of the
/// tangents Rz = ∂z/∂θ · v, then the tangent of the backward pass. Per layer z = a Wᵀ + b, a' = ReLU(z):
///
///     Rz = Ra Wᵀ + a Vᵀ + c,             Ra' = Rz ⊙ 1[z > 0]   (ReLU'' = 0 almost everywhere)
///     RgW = Rδzᵀ a + δzᵀ Ra,              Rgb = Σ_rows Rδz,      Rδa = Rδz W + δz V,   Rδz = Rδa ⊙ 1[z > 0]
///
/// and at the head δ = (p − e_y)/N, Rδ = (p ⊙ Rz − p (pᵀRz))/N. (V, c) is the direction's (weight, bias) part.
/// The D tangents of a chunk of rows are stored (row, direction, feature), so every product above is one GEMM over
/// all directions (the direction-stacked weights of a `ComponentMajorBlock` are one (D·out × in) matrix).
public struct MLPHessian {
    public let mlp: ReLUMLP
    public let parameters: [Float]
    public let inputs: Tensor
    public let labels: [Int]
    public let weightDecay: Double
    /// Tangent buffers hold at most about this many floats per layer (sets the row chunk).
    public var chunkFloats = 1 << 23

    public init(mlp: ReLUMLP, parameters: [Float], inputs: Tensor, labels: [Int], weightDecay: Double) {
        precondition(
            parameters.count == mlp.layout.count,
            "MLPHessian: θ has \(parameters.count) values, expected \(mlp.layout.count)")
        precondition(
            inputs.rank >= 2 && inputs.rowLength == mlp.inputFeatures && labels.count == inputs.shape[0],
            "MLPHessian: inputs \(inputs.shape) and \(labels.count) labels for a \(mlp.inputFeatures)-input MLP")
        self.mlp = mlp; self.parameters = parameters; self.inputs = inputs; self.labels = labels;
        self.weightDecay = weightDecay
    }

    /// (∇²J(θ)) v_d for every vector v_d of `v` (including the weight-decay term wd·v_d).
    public func product(_ v: ComponentMajorBlock) -> ComponentMajorBlock {
        let D = v.count, N = labels.count
        var out = ComponentMajorBlock(layout: mlp.layout, count: D)
        if D == 0 { return out }
        let width = mlp.layers.map { max($0.inFeatures, $0.outFeatures) }.max()!
        let rowsPerChunk = max(1, min(N, chunkFloats / (D * width)))
        parameters.withPointer { theta in
            v.storage.withPointer { vp in
                out.storage.withMutablePointer { op in
                    inputs.storage.withPointer { x in
                        for lo in stride(from: 0, to: N, by: rowsPerChunk) {
                            let R = min(N, lo + rowsPerChunk) - lo
                            chunk(
                                theta: theta, x: x + lo * mlp.inputFeatures, labels: labels[lo..<(lo + R)], total: N,
                                v: vp, D: D, out: op)
                        }
                    }
                    if weightDecay != 0 {
                        Vector.addScaled(vp, Float(weightDecay), into: op, count: D * mlp.layout.count)
                    }
                }
            }
        }
        return out
    }

    /// Adds the contribution of rows `labels.indices` (inputs at `x`) to `out`.
    private func chunk(
        theta: UnsafePointer<Float>, x: UnsafePointer<Float>, labels: ArraySlice<Int>, total N: Int,
        v: UnsafePointer<Float>, D: Int, out: UnsafeMutablePointer<Float>
    ) {
        let R = labels.count, L = mlp.layers.count, C = mlp.classCount
        let arena = FloatArena()
        // Primal forward: a[0] = x, z[l], a[l+1] = act(z[l]).
        var a: [UnsafePointer<Float>] = [x], z: [UnsafeMutablePointer<Float>] = []
        for layer in mlp.layers {
            let zl = arena.make(R * layer.outFeatures)
            linearForward(layer, theta, a[a.count - 1], zl, rows: R)
            z.append(zl)
            if layer.relu {
                let al = arena.make(R * layer.outFeatures)
                ReLU.forward(zl, al, count: R * layer.outFeatures)
                a.append(UnsafePointer(al))
            } else {
                a.append(UnsafePointer(zl))
            }
        }
        // Tangent forward: Ra[l] (R, D, in_l) for l ≥ 1 (Ra[0] = 0: the inputs do not depend on θ).
        var Ra: [UnsafeMutablePointer<Float>?] = [nil]
        for (l, layer) in mlp.layers.enumerated() {
            let out = layer.outFeatures, inF = layer.inFeatures
            let Rz = arena.makeUninitialized(R * D * out)
            // a Vᵀ for all directions: (R × in) · (D·out × in)ᵀ → (R, D, out)
            BLAS.sgemm(transB: true, m: R, n: D * out, k: inF, a: a[l], b: v + D * layer.weight.offset, c: Rz)
            if let Rin = Ra[l] {  // + Ra Wᵀ: (R·D × in) · (out × in)ᵀ
                BLAS.sgemm(
                    transB: true, m: R * D, n: out, k: inF, a: Rin, b: theta + layer.weight.offset, beta: 1, c: Rz)
            }
            if let b = layer.bias {
                for r in 0..<R { Vector.add(v + D * b.offset, into: Rz + r * D * out, count: D * out) }
            }
            if layer.relu { mask(Rz, by: z[l], rows: R, directions: D, features: out) }
            Ra.append(Rz)
        }
        // Head: δ = (p − e_y)/N, Rδ = (p ⊙ Rz − p (pᵀRz))/N, with Rz the logits' tangents Ra[L].
        let delta = arena.make(R * C), Rdelta = arena.make(R * D * C)
        let logits = a[L], RL = Ra[L]!
        let invN = 1 / Double(N)
        for r in 0..<R {
            let zr = logits + r * C
            var m = -Float.infinity
            for c in 0..<C { m = max(m, zr[c]) }
            var p = [Double](repeating: 0, count: C), s = 0.0
            for c in 0..<C { p[c] = exp(Double(zr[c] - m)); s += p[c] }
            for c in 0..<C {
                p[c] /= s; delta[r * C + c] = Float((p[c] - (c == labels[labels.startIndex + r] ? 1 : 0)) * invN)
            }
            for d in 0..<D {
                let t = RL + (r * D + d) * C, rt = Rdelta + (r * D + d) * C
                var pt = 0.0
                for c in 0..<C { pt += p[c] * Double(t[c]) }
                for c in 0..<C { rt[c] = Float(p[c] * (Double(t[c]) - pt) * invN) }
            }
        }
        // Tangent backward, from the top layer down. δ and Rδ are w.r.t. the layer's output (after its ReLU).
        var dz = delta, Rdz = Rdelta
        for l in stride(from: L - 1, through: 0, by: -1) {
            let layer = mlp.layers[l], outF = layer.outFeatures, inF = layer.inFeatures
            if layer.relu {  // the last layer's ReLU (hidden layers were masked when δa was formed below)
                if l == L - 1 {
                    maskPrimal(dz, by: z[l], count: R * outF);
                    mask(Rdz, by: z[l], rows: R, directions: D, features: outF)
                }
            }
            let gW = out + D * layer.weight.offset
            // RgW += Rδzᵀ a: (D·out × R) · (R × in) → (D, out, in)
            BLAS.sgemm(transA: true, m: D * outF, n: inF, k: R, a: Rdz, b: a[l], beta: 1, c: gW)
            if let Rin = Ra[l] {
                // + δzᵀ Ra: (out × R) · (R × D·in) → (out, D, in), added to (D, out, in)
                let t = arena.makeUninitialized(outF * D * inF)
                BLAS.sgemm(transA: true, m: outF, n: D * inF, k: R, a: dz, b: Rin, c: t)
                for o in 0..<outF {
                    for d in 0..<D { Vector.add(t + (o * D + d) * inF, into: gW + (d * outF + o) * inF, count: inF) }
                }
            }
            if let b = layer.bias {
                for r in 0..<R { Vector.add(Rdz + r * D * outF, into: out + D * b.offset, count: D * outF) }
            }
            guard l > 0 else { break }
            // δa = δz W; Rδa = Rδz W + δz V, then through the ReLU of layer l − 1.
            let da = arena.makeUninitialized(R * inF), Rda = arena.makeUninitialized(R * D * inF)
            BLAS.sgemm(m: R, n: inF, k: outF, a: dz, b: theta + layer.weight.offset, c: da)
            BLAS.sgemm(m: R * D, n: inF, k: outF, a: Rdz, b: theta + layer.weight.offset, c: Rda)
            // V permuted to (out, D·in) so that δz (R × out) · V' gives (R, D, in) in one product.
            let vp = arena.makeUninitialized(outF * D * inF), vw = v + D * layer.weight.offset
            for d in 0..<D {
                for o in 0..<outF { (vp + (o * D + d) * inF).update(from: vw + (d * outF + o) * inF, count: inF) }
            }
            BLAS.sgemm(m: R, n: D * inF, k: outF, a: dz, b: vp, beta: 1, c: Rda)
            if mlp.layers[l - 1].relu {
                maskPrimal(da, by: z[l - 1], count: R * inF)
                mask(Rda, by: z[l - 1], rows: R, directions: D, features: inF)
            }
            dz = da; Rdz = Rda
        }
        withExtendedLifetime(arena) {}
    }

    private func linearForward(
        _ layer: ReLUMLP.Layer, _ theta: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, rows: Int
    ) {
        BLAS.sgemm(
            transB: true, m: rows, n: layer.outFeatures, k: layer.inFeatures, a: x, b: theta + layer.weight.offset, c: y
        )
        if let b = layer.bias {
            for r in 0..<rows {
                Vector.add(theta + b.offset, into: y + r * layer.outFeatures, count: layer.outFeatures)
            }
        }
    }

    /// t[r, d, f] = 0 where z[r, f] ≤ 0.
    private func mask(
        _ t: UnsafeMutablePointer<Float>, by z: UnsafePointer<Float>, rows: Int, directions D: Int, features F: Int
    ) {
        for r in 0..<rows { for f in 0..<F where z[r * F + f] <= 0 { for d in 0..<D { t[(r * D + d) * F + f] = 0 } } }
    }

    private func maskPrimal(_ t: UnsafeMutablePointer<Float>, by z: UnsafePointer<Float>, count: Int) {
        for i in 0..<count where z[i] <= 0 { t[i] = 0 }
    }
}
