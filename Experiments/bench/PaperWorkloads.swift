import Artifacts
import Data
import EPK
import ExperimentKit
import Foundation
import History
import NN
import Optim
import Tensor

/// A history seen through its first `stepCount` steps only (to time a few EPK steps with data attribution, which
/// needs the full step range of whatever history it is given).
final class TruncatedHistory: TrainingHistory {
    let base: TrainingHistory
    let stepCount: Int
    init(_ base: TrainingHistory, steps: Int) { self.base = base; self.stepCount = min(steps, base.stepCount) }
    var layout: ParameterLayout { base.layout }
    var trainingCount: Int { base.trainingCount }
    var optimizer: OptimizerSpec { base.optimizer }
    var activeComponents: [String] { base.activeComponents }
    func parameters(at checkpoint: Int) throws -> [Float] { try base.parameters(at: checkpoint) }
    func learningRate(step t: Int) throws -> Float { try base.learningRate(step: t) }
    func weightDecay(step t: Int) throws -> Float { try base.weightDecay(step: t) }
    func batchIndices(step t: Int) throws -> [Int] { try base.batchIndices(step: t) }
    func flips(step t: Int) throws -> [Bool]? { try base.flips(step: t) }
    func optimizerQuantity(step t: Int) throws -> [Float] { try base.optimizerQuantity(step: t) }
}

/// Forwards to a history writer and times its `appendStep` calls (the history recording overhead).
final class TimingWriter: HistoryWriter {
    let base: HistoryWriter
    private(set) var appendSeconds: [Double] = []
    init(_ base: HistoryWriter) { self.base = base }
    func appendStep(_ step: RecordedStep) throws {
        let t0 = Clock.now()
        try base.appendStep(step)
        appendSeconds.append(Clock.now() - t0)
    }
    func appendEpoch(_ metrics: EpochMetrics) throws { try base.appendEpoch(metrics) }
    func checkpoint(_ state: ResumeState) throws { try base.checkpoint(state) }
}

enum PaperWorkloads {
    /// EPK memory budgets (GiB), chosen below the RSS targets (1.3 GB for P2, 0.75 GB for P4).
    static let p2BudgetGiB = 1.0
    static let p4BudgetGiB = 0.5
    static let p2aDefaultSteps = 40
    static let p2bDefaultSteps = 2

    static func p1History(_ ctx: BenchContext) -> String { ctx.cacheDirectory + "/p1/history.h5" }
    static func p3History(_ ctx: BenchContext) -> String { ctx.cacheDirectory + "/p3/history.h5" }

    // MARK: data of the paper workloads

    /// P1/P2: modulo 113 with N = 1000 training pairs (the quick config's split) and 500 validation pairs.
    static func moduloData() -> ModuloAdditionDataset {
        ModuloAdditionDataset(prime: 113, seed: 0, validationCount: 500, trainCount: 1000)
    }

    /// P3/P4: 512 synthetic CIFAR-shaped training images and 20 test images.
    static func cifarTrain() -> LabeledDataset { Fixtures.cifarLike(512, seed: 101, name: "synthetic-cifar2-512") }
    static func cifarTest() -> LabeledDataset { Fixtures.cifarLike(20, seed: 102, name: "synthetic-cifar2-test20") }

    // MARK: training with history

    /// Trains with a streamed `history.h5`; returns (steps, wall seconds, median step interval).
    static func train(
        model: Model, train: LabeledDataset, validation: LabeledDataset?, plan: TrainingPlan,
        path: String
    ) throws -> (steps: Int, seconds: Double, medianStep: Double, append: Double) {
        try? FileManager.default.removeItem(atPath: path)
        let trainer = Trainer(model: model, train: train, validation: validation, plan: plan)
        let writer = try HistoryFileWriter(
            path: path, model: model, train: train, plan: plan,
            initialParameters: trainer.initialParameters(),
            configJSON: "{\"bench\": \"\(model.name)\"}")
        // Step intervals measured from the end of the previous step or of its epoch-end evaluation, so the median
        // is the cost of a training step with its history write, without the evaluation.
        var intervals: [Double] = []
        var lastMark = 0.0
        trainer.onStep = { _, _, _ in
            let t = Clock.now(); intervals.append(t - lastMark); lastMark = t
        }
        trainer.onEpoch = { _ in lastMark = Clock.now() }
        let t0 = Clock.now()
        lastMark = t0
        let timing = TimingWriter(writer)
        let steps = try trainer.run(writer: timing)
        try writer.finish()
        let seconds = Clock.now() - t0
        return (steps, seconds, Clock.median(intervals), Clock.median(timing.appendSeconds))
    }

