import Artifacts
import Foundation

/// `lm-metrics.h5` (kind "lm-training"): the small training summary of `train-lm`.
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/step/loss`, `/step/learning_rate` | (T) f64 | batch loss at θ_t and η_t |
/// | `/eval/step`, `/eval/loss` | (E) f64 | held-out loss of the fixed evaluation windows |
///
/// Root attributes: `kind`, `config`, `parameter_count`, `wall_seconds`, provenance.
public enum LMTrainingMetrics {
    public static let kind = ArtifactKind.lmTraining.rawValue

    public static func write(history: LMHistoryReader, to path: String) throws {
        let m = try history.metrics()
        let lr = (0..<history.stepCount).map { history.config.learningRate(step: $0) }
        try ArtifactFile.write(to: path, kind: kind, config: history.configJSON) { root in
            try root.setAttribute("parameter_count", history.layout.count)
            try root.setAttribute("wall_seconds", (try? history.file.root.doubleAttribute("wall_seconds")) ?? .nan)
            let s = try root.createGroup("step")
            _ = try s.write("loss", m.stepLoss, shape: [m.stepLoss.count])
            _ = try s.write("learning_rate", lr, shape: [lr.count])
            let e = try root.createGroup("eval")
            _ = try e.write("step", m.evalStep, shape: [m.evalStep.count])
            _ = try e.write("loss", m.evalLoss, shape: [m.evalLoss.count])
        }
    }
}
