import Analysis
import Artifacts
import EPK
import Foundation

/// `sensitivity` config (`Configs/sensitivity.json`, `Configs/sensitivity-quick.json`).
public struct SensitivityConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// One history to study, with the first `test_count` points of its evaluation split, over the whole history or
    /// the optimizer steps `steps`.
    public struct Case: Codable, Equatable, Sendable {
        public var name: String
        public var history: String
        public var testCount: Int
        public var steps: StepRange?
        enum CodingKeys: String, CodingKey { case name, history, testCount = "test_count", steps }

        /// The steps to replay in a history of `stepCount` steps; a range past its end is one line naming
        /// `cases[index].steps.to` and the fix.
        public func range(historySteps stepCount: Int, index: Int, configPath: String) throws -> Range<Int> {
            guard let s = steps else { return 0..<stepCount }
            guard s.to <= stepCount else {
                throw ArtifactError(
                    .config,
                    "\(configPath): "
                        + ConfigError(
                            keyPath: "cases[\(index)].steps.to",
                            message:
                                "expected at most the \(stepCount) steps of \(history), found \(s.to); lower it to ≤ \(stepCount) or remove steps to replay the whole history"
                        ).description)
            }
            return s.from..<s.to
        }
    }
    /// Half-open optimizer steps `from ..< to`: step t takes θ_t to θ_{t+1}, so the range starts at θ_from and ends
    /// at θ_to.
    public struct StepRange: Codable, Equatable, Sendable {
        public var from: Int
        public var to: Int
        public init(from: Int, to: Int) { self.from = from; self.to = to }
    }
    /// A rule and its point counts.
    public struct RuleGrid: Codable, Equatable, Sendable {
        public var rule: QuadratureRule
        public var points: [Int]
    }
    /// The early-step rule added to every grid entry as a second variant.
    public struct EarlyRule: Codable, Equatable, Sendable {
        public var earlySteps: Int
        public var earlyPoints: Int
        enum CodingKeys: String, CodingKey { case earlySteps = "early_steps", earlyPoints = "early_points" }
    }

    public var run: String
    public var cases: [Case]
    public var grid: [RuleGrid]
    public var early: EarlyRule?
    /// Reduced storage precisions, each evaluated with `precision_quadrature`.
    public var precisions: [StoragePrecision]
    public var precisionQuadrature: QuadratureConfig
    public var memoryBudgetGb: Double

    enum CodingKeys: String, CodingKey {
        case run, cases, grid, early, precisions, precisionQuadrature = "precision_quadrature", memoryBudgetGb =
            "memory_budget_gb"
    }

    public func validate() throws {
        try ConfigError.require(!cases.isEmpty, keyPath: "cases", expected: "at least one case", found: cases.count)
        for (i, c) in cases.enumerated() {
            try ConfigError.require(
                c.testCount >= 1, keyPath: "cases[\(i)].test_count", expected: "a positive integer", found: c.testCount)
            if let r = c.steps {
                try ConfigError.require(
                    r.from >= 0, keyPath: "cases[\(i)].steps.from", expected: "an integer ≥ 0", found: r.from)
                try ConfigError.require(
                    r.to > r.from, keyPath: "cases[\(i)].steps.to",
                    expected: "an integer > steps.from = \(r.from) (the steps are from ..< to; raise to or lower from)",
                    found: r.to)
            }
        }
        for (i, g) in grid.enumerated() {
            try ConfigError.require(
                !g.points.isEmpty && g.points.allSatisfy { $0 >= 1 }, keyPath: "grid[\(i)].points",
                expected: "a non-empty list of integers ≥ 1", found: g.points.count)
        }
        if let e = early {
            try ConfigError.require(
                e.earlySteps >= 1, keyPath: "early.early_steps", expected: "an integer ≥ 1", found: e.earlySteps)
            try ConfigError.require(
                e.earlyPoints >= 1, keyPath: "early.early_points", expected: "an integer ≥ 1", found: e.earlyPoints)
            // The early rule acts on the steps t < early_steps; a config whose every range starts later never uses it.
            if let first = cases.map({ $0.steps?.from ?? 0 }).min(), first >= e.earlySteps {
                throw ConfigError(
                    keyPath: "early",
                    message:
                        "the early rule covers steps < \(e.earlySteps), but every case's steps.from is ≥ \(first); remove early or start a range before step \(e.earlySteps)"
                )
            }
        }
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
        if let problem = precisionQuadrature.problem() { throw ArtifactError(.config, problem) }
    }

    /// The settings of a case whose steps start at `firstStep`, in order: the plain grid, the grid with the early rule
    /// (only when `firstStep` < `early_steps`; later steps would equal the plain settings), the precision variants.
    public func settings(firstStep: Int) -> [SensitivityStudy.Setting] {
        var s: [SensitivityStudy.Setting] = []
        for g in grid { for n in g.points { s.append(.init(rule: g.rule, points: n)) } }
        if let e = early, firstStep < e.earlySteps {
            for g in grid {
                for n in g.points where e.earlyPoints > n {
                    s.append(.init(rule: g.rule, points: n, earlySteps: e.earlySteps, earlyPoints: e.earlyPoints))
                }
            }
        }
        for p in precisions where p != .float32 {
            s.append(
                .init(
                    rule: precisionQuadrature.rule, points: precisionQuadrature.points,
                    earlySteps: precisionQuadrature.earlySteps,
                    earlyPoints: precisionQuadrature.earlyPoints, precision: p))
        }
        return s
    }
}
