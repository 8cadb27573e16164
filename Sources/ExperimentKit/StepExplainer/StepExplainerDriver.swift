import Analysis
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor

/// The result of one explainer run: window and step decompositions, and the convergence study.
public struct StepExplainerResult {
    public var groups: [String]
    public var windows: [SegmentDecomposition]
    public var steps: [SegmentDecomposition]
    public var convergencePoints: [Int]
    public var convergenceLabels: [String]
    /// (segments × points) |residual|.
    public var convergenceResiduals: [[Double]]
    public var convergenceMeasured: [Double]
}

/// `step-explainer`: decomposes ΔL_E of chosen steps and windows by module (docs/METHOD.md §19).
public enum StepExplainerDriver {
    public static let kind = ArtifactKind.stepExplainer.rawValue

    /// What to explain, for either source.
    struct Setup {
        var loss: EvaluationLoss
        var groups: ModuleGroups
        var windows: () throws -> [ExplainedSegment]
        var step: (Int) throws -> ExplainedSegment
        var defaultSteps: [Int]
        var summary: String
    }

    static func setup(_ config: StepExplainerConfig, historyPath: String, dataDirectory: String?) throws -> Setup {
        switch config.source {
        case "lm":
            let history = try LMHistoryReader(path: historyPath)
            let corpus = try history.config.loadCorpus(dataDirectory: dataDirectory)
            guard corpus.checksum == history.datasetChecksum else {
                throw ArtifactError(
                    .invalidArgument, file: historyPath,
                    problem: "trained on a corpus with checksum \(history.datasetChecksum), found \(corpus.checksum)",
                    fix: "point --data at the corpus the history was trained on")
            }
            let model = TransformerLM(history.config.shape(vocabularySize: corpus.vocabulary.count))
            guard model.layout == history.layout else {
                throw ArtifactError(.corrupt, "\(historyPath): parameter layout does not match the configured model")
            }
            let T = model.shape.contextLength
            let offsets = CharacterCorpus.evenlySpacedOffsets(
                count: config.evaluationCount, streamLength: corpus.heldOut.count, length: T)
            let batch = CharacterCorpus.windows(corpus.heldOut, offsets: offsets, length: T)
            var windows = try SegmentSources.lmWindows(history)
            if let m = config.maxWindows { windows = Array(windows.prefix(m)) }
            let w = windows
            return Setup(
                loss: LanguageModelEvaluationLoss(model: model, inputs: batch.inputs, targets: batch.targets),
                groups: ModuleGroups(layout: model.layout, groups: model.componentGroups),
                windows: { w }, step: { try SegmentSources.lmStep(history, step: $0) },
                defaultSteps: history.detailSteps,
                summary:
                    "TransformerLM (P = \(model.parameterCount)), \(history.stepCount) steps; L_E over \(config.evaluationCount) held-out windows of \(T) characters"
            )
        default:
            let replay = try ReplaySetup(historyPath: historyPath, dataDirectory: dataDirectory)
            let evaluation = replay.data.evaluation
            let n = min(config.evaluationCount, evaluation.count)
            let loss = ClassifierEvaluationLoss(
                model: replay.model, inputs: evaluation.inputs.rows(0..<n), labels: Array(evaluation.labels.prefix(n)))
            let history = replay.history, data = DatasetReplay(replay.data.train)
            let T = history.stepCount
            var bounds: [Int] = []
            if let s = config.windowStride { bounds = Array(stride(from: 0, to: T, by: s)) + [T] }
            if let m = config.maxWindows, bounds.count > m + 1 { bounds = Array(bounds.prefix(m + 1)) }
            let b = bounds
            return Setup(
                loss: loss, groups: ModuleGroups(layout: replay.model.layout, groups: replay.model.attributionGroups),
                windows: {
                    try zip(b, b.dropFirst()).map { try SegmentSources.classifierWindow(history, from: $0, to: $1) }
                },
                step: { try SegmentSources.classifierStep(history, model: replay.model, data: data, step: $0) },
                defaultSteps: [],
                summary:
                    "\(replay.trainConfig.experiment) \(replay.model.name) (P = \(replay.model.parameterCount)), \(T) steps; L_E = mean NLL on \(n) evaluation samples"
            )
        }
    }

