import Analysis
import Artifacts
import Foundation

/// `sensitivity` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §18, §20).
public enum SensitivityExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.sensitivity
    public static var figures: [FigureRecipe] { SensitivityFigures.all }

    /// Slope of log(per-step error) against log(midpoints) at or below which the O(n⁻²) claim holds.
    static let sensitivityOrderThreshold = -1.5
    /// Slope at or below which the O(n⁻¹) claim holds (the rate of a piecewise-smooth integrand, see below).
    static let firstOrderThreshold = -0.8
    /// An order is measured only over ≥ 3 point counts spanning at least this factor (1 … 8 midpoints): over 1, 2,
    /// 4 the error of a curved path is not yet in its asymptotic regime.
    static let orderMinimumSpan = 8.0

    /// Whether `points` are enough to measure an order of convergence (see `orderMinimumSpan`).
    static func measuresOrder(_ points: [Double]) -> Bool {
        guard Set(points).count >= 3, let lo = points.filter({ $0 > 0 }).min(), let hi = points.max() else {
            return false
        }
        return hi / lo >= orderMinimumSpan
    }

    /// `sensitivity` (docs/METHOD.md §18). Rows per case: the model and size with its step range (for a range a..<b:
    /// "steps a..<b of T", the final error being |f(θ_b) − f̂| from f(θ_a)), then per setting (rule, points, early
    /// rule, storage precision) the mean per-step error, the final error (mean and max), the argmax agreement and the
    /// gradient evaluations per step.
    ///
    /// Claim (docs/METHOD.md §20: "|ground-truth step − predicted step| should fall as O(n⁻²) with the number of midpoints"):
    /// per case, the least-squares slope of log(step error) against log(points) over the float32 midpoint settings
    /// without early rule; holds when every case whose point counts measure an order (≥ 3 counts spanning ≥ 8×,
    /// e.g. 1, 2, 4, 10) has slope ≤ −1.5, undecided when no case does (the quick config's 1, 2, 4). A case run on a
    /// step range decides it from the steps of its range (the evidence names them).
    ///
    /// O(n⁻²) is the midpoint rule's rate on a smooth integrand. With ReLU or max-pool the gradient jumps where a unit
    /// changes sign inside a step, and the midpoint rule errs by O(h) at each jump, so these models converge as O(n⁻¹)
    /// (measured: README "EPK accuracy"). A second claim therefore checks the O(n⁻¹) rate (slope ≤ −0.8) with the same
    /// rule; on ReLU models the first is expected not to hold and the second to hold.
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        let rows = ReportRows.rows("cases") {
            try r.json("cases", as: [String].self).flatMap { c in sensitivityRows(r, case: c) }
        }
        return ReportSummary(
            rows: rows,
            claims: [
                sensitivityClaim(
                    r,
                    statement:
                        "the per-step replication error falls as O(n⁻²) with the number of midpoints (the rate for smooth models)",
                    order: "O(n⁻²)", threshold: sensitivityOrderThreshold),
                sensitivityClaim(
                    r,
                    statement:
                        "the per-step replication error falls at least as O(n⁻¹) with the number of midpoints (the rate for ReLU/max-pool models)",
                    order: "O(n⁻¹)", threshold: firstOrderThreshold),
            ])
    }

    /// Rows of one sensitivity case.
    static func sensitivityRows(_ r: ReportReader, case c: String) -> [(String, String)] {
        let g = "cases/\(c)"
        var rows = [
            ReportRows.row(c) {
                let size = "\(try r.string("model", of: g)), \(try r.int("test_count", of: g)) test points"
                let steps = try r.array(g + "/per_step_error", rank: 2).shape[1]
                guard let ranged = stepRange(r, case: c) else { return "\(size), \(steps) steps" }
                let (range, total) = ranged
                return
                    "\(size), steps \(range.lowerBound)..<\(range.upperBound) of \(total) (\(steps) steps; final error |f(θ_\(range.upperBound)) − f̂| from f(θ_\(range.lowerBound)))"
            }
        ]
        rows += ReportRows.rows(c + ": settings") {
            let labels = try r.json("labels", of: g, as: [String].self)
            let step = try r.vector(g + "/step_error"), final = try r.vector(g + "/final_error"),
                finalMax = try r.vector(g + "/final_max_error")
            let agreement = try r.vector(g + "/agreement"), evaluations = try r.vector(g + "/evaluations_per_step")
            guard [step, final, finalMax, agreement, evaluations].allSatisfy({ $0.count == labels.count }) else {
                throw ReportMissing(description: "/\(g) datasets do not have one entry per setting (\(labels.count))")
            }
            return labels.indices.map { i in
                (
                    "\(c): \(labels[i])",
                    String(
                        format:
                            "step error %.3g · final error %.3g (max %.3g) · agreement %.3f · %.1f evaluations/step",
                        step[i], final[i], finalMax[i], agreement[i], evaluations[i])
                )
            }
        }
        return rows
    }

    /// The step range a..<b of a case and the history's step count T, nil for the whole history (or a file written
    /// before step ranges existed).
    static func stepRange(_ r: ReportReader, case c: String) -> (Range<Int>, Int)? {
        let g = "cases/\(c)"
        guard let a = try? r.int("step_first", of: g), let b = try? r.int("step_end", of: g),
            let total = try? r.int("history_steps", of: g), a < b, a != 0 || b != total
        else { return nil }
        return (a..<b, total)
    }

    /// An order-of-convergence claim: every measurable case has slope ≤ `threshold` (rule on `summarize`).
    static func sensitivityClaim(_ r: ReportReader, statement: String, order: String, threshold: Double) -> Claim {
        ReportRows.claim(statement) {
            var slopes: [(String, Double, [Int])] = []
            for c in try r.json("cases", as: [String].self) {
                let settings = try r.json("settings", of: "cases/\(c)", as: [SensitivityStudy.Setting].self)
                let step = try r.vector("cases/\(c)/step_error")
                let plain = settings.indices.filter {
                    settings[$0].rule == .midpoint && !settings[$0].usesEarlyRule && settings[$0].precision == .float32
                        && $0 < step.count
                }
                let points = plain.map { settings[$0].points }
                guard measuresOrder(points.map(Double.init)),
                    let slope = ReportStats.logLogSlope(x: points.map(Double.init), y: plain.map { step[$0] })
                else { continue }
                let name = stepRange(r, case: c).map { "\(c), steps \($0.0.lowerBound)..<\($0.0.upperBound)" } ?? c
                slopes.append((name, slope, points))
            }
            guard !slopes.isEmpty else {
                return (
                    nil, "no case has 3 or more float32 midpoint settings spanning a factor \(Int(orderMinimumSpan))"
                )
            }
            let evidence =
                "log-log slope of step error vs midpoints "
                + slopes.map {
                    String(format: "%.2f (%@, points %@)", $0.1, $0.0, $0.2.map(String.init).joined(separator: ", "))
                }.joined(separator: "; ") + String(format: "; %@ needs ≤ %.1f", order, threshold)
            return (slopes.allSatisfy { $0.1 <= threshold }, evidence)
        }
    }
}
