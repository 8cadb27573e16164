import Foundation
import Tensor

/// Cosine similarity, ordering, Fourier checks and PCA of parameter-wise attribution vectors (docs/METHOD.md §16).
public enum SimilarityAnalysis {
    /// Cosine similarity between the rows of `a` (n × p) and the rows of `b` (m × p), as an (n × m) row-major
    /// matrix. Zero rows have similarity 0 with everything. When `b` is nil the matrix is the self-similarity of
    /// `a`: exactly symmetric, with diagonal 1 for non-zero rows (docs/METHOD.md §16 "cosine-similarity matrix between samples").
    public static func cosine(_ a: [Float], rows n: Int, _ b: [Float]? = nil, rows m: Int = 0, width p: Int) -> [Double]
    {
        precondition(a.count == n * p, "cosine: a has \(a.count) entries, expected \(n)×\(p)")
        let other = b ?? a, mm = b == nil ? n : m
        precondition(other.count == mm * p, "cosine: b has \(other.count) entries, expected \(mm)×\(p)")
        func norms(_ x: [Float], _ r: Int) -> [Double] {
            x.withUnsafeBufferPointer { buf in
                (0..<r).map { i in BLAS.dot(count: p, buf.baseAddress! + i * p, buf.baseAddress! + i * p).squareRoot() }
            }
        }
        let na = norms(a, n), nb = b == nil ? na : norms(other, mm)
        var gram = [Float](repeating: 0, count: n * mm)
        a.withUnsafeBufferPointer { pa in
            other.withUnsafeBufferPointer { pb in
                gram.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(
                        transB: true, m: n, n: mm, k: p, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                }
            }
        }
        var out = [Double](repeating: 0, count: n * mm)
        for i in 0..<n {
            for j in 0..<mm where na[i] > 0 && nb[j] > 0 {
                out[i * mm + j] = min(1, max(-1, Double(gram[i * mm + j]) / (na[i] * nb[j])))
            }
        }
        if b == nil {
            for i in 0..<n {
                out[i * n + i] = na[i] > 0 ? 1 : 0
                for j in (i + 1)..<max(i + 1, n) {
                    let s = 0.5 * (out[i * n + j] + out[j * n + i])
                    out[i * n + j] = s; out[j * n + i] = s
                }
            }
        }
        return out
    }

    /// A modular-addition sample as the text report shows it.
    public struct Sample {
        public let a: Int, b: Int, target: Int
        public init(a: Int, b: Int, target: Int) { self.a = a; self.b = b; self.target = target }
        var text: String { "\(a) + \(b) = \(target)" }
    }

    /// The docs/METHOD.md §16 text report for one cosine matrix (n × n, rows in the order of `samples`): for each query row,
    /// its `count` most and `count` least similar other samples with inputs, targets and similarities, then the
    /// histograms of the operand tokens and of the targets among the most similar ones (Markdown).
    public static func neighbourReport(
        title: String, cosine: [Double], samples: [Sample], queries: [Int], count: Int
    ) -> String {
        let n = samples.count
        var lines = ["## \(title)", ""]
        for q in queries {
            let others = (0..<n).filter { $0 != q }.sorted { (cosine[q * n + $0], -$0) > (cosine[q * n + $1], -$1) }
            let most = Array(others.prefix(count)), least = Array(others.suffix(count).reversed())
            lines.append("**\(samples[q].text)**  (a+b = \(samples[q].a + samples[q].b))")
            lines.append("")
            lines.append("| rank | most similar | cos | least similar | cos |")
            lines.append("|---:|---|---:|---|---:|")
            for i in 0..<min(most.count, least.count) {
                lines.append(
                    String(
                        format: "| %d | %@ | %.3f | %@ | %.3f |", i + 1, samples[most[i]].text, cosine[q * n + most[i]],
                        samples[least[i]].text, cosine[q * n + least[i]]))
            }
            func histogram(_ values: [Int]) -> String {
                Dictionary(grouping: values, by: { $0 }).map { ($0.key, $0.value.count) }
                    .sorted { ($0.1, -$0.0) > ($1.1, -$1.0) }.map { "\($0.0)×\($0.1)" }.joined(separator: ", ")
            }
            lines.append("")
            lines.append(
                "Tokens among the most similar: \(histogram(most.flatMap { [samples[$0].a, samples[$0].b] })). "
                    + "Targets: \(histogram(most.map { samples[$0].target })).")
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    /// The order that sorts samples by `key` (a+b for modulo), ties by `tieBreak` (the target), then by index.
    public static func order(key: [Double], tieBreak: [Double]) -> [Int] {
        Array(key.indices).sorted { (key[$0], tieBreak[$0], $0) < (key[$1], tieBreak[$1], $1) }
    }

    /// `matrix` (rows × columns) with rows and columns permuted: out[i, j] = matrix[rowOrder[i], columnOrder[j]].
    public static func permute(_ matrix: [Double], columns: Int, rowOrder: [Int], columnOrder: [Int]) -> [Double] {
        var out = [Double](repeating: 0, count: rowOrder.count * columnOrder.count)
        for (i, r) in rowOrder.enumerated() {
            for (j, c) in columnOrder.enumerated() { out[i * columnOrder.count + j] = matrix[r * columns + c] }
        }
        return out
    }

    // MARK: - Fourier checks

    /// Pearson correlation of two equally long vectors (0 when either is constant).
    public static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count)
        let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices { let dx = x[i] - mx, dy = y[i] - my; sxy += dx * dy; sxx += dx * dx; syy += dy * dy }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : 0
    }

