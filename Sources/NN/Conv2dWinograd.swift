import Tensor

/// Winograd F(4×4, 3×3): a stride-1 3×3 correlation with 4× fewer multiplications than im2col + GEMM
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016, with the points 0, ±1, ±2 and ∞).
///
/// The output is cut into 4×4 tiles; tile (ty, tx) reads the 6×6 input window whose top-left corner is
/// (4·ty − p, 4·tx − p), zero outside the image. With the transforms
///
///     Bᵀ = [4  0 −5  0  1  0       G = [ 1/4    0     0         Aᵀ = [1  1  1  1  1  0
///           0 −4 −4  1  1  0             −1/6  −1/6  −1/6               0  1 −1  2 −2  0
///           0  4 −4 −1  1  0             −1/6   1/6  −1/6               0  1  1  4  4  0
///           0 −2 −1  2  1  0              1/24  1/12  1/6               0  1 −1  8 −8  1]
///           0  2 −1 −2  1  0              1/24 −1/12  1/6
///           0  4  0 −5  0  1]             0     0     1  ]
///
/// one tile of y[o] = Σ_c g[o, c] ⋆ d[c] is Aᵀ [Σ_c (G g Gᵀ)[o, c] ⊙ (Bᵀ d B)[c]] A. The sum over c at each of
/// the 36 positions ξ of the 6×6 transformed tile is a GEMM:
///
///     M_ξ (Cout, T) = U_ξ (Cout, C) · V_ξ (C, T),   U = G g Gᵀ (weights), V = Bᵀ d B (input tiles), T = tiles
///
/// Both gradients are adjoints in the same transformed domain. With DY = A dy Aᵀ per output tile (the adjoint of the
/// output transform),
///
///     dU_ξ (Cout, C) = Σ_tiles DY_ξ (Cout, T) · V_ξᵀ (T, C),   dW[o, c] = Gᵀ dU[o, c] G,
///     dV_ξ (C, T) = U_ξᵀ (C, Cout) · DY_ξ (Cout, T),          dx += Σ_tiles (B dV Bᵀ at the tile's 6×6 window),
///
/// again 4× fewer multiplications than dY · colsᵀ and Wᵀ · dY, and one DY serves both (windows of neighbouring tiles
/// overlap by two rows and columns, so the input gradient adds them up, and drops what falls into the padding).
/// The products are exact in real arithmetic. In float32 the transforms' entries (up to 8, and 1/6, 1/24) cost some
/// digits: on 256 channels with outputs of RMS 0.6, the error against the exact sum is about 2·10⁻⁶ RMS and
/// 3·10⁻⁵ at worst, ten times F(2×2, 3×3)'s and far below the steps' own rounding noise (docs/ENGINE.md).
///
/// Layouts: activations channel-major (C, n, H, W) as everywhere in the convolutions (`Conv2dLayout`);
/// U (36, outC, inC); V (36, inC, T) and M (36, outC, T) with tile t = j·tilesPerImage + ty·tilesW + tx for sample j
/// of the chunk. The tile transforms work on blocks of up to `blockTiles` tiles of one channel: a block's 36 window
/// entries are rows of a scratch, so that the arithmetic runs along the rows, eight tiles at a time, and each
/// position's row is one contiguous run of its plane.
public enum Conv2dWinograd {
    /// Output tile side.
    public static let tileSize = 4
    /// Transformed tile positions, 6 × 6.
    public static let positions = 36
    /// Tiles per block of a tile transform (a multiple of the 8 lanes its arithmetic uses).
    @usableFromInline static let blockTiles = 128

    /// Floats from one of the 36 planes of a transformed array to the next, for planes of `count` floats: two cache
    /// lines more than `count`, so that the streams a transform writes side by side never share a cache set (plane
    /// sizes are often powers of two).
    @inlinable
    public static func planeStride(_ count: Int) -> Int { count + 32 }

    /// Floats of a transformed array of 36 planes of `count` floats each.
    @inlinable
    public static func transformedCount(_ count: Int) -> Int { positions * planeStride(count) }

