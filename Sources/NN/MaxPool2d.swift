import Tensor

/// 2 × 2 max-pooling with stride 2 (PyTorch `nn.MaxPool2d(2)`), over independent planes.
///
/// A channel-major batch (C, n, H, W) is C·n planes of H × W; the output is (C, n, ⌊H/2⌋, ⌊W/2⌋).
/// The backward routes each output gradient to the first maximum of its window in row-major order
/// (PyTorch's tie rule); the argmax is recomputed from the input rather than stored.
public enum MaxPool2d {
    /// x (planes, H, W) → y (planes, H/2, W/2), overwritten. Parallel over planes.
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        planes: Int, height h: Int, width w: Int
    ) {
        let oh = h / 2, ow = w / 2
        Parallel.forEachRange(planes, minimumChunk: 16) { range in
            for q in range {
                let src = x + q * h * w, dst = y + q * oh * ow
                for oy in 0..<oh {
                    let top = src + (2 * oy) * w, bottom = top + w
                    let out = dst + oy * ow
                    var ox = 0
                    while ox < ow {
                        let i = 2 &* ox
                        // y = max(x[2oy, 2ox], x[2oy, 2ox+1], x[2oy+1, 2ox], x[2oy+1, 2ox+1])
                        out[ox] = max(max(top[i], top[i &+ 1]), max(bottom[i], bottom[i &+ 1]))
                        ox &+= 1
                    }
                }
            }
        }
    }

    /// Backward: `dx[argmax of window] += dy` for each output position. dx (planes, H, W), dy (planes, H/2, W/2).
    public static func backward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, planes: Int, height h: Int, width w: Int
    ) {
        let oh = h / 2, ow = w / 2
        Parallel.forEachRange(planes, minimumChunk: 16) { range in
            for q in range {
                let src = x + q * h * w, grad = dx + q * h * w, dout = dy + q * oh * ow
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        // Window offsets in row-major order; strict `>` keeps the first maximum.
                        let base = (2 * oy) * w + 2 * ox
                        var best = base
                        if src[base &+ 1] > src[best] { best = base &+ 1 }
                        if src[base &+ w] > src[best] { best = base &+ w }
                        if src[base &+ w &+ 1] > src[best] { best = base &+ w &+ 1 }
                        grad[best] += dout[oy * ow + ox]
                    }
                }
            }
        }
    }
}
