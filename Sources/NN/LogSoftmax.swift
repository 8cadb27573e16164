import Foundation
import Tensor

/// Row-wise log-softmax, `f_c = z_c − log Σ_k exp z_k` (the output layer of every model, docs/METHOD.md §1).
public enum LogSoftmax {
    /// z (rows, C) → f (rows, C), overwritten. Numerically stable (max-shifted, sum in Float64).
    @inlinable
    public static func forward(_ z: UnsafePointer<Float>, _ f: UnsafeMutablePointer<Float>, rows: Int, classes C: Int) {
        for r in 0..<rows {
            let zr = z + r * C, fr = f + r * C
            var m = -Float.infinity
            for c in 0..<C { m = max(m, zr[c]) }
            var s = 0.0
            for c in 0..<C { s += Foundation.exp(Double(zr[c] - m)) }
            let lse = m + Float(Foundation.log(s))
            for c in 0..<C { fr[c] = zr[c] - lse }
        }
    }

    /// Backward of `f = log_softmax(z)`: `dz = df − softmax(z) · Σ_c df_c` (written, not accumulated).
    /// - f (rows, C): the forward output; df, dz (rows, C).
    @inlinable
    public static func backward(
        output f: UnsafePointer<Float>, gradOutput df: UnsafePointer<Float>,
        gradInput dz: UnsafeMutablePointer<Float>, rows: Int, classes C: Int
    ) {
        for r in 0..<rows {
            let fr = f + r * C, dfr = df + r * C, dzr = dz + r * C
            var s: Float = 0
            for c in 0..<C { s += dfr[c] }
            for c in 0..<C { dzr[c] = dfr[c] - Foundation.exp(fr[c]) * s }
        }
    }
}
