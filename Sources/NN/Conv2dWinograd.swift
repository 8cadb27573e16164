import Tensor

/// Winograd F(2×2, 3×3): a stride-1 3×3 correlation with 2.25× fewer multiplications than im2col + GEMM
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
///
/// The output is cut into 2×2 tiles; tile (ty, tx) reads the 4×4 input window whose top-left corner is
/// (2·ty − p, 2·tx − p), zero outside the image. With the transforms
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]    G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]    Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// one tile of y[o] = Σ_c g[o, c] ⋆ d[c] is Aᵀ [Σ_c (G g Gᵀ)[o, c] ⊙ (Bᵀ d B)[c]] A. The sum over c at each of the
/// 16 positions ξ of the 4×4 transformed tile is a GEMM:
///
///     M_ξ (Cout, T) = U_ξ (Cout, C) · V_ξ (C, T),   U = G g Gᵀ (weights),  V = Bᵀ d B (input tiles),  T = tiles
///
/// The input gradient of a stride-1 3×3 convolution with padding p is itself such a correlation: dy with padding
/// 2 − p against the kernel rotated by 180° with input and output channels swapped (`transformWeights(flipped:)`).
/// The weight gradient is the adjoint of g ↦ y in the same transformed domain: with DY = A dy Aᵀ per output tile,
///
///     dU_ξ (Cout, C) = Σ_tiles DY_ξ (Cout, T) · V_ξᵀ (T, C),   dW[o, c] = Gᵀ dU[o, c] G,
///
/// again 2.25× fewer multiplications than dY · colsᵀ.
/// The products are exact in real arithmetic; in float32 they differ from im2col by rounding only (the transform
/// entries are 0, ±½ and ±1).
///
/// Layouts: activations channel-major (C, n, H, W) as everywhere in the convolutions (`Conv2dLayout`);
/// U (16, outC, inC); V (16, inC, T) and M (16, outC, T) with tile t = j·tilesPerImage + ty·tilesW + tx for sample j
/// of the chunk.
public enum Conv2dWinograd {
    /// Transformed tile positions.
    public static let positions = 16

    /// Floats from one of the 16 planes of a transformed array to the next, for planes of `count` floats: two cache
    /// lines more than `count`, so that the 16 streams a transform writes side by side never share a cache set
    /// (plane sizes are often powers of two).
    @inlinable
    public static func planeStride(_ count: Int) -> Int { count + 32 }

    /// Floats of a transformed array of 16 planes of `count` floats each.
    @inlinable
    public static func transformedCount(_ count: Int) -> Int { positions * planeStride(count) }

    /// Tiles per image for an output of OH × OW.
    @inlinable
    public static func tiles(outHeight: Int, outWidth: Int) -> (height: Int, width: Int) {
        ((outHeight + 1) / 2, (outWidth + 1) / 2)
    }

    /// Floats of V and M per sample for a correlation inC → outC with an OH × OW output (without the plane padding:
    /// `workspaceCount`).
    @inlinable
    public static func floatsPerSample(inChannels: Int, outChannels: Int, outHeight: Int, outWidth: Int) -> Int {
        let t = tiles(outHeight: outHeight, outWidth: outWidth)
        return positions * (inChannels + outChannels) * t.height * t.width
    }

    /// Floats of V and M for `samples` samples: what `correlate` and the weight gradient need besides U.
    @inlinable
    public static func workspaceCount(
        inChannels: Int, outChannels: Int, outHeight: Int, outWidth: Int, samples: Int
    ) -> Int {
        let t = tiles(outHeight: outHeight, outWidth: outWidth)
        let count = samples * t.height * t.width
        return transformedCount(inChannels * count) + transformedCount(outChannels * count)
    }

    /// U (16, outC, inC) = G g Gᵀ for every 3×3 kernel g of W (Cout, C, 3, 3).
    /// `flipped` false: outC = Cout, inC = C, g = W[o, c]. `flipped` true (input gradient): outC = C, inC = Cout,
    /// g = W[o, c] rotated by 180°.
    @inlinable
    public static func transformWeights(
        _ w: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int, flipped: Bool,
        into u: UnsafeMutablePointer<Float>
    ) {
        let pairs = cout * cin, stride = planeStride(pairs)
        // the outer loop runs over the rows of U so that every one of its 16 planes is written contiguously
        let (rows, columns) = flipped ? (cin, cout) : (cout, cin)
        Parallel.forEachRange(rows, minimumChunk: 8) { range in
            for row in range {
                for column in 0..<columns {
                    let (o, c) = flipped ? (column, row) : (row, column)
                    let g = w + (o * cin + c) * 9
                    kernelTransform(g, flipped: flipped, into: u + row * columns + column, planeStride: stride)
                }
            }
        }
    }

