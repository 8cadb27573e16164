import Foundation
import History
import NN
import Tensor

/// The exact-path-kernel engine (docs/METHOD.md §3–§8; reading order in docs/ENGINE.md): replays a recorded history so that
/// f(x; θ_T) = f(x; θ₀) + Σ_t Σ_k [kernel_t,k(x) + reg_t,k(x)], and slices that sum into data, component and
/// training-step attributions.
///
/// Per step t (docs/METHOD.md §3), with Δθ_t = θ_{t+1} − θ_t and φ_t = ∫ J(x; θ_t + αΔθ_t) dα (quadrature):
/// - the regularisation feature ρ_t is λθ_t (AdamW) or the recorded decay buffer R_t (SGD);
/// - reg_t,k = −η_t φ_t[k]·ρ_t[k], and since Δθ_t = (η_t/B) Σ_j F_{j,t} − η_t ρ_t exactly,
///   the kernel part is kernel_t,k = φ_t[k]·(Δθ_t[k] + η_t ρ_t[k]) — no per-sample buffer is needed for it.
///
/// Data attribution uses **reverse accumulation** over steps (docs/METHOD.md §6): sweeping t = T−1 … 0 with
/// Q_t = η_t ψ_t + β Q_{t+1} (ψ = φ for SGD with β = μ; ψ = φ ⊘ D_t for AdamW with β = β1),
/// I(x, c, j) += (coef/B) ⟨g_{j,t}, Q_t⟩ for j ∈ B_t (coef = 1 for SGD, 1 − β1 for AdamW). The state is O(rows·P);
/// there is no N × P per-sample buffer, and the training per-sample gradients of a step are computed once per
/// step for all test points of a chunk. `EPKReference` is the forward formulation with per-sample buffers.
public final class EPKEngine {
    public let model: Model
    public let history: TrainingHistory
    public let data: ReplayData
    public let options: EPKOptions

    public init(model: Model, history: TrainingHistory, data: ReplayData, options: EPKOptions) throws {
        self.model = model; self.history = history; self.data = data; self.options = options
        try EPKEngine.check(model: model, history: history, data: data)
    }

    /// Refuses a history that does not belong to this model or dataset (one line naming the difference).
    public static func check(model: Model, history: TrainingHistory, data: ReplayData) throws {
        let a = model.layout.components, b = history.layout.components
        if a.count != b.count {
            throw EPKError.historyMismatch("model \(model.name) has \(a.count) components, the history \(b.count); pass the history recorded for this model")
        }
        for (m, h) in zip(a, b) where m.name != h.name || m.shape != h.shape {
            throw EPKError.historyMismatch("component \(m.name) \(m.shape) vs history \(h.name) \(h.shape); pass the history recorded for this model")
        }
        if history.trainingCount != data.trainingCount {
            throw EPKError.historyMismatch("history was recorded on \(history.trainingCount) training samples, the data has \(data.trainingCount); use the same dataset and subset")
        }
    }

