/// A first-order optimizer over one flat parameter vector θ (docs/METHOD.md §4, §5; θ layout: `NN.ParameterLayout`).
///
/// Conformers follow PyTorch's update rules to the letter (`torch.optim.SGD`, `torch.optim.AdamW`, amsgrad off,
/// `maximize` off). The learning rate is passed per step, so the caller (a schedule, docs/METHOD.md §14) owns it, exactly as a
/// PyTorch scheduler rewrites `param_group["lr"]` between steps.
public protocol Optimizer: CustomStringConvertible {
    /// Applies one update in place: `parameters ← update(parameters, gradient)` with learning rate `learningRate`.
    ///
    /// `learningRate` is a Double because PyTorch keeps hyper-parameters as Python floats and rounds them to Float32
    /// only where they enter element-wise arithmetic; the conformers do the same.
    /// `gradient` has the same length as `parameters`. Entries outside the optimizer's active ranges are never read
    /// nor written (PyTorch skips parameters whose `.grad` is `None`: no decay, no state).
    mutating func step(parameters: inout [Float], gradient: [Float], learningRate: Double)

    /// Everything the next update depends on besides the hyper-parameters: the step count and the buffers.
    ///
    /// Read it after every step for the training history (docs/METHOD.md §2); assign a recorded state to continue a run
    /// bit-identically (`--resume`).
    var state: OptimizerState { get set }

    /// The (coupled for SGD, decoupled for AdamW) weight-decay coefficient λ, recorded per step for SGD (docs/METHOD.md §2).
    var weightDecay: Double { get }

    /// Index ranges of θ this optimizer updates, or `nil` for all of θ; the rest of θ is frozen and gets no state
    /// (docs/METHOD.md §1: the modulo model's unused `positional_encoding.pe`).
    var activeRanges: [Range<Int>]? { get }
}

/// The mutable state of an optimizer, laid out like θ (inactive entries stay 0).
///
/// Buffers are empty until the first step, as PyTorch creates its state lazily:
/// - SGD: `momentumBuffer` (PyTorch `momentum_buffer`), absent when momentum is 0;
/// - AdamW: `firstMoment` (`exp_avg`) and `secondMoment` (`exp_avg_sq`), both created as zeros at the first step.
public struct OptimizerState: Equatable, Sendable {
    /// Number of `step` calls so far (PyTorch's `state["step"]` for AdamW; τ of docs/METHOD.md §5 after the increment).
    public var stepCount: Int
    /// SGD momentum buffer `buf_t` (docs/METHOD.md §4); empty when momentum is 0 or before the first step.
    public var momentumBuffer: [Float]
    /// AdamW first moment `m_t` (`exp_avg`); empty before the first step and for SGD.
    public var firstMoment: [Float]
    /// AdamW second moment `v_t` (`exp_avg_sq`, the quantity the EPK reads, docs/METHOD.md §5); empty before the first step.
    public var secondMoment: [Float]

    /// A state with the given step count and buffers (all empty by default: a fresh optimizer).
    public init(stepCount: Int = 0, momentumBuffer: [Float] = [], firstMoment: [Float] = [], secondMoment: [Float] = [])
    {
        self.stepCount = stepCount
        self.momentumBuffer = momentumBuffer
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}

/// Checks and normalises the active ranges of an optimizer against a parameter count.
@usableFromInline
func validatedRanges(_ ranges: [Range<Int>]?, count: Int, caller: String) -> [Range<Int>] {
    guard let ranges else { return [0..<count] }
    for r in ranges {
        precondition(
            r.lowerBound >= 0 && r.upperBound <= count,
            "\(caller): active range \(r) outside 0..<\(count)")
    }
    let sorted = ranges.filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
    for (a, b) in zip(sorted, sorted.dropFirst()) {
        precondition(a.upperBound <= b.lowerBound, "\(caller): active ranges \(a) and \(b) overlap")
    }
    return sorted
}
