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
    /// on the thread count).
    public static let pieceSize = 1 << 16

    /// Projects the block onto the directions and empties it.
    public mutating func flush() {
        guard count > 0 else { return }
        let D = dot.directionCount, size = component.count, n = count, width = n * D
        let pieces = (size + Self.pieceSize - 1) / Self.pieceSize
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: pieces * width)
        defer { partial.deallocate() }
        let g = UnsafePointer(rows), v = dot.directions + component.offset, P = dot.parameterCount
        Parallel.forEachRange(pieces) { range in
            for piece in range {
                let lo = piece * Self.pieceSize, k = min(size, lo + Self.pieceSize) - lo
                // partial_piece (n, D) = G_block[:, piece] (n, k) · V[:, k][:, piece]ᵀ (k, D)
                BLAS.sgemm(
                    transB: true, m: n, n: D, k: k, a: g + lo, lda: size, b: v + lo, ldb: P,
                    c: partial + piece * width, ldc: D)
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