    /// Runs the explainer in memory (no files).
    public static func compute(
        _ config: StepExplainerConfig, historyPath: String, dataDirectory: String?,
        progress: Artifacts.Progress? = nil
    ) throws -> (result: StepExplainerResult, summary: String) {
        let s = try setup(config, historyPath: historyPath, dataDirectory: dataDirectory)
        let windowSegments = try s.windows()
        let stepList = config.steps ?? s.defaultSteps
        var windows: [SegmentDecomposition] = [], steps: [SegmentDecomposition] = []
        for (i, w) in windowSegments.enumerated() {
            let d = StepExplainer.explain(
                w, loss: s.loss, groups: s.groups, nodes: config.quadrature.nodes(forStep: w.start))
            windows.append(d)
            progress?.advance(
                status: String(
                    format: "window %d/%d: ΔL %.4g, residual %.2g", i + 1, windowSegments.count, d.measured, d.residual)
            )
        }
        for t in stepList {
            let d = StepExplainer.explain(
                try s.step(t), loss: s.loss, groups: s.groups, nodes: config.quadrature.nodes(forStep: t))
            steps.append(d)
            progress?.advance(status: String(format: "step %d: ΔL %.3g, residual %.2g", t, d.measured, d.residual))
        }
        var labels: [String] = [], residuals: [[Double]] = [], measured: [Double] = []
        if let c = config.convergence {
            var segments: [(String, ExplainedSegment)] = try c.steps.map { ("step \($0)", try s.step($0)) }
            for i in c.windows where i < windowSegments.count {
                let w = windowSegments[i]
                segments.append(("window \(w.start)–\(w.end)", w))
            }
            for (label, seg) in segments {
                labels.append(label)
                residuals.append(StepExplainer.residuals(seg, loss: s.loss, rule: c.rule, points: c.points))
                measured.append(s.loss.loss(seg.thetaEnd) - s.loss.loss(seg.thetaStart))
                progress?.advance(status: "convergence \(label)")
            }
        }
        let result = StepExplainerResult(
            groups: s.groups.names, windows: windows, steps: steps,
            convergencePoints: config.convergence?.points ?? [], convergenceLabels: labels,
            convergenceResiduals: residuals, convergenceMeasured: measured)
        return (result, s.summary)
    }

    /// Work units `compute` reports to its progress (for the progress bar total).
    static func workUnits(_ config: StepExplainerConfig, historyPath: String) -> Int {
        var n = (config.steps?.count ?? 0) + (config.maxWindows ?? 0)
        if let c = config.convergence { n += c.steps.count + c.windows.count }
        return max(1, n)
    }

    public static func run(
        configPath: String, historyOverride: String?, outputDirectory: String?, dataDirectory: String?
    ) throws -> String {
        let config = try StrictConfig.load(StepExplainerConfig.self, from: configPath)
        let historyPath = historyOverride ?? config.history
        guard FileManager.default.fileExists(atPath: historyPath) else {
            throw ArtifactError(
                .notFound, file: historyPath, problem: "no such history",
                fix: config.source == "lm"
                    ? "train first: `swift run -c release train-lm --config Configs/lm.json`, or pass --history"
                    : "train first (train-modulo/mnist/cifar2) or pass --history")
        }
        let out = outputDirectory ?? "results/step-explainer/\(config.run)"
        try OutputLock.acquire(directory: out)
        let start = Date()
        let progress = Artifacts.Progress(label: "step-explainer", total: workUnits(config, historyPath: historyPath))
        let (result, summary) = try compute(
            config, historyPath: historyPath, dataDirectory: dataDirectory, progress: progress)
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let all = result.windows + result.steps
        if !all.isEmpty {
            let rel = all.map { abs($0.residual) / max(abs($0.measured), 1e-12) }
            Log.info(
                String(
                    format: "%@: %d windows, %d steps in %.0f s; |residual| max %.2g, median relative %.2g",
                    summary, result.windows.count, result.steps.count, seconds,
                    all.map { abs($0.residual) }.max() ?? 0, rel.sorted()[rel.count / 2]))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = out + "/step-explainer.h5"
        try StepExplainerArtifact.write(
            result, configJSON: try String(contentsOfFile: configPath, encoding: .utf8),
            historyPath: historyPath, summary: summary, seconds: seconds, to: path)
        renderFigures(path, directory: out)
        return path
    }
}
