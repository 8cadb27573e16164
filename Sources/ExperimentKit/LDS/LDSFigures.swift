import Artifacts
import Foundation
import Plot

/// Figures from `lds.h5` (docs/METHOD.md §17): the LDS of every method with its bootstrap interval, and predicted vs
/// actual subset margins for a few test examples.
public enum LDSFigures {
    public static let all: [FigureRecipe] = [scores, scatter]

    /// Mean LDS per method as bars with 95% bootstrap intervals.
    static let scores = FigureRecipe(name: "lds-scores", artifactKind: LDSArtifact.kind,
                                     datasets: ["summary/mean", "summary/ci_lower", "summary/ci_upper", "ground_truth/margins"]) { file in
        let names = try file.root.jsonAttribute("methods", as: [String].self)
        let mean = try file.doubles("summary/mean")
        let lo = try file.doubles("summary/ci_lower"), hi = try file.doubles("summary/ci_upper")
        let shape = try file.root.dataset("ground_truth/margins").shape
        let chart = BarChart(categories: names, series: [
            BarSeries("mean LDS (95% bootstrap CI)", values: mean, color: .blue, intervals: zip(lo, hi).map { Interval($0, $1) }),
        ])
        return Figure(title: "Linear datamodeling score: \(shape[0]) subsets, \(shape[1]) test examples", width: 1000, height: 600,
                      panel: .bars(x: Axis("attribution method"), y: Axis("mean LDS (Spearman ρ); whiskers: 95% bootstrap CI"), chart: chart,
                                   legend: .hidden))
    }

    /// Small multiples: ExPLAIND's predicted subset sum ĝ_m(z) against the retrained margin o_m(z), six test examples.
    static let scatter = FigureRecipe(name: "lds-scatter", artifactKind: LDSArtifact.kind,
                                      datasets: ["methods/explaind/predicted", "methods/explaind/lds", "ground_truth/margins", "test/labels"]) { file in
        let predicted = try file.root.read("methods/explaind/predicted", as: Double.self)
        let actual = try file.doubles("ground_truth/margins")
        let lds = try file.doubles("methods/explaind/lds")
        let labels = try file.root.read("test/labels", as: Int32.self).values
        let M = predicted.shape[0], n = predicted.shape[1]
        let panels = (0..<min(6, n)).map { a -> Panel in
            let x = (0..<M).map { predicted.values[$0 * n + a] }, y = (0..<M).map { actual[$0 * n + a] }
            return .scatter(title: String(format: "test %d (label %d): ρ = %.2f", a, labels[a], lds[a]),
                            x: Axis("predicted: Σ of τ_j over the subset"), y: Axis("retrained margin (log-odds of y)"),
                            series: [Series.scatter("subsets", x: x, y: y, color: Color.blue.withAlpha(0.6))], legend: .hidden)
        }
        return Figure(title: "ExPLAIND: predicted vs actual margins of the subset models", width: 1200, height: 750,
                      columns: 3, panels: panels)
    }
}
