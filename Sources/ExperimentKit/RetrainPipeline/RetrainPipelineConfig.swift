import Analysis
import Artifacts
import EPK

/// `retrain-pipeline` config (docs/METHOD.md §16).
public struct RetrainPipelineConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var run: String
    public var history: String
    /// Checkpoints `step_to` whose kept components seed the retraining.
    public var startSteps: [Int]
    public var seeds: [Int]
    /// Labels from "att.+lin1", "emb.+lin2+dec.", "att." (all three when absent).
    public var configurations: [String]?
    public var maxEpochs: Int
    /// Standard deviation of the re-initialisation (0.1 in the original).
    public var initStd: Double

    enum CodingKeys: String, CodingKey {
        case run, history, startSteps = "start_steps", seeds, configurations, maxEpochs = "max_epochs", initStd =
            "init_std"
    }

    public func validate() throws {
        try ConfigError.require(
            !startSteps.isEmpty && startSteps.allSatisfy { $0 >= 0 }, keyPath: "start_steps",
            expected: "non-negative steps", found: startSteps.min() ?? -1)
        try ConfigError.require(
            !seeds.isEmpty && seeds.allSatisfy { $0 >= 0 }, keyPath: "seeds", expected: "non-negative seeds",
            found: seeds.min() ?? -1)
        try ConfigError.require(
            maxEpochs >= 0, keyPath: "max_epochs", expected: "a non-negative integer", found: maxEpochs)
        try ConfigError.require(initStd > 0, keyPath: "init_std", expected: "a positive number", found: initStd)
        let known = ParameterSurgery.retrainConfigurations.map(\.label)
        for c in configurations ?? [] where !known.contains(c) {
            throw ConfigError.outOfRange(
                keyPath: "configurations", expected: known.map { "'\($0)'" }.joined(separator: ", "), found: c)
        }
    }
}
