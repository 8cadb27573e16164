import Artifacts
import Foundation
import NN

/// `train-lm` config (Configs/lm.json, Configs/lm-quick.json): a character-level decoder-only transformer on the
/// KJV corpus, trained with AdamW, with a sparse history for the step explainer (docs/METHOD.md §19).
public struct LMConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public struct DataBlock: Codable, Equatable, Sendable {
        public var file: String
        public var heldOutFraction: Double
        public var splitSeed: Int
        /// Use only the first this many verses (tiny test configs).
        public var verseLimit: Int?
        enum CodingKeys: String, CodingKey {
            case file, heldOutFraction = "held_out_fraction", splitSeed = "split_seed", verseLimit = "verse_limit"
        }
    }
    public struct ModelBlock: Codable, Equatable, Sendable {
        public var contextLength: Int
        public var modelDimensions: Int
        public var layers: Int
        public var heads: Int
        enum CodingKeys: String, CodingKey {
            case contextLength = "context_length", modelDimensions = "model_dimensions", layers, heads
        }
    }
    public struct OptimizerBlock: Codable, Equatable, Sendable {
        public var lr: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double
        public var weightDecay: Double
        enum CodingKeys: String, CodingKey { case lr, beta1, beta2, eps, weightDecay = "weight_decay" }
    }
    public struct TrainingBlock: Codable, Equatable, Sendable {
        public var steps: Int
        public var batchSize: Int
        /// Linear warm-up from 0 to lr over this many steps, then linear decay to `final_lr_fraction`·lr at the end.
        public var warmupSteps: Int
        public var finalLrFraction: Double
        public var seed: Int
        /// θ_t and the AdamW state (exp_avg, exp_avg_sq, step) are stored for every t divisible by this, and at T.
        public var checkpointEvery: Int
        /// Steps stored in full detail: θ_t, θ_{t+1}, g_t, m_{t−1}, m_t, v_t, lr, batch offsets.
        public var detailSteps: [Int]
        public var evalEvery: Int
        public var evalWindows: Int
        enum CodingKeys: String, CodingKey {
            case steps, batchSize = "batch_size", warmupSteps = "warmup_steps", finalLrFraction = "final_lr_fraction",
                seed
            case checkpointEvery = "checkpoint_every", detailSteps = "detail_steps", evalEvery = "eval_every",
                evalWindows = "eval_windows"
        }
    }

    public var experiment: String
    public var run: String
    public var data: DataBlock
    public var model: ModelBlock
    public var optimizer: OptimizerBlock
    public var training: TrainingBlock

    public func validate() throws {
        if experiment != "lm" {
            throw ConfigError.outOfRange(keyPath: "experiment", expected: "'lm'", found: experiment)
        }
        try ConfigError.require(
            data.heldOutFraction > 0 && data.heldOutFraction < 1, keyPath: "data.held_out_fraction",
            expected: "a number in (0, 1)", found: data.heldOutFraction)
        try ConfigError.require(
            model.contextLength >= 2, keyPath: "model.context_length", expected: "an integer ≥ 2",
            found: model.contextLength)
        try ConfigError.require(
            model.layers >= 1, keyPath: "model.layers", expected: "an integer ≥ 1", found: model.layers)
        try ConfigError.require(
            model.heads >= 1 && model.modelDimensions % model.heads == 0, keyPath: "model.heads",
            expected: "a divisor of model_dimensions", found: model.heads)
        try ConfigError.require(
            optimizer.lr > 0, keyPath: "optimizer.lr", expected: "a positive number", found: optimizer.lr)
        try ConfigError.require(
            optimizer.beta1 >= 0 && optimizer.beta1 < 1, keyPath: "optimizer.beta1", expected: "a number in [0, 1)",
            found: optimizer.beta1)
        try ConfigError.require(
            optimizer.beta2 >= 0 && optimizer.beta2 < 1, keyPath: "optimizer.beta2", expected: "a number in [0, 1)",
            found: optimizer.beta2)
        try ConfigError.require(
            optimizer.weightDecay >= 0, keyPath: "optimizer.weight_decay", expected: "a non-negative number",
            found: optimizer.weightDecay)
        try ConfigError.require(
            training.steps >= 1, keyPath: "training.steps", expected: "an integer ≥ 1", found: training.steps)
        try ConfigError.require(
            training.seed >= 0, keyPath: "training.seed", expected: "a non-negative integer", found: training.seed)
        try ConfigError.require(
            data.splitSeed >= 0, keyPath: "data.split_seed", expected: "a non-negative integer", found: data.splitSeed)
        try ConfigError.require(
            training.batchSize >= 1, keyPath: "training.batch_size", expected: "an integer ≥ 1",
            found: training.batchSize)
        try ConfigError.require(
            training.checkpointEvery >= 1, keyPath: "training.checkpoint_every", expected: "an integer ≥ 1",
            found: training.checkpointEvery)
        try ConfigError.require(
            training.evalEvery >= 1, keyPath: "training.eval_every", expected: "an integer ≥ 1",
            found: training.evalEvery)
        try ConfigError.require(
            training.evalWindows >= 1, keyPath: "training.eval_windows", expected: "an integer ≥ 1",
            found: training.evalWindows)
        for t in training.detailSteps {
            try ConfigError.require(
                t >= 0 && t < training.steps, keyPath: "training.detail_steps",
                expected: "steps in 0..<\(training.steps)", found: t)
        }
    }

    /// The model shape for a corpus with `vocabularySize` tokens.
    public func shape(vocabularySize: Int) -> TransformerLM.Shape {
        TransformerLM.Shape(
            vocabularySize: vocabularySize, contextLength: model.contextLength,
            modelDimensions: model.modelDimensions, layers: model.layers, heads: model.heads)
    }

    /// η_t: warm-up, then linear decay.
    public func learningRate(step t: Int) -> Double {
        let w = training.warmupSteps, T = training.steps
        if t < w { return optimizer.lr * Double(t + 1) / Double(w) }
        let progress = Double(t - w) / Double(max(1, T - w))
        return optimizer.lr * (1 - (1 - training.finalLrFraction) * progress)
    }

    public func loadCorpus(dataDirectory: String?) throws -> CharacterCorpus {
        try CharacterCorpus.load(
            dataDirectory: dataDirectory, file: data.file, heldOutFraction: data.heldOutFraction,
            seed: UInt64(data.splitSeed), verseLimit: data.verseLimit)
    }
}
