import Artifacts
import Foundation
import Plot

/// Figures of `swap-aligned` (docs/METHOD.md §16).
public enum SwapAlignedFigures {
    public static var all: [FigureRecipe] { [swapDifference, swapAccuracy, swapKL, swapConfusion] }

    static func swapSeries(
        _ file: HDF5File, _ dataset: String, variants count: Int? = nil,
        _ value: (Double, Int) -> Double
    ) throws -> [Series] {
        let labels = try file.root.jsonAttribute("variants", as: [String].self)
        let steps = try file.root.read("steps", as: Int32.self).values.map(Double.init)
        let v = try file.doubles(dataset)
        let S = steps.count
        return (0..<min(labels.count, count ?? labels.count)).map { k in
            Series(
                labels[k], x: steps, y: (0..<S).map { value(v[k * S + $0], $0) }, color: Palette.color(at: k),
                lineWidth: 1.5)
        }
    }

    static let swapDifference = FigureRecipe(
        name: "swap-accuracy-difference", artifactKind: SwapAlignedDriver.kind,
        datasets: ["spliced_accuracy", "step_accuracy"]
    ) { file in
        let stepAcc = try file.doubles("step_accuracy")
        let series = try swapSeries(file, "spliced_accuracy") { a, s in a - stepAcc[s] }
        return Figure(
            title: "final outer layers around step i: acc(spliced) − acc(step i)", width: 800, height: 420,
            panel: .lines(
                x: Axis("step i"), y: Axis("validation accuracy difference"), series: series,
                references: [ReferenceLine(.horizontal(0))], legend: .outsideRight))
    }

    static let swapAccuracy = FigureRecipe(
        name: "swap-accuracy", artifactKind: SwapAlignedDriver.kind,
        datasets: ["spliced_accuracy", "step_accuracy"]
    ) { file in
        let steps = try file.root.read("steps", as: Int32.self).values.map(Double.init)
        var series = try swapSeries(file, "spliced_accuracy") { a, _ in a }
        series.append(
            Series(
                "step-i model", x: steps, y: try file.doubles("step_accuracy"), color: .black, line: .dashed,
                lineWidth: 2))
        let finalAcc = try file.root.doubleAttribute("final_accuracy")
        return Figure(
            title: String(format: "validation accuracy, spliced vs step i (final %.3f)", finalAcc), width: 800,
            height: 420,
            panel: .lines(
                x: Axis("step i"), y: Axis("validation accuracy", limits: 0...1.02), series: series,
                legend: .outsideRight))
    }

    static let swapKL = FigureRecipe(
        name: "swap-kl", artifactKind: SwapAlignedDriver.kind, datasets: ["spliced_kl", "step_kl"]
    ) { file in
        let steps = try file.root.read("steps", as: Int32.self).values.map(Double.init)
        var series = try swapSeries(file, "spliced_kl", variants: 3) { v, _ in max(v, 1e-6) }
        series.append(
            Series(
                "step-i model", x: steps, y: try file.doubles("step_kl").map { max($0, 1e-6) }, color: .black,
                line: .dashed, lineWidth: 2))
        return Figure(
            title: "KL(final ‖ model) on the validation pairs (batch mean)", width: 800, height: 420,
            panel: .lines(x: Axis("step i"), y: .log("KL (nats per pair)"), series: series, legend: .outsideRight))
    }

    static let swapConfusion = FigureRecipe(
        name: "swap-confusion", artifactKind: SwapAlignedDriver.kind,
        datasets: ["confusion/spliced", "confusion/step", "confusion/steps"]
    ) { file in
        let labels = try file.root.jsonAttribute("variants", as: [String].self)
        let steps = try file.root.read("confusion/steps", as: Int32.self).values
        let (spliced, shape) = try file.root.read("confusion/spliced", as: Double.self)
        let step = try file.doubles("confusion/step")
        let V = shape[1], C = shape[2]
        let tickLabels = (0..<C).map { $0 % 20 == 0 ? String($0) : "" }
        var panels: [Panel] = []
        for (ci, s) in steps.enumerated() {
            let o = (ci * V) * C * C
            panels.append(
                .confusionMatrix(
                    title: "\(labels[0]) spliced at step \(s)", counts: Array(spliced[o..<(o + C * C)]), classes: C,
                    labels: tickLabels, normalizeRows: true))
            panels.append(
                .confusionMatrix(
                    title: "step-\(s) model", counts: Array(step[(ci * C * C)..<((ci + 1) * C * C)]), classes: C,
                    labels: tickLabels, normalizeRows: true))
        }
        return Figure(
            title: "confusion matrices (true × predicted, validation)", width: 1100, height: 520 * max(1, steps.count),
            columns: 2, panels: panels)
    }
}
