import Artifacts
import EPK
import Foundation
import NN
import Tensor

/// The scalar evaluation loss L_E(θ) of the step explainer (docs/METHOD.md §19) and its gradient.
public protocol EvaluationLoss {
    var layout: ParameterLayout { get }
    /// L_E(θ), accumulated in Float64.
    func loss(_ theta: [Float]) -> Double
    /// L_E(θ) and ∇L_E(θ).
    func lossAndGradient(_ theta: [Float]) -> (loss: Double, gradient: [Float])
}

/// L_E = mean NLL of a classifier on an evaluation subset (modulo, MNIST, CIFAR-2 histories).
public struct ClassifierEvaluationLoss: EvaluationLoss {
    public let model: Model
    public let inputs: Tensor
    public let labels: [Int]
    /// Rows per backward pass (bounds memory; the gradient is the size-weighted mean over chunks).
    public let chunk: Int
    public init(model: Model, inputs: Tensor, labels: [Int], chunk: Int = 256) {
        self.model = model; self.inputs = inputs; self.labels = labels; self.chunk = chunk
    }
    public var layout: ParameterLayout { model.layout }
    public func loss(_ theta: [Float]) -> Double {
        model.evaluate(parameters: theta, inputs: inputs, labels: labels).loss
    }
    public func lossAndGradient(_ theta: [Float]) -> (loss: Double, gradient: [Float]) {
        chunkedMean(count: labels.count, chunk: chunk, parameterCount: model.parameterCount) { r in
            model.lossAndGradient(parameters: theta, inputs: inputs.rows(r), labels: Array(labels[r]))
        }
    }
}

/// L_E = mean next-token NLL of the language model over a fixed batch of evaluation windows.
public struct LanguageModelEvaluationLoss: EvaluationLoss {
    public let model: TransformerLM
    public let inputs: Tensor
    public let targets: Tensor
    public let chunk: Int
    public init(model: TransformerLM, inputs: Tensor, targets: Tensor, chunk: Int = 32) {
        self.model = model; self.inputs = inputs; self.targets = targets; self.chunk = chunk
    }
    public var layout: ParameterLayout { model.layout }
    public func loss(_ theta: [Float]) -> Double {
        model.loss(parameters: theta, inputs: inputs, targets: targets, chunk: chunk)
    }
    public func lossAndGradient(_ theta: [Float]) -> (loss: Double, gradient: [Float]) {
        chunkedMean(count: inputs.shape[0], chunk: chunk, parameterCount: model.parameterCount) { r in
            model.lossAndGradient(parameters: theta, inputs: inputs.rows(r), targets: targets.rows(r))
        }
    }
}

/// Size-weighted mean of per-chunk (loss, gradient) pairs, each chunk a mean over its rows.
func chunkedMean(
    count n: Int, chunk: Int, parameterCount P: Int,
    _ body: (Range<Int>) -> (loss: Double, gradient: [Float])
) -> (loss: Double, gradient: [Float]) {
    if n <= chunk { return body(0..<n) }
    var loss = 0.0
    var gradient = [Float](repeating: 0, count: P)
    for lo in stride(from: 0, to: n, by: chunk) {
        let r = lo..<min(n, lo + chunk)
        let part = body(r)
        let w = Float(r.count) / Float(n)
        loss += part.loss * Double(r.count) / Double(n)
        gradient.withMutablePointer { g in part.gradient.withPointer { Vector.addScaled($0, w, into: g, count: P) } }
    }
    return (loss, gradient)
}

/// One parameter update to explain: θ_start → θ_end, either a single optimizer step or a window of several steps
/// (the straight-path identity holds for any two points, docs/METHOD.md §3). Optional splits of Δθ = θ_end − θ_start:
/// - `decay`: the weight-decay part (AdamW: −Σ η_t λ θ_t; SGD: −Σ η_t R_t);
/// - `batch` (single steps only): the current batch's part (AdamW: −η/(1−β1^τ)·(1−β1) g_t / (√v̂_t + ε);
///   SGD: −η (1−dampening) g_t). The gradient part is Δθ − decay and the momentum history is gradient − batch.
public struct ExplainedSegment {
    public enum Kind: String, Sendable { case step, window }
    public var kind: Kind
    public var start: Int
    public var end: Int
    public var thetaStart: [Float]
    public var thetaEnd: [Float]
    public var decay: [Float]?
    public var batch: [Float]?
    public init(
        kind: Kind, start: Int, end: Int, thetaStart: [Float], thetaEnd: [Float], decay: [Float]? = nil,
        batch: [Float]? = nil
    ) {
        self.kind = kind; self.start = start; self.end = end; self.thetaStart = thetaStart; self.thetaEnd = thetaEnd
        self.decay = decay; self.batch = batch
    }
}

/// Module groups over a layout that partition the components exactly: the model's groups, plus an "other" group
/// for components no group names (e.g. the modulo model's unused positional table).
public struct ModuleGroups: Sendable {
    public let names: [String]
    /// For each group, the θ ranges of its components.
    public let ranges: [[Range<Int>]]
    /// Group index of each component.
    public let componentGroup: [Int]