    /// Off-diagonal entries of a square similarity matrix and the matching differences s_i − s_j.
    static func offDiagonal(_ matrix: [Double], keys s: [Double]) -> (values: [Double], deltas: [Double]) {
        let n = s.count
        precondition(matrix.count == n * n, "offDiagonal: matrix is not \(n)×\(n)")
        var v: [Double] = [], d: [Double] = []
        v.reserveCapacity(n * (n - 1)); d.reserveCapacity(n * (n - 1))
        for i in 0..<n { for j in 0..<n where i != j { v.append(matrix[i * n + j]); d.append(s[i] - s[j]) } }
        return (v, d)
    }

    /// The summed and normalised reference matrix Σ_f cos(2π(s_i − s_j)/f) / |F| over `periods` (docs/METHOD.md §16,
    /// "Nanda's key frequencies" read as periods, as the original code does), correlated with the off-diagonal
    /// entries of `matrix`.
    public static func referenceCorrelation(_ matrix: [Double], keys s: [Double], periods: [Double]) -> Double {
        let (v, d) = offDiagonal(matrix, keys: s)
        let reference = d.map { delta in
            periods.map { cos(2 * Double.pi * delta / $0) }.reduce(0, +) / Double(periods.count)
        }
        return correlation(v, reference)
    }

    /// One least-squares fit per period f: M_ij ≈ c₀ + α cos(2π(s_i − s_j)/f) + β sin(2π(s_i − s_j)/f) over the
    /// off-diagonal entries, returning the fraction of variance explained (R²) per period. This replaces the
    /// original's Lasso, whose feature columns were indexed by period value and overwritten (docs/METHOD.md §16).
    public static func periodFit(_ matrix: [Double], keys s: [Double], periods: [Double]) -> [Double] {
        let (v, d) = offDiagonal(matrix, keys: s)
        return periods.map { f in
            let w = 2 * Double.pi / f
            return leastSquaresR2(columns: [d.map { cos(w * $0) }, d.map { sin(w * $0) }], target: v)
        }
    }

    /// R² of a joint least-squares fit of all `periods` at once (cos and sin of each, plus an intercept).
    public static func jointPeriodFit(_ matrix: [Double], keys s: [Double], periods: [Double]) -> Double {
        let (v, d) = offDiagonal(matrix, keys: s)
        var columns: [[Double]] = []
        for f in periods {
            let w = 2 * Double.pi / f; columns.append(d.map { cos(w * $0) }); columns.append(d.map { sin(w * $0) })
        }
        return leastSquaresR2(columns: columns, target: v)
    }

    /// R² of the least-squares fit of `target` on an intercept plus `columns` (normal equations in Double, solved by
    /// Gaussian elimination with partial pivoting; near-singular directions are dropped).
    public static func leastSquaresR2(columns: [[Double]], target y: [Double]) -> Double {
        let m = y.count, k = columns.count + 1
        let x: [[Double]] = [[Double](repeating: 1, count: m)] + columns
        var a = [Double](repeating: 0, count: k * k), b = [Double](repeating: 0, count: k)
        for i in 0..<k {
            for j in i..<k {
                var s = 0.0; for r in 0..<m { s += x[i][r] * x[j][r] }; a[i * k + j] = s; a[j * k + i] = s
            }
            var s = 0.0; for r in 0..<m { s += x[i][r] * y[r] }; b[i] = s
        }
        let coefficients = solve(a, b, size: k)
        let mean = y.reduce(0, +) / Double(m)
        var sse = 0.0, sst = 0.0
        for r in 0..<m {
            var fit = 0.0
            for i in 0..<k { fit += coefficients[i] * x[i][r] }
            sse += (y[r] - fit) * (y[r] - fit); sst += (y[r] - mean) * (y[r] - mean)
        }
        return sst > 0 ? max(0, 1 - sse / sst) : 0
    }

