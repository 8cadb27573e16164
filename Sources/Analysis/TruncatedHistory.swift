import History
import NN

/// The first `cut` steps of a recorded run, as a complete shorter history whose final checkpoint is θ_cut.
///
/// Replaying it with data attribution gives ExPLAIND's early variant (docs/METHOD.md §17 "restricted to a range of steps"):
/// the attribution of f(θ_cut) − f(θ₀) to training samples. The reverse accumulation then stops at the cut, so
/// momentum that a step before the cut carries into later steps is *not* included (it moves θ only after θ_cut).
public final class TruncatedHistory: TrainingHistory {
    public let base: TrainingHistory
    public let cut: Int

    public init(_ base: TrainingHistory, cut: Int) {
        precondition(cut >= 1 && cut <= base.stepCount, "TruncatedHistory: cut \(cut) outside 1…\(base.stepCount)")
        self.base = base; self.cut = cut
    }

    public var layout: ParameterLayout { base.layout }
    public var stepCount: Int { cut }
    public var trainingCount: Int { base.trainingCount }
    public var optimizer: OptimizerSpec { base.optimizer }
    public var activeComponents: [String] { base.activeComponents }

    public func parameters(at checkpoint: Int) throws -> [Float] {
        precondition(checkpoint <= cut, "TruncatedHistory: checkpoint \(checkpoint) beyond the cut \(cut)")
        return try base.parameters(at: checkpoint)
    }
    public func learningRate(step t: Int) throws -> Float { try base.learningRate(step: checked(t)) }
    public func weightDecay(step t: Int) throws -> Float { try base.weightDecay(step: checked(t)) }
    public func batchIndices(step t: Int) throws -> [Int] { try base.batchIndices(step: checked(t)) }
    public func flips(step t: Int) throws -> [Bool]? { try base.flips(step: checked(t)) }
    public func optimizerQuantity(step t: Int) throws -> [Float] { try base.optimizerQuantity(step: checked(t)) }

    private func checked(_ t: Int) -> Int {
        precondition(t >= 0 && t < cut, "TruncatedHistory: step \(t) outside 0..<\(cut)")
        return t
    }
}
