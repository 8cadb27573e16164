import Data
import Foundation
import History
import NN
import Optim
import Tensor

/// Splicing parameters between checkpoints (docs/METHOD.md §16) and re-initialising components for retraining (docs/METHOD.md §16).
public enum ParameterSurgery {
    /// The keep-lists of the swap experiment (docs/METHOD.md §16) as intended: the original's "linea1.bias" typo and its
    /// duplicated keys are not reproduced, so "All but att." keeps linear1.bias and the decoder.
    /// "Emb." keeps linear2.weight besides the embedding, as the original lists it; `embeddingOnly` drops it.
    public static func swapKeepLists(embeddingOnly: Bool = false) -> [(label: String, keep: [String])] {
        let emb = ["input_emb.weight"], lin1 = ["linear1.weight", "linear1.bias"]
        let lin2 = ["linear2.weight", "linear2.bias"], dec = ["decoder.weight"]
        return [
            ("Emb.+Lin2+Dec.", emb + lin2 + dec),
            ("Decoder", dec + lin2),
            ("All but att.", emb + lin1 + lin2 + dec),
            ("Emb.", embeddingOnly ? emb : emb + ["linear2.weight"]),
            ("Emb.+Dec.", emb + dec),
        ]
    }

    /// The retraining configurations of docs/METHOD.md §16: label → components re-initialised (all others are kept from
    /// checkpoint `step_to`). The unused positional table is neither kept nor randomised in effect: it stays at its
    /// checkpoint value (it has no gradient and no influence on the output).
    public static let retrainConfigurations: [(label: String, randomise: [String])] = [
        ("att.+lin1", attention + ["linear1.weight", "linear1.bias"]),
        ("emb.+lin2+dec.", ["input_emb.weight", "linear2.weight", "linear2.bias", "decoder.weight"]),
        ("att.", attention),
    ]

    static let attention = (1...4).map { "head\($0)_encoder.weight" } + (1...4).map { "head\($0)_decoder.weight" }

    /// Final parameters with every component **not** in `keep` replaced by its value in `other` (docs/METHOD.md §16: start
    /// from the final model, swap in step i for all but the kept components).
    public static func splice(final: [Float], other: [Float], keep: [String], layout: ParameterLayout) throws -> [Float]
    {
        precondition(
            final.count == layout.count && other.count == layout.count,
            "splice: parameter vectors do not match the layout")
        let kept = Set(keep)
        for name in kept where layout.component(named: name) == nil {
            throw ParameterSurgeryError.unknownComponent(name, known: layout.names)
        }
        var out = final
        for c in layout.components where !kept.contains(c.name) { out.replaceSubrange(c.range, with: other[c.range]) }
        return out
    }

    /// `parameters` with every component in `randomise` replaced by N(0, std²) draws from `rng`, drawn in layout
    /// order (docs/METHOD.md §16 with the seeding done before the draws, so a seed fixes the re-initialisation).
    public static func reinitialise(
        _ parameters: [Float], randomise: [String], layout: ParameterLayout, std: Float,
        rng: inout RNG
    ) throws -> [Float] {
        let chosen = Set(randomise)
        for name in chosen where layout.component(named: name) == nil {
            throw ParameterSurgeryError.unknownComponent(name, known: layout.names)
        }
        var out = parameters
        for c in layout.components where chosen.contains(c.name) {
            out.withUnsafeMutableBufferPointer { buf in
                rng.fillNormal(UnsafeMutableBufferPointer(rebasing: buf[c.range]), mean: 0, std: std)
            }
        }
        return out
    }

    /// Validation accuracy, KL(final ‖ model) and predictions of a parameter vector against reference log-probs.
    public struct Comparison: Sendable {
        public var accuracy: Double
        /// Σ_c p_ref (log p_ref − log p) averaged over samples ("batchmean"; PyTorch's `reduction="mean"` would
        /// further divide by the 115 classes).
        public var klBatchMean: Double
        public var predictions: [Int]
    }

