import Artifacts
import Data
import Foundation
import NN
import Optim
import Tensor

/// The `history.h5` layout (docs/ARTIFACTS.md). T steps, K components, B batch size:
///
/// | path | shape, type | meaning |
/// |---|---|---|
/// | `/params/<component>` | (T+1, component shape) f32 | θ_t, row 0 = initialisation |
/// | `/optimizer/learning_rate` | (T) f32 | η_t used by step t |
/// | `/optimizer/weight_decay` | (T) f32 | λ used by step t |
/// | `/optimizer/exp_avg_sq/<component>` | (T, shape) f32 | AdamW v_t after step t |
/// | `/optimizer/decay_buffer/<component>` | (T, shape) f32 | SGD R_t = μR_{t−1} + c_t λθ_t (docs/METHOD.md §4) |
/// | `/batches/indices` | (T, B) i32 | dataset indices of step t (−1 pads a short last batch) |
/// | `/batches/flips` | (T, B) u8 | recorded horizontal flips (only with augmentation) |
/// | `/batches/loss` | (T) f64 | batch loss at θ_t |
/// | `/metrics/<name>` | (epochs) f64 | epoch, step, train_loss, train_acc, val_loss, val_acc, param_norm |
/// | `/resume/...` | | the last consistent resume point (optimizer state, RNG, batch order) |
///
/// Root attributes: `format` ("explaind-history/1"), `model`, `optimizer` (JSON), `components` (JSON names),
/// `component_shapes` (JSON), `active_components` (JSON), `training_count`, `batch_size`, `dataset_name`,
/// `dataset_checksum`, `config` (the run's JSON config), `steps_completed`, plus provenance.
public enum HistoryFormat {
    public static let version = "explaind-history/1"
    static let metricNames = ["epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "param_norm"]
    static func quantityGroup(_ spec: OptimizerSpec) -> String { spec.kind == "adamw" ? "exp_avg_sq" : "decay_buffer" }
}

/// Streams a run into `history.h5` as it trains. While running, the file is `<path>.partial`; `finish()` renames
/// it to `<path>`, so a killed run never leaves a half file under the final name. `--resume` reopens the partial
/// file, truncates everything after its last resume point and continues from there.
public final class HistoryFileWriter: HistoryWriter {
    public let path: String
    public var partialPath: String { path + ".partial" }
    let file: HDF5File
    let layout: ParameterLayout
    let batchSize: Int
    let quantityGroup: String
    let hasFlips: Bool
    private var steps: Int

