import Analysis
import Artifacts
import EPK
import Foundation
import History
import Tensor

/// `sensitivity`: writes `sensitivity.h5` (kind "sensitivity") and its figures. One group per case, over its step
/// range a..<b (the whole history: 0..<T), with T' = b − a steps:
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/cases/<case>/{evaluations_per_step, final_error, final_max_error, step_error, agreement, seconds_per_step, kernel_deviation}` | (settings) f64 | per setting: mean gradient evaluations per step, mean and max \|f(θ_b) − f̂\| with f̂ = f(θ_a) + Σ predicted steps a..<b, mean per-step error, argmax agreement of f̂ with f(θ_b), wall seconds per step, mean \|kernel total − float32 kernel total\| |
/// | `/cases/<case>/per_step_error` | (settings, T') f64 | mean \|truth step − predicted step\| per step; column j is step a + j |
/// | `/cases/<case>/truth_scale` | (T') f64 | mean \|ground-truth step\| per step; entry j is step a + j |
///
/// Each case group has attributes `settings` and `labels` (JSON: rule, points, early rule, precision of each setting),
/// `history`, `model`, `test_count`, `step_first` (a), `step_end` (b, exclusive) and `history_steps` (T). Root
/// attributes: `kind`, `config`, `cases` (JSON names), provenance.
public enum SensitivityDriver {
    public static let kind = ArtifactKind.sensitivity.rawValue

    public static func run(
        configPath: String, outputDirectory: String?, dataDirectory: String?
    ) throws -> (path: String, results: [String: [SensitivityStudy.Measurement]]) {
        let config = try StrictConfig.load(SensitivityConfig.self, from: configPath)
        let out = outputDirectory ?? "results/sensitivity/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // Every case's history and step range are checked before the first (possibly long) case runs.
        var ranges: [Range<Int>] = []
        for (index, c) in config.cases.enumerated() {
            guard FileManager.default.fileExists(atPath: c.history) else {
                throw ArtifactError(
                    .notFound, file: c.history, problem: "no such history (case \(c.name))",
                    fix: "train it first or fix cases[].history")
            }
            let T = try HistoryFileReader(path: c.history).stepCount
            ranges.append(try c.range(historySteps: T, index: index, configPath: configPath))
        }
        var all: [CaseResult] = []
        for (c, steps) in zip(config.cases, ranges) {
            let setup = try ReplaySetup(historyPath: c.history, dataDirectory: dataDirectory)
            let evaluation = setup.data.evaluation
            guard c.testCount <= evaluation.count else {
                throw ArtifactError(
                    .config,
                    "\(configPath): case \(c.name): test_count \(c.testCount) exceeds the \(evaluation.count) evaluation samples"
                )
            }
            let T = setup.history.stepCount
            let settings = config.settings(firstStep: steps.lowerBound)
            if let e = config.early, steps.lowerBound >= e.earlySteps {
                Log.info(
                    "sensitivity \(c.name): no early-rule settings (steps start at \(steps.lowerBound) ≥ early_steps \(e.earlySteps))"
                )
            }
            Log.info(
                "sensitivity \(c.name): \(setup.model.name), steps \(steps.lowerBound)..<\(steps.upperBound) of \(T), \(c.testCount) test points × \(setup.model.classCount) classes, \(settings.count) settings"
            )
            let (m, scale) = try SensitivityStudy.measure(
                model: setup.model, history: setup.history, data: DatasetReplay(setup.data.train),
                testInputs: evaluation.inputs.rows(0..<c.testCount), settings: settings, steps: steps,
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
            all.append(
                CaseResult(
                    config: c, measurements: m, truthScale: scale, model: setup.model.name, steps: steps,
                    historySteps: T))
        }
        let path = out + "/sensitivity.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setJSONAttribute("cases", all.map { $0.config.name })
            let cases = try root.createGroup("cases")
            for r in all {
                let c = r.config, m = r.measurements, scale = r.truthScale, steps = r.steps
                let g = try cases.createGroup(c.name)
                try g.setAttribute("history", c.history)
                try g.setAttribute("model", r.model)
                try g.setAttribute("test_count", c.testCount)
                try g.setAttribute("step_first", steps.lowerBound)
                try g.setAttribute("step_end", steps.upperBound)
                try g.setAttribute("history_steps", r.historySteps)
                let a = steps.lowerBound, b = steps.upperBound
                try g.setJSONAttribute("settings", m.map { $0.setting })
                try g.setJSONAttribute("labels", m.map { $0.setting.label })
                let S = m.count, T = scale.count
                func put(_ name: String, _ v: [Double], _ axes: String) throws {
                    try g.write(name, v, shape: [S]).setAttribute("axes", axes)
                }
                try put(
                    "evaluations_per_step", m.map { $0.evaluationsPerStep },
                    "setting; mean gradient evaluations per step")
                let fhat = "f̂ = f(θ_\(a)) + Σ predicted steps \(a)..<\(b)"
                try put("final_error", m.map { $0.finalError }, "setting; mean |f(θ_\(b)) − f̂| over rows, \(fhat)")
                try put("final_max_error", m.map { $0.finalMaxError }, "setting; max |f(θ_\(b)) − f̂|, \(fhat)")
                try put(
                    "step_error", m.map { $0.stepError },
                    "setting; mean |truth step − predicted step| over steps \(a)..<\(b)")
                try put("agreement", m.map { $0.agreement }, "setting; argmax agreement of f̂ with f(θ_\(b))")
                try put("seconds_per_step", m.map { $0.secondsPerStep }, "setting; wall seconds per step")
                try put(
                    "kernel_deviation", m.map { $0.kernelDeviation },
                    "setting; mean |kernel total − float32 kernel total|")
                try g.write("per_step_error", m.flatMap { $0.perStepError }, shape: [S, T]).setAttribute(
                    "axes", "setting, step \(a) + j for j in 0..<\(T) (steps \(a)..<\(b))")
                try g.write("truth_scale", scale, shape: [T]).setAttribute(
                    "axes", "step \(a) + j for j in 0..<\(T) (steps \(a)..<\(b)); mean |ground-truth step|")
            }
        }
        renderFigures(path, directory: out)
        var dict: [String: [SensitivityStudy.Measurement]] = [:]
        for r in all { dict[r.config.name] = r.measurements }
        return (path, dict)
    }

    /// What one case measured, with its step range (a..<b) and the history's step count.
    struct CaseResult {
        var config: SensitivityConfig.Case
        var measurements: [SensitivityStudy.Measurement]
        var truthScale: [Double]
        var model: String
        var steps: Range<Int>
        var historySteps: Int
    }
}
