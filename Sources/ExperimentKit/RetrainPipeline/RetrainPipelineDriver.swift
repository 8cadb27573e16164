import Analysis
import Artifacts
import Foundation
import History
import Tensor

/// `retrain-pipeline` (docs/METHOD.md §16, with the seeding fixed): for each configuration, start step
/// `step_to` and seed, keep the listed components from checkpoint `step_to`, re-initialise the others with
/// N(0, std²) from RNG(seed), then train all parameters with the history's AdamW recipe, full batch, for at most
/// `max_epochs`, stopping at 100 % train and validation accuracy.
///
/// Artifact `retrain.h5` (kind "retrain-pipeline"):
/// | path | shape | meaning |
/// |---|---|---|
/// | `/start_steps`, `/seeds` | (S), (R) i32 | grid |
/// | `/train_accuracy`, `/validation_accuracy` | (G, S, R, E+1) f64 | epoch 0 is the start point; after an early stop the last value is repeated |
/// | `/epochs_trained` | (G, S, R) i32 | epochs until 100 % train and validation accuracy (or E) |
/// Root attributes: kind, config, history, configurations (JSON labels), randomised (JSON lists), max_epochs.
public enum RetrainPipelineDriver {
    public static let kind = ArtifactKind.retrainPipeline.rawValue

    public static func run(configPath: String, outputDirectory: String?, dataDirectory: String?) throws -> String {
        let config = try StrictConfig.load(RetrainPipelineConfig.self, from: configPath)
        let setup = try ReplaySetup(historyPath: config.history, dataDirectory: dataDirectory)
        try SwapAlignedDriver.requireModulo(setup, config.history)
        let out = outputDirectory ?? "results/retrain-pipeline/\(config.run)"
        try OutputLock.acquire(directory: out)
        let model = setup.model, history = setup.history
        let T = history.stepCount
        let chosen = config.configurations ?? ParameterSurgery.retrainConfigurations.map(\.label)
        let configurations = ParameterSurgery.retrainConfigurations.filter { chosen.contains($0.label) }
        if let beyond = config.startSteps.first(where: { $0 > T }) {
            throw ArtifactError(
                .config,
                "\(configPath): key 'start_steps': step \(beyond) is beyond the \(T) steps of \(config.history); use steps ≤ \(T) (step \(T) is the trained model)"
            )
        }
        let startSteps = config.startSteps
        let G = configurations.count, S = startSteps.count, R = config.seeds.count, E = config.maxEpochs
        var trainAcc = [Double](repeating: .nan, count: G * S * R * (E + 1)), valAcc = trainAcc
        var epochsTrained = [Int32](repeating: 0, count: G * S * R)
        let progress = Progress(label: "retrain-pipeline", total: G * S * R)
        Log.info("retrain-pipeline: \(G) configurations × \(S) start steps × \(R) seeds, ≤ \(E) epochs each (T = \(T))")
        for (si, step) in startSteps.enumerated() {
            let start = try history.parameters(at: step)
            for (gi, c) in configurations.enumerated() {
                for (ri, seed) in config.seeds.enumerated() {
                    let began = Date()
                    let run = try Retraining.run(
                        model: model, start: start, randomise: c.randomise, std: Float(config.initStd),
                        seed: UInt64(seed), optimizer: history.optimizer, lr: setup.trainConfig.optimizer.lr,
                        maxEpochs: E, train: setup.data.train, validation: setup.data.evaluation)
                    let o = ((gi * S + si) * R + ri) * (E + 1)
                    for e in 0...E {
                        let k = min(e, run.epochs)
                        trainAcc[o + e] = run.trainAccuracy[k]; valAcc[o + e] = run.validationAccuracy[k]
                    }
                    epochsTrained[(gi * S + si) * R + ri] = Int32(run.epochs)
                    progress.advance(
                        status: String(
                            format: "%@ from step %d seed %d: %d epochs, val acc %.3f (%.0f s)", c.label, step, seed,
                            run.epochs, run.validationAccuracy.last!, Date().timeIntervalSince(began)))
                }
            }
        }
        progress.finish()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = out + "/retrain.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setAttribute("history", config.history)
            try root.setJSONAttribute("configurations", configurations.map(\.label))
            try root.setJSONAttribute("randomised", configurations.map(\.randomise))
            try root.setAttribute("max_epochs", E)
            try root.setAttribute("step_count", T)
            _ = try root.write("start_steps", startSteps.map(Int32.init), shape: [S])
            _ = try root.write("seeds", config.seeds.map(Int32.init), shape: [R])
            _ = try root.write("train_accuracy", trainAcc, shape: [G, S, R, E + 1])
            _ = try root.write("validation_accuracy", valAcc, shape: [G, S, R, E + 1])
            _ = try root.write("epochs_trained", epochsTrained, shape: [G, S, R])
        }
        var summary: [[String: Any]] = []
        for (gi, c) in configurations.enumerated() {
            for (si, step) in startSteps.enumerated() {
                let o = (gi * S + si) * R
                summary.append([
                    "configuration": c.label, "start_step": step,
                    "epochs_trained": (0..<R).map { Int(epochsTrained[o + $0]) },
                    "initial_validation_accuracy": (0..<R).map { valAcc[(o + $0) * (E + 1)] },
                    "final_validation_accuracy": (0..<R).map { valAcc[(o + $0) * (E + 1) + E] },
                    "final_train_accuracy": (0..<R).map { trainAcc[(o + $0) * (E + 1) + E] },
                ])
                let e = (0..<R).map { Double(epochsTrained[(gi * S + si) * R + $0]) }
                let last = (0..<R).map { valAcc[((gi * S + si) * R + $0) * (E + 1) + E] }
                Log.info(
                    String(
                        format: "%@ from step %d: epochs to 100%%/100%% %@ (mean %.1f); final val acc %@", c.label,
                        step,
                        e.map { String(Int($0)) }.joined(separator: ","), e.reduce(0, +) / Double(R),
                        last.map { String(format: "%.3f", $0) }.joined(separator: ",")))
            }
        }
        try writeSummary(["max_epochs": E, "seeds": config.seeds, "runs": summary], to: out + "/summary.json")
        renderFigures(path, directory: out)
        return path
    }
}
