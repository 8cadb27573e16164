import Foundation
import Tensor

/// The tanh approximation of the Gaussian error linear unit (GPT-2's `gelu`, PyTorch `GELU(approximate="tanh")`):
/// `y = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
///
/// It has no parameters, so all three `GradientSink` cases are empty for it: it only routes output gradients back
/// to its input, and the per-sample rules of the surrounding `Linear` layers see the routed gradient.
public enum GELU {
    @usableFromInline static let scale: Float = Float((2 / Double.pi).squareRoot())

    /// x (count) → y (count), overwritten.
    @inlinable
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            let u = scale * (v + 0.044715 * v * v * v)
            y[i] = 0.5 * v * (1 + Foundation.tanh(u))
        }
    }

    /// Backward: `dx += dy · (½(1 + tanh u) + ½ x (1 − tanh² u) · √(2/π)(1 + 3·0.044715 x²))`.
    @inlinable
    public static func backward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count {
            let v = x[i]
            let u = scale * (v + 0.044715 * v * v * v)
            let t = Foundation.tanh(u)
            let du = scale * (1 + 3 * 0.044715 * v * v)
            dx[i] += dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du)
        }
    }
}
