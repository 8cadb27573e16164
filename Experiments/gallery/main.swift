// gallery <outdir>: renders every figure kind of the Plot module from synthetic data, for visual inspection.
import Foundation
import Plot

/// Small deterministic generator (SplitMix64) so the gallery is identical on every run.
struct SyntheticRandom {
    var state: UInt64
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    /// Standard normal by Box–Muller.
    mutating func normal() -> Double { (-2 * log(max(next(), 1e-300))).squareRoot() * cos(2 * .pi * next()) }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: gallery <outdir>\n".utf8))
    exit(2)
}
let directory = arguments[1]
var random = SyntheticRandom(state: 42)
let provenance = ["source": "synthetic (gallery)", "generator": "explaind-swift gallery"]

func save(_ figure: Figure, _ name: String) {
    let path = (directory as NSString).appendingPathComponent(name + ".png")
    do {
        try figure.render(to: path, metadata: provenance)
        print("wrote \(path)")
    } catch {
        FileHandle.standardError.write(Data("gallery: \(name): \(error)\n".utf8))
        exit(1)
    }
}

// 1. Training curves: loss (log y) and accuracy against step, train vs validation (grokking shape).
let steps = (0..<200).map { Double($0 * 50) }
let trainLoss = steps.map { 4.7 * exp(-$0 / 600) + 0.002 + 0.01 * random.next() }
let validationLoss = steps.map {
    4.7 / (1 + exp(($0 - 6000) / 500)) * (1 + 0.3 * exp(-$0 / 800)) + 0.01 + 0.02 * random.next()
}
let trainAccuracy = steps.map { min(1, 1 - exp(-$0 / 500)) }
let validationAccuracy = steps.map { 0.01 + 0.98 / (1 + exp(-($0 - 6200) / 450)) }
save(
    Figure(
        title: "Modulo addition: training curves", width: 1000, height: 450, columns: 2,
        panels: [
            .lines(
                title: "Loss", x: Axis("step"), y: .log("cross-entropy (nats)"),
                series: [Series("train", x: steps, y: trainLoss), Series("validation", x: steps, y: validationLoss)]),
            .lines(
                title: "Accuracy", x: Axis("step"), y: Axis("accuracy", limits: 0...1),
                series: [
                    Series("train", x: steps, y: trainAccuracy), Series("validation", x: steps, y: validationAccuracy),
                ]),
        ]), "training_curves")

// 2. EPK validation: predicted vs true logits, coloured by absolute error, with the identity line.
var truth: [Double] = [], predicted: [Double] = [], absoluteError: [Double] = []
for _ in 0..<600 {
    let t = 6 * random.normal()
    let p = t + 0.05 * random.normal() * (1 + abs(t) / 4)
    truth.append(t); predicted.append(p); absoluteError.append(abs(p - t))
}
save(
    Figure(
        title: "EPK replication of the model output",
        panel:
            .scatter(
                x: Axis("model logit f(θ_T)"), y: Axis("EPK prediction"),
                series: [.scatter("test logits", x: truth, y: predicted, colorValues: absoluteError)],
                references: [ReferenceLine(.straight(slope: 1, intercept: 0), label: "y = x")],
                colorScale: ColorScale(map: .viridis, label: "|prediction − truth|"))), "epk_validation_scatter")

// 3. Replication error against step on a log y axis.
let errorSteps = (1...100).map { Double($0 * 20) }
let meanError = errorSteps.map { 1e-6 * (1 + $0 / 200) * (1 + 0.2 * random.next()) }
let maxError = meanError.map { $0 * (8 + 4 * random.next()) }
save(
    Figure(
        title: "EPK replication error over training",
        panel:
            .lines(
                x: Axis("step"), y: .log("absolute error"),
                series: [
                    Series("mean |error|", x: errorSteps, y: meanError, marker: .circle, markerSize: 4),
                    Series("max |error|", x: errorSteps, y: maxError, line: .dashed),
                ])), "epk_error_vs_step")

// 4. Data attribution: 40 test samples × 60 training samples, diverging colour map.
var attribution: [Double] = []
for r in 0..<40 {
    for c in 0..<60 { attribution.append(0.8 * sin(Double(r) / 6) * cos(Double(c) / 9) + 0.25 * random.normal()) }
}
save(
    Figure(
        title: "Data attribution (test × training sample)",
        panel:
            .heatmap(
                x: Axis("training sample"), y: Axis("test sample"),
                heatmap: Heatmap(
                    values: attribution, rows: 40, columns: 60,
                    colorScale: ColorScale(map: .redBlue, label: "influence on true-class logit")))),
    "data_attribution_heatmap")

