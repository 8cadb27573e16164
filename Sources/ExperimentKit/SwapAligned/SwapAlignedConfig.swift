import Artifacts
import EPK

/// `swap-aligned` config (docs/METHOD.md §16).
public struct SwapAlignedConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var run: String
    public var history: String
    /// Steps i = 0, every, 2·every, … < T.
    public var stepEvery: Int
    /// Steps whose confusion matrices are drawn.
    public var confusionSteps: [Int]
    /// Fix the "Emb." keep-list to the embedding alone (the original also keeps linear2.weight).
    public var embeddingOnly: Bool

    enum CodingKeys: String, CodingKey {
        case run, history, stepEvery = "step_every", confusionSteps = "confusion_steps", embeddingOnly =
            "embedding_only"
    }

    public func validate() throws {
        try ConfigError.require(stepEvery >= 1, keyPath: "step_every", expected: "a positive integer", found: stepEvery)
        try ConfigError.require(
            confusionSteps.allSatisfy { $0 >= 0 }, keyPath: "confusion_steps", expected: "non-negative steps",
            found: confusionSteps.min() ?? 0)
    }
}
