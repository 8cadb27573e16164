import Artifacts
import EPK
import Foundation

/// `validate-epk`'s `epk.h5` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §1–§9).
public enum ValidateEPKExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.epk
    public static var figures: [FigureRecipe] { EPKFigures.all }

    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let root = try file.root
        let v = try root.group("validation")
        func value(_ n: String) throws -> Double { try v.doubleAttribute(n) }
        let mean = try value("mean_abs_error"), agreement = try value("argmax_agreement")
        let quadrature = try root.jsonAttribute("quadrature", as: QuadratureConfig.self)
        var rows: [(String, String)] = [
            (
                "test points × classes",
                "\(try root.intAttribute("test_count")) × \(try root.stringAttribute("classes"))"
            ),
            ("steps", "\(try root.intAttribute("step_end") - root.intAttribute("step_first"))"),
            ("quadrature", quadrature.fixedRuleSummary),
            ("mean \\|EPK − model\\|", String(format: "%.3g", mean)),
            ("max \\|EPK − model\\|", String(format: "%.3g", try value("max_abs_error"))),
            ("argmax agreement", String(format: "%.4f", agreement)),
            ("KL(model ‖ EPK)", String(format: "%.3g", try value("kl_model_epk"))),
            (
                "model accuracy / EPK accuracy",
                String(format: "%.4f / %.4f", try value("model_accuracy"), try value("epk_accuracy"))
            ),
            (
                "wall time",
                (try? root.doubleAttribute("wall_seconds")).map { seconds in
                    String(format: "%.1f s", seconds)
                        + ((try? root.intAttribute("merged_shards")).map { " (sum over \($0) shards)" } ?? "")
                } ?? "—"
            ),
        ]
        if let refine = quadrature.refine, root.contains("steps/points") {
            let points = try root.read("steps/points", as: Int32.self)
            let r = quadrature.refinementSummary(
                points: points.values, testCount: points.shape[1], firstStep: try root.intAttribute("step_first"))
            rows.insert(
                (
                    "refinement",
                    refine.ruleSummary
                        + String(
                            format: ": %.1f %% of (step, test point) integrals refined, %.2f× the fixed rule's points",
                            100 * Double(r.refined) / Double(max(1, r.integrals)), r.pointRatio)
                ), at: 3)
        }
        let claim = Claim(
            statement: "the EPK replicates the model (argmax agreement ≥ 99 %, mean error < 1e-2)",
            holds: agreement.isNaN ? nil : (agreement >= 0.99 && mean < 1e-2),
            evidence: String(format: "argmax agreement %.4f, mean |EPK − model| %.2g", agreement, mean))
        if let problem = ArtifactHealth.problem(of: root) {
            rows.insert(("validation", "FAILED: \(problem); the numbers below are not results"), at: 0)
            return ReportSummary(
                rows: rows, claims: [Claim(statement: claim.statement, holds: false, evidence: problem)])
        }
        return ReportSummary(rows: rows, claims: [claim])
    }
}
