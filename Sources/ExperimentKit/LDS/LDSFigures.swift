import Analysis
import Artifacts
import Foundation
import Plot

/// Figures from `lds.h5` (docs/METHOD.md §17): the LDS of every method with its bootstrap interval, predicted vs
/// actual subset margins for a few test examples, and ExPLAIND's per-example LDS against TRAK's.
public enum LDSFigures {
    public static let all: [FigureRecipe] = [scores, scatter, explaindVersusTRAK]

    /// Mean LDS per method as bars with 95% bootstrap intervals.
    static let scores = FigureRecipe(
        name: "lds-scores", artifactKind: LDSArtifact.kind,
        datasets: ["summary/mean", "summary/ci_lower", "summary/ci_upper", "ground_truth/margins"]
    ) { file in
        let names = try file.root.jsonAttribute("methods", as: [String].self)
        let mean = try file.doubles("summary/mean")
        let lo = try file.doubles("summary/ci_lower"), hi = try file.doubles("summary/ci_upper")
        let shape = try file.root.dataset("ground_truth/margins").shape
        // Two stacked series (each category has one non-zero part) so ExPLAIND's variants and the baselines get a colour
        // and a legend entry each; whiskers are the 95% bootstrap intervals.
        let ours = names.map { $0.hasPrefix("explaind") }
        func part(_ mine: Bool) -> (values: [Double], intervals: [Interval]) {
            (
                names.indices.map { ours[$0] == mine ? mean[$0] : 0 },
                names.indices.map { ours[$0] == mine ? Interval(lo[$0], hi[$0]) : Interval(.nan, .nan) }
            )
        }
        let explaind = part(true), baselines = part(false)
        let chart = BarChart(
            categories: names,
            series: [
                BarSeries("ExPLAIND (ours)", values: explaind.values, color: .orange, intervals: explaind.intervals),
                BarSeries("baselines", values: baselines.values, color: .blue, intervals: baselines.intervals),
            ], stacked: true)
        return Figure(
            title: "Linear datamodeling score: \(shape[0]) subsets, \(shape[1]) test examples", width: 1000,
            height: 600,
            panel: .bars(
                x: Axis("attribution method"), y: Axis("mean LDS (Spearman ρ); whiskers: 95% bootstrap CI"),
                chart: chart,
                legend: .outsideRight))
    }

    /// Per test example: LDS(z) of ExPLAIND (x) against TRAK's K-model ensemble (y), with the diagonal.
    static let explaindVersusTRAK = FigureRecipe(
        name: "lds-explaind-vs-trak", artifactKind: LDSArtifact.kind,
        datasets: ["methods/explaind/lds", "methods/trak/lds"], optionalPart: "methods/trak"
    ) { file in
        let x = try file.doubles("methods/explaind/lds"), y = try file.doubles("methods/trak/lds")
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        let K = (try? file.root.intAttribute("ensemble_size")) ?? 1
        let k = (try? file.root.intAttribute("trak_projection_dim")).map(String.init) ?? "?"
        let above = pairs.filter { $0.1 > $0.0 }.count
        // One range for both axes, so the diagonal is the 45° line and always visible.
        let all = pairs.flatMap { [$0.0, $0.1] }
        let lo = max(-1, (all.min() ?? -1) - 0.05), hi = min(1, (all.max() ?? 1) + 0.05)
        let range = lo < hi ? lo...hi : -1...1
        return Figure(
            title: "Per-test-example LDS: ExPLAIND vs TRAK (k = \(k), K = \(K))", width: 800, height: 750,
            panel: .scatter(
                x: Axis("ExPLAIND LDS(z) (Spearman ρ over subsets)", limits: range),
                y: Axis("TRAK LDS(z) (Spearman ρ over subsets)", limits: range),
                series: [
                    Series.scatter(
                        "test examples (TRAK higher on \(above) of \(pairs.count))", x: pairs.map(\.0),
                        y: pairs.map(\.1),
                        color: Color.blue.withAlpha(0.6))
                ],
                references: [ReferenceLine(.straight(slope: 1, intercept: 0), label: "equal LDS (y = x)")],
                legend: .automatic))
    }

    /// Small multiples: ExPLAIND's predicted subset sum ĝ_m(z) against the retrained margin o_m(z), six test examples.
    static let scatter = FigureRecipe(
        name: "lds-scatter", artifactKind: LDSArtifact.kind,
        datasets: ["methods/explaind/predicted", "methods/explaind/lds", "ground_truth/margins", "test/labels"]
    ) { file in
        let predicted = try file.root.read("methods/explaind/predicted", as: Double.self)
        let actual = try file.doubles("ground_truth/margins")
        let lds = try file.doubles("methods/explaind/lds")
        let labels = try file.root.read("test/labels", as: Int32.self).values
        let M = predicted.shape[0], n = predicted.shape[1]
        let panels = (0..<min(6, n)).map { a -> Panel in
            let x = (0..<M).map { predicted.values[$0 * n + a] }, y = (0..<M).map { actual[$0 * n + a] }
            return .scatter(
                title: String(format: "test %d (label %d): ρ = %.2f", a, labels[a], lds[a]),
                x: Axis("predicted: Σ of τ_j over the subset"), y: Axis("retrained margin (log-odds of y)"),
                series: [Series.scatter("subsets", x: x, y: y, color: Color.blue.withAlpha(0.6))], legend: .hidden)
        }
        return Figure(
            title: "ExPLAIND: predicted vs actual margins of the subset models", width: 1200, height: 750,
            columns: 3, panels: panels)
    }
}
