/// im2col / col2im for 2-D convolutions on one image in (C, H, W) layout.
///
/// The column matrix has shape (C·kh·kw, OH·OW): row `(c·kh + i)·kw + j` holds the input pixel that kernel tap
/// (c, i, j) sees at every output position, with zeros where the tap falls into padding. A convolution is then
/// `W (Cout × C·kh·kw) · cols`, and its weight gradient `dY (Cout × OH·OW) · colsᵀ`.
public struct ConvGeometry: Equatable, Sendable {
    public let channels, height, width, kernel, stride, padding: Int
    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        precondition(kernel > 0 && stride > 0 && padding >= 0, "ConvGeometry: bad kernel/stride/padding")
        self.channels = channels; self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    @inlinable public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    @inlinable public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Rows of the column matrix: C·k·k.
    @inlinable public var columnRows: Int { channels * kernel * kernel }
    /// Columns of the column matrix: OH·OW.
    @inlinable public var columnCount: Int { outHeight * outWidth }
}

public enum Im2Col {
    /// image (C, H, W) → cols (C·k·k, OH·OW)
    @inlinable
    public static func forward(_ g: ConvGeometry, image: UnsafePointer<Float>, cols: UnsafeMutablePointer<Float>) {
        let oh = g.outHeight, ow = g.outWidth, k = g.kernel, s = g.stride, p = g.padding
        let h = g.height, w = g.width
        for c in 0..<g.channels {
            let plane = image + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((c * k + ki) * k + kj) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy &* s &+ ki &- p
                        let out = row + oy * ow
                        if iy < 0 || iy >= h {
                            for ox in 0..<ow { out[ox] = 0 }
                            continue
                        }
                        let src = plane + iy * w
                        if s == 1 {
                            // Contiguous run: ix = ox + kj - p.
                            var ox = 0
                            while ox < ow {
                                let ix = ox &+ kj &- p
                                out[ox] = (ix >= 0 && ix < w) ? src[ix] : 0
                                ox &+= 1
                            }
                        } else {
                            var ox = 0
                            while ox < ow {
                                let ix = ox &* s &+ kj &- p
                                out[ox] = (ix >= 0 && ix < w) ? src[ix] : 0
                                ox &+= 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// cols (C·k·k, OH·OW) → image (C, H, W), **accumulating** (`+=`) overlapping taps. The caller zeroes `image`.
    @inlinable
    public static func backward(_ g: ConvGeometry, cols: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
        let oh = g.outHeight, ow = g.outWidth, k = g.kernel, s = g.stride, p = g.padding
        let h = g.height, w = g.width
        for c in 0..<g.channels {
            let plane = image + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = cols + ((c * k + ki) * k + kj) * oh * ow
                    for oy in 0..<oh {
                        let iy = oy &* s &+ ki &- p
                        if iy < 0 || iy >= h { continue }
                        let dst = plane + iy * w
                        let src = row + oy * ow
                        var ox = 0
                        while ox < ow {
                            let ix = ox &* s &+ kj &- p
                            if ix >= 0 && ix < w { dst[ix] += src[ox] }
                            ox &+= 1
                        }
                    }
                }
            }
        }
    }
}