    /// Tiles per image for an output of OH × OW.
    @inlinable
    public static func tiles(outHeight: Int, outWidth: Int) -> (height: Int, width: Int) {
        ((outHeight + tileSize - 1) / tileSize, (outWidth + tileSize - 1) / tileSize)
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

    // MARK: - Weights

    /// The kernel transform as a 36 × 9 matrix: (G g Gᵀ)[r, s] = Σ_{i,j} G[r, i] G[s, j] g[i, j], so row 6r + s,
    /// column 3i + j holds G[r, i] · G[s, j] (products formed in double, then rounded once).
    @usableFromInline static let kernelTransform: [Float] = {
        let g: [[Double]] = [
            [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
            [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
        ]
        var matrix = [Float](repeating: 0, count: 36 * 9)
        for r in 0..<6 {
            for s in 0..<6 {
                for i in 0..<3 {
                    for j in 0..<3 { matrix[(6 * r + s) * 9 + 3 * i + j] = Float(g[r][i] * g[s][j]) }
                }
            }
        }
        return matrix
    }()

    /// U (36, Cout, C) = G g Gᵀ for every 3×3 kernel g = W[o, c] of W (Cout, C, 3, 3): one GEMM,
    /// U (36, Cout·C) = K (36, 9) · Wᵀ (9, Cout·C) with K = `kernelTransform` and W read as (Cout·C, 9).
    @inlinable
    public static func transformWeights(
        _ w: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int, into u: UnsafeMutablePointer<Float>
    ) {
        let pairs = cout * cin
        kernelTransform.withUnsafeBufferPointer { k in
            BLAS.sgemm(
                transB: true, m: positions, n: pairs, k: 9, a: k.baseAddress!, b: w, c: u, ldc: planeStride(pairs))
        }
    }

    /// dW (Cout, C, 3, 3) += Gᵀ dU G for dU (36, Cout, C), the adjoint of `transformWeights`: one GEMM,
    /// dW (Cout·C, 9) += dUᵀ (Cout·C, 36) · K (36, 9).
    @inlinable
    public static func addWeightGradient(
        _ du: UnsafePointer<Float>, outChannels cout: Int, inChannels cin: Int, into dw: UnsafeMutablePointer<Float>
    ) {
        let pairs = cout * cin
        kernelTransform.withUnsafeBufferPointer { k in
            BLAS.sgemm(
                transA: true, m: pairs, n: 9, k: positions, a: du, lda: planeStride(pairs), b: k.baseAddress!,
                beta: 1, c: dw)
        }
    }

    // MARK: - Tile transforms, a block of tiles at a time

    /// Calls `body(channel, firstTile, length, block, scratch, &tag)` for every block of up to `blockTiles`
    /// consecutive tiles of each channel's run of `tiles` tiles, in parallel. `block` holds 36 rows of `blockTiles`
    /// floats and `scratch` `scratchCount` floats, both private to the worker and zeroed once; `tag` is the
    /// worker's own integer (−1 at first), which lets a body keep what its scratch holds from one block to the next.
    @inlinable
    static func forEachBlock(
        channels: Int, tiles: Int, scratchCount: Int,
        _ body: (Int, Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, inout Int) -> Void
    ) {
        let blocks = (tiles + blockTiles - 1) / blockTiles, blockCount = positions * blockTiles
        Parallel.forEachRange(channels * blocks, partsPerWorker: 4) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blockCount + scratchCount)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0, count: blockCount + scratchCount)
            var tag = -1
            for index in range {
                let channel = index / blocks, start = index % blocks * blockTiles
                body(channel, start, min(blockTiles, tiles - start), buffer, buffer + blockCount, &tag)
            }
        }
    }

    /// The sample, tile row and tile column of consecutive tiles of a run, for images of th × tw tiles.
    @usableFromInline
    struct TileCursor {
        @usableFromInline var sample: Int, ty: Int, tx: Int
        @usableFromInline let th: Int, tw: Int

        /// At tile `t` of the run.
        @inlinable
        init(_ t: Int, tilesHigh th: Int, tilesWide tw: Int) {
            let rest = t % (th * tw)
            (sample, ty, tx, self.th, self.tw) = (t / (th * tw), rest / tw, rest % tw, th, tw)
        }

        /// On to the next tile.
        @inlinable @inline(__always)
        mutating func advance() {
            tx &+= 1
            if tx == tw {
                tx = 0
                ty &+= 1
                if ty == th { ty = 0; sample &+= 1 }
            }
        }
    }

