import Artifacts
import Foundation
import Plot

/// Figures of `component-attribution` (docs/METHOD.md §16), each rebuilt from its artifact alone.
public enum ComponentAttributionFigures {
    public static var all: [FigureRecipe] {
        ComponentAttributionDriver.groupSlugs.map(cosineByStep) + [
            cosineTrainVal, balanceRatio, balanceDifference, balancePerStep,
            fourier, fourierOverSteps, pcaLinear2, pcaLate,
        ]
    }

    // MARK: - Helpers

    static func stepLabels(_ keys: [Double], count: Int = 6) -> [Tick] {
        guard !keys.isEmpty else { return [] }
        return (0..<count).map { k in
            let i = min(keys.count - 1, k * (keys.count - 1) / max(count - 1, 1))
            return Tick(Double(i), String(Int(keys[i])))
        }
    }

    /// One cosine matrix (rows × columns) of a dataset, with the points its rows and columns are: all of them, or
    /// in a stored reference every k-th (dataset attributes `kept_rows`, `kept_columns`).
    struct CosineBlock {
        var values: [Float]
        var rows: [Int], columns: [Int]
    }

    /// Interval `k` of an (I, rows, columns) cosine dataset, or the whole (rows, columns) dataset for nil.
    static func cosineBlock(_ file: HDF5File, _ path: String, interval k: Int?) throws -> CosineBlock {
        let dataset = try file.root.dataset(path)
        let shape = try dataset.shape
        let values = try k.map { try interval(file, path, $0) } ?? dataset.read(as: Float.self)
        let (r, c) = (shape[shape.count - 2], shape[shape.count - 1])
        return CosineBlock(
            values: values,
            rows: dataset.hasAttribute("kept_rows") ? try dataset.intArrayAttribute("kept_rows") : Array(0..<r),
            columns: dataset.hasAttribute("kept_columns") ? try dataset.intArrayAttribute("kept_columns") : Array(0..<c)
        )
    }

    static func cosineHeatmap(
        _ title: String, _ block: CosineBlock, rowKeys: [Double], columnKeys: [Double],
        xLabel: String = "a+b (sorted)", yLabel: String = "a+b (sorted)"
    ) throws -> Panel {
        guard block.rows.allSatisfy({ $0 < rowKeys.count }), block.columns.allSatisfy({ $0 < columnKeys.count }) else {
            throw ArtifactError(.corrupt, "\(title): cosine matrix rows or columns beyond the stored keys")
        }
        return .heatmap(
            title: title, x: Axis(xLabel, ticks: stepLabels(block.columns.map { columnKeys[$0] })),
            y: Axis(yLabel, ticks: stepLabels(block.rows.map { rowKeys[$0] })),
            heatmap: Heatmap(
                values: block.values.map(Double.init), rows: block.rows.count, columns: block.columns.count,
                colorScale: ColorScale(map: .redBlue, range: -1...1, label: "cosine")))
    }

    struct AttributionInfo {
        var groups: [String]; var slugs: [String]; var starts: [Int]; var ends: [Int]; var figureIndices: [Int]
        var valKeys: [Double]; var trainKeys: [Double]; var valTargets: [Double]
    }

    static func info(_ file: HDF5File) throws -> AttributionInfo {
        let root = try file.root
        let starts = try root.read("snapshots/start", as: Int32.self).values.map(Int.init)
        let ends = try root.read("snapshots/end", as: Int32.self).values.map(Int.init)
        let wanted = try root.jsonAttribute("figure_steps", as: [Int].self)
        var idx: [Int] = []
        for s in wanted { if let i = starts.lastIndex(where: { $0 <= s }), !idx.contains(i) { idx.append(i) } }
        return AttributionInfo(
            groups: try root.jsonAttribute("groups", as: [String].self),
            slugs: try root.jsonAttribute("group_slugs", as: [String].self), starts: starts, ends: ends,
            figureIndices: idx, valKeys: try file.doubles("keys/val_sum"),
            trainKeys: try file.doubles("keys/train_sum"),
            valTargets: try file.doubles("keys/val_target"))
    }

    static func groupColor(_ g: Int) -> Color { Palette.color(at: g) }

