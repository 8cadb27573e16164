import Foundation
import History
import NN
import Tensor

extension EPKEngine {
    /// The reverse accumulator of one chunk's data attribution and its scratch space.
    struct DataAttributionState {
        var Q: [Float]          // (Ra, P) Q_t = η_t ψ_t + β Q_{t+1}
        var scores: [Float]     // (Ra, trainChunk) Q_t · g_jᵀ of one chunk of training samples
        let rows: Int           // Ra
        let trainChunk: Int
        let offset: Int         // first attribution row of the chunk in the result

        init(rows: Int, parameterCount P: Int, trainChunk: Int, offset: Int) {
            Q = [Float](repeating: 0, count: rows * P)
            scores = [Float](repeating: 0, count: rows * max(1, trainChunk))
            self.rows = rows; self.trainChunk = trainChunk; self.offset = offset
        }
    }

    /// Data attribution at step t by reverse accumulation (docs/METHOD.md §6): Q_t = η_t ψ_t + β Q_{t+1} with
    /// ψ = φ_t ⊘ D_t, then I(x, c, j) += (coef_t / B) ⟨g_{j,t}, Q_t⟩ for every sample j of the step's batch, per
    /// component group. The training per-sample gradients g_{j,t} at θ_t are computed once, `trainChunk` at a time.
    func accumulateDataAttribution(step t: Int, thetaT: [Float], eta: Float, phi: [Float], invD: [Float],
                                   groups: [ResolvedGroup], state: inout DataAttributionState,
                                   result: inout EPKResult) throws {
        let P = model.parameterCount, N = history.trainingCount, Ra = state.rows
        let (beta, coef) = momentumAndCoefficient(step: t)
        state.Q.withMutablePointer { q in phi.withPointer { ph in invD.withPointer { inv in
            Parallel.forEachRange(Ra) { range in
                for r in range {
                    let qr = q + r * P, pr = ph + r * P
                    var p = 0
                    while p < P { qr[p] = eta * pr[p] * inv[p] + beta * qr[p]; p &+= 1 }
                }
            }
        } } }
        let indices = try history.batchIndices(step: t)
        let B = indices.count
        let batch = data.trainingBatch(indices: indices, flips: try history.flips(step: t))
        let scale = Float(coef) / Float(B)
        for lo in stride(from: 0, to: B, by: state.trainChunk) {
            let hi = min(B, lo + state.trainChunk), b = hi - lo
            let G = model.perSampleGradients(parameters: thetaT, inputs: batch.inputs.rows(lo..<hi),
                                             classes: Array(batch.labels[lo..<hi]))      // (b, P)
            for (gi, group) in groups.enumerated() {
                state.Q.withPointer { q in G.withPointer { gp in state.scores.withMutablePointer { tp in
                    for (ci, range) in group.ranges.enumerated() {
                        // scores (Ra, b) (+)= Q[:, range] (Ra, P_k) · G[:, range]ᵀ (P_k, b)
                        BLAS.sgemm(transB: true, m: Ra, n: b, k: range.count, a: q + range.lowerBound, lda: P,
                                   b: gp + range.lowerBound, ldb: P, beta: ci == 0 ? 0 : 1, c: tp, ldc: b)
                    }
                } } }
                let offset = state.offset
                state.scores.withPointer { tp in
                    result.dataAttribution[gi].values.withMutablePointer { da in
                        for r in 0..<Ra {
                            let dst = da + (offset + r) * N
                            for j in 0..<b { dst[indices[lo + j]] += scale * tp[r * b + j] }
                        }
                    }
                }
            }
        }
    }