    /// G g Gᵀ of one 3×3 kernel (rotated by 180° when `flipped`) into 16 floats `planeStride` apart.
    @inlinable @inline(__always)
    static func kernelTransform(
        _ g: UnsafePointer<Float>, flipped: Bool, into target: UnsafeMutablePointer<Float>, planeStride: Int
    ) {
        let k0 = g[flipped ? 8 : 0], k1 = g[flipped ? 7 : 1], k2 = g[flipped ? 6 : 2]
        let k3 = g[flipped ? 5 : 3], k4 = g[4], k5 = g[flipped ? 3 : 5]
        let k6 = g[flipped ? 2 : 6], k7 = g[flipped ? 1 : 7], k8 = g[flipped ? 0 : 8]
        // the four rows of G g, then each row (a, b, d) times Gᵀ: a, ½(a + b + d), ½(a − b + d), d
        @inline(__always) func row(_ r: Int, _ a: Float, _ b: Float, _ d: Float) {
            let out = target + 4 * r * planeStride
            out[0] = a
            out[planeStride] = 0.5 * (a + b + d)
            out[2 * planeStride] = 0.5 * (a - b + d)
            out[3 * planeStride] = d
        }
        row(0, k0, k1, k2)
        row(1, 0.5 * (k0 + k3 + k6), 0.5 * (k1 + k4 + k7), 0.5 * (k2 + k5 + k8))
        row(2, 0.5 * (k0 - k3 + k6), 0.5 * (k1 - k4 + k7), 0.5 * (k2 - k5 + k8))
        row(3, k6, k7, k8)
    }

