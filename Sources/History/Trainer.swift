import Data
import Foundation
import NN
import Optim
import Tensor

/// How a run is trained (docs/METHOD.md §14): batching, schedule, optimizer, augmentation and stopping.
public struct TrainingPlan: Sendable {
    public var optimizer: OptimizerSpec
    public var schedule: LearningRateSchedule
    /// Batch size B; equal to N for full-batch training.
    public var batchSize: Int
    /// Drop the last incomplete batch of each epoch (the CIFAR recipe; keeps B constant as the EPK assumes).
    public var dropLast: Bool
    /// Upper bound on optimizer steps T.
    public var maxSteps: Int
    /// Probability of a horizontal flip per sample (0 = no augmentation). Draws are recorded, never re-drawn.
    public var flipProbability: Double
    /// Stop at the first epoch end where train and validation accuracy are both exactly 1 (docs/METHOD.md §14).
    public var stopWhenPerfect: Bool
    /// Seed of the batch order, augmentation and initialisation.
    public var seed: UInt64

    public init(
        optimizer: OptimizerSpec, schedule: LearningRateSchedule, batchSize: Int, dropLast: Bool,
        maxSteps: Int, flipProbability: Double = 0, stopWhenPerfect: Bool = false, seed: UInt64
    ) {
        self.optimizer = optimizer; self.schedule = schedule; self.batchSize = batchSize; self.dropLast = dropLast
        self.maxSteps = maxSteps; self.flipProbability = flipProbability; self.stopWhenPerfect = stopWhenPerfect
        self.seed = seed
    }

    /// Steps per epoch for N training samples.
    public func stepsPerEpoch(trainingCount n: Int) -> Int {
        dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
    }
}

/// One recorded optimizer step.
public struct RecordedStep: Sendable {
    public var parameters: [Float]  // θ_{t+1}
    public var learningRate: Float  // η_t
    public var weightDecay: Float  // λ
    public var indices: [Int]  // batch of step t
    public var flips: [Bool]?  // augmentation draws of step t
    public var optimizerQuantity: [Float]  // v_t (AdamW) or R_t (SGD)
    public var loss: Double  // batch loss at θ_t
}

/// Per-epoch metrics (docs/METHOD.md §14: loss, accuracy, Σ‖θ_k‖ "reg").
public struct EpochMetrics: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    /// Σ over components of ‖θ_k‖₂.
    public var parameterNorm: Double
}

/// Everything needed to continue a killed run bit-identically from step `step`.
public struct ResumeState: Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    public var positionInEpoch: Int
    public var permutation: [Int]
    public var rngState: [UInt64]
    public var optimizer: OptimizerState
    public var decayBuffer: [Float]
    public var parameters: [Float]
}

/// Where a trainer sends what it records (the HDF5 history file, or memory).
public protocol HistoryWriter: AnyObject {
    func appendStep(_ step: RecordedStep) throws
    func appendEpoch(_ metrics: EpochMetrics) throws
    /// Persists a consistent resume point (called every `flushEvery` steps and at the end).
    func checkpoint(_ state: ResumeState) throws
}

/// Trains a model with history (docs/METHOD.md §2).
public final class Trainer {
    public let model: Model
    public let train: LabeledDataset
    public let validation: LabeledDataset?
    public let plan: TrainingPlan
    /// Steps between resume points.
    public var flushEvery: Int = 50
    /// Called after each step with (step, T bound, batch loss) and after each epoch with its metrics.
    public var onStep: ((Int, Int, Double) -> Void)?
    public var onEpoch: ((EpochMetrics) -> Void)?

    public init(model: Model, train: LabeledDataset, validation: LabeledDataset?, plan: TrainingPlan) {
        self.model = model; self.train = train; self.validation = validation; self.plan = plan
    }

    /// The initial parameters of this plan's seed (PyTorch-default initialisation).
    public func initialParameters() -> [Float] {
        var rng = RNG(seed: plan.seed)
        return model.initialParameters(rng: &rng)
    }

