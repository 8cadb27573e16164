import Analysis
import Artifacts
import Data
import Foundation
import NN
import Tensor

/// The influence-function baseline of the LDS comparison (docs/METHOD.md §17).
///
///     τ(z)_j = g(z)ᵀ (H + λI)⁻¹ g(z_j),   g = ∇_θ log p_y = −∇_θ L,   H = ∇²_θ [(1/N) Σ_i L(z_i) + (wd/2)‖θ‖²] at θ_T.
///
/// Up-weighting z_j by ε moves the minimiser by −ε (H + λI)⁻¹ ∇L(z_j) and the test loss by −ε τ(z)_j, so a positive
/// τ means including z_j lowers the test loss and raises log p_y (the sign of ExPLAIND and the gradient baselines).
/// With loss gradients on both sides this equals dattri's `IFAttributorCG` score (regularization = λ + wd). Using the
/// margin instead would scale each test row by 1/(1 − p_y) > 0 and leave every LDS unchanged.
/// (H + λI)⁻¹ g(z) is solved for all n test points together by batched CG on exact Hessian-vector products.
public struct InfluenceFunction {
    public let model: Model
    public let mlp: ReLUMLP
    public let config: InfluenceConfig
    /// The L2 coefficient wd of the objective (coupled SGD weight decay; 0 for AdamW's decoupled decay).
    public let weightDecay: Double

    public init(model: Model, config: InfluenceConfig, weightDecay: Double) throws {
        switch ReLUMLP.of(model) {
        case .success(let mlp): self.mlp = mlp
        case .failure(let e):
            throw ArtifactError(
                .config, "key 'influence': \(e.description); remove the 'influence' block for this model")
        }
        self.model = model; self.config = config; self.weightDecay = weightDecay
    }

    /// What the solve reports besides the scores.
    public struct Report {
        public var scores: [Float]
        public var iterations: Int
        public var maxRelativeResidual: Double
        public var hessianProducts: Int
    }

    /// (n, N) scores τ(z_a)_j at `theta` with H over (`trainInputs`, `trainLabels`).
    public func scores(
        parameters theta: [Float], testInputs: Tensor, testLabels: [Int], trainInputs: Tensor,
        trainLabels: [Int], chunk: Int = 250, progress: ((Int, Int) -> Void)? = nil
    ) throws -> Report {
        let n = testLabels.count, N = trainLabels.count, P = model.parameterCount
        let hessian = MLPHessian(
            mlp: mlp, parameters: theta, inputs: trainInputs, labels: trainLabels, weightDecay: weightDecay)
        let g = model.perSampleGradients(parameters: theta, inputs: testInputs, classes: testLabels)
        let b = ComponentMajorBlock(rows: g, count: n, layout: model.layout)
        let fix = "raise 'influence.cg_iterations', 'influence.damping' or 'influence.cg_tolerance'"
        let solution = try BatchedConjugateGradient.solve(
            b, shift: config.damping, iterations: config.cgIterations,
            tolerance: config.cgTolerance, what: "influence", fix: fix,
            hessian: { hessian.product($0) }, progress: progress)
        guard solution.maxRelativeResidual <= config.cgTolerance else {
            throw ArtifactError(
                .config,
                "influence: conjugate gradient stopped but the recomputed residual \(BatchedConjugateGradient.format(solution.maxRelativeResidual)) exceeds 'influence.cg_tolerance' \(BatchedConjugateGradient.format(config.cgTolerance)) (Float32 products limit the attainable residual); raise 'influence.cg_tolerance' or 'influence.damping'"
            )
        }
        let u = solution.x.rows()  // (n, P): (H + λI)⁻¹ g(z_a)
        var scores = [Float](repeating: 0, count: n * N)
        var block = [Float](repeating: 0, count: n * chunk)
        for lo in stride(from: 0, to: N, by: chunk) {
            let hi = min(N, lo + chunk), width = hi - lo
            let gj = model.perSampleGradients(
                parameters: theta, inputs: trainInputs.rows(lo..<hi), classes: Array(trainLabels[lo..<hi]))
            u.withPointer { a in
                gj.withPointer { gp in
                    block.withMutablePointer { c in
                        BLAS.sgemm(transB: true, m: n, n: width, k: P, a: a, lda: P, b: gp, ldb: P, c: c, ldc: width)
                    }
                }
            }
            for a in 0..<n { for j in 0..<width { scores[a * N + lo + j] = block[a * width + j] } }
        }
        guard scores.allSatisfy(\.isFinite) else {
            throw ArtifactError(.config, "influence: non-finite scores; raise 'influence.damping'")
        }
        return Report(
            scores: scores, iterations: solution.iterations, maxRelativeResidual: solution.maxRelativeResidual,
            hessianProducts: solution.products)
    }
}

extension AttributionMethods {
    /// The `influence` method at θ_T over the whole training set; `weightDecay` is the objective's L2 coefficient.
    public func influence(_ config: InfluenceConfig, weightDecay: Double) throws -> MethodScores {
        let start = Date()
        let theta = try history.parameters(at: history.stepCount)
        let method = try InfluenceFunction(model: model, config: config, weightDecay: weightDecay)
        let progress = Progress(label: "influence (CG)", total: config.cgIterations)
        let report = try method.scores(
            parameters: theta, testInputs: testInputs, testLabels: testLabels,
            trainInputs: train.inputs, trainLabels: train.labels
        ) { iteration, active in
            progress.advance(status: "iteration \(iteration), \(active) solves active")
        }
        progress.finish()
        let description =
            "influence function g(z)ᵀ(H + λI)⁻¹g(z_j), g = ∇log p_y, H = ∇²(mean NLL + wd/2‖θ‖²) at θ_T, exact HVP + CG: "
            + String(
                format: "λ = %g, wd = %g, %d iterations, max relative residual %.2e", config.damping, weightDecay,
                report.iterations, report.maxRelativeResidual)
        var scores = MethodScores(
            name: "influence", description: description, scores: report.scores, seconds: Date().timeIntervalSince(start)
        )
        scores.attributes = [
            "damping": config.damping, "weight_decay": weightDecay, "cg_iterations": Double(report.iterations),
            "cg_max_relative_residual": report.maxRelativeResidual, "hessian_products": Double(report.hessianProducts),
        ]
        return scores
    }
}