    /// ρ_t and 1/D_t for step t. AdamW: ρ = λθ_t, D_t = (1 − β1^τ)(√(v_t/(1 − β2^τ)) + ε) with τ = t + 1.
    /// SGD: ρ = R_t from the history, 1/D = 1. Inactive components (no gradient, no optimizer state) get 0.
    func fillRegularizationFeature(step t: Int, thetaT: [Float], lambda: Float, active: [Bool],
                                           rho: inout [Float], invD: inout [Float]) throws {
        let P = rho.count
        let quantity = try history.optimizerQuantity(step: t)
        guard quantity.count == P else {
            throw EPKError.historyMismatch("optimizer quantity of step \(t) has \(quantity.count) values, the model \(P)")
        }
        switch history.optimizer {
        case .sgd:
            for p in 0..<P {
                guard !active[p] || quantity[p].isFinite else {
                    throw EPKError.historyMismatch("/optimizer/decay_buffer of step \(t) holds \(quantity[p]) at parameter \(p); "
                        + "it must be the finite decay buffer R_t, see docs/ARTIFACTS.md")
                }
                rho[p] = active[p] ? quantity[p] : 0; invD[p] = active[p] ? 1 : 0
            }
        case .adamw(let b1, let b2, let eps, _):
            let tau = Double(t + 1)
            let c1 = 1 - Foundation.pow(b1, tau), c2 = 1 - Foundation.pow(b2, tau)
            for p in 0..<P {
                guard active[p] else { rho[p] = 0; invD[p] = 0; continue }
                // A second moment is a running mean of squares: never negative, never NaN.
                guard quantity[p] >= 0, quantity[p].isFinite else {
                    throw EPKError.historyMismatch("/optimizer/exp_avg_sq of step \(t) holds \(quantity[p]) at parameter \(p); "
                        + "it must be the optimizer's second moment (a finite value ≥ 0 after the step), see docs/ARTIFACTS.md")
                }
                rho[p] = lambda * thetaT[p]
                let d = c1 * ((Double(quantity[p]) / c2).squareRoot() + eps)
                invD[p] = Float(1 / d)
            }
        }
    }

    /// (β, coef_t) of the reverse recursion: SGD (μ, the buffer's gradient weight c_t), AdamW (β1, 1 − β1).
    func momentumAndCoefficient(step t: Int) -> (Float, Double) {
        switch history.optimizer {
        case .sgd(let mu, _, _): return (Float(mu), history.optimizer.gradientWeight(step: t))
        case .adamw(let b1, _, _, _): return (Float(b1), 1 - b1)
        }
    }

    func accumulateParameterAttribution(group: ResolvedGroup, phi: [Float], delta: [Float], rho: [Float], eta: Float,
                                                R: Int, S: Int, kernel: inout [Float], reg: inout [Float]) {
        let P = model.parameterCount, Pg = group.count
        phi.withPointer { ph in delta.withPointer { d in rho.withPointer { rh in
            kernel.withMutablePointer { kp in reg.withMutablePointer { rp in
                Parallel.forEachRange(R / S) { tests in
                    for a in tests {
                        for s in 0..<S {
                            let row = ph + (a * S + s) * P
                            var q = 0
                            for range in group.ranges {
                                let kdst = kp + a * Pg + q, rdst = rp + a * Pg + q
                                let src = row + range.lowerBound, dd = d + range.lowerBound, rr = rh + range.lowerBound
                                var p = 0
                                let count = range.count
                                while p < count {
                                    kdst[p] += src[p] * (dd[p] + eta * rr[p])
                                    rdst[p] -= eta * src[p] * rr[p]
                                    p &+= 1
                                }
                                q += count
                            }
                        }
                    }
                }
            } }
        } } }
    }

    func flushParameterAttribution(chunk: Range<Int>, step t: Int, kernel: inout [Float], reg: inout [Float],
                                           result: inout EPKResult) {
        guard var pa = result.parameterAttribution else { return }
        let Pg = pa.parameterCount, n = result.testCount
        let base = chunk.lowerBound * Pg
        for i in 0..<kernel.count {
            pa.kernelTotal[base + i] += kernel[i]
            pa.regularizationTotal[base + i] += reg[i]
        }
        if let interval = pa.snapshotInterval, let s = pa.snapshotSteps.firstIndex(of: (t / interval) * interval) {
            let off = s * n * Pg + base
            for i in 0..<kernel.count {
                pa.kernelSnapshots[off + i] += kernel[i]
                pa.regularizationSnapshots[off + i] += reg[i]
            }
        }
        result.parameterAttribution = pa
        for i in kernel.indices { kernel[i] = 0; reg[i] = 0 }
    }

}
