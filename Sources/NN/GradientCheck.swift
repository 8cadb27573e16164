import Tensor

/// Finite-difference checks of hand-written backward passes (used by the tests of every layer and model).
///
/// The checked scalar is S(θ) = Σ_i Σ_c w[i,c] · f_c(x_i; θ) with a fixed cotangent w, accumulated in Float64.
/// Float32 forwards carry relative noise of about 1e-7, so a central difference with step h along a unit-norm
/// random direction has truncation error O(h²) and round-off O(1e-7·|S|/h); h ≈ 1e-2 balances them for our models,
/// and checks use relative tolerances around 1e-2 on the directional derivative.
public enum GradientCheck {
    /// S(θ) in Float64.
    public static func scalar(_ model: Model, parameters: [Float], inputs: Tensor, outputGradients w: Tensor) -> Double
    {
        let f = model.forward(parameters: parameters, inputs: inputs)
        var s = 0.0
        for i in 0..<f.count { s += Double(w.storage[i]) * Double(f.storage[i]) }
        return s
    }

    /// Largest relative error between ⟨∇S, v⟩ from `model.backward` and the central difference
    /// (S(θ+hv) − S(θ−hv)) / 2h, over `directions` random unit directions v (optionally restricted to `component`).
    public static func directionalError(
        _ model: Model, parameters: [Float], inputs: Tensor, outputGradients w: Tensor,
        directions: Int = 4, step h: Float = 1e-2, component: String? = nil,
        seed: UInt64 = 7
    ) -> Double {
        var grad = [Float](repeating: 0, count: model.parameterCount)
        grad.withMutablePointer {
            _ = model.backward(parameters: parameters, inputs: inputs, outputGradients: w, into: .sum($0))
        }
        let range = component.map { model.layout.component(named: $0)!.range } ?? 0..<model.parameterCount
        var rng = RNG(seed: seed)
        var worst = 0.0
        for _ in 0..<directions {
            var v = [Float](repeating: 0, count: model.parameterCount)
            var n2 = 0.0
            for p in range { v[p] = Float(rng.normal()); n2 += Double(v[p] * v[p]) }
            let inv = Float(1 / n2.squareRoot())
            for p in range { v[p] *= inv }
            var plus = parameters, minus = parameters
            for p in range { plus[p] += h * v[p]; minus[p] -= h * v[p] }
            let fd =
                (scalar(model, parameters: plus, inputs: inputs, outputGradients: w)
                    - scalar(model, parameters: minus, inputs: inputs, outputGradients: w)) / (2 * Double(h))
            var analytic = 0.0
            for p in range { analytic += Double(grad[p]) * Double(v[p]) }
            let err = abs(fd - analytic) / max(abs(fd), abs(analytic), 1e-3)
            worst = max(worst, err)
        }
        return worst
    }

    /// Relative error between Σ_i (per-sample gradient rows) and the summed batch gradient, for the same cotangent.
    public static func perSampleSumError(
        _ model: Model, parameters: [Float], inputs: Tensor, outputGradients w: Tensor
    ) -> Double {
        let n = inputs.shape[0], P = model.parameterCount
        var batch = [Float](repeating: 0, count: P)
        batch.withMutablePointer {
            _ = model.backward(parameters: parameters, inputs: inputs, outputGradients: w, into: .sum($0))
        }
        var rows = [Float](repeating: 0, count: n * P)
        rows.withMutablePointer {
            _ = model.backward(
                parameters: parameters, inputs: inputs, outputGradients: w, into: .perSample($0, rowStride: P))
        }
        var diff2 = 0.0, ref2 = 0.0
        for p in 0..<P {
            var s = 0.0
            for i in 0..<n { s += Double(rows[i * P + p]) }
            diff2 += (s - Double(batch[p])) * (s - Double(batch[p]))
            ref2 += Double(batch[p]) * Double(batch[p])
        }
        return (diff2 / max(ref2, 1e-30)).squareRoot()
    }

    /// Largest error of the `.perSampleDot` sink against materialised per-sample rows dotted with the same random
    /// directions, component by component, relative to the largest inner product. `scratch` floats of workspace let
    /// the layers that can take the projection path (`ComponentProjection`); 0 keeps the direction-by-direction path.
    public static func perSampleDotError(
        _ model: Model, parameters: [Float], inputs: Tensor, outputGradients w: Tensor,
        directions D: Int = 2, scratch: Int = 0, seed: UInt64 = 11
    ) -> Double {
        let n = inputs.shape[0], P = model.parameterCount, K = model.layout.components.count
        var rng = RNG(seed: seed)
        var v = [Float](repeating: 0, count: D * P)
        v.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var rows = [Float](repeating: 0, count: n * P)
        rows.withMutablePointer {
            _ = model.backward(
                parameters: parameters, inputs: inputs, outputGradients: w, into: .perSample($0, rowStride: P))
        }
        var dots = [Double](repeating: 0, count: n * D * K)
        var work = [Float](repeating: .nan, count: scratch)  // NaN: a row the layer did not overwrite shows
        v.withPointer { vp in
            dots.withUnsafeMutableBufferPointer { out in
                work.withUnsafeMutableBufferPointer { sp in
                    _ = model.backward(
                        parameters: parameters, inputs: inputs, outputGradients: w,
                        into: .perSampleDot(
                            PerSampleDot(
                                directions: vp, directionCount: D, parameterCount: P,
                                out: out.baseAddress!, componentCount: K, scratch: scratch > 0 ? sp : nil)))
                }
            }
        }
        var worst = 0.0, scale = 1e-12
        for i in 0..<n {
            for d in 0..<D {
                for c in model.layout.components {
                    var ref = 0.0
                    for p in c.range { ref += Double(rows[i * P + p]) * Double(v[d * P + p]) }
                    scale = max(scale, abs(ref))
                    let error = abs(ref - dots[(i * D + d) * K + c.index])
                    worst = error.isNaN ? .infinity : max(worst, error)
                }
            }
        }
        return worst / scale
    }
}
