import Tensor

/// The projection path of a `.perSampleDot` backward for one component k: the layer writes the per-sample gradients
/// g_i[k] of a block of consecutive samples into `PerSampleDot.scratch` (one row of |k| floats per sample, laid out
/// like the component), and each block is multiplied by all D directions in one GEMM,
///
///     out[i, d, k] += ⟨g_i[k], v_d[k]⟩,   (block, D) = G_block (block, |k|) · V[:, k]ᵀ (|k|, D).
///
/// The product runs in pieces of the reduction over the threads (`pieceSize`). The directions are read once per
/// block, so a block that holds the whole batch reads them once per backward pass.
/// The EPK data attribution passes its reverse accumulator rows as the directions (docs/ENGINE.md, "data
/// attribution").
public struct ComponentProjection {
    let dot: PerSampleDot
    let component: ParameterLayout.Component
    let rows: UnsafeMutablePointer<Float>
    /// Samples a block holds.
    public let capacity: Int
    /// The block: samples `first ..< first + count`.
    private(set) var first = 0, count = 0

    /// Nil when `dot` has no scratch or the scratch cannot hold one sample's gradient of `component`.
    public init?(_ dot: PerSampleDot, component: ParameterLayout.Component) {
        guard let scratch = dot.scratch, let base = scratch.baseAddress, scratch.count >= component.count else {
            return nil
        }
        self.dot = dot
        self.component = component
        self.rows = base
        self.capacity = scratch.count / component.count
    }

    /// The rows (|k| floats apart, to be **overwritten** by the caller) of samples `start ..< start + n`,
    /// n ≤ `capacity`; the block is projected first when these samples do not extend it or do not fit.
    public mutating func reserve(samples start: Int, count n: Int) -> UnsafeMutablePointer<Float> {
        precondition(n <= capacity, "ComponentProjection: \(n) samples, room for \(capacity)")
        if count > 0 && (start != first + count || count + n > capacity) { flush() }
        if count == 0 { first = start }
        defer { count += n }
        return rows + count * component.count
    }

    /// Reduction pieces of the projection: each thread multiplies whole pieces single-threaded, so G and V are each
    /// read once whatever the thread count, and the pieces are summed in a fixed order (the result does not depend
    /// on the thread count). Small enough that ResNet-9's components split evenly over two threads.
    public static let pieceSize = 1 << 14

    /// How `flush` cuts a piece's product (block × k)·(k × D) into sgemm calls: `rows` block rows and at most
    /// `length` reduction entries per call.
    ///
    /// With OpenBLAS's AVX-512 kernels, the calls are small enough for its small-matrix kernels, which multiply the
    /// operands without packing them: for this transpose pattern it takes rows · D ≤ 1200 and
    /// rows · D · length ≤ 100³. P4's (46 × k)·(k × 40) then runs as calls of 23 rows and 1,072 entries: about 110
    /// rather than 85 GFLOP/s on two Zen 4 cores (docs/ENGINE.md, item 2). Otherwise, or when the calls would be thin
    /// (fewer than 8 rows or 256 entries), one call per piece.
    public static func callShape(
        block n: Int, directions D: Int, smallKernels: Bool = smallKernels
    ) -> (rows: Int, length: Int) {
        let whole = (rows: n, length: pieceSize)
        let most = 1_200 / max(1, D)
        guard smallKernels, most >= min(n, 8) else { return whole }
        let parts = (n + most - 1) / most, rows = (n + parts - 1) / parts
        let length = 1_000_000 / (rows * D) / 16 * 16
        return length >= 256 ? (rows, min(length, pieceSize)) : whole
    }

    /// Whether OpenBLAS runs its AVX-512 kernel families here, which come with small-matrix kernels.
    public static let smallKernels = BLASKernels.level(ofCore: BLASKernels.coreInUse) == .avx512

    /// Projects the block onto the directions and empties it.
    public mutating func flush() {
        guard count > 0 else { return }
        let D = dot.directionCount, size = component.count, n = count, width = n * D
        let pieces = (size + Self.pieceSize - 1) / Self.pieceSize
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: pieces * width)
        defer { partial.deallocate() }
        let g = UnsafePointer(rows), v = dot.directions + component.offset, P = dot.parameterCount
        let call = Self.callShape(block: n, directions: D)
        Parallel.forEachRange(pieces) { range in
            for piece in range {
                let lo = piece * Self.pieceSize, hi = min(size, lo + Self.pieceSize)
                // partial_piece (n, D) = G_block[:, piece] (n, k) · V[:, k][:, piece]ᵀ (k, D), in calls of
                // `call.rows` rows and `call.length` entries of the piece, each row range accumulating over its calls
                for r in stride(from: 0, to: n, by: call.rows) {
                    let m = min(n, r + call.rows) - r
                    for start in stride(from: lo, to: hi, by: call.length) {
                        BLAS.sgemm(
                            transB: true, m: m, n: D, k: min(hi, start + call.length) - start,
                            a: g + r * size + start, lda: size, b: v + start, ldb: P, beta: start == lo ? 0 : 1,
                            c: partial + piece * width + r * D, ldc: D)
                    }
                }
            }
        }
        for i in 0..<n {
            for d in 0..<D {
                var sum = 0.0
                for piece in 0..<pieces { sum += Double(partial[piece * width + i * D + d]) }
                dot.add(sum, sample: first + i, direction: d, component: component)
            }
        }
        first += count
        count = 0
    }
}
