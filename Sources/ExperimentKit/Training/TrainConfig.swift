import Artifacts
import Foundation
import History
import Optim

/// The optimizer block of a config: `{"kind": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-3}` or
/// `{"kind": "adamw", "lr": 1e-3, "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "weight_decay": 4.0}`.
public struct OptimizerConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var kind: String
    public var lr: Double
    public var momentum: Double?
    public var dampening: Double?
    public var beta1: Double?
    public var beta2: Double?
    public var eps: Double?
    public var weightDecay: Double

    enum CodingKeys: String, CodingKey {
        case kind, lr, momentum, dampening, beta1, beta2, eps, weightDecay = "weight_decay"
    }

    public func validate() throws {
        if !["sgd", "adamw"].contains(kind) {
            throw ConfigError.outOfRange(keyPath: "optimizer.kind", expected: "'sgd' or 'adamw'", found: kind)
        }
        try ConfigError.require(lr >= 0, keyPath: "optimizer.lr", expected: "a non-negative number", found: lr)
        try ConfigError.require(
            weightDecay >= 0, keyPath: "optimizer.weight_decay", expected: "a non-negative number", found: weightDecay)
        if let m = momentum {
            try ConfigError.require(
                m >= 0 && m < 1, keyPath: "optimizer.momentum", expected: "a number in [0, 1)", found: m)
        }
        if let b = beta1 {
            try ConfigError.require(
                b >= 0 && b < 1, keyPath: "optimizer.beta1", expected: "a number in [0, 1)", found: b)
        }
        if let b = beta2 {
            try ConfigError.require(
                b >= 0 && b < 1, keyPath: "optimizer.beta2", expected: "a number in [0, 1)", found: b)
        }
    }

    /// The history's optimizer description (PyTorch defaults for absent constants).
    public var spec: OptimizerSpec {
        kind == "sgd"
            ? .sgd(momentum: momentum ?? 0, dampening: dampening ?? 0, weightDecay: weightDecay)
            : .adamw(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: eps ?? 1e-8, weightDecay: weightDecay)
    }
}

/// The learning-rate schedule block: `{"kind": "constant"}`, `{"kind": "triangle", "peak_step": 195,
/// "final_step": 468}` (docs/METHOD.md §14) or `{"kind": "piecewise-linear", "points": [[0, 0], [100, 1]]}`.
public struct ScheduleConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var kind: String
    public var peakStep: Int?
    public var finalStep: Int?
    public var points: [[Double]]?

    enum CodingKeys: String, CodingKey { case kind, peakStep = "peak_step", finalStep = "final_step", points }

    public func validate() throws {
        switch kind {
        case "constant": break
        case "triangle":
            let peak = peakStep ?? -1, final = finalStep ?? -1
            try ConfigError.require(
                peak > 0, keyPath: "schedule.peak_step", expected: "a positive integer", found: peak)
            try ConfigError.require(
                final > peak, keyPath: "schedule.final_step", expected: "an integer above peak_step", found: final)
        case "piecewise-linear":
            let pts = points ?? []
            try ConfigError.require(
                pts.count >= 2 && pts.allSatisfy { $0.count == 2 }, keyPath: "schedule.points",
                expected: "at least two [step, multiplier] pairs", found: pts.count)
        default:
            throw ConfigError.outOfRange(
                keyPath: "schedule.kind", expected: "'constant', 'triangle' or 'piecewise-linear'", found: kind)
        }
    }

    public func schedule(base: Double) -> LearningRateSchedule {
        switch kind {
        case "triangle": return .triangle(base: base, peakStep: peakStep!, finalStep: finalStep!)
        case "piecewise-linear":
            return .piecewiseLinear(points!.map { (step: Int($0[0]), multiplier: $0[1]) }, base: base)
        default: return .constant(base)
        }
    }
}