    /// Interval `k` of a per-interval dataset (I, ...); a stored reference keeps only some intervals and names them in
    /// the dataset's `kept_intervals` attribute.
    static func interval<T: HDF5Scalar>(
        _ file: HDF5File, _ path: String, _ k: Int, as _: T.Type = Float.self
    ) throws -> [T] {
        let dataset = try file.root.dataset(path)
        let shape = try dataset.shape, values = try dataset.read(as: T.self)
        var position = k
        if dataset.hasAttribute("kept_intervals") {
            guard let p = try dataset.intArrayAttribute("kept_intervals").firstIndex(of: k) else {
                throw ArtifactError(
                    .notFound, file: file.path, object: "/" + path,
                    problem: "interval \(k) is not among the intervals this reference keeps",
                    fix: "draw it from the full artifact")
            }
            position = p
        }
        let block = shape.dropFirst().reduce(1, *)
        return Array(values[(position * block)..<((position + 1) * block)])
    }

    // MARK: - Component attribution (docs/METHOD.md §16)

    /// Validation × validation cosine similarity of one layer group at the figure steps and for the whole history.
    static func cosineByStep(_ slug: String) -> FigureRecipe {
        FigureRecipe(
            name: "cosine-val-\(slug)", artifactKind: ComponentAttributionDriver.kind,
            datasets: ["cosine/\(slug)/val", "cosine/\(slug)/val_total", "keys/val_sum"]
        ) { file in
            let i = try info(file)
            let name = i.groups[i.slugs.firstIndex(of: slug) ?? 0]
            var panels = try i.figureIndices.map { k in
                try cosineHeatmap(
                    "steps \(i.starts[k])–\(i.ends[k] - 1)", try cosineBlock(file, "cosine/\(slug)/val", interval: k),
                    rowKeys: i.valKeys, columnKeys: i.valKeys)
            }
            panels.append(
                try cosineHeatmap(
                    "whole history", try cosineBlock(file, "cosine/\(slug)/val_total", interval: nil),
                    rowKeys: i.valKeys, columnKeys: i.valKeys))
            let columns = min(3, panels.count)
            return Figure(
                title: "\(name): cosine similarity of parameter-wise attributions (validation × validation)",
                width: 480 * columns, height: 430 * ((panels.count + columns - 1) / columns) + 40, columns: columns,
                panels: panels)
        }
    }

    /// Validation rows × training columns at the last figure step, per layer group (docs/METHOD.md §16 variant).
    static let cosineTrainVal = FigureRecipe(
        name: "cosine-train-val", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["keys/train_sum"]
    ) { file in
        let i = try info(file)
        let k = i.figureIndices.last ?? (i.starts.count - 1)
        let panels = try i.slugs.enumerated().map { g, slug -> Panel in
            return try cosineHeatmap(
                i.groups[g], try cosineBlock(file, "cosine/\(slug)/train_val", interval: k),
                rowKeys: i.valKeys, columnKeys: i.trainKeys, xLabel: "training a+b (sorted)",
                yLabel: "validation a+b (sorted)")
        }
        return Figure(
            title: "validation × training cosine similarity, steps \(i.starts[k])–\(i.ends[k] - 1)",
            width: 1800, height: 900, columns: 4, panels: panels)
    }

    static func perGroupLines(
        _ file: HDF5File, _ dataset: String, transform: ([Double], Int, Int) -> [Double]
    ) throws -> [Series] {
        let i = try info(file)
        let (v, shape) = try file.root.read(dataset, as: Double.self)
        let rows = shape[0], G = shape[1]
        let x =
            try dataset.hasPrefix("steps/")
            ? file.root.read("steps/index", as: Int32.self).values.map(Double.init) : i.starts.map(Double.init)
        return (0..<G).map { g in
            Series(
                i.groups[g], x: x, y: transform(v, g, rows), color: groupColor(g),
                lineWidth: i.groups[g] == "model" ? 2.5 : 1.5,
                marker: dataset.hasPrefix("steps/") ? .none : .circle, markerSize: 4)
        }
    }

    /// Kernel L1 / regularisation L1 per interval and layer group (docs/METHOD.md §16), log y.
    static let balanceRatio = FigureRecipe(
        name: "balance-ratio", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["balance/kernel_l1", "balance/reg_l1"]
    ) { file in
        let reg = try file.doubles("balance/reg_l1")
        let series = try perGroupLines(file, "balance/kernel_l1") { k, g, rows in
            (0..<rows).map { t in
                let r = reg[t * (k.count / rows) + g];
                return r > 0 && k[t * (k.count / rows) + g] > 0 ? k[t * (k.count / rows) + g] / r : .nan
            }
        }
        return Figure(
            title: "kernel vs weight decay per interval: Σ_x |Σ_p kernel| / Σ_x |Σ_p reg|", width: 800, height: 480,
            panel: .lines(
                x: Axis("interval start step"), y: .log("kernel L1 / regularisation L1"), series: series,
                references: [ReferenceLine(.horizontal(1), label: "balance")], legend: .outsideRight))
    }

