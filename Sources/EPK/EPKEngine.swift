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
    /// Whether a test point's rows may go through the softmax basis (C − 1 backward rows instead of one per
    /// requested class). Internal so tests can compare both paths.
    var softmaxBasisEnabled = true
    /// Score products ⟨Q, g_j⟩ at most this wide (Ra × training chunk) are **thin**: they are split over the threads
    /// along the parameters in pieces of at most `ScoreProducts.pieceSize` (an even split whatever the component sizes, and a
    /// summation order that does not depend on the thread count), and each distinct component is scored once even
    /// when several groups share it (like "model"). Wider products are fat enough for `BLAS.sgemm`'s own split.
    /// Internal so tests can compare both paths.
    var thinScoreWidth = ScoreProducts.defaultThinWidth
    /// Whether the data attribution scores training samples inside the backward pass, each layer projecting its
    /// per-sample gradients onto the rows of Q (`ComponentProjection`), instead of holding whole per-sample gradient
    /// rows for `ScoreProducts`: the model's `projectsPerSampleDots`. Internal so tests can compare both paths.
    var projectsTrainingGradients: Bool

    public init(model: Model, history: TrainingHistory, data: ReplayData, options: EPKOptions) throws {
        self.model = model; self.history = history; self.data = data; self.options = options
        projectsTrainingGradients = model.projectsPerSampleDots
        try EPKEngine.check(model: model, history: history, data: data)
    }

    /// Refuses a history that does not belong to this model or dataset (one line naming the difference).
    public static func check(model: Model, history: TrainingHistory, data: ReplayData) throws {
        let a = model.layout.components, b = history.layout.components
        if a.count != b.count {
            throw EPKError.historyMismatch(
                "model \(model.name) has \(a.count) components, the history \(b.count); pass the history recorded for this model"
            )
        }
        for (m, h) in zip(a, b) where m.name != h.name || m.shape != h.shape {
            throw EPKError.historyMismatch(
                "component \(m.name) \(m.shape) vs history \(h.name) \(h.shape); pass the history recorded for this model"
            )
        }
        if history.trainingCount != data.trainingCount {
            throw EPKError.historyMismatch(
                "history was recorded on \(history.trainingCount) training samples, the data has \(data.trainingCount); use the same dataset and subset"
            )
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
            throw EPKError.invalidOptions(
                "data attribution needs the full step range (reverse accumulation couples all steps); shard over test points instead"
            )
        }
        if let problem = options.quadrature.problem() { throw EPKError.invalidOptions(problem) }
        if let interval = options.dataSnapshotInterval {
            if interval < 1 { throw EPKError.invalidOptions("data snapshot interval \(interval): expected ≥ 1 step") }
            if dataGroups.isEmpty { throw EPKError.invalidOptions("data snapshots need data attribution groups") }
        }
        let n = testInputs.shape[0], C = model.classCount
        if let labels = testLabels, labels.count != n {
            throw EPKError.invalidOptions("\(labels.count) test labels for \(n) test inputs")
        }
        if options.classes == .target && testLabels == nil {
            throw EPKError.invalidOptions("classes = target needs test labels")
        }
        let paramGroup = try options.parameterAttribution.map {
            try resolveGroups([ComponentGroup(name: "parameters", components: $0.components)])[0]
        }

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
            stepPredicted: [Float](repeating: 0, count: Ts * n * S),
            stepTruth: [Float](repeating: 0, count: Ts * n * S),
            stepKernelFocus: [Float](repeating: 0, count: Ts * n * K),
            stepRegularizationFocus: [Float](repeating: 0, count: Ts * n * K),
            stepPoints: options.quadrature.refine == nil ? [] : [Int32](repeating: 0, count: Ts * n),
            dataAttribution: dataGroups.map { ($0.name, [Float](repeating: 0, count: n * Sa * N)) },
            parameterAttribution: nil)
        if let interval = options.dataSnapshotInterval {
            result.dataSnapshotStarts = Array(stride(from: 0, to: T, by: interval))
            let bytes = dataGroups.count * result.dataSnapshotStarts.count * n * Sa * N * MemoryLayout<Float>.size
            if bytes > options.memoryBudgetBytes {
                throw EPKError.invalidOptions(
                    "data snapshots every \(interval) steps need \(bytes >> 20) MiB (\(result.dataSnapshotStarts.count) snapshots × \(n * Sa) rows × \(N) samples × \(dataGroups.count) groups), more than the memory budget; raise the interval or the budget"
                )
            }
            result.dataSnapshots = dataGroups.map {
                ($0.name, [Float](repeating: 0, count: result.dataSnapshotStarts.count * n * Sa * N))
            }
        }
        if let pa = options.parameterAttribution, let g = paramGroup {
            let interval = pa.snapshotInterval
            let snapshotSteps =
                interval.map { iv in Array(stride(from: (steps.lowerBound / iv) * iv, to: steps.upperBound, by: iv)) }
                ?? []
            let rowsPerTest = pa.rowsKept(perTestOf: Sa)
            let rows = n * rowsPerTest
            result.parameterAttribution = .init(
                components: pa.components, parameterCount: g.count, rowsPerTest: rowsPerTest,
                kernelTotal: [Float](repeating: 0, count: rows * g.count),
                regularizationTotal: [Float](repeating: 0, count: rows * g.count),
                snapshotInterval: interval, snapshotSteps: snapshotSteps,
                kernelSnapshots: [Float](repeating: 0, count: snapshotSteps.count * rows * g.count),
                regularizationSnapshots: [Float](repeating: 0, count: snapshotSteps.count * rows * g.count))
        }

        // Memory plan: chunk the test points so φ, Q and the parameter accumulators fit the budget.
        let plan = try memoryPlan(testCount: n)
        let chunks = stride(from: 0, to: n, by: plan.testChunk).map { $0..<min(n, $0 + plan.testChunk) }
        let tolerances = options.quadrature.refine?.tolerances(finalOutputs: final, classes: C, steps: Ts) ?? []
        var done = 0
        let needsFeatures = !dataGroups.isEmpty || paramGroup != nil
        let sweepPlan = SweepPlan(
            testInputs: testInputs, rowClasses: rowClasses, classesPerTest: S,
            attributionClasses: attributionClasses, attributionClassesPerTest: Sa, focus: focus,
            steps: steps, dataGroups: dataGroups, parameterGroup: paramGroup,
            trainChunk: plan.trainChunk, featureBlock: plan.featureBlock,
            featurePath: !needsFeatures ? .none : plan.basisRowsPerTest > 0 ? .softmaxBasis : .perSample,
            tolerances: tolerances)
        for chunk in chunks {
            try sweep(chunk: chunk, sweepPlan, result: &result) {
                done += 1
                self.options.progress?(done, chunks.count * Ts)
            }
        }
        return result
    }

    /// Everything a sweep needs that is fixed for the whole run (the chunk of test points varies).
    struct SweepPlan {
        let testInputs: Tensor  // (n, ...)
        let rowClasses: [Int]  // (n·S) classes of the validation rows
        let classesPerTest: Int  // S
        let attributionClasses: [Int]  // (n·Sa) classes whose features φ are materialised
        let attributionClassesPerTest: Int  // Sa
        let focus: [Int]  // (n) focus class of each test point
        let steps: Range<Int>
        let dataGroups: [ResolvedGroup]
        let parameterGroup: ResolvedGroup?
        let trainChunk: Int  // training per-sample gradient rows per product
        let featureBlock: Int  // test points whose φ is formed at once (streamed into Q when < chunk)
        let featurePath: FeaturePath
        let tolerances: [Double]  // (n) refinement tolerances, empty without refinement
    }

    /// One reverse sweep t = T−1 … 0 over the steps for a chunk of test points: per step the integral and its
    /// refinement, the totals and per-step diagnostics, then parameter and data attribution.
    private func sweep(chunk: Range<Int>, _ plan: SweepPlan, result: inout EPKResult, stepDone: () -> Void) throws {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let S = plan.classesPerTest, Sa = plan.attributionClassesPerTest, steps = plan.steps
        let nc = chunk.count, R = nc * S, Ra = nc * Sa
        let rowOffset = chunk.lowerBound * S, attributionOffset = chunk.lowerBound * Sa
        let chunkInputs = plan.testInputs.rows(chunk)
        let rows = ChunkRows(
            inputs: chunkInputs, rowClasses: Array(plan.rowClasses[rowOffset..<(rowOffset + R)]),
            classesPerTest: S,
            attributionClasses: Array(plan.attributionClasses[attributionOffset..<(attributionOffset + Ra)]),
            attributionClassesPerTest: Sa,
            focusRow: (0..<nc).map { a in S == 1 ? a : a * S + plan.focus[chunk.lowerBound + a] })
        let active = history.activeMask()
        let dotPath: DotPath =
            plan.featurePath != .none && rows.attributionClasses == rows.rowClasses
            ? .contractFeatures : usesSoftmaxBasis(classesPerTest: S) ? .softmaxBasis : .perSampleDots

        // Test features φ_t of `block` test points at a time, (block·Sa, P): the whole chunk unless the memory plan
        // streams them into Q (then parameter attribution and Q are updated block by block, before the training pass).
        let block = max(1, min(nc, plan.featureBlock))
        var phi = [Float](repeating: 0, count: plan.featurePath != .none ? block * Sa * P : 0)
        var dataState =
            plan.dataGroups.isEmpty
            ? nil
            : DataAttributionState(
                rows: Ra, rowFloats: trainingRowFloats, trainChunk: plan.trainChunk, offset: attributionOffset,
                parameterCount: P)
        var delta = [Float](repeating: 0, count: P)  // (P) Δθ_t
        var rho = [Float](repeating: 0, count: P)  // (P) regularisation feature ρ_t
        var invD = [Float](repeating: 0, count: P)  // (P) 1/D_t (AdamW) or 1 (SGD) on active entries
        let paramRowsPerTest = options.parameterAttribution?.rowsKept(perTestOf: Sa) ?? 1
        var paramCurrent =
            plan.parameterGroup.map { [Float](repeating: 0, count: nc * paramRowsPerTest * $0.count) } ?? []
        var paramCurrentReg = paramCurrent

        var thetaNext = try loadParameters(steps.upperBound)
        var outputNext = model.forward(parameters: thetaNext, inputs: chunkInputs).storage
        for t in steps.reversed() {
            let thetaT = try loadParameters(t)
            let eta = try history.learningRate(step: t)
            let lambda = try history.weightDecay(step: t)
            thetaNext.withPointer { t1 in
                thetaT.withPointer { t0 in
                    delta.withMutablePointer { d in
                        for p in 0..<P { d[p] = t1[p] - t0[p] }
                    }
                }
            }
            try fillRegularizationFeature(
                step: t, thetaT: thetaT, lambda: lambda, active: active, rho: &rho, invD: &invD)
            let nodes = options.quadrature.nodes(forStep: t)
            let outputT = model.forward(parameters: thetaT, inputs: chunkInputs).storage  // (nc, C)
            let step = StepIntegral(
                thetaT: thetaT, thetaNext: thetaNext, delta: delta, rho: rho,
                dotPath: dotPath, featurePath: plan.featurePath, rowsPerCall: rowsPerBackwardCall)
            var directions = delta + rho  // (2, P)
            var dots = [Double](repeating: 0, count: R * 2 * K)  // (R, 2, K) per-row [φ·Δθ; φ·ρ] per component
            // Ground truth f(θ_{t+1}) − f(θ_t) of every row; where it shows a (step, test point) integral off by more
            // than the tolerance, that integral is refined.
            let truth = (0..<R).map { r in
                outputNext[(r / S) * C + rows.rowClasses[r]] - outputT[(r / S) * C + rows.rowClasses[r]]
            }
            var points = [Int32](repeating: Int32(nodes.nodes.count), count: nc)
            let (beta, _) = momentumAndCoefficient(step: t)
            for lo in stride(from: 0, to: nc, by: block) {
                let hi = min(nc, lo + block), width = 2 * K
                let sub = lo == 0 && hi == nc ? rows : rows.subset(Array(lo..<hi))
                let subOutputs = Array(outputT[(lo * C)..<(hi * C)])
                var subDots = [Double](repeating: 0, count: (hi - lo) * S * width)
                var subPoints = [Int32](repeating: Int32(nodes.nodes.count), count: hi - lo)
                phi.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                integrate(
                    step, rows: sub, outputs: subOutputs, nodes: nodes, directions: &directions, dots: &subDots,
                    phi: &phi)
                if let refinement = options.quadrature.refine {
                    refine(
                        step, maxPoints: refinement.maxPoints,
                        tolerances: Array(plan.tolerances[(chunk.lowerBound + lo)..<(chunk.lowerBound + hi)]),
                        rows: sub, outputs: subOutputs, basePoints: nodes.nodes.count,
                        truth: Array(truth[(lo * S)..<(hi * S)]),
                        directions: &directions, dots: &subDots, phi: &phi, points: &subPoints)
                }
                dots.replaceSubrange((lo * S * width)..<(hi * S * width), with: subDots)
                points.replaceSubrange(lo..<hi, with: subPoints)
                // Parameter-level attribution: φ ⊙ (Δθ + ηρ) and −η φ ⊙ ρ, summed over the attribution rows.
                if let g = plan.parameterGroup {
                    accumulateParameterAttribution(
                        group: g, phi: phi, delta: delta, rho: rho, eta: eta, R: (hi - lo) * Sa, S: Sa,
                        keepRows: paramRowsPerTest > 1, firstTest: lo, kernel: &paramCurrent, reg: &paramCurrentReg)
                }
                if dataState != nil {
                    dataState!.accumulate(phi: phi, rows: (lo * Sa)..<(hi * Sa), eta: eta, beta: beta, invD: invD)
                }
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

            if plan.parameterGroup != nil {
                let interval = options.parameterAttribution?.snapshotInterval
                let closes = interval.map { t % $0 == 0 } ?? false
                if closes || t == steps.lowerBound {
                    flushParameterAttribution(
                        chunk: chunk, step: t, kernel: &paramCurrent, reg: &paramCurrentReg, result: &result)
                }
            }

            if dataState != nil {
                try accumulateDataAttribution(
                    step: t, thetaT: thetaT, groups: plan.dataGroups, state: &dataState!, result: &result)
            }

            thetaNext = thetaT
            outputNext = outputT
            stepDone()
        }
    }

    struct ResolvedGroup {
        let name: String
        let ranges: [Range<Int>]
        /// Layout indices of the components, in the order of `ranges`.
        let components: [Int]
        var count: Int { ranges.reduce(0) { $0 + $1.count } }
    }

    /// Rows per backward call: bounds the activation memory of the replicated inputs.
    var rowsPerBackwardCall: Int { max(8, min(4096, 500_000 / max(1, model.inputShape.reduce(1, *)))) }

    /// Floats of one training row the data attribution holds: a whole per-sample gradient (P), or when projecting
    /// (`projectsTrainingGradients`) one sample's gradient of the largest component.
    var trainingRowFloats: Int {
        projectsTrainingGradients ? model.layout.components.map(\.count).max() ?? 1 : model.parameterCount
    }

    func resolveGroups(_ groups: [ComponentGroup]) throws -> [ResolvedGroup] {
        try groups.map { g in
            let components = try g.components.map { name in
                guard let c = model.layout.component(named: name) else {
                    throw EPKError.invalidOptions(
                        "group \(g.name): unknown component \(name) (model components: \(model.layout.names.joined(separator: ", ")))"
                    )
                }
                return c
            }
            return ResolvedGroup(name: g.name, ranges: components.map(\.range), components: components.map(\.index))
        }
    }

    func loadParameters(_ checkpoint: Int) throws -> [Float] {
        let theta = try history.parameters(at: checkpoint)
        guard theta.count == model.parameterCount else {
            throw EPKError.historyMismatch(
                "checkpoint \(checkpoint) has \(theta.count) parameters, the model \(model.parameterCount)")
        }
        return theta
    }

    func maxBatchSize(_ steps: Range<Int>) -> Int {
        (try? history.batchIndices(step: steps.lowerBound).count) ?? 1
    }
}
