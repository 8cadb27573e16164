import Artifacts
import Plot

/// Training-curve figures from `metrics.h5` (docs/METHOD.md §14 plots: loss, accuracy and Σ‖θ‖ against step).
public enum TrainingFigures {
    public static let all: [FigureRecipe] = [
        FigureRecipe(
            name: "training-loss", artifactKind: TrainingMetrics.kind,
            datasets: ["epoch/step", "epoch/train_loss", "epoch/val_loss", "step/loss"]
        ) { file in
            let step = try file.doubles("epoch/step")
            let batch = try file.doubles("step/loss")
            let series = [
                Series(
                    "batch loss (at θ_t)", x: batch.indices.map(Double.init), y: batch,
                    color: Color.gray.withAlpha(0.6), lineWidth: 1),
                Series(
                    "train (epoch end)", x: step, y: try file.doubles("epoch/train_loss"), color: .blue,
                    marker: step.count < 60 ? .circle : .none),
                Series(
                    "held-out (epoch end)", x: step, y: try file.doubles("epoch/val_loss"), color: .vermillion,
                    marker: step.count < 60 ? .circle : .none),
            ]
            return Figure(
                title: "\(try experimentName(file)): loss",
                panel: .lines(x: Axis("optimizer step"), y: .log("mean NLL"), series: series))
        },
        FigureRecipe(
            name: "training-accuracy", artifactKind: TrainingMetrics.kind,
            datasets: ["epoch/step", "epoch/train_acc", "epoch/val_acc"]
        ) { file in
            let step = try file.doubles("epoch/step")
            let series = [
                Series(
                    "train", x: step, y: try file.doubles("epoch/train_acc"), color: .blue,
                    marker: step.count < 60 ? .circle : .none),
                Series(
                    "held-out", x: step, y: try file.doubles("epoch/val_acc"), color: .vermillion,
                    marker: step.count < 60 ? .circle : .none),
            ]
            return Figure(
                title: "\(try experimentName(file)): accuracy",
                panel: .lines(x: Axis("optimizer step"), y: Axis("accuracy", limits: 0...1), series: series))
        },
        FigureRecipe(
            name: "parameter-norm", artifactKind: TrainingMetrics.kind, datasets: ["epoch/step", "epoch/param_norm"]
        ) { file in
            let step = try file.doubles("epoch/step")
            return Figure(
                title: "\(try experimentName(file)): parameter norm",
                panel: .lines(
                    x: Axis("optimizer step"), y: Axis("Σ_k ‖θ_k‖₂"),
                    series: [Series("Σ‖θ_k‖", x: step, y: try file.doubles("epoch/param_norm"), color: .green)]))
        },
    ]

    static func experimentName(_ file: HDF5File) throws -> String {
        try file.root.hasAttribute("experiment") ? try file.root.stringAttribute("experiment") : "run"
    }
}
