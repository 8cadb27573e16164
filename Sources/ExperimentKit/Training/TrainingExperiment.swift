import Artifacts
import Foundation

/// A training run's `metrics.h5` as `plot` and `report` see it: its figures and report rules (the grokking claim).
public enum TrainingExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.trainingMetrics
    public static var figures: [FigureRecipe] { TrainingFigures.all }

    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let root = try file.root
        let step = try file.doubles("epoch/step"), trainAcc = try file.doubles("epoch/train_acc"),
            valAcc = try file.doubles("epoch/val_acc")
        var rows: [(String, String)] = [
            ("data", try root.stringAttribute("data")),
            ("steps", "\(try root.intAttribute("steps"))"),
            ("wall time", String(format: "%.1f s", try root.doubleAttribute("wall_seconds"))),
        ]
        if let last = step.indices.last {
            rows.append(("final train accuracy", String(format: "%.4f", trainAcc[last])))
            rows.append(("final held-out accuracy", String(format: "%.4f", valAcc[last])))
        }
        var claims: [Claim] = []
        if try root.stringAttribute("experiment") == "modulo", let last = step.indices.last {
            let first = valAcc.firstIndex { $0 >= 0.99 }
            // Grokking needs hundreds of full-batch steps; a short (quick) run that never got there decides nothing.
            let decided = valAcc[last] >= 0.99 || step[last] >= 1000
            claims.append(
                Claim(
                    statement: "the modulo transformer groks (validation accuracy ≥ 99 %)",
                    holds: decided ? valAcc[last] >= 0.99 : nil,
                    evidence: first.map { "validation accuracy ≥ 99 % from step \(Int(step[$0]))" }
                        ?? String(
                            format: "final validation accuracy %.3f after %d steps%@", valAcc[last], Int(step[last]),
                            decided ? "" : " (too short to grok)")))
        }
        return ReportSummary(rows: rows, claims: claims)
    }
}
