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
        let first = p - tap  // smallest o·s allowed
        let lo = first <= 0 ? 0 : (first + s - 1) / s
        let last = extent - 1 - tap + p  // largest o·s allowed
        let hi = last < 0 ? 0 : min(outExtent, last / s + 1)
        return (min(lo, hi), hi)
    }

    /// image (C, H, W) of one sample, channel c at `image + c·channelStride` →
    /// cols block (C·k·k, OH·OW) starting at `cols`, row stride `rowStride` (overwritten).
    ///
    /// Two fast paths, both plain copies (the result is the same as the general loop's):
    /// - stride 1 with OW = W ("same" width): the valid rows of one tap are a single contiguous run of the input plane,
    ///   copied at once; the entries that wrapped around a row edge are then set to zero;
    /// - stride 2: eight outputs at a time from one 16-float load, keeping its even lanes.
    @inlinable
    public static func gather(
        _ g: ConvGeometry, image: UnsafePointer<Float>, channelStride: Int,
        cols: UnsafeMutablePointer<Float>, rowStride: Int
    ) {
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
                    if s == 1 && ow == w {
                        gatherSameWidth(
                            plane: plane, out: row, oh: oh, ow: ow, rowShift: ki &- p, shift: shift,
                            yLo: yLo, yHi: yHi, xLo: xLo, xHi: xHi)
                        continue
                    }
                    for oy in 0..<oh {
                        let out = row + oy * ow
                        if oy < yLo || oy >= yHi {
                            for ox in 0..<ow { out[ox] = 0 }
                            continue
                        }
                        let iy = oy &* s &+ ki &- p
                        let src = plane + iy * w
                        var ox = 0
                        while ox < xLo { out[ox] = 0; ox &+= 1 }
                        if s == 1 {
                            while ox < xHi { out[ox] = src[ox &+ shift]; ox &+= 1 }
                        } else {
                            if s == 2 && iy < h - 1 {
                                // Lanes 0, 2, …, 14 of src[2·ox + shift ..< 2·ox + shift + 16] are outputs ox ..< ox + 8;
                                // the last lane read is at most one float past this row, inside the next row.
                                while ox &+ 8 <= xHi {
                                    let v = UnsafeRawPointer(src + (2 &* ox &+ shift)).loadUnaligned(
                                        as: SIMD16<Float>.self)
                                    UnsafeMutableRawPointer(out + ox).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                                    ox &+= 8
                                }
                                if ox < xHi && xHi &- 8 >= xLo {
                                    // The tail as one more block ending at xHi, overlapping outputs already written.
                                    let v = UnsafeRawPointer(src + (2 &* (xHi &- 8) &+ shift)).loadUnaligned(
                                        as: SIMD16<Float>.self)
                                    UnsafeMutableRawPointer(out + (xHi &- 8)).storeBytes(
                                        of: v.evenHalf, as: SIMD8<Float>.self)
                                    ox = xHi
                                }
                            }
                            while ox < xHi { out[ox] = src[ox &* s &+ shift]; ox &+= 1 }
                        }
                        while ox < ow { out[ox] = 0; ox &+= 1 }
                    }
                }
            }
        }
    }

    /// One tap of a stride-1 convolution with OW = W: out[oy·W + ox] = plane[(oy + rowShift)·W + ox + shift] for
    /// yLo ≤ oy < yHi, xLo ≤ ox < xHi, else 0. The valid block is copied as one run, then the wrapped entries are zeroed.
    @inlinable
    static func gatherSameWidth(
        plane: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, oh: Int, ow: Int,
        rowShift: Int, shift: Int, yLo: Int, yHi: Int, xLo: Int, xHi: Int
    ) {
        if yLo >= yHi || xLo >= xHi { out.update(repeating: 0, count: oh * ow); return }
        let first = yLo * ow + xLo, last = (yHi - 1) * ow + xHi  // output run first ..< last
        for i in 0..<first { out[i] = 0 }
        (out + first).update(from: plane + ((yLo + rowShift) * ow + xLo + shift), count: last - first)
        for i in last..<(oh * ow) { out[i] = 0 }
        if xLo > 0 || xHi < ow {
            for oy in yLo..<yHi {
                let r = out + oy * ow
                // Entries before xLo of the first row and from xHi of the last row lie outside the run (already 0).
                for ox in 0..<xLo { r[ox] = 0 }
                for ox in xHi..<ow { r[ox] = 0 }
            }
        }
    }

    /// Adjoint of `gather`: cols block (C·k·k, OH·OW), row stride `rowStride` → image (C, H, W) of one sample,
    /// channel c at `image + c·channelStride`, **accumulating** (`+=`) the taps that overlap.
    @inlinable
    public static func scatter(
        _ g: ConvGeometry, cols: UnsafePointer<Float>, rowStride: Int,
        image: UnsafeMutablePointer<Float>, channelStride: Int
    ) {
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

    /// `scatter` for a column block the caller no longer needs: the same sums, and `cols` is left modified.
    /// For stride 1 with OW = W, each tap's valid rows are added to the image as one contiguous run, after the
    /// entries of that run that would wrap around a row edge have been set to zero in `cols` (adding +0 leaves every
    /// image value unchanged, and each pixel receives its taps in the same order as in `scatter`).
    @inlinable
    public static func scatterConsuming(
        _ g: ConvGeometry, cols: UnsafeMutablePointer<Float>, rowStride: Int,
        image: UnsafeMutablePointer<Float>, channelStride: Int
    ) {
        let oh = g.outHeight, ow = g.outWidth, k = g.kernel, p = g.padding
        guard g.stride == 1 && ow == g.width else {
            scatter(g, cols: cols, rowStride: rowStride, image: image, channelStride: channelStride)
            return
        }
        let h = g.height, w = g.width
        for ki in 0..<k {
            let (yLo, yHi) = validRange(tap: ki, stride: 1, padding: p, extent: h, outExtent: oh)
            for kj in 0..<k {
                let (xLo, xHi) = validRange(tap: kj, stride: 1, padding: p, extent: w, outExtent: ow)
                if yLo >= yHi || xLo >= xHi { continue }
                let first = yLo * ow + xLo, last = (yHi - 1) * ow + xHi
                let offset = (ki &- p) * w + (kj &- p)  // image index − column index inside the run
                for c in 0..<g.channels {
                    let src = cols + ((c * k + ki) * k + kj) * rowStride
                    if xLo > 0 || xHi < ow {
                        for oy in yLo..<yHi {
                            let r = src + oy * ow
                            for ox in 0..<xLo { r[ox] = 0 }
                            for ox in xHi..<ow { r[ox] = 0 }
                        }
                    }
                    Vector.add(src + first, into: image + c * channelStride + (first + offset), count: last - first)
                }
            }
        }
    }
}
