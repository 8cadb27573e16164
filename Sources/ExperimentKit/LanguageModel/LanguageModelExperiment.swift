import Artifacts
import Foundation

/// `train-lm`'s metrics as `plot` and `report` see them.
public enum LanguageModelExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.lmTraining
    public static var figures: [FigureRecipe] { LMFigures.all }

    /// `lm-metrics.h5` (kind "lm-training"): the LM's size, steps, batch and held-out loss. It decides no claim.
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        let rows = [
            ReportRows.row("parameters") { "\(try r.int("parameter_count"))" },
            ReportRows.row("steps") { "\(try r.vector("step/loss").count)" },
            ReportRows.row("batch loss, first → mean of the last 10 steps") {
                let loss = try r.vector("step/loss")
                guard let first = loss.first else { return "no steps" }
                return String(format: "%.3f → %.3f nats/char", first, ReportStats.mean(Array(loss.suffix(10))))
            },
            ReportRows.row("held-out loss, first → last evaluation") {
                let loss = try r.vector("eval/loss"), step = try r.vector("eval/step")
                guard let first = loss.first, let last = loss.last, step.count == loss.count else {
                    return "no evaluations"
                }
                return String(
                    format: "%.3f (step %d) → %.3f (step %d) nats/char", first, Int(step[0]), last,
                    Int(step[step.count - 1]))
            },
            ReportRows.row("wall time") {
                let s = try r.double("wall_seconds")
                return s.isFinite ? String(format: "%.1f s", s) : "—"
            },
        ]
        return ReportSummary(rows: rows)
    }
}