    public init(layout: ParameterLayout, groups: [(name: String, components: [String])]) {
        var names: [String] = [], ranges: [[Range<Int>]] = []
        var owner = [Int](repeating: -1, count: layout.components.count)
        for g in groups {
            var rs: [Range<Int>] = []
            for c in g.components {
                guard let comp = layout.component(named: c) else {
                    preconditionFailure("ModuleGroups: no component \(c)")
                }
                precondition(owner[comp.index] < 0, "ModuleGroups: component \(c) is in two groups")
                owner[comp.index] = names.count
                rs.append(comp.range)
            }
            names.append(g.name); ranges.append(rs)
        }
        let rest = layout.components.filter { owner[$0.index] < 0 }
        if !rest.isEmpty {
            for c in rest { owner[c.index] = names.count }
            names.append("other"); ranges.append(rest.map(\.range))
        }
        self.names = names; self.ranges = ranges; self.componentGroup = owner
    }

    /// Σ_{p ∈ group} a_p b_p for every group, in Float64.
    public func sums(_ a: [Double], _ b: [Float]) -> [Double] {
        ranges.map { rs in
            rs.reduce(0.0) { acc, r in
                var s = acc; for p in r { s += a[p] * Double(b[p]) }; return s
            }
        }
    }
}

/// The decomposition of one segment: ΔL_E = Σ_p s_p, s_p = (∫₀¹ ∇L_E(θ_start + αΔ) dα)_p · Δ_p, grouped by module.
public struct SegmentDecomposition: Sendable {
    public var kind: ExplainedSegment.Kind
    public var start: Int
    public var end: Int
    public var points: Int
    public var lossStart: Double
    public var lossEnd: Double
    /// L_E(θ_end) − L_E(θ_start).
    public var measured: Double { lossEnd - lossStart }
    /// Σ_p s_p.
    public var predicted: Double { total.reduce(0, +) }
    /// predicted − measured.
    public var residual: Double { predicted - measured }
    /// Per group: Σ s_p (total), and the same with Δ replaced by each part (NaN when the split is unavailable).
    public var total: [Double]
    public var gradient: [Double]
    public var decay: [Double]
    public var batch: [Double]
    public var momentum: [Double]

    /// |S_m| / Σ_m |S_m| (docs/METHOD.md §19 "relative influence").
    public var relativeInfluence: [Double] {
        let s = total.reduce(0) { $0 + abs($1) }
        return total.map { s > 0 ? abs($0) / s : 0 }
    }
}

/// The step explainer (docs/METHOD.md §19): loss decomposition scores along the straight path of one
/// update, with the engine's quadrature rules (docs/METHOD.md §9, `QuadratureNodes`).
public enum StepExplainer {
    /// ∫₀¹ ∇L_E(θ_start + αΔ) dα ≈ Σ_i w_i ∇L_E(θ_start + α_i Δ), in Float64. P values.
    public static func integratedGradient(
        _ loss: EvaluationLoss, from theta0: [Float], to theta1: [Float],
        nodes: QuadratureNodes
    ) -> [Double] {
        let P = theta0.count
        var acc = [Double](repeating: 0, count: P)
        var point = [Float](repeating: 0, count: P)
        for (alpha, w) in zip(nodes.nodes, nodes.weights) {
            let a = Float(alpha)
            for p in 0..<P { point[p] = theta0[p] + a * (theta1[p] - theta0[p]) }
            let g = loss.lossAndGradient(point).gradient
            for p in 0..<P { acc[p] += w * Double(g[p]) }
        }
        return acc
    }

    /// Decomposes one segment. `lossStart`/`lossEnd` may be passed when already known (they are reused across rules).
    public static func explain(
        _ segment: ExplainedSegment, loss: EvaluationLoss, groups: ModuleGroups,
        nodes: QuadratureNodes, lossStart: Double? = nil, lossEnd: Double? = nil
    ) -> SegmentDecomposition {
        let P = segment.thetaStart.count
        let integrated = integratedGradient(loss, from: segment.thetaStart, to: segment.thetaEnd, nodes: nodes)
        var delta = [Float](repeating: 0, count: P)
        for p in 0..<P { delta[p] = segment.thetaEnd[p] - segment.thetaStart[p] }
        let total = groups.sums(integrated, delta)
        let G = groups.names.count
        let missing = [Double](repeating: .nan, count: G)
        var gradientPart = missing, decayPart = missing, batchPart = missing, momentumPart = missing
        if let decay = segment.decay {
            decayPart = groups.sums(integrated, decay)
            gradientPart = zip(total, decayPart).map { $0 - $1 }
            if let batch = segment.batch {
                batchPart = groups.sums(integrated, batch)
                momentumPart = zip(gradientPart, batchPart).map { $0 - $1 }
            }
        }
        return SegmentDecomposition(
            kind: segment.kind, start: segment.start, end: segment.end, points: nodes.nodes.count,
            lossStart: lossStart ?? loss.loss(segment.thetaStart), lossEnd: lossEnd ?? loss.loss(segment.thetaEnd),
            total: total, gradient: gradientPart, decay: decayPart, batch: batchPart, momentum: momentumPart)
    }

    /// |residual| of one segment for each point count (the convergence study): the loss change is measured once.
    public static func residuals(
        _ segment: ExplainedSegment, loss: EvaluationLoss, rule: QuadratureRule, points: [Int]
    ) -> [Double] {
        let l0 = loss.loss(segment.thetaStart), l1 = loss.loss(segment.thetaEnd)
        let P = segment.thetaStart.count
        var delta = [Double](repeating: 0, count: P)
        for p in 0..<P { delta[p] = Double(segment.thetaEnd[p] - segment.thetaStart[p]) }
        return points.map { n in
            let g = integratedGradient(
                loss, from: segment.thetaStart, to: segment.thetaEnd, nodes: QuadratureNodes(rule: rule, points: n))
            var s = 0.0
            for p in 0..<P { s += g[p] * delta[p] }
            return abs(s - (l1 - l0))
        }
    }
}