// 5. Cosine similarity of 100 embeddings, RdBu in [−1, 1], ticks every 20 labelled with a+b.
var embeddings: [[Double]] = []
for i in 0..<100 {
    embeddings.append(
        (0..<16).map { k in cos(2 * .pi * Double(i * (k % 4 + 1)) / 100 + Double(k)) + 0.3 * random.normal() })
}
var cosine: [Double] = []
for a in embeddings {
    for b in embeddings {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let norms = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
        cosine.append(dot / norms)
    }
}
let sampleTicks = stride(from: 0, to: 100, by: 20).map { Tick(Double($0), "\($0) (\($0 % 97))") }
save(
    Figure(
        title: "Cosine similarity of kernel embeddings",
        panel:
            .heatmap(
                x: Axis("a+b (target)", ticks: sampleTicks), y: Axis("a+b (target)", ticks: sampleTicks),
                heatmap: Heatmap(
                    values: cosine, rows: 100, columns: 100,
                    colorScale: ColorScale(map: .redBlue, range: -1...1, label: "cosine similarity"),
                    squareCells: true))), "cosine_similarity")

// 6. Kernel-vs-regularisation balance: ratio on a log y axis for 6 parameter groups with fixed colours.
let groupNames = ["embedding", "attention Q/K", "attention V/O", "MLP in", "MLP out", "unembedding"]
let groupColors: [Color] = [.blue, .vermillion, .green, .purple, .orange, .skyBlue]
let balanceSteps = (0..<150).map { Double($0 * 40) }
let balance = groupNames.indices.map { g in
    Series(
        groupNames[g], x: balanceSteps,
        y: balanceSteps.map { s in
            pow(10, 2 - Double(g) * 0.4) * exp(-s / Double(1500 + 400 * g)) + 0.05 * (1 + random.next())
        },
        color: groupColors[g])
}
save(
    Figure(
        title: "Kernel / regularisation balance", width: 800, height: 600,
        panel:
            .lines(
                x: Axis("step"), y: .log("kernel / reg"), series: balance,
                references: [ReferenceLine(.horizontal(1), label: "balance")])), "kernel_reg_balance")

// 7. Pruning curves: mean ± std over 5 seeds for 3 methods, error bars on both axes.
let fractions = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
let methods = ["EPK component score", "weight magnitude", "random"]
let pruning = methods.indices.map { m in
    Series(
        methods[m], x: fractions.map { $0 + 0.004 * Double(m) },
        y: fractions.map { f in 0.97 - 0.45 * pow(f, 3 - Double(m) * 0.8) },
        marker: [Marker.circle, .square, .triangle][m], markerSize: 6,
        yErrors: fractions.map { f in 0.01 + 0.05 * f * Double(m + 1) / 2 }, xErrors: fractions.map { _ in 0.008 })
}
save(
    Figure(
        title: "Pruning CIFAR-2 ResNet-9",
        panel:
            .lines(
                x: Axis("fraction of weights pruned"), y: Axis("test accuracy"), series: pruning,
                references: [ReferenceLine(.horizontal(0.5), label: "chance")])), "pruning_curves")

// 8. Stacked bars: pruned fraction per layer for three runs.
let layers = ["conv1", "conv2", "res1.a", "res1.b", "conv3", "conv4", "res2.a", "res2.b", "linear"]
let stackedSeries = ["run 1", "run 2", "run 3"].enumerated().map { k, name in
    BarSeries(name, values: layers.indices.map { l in 0.05 + 0.1 * abs(sin(Double(l + 3 * k))) })
}
save(
    Figure(
        title: "Pruned fraction per layer",
        panel:
            .bars(
                x: Axis("layer"), y: Axis("pruned fraction (sum over runs)"),
                chart: BarChart(categories: layers, series: stackedSeries, stacked: true))),
    "stacked_bars")

