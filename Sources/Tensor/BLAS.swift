import CBLAS

/// Thin, checked wrappers over OpenBLAS (CBLAS, row-major). All hot matrix products in the project go through these.
///
/// Shapes are given in the usual row-major convention: `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
/// Leading dimensions default to the dense row length of each (un-transposed) operand.
public enum BLAS {
    /// Single-precision general matrix multiply on raw pointers.
    /// - Parameters:
    ///   - transA: use Aᵀ (A is stored k×m) instead of A (stored m×k).
    ///   - transB: use Bᵀ (B is stored n×k) instead of B (stored k×n).
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int? = nil,
                             b: UnsafePointer<Float>, ldb: Int? = nil,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        precondition(lda >= max(1, transA ? m : k) && ldb >= max(1, transB ? k : n) && ldc >= max(1, n),
                     "sgemm: leading dimension too small")
        if k == 0 {
            // C = beta * C
            for i in 0..<m { let row = c + i * ldc; for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Double-precision general matrix multiply (used by float64 reference paths in tests and the EPK reference).
    @inlinable
    public static func dgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Double = 1,
                             a: UnsafePointer<Double>, lda: Int? = nil,
                             b: UnsafePointer<Double>, ldb: Int? = nil,
                             beta: Double = 0,
                             c: UnsafeMutablePointer<Double>, ldc: Int? = nil) {
        if m == 0 || n == 0 || k == 0 { return }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha · op(A) x + beta · y`, A stored m×n row-major.
    @inlinable
    public static func sgemv(trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int? = nil,
                             x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
                    Int32(lda ?? n), x, 1, beta, y, 1)
    }

    /// `y += alpha · x` over `count` elements.
    @inlinable
    public static func saxpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        if count == 0 { return }
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }

    /// Dot product accumulated in Float64 (OpenBLAS `sdsdot`-style precision is not portable, so we use `dsdot`).
    @inlinable
    public static func dot(count: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Double {
        if count == 0 { return 0 }
        return cblas_dsdot(Int32(count), x, 1, y, 1)
    }

    /// Number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