    /// Creates a new partial history with θ₀ as its first row.
    public init(
        path: String, model: Model, train: LabeledDataset, plan: TrainingPlan, initialParameters: [Float],
        configJSON: String
    ) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: path + ".partial")
        file = try HDF5File(path: path + ".partial", mode: .create)
        layout = model.layout; batchSize = plan.batchSize; quantityGroup = HistoryFormat.quantityGroup(plan.optimizer)
        hasFlips = plan.flipProbability > 0
        steps = 0
        let root = try file.root
        try root.setAttribute("format", HistoryFormat.version)
        try root.setAttribute("model", model.name)
        if let spec = model as? SpecModel { try root.setAttribute("model_spec", spec.spec.json()) }
        try root.setJSONAttribute("optimizer", plan.optimizer)
        try root.setJSONAttribute("components", layout.names)
        try root.setJSONAttribute("component_shapes", layout.components.map(\.shape))
        try root.setJSONAttribute("active_components", model.activeComponents)
        try root.setAttribute("training_count", train.count)
        try root.setAttribute("batch_size", plan.batchSize)
        try root.setAttribute("dataset_name", train.name)
        try root.setAttribute("dataset_checksum", train.checksum)
        try root.setAttribute("config", configJSON)
        try root.setAttribute("steps_completed", 0)
        try Provenance.current().attach(to: root)
        let params = try root.createGroup("params"), opt = try root.createGroup("optimizer")
        let quantity = try opt.createGroup(quantityGroup)
        for c in layout.components {
            let d = try params.createExtendable(c.name, type: Float.self, rowShape: c.shape, chunkRows: 1)
            try d.setAttribute("axes", "step, " + c.shape.map(String.init).joined(separator: " x "))
            _ = try quantity.createExtendable(c.name, type: Float.self, rowShape: c.shape, chunkRows: 1)
        }
        for name in ["learning_rate", "weight_decay"] {
            _ = try opt.createExtendable(name, type: Float.self, rowShape: [], chunkRows: 256)
        }
        let batches = try root.createGroup("batches")
        _ = try batches.createExtendable("indices", type: Int32.self, rowShape: [plan.batchSize], chunkRows: 64)
        if hasFlips {
            _ = try batches.createExtendable("flips", type: UInt8.self, rowShape: [plan.batchSize], chunkRows: 64)
        }
        _ = try batches.createExtendable("loss", type: Double.self, rowShape: [], chunkRows: 256)
        let metrics = try root.createGroup("metrics")
        for m in HistoryFormat.metricNames {
            _ = try metrics.createExtendable(m, type: Double.self, rowShape: [], chunkRows: 64)
        }
        try appendParameters(initialParameters)
    }

    /// Records where the training set came from (`data_source`, JSON) and `data/training_indices` (int64): training
    /// row i is row `training_indices[i]` of that source (docs/ARTIFACTS.md).
    public func recordDataSource(json: String, trainingIndices: [Int]) throws {
        let root = try file.root
        try root.setAttribute("data_source", json)
        _ = try root.createGroup("data").write(
            "training_indices", trainingIndices.map(Int64.init), shape: [trainingIndices.count])
    }

    /// Reopens `<path>.partial` after a kill: truncates to the last resume point and returns it.
    public init(resuming path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path + ".partial") else {
            throw ArtifactError(.notFound, "\(path).partial: no unfinished run to resume; start without --resume")
        }
        file = try HDF5File(path: path + ".partial", mode: .readWrite)
        let reader = try HistoryFileReader(file: file, validate: false)
        layout = reader.layout; batchSize = reader.batchSize
        quantityGroup = HistoryFormat.quantityGroup(reader.optimizer)
        hasFlips = try file.root.contains("batches/flips")
        let state = try HistoryFileWriter.readResume(file.root, parameterCount: layout.count)
        steps = state.step
        try truncate(steps: state.step, epochs: state.epoch)
        resumeState = state
    }

    /// The resume point found by `init(resuming:)`.
    public private(set) var resumeState: ResumeState?

    public func appendStep(_ s: RecordedStep) throws {
        let root = try file.root
        try appendParameters(s.parameters)
        let quantity = try root.group("optimizer/\(quantityGroup)")
        for c in layout.components {
            _ = try quantity.dataset(c.name).append(s.optimizerQuantity[c.range])
        }
        _ = try root.dataset("optimizer/learning_rate").append([s.learningRate])
        _ = try root.dataset("optimizer/weight_decay").append([s.weightDecay])
        var idx = s.indices.map { Int32($0) }
        idx += [Int32](repeating: -1, count: batchSize - idx.count)
        _ = try root.dataset("batches/indices").append(idx)
        if hasFlips {
            var f = (s.flips ?? []).map { UInt8($0 ? 1 : 0) }
            f += [UInt8](repeating: 0, count: batchSize - f.count)
            _ = try root.dataset("batches/flips").append(f)
        }
        _ = try root.dataset("batches/loss").append([s.loss])
        steps += 1
    }

    public func appendEpoch(_ m: EpochMetrics) throws {
        let values = [
            Double(m.epoch), Double(m.step), m.trainLoss, m.trainAccuracy, m.validationLoss, m.validationAccuracy,
            m.parameterNorm,
        ]
        for (name, v) in zip(HistoryFormat.metricNames, values) {
            _ = try file.root.dataset("metrics/\(name)").append([v])
        }
    }

    public func checkpoint(_ state: ResumeState) throws {
        let root = try file.root
        if root.contains("resume") { try root.remove("resume") }
        let g = try root.createGroup("resume")
        try g.setAttribute("step", state.step)
        try g.setAttribute("epoch", state.epoch)
        try g.setAttribute("position_in_epoch", state.positionInEpoch)
        _ = try g.write("permutation", state.permutation.map { Int64($0) }, shape: [state.permutation.count])
        _ = try g.write("rng_state", state.rngState.map { Int64(bitPattern: $0) }, shape: [state.rngState.count])
        try g.setAttribute("optimizer_step_count", state.optimizer.stepCount)
        for (name, v) in [
            ("momentum_buffer", state.optimizer.momentumBuffer), ("exp_avg", state.optimizer.firstMoment),
            ("exp_avg_sq", state.optimizer.secondMoment), ("decay_buffer", state.decayBuffer),
            ("parameters", state.parameters),
        ] {
            _ = try g.write(name, v, shape: [v.count])
        }
        try root.setAttribute("steps_completed", state.step)
        try file.flush()
    }

    /// Closes the file and renames it to its final name.
    public func finish() throws {
        try file.flush()
        file.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partialPath, toPath: path)
    }

    private func appendParameters(_ theta: [Float]) throws {
        let params = try file.root.group("params")
        for c in layout.components { _ = try params.dataset(c.name).append(theta[c.range]) }
    }

    func truncate(steps T: Int, epochs: Int) throws {
        let root = try file.root
        for c in layout.components {
            try root.dataset("params/\(c.name)").truncate(rows: T + 1)
            try root.dataset("optimizer/\(quantityGroup)/\(c.name)").truncate(rows: T)
        }
        for name in ["optimizer/learning_rate", "optimizer/weight_decay", "batches/indices", "batches/loss"] {
            try root.dataset(name).truncate(rows: T)
        }
        if hasFlips { try root.dataset("batches/flips").truncate(rows: T) }
        for m in HistoryFormat.metricNames { try root.dataset("metrics/\(m)").truncate(rows: epochs) }
    }

    static func readResume(_ root: HDF5Group, parameterCount P: Int) throws -> ResumeState {
        guard root.contains("resume") else {
            throw ArtifactError(
                .notFound,
                "history has no resume point (killed before the first checkpoint); start again without --resume")
        }
        let g = try root.group("resume")
        func floats(_ n: String) throws -> [Float] { try g.read(n, as: Float.self).values }
        let optimizer = OptimizerState(
            stepCount: try g.intAttribute("optimizer_step_count"),
            momentumBuffer: try floats("momentum_buffer"), firstMoment: try floats("exp_avg"),
            secondMoment: try floats("exp_avg_sq"))
        let parameters = try floats("parameters")
        guard parameters.count == P else {
            throw ArtifactError(.shapeMismatch, "resume point has \(parameters.count) parameters, the model \(P)")
        }
        return ResumeState(
            step: try g.intAttribute("step"), epoch: try g.intAttribute("epoch"),
            positionInEpoch: try g.intAttribute("position_in_epoch"),
            permutation: try g.read("permutation", as: Int64.self).values.map { Int($0) },
            rngState: try g.read("rng_state", as: Int64.self).values.map { UInt64(bitPattern: $0) },
            optimizer: optimizer, decayBuffer: try floats("decay_buffer"), parameters: parameters)
    }
}