    /// Runs (or resumes) training, writing every step to `writer`. Returns the number of steps taken.
    @discardableResult
    public func run(writer: HistoryWriter, resume: ResumeState? = nil) throws -> Int {
        let N = train.count, B = plan.batchSize, P = model.parameterCount
        precondition(B >= 1 && B <= N, "batch size \(B) must be in 1…\(N)")
        let perEpoch = plan.stepsPerEpoch(trainingCount: N)
        let activeRanges = model.activeComponents.map { model.layout.component(named: $0)!.range }

        var optimizer: Optimizer
        switch plan.optimizer {
        case .sgd(let mu, let damp, let wd):
            optimizer = SGD(momentum: mu, dampening: damp, weightDecay: wd, activeRanges: activeRanges)
        case .adamw(let b1, let b2, let eps, let wd):
            optimizer = AdamW(beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, activeRanges: activeRanges)
        }

        // Initialisation draws come from the seed's stream first; batch order and flips continue it.
        var rng = RNG(seed: plan.seed)
        var theta = model.initialParameters(rng: &rng)
        var step = 0, epoch = 0, position = 0
        var permutation: [Int] = []
        var decay = [Float](repeating: 0, count: P)
        if let r = resume {
            theta = r.parameters; step = r.step; epoch = r.epoch; position = r.positionInEpoch
            permutation = r.permutation; rng = RNG(state: r.rngState); optimizer.state = r.optimizer
            decay = r.decayBuffer
        }
        func resumePoint() -> ResumeState {
            ResumeState(
                step: step, epoch: epoch, positionInEpoch: position, permutation: permutation,
                rngState: rng.state, optimizer: optimizer.state, decayBuffer: decay, parameters: theta)
        }

        while step < plan.maxSteps {
            if position == 0 { permutation = rng.permutation(N) }
            let indices = Array(permutation[(position * B)..<min(N, (position + 1) * B)])
            var inputs = train.inputs.gatherRows(indices)
            var flips: [Bool]? = nil
            if plan.flipProbability > 0 {
                let mask = (0..<indices.count).map { _ in rng.uniformDouble() < plan.flipProbability }
                HorizontalFlip.apply(to: &inputs, mask: mask)
                flips = mask
            }
            let labels = indices.map { train.labels[$0] }
            let (loss, gradient) = model.lossAndGradient(parameters: theta, inputs: inputs, labels: labels)
            let lr = plan.schedule.learningRate(atStep: step)
            try Divergence.check(step: step, loss: loss, gradient: gradient, learningRate: lr)

            // The per-step optimizer quantity of the decomposition (computed from θ_t, before the update).
            let quantity: [Float]
            switch plan.optimizer {
            case .sgd(let mu, _, let wd):
                // R_t = μ R_{t−1} + c_t λ θ_t with c_t the buffer's gradient weight (1 at the first step).
                let c = Float(plan.optimizer.gradientWeight(step: step)), m = Float(mu), l = Float(wd)
                let weight = c * l, first = step == 0
                decay.withUnsafeMutableBufferPointer { r in
                    theta.withUnsafeBufferPointer { t in
                        for range in activeRanges {
                            if first {
                                for p in range { r[p] = weight * t[p] }
                            } else {
                                for p in range { r[p] = m * r[p] + weight * t[p] }
                            }
                        }
                    }
                }
                quantity = decay
                optimizer.step(parameters: &theta, gradient: gradient, learningRate: lr)
            case .adamw:
                optimizer.step(parameters: &theta, gradient: gradient, learningRate: lr)
                quantity =
                    optimizer.state.secondMoment.isEmpty
                    ? [Float](repeating: 0, count: P) : optimizer.state.secondMoment
            }
            try Divergence.check(step: step, parameters: theta, quantity: quantity)
            try writer.appendStep(
                RecordedStep(
                    parameters: theta, learningRate: Float(lr), weightDecay: Float(optimizer.weightDecay),
                    indices: indices, flips: flips, optimizerQuantity: quantity, loss: loss))
            step += 1
            position += 1
            onStep?(step, plan.maxSteps, loss)

            var stop = false
            if position == perEpoch {
                position = 0
                epoch += 1
                let metrics = evaluate(theta, epoch: epoch, step: step)
                try writer.appendEpoch(metrics)
                onEpoch?(metrics)
                stop = plan.stopWhenPerfect && metrics.trainAccuracy == 1 && metrics.validationAccuracy == 1
            }
            if stop || step % flushEvery == 0 || step == plan.maxSteps { try writer.checkpoint(resumePoint()) }
            if stop { break }
        }
        return step
    }

    /// Epoch-end metrics on the full training and validation sets.
    public func evaluate(_ theta: [Float], epoch: Int, step: Int) -> EpochMetrics {
        let tr = model.evaluate(parameters: theta, inputs: train.inputs, labels: train.labels)
        let va =
            validation.map { model.evaluate(parameters: theta, inputs: $0.inputs, labels: $0.labels) } ?? (.nan, .nan)
        var norm = 0.0
        theta.withPointer { p in for c in model.layout.components { norm += Vector.norm(p + c.offset, count: c.count) }
        }
        return EpochMetrics(
            epoch: epoch, step: step, trainLoss: tr.loss, trainAccuracy: tr.accuracy,
            validationLoss: va.0, validationAccuracy: va.1, parameterNorm: norm)
    }
}
