import Artifacts
import Data
import Foundation
import Tensor

/// Labelled data from HDF5 files (`"data": {"kind": "hdf5", "path": ..., "inputs": "x", "labels": "y", ...}`).
///
/// Inputs are float32 of any shape (N, …) or int32 token ids (N, T), stored as exact Float32 integers; labels are
/// int32 or int64 of shape (N). The evaluation split is a second file (`evaluation_path`) and/or other datasets
/// (`evaluation_inputs`, `evaluation_labels`; by default the training names), or a seeded held-out fraction of the first (`held_out_fraction`, `split_seed`): the held-out rows are
/// `LabeledDataset.randomSubsetIndices(count: round(f·N), of: N, seed:)` and the training rows are the others in
/// file order. Every problem is one line naming the file, the dataset and the fix.
public enum HDF5Data {
    /// The rows of one file: inputs and labels.
    struct Rows {
        var inputs: Tensor
        var labels: [Int]
    }

    static func read(path: String, inputs: String, labels: String, source: String) throws -> Rows {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArtifactError(
                .notFound, file: source, problem: "key 'data': no such data file '\(path)'",
                fix: "give the path of an HDF5 file (relative to the working directory)")
        }
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        let root = try file.root
        for name in [inputs, labels] where !root.contains(name) {
            let present = (try? root.memberNames().joined(separator: ", ")) ?? ""
            throw ArtifactError(
                .notFound, file: path,
                problem: "no dataset '\(name)' (the file has: \(present.isEmpty ? "nothing" : present))",
                fix: "set data.inputs and data.labels to the dataset names")
        }
        let x = try root.dataset(inputs)
        let shape = try x.shape
        guard shape.count >= 2, shape.allSatisfy({ $0 >= 1 }) else {
            throw ArtifactError(
                .shapeMismatch, file: path,
                problem: "dataset '\(inputs)' has shape \(shape); inputs need a sample axis and a sample shape, (N, …)",
                fix: "write (N, features) or (N, C, H, W)")
        }
        var values: [Float]
        switch try x.elementTypeName {
        case "float32":
            values = try x.read(as: Float.self)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                let row = bad / (values.count / shape[0])
                throw ArtifactError(
                    .invalidArgument, file: path, problem: "dataset '\(inputs)' sample \(row) holds \(values[bad])",
                    fix: "remove or repair non-finite inputs")
            }
        case "int32":
            let tokens = try x.read(as: Int32.self)
            if let bad = tokens.firstIndex(where: { $0 < 0 }) {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem: "dataset '\(inputs)' sample \(bad / (tokens.count / shape[0])) holds token \(tokens[bad])",
                    fix: "token ids must be ≥ 0")
            }
            values = tokens.map { Float($0) }
        case let other:
            throw ArtifactError(
                .typeMismatch, file: path, problem: "dataset '\(inputs)' stores \(other)",
                fix: "write float32 inputs or int32 token ids")
        }
        let y = try root.dataset(labels)
        let labelShape = try y.shape
        guard labelShape == [shape[0]] else {
            throw ArtifactError(
                .shapeMismatch, file: path,
                problem:
                    "dataset '\(labels)' has shape \(labelShape), expected [\(shape[0])] (one label per sample of '\(inputs)')",
                fix: "write one integer label per sample")
        }
        let ints: [Int]
        switch try y.elementTypeName {
        case "int32": ints = try y.read(as: Int32.self).map(Int.init)
        case "int64": ints = try y.read(as: Int64.self).map(Int.init)
        case let other:
            throw ArtifactError(
                .typeMismatch, file: path, problem: "dataset '\(labels)' stores \(other)",
                fix: "write int32 or int64 class labels")
        }
        if let bad = ints.firstIndex(where: { $0 < 0 }) {
            throw ArtifactError(
                .invalidArgument, file: path, problem: "dataset '\(labels)' sample \(bad) has label \(ints[bad])",
                fix: "labels must be class numbers 0, 1, …")
        }
        return Rows(inputs: Tensor(shape: shape, storage: values), labels: ints)
    }

    /// Loads the training and evaluation sets of a config's HDF5 data block.
    public static func load(_ d: DataConfig, configPath: String) throws -> ExperimentData {
        guard let path = d.path else {
            throw ArtifactError(
                .config, "\(configPath): missing required key 'data.path' (the HDF5 file of the training data)")
        }
        let x = d.inputs ?? "x", y = d.labels ?? "y"
        let rows = try read(path: path, inputs: x, labels: y, source: configPath)
        let n = rows.labels.count
        var trainIndices = Array(0..<n)
        var evaluation: Rows
        var paths = [path]
        if d.evaluationPath != nil || d.evaluationInputs != nil || d.evaluationLabels != nil {
            guard d.heldOutFraction == nil else {
                throw ArtifactError(
                    .config,
                    "\(configPath): keys 'data.evaluation_*' and 'data.held_out_fraction' exclude each other; keep one")
            }
            let second = d.evaluationPath ?? path
            evaluation = try read(
                path: second, inputs: d.evaluationInputs ?? x, labels: d.evaluationLabels ?? y, source: configPath)
            guard Array(evaluation.inputs.shape.dropFirst()) == Array(rows.inputs.shape.dropFirst()) else {
                throw ArtifactError(
                    .shapeMismatch, file: second,
                    problem:
                        "dataset '\(x)' has samples of shape \(Array(evaluation.inputs.shape.dropFirst())), but \(path) has \(Array(rows.inputs.shape.dropFirst()))",
                    fix: "write both splits with one sample shape")
            }
            if second != path { paths.append(second) }
        } else if let f = d.heldOutFraction {
            let held = Int((f * Double(n)).rounded())
            guard f > 0, f < 1, held >= 1, held < n else {
                throw ArtifactError(
                    .config,
                    "\(configPath): key 'data.held_out_fraction': expected a fraction in (0, 1) leaving at least one sample on each side of \(n), found \(f)"
                )
            }
            let heldOut = LabeledDataset.randomSubsetIndices(count: held, of: n, seed: UInt64(d.splitSeed ?? 0))
            var isHeld = [Bool](repeating: false, count: n)
            for i in heldOut { isHeld[i] = true }
            trainIndices = (0..<n).filter { !isHeld[$0] }
            evaluation = Rows(inputs: rows.inputs.gatherRows(heldOut), labels: heldOut.map { rows.labels[$0] })
        } else {
            throw ArtifactError(
                .config,
                "\(configPath): key 'data': give an evaluation split, 'evaluation_path' (a second file), 'evaluation_inputs' and 'evaluation_labels' (other datasets), or 'held_out_fraction'"
            )
        }
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let classes = max((rows.labels.max() ?? 0), (evaluation.labels.max() ?? 0)) + 1
        let train = LabeledDataset(
            name: "\(base)-train", inputs: rows.inputs.gatherRows(trainIndices),
            labels: trainIndices.map { rows.labels[$0] }, classCount: classes)
        let eval = LabeledDataset(
            name: "\(base)-evaluation", inputs: evaluation.inputs, labels: evaluation.labels, classCount: classes)
        let source = DataSource(
            kind: "hdf5", paths: paths, indexing: "row of dataset '\(x)' (and '\(y)') in \(path)",
            trainingIndices: trainIndices)
        return ExperimentData(
            train: train, evaluation: eval,
            summary:
                "HDF5 data \(path): \(train.count) training, \(eval.count) evaluation samples of shape \(train.sampleShape)",
            source: source)
    }
}