    static func p1(_ ctx: inout BenchContext) throws {
        let data = moduloData()
        let plan = TrainingPlan(
            optimizer: .adamw(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4), schedule: .constant(1e-3),
            batchSize: 1000, dropLast: true, maxSteps: 200, stopWhenPerfect: false, seed: 43)
        let r = try train(
            model: ModuloTransformer(), train: data.train, validation: data.validation, plan: plan, path: p1History(ctx)
        )
        ctx.add(
            Row(
                "P1", "train with history, s/step (mean)", r.seconds / Double(r.steps), "s/step", original: 0.049,
                target: 0.025,
                lowerIsBetter: true,
                note: "\(r.steps) steps, N 1000 full batch, AdamW; includes per-epoch train/val eval"))
        ctx.add(
            Row(
                "P1", "s/step (median, no eval)", r.medianStep, "s/step", original: 0.049, target: 0.025,
                lowerIsBetter: true))
        ctx.add(
            Row(
                "P1", "history append (in the above)", r.append * 1000, "ms/step", lowerIsBetter: true,
                note: "HistoryFileWriter.appendStep, θ and v_t (0.7 MB)"))
    }

    static func p3(_ ctx: inout BenchContext) throws {
        let plan = TrainingPlan(
            optimizer: .sgd(momentum: 0.9, dampening: 0, weightDecay: 5e-3),
            schedule: .triangle(base: 0.02, peakStep: 6, finalStep: 16), batchSize: 64, dropLast: true,
            maxSteps: 16, flipProbability: 0.5, seed: 42)
        let r = try train(model: ResNet9(), train: cifarTrain(), validation: nil, plan: plan, path: p3History(ctx))
        ctx.add(
            Row(
                "P3", "train with history, s/step (median)", r.medianStep, "s/step", original: 1.62, target: 0.8,
                lowerIsBetter: true, note: "batch 64 SGD-momentum, synthetic 512 images"))
        ctx.add(
            Row(
                "P3", "s/step (mean, incl. epoch eval)", r.seconds / Double(r.steps), "s/step", original: 1.62,
                target: 0.8,
                lowerIsBetter: true, note: "\(r.steps) steps; 2 epoch-end forward passes over the 512 images"))
        ctx.add(
            Row(
                "P3", "history append (in the above)", r.append * 1000, "ms/step", lowerIsBetter: true,
                note: "HistoryFileWriter.appendStep, θ and R_t (18 MB)"))
    }

    // MARK: EPK

    /// Runs the engine and returns seconds per processed step.
    static func epk(
        model: Model, history: TrainingHistory, train: LabeledDataset, test: LabeledDataset,
        options: EPKOptions
    ) throws -> (perStep: Double, seconds: Double, plan: EPKEngine.MemoryPlan) {
        let engine = try EPKEngine(model: model, history: history, data: DatasetReplay(train), options: options)
        let plan = try engine.memoryPlan(testCount: test.count)
        Log.info("bench: \(model.name), \(history.stepCount) steps; \(plan)")
        let seconds = try Clock.time { _ = try engine.run(testInputs: test.inputs, testLabels: test.labels) }
        return (seconds / Double(history.stepCount), seconds, plan)
    }

    static func groups(_ model: Model) -> [ComponentGroup] {
        model.attributionGroups.map { ComponentGroup(name: $0.name, components: $0.components) }
    }

    /// The EPK options of P2a (focus-class attribution) or P2b (all-class attribution); `kernel-gemm` plans with them.
    static func p2Options(_ model: Model, allClasses: Bool, budgetGiB: Double) -> EPKOptions {
        EPKOptions(
            quadrature: QuadratureConfig(rule: .midpoint, points: 2), classes: .all,
            attributionClasses: allClasses ? .selected : .focus, dataAttributionGroups: groups(model),
            memoryBudgetBytes: Int(budgetGiB * 1_073_741_824))
    }

    /// The EPK options of P4; `kernel-gemm` plans with them.
    static func p4Options(_ model: Model, budgetGiB: Double) -> EPKOptions {
        EPKOptions(
            quadrature: QuadratureConfig(rule: .midpoint, points: 1), classes: .all,
            attributionClasses: .selected, dataAttributionGroups: groups(model),
            memoryBudgetBytes: Int(budgetGiB * 1_073_741_824))
    }

    /// P2 in variant (a) focus-class attribution or (b) all-class attribution.
    static func p2(_ ctx: inout BenchContext, allClasses: Bool) throws {
        let path = p1History(ctx)
        if !FileManager.default.fileExists(atPath: path) {
            var prep = ctx
            try p1(&prep)
        }
        let model = ModuloTransformer()
        let data = moduloData()
        let reader = try HistoryFileReader(path: path)
        let requested =
            allClasses
            ? (ctx.p2bSteps ?? p2bDefaultSteps) : (ctx.p2aSteps ?? (ctx.full ? reader.stepCount : p2aDefaultSteps))
        let history: TrainingHistory =
            requested >= reader.stepCount ? reader : TruncatedHistory(reader, steps: requested)
        let budgetGiB = ctx.budgetGiB ?? p2BudgetGiB
        let options = p2Options(model, allClasses: allClasses, budgetGiB: budgetGiB)
        let test = data.validation.prefix(50)
        let r = try epk(model: model, history: history, train: data.train, test: test, options: options)
        let name = allClasses ? "P2b" : "P2a"
        let what =
            allClasses
            ? "data attribution for all 115 classes (as the original)"
            : "validation all 115 classes + focus-class attribution"
        let stepsNote =
            history.stepCount < reader.stepCount
            ? "first \(history.stepCount) of \(reader.stepCount) steps" : "all \(reader.stepCount) steps"
        ctx.add(
            Row(
                name, "EPK s/step", r.perStep, "s/step", original: 34, target: 3.4, lowerIsBetter: true,
                note:
                    "\(what); 50 test × 115, 2 midpoints; \(stepsNote); \(r.plan.testChunk) tests/chunk, budget \(budgetGiB) GiB"
            ))
    }

