import Artifacts
import Foundation
import Plot

/// Figures from `prune.h5` (docs/METHOD.md §15 plots): accuracy, agreement with the unpruned model and KL against the
/// fraction of parameters pruned, mean ± std over the split seeds with error bars on both axes, for both grids.
public enum PruneFigures {
    public static let all: [FigureRecipe] = ["coarse", "fine"].map(grid)

    static let styles: [String: (label: String, color: Color, line: LineStyle, marker: Marker)] = [
        "explaind": ("ExPLAIND (global)", .black, .solid, .circle),
        "explaind-module": ("ExPLAIND (per module)", .gray, .dashed, .square),
        "magnitude": ("magnitude |θ|", .blue, .solid, .triangle),
        "taylor": ("Taylor |θ·∇L|", .green, .dashed, .diamond),
        "random": ("random", .orange, .solid, .none),
    ]

    static func grid(_ name: String) -> FigureRecipe {
        FigureRecipe(name: "prune-\(name)", artifactKind: PruneDriver.kind, datasets: ["\(name)/fractions"]) { file in
            let methods = try file.root.jsonAttribute("methods", as: [String].self)
            let n = try file.root.intAttribute("test_count")
            let scoringCount =
                try file.root.hasAttribute("scoring_count") ? try file.root.intAttribute("scoring_count") : 0
            var panels: [Panel] = []
            for (metric, label, log) in [
                ("accuracy", "test accuracy (held-out split)", false),
                ("agreement", "agreement with unpruned model", false),
                ("kl", "KL(unpruned ‖ pruned)", true),
            ] {
                var series: [Series] = []
                for m in methods where try file.root.contains("\(name)/\(m)/\(metric)") {
                    let (values, shape) = try file.doublesWithShape("\(name)/\(m)/\(metric)")
                    let x = try file.doubles("\(name)/\(m)/fraction_pruned")
                    let (my, sy) = meanStd(values, rows: shape[0], columns: shape[1])
                    let (mx, sx) = meanStd(x, rows: shape[0], columns: shape[1])
                    let st = styles[m] ?? (m, Color.purple, LineStyle.solid, Marker.none)
                    series.append(
                        Series(
                            st.label, x: mx, y: log ? my.map { max($0, 1e-6) } : my, color: st.color, line: st.line,
                            marker: st.marker, markerSize: 5, yErrors: sy, xErrors: sx))
                }
                panels.append(
                    .lines(
                        title: label, x: Axis("fraction of parameters pruned"),
                        y: log ? .log(metric == "kl" ? "mean KL (nats)" : label) : Axis(label, limits: 0...1),
                        series: series, legend: metric == "accuracy" ? .bottomLeft : .hidden))
            }
            return Figure(
                title:
                    "CIFAR-2 ResNet-9 one-shot pruning (\(name) grid): mean ± std over split seeds; \(scoringCount) scoring / \(n - scoringCount) held-out test images per seed",
                width: 1800, height: 600, columns: 3, panels: panels)
        }
    }

    /// Column means and standard deviations (NaN-free columns assumed) of a (rows, columns) matrix.
    static func meanStd(_ v: [Double], rows: Int, columns: Int) -> ([Double], [Double]) {
        var mean = [Double](repeating: 0, count: columns), std = mean
        for c in 0..<columns {
            let col = (0..<rows).map { v[$0 * columns + c] }
            let m = col.reduce(0, +) / Double(rows)
            mean[c] = m
            std[c] = rows > 1 ? (col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows - 1)).squareRoot() : 0
        }
        return (mean, std)
    }
}