    /// Runs the decomposition for the given test inputs (n × sample shape) and optional labels.
    public func run(testInputs: Tensor, testLabels: [Int]?) throws -> EPKResult {
        let T = history.stepCount
        let steps = options.steps ?? 0..<T
        let dataGroups = try resolveGroups(options.dataAttributionGroups)
        if steps.lowerBound < 0 || steps.upperBound > T || steps.isEmpty {
            throw EPKError.invalidOptions("steps \(steps) outside the history's 0..<\(T)")
        }
        if !dataGroups.isEmpty && steps != 0..<T {
            throw EPKError.invalidOptions("data attribution needs the full step range (reverse accumulation couples all steps); shard over test points instead")
        }
        if let problem = options.quadrature.problem() { throw EPKError.invalidOptions(problem) }
        let n = testInputs.shape[0], C = model.classCount
        if let labels = testLabels, labels.count != n {
            throw EPKError.invalidOptions("\(labels.count) test labels for \(n) test inputs")
        }
        if options.classes == .target && testLabels == nil {
            throw EPKError.invalidOptions("classes = target needs test labels")
        }
        let paramGroup = try options.parameterAttribution.map { try resolveGroups([ComponentGroup(name: "parameters", components: $0.components)])[0] }

        // Outputs at both ends of the processed range.
        let thetaFirst = try loadParameters(steps.lowerBound)
        let thetaLast = try loadParameters(steps.upperBound)
        let initial = model.forward(parameters: thetaFirst, inputs: testInputs).storage
        let final = model.forward(parameters: thetaLast, inputs: testInputs).storage
        let predicted = (0..<n).map { a in argmax(final, row: a, width: C) }
        let focus = testLabels ?? predicted
        let S: Int
        var rowClasses: [Int] = []
        switch options.classes {
        case .all: S = C; for _ in 0..<n { rowClasses += Array(0..<C) }
        case .target: S = 1; rowClasses = testLabels!
        case .predicted: S = 1; rowClasses = predicted
        }

        let K = model.layout.components.count, N = history.trainingCount
        let Ts = steps.count
        let Sa = options.attributionClasses == .focus ? 1 : S
        let attributionClasses = options.attributionClasses == .focus ? focus : rowClasses
        var result = EPKResult(
            testCount: n, classCount: C, classesPerTest: S, rowClasses: rowClasses,
            attributionClassesPerTest: Sa, attributionRowClasses: attributionClasses, focusClasses: focus,
            componentNames: model.layout.names, steps: steps, initialOutputs: initial, finalOutputs: final,
            kernelByComponent: [Double](repeating: 0, count: n * S * K),
            regularizationByComponent: [Double](repeating: 0, count: n * S * K),
            stepPredicted: [Float](repeating: 0, count: Ts * n * S), stepTruth: [Float](repeating: 0, count: Ts * n * S),
            stepKernelFocus: [Float](repeating: 0, count: Ts * n * K),
            stepRegularizationFocus: [Float](repeating: 0, count: Ts * n * K),
            stepPoints: options.quadrature.refine == nil ? [] : [Int32](repeating: 0, count: Ts * n),
            dataAttribution: dataGroups.map { ($0.name, [Float](repeating: 0, count: n * Sa * N)) },
            parameterAttribution: nil)
        if let pa = options.parameterAttribution, let g = paramGroup {
            let interval = pa.snapshotInterval
            let snapshotSteps = interval.map { iv in Array(stride(from: (steps.lowerBound / iv) * iv, to: steps.upperBound, by: iv)) } ?? []
            result.parameterAttribution = .init(
                components: pa.components, parameterCount: g.count,
                kernelTotal: [Float](repeating: 0, count: n * g.count), regularizationTotal: [Float](repeating: 0, count: n * g.count),
                snapshotInterval: interval, snapshotSteps: snapshotSteps,
                kernelSnapshots: [Float](repeating: 0, count: snapshotSteps.count * n * g.count),
                regularizationSnapshots: [Float](repeating: 0, count: snapshotSteps.count * n * g.count))
        }

        // Memory plan: chunk the test points so φ, Q and the parameter accumulators fit the budget.
        let plan = try memoryPlan(testCount: n)
        let chunks = stride(from: 0, to: n, by: plan.testChunk).map { $0..<min(n, $0 + plan.testChunk) }
        let tolerances = options.quadrature.refine?.tolerances(finalOutputs: final, classes: C, steps: Ts) ?? []
        var done = 0
        for chunk in chunks {
            try sweep(chunk: chunk, testInputs: testInputs, rowClasses: rowClasses, S: S, attributionClasses: attributionClasses,
                      Sa: Sa, focus: focus, steps: steps,
                      dataGroups: dataGroups, paramGroup: paramGroup, trainChunk: plan.trainChunk,
                      basisForFeatures: plan.basisRowsPerTest > 0, tolerances: tolerances,
                      result: &result) {
                done += 1
                self.options.progress?(done, chunks.count * Ts)
            }
        }
        return result
    }

    /// The plan `run` follows for `testCount` test points under these options (executables log it up front).
    public func memoryPlan(testCount n: Int) throws -> MemoryPlan {
        let dataGroups = try resolveGroups(options.dataAttributionGroups)
        let paramCount = try options.parameterAttribution.map { try resolveGroups([ComponentGroup(name: "parameters", components: $0.components)])[0].count } ?? 0
        let S = options.classes == .all ? model.classCount : 1
        let Sa = options.attributionClasses == .focus ? 1 : S
        let needsFeatures = !dataGroups.isEmpty || paramCount > 0
        func plan(basisRows: Int) -> MemoryPlan {
            MemoryPlan(testCount: n, rowsPerTest: Sa, parameterCount: model.parameterCount, trainingCount: history.trainingCount,
                       batchSize: maxBatchSize(options.steps ?? 0..<history.stepCount), dataGroups: dataGroups.count,
                       parameterGroupCount: paramCount, basisRowsPerTest: basisRows, refinement: options.quadrature.refine != nil,
                       budget: options.memoryBudgetBytes)
        }
        let direct = plan(basisRows: 0)
        guard needsFeatures && usesSoftmaxBasis(rowsPerTest: Sa) else { return direct }
        // The basis gradients of materialised rows cost (C − 1)·P floats per test point. They are worth it only when
        // they do not split the test points into more chunks: every chunk recomputes the training per-sample gradients.
        let basis = plan(basisRows: model.classCount - 1)
        func chunks(_ p: MemoryPlan) -> Int { (n + p.testChunk - 1) / p.testChunk }
        return chunks(basis) <= chunks(direct) ? basis : direct
    }

    /// The working-memory plan; `description` is what the executables log.
    public struct MemoryPlan: CustomStringConvertible {
        public let testChunk: Int
        public let trainChunk: Int
        public let bytesPerTestPoint: Int
        public let fixedBytes: Int
        /// C − 1 when materialised rows go through the softmax basis, else 0.
        public let basisRowsPerTest: Int