/// Reads a finished (or partial) `history.h5` for the EPK (`TrainingHistory`).
public final class HistoryFileReader: TrainingHistory {
    public let file: HDF5File
    public let layout: ParameterLayout
    public let stepCount: Int
    public let trainingCount: Int
    public let batchSize: Int
    public let optimizer: OptimizerSpec
    public let activeComponents: [String]
    public let modelName: String
    public let datasetChecksum: String
    public let configJSON: String
    /// The architecture spec of a spec-built model (JSON), nil for the built-in models.
    public let modelSpecJSON: String?
    private let quantityGroup: String
    private var learningRates: [Float] = []
    private var weightDecays: [Float] = []

    public convenience init(path: String) throws {
        try self.init(file: try HDF5File(path: path, mode: .read))
    }

    /// Opens a history; `validate` (off only while resuming a partial file, which is truncated first) checks every
    /// per-step dataset's presence, type and length (`HistoryValidation`).
    init(file: HDF5File, validate: Bool = true) throws {
        self.file = file
        let root = try file.root
        let path = file.path
        guard root.hasAttribute("format"), try root.stringAttribute("format") == HistoryFormat.version else {
            throw ArtifactError(
                .corrupt,
                "\(path): not an explaind history (no format attribute \(HistoryFormat.version)); pass a history.h5 written by train-*"
            )
        }
        let names = try root.jsonAttribute("components", as: [String].self)
        let shapes = try root.jsonAttribute("component_shapes", as: [[Int]].self)
        guard !names.isEmpty, names.count == shapes.count, shapes.allSatisfy({ $0.allSatisfy { $0 >= 1 } }) else {
            throw ArtifactError(
                .corrupt, file: path, object: "components",
                problem: "\(names.count) component names for \(shapes.count) shapes",
                fix: "the history is damaged: re-run the training")
        }
        var l = ParameterLayout()
        for (n, s) in zip(names, shapes) { l.add(n, s) }
        layout = l
        optimizer = try root.jsonAttribute("optimizer", as: OptimizerSpec.self)
        activeComponents = try root.jsonAttribute("active_components", as: [String].self)
        trainingCount = try root.intAttribute("training_count")
        batchSize = try root.intAttribute("batch_size")
        guard trainingCount >= 1, batchSize >= 1 else {
            throw ArtifactError(
                .corrupt, file: path, object: "training_count",
                problem: "training_count \(trainingCount), batch_size \(batchSize)",
                fix: "the history is damaged: re-run the training")
        }
        modelName = try root.stringAttribute("model")
        datasetChecksum = try root.stringAttribute("dataset_checksum")
        configJSON = try root.stringAttribute("config")
        modelSpecJSON = root.hasAttribute("model_spec") ? try root.stringAttribute("model_spec") : nil
        quantityGroup = HistoryFormat.quantityGroup(optimizer)
        let recorded = try root.dataset("optimizer/learning_rate").rowCount
        let snapshots = try root.dataset("params/\(names[0])").rowCount
        stepCount = min(recorded, snapshots - 1)
        if validate {
            try HistoryValidation.check(
                root: root, path: path, layout: names, shapes: shapes, quantityGroup: quantityGroup,
                steps: stepCount, batchSize: batchSize, hasFlips: root.contains("batches/flips"))
            learningRates = try root.read("optimizer/learning_rate", as: Float.self).values
            weightDecays = try root.read("optimizer/weight_decay", as: Float.self).values
        }
    }

