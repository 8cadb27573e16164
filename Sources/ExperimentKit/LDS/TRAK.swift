import Analysis
import Foundation
import NN
import Tensor

/// TRAK (Park et al. 2023, "TRAK: Attributing Model Behavior at Scale"), docs/METHOD.md §17.
///
/// For one trained model θ: the margin f(z; θ) = log p_y − log(1 − p_y) of sample z with label y, its per-sample
/// gradient g(z) = ∇_θ f(z; θ) for every training and test sample, the projected features φ(z) = Rᵀg(z) ∈ R^k
/// (`RandomProjection`), Φ the (N × k) matrix of the training features, and Q_j = 1 − p_j with p_j the model's
/// probability of z_j's own label. With K independently trained models (an ensemble), the scores are TRAK's
/// Algorithm 1 (the kernel part and Q are averaged separately, as in the paper and dattri):
///
///     τ(z)_j = [ (1/K) Σ_k φ_k(z)ᵀ (Φ_kᵀΦ_k + λ_k I)⁻¹ φ_k(z_j) ] · (1/K) Σ_k Q_{k,j},
///
/// so K = 1 is φ(z)ᵀ(ΦᵀΦ + λI)⁻¹φ_j (1 − p_j). λ_k = ridge · tr(Φ_kᵀΦ_k)/k is a relative ridge (0 = none).
/// Both gradients are of the margin, so τ > 0 means z_j raises the test margin: ExPLAIND's sign convention.
///
/// The margin's cotangent on the log-probabilities f is ∂f/∂f_y = 1 and ∂f/∂f_c = −p_c/(1 − p_y) for c ≠ y (the
/// softmax of the other classes); it sums to zero, so the log-softmax backward passes it unchanged to the logits.
/// It is computed from logsumexp_{c≠y} f_c and stays bounded when p_y rounds to 1 in Float32.
public enum TRAK {
    /// (n, C) margin cotangents and (n) 1 − p_y, from log-probabilities (n, C).
    static func marginCotangents(logProbs: Tensor, labels: [Int]) -> (cotangents: Tensor, oneMinusP: [Double]) {
        let n = labels.count, C = logProbs.shape[1]
        var d = Tensor(shape: [n, C])
        var rest = [Double](repeating: 0, count: n)
        for (a, y) in labels.enumerated() {
            let row = (0..<C).map { Double(logProbs.storage[a * C + $0]) }
            let top = row.enumerated().filter { $0.offset != y }.map(\.element).max() ?? -.infinity
            var sum = 0.0
            for c in 0..<C where c != y { sum += Foundation.exp(row[c] - top) }
            let logRest = top + Foundation.log(sum)
            rest[a] = Foundation.exp(logRest)
            for c in 0..<C { d.storage[a * C + c] = c == y ? 1 : -Float(Foundation.exp(row[c] - logRest)) }
        }
        return (d, rest)
    }

    /// Per-sample margin gradients ∇_θ f(z_i; θ), (n × P) row-major, and (n) 1 − p_{y_i}.
    public static func marginGradients(
        model: Model, parameters theta: [Float], inputs: Tensor, labels: [Int]
    ) -> (gradients: [Float], oneMinusP: [Double]) {
        let n = labels.count, P = model.parameterCount
        let (d, rest) = marginCotangents(logProbs: model.forward(parameters: theta, inputs: inputs), labels: labels)
        var rows = [Float](repeating: 0, count: n * P)
        rows.withMutablePointer {
            _ = model.backward(
                parameters: theta, inputs: inputs, outputGradients: d, into: .perSample($0, rowStride: P))
        }
        return (rows, rest)
    }

    /// Projected margin-gradient features (count × k, Double) and 1 − p_y of `inputs`, `chunk` samples at a time.
    public static func features(
        model: Model, parameters theta: [Float], inputs: Tensor, labels: [Int],
        projection: RandomProjection, chunk: Int
    ) -> (phi: [Double], oneMinusP: [Double]) {
        let count = labels.count, k = projection.outputDimension
        var phi = [Double](repeating: 0, count: count * k), q = [Double](repeating: 0, count: count)
        for lo in stride(from: 0, to: count, by: max(1, chunk)) {
            let hi = min(count, lo + max(1, chunk))
            let (g, rest) = marginGradients(
                model: model, parameters: theta, inputs: inputs.rows(lo..<hi), labels: Array(labels[lo..<hi]))
            let block = projection.project(g, rows: hi - lo)
            for i in 0..<((hi - lo) * k) { phi[lo * k + i] = Double(block[i]) }
            for i in lo..<hi { q[i] = rest[i - lo] }
        }
        return (phi, q)
    }

