import Foundation
import NN
import Tensor

/// Gradient-similarity baselines of the LDS comparison (docs/METHOD.md §17), all on the correct-class log-probability.
///
/// With g(x; θ) = ∇_θ f_y(x; θ) (the log-probability of x's own label), a gradient step on training sample z_j
/// changes f_y(x) by −η⟨∇f_y(x), ∇L_j⟩ = η⟨g(x), g(z_j)⟩ since ∇L_j = −g(z_j). So τ_j = ⟨g(x), g(z_j)⟩ is already
/// sign-corrected: positive means z_j pushes the test example's correct class up — the same convention as
/// ExPLAIND's I(x, y_x, j).
public enum GradientScores {
    /// Σ_θ weight · ⟨g(x_a; θ), g(z_j; θ)⟩ (optionally cosine-normalised per pair), accumulated into `scores` (n, N).
    /// Training gradients are computed `chunk` samples at a time, so memory is O((n + chunk)·P).
    public static func accumulate(
        model: Model, parameters theta: [Float], testInputs: Tensor, testLabels: [Int],
        trainInputs: Tensor, trainLabels: [Int], weight: Float, cosine: Bool,
        chunk: Int = 250, into scores: inout [Float]
    ) {
        let n = testLabels.count, N = trainLabels.count, P = model.parameterCount
        precondition(scores.count == n * N, "GradientScores: \(scores.count) scores for \(n) × \(N)")
        var testGrads = model.perSampleGradients(parameters: theta, inputs: testInputs, classes: testLabels)
        if cosine { normalizeRows(&testGrads, rows: n, width: P) }
        var block = [Float](repeating: 0, count: n * chunk)
        for lo in stride(from: 0, to: N, by: chunk) {
            let hi = min(N, lo + chunk), b = hi - lo
            var trainGrads = model.perSampleGradients(
                parameters: theta, inputs: trainInputs.rows(lo..<hi),
                classes: Array(trainLabels[lo..<hi]))
            if cosine { normalizeRows(&trainGrads, rows: b, width: P) }
            testGrads.withPointer { a in
                trainGrads.withPointer { g in
                    block.withMutablePointer { c in
                        // block (n, b) = testGrads (n, P) · trainGradsᵀ (P, b)
                        BLAS.sgemm(
                            transB: true, m: n, n: b, k: P, alpha: weight, a: a, lda: P, b: g, ldb: P, beta: 0, c: c,
                            ldc: b)
                    }
                }
            }
            for a in 0..<n { for j in 0..<b { scores[a * N + lo + j] += block[a * b + j] } }
        }
    }

    /// Scales each row to unit Euclidean norm (zero rows stay zero).
    static func normalizeRows(_ m: inout [Float], rows: Int, width: Int) {
        m.withMutablePointer { p in
            for r in 0..<rows {
                let norm = Vector.norm(p + r * width, count: width)
                if norm > 0 { let s = Float(1 / norm); for i in 0..<width { p[r * width + i] *= s } }
            }
        }
    }

    /// Seeded standard-normal scores (n, N): the chance baseline (expected LDS 0).
    public static func random(testCount n: Int, trainingCount N: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<(n * N)).map { _ in Float(rng.normal()) }
    }
}
