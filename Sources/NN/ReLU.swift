import Tensor

/// Element-wise rectifier `y = max(x, 0)`, NaN passed through as in PyTorch. It has no parameters, so its
/// per-sample gradient rule is empty: it only routes output gradients back to its input.
public enum ReLU {
    /// x (count) → y (count), overwritten.
    @inlinable
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Vector.relu(x, y, count: count)
    }

    /// Backward of `y = max(x, 0)`: `dx (+)= x ≤ 0 ? 0 : dy` (written, or accumulated when `accumulate`).
    /// The derivative at exactly 0 is taken as 0, and a NaN input passes dy, as in PyTorch.
    @inlinable
    public static func backward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        Vector.reluBackward(input: x, gradOutput: dy, gradInput: dx, count: count, accumulate: accumulate)
    }

    /// Fewest elements per worker in the parallel variants (smaller arrays run on the calling thread).
    public static let parallelChunk = 1 << 16

    /// `forward` split over the `Parallel` workers in contiguous chunks (for whole-batch activations).
    public static func parallelForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: parallelChunk) { r in
            Vector.relu(x + r.lowerBound, y + r.lowerBound, count: r.count)
        }
    }

    /// `backward` split over the `Parallel` workers in contiguous chunks (for whole-batch activations).
    public static func parallelBackward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        Parallel.forEachRange(count, minimumChunk: parallelChunk) { r in
            Vector.reluBackward(
                input: x + r.lowerBound, gradOutput: dy + r.lowerBound, gradInput: dx + r.lowerBound,
                count: r.count, accumulate: accumulate)
        }
    }
}
