import Tensor

/// The score products of the data attribution (docs/METHOD.md §6) for one chunk of training samples: per component
/// range k, scores_k (Ra, b) = Q[:, k] (Ra, P_k) · G[:, k]ᵀ (P_k, b), with Q the reverse accumulator of the chunk's Ra
/// attribution rows and G the b training per-sample gradients, both row-major with P columns. The engine forms them
/// here, and `bench --workload kernel-gemm` times exactly this code.
///
/// - **Thin** products (Ra · width columns ≤ `EPKEngine.thinScoreWidth`) are too small for BLAS to split well: every
///   distinct component range is cut into pieces of at most `pieceSize` parameters, one single-threaded sgemm per
///   piece runs on each thread, and the pieces are summed per component.
/// - **Fat** products run one sgemm per range of a group, accumulating, with BLAS's own split over the threads.
public struct ScoreProducts: Sendable {
    /// Reduction-dimension pieces of thin products.
    public static let pieceSize = 1 << 16
    /// Products with at most this many scores (Ra · chunk) are thin (the engine's default `thinScoreWidth`).
    public static let defaultThinWidth = 1 << 14

    /// Whether the products are thin (pieces over the threads) or fat (one BLAS call per range).
    public let thin: Bool
    /// The distinct component ranges over all groups, each scored once in a thin product.
    public let distinct: [Range<Int>]
    /// Per group, its ranges as indices into `distinct`.
    public let groupMembers: [[Int]]
    /// Rows Ra and the largest chunk b: buffers hold `Ra · chunk` scores per range or piece.
    public let rows: Int, chunk: Int
    let pieces: [(range: Int, part: Range<Int>)]

    public init(groups: [[Range<Int>]], rows: Int, chunk: Int, thinWidth: Int) {
        self.rows = rows; self.chunk = chunk
        thin = rows * chunk <= thinWidth
        var distinct: [Range<Int>] = []
        groupMembers = groups.map { ranges in
            ranges.map { range in
                if let i = distinct.firstIndex(of: range) { return i }
                distinct.append(range)
                return distinct.count - 1
            }
        }
        self.distinct = distinct
        var pieces: [(range: Int, part: Range<Int>)] = []
        for (i, range) in distinct.enumerated() where thin {
            for lo in stride(from: range.lowerBound, to: range.upperBound, by: Self.pieceSize) {
                pieces.append((i, lo..<min(range.upperBound, lo + Self.pieceSize)))
            }
        }
        self.pieces = pieces
    }

    /// Floats of the thin products' per-piece scratch and of their per-range scores.
    public var partialCount: Int { pieces.count * rows * chunk }
    public var scoreCount: Int { (thin ? distinct.count : 1) * rows * chunk }

    /// Thin products of b ≤ `chunk` samples: `scores` (distinct, Ra, b at stride Ra · chunk) = per range Q · Gᵀ, with
    /// `partial` (`partialCount` floats) as scratch.
    public func thinProducts(
        q: UnsafePointer<Float>, g: UnsafePointer<Float>, parameterCount P: Int, samples b: Int,
        partial: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        let width = rows * chunk, Ra = rows, pieces = self.pieces
        Parallel.forEachRange(pieces.count) { range in
            for i in range {
                // partial_i (Ra, b) = Q[:, part] (Ra, |part|) · G[:, part]ᵀ (|part|, b)
                let part = pieces[i].part
                BLAS.sgemm(
                    transB: true, m: Ra, n: b, k: part.count, a: q + part.lowerBound, lda: P,
                    b: g + part.lowerBound, ldb: P, c: partial + i * width, ldc: b)
            }
        }
        scores.update(repeating: 0, count: scoreCount)
        for (i, piece) in pieces.enumerated() {
            Vector.add(partial + i * width, into: scores + piece.range * width, count: Ra * b)
        }
    }

    /// A fat product of b samples: `scores` (Ra, b) = Σ over `ranges` of Q[:, range] · G[:, range]ᵀ.
    public func fatProduct(
        q: UnsafePointer<Float>, g: UnsafePointer<Float>, parameterCount P: Int, samples b: Int,
        ranges: [Range<Int>], scores: UnsafeMutablePointer<Float>
    ) {
        for (ci, range) in ranges.enumerated() {
            // scores (Ra, b) (+)= Q[:, range] (Ra, P_k) · G[:, range]ᵀ (P_k, b)
            BLAS.sgemm(
                transB: true, m: rows, n: b, k: range.count, a: q + range.lowerBound, lda: P,
                b: g + range.lowerBound, ldb: P, beta: ci == 0 ? 0 : 1, c: scores, ldc: b)
        }
    }
}