    static func solve(_ matrix: [Double], _ rhs: [Double], size k: Int) -> [Double] {
        var a = matrix, b = rhs
        let scale = (0..<k).map { a[$0 * k + $0] }.max() ?? 1
        var usable = [Bool](repeating: true, count: k)
        for col in 0..<k {
            var pivot = col
            for r in col..<k where abs(a[r * k + col]) > abs(a[pivot * k + col]) { pivot = r }
            if abs(a[pivot * k + col]) <= 1e-12 * max(scale, 1e-300) { usable[col] = false; continue }
            if pivot != col {
                for c in 0..<k { a.swapAt(col * k + c, pivot * k + c) }
                b.swapAt(col, pivot)
            }
            for r in 0..<k where r != col {
                let f = a[r * k + col] / a[col * k + col]
                if f == 0 { continue }
                for c in col..<k { a[r * k + c] -= f * a[col * k + c] }
                b[r] -= f * b[col]
            }
        }
        return (0..<k).map { usable[$0] ? b[$0] / a[$0 * k + $0] : 0 }
    }

    /// Fourier power of each frequency k = 1 … ⌊p/2⌋ along the token axis of a (tokens × d) table restricted to the
    /// first `p` tokens (the numbers 0 … p−1): Σ_d |Σ_a W[a, d] e^{−2πi k a / p}|². The dominant frequencies of the
    /// embedding are the "key frequencies" of a grokked modular-addition network (Nanda et al.).
    public static func tokenFourierPower(_ table: [Float], width d: Int, prime p: Int) -> [Double] {
        precondition(table.count >= p * d)
        return (1...(p / 2)).map { k in
            var power = 0.0
            for c in 0..<d {
                var re = 0.0, im = 0.0
                for a in 0..<p {
                    let angle = 2 * Double.pi * Double(k * a % p) / Double(p)
                    re += Double(table[a * d + c]) * cos(angle); im -= Double(table[a * d + c]) * sin(angle)
                }
                power += re * re + im * im
            }
            return power
        }
    }

    /// Indices of the `count` largest values, largest first.
    public static func top(_ values: [Double], count: Int) -> [Int] {
        Array(values.indices.sorted { (values[$0], -$0) > (values[$1], -$1) }.prefix(count))
    }

    // MARK: - PCA

    /// Two-dimensional PCA of the L2-normalised rows of `x` (n × p): the n × 2 scores (row-major) and the fraction
    /// of variance each component explains. Eigenvectors of the centred Gram matrix by power iteration with
    /// deflation (deterministic start), so the scores are unique up to sign; the sign is fixed so that the largest
    /// |score| of each component is positive.
    public static func pca2(_ x: [Float], rows n: Int, width p: Int) -> (scores: [Double], explained: [Double]) {
        pca2(gram: cosine(x, rows: n, width: p), rows: n)
    }

    /// PCA from the Gram matrix of the (already normalised) vectors, e.g. a cosine-similarity matrix.
    public static func pca2(gram: [Double], rows n: Int) -> (scores: [Double], explained: [Double]) {
        var g = gram
        // Centre: G ← H G H with H = I − 11ᵀ/n (PCA of centred rows).
        let rowMeans = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + g[i * n + $1] } / Double(n) }
        let total = rowMeans.reduce(0, +) / Double(n)
        for i in 0..<n { for j in 0..<n { g[i * n + j] += total - rowMeans[i] - rowMeans[j] } }
        let trace = (0..<n).reduce(0.0) { $0 + g[$1 * n + $1] }
        var scores = [Double](repeating: 0, count: n * 2), explained = [0.0, 0.0]
        var work = g
        for comp in 0..<2 {
            var v = (0..<n).map { 1.0 + 0.01 * Double(($0 * 7919) % 101) }
            var lambda = 0.0
            for _ in 0..<500 {
                var w = [Double](repeating: 0, count: n)
                for i in 0..<n { var s = 0.0; for j in 0..<n { s += work[i * n + j] * v[j] }; w[i] = s }
                let norm = w.map { $0 * $0 }.reduce(0, +).squareRoot()
                if norm == 0 { lambda = 0; break }
                let next = w.map { $0 / norm }
                let change = zip(next, v).map { abs($0 - $1) }.max() ?? 0
                v = next; lambda = norm
                if change < 1e-10 { break }
            }
            if let big = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[big] < 0 { v = v.map { -$0 } }
            for i in 0..<n { scores[i * 2 + comp] = v[i] * lambda.squareRoot() }
            explained[comp] = trace > 0 ? lambda / trace : 0
            for i in 0..<n { for j in 0..<n { work[i * n + j] -= lambda * v[i] * v[j] } }
        }
        return (scores, explained)
    }
}
