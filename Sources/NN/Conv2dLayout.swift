import Tensor

/// Batch layouts of image activations.
///
/// Models receive images sample-major, (n, C, H, W), like PyTorch. Inside a convolutional network the activations
/// are kept **channel-major**, (C, n, H, W): then the column matrices of several samples sit side by side,
/// (C·k·k, n·OH·OW), a single GEMM `W · cols` writes the next activation directly in the same layout, and
/// element-wise layers and pooling treat the C·n planes alike whatever their order.
public enum Conv2dLayout {
    /// (n, C, plane) → (C, n, plane), overwriting `y`. Parallel over channels.
    public static func channelMajor(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        samples n: Int, channels C: Int, plane: Int
    ) {
        Parallel.forEachRange(C) { range in
            for c in range {
                for s in 0..<n { (y + (c * n + s) * plane).update(from: x + (s * C + c) * plane, count: plane) }
            }
        }
    }

    /// (C, n, plane) → (n, C, plane), overwriting `y`. Parallel over samples.
    public static func sampleMajor(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        samples n: Int, channels C: Int, plane: Int
    ) {
        Parallel.forEachRange(n) { range in
            for s in range {
                for c in 0..<C { (y + (s * C + c) * plane).update(from: x + (c * n + s) * plane, count: plane) }
            }
        }
    }
}