    public func parameters(at t: Int) throws -> [Float] {
        try checkStep(t, upTo: stepCount)
        var theta = [Float](); theta.reserveCapacity(layout.count)
        for c in layout.components {
            theta += try file.root.dataset("params/\(c.name)").readRows(t..<(t + 1), as: Float.self)
        }
        return theta
    }
    public func learningRate(step t: Int) throws -> Float {
        try checkStep(t, upTo: stepCount - 1); return learningRates[t]
    }
    public func weightDecay(step t: Int) throws -> Float {
        try checkStep(t, upTo: stepCount - 1); return weightDecays[t]
    }
    public func batchIndices(step t: Int) throws -> [Int] {
        try checkStep(t, upTo: stepCount - 1)
        let raw = try file.root.dataset("batches/indices").readRows(t..<(t + 1), as: Int32.self)
        return try HistoryValidation.checkBatch(raw, step: t, trainingCount: trainingCount, path: file.path)
    }
    public func flips(step t: Int) throws -> [Bool]? {
        guard try file.root.contains("batches/flips") else { return nil }
        let count = try batchIndices(step: t).count
        return Array(
            try file.root.dataset("batches/flips").readRows(t..<(t + 1), as: UInt8.self).prefix(count).map { $0 != 0 })
    }
    public func optimizerQuantity(step t: Int) throws -> [Float] {
        try checkStep(t, upTo: stepCount - 1)
        var q = [Float](); q.reserveCapacity(layout.count)
        for c in layout.components {
            q += try file.root.dataset("optimizer/\(quantityGroup)/\(c.name)").readRows(t..<(t + 1), as: Float.self)
        }
        return q
    }

    /// Per-epoch metrics (name → values).
    public func metrics() throws -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for m in HistoryFormat.metricNames { out[m] = try file.root.read("metrics/\(m)", as: Double.self).values }
        return out
    }

    private func checkStep(_ t: Int, upTo last: Int) throws {
        guard t >= 0 && t <= last else {
            throw ArtifactError(.invalidArgument, "\(file.path): step \(t) outside the recorded 0…\(last)")
        }
    }
}
