import Artifacts
import EPK
import Foundation

/// `step-explainer` config (Configs/step-explainer*.json), docs/METHOD.md §19.
///
/// ```
/// {"experiment": "step-explainer", "run": "paper", "source": "lm" | "classifier", "history": "…",
///  "evaluation_count": 64, "quadrature": {"rule": "gauss-legendre", "points": 2},
///  "steps": [0, 10], "window_stride": 25, "max_windows": 40,
///  "convergence": {"rule": "midpoint", "points": [1, 2, 4, 8], "steps": [10], "windows": [0]}}
/// ```
/// - `source` "lm": a `train-lm` sparse history; windows are the checkpoint intervals, `steps` are detail steps
///   (null: all of them); `evaluation_count` evaluation windows evenly spaced over the held-out stream.
/// - `source` "classifier": a `train-modulo/mnist/cifar2` history; windows of `window_stride` steps (null: none),
///   `steps` are single steps (null: none); L_E is the mean NLL on the first `evaluation_count` evaluation samples.
/// - `convergence`: the residual |Σ s_p − ΔL_E| for each point count, on the listed steps and window indices.
public struct StepExplainerConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public struct Convergence: Codable, Equatable, Sendable {
        public var rule: QuadratureRule
        public var points: [Int]
        public var steps: [Int]
        public var windows: [Int]
    }
    public var experiment: String
    public var run: String
    public var source: String
    public var history: String
    public var evaluationCount: Int
    public var quadrature: QuadratureConfig
    public var steps: [Int]?
    public var windowStride: Int?
    public var maxWindows: Int?
    public var convergence: Convergence?

    enum CodingKeys: String, CodingKey {
        case experiment, run, source, history, evaluationCount = "evaluation_count", quadrature, steps
        case windowStride = "window_stride", maxWindows = "max_windows", convergence
    }

    public func validate() throws {
        if experiment != "step-explainer" {
            throw ConfigError.outOfRange(keyPath: "experiment", expected: "'step-explainer'", found: experiment)
        }
        if !["lm", "classifier"].contains(source) {
            throw ConfigError.outOfRange(keyPath: "source", expected: "'lm' or 'classifier'", found: source)
        }
        try ConfigError.require(
            evaluationCount >= 1, keyPath: "evaluation_count", expected: "an integer ≥ 1", found: evaluationCount)
        if let p = quadrature.problem() { throw ConfigError(keyPath: "quadrature", message: p) }
        if quadrature.refine != nil {
            throw ConfigError(
                keyPath: "quadrature.refine", message: "the step explainer integrates with fixed rules; remove this key"
            )
        }
        if let s = windowStride {
            try ConfigError.require(s >= 1, keyPath: "window_stride", expected: "an integer ≥ 1", found: s)
        }
        if let c = convergence {
            try ConfigError.require(
                !c.points.isEmpty && c.points.allSatisfy { $0 >= 1 }, keyPath: "convergence.points",
                expected: "a non-empty list of integers ≥ 1", found: c.points.count)
        }
    }
}
