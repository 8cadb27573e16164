import Analysis
import Foundation
import History
import NN
import Tensor

/// Builds the segments the step explainer decomposes, from a language-model sparse history or a classifier history.
public enum SegmentSources {
    /// The AdamW current-batch part of one step (docs/METHOD.md §5): −η/(1−β1^τ) · (1−β1) g_t / (√v_t / √(1−β2^τ) + ε).
    public static func adamBatchPart(
        gradient g: [Float], secondMoment v: [Float], learningRate eta: Double, stepCount tau: Int,
        beta1: Double, beta2: Double, epsilon: Double, active: [Bool]? = nil
    ) -> [Float] {
        let stepSize = eta / (1 - pow(beta1, Double(tau)))
        let root2 = (1 - pow(beta2, Double(tau))).squareRoot()
        return (0..<g.count).map { p in
            if let a = active, !a[p] { return 0 }
            let denominator = Double(v[p]).squareRoot() / root2 + epsilon
            return Float(-stepSize * (1 - beta1) * Double(g[p]) / denominator)
        }
    }

    /// Windows between consecutive checkpoints of an LM history (total only: the decay of the intermediate steps
    /// needs θ at every step, which a sparse history does not keep).
    public static func lmWindows(_ history: LMHistoryReader) throws -> [ExplainedSegment] {
        var out: [ExplainedSegment] = []
        var previous = try history.checkpoint(0).theta
        for i in 1..<history.checkpointSteps.count {
            let next = try history.checkpoint(i).theta
            out.append(
                ExplainedSegment(
                    kind: .window, start: history.checkpointSteps[i - 1], end: history.checkpointSteps[i],
                    thetaStart: previous, thetaEnd: next))
            previous = next
        }
        return out
    }

    /// A detail step of an LM history with the full split (gradient / decay, current batch / momentum history).
    public static func lmStep(_ history: LMHistoryReader, step t: Int) throws -> ExplainedSegment {
        let d = try history.detail(step: t)
        let o = history.config.optimizer
        let decay = d.thetaBefore.map { Float(-d.learningRate * o.weightDecay * Double($0)) }
        let batch = adamBatchPart(
            gradient: d.gradient, secondMoment: d.secondMomentAfter, learningRate: d.learningRate,
            stepCount: d.stepCount, beta1: o.beta1, beta2: o.beta2, epsilon: o.eps)
        return ExplainedSegment(
            kind: .step, start: t, end: t + 1, thetaStart: d.thetaBefore, thetaEnd: d.thetaAfter, decay: decay,
            batch: batch)
    }

    /// Decay part of step t of a classifier history: AdamW −η_t λ θ_t on active entries; SGD −η_t R_t.
    static func classifierDecay(
        _ history: TrainingHistory, step t: Int, theta: [Float], active: [Bool]
    ) throws -> [Float] {
        let eta = Double(try history.learningRate(step: t))
        switch history.optimizer {
        case .adamw:
            let lambda = Double(try history.weightDecay(step: t))
            return (0..<theta.count).map { active[$0] ? Float(-eta * lambda * Double(theta[$0])) : 0 }
        case .sgd:
            let r = try history.optimizerQuantity(step: t)
            return r.map { Float(-eta * Double($0)) }
        }
    }

    /// Single step t of a classifier history, with the current batch's part recomputed from the replayed batch.
    public static func classifierStep(
        _ history: TrainingHistory, model: Model, data: ReplayData, step t: Int
    ) throws -> ExplainedSegment {
        let active = history.activeMask()
        let theta0 = try history.parameters(at: t), theta1 = try history.parameters(at: t + 1)
        let decay = try classifierDecay(history, step: t, theta: theta0, active: active)
        let (inputs, labels) = data.trainingBatch(
            indices: try history.batchIndices(step: t), flips: try history.flips(step: t))
        let g = model.lossAndGradient(parameters: theta0, inputs: inputs, labels: labels).gradient
        let eta = Double(try history.learningRate(step: t))
        let batch: [Float]
        switch history.optimizer {
        case .adamw(let b1, let b2, let eps, _):
            batch = adamBatchPart(
                gradient: g, secondMoment: try history.optimizerQuantity(step: t), learningRate: eta,
                stepCount: t + 1, beta1: b1, beta2: b2, epsilon: eps, active: active)
        case .sgd:
            // buf_t = μ buf_{t−1} + c_t (g_t + λθ_t) with the buffer's gradient weight c_t.
            let weight = history.optimizer.gradientWeight(step: t)
            batch = (0..<g.count).map { active[$0] ? Float(-eta * weight * Double(g[$0])) : 0 }
        }
        return ExplainedSegment(
            kind: .step, start: t, end: t + 1, thetaStart: theta0, thetaEnd: theta1, decay: decay, batch: batch)
    }

    /// Window t0 → t1 of a classifier history, with the exact decay part Σ_t (decay of step t) (every θ_t is stored).
    public static func classifierWindow(_ history: TrainingHistory, from t0: Int, to t1: Int) throws -> ExplainedSegment
    {
        let active = history.activeMask()
        let theta0 = try history.parameters(at: t0)
        var decay = [Float](repeating: 0, count: theta0.count)
        var theta = theta0
        for t in t0..<t1 {
            if t > t0 { theta = try history.parameters(at: t) }
            let d = try classifierDecay(history, step: t, theta: theta, active: active)
            for p in 0..<d.count { decay[p] += d[p] }
        }
        return ExplainedSegment(
            kind: .window, start: t0, end: t1, thetaStart: theta0, thetaEnd: try history.parameters(at: t1),
            decay: decay)
    }
}