/// The training block: batching, length, augmentation, stopping and seed.
public struct TrainingConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var batchSize: Int
    public var dropLast: Bool
    /// Train for this many epochs (exclusive with `max_steps`; one of the two is required).
    public var epochs: Int?
    public var maxSteps: Int?
    public var flipProbability: Double?
    public var stopWhenPerfect: Bool?
    public var seed: Int
    /// Steps between resume points in the history file.
    public var flushEvery: Int?

    enum CodingKeys: String, CodingKey {
        case batchSize = "batch_size", dropLast = "drop_last", epochs, maxSteps = "max_steps"
        case flipProbability = "flip_probability", stopWhenPerfect = "stop_when_perfect", seed, flushEvery =
            "flush_every"
    }

    public func validate() throws {
        try ConfigError.require(
            batchSize >= 1, keyPath: "training.batch_size", expected: "a positive integer", found: batchSize)
        try ConfigError.require(
            (epochs == nil) != (maxSteps == nil), keyPath: "training.epochs",
            expected: "exactly one of epochs and max_steps", found: epochs ?? 0)
        if let e = epochs {
            try ConfigError.require(e >= 1, keyPath: "training.epochs", expected: "a positive integer", found: e)
        }
        if let s = maxSteps {
            try ConfigError.require(s >= 1, keyPath: "training.max_steps", expected: "a positive integer", found: s)
        }
        if let p = flipProbability {
            try ConfigError.require(
                p >= 0 && p <= 1, keyPath: "training.flip_probability", expected: "a probability in [0, 1]", found: p)
        }
        if let f = flushEvery {
            try ConfigError.require(f >= 1, keyPath: "training.flush_every", expected: "a positive integer", found: f)
        }
    }
}

/// The data block of every experiment; each experiment uses the keys that apply to it and the strict loader
/// refuses the rest (see each experiment's `validate`).
/// - modulo: `prime`, `split_seed`, `train_count`, `validation_count`;
/// - cifar2: `require_complete` (refuse a partial CIFAR-10 copy), `train_limit`, `test_limit`;
/// - mnist: `train_count`, `test_count`, `subset_seed`;
/// - custom: `kind` = "hdf5", `path`, `inputs`, `labels`, and an evaluation split: `evaluation_path` (another file)
///   and/or `evaluation_inputs` + `evaluation_labels` (other datasets), or `held_out_fraction` + `split_seed`
///   (see `HDF5Data`).
public struct DataConfig: Codable, Equatable, Sendable {
    public var kind: String?
    public var path: String?
    public var inputs: String?
    public var labels: String?
    public var evaluationPath: String?
    public var evaluationInputs: String?
    public var evaluationLabels: String?
    public var heldOutFraction: Double?
    public var prime: Int?
    public var splitSeed: Int?
    public var trainCount: Int?
    public var validationCount: Int?
    public var testCount: Int?
    public var subsetSeed: Int?
    public var requireComplete: Bool?
    public var trainLimit: Int?
    public var testLimit: Int?

    enum CodingKeys: String, CodingKey {
        case prime, splitSeed = "split_seed", trainCount = "train_count", validationCount = "validation_count"
        case testCount = "test_count", subsetSeed = "subset_seed", requireComplete = "require_complete"
        case trainLimit = "train_limit", testLimit = "test_limit"
        case kind, path, inputs, labels, evaluationPath = "evaluation_path", heldOutFraction = "held_out_fraction"
        case evaluationInputs = "evaluation_inputs", evaluationLabels = "evaluation_labels"
    }
}

/// A training config (`Configs/modulo.json`, `cifar2.json`, `mnist.json` and their variants).
public struct TrainConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// Experiment name: "modulo", "cifar2", "mnist", or "custom" (HDF5 data and a model spec).
    public var experiment: String
    /// Run name; outputs go to `results/<experiment>/<run>/` unless `--out` is given.
    public var run: String
    public var data: DataConfig
    public var optimizer: OptimizerConfig
    public var schedule: ScheduleConfig
    public var training: TrainingConfig
    /// Optional architecture spec (inline or a `Configs/models/*.json` path) replacing the experiment's built-in model.
    public var model: ModelReference?

    public func validate() throws {
        try Experiment.requireKnown(experiment)
        if let k = data.kind, k != "hdf5" {
            throw ConfigError.outOfRange(keyPath: "data.kind", expected: "'hdf5'", found: k)
        }
        if (experiment == "custom") != (data.kind == "hdf5") {
            throw ConfigError(
                keyPath: "data.kind",
                message: "experiment 'custom' goes with \"kind\": \"hdf5\" data, and HDF5 data with experiment 'custom'"
            )
        }
        if experiment == "custom", model == nil {
            throw ConfigError(
                keyPath: "model",
                message: "experiment 'custom' needs a model spec (inline or a Configs/models/*.json path)")
        }
        try optimizer.validate(); try schedule.validate(); try training.validate()
        try validateLimits()
    }
}