    /// Applies `line` along the lines of a block, eight tiles at a time: `line` loads the vectors of source line k
    /// (at `source + k·sourceStep`) and stores result k at `target + k·targetStep`. Source and target may be the
    /// block itself (in place), or a plane run of `blockTiles` floats.
    @inlinable @inline(__always)
    static func alongBlock(
        from source: UnsafePointer<Float>, step sourceStep: Int, to target: UnsafeMutablePointer<Float>,
        step targetStep: Int,
        _ line: (_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) -> Void
    ) {
        var i = 0
        while i < blockTiles {
            let from = source + i, to = target + i
            line(
                { UnsafeRawPointer(from + $0 * sourceStep).loadUnaligned(as: SIMD8<Float>.self) },
                { UnsafeMutableRawPointer(to + $0 * targetStep).storeBytes(of: $1, as: SIMD8<Float>.self) })
            i &+= 8
        }
    }

    /// `alongBlock` in place.
    @inlinable @inline(__always)
    static func alongBlock(
        _ block: UnsafeMutablePointer<Float>, step: Int,
        _ line: (_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) -> Void
    ) {
        alongBlock(from: block, step: step, to: block, step: step, line)
    }

    /// The first pass of a transform that reads the planes (the mirror of `finishLine`): `line` along the six plane
    /// runs at `planes + k·planeStep`, result k to `block + k·step`: directly for a full block, else after copying
    /// `length` floats of each run into the block (a load past `length` could leave the array).
    @inlinable @inline(__always)
    static func startLine(
        from planes: UnsafePointer<Float>, planeStep: Int, length: Int,
        into block: UnsafeMutablePointer<Float>, step: Int,
        _ line: (_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) -> Void
    ) {
        if length == blockTiles {
            alongBlock(from: planes, step: planeStep, to: block, step: step, line)
        } else {
            for k in 0..<6 { copyRow(planes + k * planeStep, to: block + k * step, count: length) }
            alongBlock(block, step: step, line)
        }
    }

    /// The last pass of a transform: `line` along the six lines at `block + k·step`, result k to the plane run at
    /// `planes + k·planeStep`: directly for a full block, else in place and then `length` floats copied (a store
    /// past `length` would reach the next block's tiles).
    @inlinable @inline(__always)
    static func finishLine(
        _ block: UnsafeMutablePointer<Float>, step: Int, length: Int,
        into planes: UnsafeMutablePointer<Float>, planeStep: Int,
        _ line: (_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) -> Void
    ) {
        if length == blockTiles {
            alongBlock(from: block, step: step, to: planes, step: planeStep, line)
        } else {
            alongBlock(block, step: step, line)
            for k in 0..<6 { copyRow(block + k * step, to: planes + k * planeStep, count: length) }
        }
    }

    /// Copies `count` floats, eight at a time: the rows here are a few dozen floats, for which a call to memmove
    /// costs more than the copy.
    @inlinable @inline(__always)
    static func copyRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 8 <= count {
            UnsafeMutableRawPointer(target + i).storeBytes(
                of: UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            target[i] = source[i]
            i &+= 1
        }
    }