    /// D(Θ) = Σ_{x,p} (|kernel| − |reg|) per interval and group (docs/METHOD.md §16; all components of the group, not only its last one).
    static let balanceDifference = FigureRecipe(
        name: "balance-difference", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["balance/difference"]
    ) { file in
        let series = try perGroupLines(file, "balance/difference") { d, g, rows in
            (0..<rows).map { d[$0 * (d.count / rows) + g] }
        }
        return Figure(
            title: "D(Θ) = Σ_x,p (|kernel| − |regularisation|) per interval", width: 800, height: 480,
            panel: .lines(
                x: Axis("interval start step"), y: Axis("D(Θ)"), series: series,
                references: [ReferenceLine(.horizontal(0))], legend: .outsideRight))
    }

    /// Per-step ratio at the label class (5-step moving average, not in place).
    static let balancePerStep = FigureRecipe(
        name: "balance-per-step", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["steps/kernel_l1", "steps/reg_l1"]
    ) { file in
        let reg = try file.doubles("steps/reg_l1")
        let series = try perGroupLines(file, "steps/kernel_l1") { k, g, rows in
            let G = k.count / rows
            let ratio = (0..<rows).map { t in reg[t * G + g] > 0 ? k[t * G + g] / reg[t * G + g] : Double.nan }
            return (0..<rows).map { t in
                let w = ratio[max(0, t - 2)...min(rows - 1, t + 2)].filter { $0.isFinite && $0 > 0 }
                return w.isEmpty ? .nan : w.reduce(0, +) / Double(w.count)
            }
        }.filter { $0.name != "model" }
        return Figure(
            title: "per-step kernel / weight-decay L1 at the label class (5-step moving average)", width: 800,
            height: 480,
            panel: .lines(
                x: Axis("optimizer step"), y: .log("kernel L1 / regularisation L1"), series: series,
                references: [ReferenceLine(.horizontal(1))], legend: .outsideRight))
    }

    /// Fourier check of the linear2 similarity (whole history): R² per period and per frequency, embedding power.
    static let fourier = FigureRecipe(
        name: "fourier-linear2", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["fourier/total_period_r2", "fourier/total_frequency_r2", "fourier/embedding_power"]
    ) { file in
        let i = try info(file)
        let g = i.groups.firstIndex(of: "linear2") ?? 0
        let periods = try file.doubles("fourier/periods")
        let pr2 = try file.doubles("fourier/total_period_r2"), fr2 = try file.doubles("fourier/total_frequency_r2")
        let P = periods.count, F = fr2.count / i.groups.count
        let f = try file.root.group("fourier")
        let keys = try f.intArrayAttribute("key_frequencies"), ref = try f.intArrayAttribute("reference_periods")
        let power = try file.doubles("fourier/embedding_power"), decoder = try file.doubles("fourier/decoder_power")
        let ks = (1...F).map(Double.init)
        let panels: [Panel] = [
            .lines(
                title: "linear2: R² per period f (grey: original's f)", x: Axis("period f of cos(2π(s_i − s_j)/f)"),
                y: Axis("R²"),
                series: [
                    Series(
                        "linear2", x: periods, y: (0..<P).map { pr2[g * P + $0] }, color: .blue, marker: .circle,
                        markerSize: 3)
                ],
                references: ref.map { ReferenceLine(.vertical(Double($0)), color: .gray) }),
            .lines(
                title: "linear2: R² per frequency k (red: key k)", x: Axis("frequency k of cos(2πk(s_i − s_j)/113)"),
                y: Axis("R²"),
                series: [
                    Series(
                        "linear2", x: ks, y: (0..<F).map { fr2[g * F + $0] }, color: .blue, marker: .circle,
                        markerSize: 3)
                ],
                references: keys.map { ReferenceLine(.vertical(Double($0)), color: .vermillion) }),
            .lines(
                title: "final embedding / decoder Fourier power", x: Axis("frequency k over tokens 0…112"),
                y: Axis("fraction of power"),
                series: [
                    Series("embedding", x: ks, y: power.map { $0 / power.reduce(0, +) }, color: .green),
                    Series("decoder", x: ks, y: decoder.map { $0 / decoder.reduce(0, +) }, color: .orange),
                ]),
        ]
        return Figure(
            title: "Fourier structure (whole-history attribution vectors); key frequencies \(keys)", width: 1500,
            height: 460, columns: 3, panels: panels)
    }

