import Analysis
import Artifacts
import EPK

/// An `lds` config (`Configs/lds-mnist.json`, `Configs/lds-mnist-quick.json`; docs/METHOD.md §17).
///
/// ```json
/// {"run": "paper", "train_config": "Configs/mnist.json", "history": "results/mnist/paper/history.h5",
///  "subset_count": 100, "subset_fraction": 0.5, "subset_seed": 1, "test_count": 200,
///  "quadrature": {"rule": "midpoint", "points": 8}, "early_cut": 100, "tracin_interval": 25,
///  "bootstrap_resamples": 1000, "bootstrap_seed": 0, "random_seed": 0, "memory_budget_gb": 2,
///  "ensemble_size": 5, "trak": {"projection_dim": 2048, "projection": "rademacher", "seed": 0, "ridge": 0}}
/// ```
///
/// Ensemble and TRAK keys (both optional; docs/METHOD.md §17):
/// - `ensemble_size` K ≥ 1: the history's run is member 0; members 1…K−1 are the recipe retrained on the full data
///   with `training.seed + k`, their histories kept in `<out>/ensemble/member-<k>/history.h5` (reused when present and
///   trained with that recipe and seed, refused otherwise). Adds `explaind-ensemble` (the mean ExPLAIND attribution of
///   the K runs) and sets TRAK's ensemble. Absent: K = 1 and no `explaind-ensemble`.
/// - `trak`: adds `trak` (the K-model ensemble) and `trak-single` (member 0 only).
///   - `projection_dim` k: dimension of the random projection of the margin gradients (k ≤ training count);
///     must be omitted with `"projection": "none"` (k = P, no projection).
///   - `projection`: `"rademacher"` (default, entries ±1/√k), `"gaussian"` (N(0, 1/k)) or `"none"`.
///   - `seed`: seed of the projections (member k uses stream k, so each member has its own R).
///   - `ridge` (default 0): relative ridge λ = ridge · tr(ΦᵀΦ)/k added to ΦᵀΦ before the solve.
public struct LDSConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// Output run name: `results/lds/<run>/` unless `--out` is given.
    public var run: String
    /// The training recipe (a `TrainConfig`); every subset model is retrained with it on its subset.
    public var trainConfig: String
    /// History of the full-data run trained with `train_config` (trained there first when missing).
    public var history: String
    /// M subsets of ⌊αN⌋ training samples each, drawn without replacement from a seeded stream.
    public var subsetCount: Int
    public var subsetFraction: Double
    public var subsetSeed: Int
    /// Retrain subset m with seed `training.seed + m` instead of the recipe's seed (default false: same seed).
    public var seedPerSubset: Bool?
    /// Test examples: `test_count` consecutive samples of the evaluation split from `test_offset`.
    public var testCount: Int
    public var testOffset: Int?
    /// ExPLAIND's integration rule (ReLU MLP: midpoint, docs/METHOD.md §9).
    public var quadrature: QuadratureConfig
    /// Step separating the early (0..<cut) and late (cut..<T) ExPLAIND variants.
    public var earlyCut: Int
    /// TracIn checkpoints every this many steps (θ_k, θ_2k, …, θ_T).
    public var tracinInterval: Int
    public var bootstrapResamples: Int
    public var bootstrapSeed: Int
    /// Seed of the random-score baseline.
    public var randomSeed: Int
    /// Working-memory budget of the EPK engine in GiB.
    public var memoryBudgetGb: Double
    /// K independently trained full-data models for `trak` and `explaind-ensemble` (default 1).
    public var ensembleSize: Int?
    /// TRAK's settings; absent: no TRAK methods.
    public var trak: TRAKConfig?
    /// The influence-function baseline (`InfluenceConfig`); not run when absent.
    public var influence: InfluenceConfig?

    enum CodingKeys: String, CodingKey {
        case run, trainConfig = "train_config", history, subsetCount = "subset_count", subsetFraction =
            "subset_fraction"
        case subsetSeed = "subset_seed", seedPerSubset = "seed_per_subset", testCount = "test_count", testOffset =
            "test_offset"
        case quadrature, earlyCut = "early_cut", tracinInterval = "tracin_interval"
        case bootstrapResamples = "bootstrap_resamples", bootstrapSeed = "bootstrap_seed", randomSeed = "random_seed"
        case memoryBudgetGb = "memory_budget_gb", ensembleSize = "ensemble_size", trak, influence
    }

    public func validate() throws {
        try ConfigError.require(
            subsetCount >= 3, keyPath: "subset_count", expected: "an integer ≥ 3", found: subsetCount)
        try ConfigError.require(
            subsetFraction > 0 && subsetFraction < 1, keyPath: "subset_fraction", expected: "a number in (0, 1)",
            found: subsetFraction)
        try ConfigError.require(
            subsetSeed >= 0, keyPath: "subset_seed", expected: "a non-negative integer", found: subsetSeed)
        try ConfigError.require(testCount >= 1, keyPath: "test_count", expected: "a positive integer", found: testCount)
        try ConfigError.require(
            (testOffset ?? 0) >= 0, keyPath: "test_offset", expected: "a non-negative integer", found: testOffset ?? 0)
        if let problem = quadrature.problem() { throw ConfigError(keyPath: "quadrature", message: problem) }
        try ConfigError.require(earlyCut >= 1, keyPath: "early_cut", expected: "a positive integer", found: earlyCut)
        try ConfigError.require(
            tracinInterval >= 1, keyPath: "tracin_interval", expected: "a positive integer", found: tracinInterval)
        try ConfigError.require(
            bootstrapResamples >= 1, keyPath: "bootstrap_resamples", expected: "a positive integer",
            found: bootstrapResamples)
        try ConfigError.require(
            bootstrapSeed >= 0, keyPath: "bootstrap_seed", expected: "a non-negative integer", found: bootstrapSeed)
        try ConfigError.require(
            randomSeed >= 0, keyPath: "random_seed", expected: "a non-negative integer", found: randomSeed)
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
        try ConfigError.require(
            (1...64).contains(ensembleSize ?? 1), keyPath: "ensemble_size", expected: "an integer in 1…64",
            found: ensembleSize ?? 1)
        try trak?.validate()
        try influence?.validate()
    }
}