        public init(testCount: Int, rowsPerTest: Int, parameterCount P: Int, trainingCount N: Int, batchSize: Int,
                    dataGroups: Int, parameterGroupCount: Int, basisRowsPerTest: Int = 0, refinement: Bool = false, budget: Int) {
            // Per test point: φ (S·P) and, with data attribution, Q (S·P); parameter accumulators (3·P_g: total,
            // current interval, reg); data attribution output rows (groups·S·N).
            // Without data or parameter attribution φ is never materialised (per-sample dot products instead).
            self.basisRowsPerTest = basisRowsPerTest
            // Refinement recomputes φ of the refined test points into a second buffer (at most P more per row).
            let phiBytes = parameterGroupCount > 0 || dataGroups > 0 ? P * 4 * (refinement ? 2 : 1) : 0
            let featureBytes = phiBytes + (dataGroups > 0 ? P * 4 : 0)
            let perRow = featureBytes + dataGroups * N * 4 + 64
            // Materialised features through the softmax basis also hold the C − 1 basis gradients of each node.
            bytesPerTestPoint = rowsPerTest * perRow + 3 * parameterGroupCount * 4 + basisRowsPerTest * P * 4
            // Training per-sample gradients: at most a quarter of the budget, at least one row.
            trainChunk = dataGroups > 0 ? max(1, min(batchSize, budget / 4 / max(1, P * 4))) : 0
            fixedBytes = trainChunk * P * 4 + 4 * P * 4
            testChunk = max(1, min(testCount, (budget - fixedBytes) / max(1, bytesPerTestPoint)))
        }

        public var description: String {
            let size = { (b: Int) in b < 1_048_576 ? String(format: "%.1f KiB", Double(b) / 1024) : String(format: "%.1f MiB", Double(b) / 1_048_576) }
            let training = trainChunk > 0 ? "training per-sample gradients in chunks of \(trainChunk)"
                : "no training per-sample gradients held (per-sample dot products)"
            return "memory plan: \(testChunk) test points per chunk (\(size(bytesPerTestPoint)) each), \(training) (\(size(fixedBytes)) fixed)"
        }
    }

    // MARK: - One reverse sweep over the steps for a chunk of test points

    /// Rows of one chunk: validation rows (every selected class, contracted by dot products) and attribution rows
    /// (the classes whose test features φ are materialised for data and parameter attribution).
    private struct ChunkRows {
        let inputs: Tensor          // (nc, ...) test inputs of the chunk
        let rowInputs: Tensor       // (R, ...) inputs replicated per validation row
        let rowClasses: [Int]       // (R) R = nc·S
        let rowsPerTest: Int        // S
        let attributionInputs: Tensor // (Ra, ...)
        let attributionClasses: [Int] // (Ra) Ra = nc·Sa
        let attributionRowsPerTest: Int // Sa
        let focusRow: [Int]         // (nc) validation row of each test point's focus class

        init(inputs: Tensor, rowClasses: [Int], rowsPerTest S: Int, attributionClasses: [Int], attributionRowsPerTest Sa: Int,
             focusRow: [Int]) {
            self.inputs = inputs; self.rowClasses = rowClasses; rowsPerTest = S
            self.attributionClasses = attributionClasses; attributionRowsPerTest = Sa; self.focusRow = focusRow
            rowInputs = inputs.gatherRows((0..<rowClasses.count).map { $0 / S })
            attributionInputs = inputs.gatherRows((0..<attributionClasses.count).map { $0 / Sa })
        }

        /// The rows of the given test points (chunk-local indices), in that order.
        func subset(_ tests: [Int]) -> ChunkRows {
            let S = rowsPerTest, Sa = attributionRowsPerTest
            return ChunkRows(inputs: inputs.gatherRows(tests), rowClasses: tests.flatMap { rowClasses[($0 * S)..<($0 * S + S)] },
                             rowsPerTest: S, attributionClasses: tests.flatMap { attributionClasses[($0 * Sa)..<($0 * Sa + Sa)] },
                             attributionRowsPerTest: Sa, focusRow: [])
        }
    }

    /// One step's fixed quantities for its integral: the endpoints θ_t, θ_{t+1}, the directions Δθ_t and ρ_t, and
    /// how the rows are formed.
    private struct StepIntegral {
        let thetaT: [Float], thetaNext: [Float]
        let delta: [Float], rho: [Float]     // (P) Δθ_t, ρ_t
        let needsFeatures: Bool              // materialise φ_t for the attribution rows
        let dotsFromFeatures: Bool           // validation rows = attribution rows: contract φ_t instead of dot products
        let basisForFeatures: Bool
        let rowsPerCall: Int
    }

