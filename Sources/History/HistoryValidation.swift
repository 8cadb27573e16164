import Artifacts
import Foundation

/// Structural checks of a `history.h5` done when it is opened, so that a damaged or hand-edited history is refused
/// with one line naming the dataset and the fix instead of trapping deep in a replay: every per-step dataset must
/// exist, have the stored element type, one row per step and the row shape of its component; the batch indices must
/// be −1 (padding) or in 0..<N.
enum HistoryValidation {
    /// (dataset, element type name, expected row shape, rows needed) for every dataset a replay reads.
    static func check(
        root: HDF5Group, path: String, layout names: [String], shapes: [[Int]], quantityGroup: String,
        steps T: Int, batchSize B: Int, hasFlips: Bool
    ) throws {
        func require(_ name: String, type: String, rowShape: [Int], rows: Int) throws {
            guard root.contains(name) else {
                throw ArtifactError(
                    .corrupt, file: path, object: "/" + name, problem: "missing dataset of the history",
                    fix: "the history is damaged: re-run the training (or --resume it)")
            }
            let d = try root.dataset(name)
            let stored = try d.elementTypeName, shape = try d.shape
            guard stored == type else {
                throw ArtifactError(
                    .typeMismatch, file: path, object: "/" + name, problem: "stores \(stored), expected \(type)",
                    fix: "the history was not written by train-*: re-run the training")
            }
            guard shape.count == rowShape.count + 1, Array(shape.dropFirst()) == rowShape else {
                throw ArtifactError(
                    .shapeMismatch, file: path, object: "/" + name,
                    problem: "shape \(shape), expected (rows, \(rowShape.map(String.init).joined(separator: ", ")))",
                    fix: "the history is damaged: re-run the training")
            }
            guard shape[0] >= rows else {
                throw ArtifactError(
                    .shapeMismatch, file: path, object: "/" + name,
                    problem: "\(shape[0]) rows, but the history records \(T) steps (needs \(rows))",
                    fix: "the history is truncated: re-run the training (or --resume it)")
            }
        }
        for (n, s) in zip(names, shapes) {
            try require("params/\(n)", type: "float32", rowShape: s, rows: T + 1)
            try require("optimizer/\(quantityGroup)/\(n)", type: "float32", rowShape: s, rows: T)
        }
        try require("optimizer/learning_rate", type: "float32", rowShape: [], rows: T)
        try require("optimizer/weight_decay", type: "float32", rowShape: [], rows: T)
        try require("batches/indices", type: "int32", rowShape: [B], rows: T)
        if hasFlips { try require("batches/flips", type: "uint8", rowShape: [B], rows: T) }
    }

    /// Checks one step's recorded batch: entries are dataset indices in 0..<N, with −1 only as trailing padding.
    static func checkBatch(_ raw: [Int32], step t: Int, trainingCount N: Int, path: String) throws -> [Int] {
        var indices: [Int] = []
        indices.reserveCapacity(raw.count)
        var padding = false
        for v in raw {
            if v == -1 { padding = true; continue }
            guard v >= 0, Int(v) < N, !padding else {
                let why =
                    padding && v >= 0
                    ? "index \(v) after the −1 padding" : "index \(v) outside 0..<\(N) (the training set)"
                throw ArtifactError(
                    .corrupt, file: path, object: "/batches/indices",
                    problem: "step \(t) has \(why)", fix: "the history is damaged: re-run the training")
            }
            indices.append(Int(v))
        }
        guard !indices.isEmpty else {
            throw ArtifactError(
                .corrupt, file: path, object: "/batches/indices", problem: "step \(t) has an empty batch",
                fix: "the history is damaged: re-run the training")
        }
        return indices
    }
}
