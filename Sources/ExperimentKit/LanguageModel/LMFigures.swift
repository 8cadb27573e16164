import Artifacts
import Foundation
import Plot

/// Figures of `lm-metrics.h5` (`train-lm`; docs/METHOD.md §19).
public enum LMFigures {
    public static var all: [FigureRecipe] { [trainingLoss] }

    public static let trainingLoss = FigureRecipe(
        name: "lm-training-loss", artifactKind: LMTrainingMetrics.kind,
        datasets: ["step/loss", "eval/step", "eval/loss"]
    ) { file in
        let batch = try file.doubles("step/loss")
        let window = max(1, batch.count / 100)
        let smooth = batch.indices.map { i -> Double in
            let lo = max(0, i - window + 1); return batch[lo...i].reduce(0, +) / Double(i - lo + 1)
        }
        let p = (try? file.root.intAttribute("parameter_count")) ?? 0
        return Figure(
            title: "Character-level TransformerLM on KJV (P = \(p)): loss",
            panel: .lines(
                x: Axis("optimizer step"), y: .log("mean next-character NLL (nats)"),
                series: [
                    Series(
                        "batch loss", x: batch.indices.map(Double.init), y: batch, color: Color.gray.withAlpha(0.4),
                        lineWidth: 1),
                    Series(
                        "batch loss (running mean of \(window))", x: batch.indices.map(Double.init), y: smooth,
                        color: .blue),
                    Series(
                        "held-out loss", x: try file.doubles("eval/step"), y: try file.doubles("eval/loss"),
                        color: .vermillion, marker: .circle),
                ]))
    }
}
