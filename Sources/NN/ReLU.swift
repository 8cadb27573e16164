import Tensor

/// Element-wise rectifier `y = max(x, 0)`. It has no parameters, so its per-sample gradient rule is empty:
/// it only routes output gradients back to its input.
public enum ReLU {
    /// x (count) → y (count), overwritten.
    @inlinable
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Vector.relu(x, y, count: count)
    }

    /// Backward of `y = max(x, 0)`: `dx (+)= x > 0 ? dy : 0` (written, or accumulated when `accumulate`).
    /// The derivative at exactly 0 is taken as 0, as in PyTorch.
    @inlinable
    public static func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                gradInput dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false) {
        Vector.reluBackward(input: x, gradOutput: dy, gradInput: dx, count: count, accumulate: accumulate)
    }
}
