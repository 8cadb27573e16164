import Artifacts
import Data
import EPK

/// The split test points are taken from.
public enum TestSplit: String, Codable, Sendable {
    case evaluation, train

    /// This split's samples in `data`.
    public func samples(of data: ExperimentData) -> LabeledDataset { self == .train ? data.train : data.evaluation }
}

/// A validate-epk config (`Configs/<experiment>-epk.json` and `-quick` variants).
public struct EPKConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// "modulo", "cifar2", "mnist" or "custom".
    public var experiment: String
    /// Output run name: `results/<experiment>-epk/<run>/` unless `--out` is given.
    public var run: String
    /// The training history to replay (`--history` overrides it).
    public var history: String
    /// Test points: `test_count` consecutive samples of the `test_split` from `test_offset`.
    public var testCount: Int
    public var testOffset: Int?
    /// Where the test points come from: the held-out "evaluation" split (default) or the "train" split, to see how
    /// the training samples explain each other (docs/METHOD.md §6).
    public var testSplit: TestSplit?
    /// "all", "target" or "predicted" (docs/METHOD.md §8).
    public var classes: ClassSelection
    /// The integration rule.
    public var quadrature: QuadratureConfig
    /// Rows of the data/parameter attribution: "selected" (the `classes` rows) or "focus" (the label's row only).
    public var attributionClasses: AttributionRows?
    /// Data attribution on/off, and its grouping: "model" (the model's layer groups) or "components".
    public var dataAttribution: Bool
    public var groups: String?
    /// With data attribution: also keep it per interval of this many steps, keyed by the step in which a sample's
    /// gradient entered (data × training-step attribution, docs/METHOD.md §6).
    public var dataSnapshotInterval: Int?
    /// Optional test × parameter attribution.
    public var parameterAttribution: ParameterAttributionOptions?
    /// Working-memory budget of the engine in GiB.
    public var memoryBudgetGb: Double
    /// Optional model spec (inline or a path): the replay always rebuilds the model from the history, and refuses
    /// a history trained with another spec than this one.
    public var model: ModelReference?

    enum CodingKeys: String, CodingKey {
        case experiment, run, history, testCount = "test_count", testOffset = "test_offset", testSplit = "test_split",
            classes, quadrature
        case attributionClasses = "attribution_classes"
        case dataAttribution = "data_attribution", groups, parameterAttribution = "parameter_attribution"
        case dataSnapshotInterval = "data_snapshot_interval"
        case memoryBudgetGb = "memory_budget_gb", model
    }

    public func validate() throws {
        try Experiment.requireKnown(experiment)
        try ConfigError.require(testCount >= 1, keyPath: "test_count", expected: "a positive integer", found: testCount)
        try ConfigError.require(
            (testOffset ?? 0) >= 0, keyPath: "test_offset", expected: "a non-negative integer", found: testOffset ?? 0)
        try ConfigError.require(
            quadrature.points >= 1, keyPath: "quadrature.points", expected: "an integer ≥ 1", found: quadrature.points)
        try ConfigError.require(
            quadrature.earlyPoints >= 1, keyPath: "quadrature.early_points", expected: "an integer ≥ 1",
            found: quadrature.earlyPoints)
        try ConfigError.require(
            quadrature.earlySteps >= 0, keyPath: "quadrature.early_steps", expected: "an integer ≥ 0",
            found: quadrature.earlySteps)
        if let p = quadrature.problem() { throw ConfigError(keyPath: "quadrature", message: p) }
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
        if let s = dataSnapshotInterval {
            try ConfigError.require(
                s >= 1, keyPath: "data_snapshot_interval", expected: "a positive number of steps", found: s)
            if !dataAttribution {
                throw ConfigError(keyPath: "data_snapshot_interval", message: "needs \"data_attribution\": true")
            }
        }
        if let g = groups, !["model", "components"].contains(g) {
            throw ConfigError.outOfRange(keyPath: "groups", expected: "'model' or 'components'", found: g)
        }
        if let s = parameterAttribution?.snapshotInterval {
            try ConfigError.require(
                s >= 1, keyPath: "parameter_attribution.snapshot_interval", expected: "a positive integer", found: s)
        }
        try validateLimits()
    }
}
