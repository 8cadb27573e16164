import Analysis
import Artifacts
import EPK
import Foundation
import History
import Tensor

/// `sensitivity` config (`Configs/sensitivity.json`, `Configs/sensitivity-quick.json`).
public struct SensitivityConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// One history to study, with the first `test_count` points of its evaluation split.
    public struct Case: Codable, Equatable, Sendable {
        public var name: String
        public var history: String
        public var testCount: Int
        enum CodingKeys: String, CodingKey { case name, history, testCount = "test_count" }
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
        }
        try ConfigError.require(
            memoryBudgetGb > 0, keyPath: "memory_budget_gb", expected: "a positive number", found: memoryBudgetGb)
        if let problem = precisionQuadrature.problem() { throw ArtifactError(.config, problem) }
    }

    /// Every setting, in order: the plain grid, the grid with the early rule, the precision variants.
    public var settings: [SensitivityStudy.Setting] {
        var s: [SensitivityStudy.Setting] = []
        for g in grid { for n in g.points { s.append(.init(rule: g.rule, points: n)) } }
        if let e = early {
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

/// `sensitivity`: writes `sensitivity.h5` (kind "sensitivity") and its figures. One group per case:
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/cases/<case>/{evaluations_per_step, final_error, final_max_error, step_error, agreement, seconds_per_step, kernel_deviation}` | (settings) f64 | per setting: mean gradient evaluations per step, mean and max \|f(θ_T) − f̂\|, mean per-step error, argmax agreement, wall seconds per step, mean \|kernel total − float32 kernel total\| |
/// | `/cases/<case>/per_step_error` | (settings, T) f64 | mean \|truth step − predicted step\| per step |
/// | `/cases/<case>/truth_scale` | (T) f64 | mean \|ground-truth step\| per step |
///
/// Each case group has attributes `settings` and `labels` (JSON: rule, points, early rule, precision of each setting),
/// `history`, `model`, `test_count`. Root attributes: `kind`, `config`, `cases` (JSON names), provenance.
public enum SensitivityDriver {
    public static let kind = ArtifactKind.sensitivity.rawValue

    public static func run(
        configPath: String, outputDirectory: String?, dataDirectory: String?
    ) throws -> (path: String, results: [String: [SensitivityStudy.Measurement]]) {
        let config = try StrictConfig.load(SensitivityConfig.self, from: configPath)
        let out = outputDirectory ?? "results/sensitivity/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var all: [(SensitivityConfig.Case, [SensitivityStudy.Measurement], [Double], String)] = []
        for c in config.cases {
            guard FileManager.default.fileExists(atPath: c.history) else {
                throw ArtifactError(
                    .notFound, file: c.history, problem: "no such history (case \(c.name))",
                    fix: "train it first or fix cases[].history")
            }
            let setup = try ReplaySetup(historyPath: c.history, dataDirectory: dataDirectory)
            let evaluation = setup.data.evaluation
            guard c.testCount <= evaluation.count else {
                throw ArtifactError(
                    .config,
                    "\(configPath): case \(c.name): test_count \(c.testCount) exceeds the \(evaluation.count) evaluation samples"
                )
            }
            Log.info(
                "sensitivity \(c.name): \(setup.model.name), \(setup.history.stepCount) steps, \(c.testCount) test points × \(setup.model.classCount) classes, \(config.settings.count) settings"
            )
            let (m, scale) = try SensitivityStudy.measure(
                model: setup.model, history: setup.history, data: DatasetReplay(setup.data.train),
                testInputs: evaluation.inputs.rows(0..<c.testCount), settings: config.settings,
                memoryBudgetBytes: Int(config.memoryBudgetGb * 1_073_741_824),
                log: { Log.info("  \(c.name): \($0)") })
            for x in m {
                Log.info(
                    String(
                        format:
                            "  %@ %@: %.1f evals/step, step err %.3g, final err %.3g (max %.3g), agreement %.3f, %.3f s/step",
                        c.name, x.setting.label, x.evaluationsPerStep, x.stepError, x.finalError, x.finalMaxError,
                        x.agreement, x.secondsPerStep))
            }
            all.append((c, m, scale, setup.model.name))
        }
        let path = out + "/sensitivity.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setJSONAttribute("cases", all.map { $0.0.name })
            let cases = try root.createGroup("cases")
            for (c, m, scale, modelName) in all {
                let g = try cases.createGroup(c.name)
                try g.setAttribute("history", c.history)
                try g.setAttribute("model", modelName)
                try g.setAttribute("test_count", c.testCount)
                try g.setJSONAttribute("settings", m.map { $0.setting })
                try g.setJSONAttribute("labels", m.map { $0.setting.label })
                let S = m.count, T = scale.count
                func put(_ name: String, _ v: [Double], _ axes: String) throws {
                    try g.write(name, v, shape: [S]).setAttribute("axes", axes)
                }
                try put(
                    "evaluations_per_step", m.map { $0.evaluationsPerStep },
                    "setting; mean gradient evaluations per step")
                try put("final_error", m.map { $0.finalError }, "setting; mean |f(θ_T) − f̂| over rows")
                try put("final_max_error", m.map { $0.finalMaxError }, "setting; max |f(θ_T) − f̂|")
                try put("step_error", m.map { $0.stepError }, "setting; mean |truth step − predicted step|")
                try put("agreement", m.map { $0.agreement }, "setting; argmax agreement of f̂ with the model")
                try put("seconds_per_step", m.map { $0.secondsPerStep }, "setting; wall seconds per step")
                try put(
                    "kernel_deviation", m.map { $0.kernelDeviation },
                    "setting; mean |kernel total − float32 kernel total|")
                try g.write("per_step_error", m.flatMap { $0.perStepError }, shape: [S, T]).setAttribute(
                    "axes", "setting, step")
                try g.write("truth_scale", scale, shape: [T]).setAttribute("axes", "step; mean |ground-truth step|")
            }
        }
        renderFigures(path, directory: out)
        var dict: [String: [SensitivityStudy.Measurement]] = [:]
        for (c, m, _, _) in all { dict[c.name] = m }
        return (path, dict)
    }
}