    static func p4(_ ctx: inout BenchContext) throws {
        let path = p3History(ctx)
        if !FileManager.default.fileExists(atPath: path) {
            var prep = ctx
            try p3(&prep)
        }
        let model = ResNet9()
        let reader = try HistoryFileReader(path: path)
        let history: TrainingHistory =
            (ctx.p4Steps ?? reader.stepCount) >= reader.stepCount
            ? reader : TruncatedHistory(reader, steps: ctx.p4Steps!)
        let budgetGiB = ctx.budgetGiB ?? p4BudgetGiB
        let options = p4Options(model, budgetGiB: budgetGiB)
        let r = try epk(model: model, history: history, train: cifarTrain(), test: cifarTest(), options: options)
        ctx.add(
            Row(
                "P4", "EPK s/step", r.perStep, "s/step", original: 13.3, target: 1.3, lowerIsBetter: true,
                note:
                    "\(history.stepCount < reader.stepCount ? "first \(history.stepCount) of " : "")\(reader.stepCount) steps, 20 test × 2 classes, 1 midpoint, data attribution (\(groups(model).count) groups); \(r.plan.testChunk) tests/chunk, budget \(budgetGiB) GiB"
            ))
    }

    // MARK: quick configs

    /// Locates `Configs/` (the working directory, else next to the package the executable was built in).
    static func configsDirectory() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/Configs"]
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 { dir = dir.deletingLastPathComponent(); candidates.append(dir.path + "/Configs") }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/modulo-epk-quick.json") }
    }

    /// `epk-<experiment>-quick`: trains the quick history into the cache (untimed), then times the EPK of the quick
    /// EPK config on it, as `validate-epk` would run it (without writing the artifact).
    static func quick(_ ctx: inout BenchContext, experiment: String) throws {
        guard let configs = configsDirectory() else {
            ctx.add(
                Row("epk-\(experiment)-quick", "skipped", 0, "", note: "Configs/ not found; run from the package root"))
            return
        }
        let out = ctx.cacheDirectory + "/\(experiment)-quick"
        let historyPath = out + "/history.h5"
        let savedQuiet = Log.quiet
        if !FileManager.default.fileExists(atPath: historyPath) {
            Log.quiet = true
            defer { Log.quiet = savedQuiet }
            do {
                _ = try TrainingDriver.run(
                    configPath: configs + "/\(experiment)-quick.json", outputDirectory: out,
                    dataDirectory: nil, resume: false, expectedExperiment: experiment)
            } catch {
                ctx.add(
                    Row(
                        "epk-\(experiment)-quick", "skipped", 0, "", note: "could not train the quick history: \(error)"
                    ))
                return
            }
        }
        let config = try StrictConfig.load(EPKConfig.self, from: configs + "/\(experiment)-epk-quick.json")
        let setup = try ReplaySetup(historyPath: historyPath, dataDirectory: nil)
        let model = setup.model
        let offset = config.testOffset ?? 0
        let test = setup.data.evaluation.subset(Array(offset..<(offset + config.testCount)))
        let groupList =
            (config.groups ?? "model") == "model" ? model.attributionGroups : model.layout.names.map { ($0, [$0]) }
        let options = EPKOptions(
            quadrature: config.quadrature, classes: config.classes,
            attributionClasses: config.attributionClasses ?? .selected,
            dataAttributionGroups: config.dataAttribution
                ? groupList.map { ComponentGroup(name: $0.0, components: $0.1) } : [],
            parameterAttribution: config.parameterAttribution,
            memoryBudgetBytes: Int(config.memoryBudgetGb * 1_073_741_824))
        let r = try epk(model: model, history: setup.history, train: setup.data.train, test: test, options: options)
        let q = config.quadrature
        let points =
            q.earlySteps > 0
            ? "\(q.rule.rawValue) \(q.points) pts (\(q.earlyPoints) for the first \(q.earlySteps) steps)"
            : "\(q.rule.rawValue) \(q.points) pts"
        ctx.add(
            Row(
                "epk-\(experiment)-quick", "EPK s/step", r.perStep, "s/step", lowerIsBetter: true,
                note: String(
                    format: "%d steps in %.1f s; %d test × %@ classes, attribution %@; %@", setup.history.stepCount,
                    r.seconds,
                    config.testCount, config.classes.rawValue, (config.attributionClasses ?? .selected).rawValue, points
                )))
    }
}