    /// V (16, inC, T) = Bᵀ d B for the 4×4 input window of every output tile of samples `first ..< first + count`
    /// of x (inC, n, H, W), padding p. Each row of tiles is transformed at once: Bᵀ down the four input rows, over
    /// the whole (zero-padded) width, split into even and odd columns, then B across, so that each of the 16
    /// positions is written as one contiguous run of tiles.
    @inlinable
    public static func transformInput(
        _ x: UnsafePointer<Float>, channels cin: Int, samples n: Int, first: Int, count: Int,
        height h: Int, width w: Int, padding p: Int, into v: UnsafeMutablePointer<Float>
    ) {
        let (th, tw) = tiles(outHeight: h + 2 * p - 2, outWidth: w + 2 * p - 2)
        let perImage = th * tw, t = count * perImage
        let paddedHeight = 2 * th + 2, paddedWidth = 2 * tw + 2, half = tw + 1, vs = planeStride(cin * t)
        Parallel.forEachRange(cin * count) { range in
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedHeight * paddedWidth)
            let split = UnsafeMutablePointer<Float>.allocate(capacity: 8 * half)  // (Bᵀ d) row r: even, odd columns
            defer { padded.deallocate(); split.deallocate() }
            padded.initialize(repeating: 0, count: paddedHeight * paddedWidth)
            for index in range {
                let c = index / count, j = index % count
                let plane = x + (c * n + first + j) * h * w
                // the border stays zero: every plane writes the same interior
                for iy in 0..<h { (padded + (iy + p) * paddedWidth + p).update(from: plane + iy * w, count: w) }
                let out = v + c * t + j * perImage
                for ty in 0..<th {
                    let d0 = padded + 2 * ty * paddedWidth, d1 = d0 + paddedWidth
                    let d2 = d1 + paddedWidth, d3 = d2 + paddedWidth
                    // Bᵀ d down the rows, columns split into even and odd: 4 columns at a time (the width of the
                    // baseline x86-64 vectors) from 8 adjacent floats; the last block reads at most column
                    // 2·half − 1, the padded row's last
                    var k = 0
                    while k &+ 4 <= half {
                        @inline(__always) func load(_ row: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
                            UnsafeRawPointer(row + 2 &* k).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        @inline(__always) func store(_ r: Int, _ value: SIMD4<Float>) {
                            UnsafeMutableRawPointer(split + (r &* half &+ k)).storeBytes(
                                of: value, as: SIMD4<Float>.self)
                        }
                        let a0 = load(d0), a1 = load(d1), a2 = load(d2), a3 = load(d3)
                        store(0, a0.evenHalf - a2.evenHalf); store(1, a0.oddHalf - a2.oddHalf)
                        store(2, a1.evenHalf + a2.evenHalf); store(3, a1.oddHalf + a2.oddHalf)
                        store(4, a2.evenHalf - a1.evenHalf); store(5, a2.oddHalf - a1.oddHalf)
                        store(6, a1.evenHalf - a3.evenHalf); store(7, a1.oddHalf - a3.oddHalf)
                        k &+= 4
                    }
                    while k < half {
                        let e = 2 * k, o = e + 1
                        split[k] = d0[e] - d2[e]; split[half + k] = d0[o] - d2[o]
                        split[2 * half + k] = d1[e] + d2[e]; split[3 * half + k] = d1[o] + d2[o]
                        split[4 * half + k] = d2[e] - d1[e]; split[5 * half + k] = d2[o] - d1[o]
                        split[6 * half + k] = d1[e] - d3[e]; split[7 * half + k] = d1[o] - d3[o]
                        k &+= 1
                    }
                    // then B across: 4 tiles at a time
                    for r in 0..<4 {
                        let even = split + 2 * r * half, odd = even + half
                        let row = out + 4 * r * vs + ty * tw
                        let v0 = row, v1 = row + vs, v2 = v1 + vs, v3 = v2 + vs
                        var tx = 0
                        while tx &+ 4 <= tw {
                            @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
                                UnsafeRawPointer(p + tx).loadUnaligned(as: SIMD4<Float>.self)
                            }
                            @inline(__always) func store(_ p: UnsafeMutablePointer<Float>, _ value: SIMD4<Float>) {
                                UnsafeMutableRawPointer(p + tx).storeBytes(of: value, as: SIMD4<Float>.self)
                            }
                            let e0 = load(even), e1 = load(even + 1), o0 = load(odd), o1 = load(odd + 1)
                            store(v0, e0 - e1); store(v1, o0 + e1); store(v2, e1 - o0); store(v3, o0 - o1)
                            tx &+= 4
                        }
                        while tx < tw {
                            v0[tx] = even[tx] - even[tx + 1]
                            v1[tx] = odd[tx] + even[tx + 1]
                            v2[tx] = even[tx + 1] - odd[tx]
                            v3[tx] = odd[tx] - odd[tx + 1]
                            tx &+= 1
                        }
                    }
                }
            }
        }
    }

    /// DY (16, outC, T) = A dy Aᵀ for every 2×2 output tile of samples `first ..< first + count` of
    /// dy (outC, n, OH, OW), zero beyond the edge (the tiles the forward pass clipped).
    @inlinable
    public static func transformOutputGradient(
        _ dy: UnsafePointer<Float>, channels cout: Int, samples n: Int, first: Int, count: Int,
        outHeight oh: Int, outWidth ow: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let (th, tw) = tiles(outHeight: oh, outWidth: ow)
        let perImage = th * tw, t = count * perImage
        let paddedWidth = 2 * tw, ds = planeStride(cout * t)
        Parallel.forEachRange(cout * count) { range in
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: 2 * th * paddedWidth)
            let split = UnsafeMutablePointer<Float>.allocate(capacity: 8 * tw)
            defer { padded.deallocate(); split.deallocate() }
            padded.initialize(repeating: 0, count: 2 * th * paddedWidth)
            for index in range {
                let o = index / count, j = index % count
                let plane = dy + (o * n + first + j) * oh * ow
                for iy in 0..<oh { (padded + iy * paddedWidth).update(from: plane + iy * ow, count: ow) }
                let base = out + o * t + j * perImage
                for ty in 0..<th {
                    let a = padded + 2 * ty * paddedWidth, b = a + paddedWidth
                    // A dy (4 × 2) for the whole row of tiles: rows a, a + b, a − b, −b, split into even and odd
                    // columns; then each row (x0, x1) times Aᵀ: x0, x0 + x1, x0 − x1, −x1
                    for k in 0..<tw {
                        let a0 = a[2 * k], a1 = a[2 * k + 1], b0 = b[2 * k], b1 = b[2 * k + 1]
                        split[k] = a0; split[tw + k] = a1
                        split[2 * tw + k] = a0 + b0; split[3 * tw + k] = a1 + b1
                        split[4 * tw + k] = a0 - b0; split[5 * tw + k] = a1 - b1
                        split[6 * tw + k] = -b0; split[7 * tw + k] = -b1
                    }
                    for r in 0..<4 {
                        let even = split + 2 * r * tw, odd = even + tw
                        let d0 = base + 4 * r * ds + ty * tw, d1 = d0 + ds
                        let d2 = d1 + ds, d3 = d2 + ds
                        for tx in 0..<tw {
                            d0[tx] = even[tx]
                            d1[tx] = even[tx] + odd[tx]
                            d2[tx] = even[tx] - odd[tx]
                            d3[tx] = -odd[tx]
                        }
                    }
                }
            }
        }
    }

    /// dW (Cout, C, 3, 3) += Gᵀ dU G for dU (16, Cout, C), the adjoint of `transformWeights(flipped: false)`.
    @inlinable
    public static func addWeightGradient(
        _ du: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int, into dw: UnsafeMutablePointer<Float>
    ) {
        let pairs = cout * cin, stride = planeStride(pairs)
        for pair in 0..<pairs {
            let src = du + pair
            @inline(__always) func at(_ r: Int, _ s: Int) -> Float { src[(4 * r + s) * stride] }
            let g = dw + pair * 9
            // z = Gᵀ dU (3 × 4), rows as vectors; then each row of z times G
            let u0 = SIMD4<Float>(at(0, 0), at(0, 1), at(0, 2), at(0, 3))
            let u1 = SIMD4<Float>(at(1, 0), at(1, 1), at(1, 2), at(1, 3))
            let u2 = SIMD4<Float>(at(2, 0), at(2, 1), at(2, 2), at(2, 3))
            let u3 = SIMD4<Float>(at(3, 0), at(3, 1), at(3, 2), at(3, 3))
            @inline(__always) func add(_ r: Int, _ z: SIMD4<Float>) {
                g[3 * r] += z[0] + 0.5 * (z[1] + z[2])
                g[3 * r + 1] += 0.5 * (z[1] - z[2])
                g[3 * r + 2] += 0.5 * (z[1] + z[2]) + z[3]
            }
            add(0, u0 + 0.5 * (u1 + u2)); add(1, 0.5 * (u1 - u2)); add(2, 0.5 * (u1 + u2) + u3)
        }
    }

    /// y[:, first ..< first + count] (outC, n, OH, OW) = (or +=, when `accumulate`) the correlation of
    /// x (inC, n, H, W) with padding p against the kernels whose transform is U (16, outC, inC).
    /// `workspace` holds `workspaceCount(…, samples: count)` floats (V, then M).
    @inlinable
    public static func correlate(
        u: UnsafePointer<Float>, x: UnsafePointer<Float>, inChannels cin: Int, outChannels cout: Int,
        samples n: Int, first: Int, count: Int, height h: Int, width w: Int, padding p: Int,
        y: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: UnsafeMutablePointer<Float>
    ) {
        let oh = h + 2 * p - 2, ow = w + 2 * p - 2
        let (th, tw) = tiles(outHeight: oh, outWidth: ow)
        let perImage = th * tw, t = count * perImage
        let v = workspace  // (16, inC, T)
        let m = workspace + transformedCount(cin * t)  // (16, outC, T)
        let us = planeStride(cout * cin), vs = planeStride(cin * t), ms = planeStride(cout * t)
        transformInput(
            x, channels: cin, samples: n, first: first, count: count, height: h, width: w, padding: p, into: v)

        // M_ξ (outC, T) = U_ξ (outC, inC) · V_ξ (inC, T): the 16 products side by side, one per worker at a time
        let vp = UnsafePointer(v)
        Parallel.forEachRange(positions) { range in
            for xi in range {
                BLAS.sgemm(m: cout, n: t, k: cin, a: u + xi * us, b: vp + xi * vs, c: m + xi * ms)
            }
        }

        // y tile = Aᵀ M A, clipped to OH × OW
        Parallel.forEachRange(cout * count) { range in
            for index in range {
                let o = index / count, j = index % count
                let plane = y + (o * n + first + j) * oh * ow
                let source = m + o * t + j * perImage
                for ty in 0..<th {
                    for tx in 0..<tw {
                        let s = source + ty * tw + tx
                        // Aᵀ M (2 × 4), column by column, then (Aᵀ M) A
                        let m0 = SIMD4<Float>(s[0], s[ms], s[2 * ms], s[3 * ms])
                        let m1 = SIMD4<Float>(s[4 * ms], s[5 * ms], s[6 * ms], s[7 * ms])
                        let m2 = SIMD4<Float>(s[8 * ms], s[9 * ms], s[10 * ms], s[11 * ms])
                        let m3 = SIMD4<Float>(s[12 * ms], s[13 * ms], s[14 * ms], s[15 * ms])
                        let r0 = m0 + m1 + m2, r1 = m1 - m2 - m3
                        let y00 = r0[0] + r0[1] + r0[2], y01 = r0[1] - r0[2] - r0[3]
                        let y10 = r1[0] + r1[1] + r1[2], y11 = r1[1] - r1[2] - r1[3]
                        let oy = 2 * ty, ox = 2 * tx
                        let row0 = plane + oy * ow + ox
                        let right = ox + 1 < ow, below = oy + 1 < oh
                        @inline(__always) func put(_ target: UnsafeMutablePointer<Float>, _ value: Float) {
                            target.pointee = accumulate ? target.pointee + value : value
                        }
                        put(row0, y00)
                        if right { put(row0 + 1, y01) }
                        if below {
                            put(row0 + ow, y10)
                            if right { put(row0 + ow + 1, y11) }
                        }
                    }
                }
            }
        }
    }
}
