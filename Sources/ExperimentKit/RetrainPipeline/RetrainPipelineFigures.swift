import Artifacts
import Foundation
import Plot

/// Figures of `retrain-pipeline` (docs/METHOD.md §16).
public enum RetrainPipelineFigures {
    public static var all: [FigureRecipe] { [retrainAccuracy] }

    static let retrainAccuracy = FigureRecipe(
        name: "retrain-accuracy", artifactKind: RetrainPipelineDriver.kind,
        datasets: ["train_accuracy", "validation_accuracy", "start_steps"]
    ) { file in
        let configs = try file.root.jsonAttribute("configurations", as: [String].self)
        let starts = try file.root.read("start_steps", as: Int32.self).values
        let (tr, shape) = try file.root.read("train_accuracy", as: Double.self)
        let va = try file.doubles("validation_accuracy")
        let G = shape[0], S = shape[1], R = shape[2], E1 = shape[3]
        let x = (0..<E1).map(Double.init)
        func stats(_ v: [Double], _ g: Int, _ s: Int) -> (mean: [Double], std: [Double]) {
            var mean = [Double](repeating: 0, count: E1), sd = mean
            for e in 0..<E1 {
                var values: [Double] = []
                for r in 0..<R { values.append(v[((g * S + s) * R + r) * E1 + e]) }
                let m = values.reduce(0, +) / Double(R)
                var ss = 0.0
                for x in values { ss += (x - m) * (x - m) }
                mean[e] = m; sd[e] = (ss / Double(max(R - 1, 1))).squareRoot()
            }
            return (mean, sd)
        }
        func band(_ t: (mean: [Double], std: [Double])) -> Band {
            Band(lower: zip(t.mean, t.std).map { $0 - $1 }, upper: zip(t.mean, t.std).map { $0 + $1 })
        }
        var panels: [Panel] = []
        for g in 0..<G {
            for s in 0..<S {
                let t = stats(tr, g, s), v = stats(va, g, s)
                panels.append(
                    .lines(
                        title: "\(configs[g]) randomised, from step \(starts[s])", x: Axis("epoch"),
                        y: Axis("accuracy", limits: 0...1.02),
                        series: [
                            Series("train", x: x, y: t.mean, color: .blue, band: band(t)),
                            Series("validation", x: x, y: v.mean, color: .vermillion, band: band(v)),
                        ], legend: g == 0 && s == 0 ? .automatic : .hidden))
            }
        }
        return Figure(
            title: "retraining: accuracy vs epoch (mean ± std, \(R) seeds)",
            width: max(800, 380 * S), height: 300 * G + 50, columns: S, panels: panels)
    }
}
