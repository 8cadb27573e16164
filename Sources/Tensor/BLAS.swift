import CBLAS

/// Thin, checked wrappers over OpenBLAS (CBLAS, row-major). All hot matrix products in the project go through these.
///
/// Shapes are given in the usual row-major convention: `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
/// Leading dimensions default to the dense row length of each (un-transposed) operand.
///
/// Threading: OpenBLAS itself always runs single-threaded. When `threads` > 1, a large `sgemm` is split into column
/// (or row) blocks of C over the `Parallel` workers, each block computed by one single-threaded OpenBLAS call.
/// OpenBLAS's own worker threads busy-wait with `sched_yield` for about 0.1 s after every threaded call; the EPK
/// alternates threaded products with `Parallel` regions every few milliseconds, so those spinning workers took a third
/// of the CPU time (measured with perf on the CIFAR-2 replay). Each entry of C is still summed over k by one call;
/// OpenBLAS may pick a different kernel for a smaller block, so results can differ from the single call in the last
/// bits.
public enum BLAS {
    /// Products smaller than this many multiply-adds run in one call (a split would cost more than it saves).
    @usableFromInline static let splitThreshold = 1 << 21

    /// Makes OpenBLAS single-threaded once, before the first product.
    @usableFromInline static let singleThreadedOpenBLAS: Void = { openblas_set_num_threads(1) }()
    /// Single-precision general matrix multiply on raw pointers.
    /// - Parameters:
    ///   - transA: use Aᵀ (A is stored k×m) instead of A (stored m×k).
    ///   - transB: use Bᵀ (B is stored n×k) instead of B (stored k×n).
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        precondition(
            lda >= max(1, transA ? m : k) && ldb >= max(1, transB ? k : n) && ldc >= max(1, n),
            "sgemm: leading dimension too small")
        if k == 0 {
            // C = beta * C
            for i in 0..<m { let row = c + i * ldc; for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] } }
            return
        }
        _ = singleThreadedOpenBLAS
        let call = {
            (m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) in
            cblas_sgemm(
                CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        if threads <= 1 || m * n * k < splitThreshold { call(m, n, a, b, c); return }
        // Split the longer side of C into blocks of whole `blockAlignment`-wide slabs, one range per `Parallel` worker:
        // column blocks C[:, j0..<j1] = op(A) · op(B)[:, j0..<j1], or row blocks C[i0..<i1, :] = op(A)[i0..<i1, :] · op(B).
        let columns = n >= m, count = columns ? n : m
        Parallel.forEachRange((count + blockAlignment - 1) / blockAlignment) { slabs in
            let lo = slabs.lowerBound * blockAlignment, hi = min(count, slabs.upperBound * blockAlignment)
            if columns {
                call(m, hi - lo, a, b + (transB ? lo * ldb : lo), c + lo)
            } else {
                call(hi - lo, n, a + (transA ? lo : lo * lda), b, c + lo * ldc)
            }
        }
    }

    /// Split blocks are multiples of this many rows or columns (the sgemm kernels' register-block width).
    @usableFromInline static let blockAlignment = 16

    /// Double-precision general matrix multiply (used by float64 reference paths in tests and the EPK reference).
    @inlinable
    public static func dgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Double = 1,
        a: UnsafePointer<Double>, lda: Int? = nil,
        b: UnsafePointer<Double>, ldb: Int? = nil,
        beta: Double = 0,
        c: UnsafeMutablePointer<Double>, ldc: Int? = nil
    ) {
        if m == 0 || n == 0 || k == 0 { return }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        _ = singleThreadedOpenBLAS
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha · op(A) x + beta · y`, A stored m×n row-major.
    @inlinable
    public static func sgemv(
        trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 { return }
        _ = singleThreadedOpenBLAS
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
            Int32(lda ?? n), x, 1, beta, y, 1)
    }

    /// `y += alpha · x` over `count` elements.
    @inlinable
    public static func saxpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        if count == 0 { return }
        _ = singleThreadedOpenBLAS
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }

    /// Dot product accumulated in Float64 (OpenBLAS `sdsdot`-style precision is not portable, so we use `dsdot`).
    @inlinable
    public static func dot(count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Double {
        if count == 0 { return 0 }
        _ = singleThreadedOpenBLAS
        return cblas_dsdot(Int32(count), x, 1, y, 1)
    }

    /// Threads one `sgemm` may use: above 1 it splits over the `Parallel` workers (set to 1 inside `Parallel` regions,
    /// whose workers each call BLAS).
    public static var threads: Int = Parallel.workers {
        didSet { threads = max(1, threads) }
    }
}
