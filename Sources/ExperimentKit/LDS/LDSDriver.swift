import Analysis
import Artifacts
import Data
import EPK
import Foundation
import History
import NN
import Tensor

/// `lds`: the linear datamodeling score of ExPLAIND and baselines on MNIST (docs/METHOD.md §17).
///
/// 1. trains the full-data run of `train_config` if its history is missing;
/// 2. samples the M subsets and retrains the recipe on each (resumable through `ground-truth.h5`);
/// 3. computes every method's scores from the full-data run and scores them;
/// 4. writes `lds.h5`, `lds-summary.json` and the figures.
public enum LDSDriver {
    public static func run(configPath: String, outputDirectory: String?, dataDirectory: String?) throws -> LDSOutcome {
        let config = try StrictConfig.load(LDSConfig.self, from: configPath)
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        let trainConfig = try StrictConfig.load(TrainConfig.self, from: config.trainConfig)
        let out = outputDirectory ?? "results/lds/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let wallStart = Date()
        var seconds: [String: Double] = [:]

        // 1. The full-data run.
        if !FileManager.default.fileExists(atPath: config.history) {
            Log.info("no history at \(config.history): training the full-data run of \(config.trainConfig) first")
            let start = Date()
            _ = try TrainingDriver.run(
                configPath: config.trainConfig, outputDirectory: (config.history as NSString).deletingLastPathComponent,
                dataDirectory: dataDirectory, resume: false)
            seconds["full_training"] = Date().timeIntervalSince(start)
        }
        let setup = try ReplaySetup(historyPath: config.history, dataDirectory: dataDirectory)
        guard setup.trainConfig == trainConfig else {
            throw ArtifactError(
                .config,
                "\(configPath): key 'history': \(config.history) was trained with a different recipe than \(config.trainConfig); retrain it or point 'history' at the matching run"
            )
        }
        let train = setup.data.train, evaluation = setup.data.evaluation
        if let t = config.trak {
            _ = try trakDimension(t, parameterCount: setup.model.parameterCount, trainingCount: train.count)
        }
        let offset = config.testOffset ?? 0
        guard offset + config.testCount <= evaluation.count else {
            throw ArtifactError(
                .config,
                "\(configPath): key 'test_count': expected at most \(evaluation.count - offset) test examples from offset \(offset), found \(config.testCount)"
            )
        }
        let testIndices = Array(offset..<(offset + config.testCount))
        let testInputs = evaluation.inputs.gatherRows(testIndices)
        let testLabels = testIndices.map { evaluation.labels[$0] }
        let thetaT = try setup.history.parameters(at: setup.history.stepCount)
        let fullMargins = Margin.margins(
            logProbs: setup.model.forwardChunked(parameters: thetaT, inputs: testInputs), labels: testLabels)
        let fullAccuracy = setup.model.evaluate(parameters: thetaT, inputs: testInputs, labels: testLabels).accuracy
        let methods = AttributionMethods(
            model: setup.model, history: setup.history, train: train, testInputs: testInputs, testLabels: testLabels)

        // The influence-function solve needs only θ_T: it runs first, so a damping too small for this model's
        // negative curvature (or too few CG iterations) stops the run before any retraining.
        var influence: [MethodScores] = []
        if let block = config.influence {
            let solveStart = Date()
            // Coupled SGD weight decay is the gradient of (wd/2)‖θ‖², part of the objective; AdamW's decoupled decay is not.
            let wd = trainConfig.optimizer.kind == "sgd" ? trainConfig.optimizer.weightDecay : 0
            influence = [try methods.influence(block, weightDecay: wd)]
            seconds["influence"] = Date().timeIntervalSince(solveStart)
            Log.info(influence[0].description)
        }

        // 2. Ground truth: retrain on every subset.
        let subsets = SubsetSampler.sample(
            count: config.subsetCount, fraction: config.subsetFraction, of: train.count,
            seed: UInt64(config.subsetSeed))
        let fingerprint = groundTruthFingerprint(
            subsets: subsets, trainConfig: trainConfig, testIndices: testIndices,
            seedPerSubset: config.seedPerSubset ?? false)
        let store = try GroundTruthStore(
            path: out + "/ground-truth.h5", fingerprint: fingerprint, testCount: testIndices.count)
        let retrainer = SubsetRetrainer(
            config: trainConfig, train: train, testInputs: testInputs, testLabels: testLabels,
            seedPerSubset: config.seedPerSubset ?? false)
        Log.info(
            "\(subsets.count) subsets of \(subsets[0].count) / \(train.count) training samples; \(store.completed) already retrained; \(testIndices.count) test examples"
        )
        var start = Date()
        let progress = Progress(label: "retrain subsets", total: subsets.count)
        let retrained = try store.complete(subsets: subsets, progress: progress) { m, indices in
            try retrainer.retrain(subset: m, indices: indices)
        }
        progress.finish()
        seconds["retraining_this_invocation"] = Date().timeIntervalSince(start)
        seconds["retraining_total"] = store.seconds.reduce(0, +)
        Log.info("retrained \(retrained) subsets in this invocation")

        // 3. Attribution methods from the full-data run.
        start = Date()
        let explaind = try methods.explaind(
            quadrature: config.quadrature, cut: config.earlyCut,
            memoryBudgetBytes: Int(config.memoryBudgetGb * 1_073_741_824))
        seconds["explaind"] = Date().timeIntervalSince(start)
        Log.info(
            String(format: "ExPLAIND reconstruction error max |f̂_y − f_y(θ_T)| = %.3g", explaind.reconstructionError))
        start = Date()
        let similarity = try methods.gradientSimilarity()
        seconds["gradient_similarity"] = Date().timeIntervalSince(start)
        start = Date()
        let tracin = try methods.tracIn(interval: config.tracinInterval)
        seconds["tracin"] = Date().timeIntervalSince(start)
        let ensemble = try ensembleMethods(
            config: config, setup: setup, explaindScores: explaind.methods[0].scores, testInputs: testInputs,
            testLabels: testLabels, out: out, dataDirectory: dataDirectory, seconds: &seconds)
        let all =
            explaind.methods + ensemble.explaind + similarity + [tracin] + influence + [
                methods.random(seed: UInt64(config.randomSeed))
            ] + ensemble.trak

        // 4. Scores, artifact, figures.
        let margins = store.margins.flatMap { $0 }
        let scores = all.map {
            LinearDatamodelScore.compute(
                scores: $0.scores, margins: margins, subsets: subsets, testCount: testIndices.count,
                resamples: config.bootstrapResamples, seed: UInt64(config.bootstrapSeed))
        }
        seconds["total_this_invocation"] = Date().timeIntervalSince(wallStart)
        var outcome = LDSOutcome(
            subsets: subsets, testIndices: testIndices, testLabels: testLabels, margins: margins,
            subsetAccuracies: store.accuracies, subsetSeconds: store.seconds, fullMargins: fullMargins,
            fullAccuracy: fullAccuracy, trainingCount: train.count, methods: all, scores: scores,
            reconstructionError: explaind.reconstructionError, seconds: seconds, ensemble: ensemble.record,
            trainingIndices: trainingIndices(setup),
            dataSourceJSON: try? setup.history.file.root.stringAttribute("data_source"))
        let path = out + "/lds.h5"
        outcome.path = path
        try LDSArtifact.write(
            outcome, configJSON: configJSON, trainConfigJSON: setup.history.configJSON,
            historyPath: config.history, to: path)
        try LDSArtifact.writeSummary(outcome, to: out + "/lds-summary.json")
        for (name, result) in try FigureRenderer.renderAll(artifact: path, directory: out) {
            if case .failure(let e) = result { Log.warn("figure \(name): \(e)") }
        }
        Log.info(table(outcome))
        Log.info(String(format: "lds done in %.1f s → %@", seconds["total_this_invocation"]!, path))
        return outcome
    }

