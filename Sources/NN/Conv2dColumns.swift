import Tensor

/// im2col / col2im for one sample of a channel-major batch (C, n, H, W), writing into (or reading from) one block
/// of columns of a wider column matrix.
///
/// The column matrix of a chunk of samples is (C·k·k, chunk·OH·OW) with row stride `rowStride`; sample j of the
/// chunk owns columns `j·OH·OW ..< (j+1)·OH·OW`. Row `(c·k + i)·k + j` holds the pixel that kernel tap (c, i, j) sees
/// at each output position, zero where the tap falls into padding (the same row order as `Im2Col` and as the
/// PyTorch weight (Cout, C, k, k), so that the convolution is `W (Cout, C·k·k) · cols`).
public enum Conv2dColumns {
    /// Output positions `lo..<hi` whose input index `o·stride + tap − padding` lies inside `0..<extent`.
    @inlinable
    static func validRange(tap: Int, stride s: Int, padding p: Int, extent: Int, outExtent: Int) -> (Int, Int) {
        let first = p - tap                       // smallest o·s allowed
        let lo = first <= 0 ? 0 : (first + s - 1) / s
        let last = extent - 1 - tap + p           // largest o·s allowed
        let hi = last < 0 ? 0 : min(outExtent, last / s + 1)
        return (min(lo, hi), hi)
    }

    /// image (C, H, W) of one sample, channel c at `image + c·channelStride` →
    /// cols block (C·k·k, OH·OW) starting at `cols`, row stride `rowStride` (overwritten).
    @inlinable
    public static func gather(_ g: ConvGeometry, image: UnsafePointer<Float>, channelStride: Int,
                              cols: UnsafeMutablePointer<Float>, rowStride: Int) {
        let oh = g.outHeight, ow = g.outWidth, k = g.kernel, s = g.stride, p = g.padding
        let h = g.height, w = g.width
        for ki in 0..<k {
            let (yLo, yHi) = validRange(tap: ki, stride: s, padding: p, extent: h, outExtent: oh)
            for kj in 0..<k {
                let (xLo, xHi) = validRange(tap: kj, stride: s, padding: p, extent: w, outExtent: ow)
                let shift = kj &- p
                for c in 0..<g.channels {
                    let plane = image + c * channelStride
                    let row = cols + ((c * k + ki) * k + kj) * rowStride
                    for oy in 0..<oh {
                        let out = row + oy * ow
                        if oy < yLo || oy >= yHi {
                            out.update(repeating: 0, count: ow)
                            continue
                        }
                        let src = plane + (oy &* s &+ ki &- p) * w
                        var ox = 0
                        while ox < xLo { out[ox] = 0; ox &+= 1 }
                        if s == 1 {
                            while ox < xHi { out[ox] = src[ox &+ shift]; ox &+= 1 }
                        } else {
                            while ox < xHi { out[ox] = src[ox &* s &+ shift]; ox &+= 1 }
                        }
                        while ox < ow { out[ox] = 0; ox &+= 1 }
                    }
                }
            }
        }
    }

    /// Adjoint of `gather`: cols block (C·k·k, OH·OW), row stride `rowStride` → image (C, H, W) of one sample,
    /// channel c at `image + c·channelStride`, **accumulating** (`+=`) the taps that overlap.
    @inlinable
    public static func scatter(_ g: ConvGeometry, cols: UnsafePointer<Float>, rowStride: Int,
                               image: UnsafeMutablePointer<Float>, channelStride: Int) {
        let oh = g.outHeight, ow = g.outWidth, k = g.kernel, s = g.stride, p = g.padding
        let h = g.height, w = g.width
        for ki in 0..<k {
            let (yLo, yHi) = validRange(tap: ki, stride: s, padding: p, extent: h, outExtent: oh)
            for kj in 0..<k {
                let (xLo, xHi) = validRange(tap: kj, stride: s, padding: p, extent: w, outExtent: ow)
                let shift = kj &- p
                for c in 0..<g.channels {
                    let plane = image + c * channelStride
                    let row = cols + ((c * k + ki) * k + kj) * rowStride
                    for oy in yLo..<yHi {
                        let src = row + oy * ow
                        let dst = plane + (oy &* s &+ ki &- p) * w
                        var ox = xLo
                        if s == 1 {
                            while ox < xHi { dst[ox &+ shift] += src[ox]; ox &+= 1 }
                        } else {
                            while ox < xHi { dst[ox &* s &+ shift] += src[ox]; ox &+= 1 }
                        }
                    }
                }
            }
        }
    }
}