/// The `trak` block of an LDS config (keys documented on `LDSConfig`).
public struct TRAKConfig: Codable, Equatable, Sendable {
    public var projectionDim: Int?
    public var projection: String?
    public var seed: Int
    public var ridge: Double?

    enum CodingKeys: String, CodingKey { case projectionDim = "projection_dim", projection, seed, ridge }

    public init(projectionDim: Int?, projection: String? = nil, seed: Int, ridge: Double? = nil) {
        self.projectionDim = projectionDim; self.projection = projection; self.seed = seed; self.ridge = ridge
    }

    /// The projection kind (default Rademacher).
    public var kind: RandomProjection.Kind { projection.flatMap(RandomProjection.Kind.init(rawValue:)) ?? .rademacher }

    public func validate() throws {
        let kinds = RandomProjection.Kind.allCases.map(\.rawValue)
        if let p = projection, RandomProjection.Kind(rawValue: p) == nil {
            throw ConfigError.outOfRange(
                keyPath: "trak.projection", expected: "one of " + kinds.joined(separator: ", "), found: p)
        }
        if kind == .identity {
            if let k = projectionDim {
                throw ConfigError(
                    keyPath: "trak.projection_dim",
                    message: "must be omitted with projection 'none' (k = P), found \(k)")
            }
        } else {
            guard let k = projectionDim else {
                throw ConfigError(
                    keyPath: "trak.projection_dim",
                    message: "expected a positive integer (the projection dimension k), found nothing")
            }
            try ConfigError.require(k >= 1, keyPath: "trak.projection_dim", expected: "a positive integer", found: k)
        }
        try ConfigError.require(seed >= 0, keyPath: "trak.seed", expected: "a non-negative integer", found: seed)
        let ridge = self.ridge ?? 0
        try ConfigError.require(
            ridge >= 0 && ridge.isFinite, keyPath: "trak.ridge", expected: "a non-negative number", found: ridge)
    }
}
