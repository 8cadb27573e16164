import Artifacts
import Data
import Foundation
import History
import NN
import Tensor

/// What a training run reports at the end.
public struct TrainingSummary: Sendable {
    public var outputDirectory: String
    public var steps: Int
    public var epochs: Int
    public var seconds: Double
    public var finalTrainAccuracy: Double
    public var finalEvaluationAccuracy: Double
}

/// Runs `train-modulo`, `train-cifar2` and `train-mnist`: trains with history (streamed to `history.h5`),
/// then writes `metrics.h5` and the training-curve figures into the output directory.
public enum TrainingDriver {
    public static func run(
        configPath: String, outputDirectory: String?, dataDirectory: String?, resume: Bool,
        expectedExperiment: String? = nil
    ) throws -> TrainingSummary {
        let config = try StrictConfig.load(TrainConfig.self, from: configPath)
        if let e = expectedExperiment, config.experiment != e {
            throw ArtifactError(
                .config,
                "\(configPath): key 'experiment': expected '\(e)' for this executable, found '\(config.experiment)'; use train-\(config.experiment)"
            )
        }
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        let out = outputDirectory ?? "results/\(config.experiment)/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let data = try ExperimentData.load(config, dataDirectory: dataDirectory, configPath: configPath)
        Log.info(data.summary)
        let model = try ExperimentModel.make(config, configPath: configPath)
        try ExperimentModel.check(model, fits: data.train, role: "training")
        try ExperimentModel.check(model, fits: data.evaluation, role: "evaluation")
        let plan = trainingPlan(config, trainingCount: data.train.count)
        Log.info(
            "\(model.name): \(model.parameterCount) parameters; \(config.optimizer.spec); batch \(plan.batchSize), up to \(plan.maxSteps) steps"
        )

        let trainer = Trainer(model: model, train: data.train, validation: data.evaluation, plan: plan)
        trainer.flushEvery = config.training.flushEvery ?? 50
        let historyPath = out + "/history.h5"
        let writer: HistoryFileWriter
        var resumeState: ResumeState? = nil
        if resume {
            if FileManager.default.fileExists(atPath: historyPath + ".partial") {
                try ResumeCheck.verify(
                    partialPath: historyPath + ".partial", configPath: configPath, currentConfigJSON: configJSON,
                    currentChecksum: data.train.checksum, dataSummary: data.summary)
            }
            writer = try HistoryFileWriter(resuming: historyPath)
            resumeState = writer.resumeState
            Log.info("resuming \(writer.partialPath) at step \(resumeState!.step)")
        } else {
            writer = try HistoryFileWriter(
                path: historyPath, model: model, train: data.train, plan: plan,
                initialParameters: trainer.initialParameters(), configJSON: configJSON)
            let source = try data.source.hashed()
            try writer.recordDataSource(json: source.json(), trainingIndices: source.trainingIndices)
        }
        let progress = Progress(label: "train-\(config.experiment)", total: plan.maxSteps)
        if let r = resumeState { progress.advance(by: r.step) }
        var lastEpoch = "", epochs = resumeState?.epoch ?? 0
        var final = (train: Double.nan, evaluation: Double.nan)
        trainer.onStep = { step, _, loss in progress.advance(status: String(format: "loss %.4f", loss) + lastEpoch) }
        trainer.onEpoch = { m in
            epochs = m.epoch
            final = (m.trainAccuracy, m.validationAccuracy)
            lastEpoch = String(
                format: " | epoch %d train acc %.3f eval acc %.3f", m.epoch, m.trainAccuracy, m.validationAccuracy)
        }
        let start = Date()
        let steps: Int
        do { steps = try trainer.run(writer: writer, resume: resumeState) } catch let diverged as TrainingDiverged {
            progress.finish()
            try writer.finishDiverged(diverged)
            // A metrics.h5 left from an earlier run would no longer describe history.h5 (and would look up to date).
            try? FileManager.default.removeItem(atPath: out + "/metrics.h5")
            throw ArtifactError(
                .invalidArgument, file: historyPath,
                problem: "\(diverged) (replayable, marked 'diverged')",
                fix: "lower optimizer.lr (now \(config.optimizer.lr)) or add weight decay, then train again")
        }
        progress.finish()
        try writer.finish()
        let seconds = Date().timeIntervalSince(start)

        let history = try HistoryFileReader(path: historyPath)
        try TrainingMetrics.write(
            history: history, experiment: config.experiment, summary: data.summary,
            trainCount: data.train.count, evaluationCount: data.evaluation.count,
            seconds: seconds, to: out + "/metrics.h5")
        for figure in TrainingFigures.all {
            try FigureRenderer.render(figure, artifact: out + "/metrics.h5", directory: out)
        }
        Log.info(
            String(
                format: "trained %d steps (%d epochs) in %.1f s: train acc %.4f, eval acc %.4f → %@", steps, epochs,
                seconds, final.train, final.evaluation, out))
        return TrainingSummary(
            outputDirectory: out, steps: steps, epochs: epochs, seconds: seconds,
            finalTrainAccuracy: final.train, finalEvaluationAccuracy: final.evaluation)
    }

    /// The trainer's plan for a config and training-set size.
    public static func trainingPlan(_ config: TrainConfig, trainingCount n: Int) -> TrainingPlan {
        let t = config.training
        let batch = min(t.batchSize, n)
        var plan = TrainingPlan(
            optimizer: config.optimizer.spec, schedule: config.schedule.schedule(base: config.optimizer.lr),
            batchSize: batch, dropLast: t.dropLast, maxSteps: 0,
            flipProbability: t.flipProbability ?? 0, stopWhenPerfect: t.stopWhenPerfect ?? false,
            seed: UInt64(t.seed))
        plan.maxSteps = t.maxSteps ?? (t.epochs! * plan.stepsPerEpoch(trainingCount: n))
        return plan
    }
}
