/// Stochastic gradient descent with momentum, dampening, coupled weight decay and optional Nesterov momentum,
/// exactly as `torch.optim.SGD` (docs/METHOD.md §4):
///
/// ```
/// d_t   = g_t + λ θ_t
/// buf_t = d_t                                   (first step: PyTorch clones d into the new buffer)
/// buf_t = μ buf_{t−1} + (1 − dampening) d_t     (later steps)
/// u_t   = nesterov ? d_t + μ buf_t : buf_t      (momentum 0: u_t = d_t, no buffer is kept)
/// θ_{t+1} = θ_t − η_t u_t
/// ```
///
/// Arithmetic is Float32 element-wise in PyTorch's order; the paper's CIFAR run uses μ = 0.9, dampening 0, λ = 5e-3.
public struct SGD: Optimizer {
    /// Momentum factor μ.
    public let momentum: Double
    /// Dampening applied to new gradients from the second step on.
    public let dampening: Double
    /// Coupled L2 weight-decay coefficient λ (added to the gradient).
    public let weightDecay: Double
    /// Nesterov momentum (needs μ > 0 and dampening 0, as in PyTorch).
    public let nesterov: Bool
    /// Index ranges of θ that are updated; `nil` means all of θ.
    public let activeRanges: [Range<Int>]?
    /// Step count and momentum buffer (see `OptimizerState`).
    public var state = OptimizerState()

    /// An SGD optimizer; `activeRanges` restricts updates (and state) to slices of θ, `nil` = everything.
    public init(
        momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
        activeRanges: [Range<Int>]? = nil
    ) {
        precondition(momentum >= 0 && weightDecay >= 0, "SGD: momentum and weight decay must be non-negative")
        precondition(
            !nesterov || (momentum > 0 && dampening == 0),
            "SGD: Nesterov momentum requires a momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.activeRanges = activeRanges
    }

    /// The hyper-parameters on one line, for logs and history attributes.
    public var description: String {
        "SGD(momentum: \(momentum), dampening: \(dampening), weightDecay: \(weightDecay), nesterov: \(nesterov))"
    }

    /// One SGD update of the active entries of `parameters` (docs/METHOD.md §4); `learningRate` is η_t.
    public mutating func step(parameters: inout [Float], gradient: [Float], learningRate: Double) {
        let count = parameters.count
        precondition(gradient.count == count, "SGD.step: gradient has \(gradient.count) entries, θ has \(count)")
        let ranges = validatedRanges(activeRanges, count: count, caller: "SGD")
        let useMomentum = momentum != 0
        let firstStep = state.momentumBuffer.isEmpty
        if useMomentum {
            if firstStep { state.momentumBuffer = [Float](repeating: 0, count: count) }
            precondition(
                state.momentumBuffer.count == count,
                "SGD.step: momentum buffer has \(state.momentumBuffer.count) entries, θ has \(count)")
        }
        // Scalars as PyTorch rounds them: Python floats cast to Float32 where they meet a tensor.
        let mu = Float(momentum), keep = Float(1 - dampening), lambda = Float(weightDecay), eta = Float(learningRate)
        let nesterov = self.nesterov
        parameters.withUnsafeMutableBufferPointer { thetaBuffer in
            gradient.withUnsafeBufferPointer { gradientBuffer in
                state.momentumBuffer.withUnsafeMutableBufferPointer { bufferBuffer in
                    let theta = thetaBuffer.baseAddress!, g = gradientBuffer.baseAddress!
                    for range in ranges {
                        var i = range.lowerBound
                        let end = range.upperBound
                        if !useMomentum {
                            while i < end { let d = g[i] + lambda * theta[i]; theta[i] -= eta * d; i &+= 1 }
                            continue
                        }
                        let buf = bufferBuffer.baseAddress!
                        if firstStep {
                            while i < end {
                                let d = g[i] + lambda * theta[i]
                                buf[i] = d
                                theta[i] -= eta * (nesterov ? d + mu * d : d)
                                i &+= 1
                            }
                        } else {
                            while i < end {
                                let d = g[i] + lambda * theta[i]
                                let b = mu * buf[i] + keep * d
                                buf[i] = b
                                theta[i] -= eta * (nesterov ? d + mu * b : b)
                                i &+= 1
                            }
                        }
                    }
                }
            }
        }
        state.stepCount += 1
    }
}