    /// Compares `parameters` with the reference log-probabilities `reference` (n × C) on `inputs` / `labels`.
    public static func compare(
        model: Model, parameters: [Float], inputs: Tensor, labels: [Int], reference: [Float]
    ) -> Comparison {
        let f = model.forwardChunked(parameters: parameters, inputs: inputs).storage
        let C = model.classCount, n = labels.count
        var correct = 0, kl = 0.0
        var predictions = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var best = 0
            for c in 0..<C {
                if f[i * C + c] > f[i * C + best] { best = c }
                let lr = Double(reference[i * C + c])
                if lr > -80 { kl += exp(lr) * (lr - Double(f[i * C + c])) }
            }
            predictions[i] = best
            if best == labels[i] { correct += 1 }
        }
        return Comparison(
            accuracy: Double(correct) / Double(max(n, 1)), klBatchMean: kl / Double(max(n, 1)), predictions: predictions
        )
    }

    /// Confusion counts (true × predicted), row-major `classes × classes`.
    public static func confusion(labels: [Int], predictions: [Int], classes: Int) -> [Double] {
        var m = [Double](repeating: 0, count: classes * classes)
        for (y, p) in zip(labels, predictions) { m[y * classes + p] += 1 }
        return m
    }
}

public enum ParameterSurgeryError: Error, CustomStringConvertible {
    case unknownComponent(String, known: [String])
    public var description: String {
        switch self {
        case .unknownComponent(let n, let known):
            return "unknown component '\(n)'; the model has \(known.joined(separator: ", "))"
        }
    }
}

/// Retraining from a partly re-initialised checkpoint (docs/METHOD.md §16): trains all parameters with a fresh AdamW, full
/// batch, stopping at 100 % train and validation accuracy, and keeps the per-epoch accuracies.
public enum Retraining {
    public struct Run: Sendable {
        /// Per epoch 0 … E: epoch 0 is the start point before any update.
        public var trainAccuracy: [Double]
        public var validationAccuracy: [Double]
        public var finalParameters: [Float]
        public var initialParameters: [Float]
        /// Epochs trained (E).
        public var epochs: Int { trainAccuracy.count - 1 }
    }

    /// Keeps all components of `start` except `randomise`, which get N(0, std²) from RNG(seed); then trains all
    /// parameters with a fresh AdamW of the history's constants (`optimizer`) at learning rate `lr`, full batch
    /// (so no batch order is involved), for at most `maxEpochs`, stopping at the first epoch with 100 % train and
    /// validation accuracy (docs/METHOD.md §16). The unused components of the model get no update, as in training.
    public static func run(
        model: Model, start: [Float], randomise: [String], std: Float, seed: UInt64,
        optimizer spec: OptimizerSpec, lr: Double, maxEpochs: Int,
        train: LabeledDataset, validation: LabeledDataset,
        onEpoch: ((Int, Double, Double) -> Void)? = nil
    ) throws -> Run {
        var rng = RNG(seed: seed)
        let initial = try ParameterSurgery.reinitialise(
            start, randomise: randomise, layout: model.layout, std: std, rng: &rng)
        let activeRanges = model.activeComponents.map { model.layout.component(named: $0)!.range }
        var optimizer: Optimizer
        switch spec {
        case .adamw(let b1, let b2, let eps, let wd):
            optimizer = AdamW(beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, activeRanges: activeRanges)
        case .sgd(let mu, let damp, let wd):
            optimizer = SGD(momentum: mu, dampening: damp, weightDecay: wd, activeRanges: activeRanges)
        }
        func accuracies(_ theta: [Float]) -> (Double, Double) {
            (
                model.evaluate(parameters: theta, inputs: train.inputs, labels: train.labels).accuracy,
                model.evaluate(parameters: theta, inputs: validation.inputs, labels: validation.labels).accuracy
            )
        }
        var theta = initial
        var (trainAcc, valAcc) = accuracies(theta)
        var trainHistory = [trainAcc], validationHistory = [valAcc]
        var epoch = 0
        while epoch < maxEpochs && !(trainAcc == 1 && valAcc == 1) {
            let (_, gradient) = model.lossAndGradient(parameters: theta, inputs: train.inputs, labels: train.labels)
            optimizer.step(parameters: &theta, gradient: gradient, learningRate: lr)
            epoch += 1
            (trainAcc, valAcc) = accuracies(theta)
            trainHistory.append(trainAcc); validationHistory.append(valAcc)
            onEpoch?(epoch, trainAcc, valAcc)
        }
        return Run(
            trainAccuracy: trainHistory, validationAccuracy: validationHistory, finalParameters: theta,
            initialParameters: initial)
    }
}
