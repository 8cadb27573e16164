import Tensor

/// Global max-pooling (PyTorch `nn.AdaptiveMaxPool2d((1, 1))`): the maximum over the H × W positions of each plane.
///
/// On a channel-major batch (C, n, H, W) the output (C, n) is the transposed feature matrix; flattening is then a
/// (C, n) → (n, C) transpose. The backward routes each gradient to the first maximum of its plane (PyTorch's tie rule).
public enum GlobalMaxPool {
    /// x (planes, positions) → y (planes), overwritten.
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int, positions: Int)
    {
        Parallel.forEachRange(planes, minimumChunk: 64) { range in
            for q in range {
                let src = x + q * positions
                var m = src[0]
                var i = 1
                while i < positions { m = max(m, src[i]); i &+= 1 }
                y[q] = m
            }
        }
    }

    /// Backward: `dx[q, argmax_q] += dy[q]`. x, dx (planes, positions); dy (planes).
    public static func backward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, planes: Int, positions: Int
    ) {
        Parallel.forEachRange(planes, minimumChunk: 64) { range in
            for q in range {
                let src = x + q * positions
                var best = 0
                var i = 1
                while i < positions { if src[i] > src[best] { best = i }; i &+= 1 }
                dx[q * positions + best] += dy[q]
            }
        }
    }
}