// 9. LDS bars with 95 % confidence intervals for 5 methods (long names).
let ldsMethods = [
    "ExPLAIND (full history)", "ExPLAIND (last 10 % of steps)", "TRAK (5 checkpoints)",
    "influence functions (LiSSA)", "gradient similarity",
]
let lds = [0.42, 0.35, 0.31, 0.18, 0.12]
save(
    Figure(
        title: "Linear datamodeling score (MNIST)",
        panel:
            .bars(
                y: Axis("LDS (Spearman ρ)"),
                chart: BarChart(
                    categories: ldsMethods,
                    series: [
                        BarSeries("LDS", values: lds, intervals: lds.map { Interval($0 - 0.04, $0 + 0.05) })
                    ]))), "lds_bars")

// 10. 115 × 115 confusion matrix (mostly diagonal).
let classes = 115
var confusion = [Double](repeating: 0, count: classes * classes)
for t in 0..<classes {
    confusion[t * classes + t] = Double(40 + Int(random.next() * 20))
    for _ in 0..<8 {
        confusion[t * classes + Int(random.next() * Double(classes))] += Double(1 + Int(random.next() * 5))
    }
}
save(
    Figure(
        title: "Confusion matrix (115 classes)", width: 800, height: 700,
        panel:
            .confusionMatrix(counts: confusion, classes: classes)), "confusion_matrix")

// 11. Small multiples: 2 × 3 panels of per-component attribution snapshots.
let snapshotSteps = [200, 250, 500, 1100, 1900, 5000]
let multiples = snapshotSteps.map { step -> Panel in
    let x = (0..<60).map { Double($0) }
    let scale = 1 / (1 + Double(step) / 1000)
    return .lines(
        title: "step \(step)", x: Axis("component"), y: Axis("score"),
        series: [
            Series("kernel", x: x, y: x.map { scale * sin($0 / 5) + 0.1 * random.normal() }),
            Series("reg", x: x, y: x.map { -0.3 * scale * cos($0 / 7) }),
        ])
}
save(
    Figure(title: "Component attribution over training", width: 1100, height: 650, columns: 3, panels: multiples),
    "small_multiples")

// 12. Log–log error against integration midpoints with an O(n⁻²) guide.
let midpoints = [1.0, 2, 4, 8, 16, 32, 64, 128, 256]
let integrationError = midpoints.map { 0.3 / ($0 * $0) * (1 + 0.15 * random.normal()) }
save(
    Figure(
        title: "Integration error against midpoints",
        panel:
            .lines(
                x: .log("midpoints n"), y: .log("relative error"),
                series: [Series("midpoint rule", x: midpoints, y: integrationError, marker: .circle)],
                references: [ReferenceLine(.powerLaw(coefficient: 0.3, exponent: -2), label: "O(n⁻²)")])),
    "error_vs_midpoints")

// 13. Edge cases: gaps from NaN/±inf, constant data, an empty series, a log axis with values ≤ 0.
save(
    Figure(
        title: "Edge cases", width: 900, height: 600, columns: 2,
        panels: [
            .lines(
                title: "NaN and ±inf break the line", x: Axis("x"), y: Axis("y"),
                series: [
                    Series("gaps", x: [0, 1, 2, 3, 4, 5, 6], y: [1, 2, .nan, 3, .infinity, 2, 1], marker: .circle)
                ]),
            .lines(
                title: "constant data", x: Axis("x"), y: Axis("y"),
                series: [Series("constant", x: [0, 1, 2], y: [5, 5, 5])]),
            .lines(title: "empty series", x: Axis("x"), y: Axis("y"), series: [Series("empty", x: [], y: [])]),
            .lines(
                title: "log axis with values ≤ 0", x: Axis("x"), y: .log("y"),
                series: [Series("log", x: [1, 2, 3, 4, 5], y: [0, -1, 10, 100, 30], marker: .diamond)]),
        ]), "edge_cases")

// Vector output of one figure.
do {
    let figure = Figure(
        title: "Integration error against midpoints",
        panel:
            .lines(
                x: .log("midpoints n"), y: .log("relative error"),
                series: [Series("midpoint rule", x: midpoints, y: integrationError, marker: .circle)],
                references: [ReferenceLine(.powerLaw(coefficient: 0.3, exponent: -2), label: "O(n⁻²)")]))
    for format in [OutputFormat.pdf, .svg] {
        let path = (directory as NSString).appendingPathComponent("error_vs_midpoints." + format.rawValue)
        try figure.render(to: path, format: format, metadata: provenance)
        print("wrote \(path)")
    }
} catch {
    FileHandle.standardError.write(Data("gallery: vector output: \(error)\n".utf8))
    exit(1)
}
