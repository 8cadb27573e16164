import Analysis
import Artifacts
import Data
import EPK
import Foundation
import History
import NN
import Tensor

/// One attribution method's scores τ(z)_j for the LDS (docs/METHOD.md §17).
public struct MethodScores: Sendable {
    /// Short name used in the artifact and figures ("explaind", "tracin", …).
    public var name: String
    /// One line saying exactly what was computed.
    public var description: String
    /// (n, N) τ(z_a)_j, row-major.
    public var scores: [Float]
    /// Wall time to compute them (seconds).
    public var seconds: Double
    /// Method-specific numbers written as attributes of `/methods/<name>` (e.g. the influence solve's residual).
    public var attributes: [String: Double] = [:]
}

/// Computes every method's scores from the full-data run (its history, model and training data).
public struct AttributionMethods {
    public let model: Model
    public let history: TrainingHistory
    public let train: LabeledDataset
    public let testInputs: Tensor
    public let testLabels: [Int]

    /// `train` is the training set in dataset order, as the history indexes it.
    public init(model: Model, history: TrainingHistory, train: LabeledDataset, testInputs: Tensor, testLabels: [Int]) {
        self.model = model; self.history = history; self.train = train; self.testInputs = testInputs;
        self.testLabels = testLabels
    }

    var n: Int { testLabels.count }
    var N: Int { train.labels.count }

    /// Layer groups: components sharing the prefix before their first "." (MNIST MLP: fc1, fc2).
    public static func layerGroups(_ model: Model) -> [ComponentGroup] {
        var order: [String] = [], members: [String: [String]] = [:]
        for name in model.layout.names {
            let prefix = String(name.split(separator: ".").first ?? Substring(name))
            if members[prefix] == nil { order.append(prefix) }
            members[prefix, default: []].append(name)
        }
        return order.map { ComponentGroup(name: $0, components: members[$0]!) }
    }

    /// ExPLAIND's data attribution I(x, y_x, j) of the full run (total and per layer group), its early variant
    /// (the run truncated at `cut`) and the late variant total − early. Also returns the EPK's reconstruction error
    /// max_x |f̂_y(x) − f_y(x; θ_T)| as a check that the decomposition is exact.
    public func explaind(
        quadrature: QuadratureConfig, cut: Int, memoryBudgetBytes: Int
    )
        throws -> (methods: [MethodScores], reconstructionError: Double)
    {
        let groups = AttributionMethods.layerGroups(model)
        let T = history.stepCount
        guard cut >= 1 && cut < T else {
            throw ArtifactError(
                .config, "key 'early_cut': expected a step in 1…\(T - 1) for this \(T)-step history, found \(cut)")
        }
        func run(_ h: TrainingHistory, _ g: [ComponentGroup], label: String) throws -> EPKResult {
            let progress = Progress(label: label, total: h.stepCount)
            var options = EPKOptions(
                quadrature: quadrature, classes: .target, attributionClasses: .selected,
                dataAttributionGroups: g, memoryBudgetBytes: memoryBudgetBytes)
            options.progress = { done, all in progress.advance(status: "step \(done)/\(all)") }
            let engine = try EPKEngine(model: model, history: h, data: DatasetReplay(train), options: options)
            let result = try engine.run(testInputs: testInputs, testLabels: testLabels)
            progress.finish()
            return result
        }
        var start = Date()
        let full = try run(history, groups, label: "explaind (all \(T) steps)")
        let fullSeconds = Date().timeIntervalSince(start)
        let error = zip(full.predictedRows, full.finalRows).map { abs($0 - $1) }.max() ?? .nan
        start = Date()
        let early = try run(
            TruncatedHistory(history, cut: cut), [ComponentGroup(name: "all", components: model.layout.names)],
            label: "explaind (steps 0..<\(cut))")
        let earlySeconds = Date().timeIntervalSince(start)

        var total = [Float](repeating: 0, count: n * N)
        for (_, values) in full.dataAttribution { for i in total.indices { total[i] += values[i] } }
        let earlyScores = early.dataAttribution[0].values
        let late = zip(total, earlyScores).map { $0 - $1 }
        var methods = [
            MethodScores(
                name: "explaind", description: "ExPLAIND I(x, y_x, j): all \(T) steps, all components", scores: total,
                seconds: fullSeconds)
        ]
        for (g, part) in zip(groups, full.dataAttribution) {
            methods.append(
                MethodScores(
                    name: "explaind-\(g.name)",
                    description: "ExPLAIND restricted to components \(g.components.joined(separator: ", "))",
                    scores: part.values, seconds: fullSeconds))
        }
        methods.append(
            MethodScores(
                name: "explaind-early",
                description: "ExPLAIND of the run truncated at step \(cut): attribution of f(θ_\(cut)) − f(θ₀)",
                scores: earlyScores, seconds: earlySeconds))
        methods.append(
            MethodScores(
                name: "explaind-late",
                description:
                    "total − early: attribution of f(θ_T) − f(θ_\(cut)), including momentum carried across the cut by earlier gradients",
                scores: late, seconds: fullSeconds + earlySeconds))
        return (methods, error)
    }

