import Foundation
import Tensor

/// Element-wise hyperbolic tangent `y = tanh(x)` (PyTorch `nn.Tanh`).
///
/// It has no parameters, so all three `GradientSink` cases are empty for it: it only routes output gradients back
/// to its input, `dx += dy · (1 − y²)`, using the saved output y.
public enum Tanh {
    /// x (count) → y (count), overwritten.
    @inlinable
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
    }

    /// Backward from the forward output y: `dx += dy · (1 − y²)`.
    @inlinable
    public static func backward(
        output y: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { dx[i] += dy[i] * (1 - y[i] * y[i]) }
    }
}