    private func sweep(chunk: Range<Int>, testInputs: Tensor, rowClasses: [Int], S: Int, attributionClasses allAttribution: [Int],
                       Sa: Int, focus: [Int], steps: Range<Int>, dataGroups: [ResolvedGroup], paramGroup: ResolvedGroup?,
                       trainChunk: Int, basisForFeatures: Bool, tolerances: [Double], result: inout EPKResult,
                       stepDone: () -> Void) throws {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let N = history.trainingCount
        let nc = chunk.count, R = nc * S, Ra = nc * Sa
        let rowOffset = chunk.lowerBound * S, attributionOffset = chunk.lowerBound * Sa
        let chunkInputs = testInputs.rows(chunk)
        let rows = ChunkRows(inputs: chunkInputs, rowClasses: Array(rowClasses[rowOffset..<(rowOffset + R)]), rowsPerTest: S,
                             attributionClasses: Array(allAttribution[attributionOffset..<(attributionOffset + Ra)]),
                             attributionRowsPerTest: Sa,
                             focusRow: (0..<nc).map { a in S == 1 ? a : a * S + focus[chunk.lowerBound + a] })
        let active = history.activeMask()
        let needsFeatures = !dataGroups.isEmpty || paramGroup != nil
        let dotsFromFeatures = needsFeatures && rows.attributionClasses == rows.rowClasses
        // Rows per backward call bound the activation memory of the replicated inputs.
        let rowsPerCall = max(8, min(4096, 500_000 / max(1, model.inputShape.reduce(1, *))))

        var phi = [Float](repeating: 0, count: needsFeatures ? Ra * P : 0)     // (Ra, P) test features φ_t
        var Q = dataGroups.isEmpty ? [] : [Float](repeating: 0, count: Ra * P) // (Ra, P) reverse accumulator
        var delta = [Float](repeating: 0, count: P)        // (P) Δθ_t
        var rho = [Float](repeating: 0, count: P)          // (P) regularisation feature ρ_t
        var invD = [Float](repeating: 0, count: P)         // (P) 1/D_t (AdamW) or 1 (SGD) on active entries
        var temp = [Float](repeating: 0, count: Ra * max(1, trainChunk))
        var paramCurrent = paramGroup.map { [Float](repeating: 0, count: nc * $0.count) } ?? []
        var paramCurrentReg = paramCurrent

        var thetaNext = try loadParameters(steps.upperBound)
        var outputNext = model.forward(parameters: thetaNext, inputs: chunkInputs).storage
        for t in steps.reversed() {
            let thetaT = try loadParameters(t)
            let eta = try history.learningRate(step: t)
            let lambda = try history.weightDecay(step: t)
            thetaNext.withPointer { t1 in thetaT.withPointer { t0 in delta.withMutablePointer { d in
                for p in 0..<P { d[p] = t1[p] - t0[p] }
            } } }
            try fillRegularizationFeature(step: t, thetaT: thetaT, lambda: lambda, active: active, rho: &rho, invD: &invD)
            let nodes = options.quadrature.nodes(forStep: t)
            let outputT = model.forward(parameters: thetaT, inputs: chunkInputs).storage   // (nc, C)
            let step = StepIntegral(thetaT: thetaT, thetaNext: thetaNext, delta: delta, rho: rho,
                                    needsFeatures: needsFeatures, dotsFromFeatures: dotsFromFeatures,
                                    basisForFeatures: basisForFeatures, rowsPerCall: rowsPerCall)
            var directions = delta + rho                              // (2, P)
            var dots = [Double](repeating: 0, count: R * 2 * K)       // (R, 2, K) per-row [φ·Δθ; φ·ρ] per component
            if needsFeatures { for i in phi.indices { phi[i] = 0 } }
            integrate(step, rows: rows, outputs: outputT, nodes: nodes, directions: &directions, dots: &dots, phi: &phi)

            // Ground truth f(θ_{t+1}) − f(θ_t) of every row; where it shows a (step, test point) integral off by more
            // than the tolerance, that integral is refined.
            let truth = (0..<R).map { r in outputNext[(r / S) * C + rows.rowClasses[r]] - outputT[(r / S) * C + rows.rowClasses[r]] }
            var points = [Int32](repeating: Int32(nodes.nodes.count), count: nc)
            if let refinement = options.quadrature.refine {
                refine(step, maxPoints: refinement.maxPoints, tolerances: Array(tolerances[chunk]), rows: rows, outputs: outputT,
                       basePoints: nodes.nodes.count, truth: truth, directions: &directions, dots: &dots, phi: &phi, points: &points)
            }

            // Totals and the per-component split of the predicted step.
            let stepIndex = t - steps.lowerBound
            let n = result.testCount
            if !result.stepPoints.isEmpty {
                for a in 0..<nc { result.stepPoints[stepIndex * n + chunk.lowerBound + a] = points[a] }
            }
            for r in 0..<R {
                let a = r / S
                var predictedStep = 0.0
                for k in 0..<K {
                    let reg = -Double(eta) * dots[(r * 2 + 1) * K + k]
                    let kernel = dots[r * 2 * K + k] - reg
                    result.kernelByComponent[(rowOffset + r) * K + k] += kernel
                    result.regularizationByComponent[(rowOffset + r) * K + k] += reg
                    predictedStep += kernel + reg
                    if r == rows.focusRow[a] {
                        let at = (stepIndex * n + chunk.lowerBound + a) * K + k
                        result.stepKernelFocus[at] = Float(kernel)
                        result.stepRegularizationFocus[at] = Float(reg)
                    }
                }
                let at = (stepIndex * result.rowCount) + rowOffset + r
                result.stepPredicted[at] = Float(predictedStep)
                result.stepTruth[at] = truth[r]
            }

            // Parameter-level attribution: φ ⊙ (Δθ + ηρ) and −η φ ⊙ ρ, summed over the attribution rows.
            if let g = paramGroup {
                accumulateParameterAttribution(group: g, phi: phi, delta: delta, rho: rho, eta: eta, R: Ra, S: Sa,
                                               kernel: &paramCurrent, reg: &paramCurrentReg)
                let interval = options.parameterAttribution?.snapshotInterval
                let closes = interval.map { t % $0 == 0 } ?? false
                if closes || t == steps.lowerBound {
                    flushParameterAttribution(chunk: chunk, step: t, kernel: &paramCurrent, reg: &paramCurrentReg, result: &result)
                }
            }

            // Reverse accumulation of the data attribution: Q_t = η_t ψ_t + β Q_{t+1}; I += (coef/B) Q_t · g_j.
            if !dataGroups.isEmpty {
                let (beta, coef) = momentumAndCoefficient(step: t)
                Q.withMutablePointer { q in phi.withPointer { ph in invD.withPointer { inv in
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
                for lo in stride(from: 0, to: B, by: trainChunk) {
                    let hi = min(B, lo + trainChunk), b = hi - lo
                    let G = model.perSampleGradients(parameters: thetaT, inputs: batch.inputs.rows(lo..<hi),
                                                     classes: Array(batch.labels[lo..<hi]))
                    for (gi, group) in dataGroups.enumerated() {
                        Q.withPointer { q in G.withPointer { gp in temp.withMutablePointer { tp in
                            for (ci, range) in group.ranges.enumerated() {
                                // temp (Ra, b) (+)= Q[:, range] (Ra, P_k) · G[:, range]ᵀ (P_k, b)
                                BLAS.sgemm(transB: true, m: Ra, n: b, k: range.count, a: q + range.lowerBound, lda: P,
                                           b: gp + range.lowerBound, ldb: P, beta: ci == 0 ? 0 : 1, c: tp, ldc: b)
                            }
                        } } }
                        let scale = Float(coef) / Float(B)
                        result.dataAttribution[gi].values.withMutablePointer { da in
                            for r in 0..<Ra {
                                let dst = da + (attributionOffset + r) * N
                                for j in 0..<b { dst[indices[lo + j]] += scale * temp[r * b + j] }
                            }
                        }
                    }
                }
            }

            thetaNext = thetaT
            outputNext = outputT
            stepDone()
        }
    }

    // MARK: - One step's integral

    /// Adds the integral of one step over `nodes` for the test points of `rows` (their step-start outputs `outputs`,
    /// (nc, C)): the per-row dot products of φ_t with [Δθ_t; ρ_t] into `dots` (R, 2, K), and φ_t itself into `phi`
    /// (Ra, P) when features are needed. φ_t = Σ_i w_i J(θ_t + α_i Δθ_t) is formed only for the attribution rows.
    private func integrate(_ step: StepIntegral, rows: ChunkRows, outputs: [Float], nodes: QuadratureNodes,
                           directions: inout [Float], dots: inout [Double], phi: inout [Float]) {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let S = rows.rowsPerTest, R = rows.rowClasses.count, Ra = rows.attributionClasses.count
        let basisForDots = !step.dotsFromFeatures && usesSoftmaxBasis(rowsPerTest: S)
        let basis = basisForDots || step.basisForFeatures ? SoftmaxBasis(referenceOutputs: outputs, classes: C) : nil
        let rowsPerCall = step.rowsPerCall
        var theta = [Float](repeating: 0, count: P)        // (P) θ_t + αΔθ_t
        for (alpha, weight) in zip(nodes.nodes, nodes.weights) {
            step.thetaT.withPointer { t0 in step.thetaNext.withPointer { t1 in theta.withMutablePointer {
                Vector.interpolate(t0, t1, Float(alpha), $0, count: P) } } }
            // Validation rows: total_k = φ_t[k]·Δθ_t[k] and reg_k = −η_t φ_t[k]·ρ_t[k] as per-sample dot products with
            // [Δθ_t; ρ_t] (φ_t is never formed for them).
            if basisForDots, let basis {
                basisDots(basis, parameters: theta, inputs: rows.inputs, weight: weight, directions: &directions, rowsPerCall: rowsPerCall,
                          rowClasses: rows.rowClasses, rowsPerTest: S, into: &dots)
            } else if !step.dotsFromFeatures {
                for part in stride(from: 0, to: R, by: rowsPerCall).map({ $0..<min(R, $0 + rowsPerCall) }) {
                    let cot = cotangent(part, classes: rows.rowClasses, weight: weight)
                    directions.withMutablePointer { v in dots.withUnsafeMutableBufferPointer { out in
                        _ = model.backward(parameters: theta, inputs: rows.rowInputs.rows(part), outputGradients: cot,
                                           into: .perSampleDot(PerSampleDot(directions: v, directionCount: 2, parameterCount: P,
                                                                            out: out.baseAddress! + part.lowerBound * 2 * K, componentCount: K)))
                    } }
                }
            }
            // Attribution rows: materialise φ_t (Ra, P) for data and parameter attribution.
            if step.basisForFeatures, let basis {
                basisFeatures(basis, parameters: theta, inputs: rows.inputs, weight: weight, rowsPerCall: rowsPerCall,
                              rowClasses: rows.attributionClasses, rowsPerTest: rows.attributionRowsPerTest, into: &phi)
            } else if step.needsFeatures {
                for part in stride(from: 0, to: Ra, by: rowsPerCall).map({ $0..<min(Ra, $0 + rowsPerCall) }) {
                    let cot = cotangent(part, classes: rows.attributionClasses, weight: weight)
                    phi.withMutablePointer { _ = model.backward(parameters: theta, inputs: rows.attributionInputs.rows(part),
                                                                outputGradients: cot, into: .perSample($0 + part.lowerBound * P, rowStride: P)) }
                }
            }
        }

        // When the attribution rows are the validation rows, φ_t is already materialised: contract it with
        // Δθ_t and ρ_t directly (saves one backward pass per row and node).
        if step.dotsFromFeatures {
            let components = model.layout.components
            phi.withPointer { ph in step.delta.withPointer { d in step.rho.withPointer { rh in dots.withUnsafeMutableBufferPointer { out in
                Parallel.forEachRange(R) { range in
                    for r in range {
                        let row = ph + r * P
                        for (k, component) in components.enumerated() {
                            var sd = 0.0, sr = 0.0
                            for p in component.range { sd += Double(row[p] * d[p]); sr += Double(row[p] * rh[p]) }
                            out[(r * 2) * K + k] += sd
                            out[(r * 2 + 1) * K + k] += sr
                        }
                    }
                }
            } } } }
        }
    }

    /// Residual-driven refinement (`QuadratureRefinement`): while a test point's step residual
    /// max_s |Σ_k φ_t[k]·Δθ_t[k] − truth| exceeds its tolerance (`tolerances`, (nc)), its integral for this step is
    /// recomputed with three times the points (Σ_{3n} = keep·Σ_n + Σ_added), replacing its rows of `dots` and `phi`;
    /// `points` (nc) records the rule each test point ends with. Stops at the last rule within `maxPoints`.
    private func refine(_ step: StepIntegral, maxPoints: Int, tolerances: [Double], rows: ChunkRows, outputs: [Float], basePoints: Int,
                        truth: [Float], directions: inout [Float], dots: inout [Double], phi: inout [Float], points: inout [Int32]) {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let S = rows.rowsPerTest, Sa = rows.attributionRowsPerTest, width = 2 * K
        func residual(_ a: Int) -> Double {
            (0..<S).map { s in
                let r = a * S + s
                return abs((0..<K).reduce(0.0) { $0 + dots[r * width + $1] } - Double(truth[r]))
            }.max() ?? 0
        }
        var n = basePoints
        var pending = (0..<(rows.rowClasses.count / S)).filter { residual($0) > tolerances[$0] }
        while !pending.isEmpty && 3 * n <= maxPoints {
            let (keep, added) = QuadratureNodes.tripling(rule: options.quadrature.rule, points: n)
            let sub = rows.subset(pending)
            var subDots = [Double](repeating: 0, count: pending.count * S * width)
            var subPhi = [Float](repeating: 0, count: step.needsFeatures ? pending.count * Sa * P : 0)
            let subOutputs = pending.flatMap { outputs[($0 * C)..<($0 * C + C)] }
            integrate(step, rows: sub, outputs: subOutputs, nodes: added, directions: &directions, dots: &subDots, phi: &subPhi)
            n *= 3
            for (i, a) in pending.enumerated() {
                for j in 0..<(S * width) { dots[a * S * width + j] = keep * dots[a * S * width + j] + subDots[i * S * width + j] }
                if step.needsFeatures {
                    phi.withMutablePointer { ph in subPhi.withPointer { sp in
                        let dst = ph + a * Sa * P, src = sp + i * Sa * P
                        for p in 0..<(Sa * P) { dst[p] = Float(keep) * dst[p] + src[p] }
                    } }
                }
                points[a] = Int32(n)
            }
            pending = pending.filter { residual($0) > tolerances[$0] }
        }
    }

    // MARK: - Rank-(C−1) softmax basis

    /// Whether a test point's rows are cheaper through the softmax basis: C − 1 backward rows instead of one per
    /// requested class. Internal so tests can compare both paths.
    var softmaxBasisEnabled = true

    func usesSoftmaxBasis(rowsPerTest: Int) -> Bool {
        softmaxBasisEnabled && model.classCount >= 2 && rowsPerTest > model.classCount - 1
    }

    /// The log-softmax Jacobian has rank C − 1, so the C rows ∇_θ log p_c of a test point are combinations of C − 1
    /// backward passes. A cotangent u on the log-probabilities reaches the logits as u − p·Σu, so the basis seed
    /// u_c = e_c − e_m (Σ = 0) is the logit seed e_c − e_m, and the wanted logit seed e_c − p is
    /// (e_c − e_m) − Σ_{k≠m} p_k (e_k − e_m). Hence, with D_c the backward result of seed u_c (D_m = 0),
    ///     row_c = D_c − Σ_{k≠m} p_k D_k,
    /// which holds for per-sample gradients and per-sample dot products alike because both are linear in the seed.
    /// The reference class m is the most probable one at the step's start, so no coefficient 1 − p_m ≈ 0 is
    /// formed by cancellation; p at each node comes from the basis rows' own forward passes. For C = 2 this halves
    /// the backward passes of all-class rows.
    struct SoftmaxBasis {
        let classCount: Int
        let reference: [Int]       // (nc) m_a
        let rowTest: [Int]         // (nc·(C−1)) test point of each basis row
        let rowClass: [Int]        // (nc·(C−1)) class c ≠ m_a of each basis row

        /// Basis rows with m_a = the most probable class at the step's start θ_t (`referenceOutputs`, (nc, C)
        /// log-probabilities). Within one step the top class rarely changes; where it does, no class is near
        /// probability 1, so the combination cannot cancel badly.
        init(referenceOutputs logp: [Float], classes C: Int) {
            classCount = C
            let nc = logp.count / C
            reference = (0..<nc).map { argmax(logp, row: $0, width: C) }
            var tests: [Int] = [], classes: [Int] = []
            for a in 0..<nc { for c in 0..<C where c != reference[a] { tests.append(a); classes.append(c) } }
            rowTest = tests; rowClass = classes
        }

        /// (nc, C) probabilities at the node from the log-probabilities the backward passes of the basis rows
        /// return ((Rb, C)): every basis row of test a carries the same forward pass, so its first row is used
        /// (no separate forward pass at the node).
        func probabilities(fromRowOutputs logp: [Float], testCount nc: Int) -> [Float] {
            let C = classCount
            var p = [Float](repeating: 0, count: nc * C)
            for a in 0..<nc { for c in 0..<C { p[a * C + c] = Foundation.exp(logp[a * (C - 1) * C + c]) } }
            return p
        }

        var rowCount: Int { rowTest.count }

        /// Basis row of (test a, class c ≠ m_a).
        func row(test a: Int, class c: Int) -> Int { a * (classCount - 1) + (c < reference[a] ? c : c - 1) }

        /// (rows, C) cotangents weight·(e_c − e_m) of the given basis rows.
        func cotangent(_ rows: Range<Int>, weight: Double) -> Tensor {
            let C = classCount
            var cot = Tensor(shape: [rows.count, C])
            for (i, r) in rows.enumerated() {
                cot.storage[i * C + rowClass[r]] = Float(weight)
                cot.storage[i * C + reference[rowTest[r]]] = -Float(weight)
            }
            return cot
        }
    }

    /// Runs the backward passes of all basis rows at one node, `rowsPerCall` rows per call, each part into the sink
    /// `sink(part)`, and returns the node's (nc, C) probabilities from the log-probabilities those passes return.
    private func backwardBasisRows(_ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
                                   rowsPerCall: Int, sink: (Range<Int>) -> GradientSink) -> [Float] {
        let C = model.classCount, Rb = basis.rowCount
        var rowOutputs = [Float](repeating: 0, count: Rb * C)       // (Rb, C) log-probabilities at the node
        for part in stride(from: 0, to: Rb, by: rowsPerCall).map({ $0..<min(Rb, $0 + rowsPerCall) }) {
            let logp = model.backward(parameters: theta, inputs: inputs.gatherRows(Array(basis.rowTest[part])),
                                      outputGradients: basis.cotangent(part, weight: weight), into: sink(part))
            rowOutputs.replaceSubrange((part.lowerBound * C)..<(part.upperBound * C), with: logp.storage)
        }
        return basis.probabilities(fromRowOutputs: rowOutputs, testCount: inputs.shape[0])
    }

    /// Adds one node's per-sample dot products of the requested rows (R = nc·S, classes `rowClasses`) to `dots`
    /// (R, 2, K) through the softmax basis.
    private func basisDots(_ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
                           directions: inout [Float], rowsPerCall: Int, rowClasses: [Int], rowsPerTest S: Int,
                           into dots: inout [Double]) {
        let P = model.parameterCount, K = model.layout.components.count, C = model.classCount
        let Rb = basis.rowCount, width = 2 * K
        var basisDots = [Double](repeating: 0, count: Rb * width)   // (Rb, 2, K)
        let probabilities = directions.withMutablePointer { v in basisDots.withUnsafeMutableBufferPointer { out in
            backwardBasisRows(basis, parameters: theta, inputs: inputs, weight: weight, rowsPerCall: rowsPerCall) { part in
                .perSampleDot(PerSampleDot(directions: v, directionCount: 2, parameterCount: P,
                                           out: out.baseAddress! + part.lowerBound * width, componentCount: K))
            }
        } }
        let nc = inputs.shape[0]
        var mixed = [Double](repeating: 0, count: width)          // Σ_{k≠m} p_k D_k
        for a in 0..<nc {
            for j in 0..<width { mixed[j] = 0 }
            for c in 0..<C where c != basis.reference[a] {
                let pk = Double(probabilities[a * C + c]), src = basis.row(test: a, class: c) * width
                for j in 0..<width { mixed[j] += pk * basisDots[src + j] }
            }
            for s in 0..<S {
                let r = a * S + s, c = rowClasses[r]
                let src = c == basis.reference[a] ? nil : basis.row(test: a, class: c) * width
                for j in 0..<width { dots[r * width + j] += (src.map { basisDots[$0 + j] } ?? 0) - mixed[j] }
            }
        }
    }

    /// Adds one node's test features of the requested rows (Ra = nc·Sa, classes `rowClasses`) to `phi` (Ra, P)
    /// through the softmax basis.
    private func basisFeatures(_ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
                               rowsPerCall: Int, rowClasses: [Int], rowsPerTest S: Int, into phi: inout [Float]) {
        let P = model.parameterCount, C = model.classCount, Rb = basis.rowCount
        var rows = [Float](repeating: 0, count: Rb * P)             // (Rb, P) basis gradients D
        let probabilities = rows.withMutablePointer { d in
            backwardBasisRows(basis, parameters: theta, inputs: inputs, weight: weight, rowsPerCall: rowsPerCall) { part in
                .perSample(d + part.lowerBound * P, rowStride: P)
            }
        }
        let nc = inputs.shape[0]
        rows.withPointer { d in phi.withMutablePointer { ph in
            Parallel.forEachRange(nc) { tests in
                let mixed = UnsafeMutablePointer<Float>.allocate(capacity: P)   // Σ_{k≠m} p_k D_k
                defer { mixed.deallocate() }
                for a in tests {
                    mixed.initialize(repeating: 0, count: P)
                    for c in 0..<C where c != basis.reference[a] {
                        Vector.addScaled(d + basis.row(test: a, class: c) * P, probabilities[a * C + c], into: mixed, count: P)
                    }
                    for s in 0..<S {
                        let r = a * S + s, c = rowClasses[r], dst = ph + r * P
                        if c != basis.reference[a] { Vector.addScaled(d + basis.row(test: a, class: c) * P, 1, into: dst, count: P) }
                        Vector.addScaled(mixed, -1, into: dst, count: P)
                    }
                }
            }
        } }
    }

    // MARK: - Pieces

    /// (rows, C) one-hot cotangent at each row's class, scaled by the quadrature weight.
    private func cotangent(_ rows: Range<Int>, classes: [Int], weight: Double) -> Tensor {
        let C = model.classCount
        var cot = Tensor(shape: [rows.count, C])
        for (i, r) in rows.enumerated() { cot.storage[i * C + classes[r]] = Float(weight) }
        return cot
    }

    /// ρ_t and 1/D_t for step t. AdamW: ρ = λθ_t, D_t = (1 − β1^τ)(√(v_t/(1 − β2^τ)) + ε) with τ = t + 1.
    /// SGD: ρ = R_t from the history, 1/D = 1. Inactive components (no gradient, no optimizer state) get 0.
    private func fillRegularizationFeature(step t: Int, thetaT: [Float], lambda: Float, active: [Bool],
                                           rho: inout [Float], invD: inout [Float]) throws {
        let P = rho.count
        let quantity = try history.optimizerQuantity(step: t)
        guard quantity.count == P else {
            throw EPKError.historyMismatch("optimizer quantity of step \(t) has \(quantity.count) values, the model \(P)")
        }
        switch history.optimizer {
        case .sgd:
            for p in 0..<P { rho[p] = active[p] ? quantity[p] : 0; invD[p] = active[p] ? 1 : 0 }
        case .adamw(let b1, let b2, let eps, _):
            let tau = Double(t + 1)
            let c1 = 1 - Foundation.pow(b1, tau), c2 = 1 - Foundation.pow(b2, tau)
            for p in 0..<P {
                guard active[p] else { rho[p] = 0; invD[p] = 0; continue }
                rho[p] = lambda * thetaT[p]
                let d = c1 * ((Double(quantity[p]) / c2).squareRoot() + eps)
                invD[p] = Float(1 / d)
            }
        }
    }

    /// (β, coef_t) of the reverse recursion: SGD (μ, 1 − dampening, but 1 at step 0 where PyTorch initialises the
    /// buffer with the undampened gradient), AdamW (β1, 1 − β1).
    private func momentumAndCoefficient(step t: Int) -> (Float, Double) {
        switch history.optimizer {
        case .sgd(let mu, let dampening, _): return (Float(mu), t == 0 ? 1 : 1 - dampening)
        case .adamw(let b1, _, _, _): return (Float(b1), 1 - b1)
        }
    }

    private func accumulateParameterAttribution(group: ResolvedGroup, phi: [Float], delta: [Float], rho: [Float], eta: Float,
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

    private func flushParameterAttribution(chunk: Range<Int>, step t: Int, kernel: inout [Float], reg: inout [Float],
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

    struct ResolvedGroup {
        let name: String
        let ranges: [Range<Int>]
        var count: Int { ranges.reduce(0) { $0 + $1.count } }
    }

    private func resolveGroups(_ groups: [ComponentGroup]) throws -> [ResolvedGroup] {
        try groups.map { g in
            ResolvedGroup(name: g.name, ranges: try g.components.map { name in
                guard let c = model.layout.component(named: name) else {
                    throw EPKError.invalidOptions("group \(g.name): unknown component \(name) (model components: \(model.layout.names.joined(separator: ", ")))")
                }
                return c.range
            })
        }
    }

    private func loadParameters(_ checkpoint: Int) throws -> [Float] {
        let theta = try history.parameters(at: checkpoint)
        guard theta.count == model.parameterCount else {
            throw EPKError.historyMismatch("checkpoint \(checkpoint) has \(theta.count) parameters, the model \(model.parameterCount)")
        }
        return theta
    }

    private func maxBatchSize(_ steps: Range<Int>) -> Int {
        (try? history.batchIndices(step: steps.lowerBound).count) ?? 1
    }
}

func argmax(_ values: [Float], row: Int, width: Int) -> Int {
    var best = 0
    for c in 1..<width where values[row * width + c] > values[row * width + best] { best = c }
    return best
}
