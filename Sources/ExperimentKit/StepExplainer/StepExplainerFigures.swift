import Artifacts
import Foundation
import Plot

/// Figures of `step-explainer.h5` (docs/METHOD.md §19).
public enum StepExplainerFigures {
    public static let all: [FigureRecipe] = [
        FigureRecipe(
            name: "module-influence", artifactKind: StepExplainerDriver.kind,
            datasets: ["windows/start", "windows/end", "windows/relative_influence"]
        ) { file in
            let groups = try file.root.jsonAttribute("groups", as: [String].self)
            let start = try file.doubles("windows/start"), end = try file.doubles("windows/end")
            let rel = try file.doubles("windows/relative_influence")
            let x = zip(start, end).map { ($0 + $1) / 2 }
            let G = groups.count
            func series(_ g: Int, _ colorIndex: Int) -> Series {
                Series(
                    groups[g], x: x, y: x.indices.map { rel[$0 * G + g] }, color: Palette.color(at: colorIndex),
                    marker: x.count <= 40 ? .circle : .none, markerSize: 4)
            }
            let axisX = Axis("training step (window midpoint)")
            let axisY = Axis("relative influence |S_m| / Σ|S|", limits: 0...1)
            if G <= 8 {
                return Figure(
                    title: "Relative module influence on ΔL_E per window", width: 900, height: 560,
                    panel: .lines(x: axisX, y: axisY, series: (0..<G).map { series($0, $0) }, legend: .outsideRight))
            }
            // Many groups (a multi-layer LM): one panel per module kind, layers as lines.
            let kinds: [(String, (String) -> Bool)] = [
                ("attention", { $0.hasSuffix("attn") }), ("MLP", { $0.hasSuffix("mlp") }),
                ("embeddings, norms, unembedding", { !$0.hasSuffix("attn") && !$0.hasSuffix("mlp") }),
            ]
            let panels = kinds.map { (title, member) -> Panel in
                let idx = (0..<G).filter { member(groups[$0]) }
                return .lines(
                    title: title, x: axisX, y: axisY, series: idx.enumerated().map { series($1, $0) }, legend: .topRight
                )
            }
            return Figure(
                title: "Relative module influence on ΔL_E per checkpoint window", width: 1500, height: 520, columns: 3,
                panels: panels)
        },
        FigureRecipe(name: "decomposition-residuals", artifactKind: StepExplainerDriver.kind, datasets: []) { file in
            var panels: [Panel] = []
            var scatter: [Series] = []
            for (name, color) in [("windows", Color.blue), ("steps", Color.vermillion)]
            where try file.root.contains("\(name)/measured") {
                let m = try file.doubles("\(name)/measured").map { max(abs($0), 1e-12) }
                let r = try file.doubles("\(name)/residual").map { max(abs($0), 1e-12) }
                scatter.append(.scatter(name, x: m, y: r, color: color))
            }
            if !scatter.isEmpty {
                panels.append(
                    .scatter(
                        title: "Σ_p s_p − ΔL_E per segment", x: .log("|ΔL_E| measured"), y: .log("|residual|"),
                        series: scatter))
            }
            if try file.root.contains("convergence/residual") {
                let (values, shape) = try file.doublesWithShape("convergence/residual")
                let labels = try file.root.dataset("convergence/residual").jsonAttribute("labels", as: [String].self)
                let points = try file.doubles("convergence/points")
                let series = (0..<shape[0]).map { i in
                    Series(
                        labels[i], x: points, y: (0..<shape[1]).map { max(values[i * shape[1] + $0], 1e-12) },
                        color: Palette.color(at: i), marker: .circle)
                }
                panels.append(
                    .lines(
                        title: "quadrature convergence", x: .log("quadrature points"), y: .log("|Σ_p s_p − ΔL_E|"),
                        series: series))
            }
            guard !panels.isEmpty else { throw ArtifactError(.notFound, "\(file.path): no segments to plot") }
            return Figure(
                title: "Step explainer: does the decomposition sum to the measured loss change?", width: 1200,
                height: 520,
                columns: panels.count, panels: panels)
        },
        FigureRecipe(
            name: "step-split", artifactKind: StepExplainerDriver.kind,
            datasets: ["steps/start", "steps/measured", "steps/batch", "steps/momentum", "steps/decay"]
        ) { file in
            let start = try file.doubles("steps/start"), measured = try file.doubles("steps/measured")
            let groups = try file.root.jsonAttribute("groups", as: [String].self)
            let G = groups.count
            func sums(_ n: String) throws -> [Double] {
                let v = try file.doubles("steps/\(n)")
                return start.indices.map { i in (0..<G).reduce(0) { $0 + v[i * G + $1] } / max(abs(measured[i]), 1e-30)
                }
            }
            let chart = BarChart(
                categories: start.map { "t=\(Int($0))" },
                series: [
                    BarSeries("current batch (1−β1)g_t", values: try sums("batch"), color: .blue),
                    BarSeries("momentum history β1·m_{t−1}", values: try sums("momentum"), color: .orange),
                    BarSeries("weight decay −ηλθ_t", values: try sums("decay"), color: .green),
                ])
            return Figure(
                title: "Single steps: ΔL_E split by update part (in units of |ΔL_E|)", width: 1000, height: 520,
                panel: .bars(
                    x: Axis("explained step"), y: Axis("contribution / |ΔL_E|"), chart: chart, legend: .outsideRight))
        },
        FigureRecipe(
            name: "step-modules", artifactKind: StepExplainerDriver.kind,
            datasets: ["steps/start", "steps/relative_influence"]
        ) { file in
            let start = try file.doubles("steps/start")
            let groups = try file.root.jsonAttribute("groups", as: [String].self)
            let rel = try file.doubles("steps/relative_influence")
            let G = groups.count
            let chart = BarChart(
                categories: start.map { "t=\(Int($0))" },
                series: (0..<G).map { g in
                    BarSeries(
                        groups[g], values: start.indices.map { rel[$0 * G + g] },
                        color: groupColor(groups[g], index: g))
                }, stacked: true)
            return Figure(
                title: "Single steps: relative module influence", width: 1100, height: 560,
                panel: .bars(
                    x: Axis("explained step"), y: Axis("|S_m| / Σ|S|", limits: 0...1), chart: chart,
                    legend: .outsideRight))
        },
    ]

    /// Colours that keep module kinds apart in stacked bars: attention blues, MLP oranges, others greys/greens.
    static func groupColor(_ name: String, index: Int) -> Color {
        let layer = name.dropFirst().prefix { $0.isNumber }
        let l = Double(Int(layer) ?? 0)
        if name.hasSuffix("attn") { return Color(red: 0.1, green: 0.3 + 0.12 * l, blue: 0.9 - 0.1 * l) }
        if name.hasSuffix("mlp") { return Color(red: 0.95 - 0.08 * l, green: 0.55 - 0.1 * l, blue: 0.1) }
        if name.hasSuffix("norms") { return Color(red: 0.55 + 0.08 * l, green: 0.55 + 0.08 * l, blue: 0.55 + 0.08 * l) }
        if name == "unembedding" { return .black }
        return Palette.color(at: index + 2)
    }
}