    /// Correlation of each group's validation cosine matrix with the key-frequency and the original reference matrices.
    static let fourierOverSteps = FigureRecipe(
        name: "fourier-over-steps", artifactKind: ComponentAttributionDriver.kind,
        datasets: ["fourier/key_correlation", "fourier/reference_correlation"]
    ) { file in
        let f = try file.root.group("fourier")
        let keys = try f.intArrayAttribute("key_frequencies"), ref = try f.intArrayAttribute("reference_periods")
        let a = try perGroupLines(file, "fourier/key_correlation") { v, g, rows in
            (0..<rows).map { v[$0 * (v.count / rows) + g] }
        }
        let b = try perGroupLines(file, "fourier/reference_correlation") { v, g, rows in
            (0..<rows).map { v[$0 * (v.count / rows) + g] }
        }
        return Figure(
            title: "structure of attribution similarity over training", width: 1400, height: 480, columns: 2,
            panels: [
                .lines(
                    title: "corr. with mean_k cos(2πk(s_i − s_j)/113), k ∈ \(keys)", x: Axis("interval start step"),
                    y: Axis("Pearson correlation"), series: a, references: [ReferenceLine(.horizontal(0))],
                    legend: .hidden),
                .lines(
                    title: "corr. with mean_f cos(2π(s_i − s_j)/f), f ∈ \(ref) (original)",
                    x: Axis("interval start step"),
                    y: Axis("Pearson correlation"), series: b, references: [ReferenceLine(.horizontal(0))],
                    legend: .outsideRight),
            ])
    }

    static func pcaPanel(_ file: HDF5File, slug: String, index k: Int, title: String) throws -> Panel {
        let i = try info(file)
        let v = try interval(file, "pca/\(slug)", k, as: Double.self)  // (n, 2) of interval k
        let n = v.count / 2
        let x = (0..<n).map { v[$0 * 2] }, y = (0..<n).map { v[$0 * 2 + 1] }
        let g = i.slugs.firstIndex(of: slug) ?? 0
        let ex = try file.root.read("pca/explained", as: Double.self).values
        let G = i.slugs.count
        return .scatter(
            title: title, x: Axis(String(format: "PC1 (%.0f%%)", 100 * ex[(k * G + g) * 2])),
            y: Axis(String(format: "PC2 (%.0f%%)", 100 * ex[(k * G + g) * 2 + 1])),
            series: [.scatter(x: x, y: y, markerSize: 5, colorValues: i.valTargets)],
            colorScale: ColorScale(map: .viridis, range: 0...112, label: "target (a+b) mod 113"))
    }

    /// 2-D PCA of the linear2 attribution vectors at the figure steps, coloured by target.
    static let pcaLinear2 = FigureRecipe(
        name: "pca-linear2", artifactKind: ComponentAttributionDriver.kind, datasets: ["pca/linear2"]
    ) { file in
        let i = try info(file)
        let panels = try i.figureIndices.map { k in
            try pcaPanel(file, slug: "linear2", index: k, title: "linear2, steps \(i.starts[k])–\(i.ends[k] - 1)")
        }
        let columns = min(3, panels.count)
        return Figure(
            title: "PCA of linear2 attribution vectors (validation points)", width: 460 * columns,
            height: 400 * ((panels.count + columns - 1) / columns) + 40, columns: columns, panels: panels)
    }

    /// 2-D PCA of every group's attribution vectors at the last figure step.
    static let pcaLate = FigureRecipe(
        name: "pca-groups", artifactKind: ComponentAttributionDriver.kind, datasets: ["pca/explained"]
    ) { file in
        let i = try info(file)
        let k = i.figureIndices.last ?? (i.starts.count - 1)
        let panels = try i.slugs.enumerated().map { g, s in try pcaPanel(file, slug: s, index: k, title: i.groups[g]) }
        return Figure(
            title: "PCA of attribution vectors per group, steps \(i.starts[k])–\(i.ends[k] - 1)", width: 1800,
            height: 820, columns: 4, panels: panels)
    }
}