    /// The history's `data/training_indices` (its data provenance), else the rows the data module reports.
    static func trainingIndices(_ setup: ReplaySetup) -> [Int] {
        if let stored = try? setup.history.file.root.read("data/training_indices", as: Int64.self).values {
            return stored.map { Int($0) }
        }
        return setup.data.source.trainingIndices
    }

    /// Ties the ground-truth side file to the subsets, the recipe, the test examples and the seeding rule.
    static func groundTruthFingerprint(
        subsets: [[Int]], trainConfig: TrainConfig, testIndices: [Int], seedPerSubset: Bool
    ) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let recipe = (try? encoder.encode(trainConfig)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let text =
            SubsetSampler.fingerprint(subsets) + "|" + recipe + "|"
            + testIndices.map(String.init).joined(separator: ",") + "|\(seedPerSubset)"
        return String(SHA256.hexDigest(Data(text.utf8)).prefix(16))
    }

    /// The LDS table as log lines.
    public static func table(_ o: LDSOutcome) -> String {
        var lines = [
            "LDS over \(o.subsets.count) subsets × \(o.testIndices.count) test examples (mean, 95% bootstrap CI):"
        ]
        for (m, s) in zip(o.methods, o.scores) {
            let name = m.name.padding(toLength: max(16, m.name.count), withPad: " ", startingAt: 0)
            let undefined = s.undefinedCount > 0 ? " (\(s.undefinedCount) undefined)" : ""
            lines.append("  " + name + String(format: " %6.3f  [%6.3f, %6.3f]", s.mean, s.lower, s.upper) + undefined)
        }
        return lines.joined(separator: "\n")
    }
}
