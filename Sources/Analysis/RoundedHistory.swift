import History
import NN

/// Storage precisions of a recorded history (docs/METHOD.md §18; the original can keep buffers in fp16/bf16).
public enum StoragePrecision: String, Codable, CaseIterable, Sendable {
    case float32, bfloat16, float16

    /// Rounds a float32 value to this precision (round to nearest, ties to even) and back.
    @inlinable public func round(_ x: Float) -> Float {
        switch self {
        case .float32: return x
        case .bfloat16:
            if !x.isFinite { return x }
            let b = x.bitPattern
            let rounded = (b &+ 0x7FFF &+ ((b >> 16) & 1)) & 0xFFFF_0000
            return Float(bitPattern: rounded)
        case .float16:
            return Float(Float16(x))
        }
    }

    public func round(_ values: [Float]) -> [Float] { self == .float32 ? values : values.map { round($0) } }
}

/// A history whose stored tensors — the parameter checkpoints θ_t and the per-step optimizer quantity (SGD: the
/// decay buffer R_t; AdamW: the second moment v_t) — are read back rounded to a lower storage precision, as if
/// the history had been saved in that format. Learning rates, weight decay, batches and flips are scalars or
/// indices and stay exact.
public final class RoundedHistory: TrainingHistory {
    public let base: TrainingHistory
    public let precision: StoragePrecision

    public init(_ base: TrainingHistory, precision: StoragePrecision) { self.base = base; self.precision = precision }

    public var layout: ParameterLayout { base.layout }
    public var stepCount: Int { base.stepCount }
    public var trainingCount: Int { base.trainingCount }
    public var optimizer: OptimizerSpec { base.optimizer }
    public var activeComponents: [String] { base.activeComponents }
    public func parameters(at checkpoint: Int) throws -> [Float] {
        precision.round(try base.parameters(at: checkpoint))
    }
    public func learningRate(step t: Int) throws -> Float { try base.learningRate(step: t) }
    public func weightDecay(step t: Int) throws -> Float { try base.weightDecay(step: t) }
    public func batchIndices(step t: Int) throws -> [Int] { try base.batchIndices(step: t) }
    public func flips(step t: Int) throws -> [Bool]? { try base.flips(step: t) }
    public func optimizerQuantity(step t: Int) throws -> [Float] {
        precision.round(try base.optimizerQuantity(step: t))
    }
}
