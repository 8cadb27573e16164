import Artifacts
import EPK

/// An evenly spaced grid of pruned fractions, `count` values from `from` to `to` inclusive.
public struct FractionGrid: Codable, Equatable, Sendable {
    public var from: Double
    public var to: Double
    public var count: Int
    public init(from: Double, to: Double, count: Int) { self.from = from; self.to = to; self.count = count }
    public var values: [Double] {
        count == 1 ? [from] : (0..<count).map { from + (to - from) * Double($0) / Double(count - 1) }
    }
}

/// The pruning methods compared in one run (docs/METHOD.md §15).
public enum PruneMethod: String, Codable, CaseIterable, Sendable {
    /// ExPLAIND component scores, one global threshold over the prunable components ("across modules").
    case explaind
    /// ExPLAIND scores, the same fraction pruned inside every component ("by module").
    case explaindModule = "explaind-module"
    /// |θ_p|, global.
    case magnitude
    /// |θ_p ∂L/∂θ_p| on the scoring split, global.
    case taylor
    /// A uniformly random subset of exactly the requested size (seeded per split seed).
    case random
}

/// `prune` config (`Configs/prune.json`, `Configs/prune-quick.json`).
public struct PruneConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// Output run name: `results/prune/<run>/` unless `--out` is given.
    public var run: String
    /// A CIFAR-2 training history (`--history` overrides it).
    public var history: String
    /// The first `test_count` images of the test split are used.
    public var testCount: Int
    /// The first `scoring_pool` of them are EPK-attributed; each seed draws `scoring_fraction` of this pool as its
    /// scoring split. Its evaluation split is the rest of the pool plus every image from `scoring_pool` to
    /// `test_count` (never scored), so scoring and evaluation are disjoint while the EPK cost stays at the pool size.
    public var scoringPool: Int
    /// Fraction of the pool in each seed's scoring split.
    public var scoringFraction: Double
    /// One scoring/evaluation split per seed.
    public var seeds: [Int]
    /// Components never pruned (docs/METHOD.md §15: the final linear layer).
    public var neverPruned: [String]
    /// EPK integration rule for the importance scores.
    public var quadrature: QuadratureConfig
    /// Test points per EPK pass (bounds memory: about 4 · P floats per test point).
    public var epkChunk: Int
    /// Pruned-fraction grids (docs/METHOD.md §15: 0.70–0.99 and 0.97–0.999, 30 values each).
    public var coarse: FractionGrid
    public var fine: FractionGrid
    public var methods: [PruneMethod]
    public var memoryBudgetGb: Double

    enum CodingKeys: String, CodingKey {
        case run, history, testCount = "test_count", scoringPool = "scoring_pool", scoringFraction = "scoring_fraction",
            seeds
        case neverPruned = "never_pruned", quadrature, epkChunk = "epk_chunk", coarse, fine, methods
        case memoryBudgetGb = "memory_budget_gb"
    }

    public func validate() throws {
        try ConfigError.require(testCount >= 4, keyPath: "test_count", expected: "an integer ≥ 4", found: testCount)
        try ConfigError.require(
            scoringPool >= 2 && scoringPool <= testCount, keyPath: "scoring_pool",
            expected: "an integer in 2…test_count", found: scoringPool)
        try ConfigError.require(
            scoringFraction > 0 && scoringFraction < 1, keyPath: "scoring_fraction", expected: "a number in (0, 1)",
            found: scoringFraction)
        try ConfigError.require(!seeds.isEmpty, keyPath: "seeds", expected: "at least one seed", found: seeds.count)
        try ConfigError.require(
            seeds.allSatisfy { $0 >= 0 }, keyPath: "seeds", expected: "non-negative seeds", found: seeds.min() ?? 0)
        try ConfigError.require(epkChunk >= 1, keyPath: "epk_chunk", expected: "a positive integer", found: epkChunk)
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
        try ConfigError.require(
            !methods.isEmpty, keyPath: "methods", expected: "at least one method", found: methods.count)
        for (key, g) in [("coarse", coarse), ("fine", fine)] {
            try ConfigError.require(
                g.count >= 1, keyPath: "\(key).count", expected: "a positive integer", found: g.count)
            if !(g.from >= 0 && g.to < 1 && g.from <= g.to) {
                throw ConfigError.outOfRange(keyPath: key, expected: "0 ≤ from ≤ to < 1", found: "\(g.from)…\(g.to)")
            }
        }
        if let problem = quadrature.problem() { throw ArtifactError(.config, problem) }
    }
}
