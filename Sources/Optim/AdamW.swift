import Foundation

/// Adam with decoupled weight decay, exactly as `torch.optim.AdamW` with amsgrad off (docs/METHOD.md §5). With τ the step
/// count after the increment:
///
/// ```
/// θ' = θ_t (1 − η λ)
/// m_τ = β1 m_{τ−1} + (1 − β1) g        (computed as PyTorch's lerp: m + (1−β1)(g − m))
/// v_τ = β2 v_{τ−1} + (1 − β2) g²
/// θ_{t+1} = θ' − (η / (1 − β1^τ)) · m_τ / ( sqrt(v_τ) / sqrt(1 − β2^τ) + ε )
/// ```
///
/// Storage and element-wise arithmetic are Float32 like PyTorch on CPU; the scalars `1 − ηλ`, `η/(1−β1^τ)` and
/// `sqrt(1−β2^τ)` are computed in Double (Python floats in PyTorch) and rounded once to Float.
/// The paper's modulo run uses η = 1e-3, β = (0.9, 0.98), ε = 1e-8, λ = 4.0 (docs/METHOD.md §14).
public struct AdamW: Optimizer {
    /// Exponential decay of the first moment, β1.
    public let beta1: Double
    /// Exponential decay of the second moment, β2.
    public let beta2: Double
    /// ε added to the bias-corrected root second moment.
    public let epsilon: Double
    /// Decoupled weight-decay coefficient λ (θ is multiplied by 1 − ηλ before the Adam update).
    public let weightDecay: Double
    /// Index ranges of θ that are updated; `nil` means all of θ.
    public let activeRanges: [Range<Int>]?
    /// Step count, `exp_avg` and `exp_avg_sq` (see `OptimizerState`).
    public var state = OptimizerState()

    /// An AdamW optimizer with PyTorch's defaults unless given; `activeRanges` restricts updates and state.
    public init(
        beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 1e-2,
        activeRanges: [Range<Int>]? = nil
    ) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "AdamW: betas must lie in [0, 1)")
        precondition(epsilon >= 0 && weightDecay >= 0, "AdamW: ε and weight decay must be non-negative")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.activeRanges = activeRanges
    }

    /// The hyper-parameters on one line, for logs and history attributes.
    public var description: String {
        "AdamW(beta1: \(beta1), beta2: \(beta2), epsilon: \(epsilon), weightDecay: \(weightDecay))"
    }

    /// One AdamW update of the active entries of `parameters` (docs/METHOD.md §5); increments the step count first.
    public mutating func step(parameters: inout [Float], gradient: [Float], learningRate: Double) {
        let count = parameters.count
        precondition(gradient.count == count, "AdamW.step: gradient has \(gradient.count) entries, θ has \(count)")
        let ranges = validatedRanges(activeRanges, count: count, caller: "AdamW")
        if state.firstMoment.isEmpty { state.firstMoment = [Float](repeating: 0, count: count) }
        if state.secondMoment.isEmpty { state.secondMoment = [Float](repeating: 0, count: count) }
        precondition(
            state.firstMoment.count == count && state.secondMoment.count == count,
            "AdamW.step: moment buffers have \(state.firstMoment.count)/\(state.secondMoment.count) entries, θ has \(count)"
        )
        state.stepCount += 1
        let tau = Double(state.stepCount)
        let eta = learningRate
        let decayFactor = Float(1 - eta * weightDecay)
        let biasCorrection1 = 1 - pow(beta1, tau)
        let stepSize = Float(eta / biasCorrection1)
        let biasCorrection2Root = Float((1 - pow(beta2, tau)).squareRoot())
        let firstWeight = Float(1 - beta1), secondWeight = Float(1 - beta2)
        let beta2 = Float(self.beta2), epsilon = Float(self.epsilon)
        parameters.withUnsafeMutableBufferPointer { thetaBuffer in
            gradient.withUnsafeBufferPointer { gradientBuffer in
                state.firstMoment.withUnsafeMutableBufferPointer { firstBuffer in
                    state.secondMoment.withUnsafeMutableBufferPointer { secondBuffer in
                        let theta = thetaBuffer.baseAddress!, g = gradientBuffer.baseAddress!
                        let m = firstBuffer.baseAddress!, v = secondBuffer.baseAddress!
                        for range in ranges {
                            var i = range.lowerBound
                            let end = range.upperBound
                            while i < end {
                                let gi = g[i]
                                let mi = m[i] + firstWeight * (gi - m[i])
                                let vi = beta2 * v[i] + secondWeight * gi * gi
                                m[i] = mi
                                v[i] = vi
                                let denominator = vi.squareRoot() / biasCorrection2Root + epsilon
                                theta[i] = theta[i] * decayFactor - stepSize * (mi / denominator)
                                i &+= 1
                            }
                        }
                    }
                }
            }
        }
    }
}
