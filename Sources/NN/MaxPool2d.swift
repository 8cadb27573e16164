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
    /// Eight windows of a row at a time with branch-free selects (the winner of a window depends on the data, so a
    /// branch per window mispredicts often), the rest one by one; both keep the first maximum.
    public static func backward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, planes: Int, height h: Int, width w: Int
    ) {
        let oh = h / 2, ow = w / 2
        Parallel.forEachRange(planes, minimumChunk: 16) { range in
            for q in range {
                let src = x + q * h * w, grad = dx + q * h * w, dout = dy + q * oh * ow
                for oy in 0..<oh {
                    let top = src + (2 * oy) * w, row = grad + (2 * oy) * w, gradients = dout + oy * ow
                    var ox = 0
                    while ox &+ 8 <= ow {  // reads top[2ox ..< 2ox + 16] and the row below, inside the image
                        addEightWindows(
                            top: top + 2 &* ox, width: w, gradients: gradients + ox, into: row + 2 &* ox)
                        ox &+= 8
                    }
                    while ox < ow {
                        // Window offsets in row-major order; strict `>` keeps the first maximum.
                        let base = 2 &* ox
                        var best = base
                        if top[base &+ 1] > top[best] { best = base &+ 1 }
                        if top[base &+ w] > top[best] { best = base &+ w }
                        if top[base &+ w &+ 1] > top[best] { best = base &+ w &+ 1 }
                        row[best] += gradients[ox]
                        ox &+= 1
                    }
                }
            }
        }
    }

    /// Eight neighbouring windows whose top-left corners are top[0], top[2], …, top[14]: each window's gradient is
    /// added at its first maximum (row-major order, strict `>`, so NaN never wins), in `row` and the row below it.
    @inlinable @inline(__always)
    static func addEightWindows(
        top: UnsafePointer<Float>, width w: Int, gradients: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>
    ) {
        let upper = UnsafeRawPointer(top).loadUnaligned(as: SIMD16<Float>.self)
        let lower = UnsafeRawPointer(top + w).loadUnaligned(as: SIMD16<Float>.self)
        let v0 = upper.evenHalf, v1 = upper.oddHalf, v2 = lower.evenHalf, v3 = lower.oddHalf
        let g = UnsafeRawPointer(gradients).loadUnaligned(as: SIMD8<Float>.self)
        var best = v0
        let over1 = v1 .> best
        best.replace(with: v1, where: over1)
        let over2 = v2 .> best
        best.replace(with: v2, where: over2)
        let over3 = v3 .> best
        let zero = SIMD8<Float>()
        let g3 = zero.replacing(with: g, where: over3)
        let g2 = zero.replacing(with: g, where: over2 .& .!over3)
        let g1 = zero.replacing(with: g, where: over1 .& .!over2 .& .!over3)
        let g0 = zero.replacing(with: g, where: .!(over1 .| over2 .| over3))
        Vector.addInterleaved(g0, g1, into: row)
        Vector.addInterleaved(g2, g3, into: row + w)
    }
}