    /// ⟨g(x; θ_T), g(z_j; θ_T)⟩ and its cosine-normalised form at the final checkpoint.
    public func gradientSimilarity() throws -> [MethodScores] {
        let theta = try history.parameters(at: history.stepCount)
        return [false, true].map { cosine in
            let start = Date()
            var scores = [Float](repeating: 0, count: n * N)
            GradientScores.accumulate(
                model: model, parameters: theta, testInputs: testInputs, testLabels: testLabels,
                trainInputs: train.inputs, trainLabels: train.labels, weight: 1, cosine: cosine, into: &scores)
            return MethodScores(
                name: cosine ? "grad-cos" : "grad-dot",
                description: cosine ? "cos(∇f_y(x; θ_T), ∇f_{y_j}(z_j; θ_T))" : "⟨∇f_y(x; θ_T), ∇f_{y_j}(z_j; θ_T)⟩",
                scores: scores, seconds: Date().timeIntervalSince(start))
        }
    }

    /// TracIn-CP: Σ_c η_{c−1} ⟨g(x; θ_c), g(z_j; θ_c)⟩ over the checkpoints c = k, 2k, …, T (every sample at every
    /// checkpoint, not only the steps where z_j was in the batch).
    public func tracIn(interval k: Int) throws -> MethodScores {
        let T = history.stepCount
        var checkpoints = Array(stride(from: k, through: T, by: k))
        if checkpoints.last != T { checkpoints.append(T) }
        let start = Date()
        let progress = Progress(label: "tracin", total: checkpoints.count)
        var scores = [Float](repeating: 0, count: n * N)
        for c in checkpoints {
            let eta = try history.learningRate(step: c - 1)
            GradientScores.accumulate(
                model: model, parameters: try history.parameters(at: c), testInputs: testInputs,
                testLabels: testLabels, trainInputs: train.inputs, trainLabels: train.labels,
                weight: eta, cosine: false, into: &scores)
            progress.advance(status: "checkpoint \(c)")
        }
        progress.finish()
        return MethodScores(
            name: "tracin",
            description:
                "TracIn-CP: Σ_c η ⟨∇f_y(x; θ_c), ∇f_{y_j}(z_j; θ_c)⟩ over checkpoints c = \(checkpoints.map(String.init).joined(separator: ", "))",
            scores: scores, seconds: Date().timeIntervalSince(start))
    }

    public func random(seed: UInt64) -> MethodScores {
        MethodScores(
            name: "random", description: "i.i.d. N(0, 1) scores (seed \(seed))",
            scores: GradientScores.random(testCount: n, trainingCount: N, seed: seed), seconds: 0)
    }
}
