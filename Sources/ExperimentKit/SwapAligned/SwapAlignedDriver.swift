import Analysis
import Artifacts
import Foundation
import History
import NN

/// `swap-aligned` (docs/METHOD.md §16): final outer layers around earlier pipelines. For every step i on a grid, start from
/// the final parameters and replace every component not in a keep-list by its value at step i; report the
/// validation accuracy of the spliced, step-i and final models and KL(final ‖ spliced).
///
/// Artifact `swap.h5` (kind "swap-aligned"):
/// | path | shape | meaning |
/// |---|---|---|
/// | `/steps` | (S) i32 | steps i |
/// | `/step_accuracy`, `/step_kl` | (S) f64 | step-i model: validation accuracy, KL(final ‖ step i) |
/// | `/spliced_accuracy`, `/spliced_kl` | (V, S) f64 | spliced models, per keep-list |
/// | `/confusion/steps`, `/confusion/spliced`, `/confusion/step` | (2), (2, V, C, C), (2, C, C) | true × predicted counts at two steps |
/// Root attributes: kind, config, history, variants (JSON labels), keep_lists (JSON), final_accuracy, kl_reduction.
public enum SwapAlignedDriver {
    public static let kind = ArtifactKind.swapAligned.rawValue

    public static func run(configPath: String, outputDirectory: String?, dataDirectory: String?) throws -> String {
        let config = try StrictConfig.load(SwapAlignedConfig.self, from: configPath)
        let setup = try ReplaySetup(historyPath: config.history, dataDirectory: dataDirectory)
        try requireModulo(setup, config.history)
        let out = outputDirectory ?? "results/swap-aligned/\(config.run)"
        try OutputLock.acquire(directory: out)
        let model = setup.model, history = setup.history, val = setup.data.evaluation
        let T = history.stepCount
        let final = try history.parameters(at: T)
        let reference = model.forwardChunked(parameters: final, inputs: val.inputs).storage
        let finalAccuracy = ParameterSurgery.compare(
            model: model, parameters: final, inputs: val.inputs, labels: val.labels, reference: reference
        ).accuracy
        let variants = ParameterSurgery.swapKeepLists(embeddingOnly: config.embeddingOnly)
        let steps = Array(stride(from: 0, to: T, by: config.stepEvery))
        let confusionSteps = config.confusionSteps.map { min($0, T - 1) }
        let V = variants.count, S = steps.count, C = model.classCount
        var stepAccuracy = [Double](repeating: 0, count: S), stepKL = stepAccuracy
        var splicedAccuracy = [Double](repeating: 0, count: V * S), splicedKL = splicedAccuracy
        var confSpliced = [Double](repeating: 0, count: confusionSteps.count * V * C * C)
        var confStep = [Double](repeating: 0, count: confusionSteps.count * C * C)
        let progress = Progress(label: "swap-aligned", total: S + confusionSteps.count)
        Log.info(
            "swap-aligned: \(S) steps × \(V) keep-lists on \(val.count) validation pairs; final model accuracy \(finalAccuracy)"
        )
        func evaluate(_ i: Int) throws -> (step: ParameterSurgery.Comparison, spliced: [ParameterSurgery.Comparison]) {
            let theta = try history.parameters(at: i)
            let s = ParameterSurgery.compare(
                model: model, parameters: theta, inputs: val.inputs, labels: val.labels, reference: reference)
            let spliced = try variants.map { v in
                ParameterSurgery.compare(
                    model: model,
                    parameters: try ParameterSurgery.splice(
                        final: final, other: theta, keep: v.keep, layout: model.layout),
                    inputs: val.inputs, labels: val.labels, reference: reference)
            }
            return (s, spliced)
        }
        for (si, i) in steps.enumerated() {
            let r = try evaluate(i)
            stepAccuracy[si] = r.step.accuracy; stepKL[si] = r.step.klBatchMean
            for v in 0..<V {
                splicedAccuracy[v * S + si] = r.spliced[v].accuracy; splicedKL[v * S + si] = r.spliced[v].klBatchMean
            }
            progress.advance(
                status: String(
                    format: "step %d: step-i acc %.3f, %@ %.3f", i, r.step.accuracy, variants[0].label,
                    r.spliced[0].accuracy))
        }
        for (ci, i) in confusionSteps.enumerated() {
            let r = try evaluate(i)
            confStep.replaceSubrange(
                (ci * C * C)..<((ci + 1) * C * C),
                with: ParameterSurgery.confusion(labels: val.labels, predictions: r.step.predictions, classes: C))
            for v in 0..<V {
                let o = (ci * V + v) * C * C
                confSpliced.replaceSubrange(
                    o..<(o + C * C),
                    with: ParameterSurgery.confusion(
                        labels: val.labels, predictions: r.spliced[v].predictions, classes: C))
            }
            progress.advance()
        }
        progress.finish()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = out + "/swap.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setAttribute("history", config.history)
            try root.setJSONAttribute("variants", variants.map(\.label))
            try root.setJSONAttribute("keep_lists", variants.map(\.keep))
            try root.setAttribute("final_accuracy", finalAccuracy)
            try root.setAttribute("step_count", T)
            try root.setAttribute(
                "kl_reduction",
                "batchmean: Σ_c p_final (log p_final − log p_model), averaged over the validation pairs (PyTorch reduction='mean' would divide by 115 more)"
            )
            _ = try root.write("steps", steps.map(Int32.init), shape: [S])
            _ = try root.write("step_accuracy", stepAccuracy, shape: [S])
            _ = try root.write("step_kl", stepKL, shape: [S])
            _ = try root.write("spliced_accuracy", splicedAccuracy, shape: [V, S])
            _ = try root.write("spliced_kl", splicedKL, shape: [V, S])
            let g = try root.createGroup("confusion")
            _ = try g.write("steps", confusionSteps.map(Int32.init), shape: [confusionSteps.count])
            _ = try g.write("spliced", confSpliced, shape: [confusionSteps.count, V, C, C])
            _ = try g.write("step", confStep, shape: [confusionSteps.count, C, C])
        }
        for v in 0..<V {
            let first = (0..<S).first { splicedAccuracy[v * S + $0] >= 0.99 }.map { String(steps[$0]) } ?? "never"
            Log.info(
                String(
                    format: "%@: spliced accuracy ≥ 0.99 from step %@; at step %d spliced %.3f vs step-i %.3f",
                    variants[v].label, first,
                    steps[S / 2], splicedAccuracy[v * S + S / 2], stepAccuracy[S / 2]))
        }
        var rows: [[String: Any]] = []
        for (si, i) in steps.enumerated() {
            var row: [String: Any] = ["step": i, "step_accuracy": stepAccuracy[si], "step_kl": stepKL[si]]
            for v in 0..<V {
                row["spliced_accuracy " + variants[v].label] = splicedAccuracy[v * S + si];
                row["spliced_kl " + variants[v].label] = splicedKL[v * S + si]
            }
            rows.append(row)
        }
        try writeSummary(
            [
                "final_accuracy": finalAccuracy,
                "keep_lists": Dictionary(uniqueKeysWithValues: variants.map { ($0.label, $0.keep) }),
                "first_step_spliced_accuracy_at_least_0.99": Dictionary(
                    uniqueKeysWithValues: (0..<V).map { v in
                        (
                            variants[v].label,
                            (0..<S).first { splicedAccuracy[v * S + $0] >= 0.99 }.map { steps[$0] } ?? -1
                        )
                    }),
                "first_step_step_accuracy_at_least_0.99": (0..<S).first { stepAccuracy[$0] >= 0.99 }.map { steps[$0] }
                    ?? -1,
                "rows": rows,
            ], to: out + "/summary.json")
        renderFigures(path, directory: out)
        return path
    }

    static func requireModulo(_ setup: ReplaySetup, _ path: String) throws {
        if setup.trainConfig.experiment != "modulo" {
            throw ArtifactError(
                .config,
                "\(path) is a \(setup.trainConfig.experiment) history; this experiment needs a modulo history (train-modulo)"
            )
        }
    }
}
