import Artifacts
import Foundation
import NN
import Optim
import Tensor

/// The sparse training history of a language-model run, `lm-history.h5` (kind "lm-history").
///
/// A full per-step history (docs/METHOD.md §2) costs T·P floats; here only what the step explainer needs is kept:
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/checkpoints/step` | (K) i64 | t of each checkpoint (every `checkpoint_every` steps, and T) |
/// | `/checkpoints/theta` | (K, P) f32 | θ_t (before step t) |
/// | `/checkpoints/exp_avg`, `/checkpoints/exp_avg_sq` | (K, P) f32 | AdamW m, v after t steps (zeros at t = 0) |
/// | `/detail/<t>/{theta_before, theta_after, gradient, exp_avg_before, exp_avg_after, exp_avg_sq_after}` | (P) f32 | θ_t, θ_{t+1}, g_t, m_{t−1}, m_t, v_t |
/// | `/detail/<t>/batch_offsets` | (B) i64 | window offsets of step t in the training stream |
/// | `/metrics/step_loss` | (T) f64 | batch loss at θ_t |
/// | `/metrics/eval_step`, `/metrics/eval_loss` | (E) f64 | held-out loss of the fixed evaluation windows |
///
/// `/detail/<t>` attributes: `learning_rate` η_t, `step_count` τ = t + 1 (docs/METHOD.md §5). Root attributes: `kind`,
/// `format`, `config`, `components`, `component_shapes`, `vocabulary` (bytes as JSON), `dataset_checksum`,
/// `optimizer` (JSON), `steps`, provenance.
public enum LMHistory {
    public static let kind = "lm-history"
    public static let format = "explaind-lm-history/1"
}

/// One fully recorded AdamW step.
public struct LMDetailStep: Sendable {
    public var step: Int
    public var learningRate: Double
    public var stepCount: Int
    public var thetaBefore: [Float]
    public var thetaAfter: [Float]
    public var gradient: [Float]
    public var firstMomentBefore: [Float]
    public var firstMomentAfter: [Float]
    public var secondMomentAfter: [Float]
    public var batchOffsets: [Int]
}

/// Reads `lm-history.h5`.
public final class LMHistoryReader {
    public let path: String
    public let file: HDF5File
    public let config: LMConfig
    public let configJSON: String
    public let layout: ParameterLayout
    public let checkpointSteps: [Int]
    public let detailSteps: [Int]
    public let datasetChecksum: String
    public let stepCount: Int

    public init(path: String) throws {
        self.path = path
        file = try HDF5File(path: path, mode: .read)
        let root = try file.root
        guard root.hasAttribute("format"), try root.stringAttribute("format") == LMHistory.format else {
            throw ArtifactError(
                .corrupt,
                "\(path): not a language-model history (format \(LMHistory.format)); pass an lm-history.h5 written by train-lm"
            )
        }
        configJSON = try root.stringAttribute("config")
        config = try StrictConfig.decode(LMConfig.self, from: Data(configJSON.utf8), source: path + " (stored config)")
        let names = try root.jsonAttribute("components", as: [String].self)
        let shapes = try root.jsonAttribute("component_shapes", as: [[Int]].self)
        var l = ParameterLayout()
        for (n, s) in zip(names, shapes) { l.add(n, s) }
        layout = l
        checkpointSteps = try root.read("checkpoints/step", as: Int64.self).values.map { Int($0) }
        detailSteps = try root.group("detail").memberNames().compactMap { Int($0) }.sorted()
        datasetChecksum = try root.stringAttribute("dataset_checksum")
        stepCount = try root.intAttribute("steps")
    }

    public func checkpoint(_ index: Int) throws -> (theta: [Float], firstMoment: [Float], secondMoment: [Float]) {
        let r = index..<(index + 1)
        return (
            try file.root.dataset("checkpoints/theta").readRows(r, as: Float.self),
            try file.root.dataset("checkpoints/exp_avg").readRows(r, as: Float.self),
            try file.root.dataset("checkpoints/exp_avg_sq").readRows(r, as: Float.self)
        )
    }

    public func detail(step t: Int) throws -> LMDetailStep {
        let g = try file.root.group("detail/\(t)")
        func f(_ name: String) throws -> [Float] { try g.read(name, as: Float.self).values }
        return LMDetailStep(
            step: t, learningRate: try g.doubleAttribute("learning_rate"), stepCount: try g.intAttribute("step_count"),
            thetaBefore: try f("theta_before"), thetaAfter: try f("theta_after"), gradient: try f("gradient"),
            firstMomentBefore: try f("exp_avg_before"), firstMomentAfter: try f("exp_avg_after"),
            secondMomentAfter: try f("exp_avg_sq_after"),
            batchOffsets: try g.read("batch_offsets", as: Int64.self).values.map { Int($0) })
    }

    public func metrics() throws -> (stepLoss: [Double], evalStep: [Double], evalLoss: [Double]) {
        (
            try file.root.read("metrics/step_loss", as: Double.self).values,
            try file.root.read("metrics/eval_step", as: Double.self).values,
            try file.root.read("metrics/eval_loss", as: Double.self).values
        )
    }

    public func close() { file.close() }
}

/// Trains the language model and writes its sparse history (atomically).
public enum LMTrainer {
    public struct Result {
        public var historyPath: String
        public var finalEvalLoss: Double
        public var seconds: Double
    }

    /// Trains `config` on `corpus` and writes `<directory>/lm-history.h5`.
    public static func train(
        config: LMConfig, configJSON: String, corpus: CharacterCorpus, directory: String,
        log: Bool = true
    ) throws -> Result {
        let shape = config.shape(vocabularySize: corpus.vocabulary.count)
        let model = TransformerLM(shape)
        let T = shape.contextLength, B = config.training.batchSize, steps = config.training.steps
        var rng = RNG(seed: UInt64(config.training.seed))
        var theta = model.initialParameters(rng: &rng)
        var optimizer = AdamW(
            beta1: config.optimizer.beta1, beta2: config.optimizer.beta2, epsilon: config.optimizer.eps,
            weightDecay: config.optimizer.weightDecay)
        let P = model.parameterCount
        let evalOffsets = CharacterCorpus.evenlySpacedOffsets(
            count: config.training.evalWindows, streamLength: corpus.heldOut.count, length: T)
        let evalBatch = CharacterCorpus.windows(corpus.heldOut, offsets: evalOffsets, length: T)
        let detail = Set(config.training.detailSteps)
        if log {
            Log.info(
                "TransformerLM \(shape.layers)×d\(shape.modelDimensions), T=\(T), V=\(shape.vocabularySize): P = \(P); \(corpus.train.count) train / \(corpus.heldOut.count) held-out characters (\(corpus.heldOutVerses) of \(corpus.verseCount) verses held out)"
            )
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/lm-history.h5"
        let start = Date()
        var finalEval = Double.nan
        try AtomicFile.write(to: path) { tmp in
            let file = try HDF5File(path: tmp, mode: .create)
            defer { file.close() }
            let root = try file.root
            try root.setAttribute("kind", LMHistory.kind)
            try root.setAttribute("format", LMHistory.format)
            try root.setAttribute("config", configJSON)
            try root.setJSONAttribute("components", model.layout.names)
            try root.setJSONAttribute("component_shapes", model.layout.components.map(\.shape))
            try root.setJSONAttribute("vocabulary", corpus.vocabulary.map(Int.init))
            try root.setAttribute("dataset_checksum", corpus.checksum)
            try root.setAttribute("model", model.name)
            try root.setAttribute("optimizer", optimizer.description)
            try root.setAttribute("steps", steps)
            try root.setAttribute("parameter_count", P)
            try Provenance.current().attach(to: root)
            let ck = try root.createGroup("checkpoints")
            let ckStep = try ck.createExtendable("step", type: Int64.self, rowShape: [1], chunkRows: 16)
            let ckTheta = try ck.createExtendable("theta", type: Float.self, rowShape: [P], chunkRows: 1)
            let ckM = try ck.createExtendable("exp_avg", type: Float.self, rowShape: [P], chunkRows: 1)
            let ckV = try ck.createExtendable("exp_avg_sq", type: Float.self, rowShape: [P], chunkRows: 1)
            let detailGroup = try root.createGroup("detail")
            func checkpoint(_ t: Int) throws {
                try ckStep.append([Int64(t)])
                try ckTheta.append(theta)
                let m =
                    optimizer.state.firstMoment.isEmpty ? [Float](repeating: 0, count: P) : optimizer.state.firstMoment
                let v =
                    optimizer.state.secondMoment.isEmpty
                    ? [Float](repeating: 0, count: P) : optimizer.state.secondMoment
                try ckM.append(m); try ckV.append(v)
                try file.flush()
            }
            var stepLoss: [Double] = [], evalStep: [Double] = [], evalLoss: [Double] = []
            func evaluate(_ t: Int) {
                let l = model.loss(parameters: theta, inputs: evalBatch.inputs, targets: evalBatch.targets)
                evalStep.append(Double(t)); evalLoss.append(l); finalEval = l
            }
            let progress = Artifacts.Progress(label: "train-lm", total: steps)
            let span = corpus.train.count - T - 1
            for t in 0..<steps {
                if t % config.training.checkpointEvery == 0 { try checkpoint(t) }
                if t % config.training.evalEvery == 0 { evaluate(t) }
                let offsets = (0..<B).map { _ in rng.int(below: span) }
                let batch = CharacterCorpus.windows(corpus.train, offsets: offsets, length: T)
                let (loss, gradient) = model.lossAndGradient(
                    parameters: theta, inputs: batch.inputs, targets: batch.targets)
                stepLoss.append(loss)
                let lr = config.learningRate(step: t)
                let before =
                    detail.contains(t)
                    ? (
                        theta,
                        optimizer.state.firstMoment.isEmpty
                            ? [Float](repeating: 0, count: P) : optimizer.state.firstMoment
                    ) : nil
                optimizer.step(parameters: &theta, gradient: gradient, learningRate: lr)
                if let before {
                    let g = try detailGroup.createGroup(String(t))
                    try g.setAttribute("learning_rate", lr)
                    try g.setAttribute("step_count", optimizer.state.stepCount)
                    try g.setAttribute("batch_loss", loss)
                    _ = try g.write("theta_before", before.0, shape: [P])
                    _ = try g.write("theta_after", theta, shape: [P])
                    _ = try g.write("gradient", gradient, shape: [P])
                    _ = try g.write("exp_avg_before", before.1, shape: [P])
                    _ = try g.write("exp_avg_after", optimizer.state.firstMoment, shape: [P])
                    _ = try g.write("exp_avg_sq_after", optimizer.state.secondMoment, shape: [P])
                    _ = try g.write("batch_offsets", offsets.map(Int64.init), shape: [B])
                }
                progress.advance(status: String(format: "loss %.3f", loss))
            }
            try checkpoint(steps)
            evaluate(steps)
            progress.finish()
            let metrics = try root.createGroup("metrics")
            _ = try metrics.write("step_loss", stepLoss, shape: [stepLoss.count])
            _ = try metrics.write("eval_step", evalStep, shape: [evalStep.count])
            _ = try metrics.write("eval_loss", evalLoss, shape: [evalLoss.count])
            try root.setAttribute("wall_seconds", Date().timeIntervalSince(start))
            try file.flush()
        }
        let seconds = Date().timeIntervalSince(start)
        if log {
            Log.info(
                String(format: "trained %d steps in %.0f s; held-out loss %.3f → %@", steps, seconds, finalEval, path))
        }
        return Result(historyPath: path, finalEvalLoss: finalEval, seconds: seconds)
    }
}