    /// One model's kernel part X = Φ_test (ΦᵀΦ + λI)⁻¹ Φ_trainᵀ, (n × N) row-major, for features Φ_train (N × k) and
    /// Φ_test (n × k). Throws when ΦᵀΦ + λI is not positive definite (k > N, or duplicate features, without a ridge).
    public static func kernelPart(train: [Double], test: [Double], k: Int, ridge: Double) throws -> [Double] {
        let N = train.count / k, n = test.count / k
        var gram = [Double](repeating: 0, count: k * k)
        train.withUnsafeBufferPointer { t in
            gram.withUnsafeMutableBufferPointer { g in
                BLAS.dgemm(transA: true, m: k, n: k, k: N, a: t.baseAddress!, b: t.baseAddress!, c: g.baseAddress!)
            }
        }
        let trace = (0..<k).reduce(0.0) { $0 + gram[$1 * k + $1] }
        let lambda = ridge * trace / Double(k)
        for i in 0..<k { gram[i * k + i] += lambda }
        guard DenseCholesky.factor(&gram, n: k) else {
            throw TRAKError(
                message:
                    "Φᵀ Φ + λI (k = \(k), N = \(N) training samples, λ = \(lambda)) is not positive definite; use projection_dim ≤ the training count or a positive trak.ridge"
            )
        }
        // Y = (ΦᵀΦ + λI)⁻¹ Φ_testᵀ, (k × n).
        var y = [Double](repeating: 0, count: k * n)
        for a in 0..<n { for i in 0..<k { y[i * n + a] = test[a * k + i] } }
        DenseCholesky.solve(factor: gram, n: k, rightHandSides: &y, columns: n)
        var x = [Double](repeating: 0, count: n * N)
        y.withUnsafeBufferPointer { yp in
            train.withUnsafeBufferPointer { t in
                x.withUnsafeMutableBufferPointer { xp in
                    BLAS.dgemm(
                        transA: true, transB: true, m: n, n: N, k: k, a: yp.baseAddress!, b: t.baseAddress!,
                        c: xp.baseAddress!)
                }
            }
        }
        return x
    }

    /// TRAK's ensemble scores (n × N, Float): the mean kernel part times the mean Q per training sample.
    public static func combine(kernelParts: [[Double]], q: [[Double]], testCount n: Int) -> [Float] {
        precondition(
            !kernelParts.isEmpty && kernelParts.count == q.count,
            "TRAK.combine: \(kernelParts.count) kernel parts, \(q.count) Q vectors")
        let K = Double(kernelParts.count), N = q[0].count
        var meanQ = [Double](repeating: 0, count: N)
        for member in q { for j in 0..<N { meanQ[j] += member[j] } }
        var scores = [Float](repeating: 0, count: n * N)
        for a in 0..<n {
            for j in 0..<N {
                var s = 0.0
                for part in kernelParts { s += part[a * N + j] }
                scores[a * N + j] = Float((s / K) * (meanQ[j] / K))
            }
        }
        return scores
    }
}

public struct TRAKError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Cholesky factorisation and solves for small dense symmetric positive-definite matrices in Double (TRAK's k × k
/// kernel). Row-major; the factor L is stored in the lower triangle.
enum DenseCholesky {
    /// A = LLᵀ in place (lower triangle); false when a pivot is not positive.
    static func factor(_ a: inout [Double], n: Int) -> Bool {
        a.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                let ri = p.baseAddress! + i * n
                for j in 0...i {
                    let rj = p.baseAddress! + j * n
                    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t = 0
                    while t + 4 <= j {
                        s0 += ri[t] * rj[t]; s1 += ri[t + 1] * rj[t + 1]; s2 += ri[t + 2] * rj[t + 2];
                        s3 += ri[t + 3] * rj[t + 3]; t += 4
                    }
                    while t < j { s0 += ri[t] * rj[t]; t += 1 }
                    let s = ri[j] - ((s0 + s1) + (s2 + s3))
                    if i == j {
                        guard s > 0 else { return false }
                        ri[i] = s.squareRoot()
                    } else {
                        ri[j] = s / rj[j]
                    }
                }
            }
            return true
        }
    }

    /// Solves LLᵀ X = B in place for B (n × columns, row-major).
    static func solve(factor l: [Double], n: Int, rightHandSides b: inout [Double], columns m: Int) {
        l.withUnsafeBufferPointer { lp in
            b.withUnsafeMutableBufferPointer { bp in
                let L = lp.baseAddress!, B = bp.baseAddress!
                for i in 0..<n {  // forward: L Z = B
                    let bi = B + i * m
                    for j in 0..<i {
                        let c = L[i * n + j]; if c != 0 { let bj = B + j * m; for t in 0..<m { bi[t] -= c * bj[t] } }
                    }
                    let d = 1 / L[i * n + i]
                    for t in 0..<m { bi[t] *= d }
                }
                for i in stride(from: n - 1, through: 0, by: -1) {  // backward: Lᵀ X = Z
                    let bi = B + i * m
                    for j in (i + 1)..<max(i + 1, n) {
                        let c = L[j * n + i]; if c != 0 { let bj = B + j * m; for t in 0..<m { bi[t] -= c * bj[t] } }
                    }
                    let d = 1 / L[i * n + i]
                    for t in 0..<m { bi[t] *= d }
                }
            }
        }
    }
}