    /// One row of the 6 × 6 windows of four neighbouring tiles, whose windows start 4 floats apart: entry b of tile
    /// k is row[4k + b], stored at out[b · blockTiles + k]. Reads row[0 ..< 18].
    @inlinable @inline(__always)
    static func gatherWindowRows(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        @inline(__always) func load(_ k: Int) -> SIMD4<Float> {
            UnsafeRawPointer(row + 4 * k).loadUnaligned(as: SIMD4<Float>.self)
        }
        @inline(__always) func store(_ b: Int, _ value: SIMD4<Float>) {
            UnsafeMutableRawPointer(out + b * blockTiles).storeBytes(of: value, as: SIMD4<Float>.self)
        }
        let r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3)
        let r4 = UnsafeRawPointer(row + 16).loadUnaligned(as: SIMD2<Float>.self)
        store(0, SIMD4(r0[0], r1[0], r2[0], r3[0]))
        store(1, SIMD4(r0[1], r1[1], r2[1], r3[1]))
        store(2, SIMD4(r0[2], r1[2], r2[2], r3[2]))
        store(3, SIMD4(r0[3], r1[3], r2[3], r3[3]))
        store(4, SIMD4(r1[0], r2[0], r3[0], r4[0]))
        store(5, SIMD4(r1[1], r2[1], r3[1], r4[1]))
    }

    /// One row of the 4 × 4 patches of four neighbouring tiles: entry s of tile k is row[4k + s], stored at
    /// out[s · blockTiles + k] (a 4 × 4 transpose). Reads row[0 ..< 16].
    @inlinable @inline(__always)
    static func gatherPatchRows(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        @inline(__always) func load(_ k: Int) -> SIMD4<Float> {
            UnsafeRawPointer(row + 4 * k).loadUnaligned(as: SIMD4<Float>.self)
        }
        let r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3)
        for s in 0..<4 {
            UnsafeMutableRawPointer(out + s * blockTiles).storeBytes(
                of: SIMD4(r0[s], r1[s], r2[s], r3[s]), as: SIMD4<Float>.self)
        }
    }

    /// The adjoint of `gatherWindowRows`: row[4k + b] += entry b of tile k, read at values[b · blockTiles + k], for
    /// the four neighbouring tiles k = 0…3 and b = 0…5 (neighbours overlap at two entries). Updates row[0 ..< 18].
    @inlinable @inline(__always)
    static func scatterWindowRows(_ values: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>) {
        @inline(__always) func entry(_ b: Int) -> SIMD4<Float> {
            UnsafeRawPointer(values + b * blockTiles).loadUnaligned(as: SIMD4<Float>.self)
        }
        @inline(__always) func add(_ k: Int, _ value: SIMD4<Float>) {
            let target = UnsafeMutableRawPointer(row + 4 * k)
            target.storeBytes(of: target.loadUnaligned(as: SIMD4<Float>.self) + value, as: SIMD4<Float>.self)
        }
        let e0 = entry(0), e1 = entry(1), e2 = entry(2), e3 = entry(3), e4 = entry(4), e5 = entry(5)
        add(0, SIMD4(e0[0], e1[0], e2[0], e3[0]))
        add(1, SIMD4(e0[1] + e4[0], e1[1] + e5[0], e2[1], e3[1]))
        add(2, SIMD4(e0[2] + e4[1], e1[2] + e5[1], e2[2], e3[2]))
        add(3, SIMD4(e0[3] + e4[2], e1[3] + e5[2], e2[3], e3[3]))
        let tail = UnsafeMutableRawPointer(row + 16)
        tail.storeBytes(of: tail.loadUnaligned(as: SIMD2<Float>.self) + SIMD2(e4[3], e5[3]), as: SIMD2<Float>.self)
    }

    // The line transforms read their inputs through `load` and write their results through `store`, all loads first,
    // so that they may work in place.

    /// Bᵀ (d0, …, d5)ᵀ.
    @inlinable @inline(__always)
    static func inputLine(_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) {
        let d0 = load(0), d1 = load(1), d2 = load(2), d3 = load(3), d4 = load(4), d5 = load(5)
        let even = d4 - d2, odd = 2 * (d3 - d1)
        store(0, 4 * d0 - 5 * d2 + d4)
        store(1, d3 + d4 - 4 * (d1 + d2))
        store(2, d4 - d3 + 4 * (d1 - d2))
        store(3, even + odd)
        store(4, even - odd)
        store(5, 4 * d1 - 5 * d3 + d5)
    }

    /// B (z0, …, z5)ᵀ (the adjoint of `inputLine`).
    @inlinable @inline(__always)
    static func inputGradientLine(_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) {
        let z0 = load(0), z1 = load(1), z2 = load(2), z3 = load(3), z4 = load(4), z5 = load(5)
        let sum12 = z1 + z2, difference21 = z2 - z1, sum34 = z3 + z4, difference34 = z3 - z4
        store(0, 4 * z0)
        store(1, 4 * (difference21 + z5) - 2 * difference34)
        store(2, -5 * z0 - 4 * sum12 - sum34)
        store(3, 2 * difference34 - difference21 - 5 * z5)
        store(4, z0 + sum12 + sum34)
        store(5, z5)
    }

    /// Aᵀ (m0, …, m5)ᵀ, into lines 0…3.
    @inlinable @inline(__always)
    static func outputLine(_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) {
        let m0 = load(0), m1 = load(1), m2 = load(2), m3 = load(3), m4 = load(4), m5 = load(5)
        let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
        store(0, m0 + sum12 + sum34)
        store(1, difference12 + 2 * difference34)
        store(2, sum12 + 4 * sum34)
        store(3, difference12 + 8 * difference34 + m5)
    }

    /// A (e0, …, e3)ᵀ, into lines 0…5 (the adjoint of `outputLine`).
    @inlinable @inline(__always)
    static func gradientLine(_ load: (Int) -> SIMD8<Float>, _ store: (Int, SIMD8<Float>) -> Void) {
        let e0 = load(0), e1 = load(1), e2 = load(2), e3 = load(3)
        let even = e0 + e2, odd = e1 + e3, even4 = e0 + 4 * e2, odd4 = 2 * e1 + 8 * e3
        store(0, e0)
        store(1, even + odd)
        store(2, even - odd)
        store(3, even4 + odd4)
        store(4, even4 - odd4)
        store(5, e3)
    }

    /// V (36, inC, T) = Bᵀ d B for the 6×6 input window of every output tile of samples `first ..< first + count`
    /// of x (inC, n, H, W), padding p.
    @inlinable
    public static func transformInput(
        _ x: UnsafePointer<Float>, channels cin: Int, samples n: Int, first: Int, count: Int,
        height h: Int, width w: Int, padding p: Int, into v: UnsafeMutablePointer<Float>
    ) {
        let (th, tw) = tiles(outHeight: h + 2 * p - 2, outWidth: w + 2 * p - 2)
        let perImage = th * tw, t = count * perImage, lanes = blockTiles
        let paddedWidth = 4 * tw + 2, vs = planeStride(cin * t)
        forEachBlock(channels: cin, tiles: t, scratchCount: (4 * th + 2) * paddedWidth) {
            c, start, length, block, padded, loaded in
            // `padded` holds one image with a border of p zeros (the border is never written); its plane index
            // c·n + j is the tag
            var tile = TileCursor(start, tilesHigh: th, tilesWide: tw)
            var i = 0
            while i < length {
                let plane = c * n + first + tile.sample
                if plane != loaded {
                    let image = x + plane * h * w
                    for iy in 0..<h { copyRow(image + iy * w, to: padded + (iy + p) * paddedWidth + p, count: w) }
                    loaded = plane
                }
                let window = padded + 4 * tile.ty * paddedWidth + 4 * tile.tx
                if tile.tx + 4 <= tw && i + 4 <= length {
                    // four neighbouring tiles of one tile row: their windows are row[4k ..< 4k + 6], k = 0…3
                    for a in 0..<6 { gatherWindowRows(window + a * paddedWidth, into: block + 6 * a * lanes + i) }
                    for _ in 0..<4 { tile.advance() }
                    i &+= 4
                    continue
                }
                for a in 0..<6 {
                    let row = window + a * paddedWidth, out = block + 6 * a * lanes + i
                    for b in 0..<6 { out[b * lanes] = row[b] }
                }
                tile.advance()
                i &+= 1
            }
            // Bᵀ down each column of the windows, then B across each row
            for b in 0..<6 { alongBlock(block + b * lanes, step: 6 * lanes, inputLine) }
            let run = v + c * t + start
            for a in 0..<6 {
                finishLine(
                    block + 6 * a * lanes, step: lanes, length: length, into: run + 6 * a * vs, planeStep: vs,
                    inputLine)
            }
        }
    }

    /// DY (36, outC, T) = A dy Aᵀ for every 4×4 output tile of samples `first ..< first + count` of
    /// dy (outC, n, OH, OW), zero beyond the edge (the tiles the forward pass clipped).
    /// (The same loop as `transformInput`'s with 4 × 4 patches. One body shared through closures, or through a
    /// generic transform type, made P3 7–15 % slower, alternated 4 runs each: the line transform no longer inlined
    /// into the per-block loop.)
    @inlinable
    public static func transformOutputGradient(
        _ dy: UnsafePointer<Float>, channels cout: Int, samples n: Int, first: Int, count: Int,
        outHeight oh: Int, outWidth ow: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let (th, tw) = tiles(outHeight: oh, outWidth: ow)
        let perImage = th * tw, t = count * perImage, lanes = blockTiles
        let paddedWidth = 4 * tw, ds = planeStride(cout * t)
        forEachBlock(channels: cout, tiles: t, scratchCount: 4 * th * paddedWidth) {
            o, start, length, block, padded, loaded in
            var tile = TileCursor(start, tilesHigh: th, tilesWide: tw)
            var i = 0
            while i < length {
                let plane = o * n + first + tile.sample
                if plane != loaded {
                    let image = dy + plane * oh * ow
                    for iy in 0..<oh { copyRow(image + iy * ow, to: padded + iy * paddedWidth, count: ow) }
                    loaded = plane
                }
                let corner = padded + 4 * tile.ty * paddedWidth + 4 * tile.tx
                if tile.tx + 4 <= tw && i + 4 <= length {
                    // four neighbouring tiles of one tile row: their patches are row[4k ..< 4k + 4], k = 0…3
                    for r in 0..<4 { gatherPatchRows(corner + r * paddedWidth, into: block + 6 * r * lanes + i) }
                    for _ in 0..<4 { tile.advance() }
                    i &+= 4
                    continue
                }
                for r in 0..<4 {
                    let row = corner + r * paddedWidth, target = block + 6 * r * lanes + i
                    for s in 0..<4 { target[s * lanes] = row[s] }
                }
                tile.advance()
                i &+= 1
            }
            // A down each column of the tiles (rows 0…3 → 0…5), then Aᵀ across each row
            for s in 0..<4 { alongBlock(block + s * lanes, step: 6 * lanes, gradientLine) }
            let run = out + o * t + start
            for a in 0..<6 {
                finishLine(
                    block + 6 * a * lanes, step: lanes, length: length, into: run + 6 * a * ds, planeStep: ds,
                    gradientLine)
            }
        }
    }

    /// y[:, first ..< first + count] (outC, n, OH, OW) = the correlation of x (inC, n, H, W) with padding p against
    /// the kernels whose transform is U (36, outC, inC).
    /// V (36, inC, T) of the chunk is written to `v` and M (36, outC, T) to `m`, `transformedCount(inC·T)` and
    /// `transformedCount(outC·T)` floats.
    @inlinable
    public static func correlate(
        u: UnsafePointer<Float>, x: UnsafePointer<Float>, inChannels cin: Int, outChannels cout: Int,
        samples n: Int, first: Int, count: Int, height h: Int, width w: Int, padding p: Int,
        y: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>
    ) {
        let oh = h + 2 * p - 2, ow = w + 2 * p - 2
        let (th, tw) = tiles(outHeight: oh, outWidth: ow)
        let perImage = th * tw, t = count * perImage, lanes = blockTiles
        let us = planeStride(cout * cin), vs = planeStride(cin * t), ms = planeStride(cout * t)
        transformInput(
            x, channels: cin, samples: n, first: first, count: count, height: h, width: w, padding: p, into: v)

        // M_ξ (outC, T) = U_ξ (outC, inC) · V_ξ (inC, T): the 36 products side by side, one per worker at a time
        let vp = UnsafePointer(v)
        Parallel.forEachRange(positions, partsPerWorker: positions) { range in
            for xi in range {
                BLAS.sgemm(m: cout, n: t, k: cin, a: u + xi * us, b: vp + xi * vs, c: m + xi * ms)
            }
        }

        // y tile = Aᵀ M A, clipped to OH × OW
        let mp = UnsafePointer(m)
        forEachBlock(channels: cout, tiles: t, scratchCount: 0) { o, start, length, block, _, _ in
            // Aᵀ down each column (rows 0…5 → 0…3) from the planes, then A across rows 0…3
            let run = mp + o * t + start
            for b in 0..<6 {
                startLine(
                    from: run + b * ms, planeStep: 6 * ms, length: length, into: block + b * lanes, step: 6 * lanes,
                    outputLine)
            }
            for a in 0..<4 { alongBlock(block + 6 * a * lanes, step: lanes, outputLine) }
            var tile = TileCursor(start, tilesHigh: th, tilesWide: tw)
            for i in 0..<length {
                defer { tile.advance() }
                let oy = 4 * tile.ty, ox = 4 * tile.tx
                let origin = y + (o * n + first + tile.sample) * oh * ow + oy * ow + ox, source = block + i
                let columns = min(4, ow - ox)
                for r in 0..<min(4, oh - oy) {
                    let row = origin + r * ow, values = source + 6 * r * lanes
                    if columns == 4 {  // a whole row of the tile: one vector
                        let tileRow = SIMD4(values[0], values[lanes], values[2 * lanes], values[3 * lanes])
                        UnsafeMutableRawPointer(row).storeBytes(of: tileRow, as: SIMD4<Float>.self)
                    } else {
                        for s in 0..<columns { row[s] = values[s * lanes] }
                    }
                }
            }
        }
    }

    /// dx[:, first ..< first + count] (inC, n, H, W) += the adjoint of `transformInput` applied to dV (36, inC, T):
    /// each tile's 6×6 window B dV Bᵀ added at its place (windows overlap), the part in the padding p dropped.
    /// Work is split by whole images of a channel, so that every image of dx has one writer; a worker sums an image in
    /// its own padded scratch and adds the inside to dx when the image's last tile is done.
    @inlinable
    public static func addInputGradient(
        _ dv: UnsafePointer<Float>, channels cin: Int, samples n: Int, first: Int, count: Int,
        height h: Int, width w: Int, padding p: Int, into dx: UnsafeMutablePointer<Float>
    ) {
        let (th, tw) = tiles(outHeight: h + 2 * p - 2, outWidth: w + 2 * p - 2)
        let perImage = th * tw, t = count * perImage, lanes = blockTiles
        let paddedWidth = 4 * tw + 2, paddedCount = (4 * th + 2) * paddedWidth, vs = planeStride(cin * t)
        let imagesPerItem = max(1, lanes / perImage), items = (count + imagesPerItem - 1) / imagesPerItem
        let blockCount = positions * lanes
        Parallel.forEachRange(cin * items, partsPerWorker: 4) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blockCount + paddedCount)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0, count: blockCount + paddedCount)
            let block = buffer, padded = buffer + blockCount
            for index in range {
                let c = index / items, firstImage = index % items * imagesPerItem
                let end = min(count, firstImage + imagesPerItem) * perImage
                var start = firstImage * perImage, tile = TileCursor(start, tilesHigh: th, tilesWide: tw)
                var image = tile.sample
                // the inside of the padded sums of `image` onto its plane of dx, and the scratch zeroed for the next
                @inline(__always) func flush() {
                    let target = dx + (c * n + first + image) * h * w
                    for iy in 0..<h { Vector.add(padded + (iy + p) * paddedWidth + p, into: target + iy * w, count: w) }
                    padded.update(repeating: 0, count: paddedCount)
                }
                while start < end {
                    let length = min(lanes, end - start), run = dv + c * t + start
                    // B down each column of the transformed tiles from the planes, then Bᵀ across each row
                    for b in 0..<6 {
                        startLine(
                            from: run + b * vs, planeStep: 6 * vs, length: length, into: block + b * lanes,
                            step: 6 * lanes, inputGradientLine)
                    }
                    for a in 0..<6 { alongBlock(block + 6 * a * lanes, step: lanes, inputGradientLine) }
                    var i = 0
                    while i < length {
                        if tile.sample != image {
                            flush()
                            image = tile.sample
                        }
                        let window = padded + 4 * tile.ty * paddedWidth + 4 * tile.tx
                        if tile.tx + 4 <= tw && i + 4 <= length {
                            // four neighbouring tiles of one tile row, as in `transformInput`
                            for a in 0..<6 {
                                scatterWindowRows(block + 6 * a * lanes + i, into: window + a * paddedWidth)
                            }
                            for _ in 0..<4 { tile.advance() }
                            i &+= 4
                            continue
                        }
                        for a in 0..<6 {
                            let row = window + a * paddedWidth, values = block + 6 * a * lanes + i
                            for b in 0..<6 { row[b] += values[b * lanes] }
                        }
                        tile.advance()
                        i &+= 1
                    }
                    start += length
                }
                flush()
            }
        }
    }
}
