import Foundation
import History
import NN
import Tensor

/// The forward formulation of the EPK with explicit per-sample optimizer buffers (docs/METHOD.md §4, §5, §6), in Float64.
///
/// It keeps an N × P buffer per run, so it is only for small problems and tests: it is the independent reference
/// the reverse-accumulation engine is checked against. Every quantity is rebuilt from the history's parameters,
/// batches, learning rates and (AdamW) second moments; the SGD decay buffer R_t is re-derived here by its own
/// recursion rather than read from the history.
public enum EPKReference {
    /// Runs the decomposition over all steps with all classes as rows (S = C) and one data-attribution group
    /// per entry of `groups` (default: one group holding every component).
    public static func run(
        model: Model, history: TrainingHistory, data: ReplayData, testInputs: Tensor,
        quadrature: QuadratureConfig, groups: [ComponentGroup]? = nil
    ) throws -> EPKResult {
        try EPKEngine.check(model: model, history: history, data: data)
        if quadrature.refine != nil {
            throw EPKError.invalidOptions(
                "the forward reference uses fixed rules; drop quadrature.refine (the engine supports it)")
        }
        let n = testInputs.shape[0], C = model.classCount, P = model.parameterCount, N = history.trainingCount
        let comps = model.layout.components, K = comps.count, T = history.stepCount, R = n * C
        let groups = groups ?? [ComponentGroup(name: "all", components: model.layout.names)]
        let groupRanges = groups.map { g in g.components.map { model.layout.component(named: $0)!.range } }
        let active = history.activeMask()
        let theta0 = try history.parameters(at: 0), thetaEnd = try history.parameters(at: T)
        let initial = model.forward(parameters: theta0, inputs: testInputs).storage
        let final = model.forward(parameters: thetaEnd, inputs: testInputs).storage

        var buffers = [Double](repeating: 0, count: N * P)  // (N, P) per-sample first-moment buffers A_j / M_j
        var decay = [Double](repeating: 0, count: P)  // (P) SGD R_t
        var kernel = [Double](repeating: 0, count: R * K), reg = [Double](repeating: 0, count: R * K)
        var stepPredicted = [Float](repeating: 0, count: T * R)
        var dataAttribution = groups.map { _ in [Double](repeating: 0, count: R * N) }

        for t in 0..<T {
            let thetaT = try history.parameters(at: t), thetaNext = try history.parameters(at: t + 1)
            let eta = Double(try history.learningRate(step: t)), lambda = Double(try history.weightDecay(step: t))
            let indices = try history.batchIndices(step: t), B = indices.count
            let batch = data.trainingBatch(indices: indices, flips: try history.flips(step: t))
            let G = model.perSampleGradients(parameters: thetaT, inputs: batch.inputs, classes: batch.labels)

            // Optimizer transform of the per-sample buffers (docs/METHOD.md §4, §5).
            var features = [Double](repeating: 0, count: N * P)  // (N, P) train features F_{j,t}
            var rho = [Double](repeating: 0, count: P)
            switch history.optimizer {
            case .sgd(let mu, _, _):
                let c = history.optimizer.gradientWeight(step: t)
                for i in 0..<(N * P) { buffers[i] *= mu }
                for (j, idx) in indices.enumerated() {
                    for p in 0..<P { buffers[idx * P + p] += c * Double(G[j * P + p]) }
                }
                for p in 0..<P where active[p] { decay[p] = mu * decay[p] + c * lambda * Double(thetaT[p]) }
                features = buffers
                rho = decay
            case .adamw(let b1, let b2, let eps, _):
                let v = try history.optimizerQuantity(step: t)
                let tau = Double(t + 1)
                for i in 0..<(N * P) { buffers[i] *= b1 }
                for (j, idx) in indices.enumerated() {
                    for p in 0..<P { buffers[idx * P + p] += (1 - b1) * Double(G[j * P + p]) }
                }
                for p in 0..<P where active[p] {
                    let d = (1 - pow(b1, tau)) * ((Double(v[p]) / (1 - pow(b2, tau))).squareRoot() + eps)
                    for j in 0..<N { features[j * P + p] = buffers[j * P + p] / d }
                    rho[p] = lambda * Double(thetaT[p])
                }
            }

            // Test features φ_t (R, P): quadrature over full Jacobians on the straight segment.
            var phi = [Double](repeating: 0, count: R * P)
            let nodes = quadrature.nodes(forStep: t)
            for (alpha, w) in zip(nodes.nodes, nodes.weights) {
                let point = (0..<P).map { Float((1 - alpha) * Double(thetaT[$0]) + alpha * Double(thetaNext[$0])) }
                let J = model.jacobian(parameters: point, inputs: testInputs)
                for i in 0..<(R * P) { phi[i] += w * Double(J[i]) }
            }

            // Step kernel K_t[k] = φ_t[k] F_tᵀ (R, N) per component, and the regularisation term.
            for r in 0..<R {
                var stepTotal = 0.0
                for (k, comp) in comps.enumerated() {
                    var kern = 0.0, rg = 0.0
                    for j in 0..<N {
                        var dot = 0.0
                        for p in comp.range { dot += phi[r * P + p] * features[j * P + p] }
                        kern += dot
                        for (g, ranges) in groupRanges.enumerated() where ranges.contains(comp.range) {
                            dataAttribution[g][r * N + j] += eta / Double(B) * dot
                        }
                    }
                    for p in comp.range { rg += phi[r * P + p] * rho[p] }
                    kernel[r * K + k] += eta / Double(B) * kern
                    reg[r * K + k] += -eta * rg
                    stepTotal += eta / Double(B) * kern - eta * rg
                }
                stepPredicted[t * R + r] = Float(stepTotal)
            }
        }
        return EPKResult(
            testCount: n, classCount: C, classesPerTest: C,
            rowClasses: (0..<R).map { $0 % C }, attributionClassesPerTest: C,
            attributionRowClasses: (0..<R).map { $0 % C }, focusClasses: [Int](repeating: 0, count: n),
            componentNames: model.layout.names, steps: 0..<T, initialOutputs: initial, finalOutputs: final,
            kernelByComponent: kernel, regularizationByComponent: reg,
            stepPredicted: stepPredicted, stepTruth: [], stepKernelFocus: [], stepRegularizationFocus: [],
            dataAttribution: zip(groups, dataAttribution).map { ($0.name, $1.map { Float($0) }) },
            parameterAttribution: nil)
    }
}
