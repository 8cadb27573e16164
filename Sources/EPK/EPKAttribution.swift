import Foundation
import History
import NN
import Tensor

extension EPKEngine {
    /// The reverse accumulator of one chunk's data attribution and its scratch space.
    struct DataAttributionState {
        var Q: [Float]  // (Ra, P) Q_t = η_t ψ_t + β Q_{t+1}
        /// (trainChunk, rowFloats) training per-sample gradients, reused across steps: whole rows (rowFloats = P), or
        /// for a projecting model the scratch of `ComponentProjection` (one component's rows at a time).
        var G: [Float]
        var partial: [Float] = []  // (pieces, Ra, trainChunk) per-piece scores, reused across steps
        var scores: [Float] = []  // (distinct components, Ra, trainChunk)
        let rows: Int  // Ra
        let trainChunk: Int
        let offset: Int  // first attribution row of the chunk in the result

        init(rows: Int, rowFloats: Int, trainChunk: Int, offset: Int, parameterCount P: Int) {
            Q = [Float](repeating: 0, count: rows * P)
            G = [Float](repeating: 0, count: max(1, trainChunk) * rowFloats)
            self.rows = rows; self.trainChunk = trainChunk; self.offset = offset
        }

        /// Q_t = η_t ψ_t + β Q_{t+1} for the attribution rows `range` of the chunk, with ψ = φ ⊘ D_t and φ the
        /// features of those rows (rows 0..<range.count of `phi`).
        mutating func accumulate(phi: [Float], rows range: Range<Int>, eta: Float, beta: Float, invD: [Float]) {
            let P = invD.count
            Q.withMutablePointer { q in
                phi.withPointer { ph in
                    invD.withPointer { inv in
                        Parallel.forEachRange(range.count) { local in
                            for i in local {
                                let qr = q + (range.lowerBound + i) * P, pr = ph + i * P
                                var p = 0
                                while p < P { qr[p] = eta * pr[p] * inv[p] + beta * qr[p]; p &+= 1 }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Data attribution at step t by reverse accumulation (docs/METHOD.md §6), after `DataAttributionState.accumulate`
    /// has formed Q_t: I(x, c, j) += (coef_t / B) ⟨g_{j,t}, Q_t⟩ for every sample j of the step's batch, per
    /// component group. The training per-sample gradients g_{j,t} at θ_t are computed once: `trainChunk` whole rows
    /// at a time and scored by `ScoreProducts`, or for a projecting model (`projectsTrainingGradients`) in backward
    /// passes whose layers project each component's per-sample gradients onto the rows of Q (`ComponentProjection`).
    func accumulateDataAttribution(
        step t: Int, thetaT: [Float], groups: [ResolvedGroup], state: inout DataAttributionState,
        result: inout EPKResult
    ) throws {
        let P = model.parameterCount, N = history.trainingCount, Ra = state.rows
        let (_, coef) = momentumAndCoefficient(step: t)
        let indices = try history.batchIndices(step: t)
        let B = indices.count
        let batch = data.trainingBatch(indices: indices, flips: try history.flips(step: t))
        let scale = Float(coef) / Float(B)
        let offset = state.offset
        // The snapshot of this step's entering gradients (rows n·Sa per snapshot), when snapshots are kept.
        let snapshotBase = options.dataSnapshotInterval.map {
            (t / $0) * result.testCount * result.attributionClassesPerTest * N
        }
        /// Adds scale · scores (Ra, b) of training samples lo..<lo+b to group gi's attribution rows and, when kept, to
        /// the same rows of its snapshot; each score is evaluated once.
        func add(_ gi: Int, lo: Int, b: Int, _ score: (Int, Int) -> Float) {
            func scatter(_ total: UnsafeMutablePointer<Float>, _ snapshot: UnsafeMutablePointer<Float>?) {
                for r in 0..<Ra {
                    let row = (offset + r) * N
                    for j in 0..<b {
                        let at = row + indices[lo + j], value = scale * score(r, j)
                        total[at] += value
                        snapshot?[at] += value
                    }
                }
            }
            result.dataAttribution[gi].values.withMutablePointer { t in
                if let s = snapshotBase {
                    result.dataSnapshots[gi].values.withMutablePointer { scatter(t, $0 + s) }
                } else {
                    scatter(t, nil)
                }
            }
        }
        if projectsTrainingGradients {
            // Backward passes as wide as the test rows' (wider passes run faster than one per projection block,
            // measured on P4: 1.15 against 1.23 s/step, for 0.08 GB more peak memory).
            let K = model.layout.components.count, C = model.classCount
            for lo in stride(from: 0, to: B, by: rowsPerBackwardCall) {
                let hi = min(B, lo + rowsPerBackwardCall), b = hi - lo
                var dOut = Tensor(shape: [b, C])  // one-hot cotangents: g_j = ∇θ f_{y_j}(x_j)
                for j in 0..<b { dOut.storage[j * C + batch.labels[lo + j]] = 1 }
                var dots = [Double](repeating: 0, count: b * Ra * K)  // (b, Ra, K) ⟨g_j[k], Q_r[k]⟩
                state.Q.withPointer { q in
                    state.G.withUnsafeMutableBufferPointer { scratch in
                        dots.withUnsafeMutableBufferPointer { out in
                            _ = model.backward(
                                parameters: thetaT, inputs: batch.inputs.rows(lo..<hi), outputGradients: dOut,
                                into: .perSampleDot(
                                    PerSampleDot(
                                        directions: q, directionCount: Ra, parameterCount: P,
                                        out: out.baseAddress!, componentCount: K, scratch: scratch)))
                        }
                    }
                }
                for (gi, group) in groups.enumerated() {
                    add(gi, lo: lo, b: b) { r, j in
                        Float(group.components.reduce(0.0) { $0 + dots[(j * Ra + r) * K + $1] })
                    }
                }
            }
            return
        }
        let products = ScoreProducts(
            groups: groups.map(\.ranges), rows: Ra, chunk: max(1, state.trainChunk), thinWidth: thinScoreWidth)
        let width = Ra * products.chunk
        if state.partial.count != products.partialCount {
            state.partial = [Float](repeating: 0, count: products.partialCount)
        }
        if state.scores.count != products.scoreCount {
            state.scores = [Float](repeating: 0, count: products.scoreCount)
        }
        for lo in stride(from: 0, to: B, by: state.trainChunk) {
            let hi = min(B, lo + state.trainChunk), b = hi - lo
            state.G.withMutablePointer { g in  // (b, P)
                model.perSampleGradients(
                    parameters: thetaT, inputs: batch.inputs.rows(lo..<hi),
                    classes: Array(batch.labels[lo..<hi]), into: g)
            }
            if products.thin {
                state.Q.withPointer { q in
                    state.G.withPointer { gp in
                        state.partial.withMutablePointer { tp in
                            state.scores.withMutablePointer { sc in
                                products.thinProducts(
                                    q: q, g: gp, parameterCount: P, samples: b, partial: tp, scores: sc)
                            }
                        }
                    }
                }
                state.scores.withPointer { sc in
                    for (gi, members) in products.groupMembers.enumerated() {
                        add(gi, lo: lo, b: b) { r, j in members.reduce(0) { $0 + sc[$1 * width + r * b + j] } }
                    }
                }
            } else {
                for (gi, group) in groups.enumerated() {
                    state.Q.withPointer { q in
                        state.G.withPointer { gp in
                            state.scores.withMutablePointer { sc in
                                products.fatProduct(
                                    q: q, g: gp, parameterCount: P, samples: b, ranges: group.ranges, scores: sc)
                            }
                        }
                    }
                    state.scores.withPointer { sc in add(gi, lo: lo, b: b) { r, j in sc[r * b + j] } }
                }
            }
        }
    }

    /// ρ_t and 1/D_t for step t. AdamW: ρ = λθ_t, D_t = (1 − β1^τ)(√(v_t/(1 − β2^τ)) + ε) with τ = t + 1.
    /// SGD: ρ = R_t from the history, 1/D = 1. Inactive components (no gradient, no optimizer state) get 0.
    func fillRegularizationFeature(
        step t: Int, thetaT: [Float], lambda: Float, active: [Bool],
        rho: inout [Float], invD: inout [Float]
    ) throws {
        let P = rho.count
        let quantity = try history.optimizerQuantity(step: t)
        guard quantity.count == P else {
            throw EPKError.historyMismatch(
                "optimizer quantity of step \(t) has \(quantity.count) values, the model \(P)")
        }
        switch history.optimizer {
        case .sgd:
            for p in 0..<P {
                guard !active[p] || quantity[p].isFinite else {
                    throw EPKError.historyMismatch(
                        "/optimizer/decay_buffer of step \(t) holds \(quantity[p]) at parameter \(p); "
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
                    throw EPKError.historyMismatch(
                        "/optimizer/exp_avg_sq of step \(t) holds \(quantity[p]) at parameter \(p); "
                            + "it must be the optimizer's second moment (a finite value ≥ 0 after the step), see docs/ARTIFACTS.md"
                    )
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

    /// Adds the parameter-level attribution of the attribution rows in `phi` ((R, P), R = tests·S, the test points
    /// `firstTest…` of the chunk) to the current interval's accumulators: (tests of the chunk, P_g), or with `keepRows`
    /// one accumulator row per attribution row, (tests of the chunk · S, P_g).
    func accumulateParameterAttribution(
        group: ResolvedGroup, phi: [Float], delta: [Float], rho: [Float], eta: Float,
        R: Int, S: Int, keepRows: Bool = false, firstTest: Int = 0, kernel: inout [Float], reg: inout [Float]
    ) {
        let P = model.parameterCount, Pg = group.count
        phi.withPointer { ph in
            delta.withPointer { d in
                rho.withPointer { rh in
                    kernel.withMutablePointer { kp in
                        reg.withMutablePointer { rp in
                            Parallel.forEachRange(R / S) { tests in
                                for a in tests {
                                    for s in 0..<S {
                                        let row = ph + (a * S + s) * P
                                        // Destination row: the test point's (its rows summed) or the row's own.
                                        let target = keepRows ? (firstTest + a) * S + s : firstTest + a
                                        var q = 0
                                        for range in group.ranges {
                                            let kdst = kp + target * Pg + q, rdst = rp + target * Pg + q
                                            let src = row + range.lowerBound, dd = d + range.lowerBound,
                                                rr = rh + range.lowerBound
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
                        }
                    }
                }
            }
        }
    }

    func flushParameterAttribution(
        chunk: Range<Int>, step t: Int, kernel: inout [Float], reg: inout [Float],
        result: inout EPKResult
    ) {
        guard var pa = result.parameterAttribution else { return }
        let Pg = pa.parameterCount * pa.rowsPerTest, n = result.testCount
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
