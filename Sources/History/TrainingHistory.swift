import NN
import Tensor

/// The optimizer of a recorded run, with the constants the EPK decomposition needs (docs/METHOD.md §4, §5).
public enum OptimizerSpec: Codable, Equatable, Sendable {
    /// PyTorch SGD: buf ← μ·buf + (1−dampening)·(∇L + λθ) (first step: buf = ∇L + λθ); θ ← θ − η·buf.
    case sgd(momentum: Double, dampening: Double, weightDecay: Double)
    /// PyTorch AdamW with decoupled decay and bias corrections.
    case adamw(beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double)

    public var weightDecay: Double {
        switch self {
        case .sgd(_, _, let wd), .adamw(_, _, _, let wd): return wd
        }
    }

    /// The weight c_t of step t's new gradient d_t = ∇L + λθ_t in the SGD momentum buffer, buf_t = μ buf_{t−1} + c_t d_t
    /// (docs/METHOD.md §4): 1 at the first step (PyTorch starts the buffer with the undampened gradient), 1 without
    /// momentum (PyTorch keeps no buffer and ignores dampening: the update is d_t), else 1 − dampening.
    /// AdamW has no such weight: 1.
    public func gradientWeight(step t: Int) -> Double {
        switch self {
        case .sgd(let mu, let dampening, _): return t == 0 || mu == 0 ? 1 : 1 - dampening
        case .adamw: return 1
        }
    }

    /// Short name stored in histories ("sgd" or "adamw").
    public var kind: String {
        switch self {
        case .sgd: return "sgd";
        case .adamw: return "adamw"
        }
    }
}

/// A recorded training run, read step by step (docs/METHOD.md §2). Step t maps θ_t → θ_{t+1} with the batch of step t;
/// checkpoints run 0…T, steps 0…T−1 (docs/METHOD.md §2 indexing).
public protocol TrainingHistory: AnyObject {
    /// Parameter layout of the model the history belongs to.
    var layout: ParameterLayout { get }
    /// Number of optimizer steps T.
    var stepCount: Int { get }
    /// Training-set size N (dataset indices run over 0..<N).
    var trainingCount: Int { get }
    /// The optimizer and its constants.
    var optimizer: OptimizerSpec { get }
    /// Components the optimizer updates (PyTorch skips parameters that never get a gradient: no state, no decay).
    var activeComponents: [String] { get }

    /// θ_t for checkpoint t ∈ 0…T.
    func parameters(at checkpoint: Int) throws -> [Float]
    /// η_t, the learning rate used by step t.
    func learningRate(step t: Int) throws -> Float
    /// λ used by step t.
    func weightDecay(step t: Int) throws -> Float
    /// Dataset indices of the batch of step t, in the order used.
    func batchIndices(step t: Int) throws -> [Int]
    /// Recorded horizontal-flip draws of step t (one per batch entry), or nil when the run used no augmentation.
    func flips(step t: Int) throws -> [Bool]?
    /// The per-step optimizer quantity of the decomposition, shape (P):
    /// - AdamW: v_t, the full-batch second moment `exp_avg_sq` after step t (docs/METHOD.md §5; not re-derived);
    /// - SGD: R_t = μ R_{t−1} + c_t λ θ_t, the momentum-accumulated weight-decay buffer (docs/METHOD.md §4), recorded so the
    ///   reverse EPK sweep never needs a forward recursion.
    func optimizerQuantity(step t: Int) throws -> [Float]
}

extension TrainingHistory {
    /// Mask over θ: true for entries of active components.
    public func activeMask() -> [Bool] {
        var mask = [Bool](repeating: false, count: layout.count)
        for name in activeComponents {
            guard let c = layout.component(named: name) else { continue }
            for p in c.range { mask[p] = true }
        }
        return mask
    }
}

/// Supplies the exact inputs a training step saw: the dataset rows at the recorded indices with the recorded
/// augmentation applied (augmentation is recorded, never re-drawn: docs/METHOD.md §2).
public protocol ReplayData: AnyObject {
    /// Number of training samples N.
    var trainingCount: Int { get }
    /// Inputs (B × sample shape) and labels for the given dataset indices and flip draws.
    func trainingBatch(indices: [Int], flips: [Bool]?) -> (inputs: Tensor, labels: [Int])
}

/// A history held in memory (tests, and short runs before they are written out).
public final class InMemoryHistory: TrainingHistory {
    public let layout: ParameterLayout
    public let trainingCount: Int
    public let optimizer: OptimizerSpec
    public let activeComponents: [String]
    public private(set) var checkpoints: [[Float]]
    public private(set) var learningRates: [Float] = []
    public private(set) var weightDecays: [Float] = []
    public private(set) var batches: [[Int]] = []
    public private(set) var flipDraws: [[Bool]?] = []
    public private(set) var quantities: [[Float]] = []

    public init(
        layout: ParameterLayout, trainingCount: Int, optimizer: OptimizerSpec, activeComponents: [String],
        initialParameters: [Float]
    ) {
        self.layout = layout; self.trainingCount = trainingCount; self.optimizer = optimizer
        self.activeComponents = activeComponents; self.checkpoints = [initialParameters]
    }

    /// Appends one step: the parameters after it, and what the step used.
    public func record(
        parameters: [Float], learningRate: Float, weightDecay: Float, indices: [Int], flips: [Bool]?,
        optimizerQuantity: [Float]
    ) {
        checkpoints.append(parameters); learningRates.append(learningRate); weightDecays.append(weightDecay)
        batches.append(indices); flipDraws.append(flips); quantities.append(optimizerQuantity)
    }

    public var stepCount: Int { batches.count }
    public func parameters(at checkpoint: Int) throws -> [Float] { checkpoints[checkpoint] }
    public func learningRate(step t: Int) throws -> Float { learningRates[t] }
    public func weightDecay(step t: Int) throws -> Float { weightDecays[t] }
    public func batchIndices(step t: Int) throws -> [Int] { batches[t] }
    public func flips(step t: Int) throws -> [Bool]? { flipDraws[t] }
    public func optimizerQuantity(step t: Int) throws -> [Float] { quantities[t] }
}
