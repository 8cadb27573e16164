import Artifacts
import EPK

/// `component-attribution` config (docs/METHOD.md §16): `Configs/component-attribution.json` and `-quick`.
public struct ComponentAttributionConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// Output run name: `results/component-attribution/<run>/` unless `--out` is given.
    public var run: String
    /// The modulo history to analyse.
    public var history: String
    /// Validation points (the first `validation_count` of the validation split) and training points (the first
    /// `train_count` of the training split, explained through the ordinary test path, docs/METHOD.md §3).
    public var validationCount: Int
    public var trainCount: Int
    /// Steps per parameter-attribution interval (the original used 50 with T = 1939).
    public var snapshotInterval: Int
    /// Integration rule per step (use the early-step rule: the first modulo steps are very non-linear).
    public var quadrature: QuadratureConfig
    /// Snapshot start steps drawn as heatmaps and PCA (each is rounded down to its interval).
    public var figureSteps: [Int]
    /// Periods of the original's reference matrix (docs/METHOD.md §16, "Nanda's key frequencies" 14, 35, 41, 42, 52).
    public var referencePeriods: [Int]
    /// How many dominant embedding frequencies to call the run's own key frequencies.
    public var keyFrequencyCount: Int
    public var memoryBudgetGb: Double

    enum CodingKeys: String, CodingKey {
        case run, history, validationCount = "validation_count", trainCount = "train_count"
        case snapshotInterval = "snapshot_interval", quadrature, figureSteps = "figure_steps"
        case referencePeriods = "reference_periods", keyFrequencyCount = "key_frequency_count"
        case memoryBudgetGb = "memory_budget_gb"
    }

    public func validate() throws {
        try ConfigError.require(
            validationCount >= 2, keyPath: "validation_count", expected: "an integer ≥ 2", found: validationCount)
        try ConfigError.require(
            trainCount >= 1, keyPath: "train_count", expected: "a positive integer", found: trainCount)
        try ConfigError.require(
            snapshotInterval >= 1, keyPath: "snapshot_interval", expected: "a positive integer", found: snapshotInterval
        )
        try ConfigError.require(
            quadrature.points >= 1, keyPath: "quadrature.points", expected: "an integer ≥ 1", found: quadrature.points)
        try ConfigError.require(
            !referencePeriods.isEmpty && referencePeriods.allSatisfy { $0 >= 2 }, keyPath: "reference_periods",
            expected: "periods ≥ 2", found: referencePeriods.min() ?? 0)
        try ConfigError.require(
            keyFrequencyCount >= 1 && keyFrequencyCount <= 56, keyPath: "key_frequency_count",
            expected: "an integer in 1…56", found: keyFrequencyCount)
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
    }
}
