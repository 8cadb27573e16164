import Artifacts
import Foundation
import History

/// `metrics.h5`: the small, committed summary of a training run (kind "training-metrics").
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/epoch/{epoch, step, train_loss, train_acc, val_loss, val_acc, param_norm}` | (epochs) f64 | per-epoch metrics |
/// | `/step/loss`, `/step/learning_rate` | (T) f64 | batch loss and η per step |
/// | `/data/training_indices` | (N) i64 | copied from the history: training sample j is row `training_indices[j]` of the source described by the group attribute `data_source` (JSON) |
///
/// Root attributes: `kind`, `experiment`, `data`, `train_count`, `evaluation_count`, `steps`, `wall_seconds`,
/// `config` (the run's JSON) and provenance.
public enum TrainingMetrics {
    public static let kind = ArtifactKind.trainingMetrics.rawValue

    public static func write(
        history: HistoryFileReader, experiment: String, summary: String, trainCount: Int,
        evaluationCount: Int, seconds: Double, to path: String
    ) throws {
        let metrics = try history.metrics()
        let loss = try history.file.root.read("batches/loss", as: Double.self).values
        let lr = try history.file.root.read("optimizer/learning_rate", as: Float.self).values.map(Double.init)
        try ArtifactFile.write(to: path, kind: kind, config: history.configJSON) { root in
            try root.setAttribute("experiment", experiment)
            try root.setAttribute("data", summary)
            try root.setAttribute("train_count", trainCount)
            try root.setAttribute("evaluation_count", evaluationCount)
            try root.setAttribute("steps", history.stepCount)
            try root.setAttribute("wall_seconds", seconds)
            let epoch = try root.createGroup("epoch")
            for (name, values) in metrics.sorted(by: { $0.key < $1.key }) {
                let d = try epoch.write(name, values, shape: [values.count])
                try d.setAttribute("axis", "epoch")
            }
            let step = try root.createGroup("step")
            try step.write("loss", loss, shape: [loss.count]).setAttribute("axis", "step")
            try step.write("learning_rate", lr, shape: [lr.count]).setAttribute("axis", "step")
            // The training set, as the history records it, so that the curves name their data by themselves.
            let source = try history.file.root
            if source.contains("data/training_indices") {
                try root.writeTrainingSet(
                    indices: try source.read("data/training_indices", as: Int64.self).values,
                    dataSource: source.hasAttribute("data_source") ? try source.stringAttribute("data_source") : nil)
            }
        }
    }
}
