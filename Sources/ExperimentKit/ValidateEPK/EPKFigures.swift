import Artifacts
import EPK
import Foundation
import Plot

/// Figures from `epk.h5` (docs/METHOD.md §7, §11, §16): step-wise validation, kernel-vs-regularisation balance,
/// component attribution and data attribution.
public enum EPKFigures {
    public static let all: [FigureRecipe] = [
        stepChange, stepError, refinement, balance, components, dataHeatmap, dataHeatmapByLabel, dataSnapshots,
    ]

    /// Predicted vs ground-truth output change of (a regular sample of at most 20,000) steps × test points × classes,
    /// with y = x.
    static let stepChange = FigureRecipe(
        name: "epk-step-change", artifactKind: EPKArtifact.kind,
        datasets: ["steps/sample_predicted", "steps/sample_truth"]
    ) { file in
        let y = try file.root.read("steps/sample_predicted", as: Float.self).values.map(Double.init)
        let x = try file.root.read("steps/sample_truth", as: Float.self).values.map(Double.init)
        let series = [Series.scatter("steps × test points × classes", x: x, y: y, color: Color.blue.withAlpha(0.5))]
        return Figure(
            title: "\(try title(file)): predicted vs ground-truth step change",
            panel: .scatter(
                x: Axis("ground truth f(θ_{t+1}) − f(θ_t)"), y: Axis("EPK prediction φ_t·Δθ_t"),
                series: series, references: [ReferenceLine(.straight(slope: 1, intercept: 0), label: "y = x")]))
    }

    /// Mean |ground truth − predicted| per step, next to the mean |ground truth| for scale (log y).
    static let stepError = FigureRecipe(
        name: "epk-step-error", artifactKind: EPKArtifact.kind,
        datasets: ["steps/mean_abs_error", "steps/mean_abs_truth", "steps/index"]
    ) { file in
        let error = try file.doubles("steps/mean_abs_error"), scale = try file.doubles("steps/mean_abs_truth")
        let steps = try file.root.read("steps/index", as: Int32.self).values.map(Double.init)
        let floor = 1e-12
        return Figure(
            title: "\(try title(file)): replication error per step",
            panel: .lines(
                x: Axis("optimizer step"), y: .log("mean absolute value"),
                series: [
                    Series("|ground truth − EPK|", x: steps, y: error.map { max($0, floor) }, color: .vermillion),
                    Series("|ground-truth change|", x: steps, y: scale.map { max($0, floor) }, color: .gray),
                ]))
    }

    /// Quadrature points per step under residual-driven refinement: mean and largest over the test points (log y).
    static let refinement = FigureRecipe(
        name: "epk-refinement", artifactKind: EPKArtifact.kind,
        datasets: ["steps/points", "steps/index"], optionalPart: "steps/points"
    ) { file in
        let points = try file.root.read("steps/points", as: Int32.self)
        let steps = try file.root.read("steps/index", as: Int32.self).values.map(Double.init)
        let T = points.shape[0], n = points.shape[1]
        let rows = (0..<T).map { t in points.values[(t * n)..<(t * n + n)].map(Double.init) }
        return Figure(
            title: "\(try title(file)): quadrature points per step (residual-driven refinement)",
            panel: .lines(
                x: Axis("optimizer step"), y: .log("points per (step, test point) integral"),
                series: [
                    Series(
                        "mean over test points", x: steps, y: rows.map { $0.reduce(0, +) / Double(max(1, n)) },
                        color: .blue),
                    Series("largest", x: steps, y: rows.map { $0.max() ?? 0 }, color: .vermillion),
                ]))
    }

    /// Kernel vs regularisation L1 per step and layer group at the focus class (docs/METHOD.md §16), log y.
    static let balance = FigureRecipe(
        name: "epk-kernel-vs-regularization", artifactKind: EPKArtifact.kind, datasets: ["steps/index"]
    ) { file in
        let steps = try file.root.read("steps/index", as: Int32.self).values.map(Double.init)
        let sums = try balanceSums(file)
        let T = steps.count, G = sums.groups.count
        let series = sums.groups.enumerated().map { gi, name in
            let ratio = (0..<T).map { t -> Double in
                let k = sums.kernel[t * G + gi], r = sums.regularization[t * G + gi]
                return r > 0 && k > 0 ? k / r : .nan
            }
            return Series(name, x: steps, y: ratio, color: Palette.color(at: gi), lineWidth: 1.25)
        }
        return Figure(
            title: "\(try title(file)): kernel vs weight-decay balance",
            panel: .lines(
                x: Axis("optimizer step"), y: .log("Σ_x |kernel| / Σ_x |regularisation|"), series: series,
                references: [ReferenceLine(.horizontal(1), label: "balance")]))
    }

    /// Per step and layer group, Σ_x |Σ_{k∈g} kernel part| and the same for the weight-decay part at the focus class,
    /// (T, G) row-major: from `/steps/kernel_focus_group_l1` and `/steps/regularization_focus_group_l1` where a
    /// stored reference keeps only these, else summed from the (T, n, K) step arrays.
    static func balanceSums(_ file: HDF5File) throws -> (groups: [String], kernel: [Double], regularization: [Double]) {
        let root = try file.root
        if root.contains("steps/kernel_focus_group_l1") {
            let kernel = try root.dataset("steps/kernel_focus_group_l1")
            return (
                try kernel.jsonAttribute("groups", as: [String].self), try kernel.read(as: Double.self),
                try file.doubles("steps/regularization_focus_group_l1")
            )
        }
        let kernel = try root.read("steps/kernel_focus", as: Float.self)
        let reg = try root.read("steps/regularization_focus", as: Float.self).values
        let groups = try componentGroups(file)
        let T = kernel.shape[0], n = kernel.shape[1], K = kernel.shape[2], G = groups.count
        var k = [Double](repeating: 0, count: T * G), r = k
        for t in 0..<T {
            for (gi, g) in groups.enumerated() {
                for a in 0..<n {
                    var sk = 0.0, sr = 0.0
                    for c in g.indices {
                        sk += Double(kernel.values[(t * n + a) * K + c]); sr += Double(reg[(t * n + a) * K + c])
                    }
                    k[t * G + gi] += abs(sk); r[t * G + gi] += abs(sr)
                }
            }
        }
        return (groups.map(\.name), k, r)
    }

    /// Mean |component attribution| at the focus class, kernel and regularisation, per component.
    static let components = FigureRecipe(
        name: "epk-component-attribution", artifactKind: EPKArtifact.kind,
        datasets: ["components/kernel", "components/regularization", "outputs/row_classes", "outputs/focus_classes"]
    ) { file in
        let kernel = try file.root.read("components/kernel", as: Double.self)
        let reg = try file.root.read("components/regularization", as: Double.self).values
        let rowClasses = try file.root.read("outputs/row_classes", as: Int32.self).values
        let focus = try file.root.read("outputs/focus_classes", as: Int32.self).values
        let names = try file.root.jsonAttribute("components", as: [String].self)
        let n = kernel.shape[0], S = kernel.shape[1], K = kernel.shape[2]
        var k = [Double](repeating: 0, count: K), r = k
        for a in 0..<n {
            guard let s = (0..<S).first(where: { rowClasses[a * S + $0] == focus[a] }) else { continue }
            for c in 0..<K {
                k[c] += abs(kernel.values[(a * S + s) * K + c]) / Double(n);
                r[c] += abs(reg[(a * S + s) * K + c]) / Double(n)
            }
        }
        let chart = BarChart(
            categories: names,
            series: [
                BarSeries("kernel", values: k, color: .blue),
                BarSeries("weight decay", values: r, color: .orange),
            ])
        return Figure(
            title: "\(try title(file)): component attribution (focus class)", width: 900,
            panel: .bars(x: Axis("component"), y: Axis("mean |Σ_t contribution| (log-prob)"), chart: chart))
    }

    /// Test × training-sample data attribution at the focus class, summed over groups, rows and columns ordered by
    /// the artifact's sort keys (a+b for modulo, label otherwise).
    static let dataHeatmap = dataAttributionHeatmap(
        name: "epk-data-attribution", test: "sort_keys/test", train: "sort_keys/train", meaning: nil)
    /// The same, ordered by the label (the target (a+b) mod 113 for modulo; docs/METHOD.md §16 "sorted by target").
    static let dataHeatmapByLabel = dataAttributionHeatmap(
        name: "epk-data-attribution-by-label", test: "sort_keys/test_label",
        train: "sort_keys/train_label", meaning: "label")

    static func dataAttributionHeatmap(
        name: String, test testKey: String, train trainKey: String, meaning: String?
    ) -> FigureRecipe {
        FigureRecipe(
            name: name, artifactKind: EPKArtifact.kind,
            datasets: ["data", "outputs/attribution_classes", "outputs/focus_classes", testKey, trainKey],
            optionalPart: "data"
        ) { file in
            let keyName = try meaning ?? file.root.group("sort_keys").stringAttribute("meaning")
            let focus = try focusMatrices(file, part: "data")
            return Figure(
                title: "\(try title(file)): data attribution (correct class)",
                panel: try sortedHeatmap(
                    file, focus.matrices[0], n: focus.n, N: focus.N, test: testKey, train: trainKey,
                    keyName: keyName, title: nil))
        }
    }

    /// Data × training-step attribution: the test × training heatmap of each snapshot (at most six, evenly chosen), each
    /// holding the gradients that entered in its steps, ordered by the artifact's sort keys.
    static let dataSnapshots = FigureRecipe(
        name: "epk-data-snapshots", artifactKind: EPKArtifact.kind,
        datasets: [
            "data_snapshots", "data_snapshots/start", "outputs/attribution_classes", "outputs/focus_classes",
            "sort_keys/test", "sort_keys/train",
        ],
        optionalPart: "data_snapshots"
    ) { file in
        let starts = try file.root.read("data_snapshots/start", as: Int32.self).values.map { Int($0) }
        let end = try file.root.intAttribute("step_end")
        let keyName = try file.root.group("sort_keys").stringAttribute("meaning")
        let focus = try focusMatrices(file, part: "data_snapshots")
        let shown = Array(
            Set((0..<min(6, starts.count)).map { $0 * (starts.count - 1) / max(1, min(6, starts.count) - 1) })
        ).sorted()
        let panels = try shown.map { k in
            try sortedHeatmap(
                file, focus.matrices[k], n: focus.n, N: focus.N, test: "sort_keys/test", train: "sort_keys/train",
                keyName: keyName, title: "steps \(starts[k])–\((k + 1 < starts.count ? starts[k + 1] : end) - 1)")
        }
        return Figure(
            title: "\(try title(file)): data attribution by the step a sample's gradient entered (correct class)",
            width: 1200, height: 420 * ((panels.count + 2) / 3) + 60, columns: min(3, panels.count), panels: panels)
    }

    /// The focus-class rows of a data-attribution part (`data` or `data_snapshots`), summed over the groups that make
    /// up the model (`totalGroups`): one (n, N) matrix per snapshot (one in all for `data`).
    static func focusMatrices(_ file: HDF5File, part: String) throws -> (matrices: [[Double]], n: Int, N: Int) {
        let groups = try totalGroups(file, part: part)
        let rowClasses = try file.root.read("outputs/attribution_classes", as: Int32.self)
        let focus = try file.root.read("outputs/focus_classes", as: Int32.self).values
        let n = rowClasses.shape[0], S = rowClasses.shape[1]
        var matrices: [[Double]] = [], N = 0
        for g in groups {
            let d = try file.root.read("\(part)/\(g)", as: Float.self)
            N = d.shape.last ?? 0
            let count = d.shape.count == 4 ? d.shape[0] : 1
            if matrices.isEmpty { matrices = Array(repeating: [Double](repeating: 0, count: n * N), count: count) }
            for k in 0..<count {
                for a in 0..<n {
                    guard let s = (0..<S).first(where: { rowClasses.values[a * S + $0] == focus[a] }) else { continue }
                    let base = ((k * n + a) * S + s) * N
                    for j in 0..<N { matrices[k][a * N + j] += Double(d.values[base + j]) }
                }
            }
        }
        return (matrices, n, N)
    }

    /// A test × training heatmap of `total` (n, N) with rows and columns ordered by the given sort keys; the colour range
    /// is clipped at the 99th percentile of |value| so a few large entries do not wash out the map.
    static func sortedHeatmap(
        _ file: HDF5File, _ total: [Double], n: Int, N: Int, test testKey: String, train trainKey: String,
        keyName: String, title: String?
    ) throws -> Panel {
        let tk = try file.root.read(testKey, as: Double.self).values
        let rk = try file.root.read(trainKey, as: Double.self).values
        let testOrder = Array(0..<n).sorted { (tk[$0], $0) < (tk[$1], $1) }
        let trainOrder = Array(0..<N).sorted { (rk[$0], $0) < (rk[$1], $1) }
        var values = [Double](repeating: 0, count: n * N)
        for (i, a) in testOrder.enumerated() {
            for (j, b) in trainOrder.enumerated() { values[i * N + j] = total[a * N + b] }
        }
        let mags = values.map(abs).filter(\.isFinite).sorted()
        let clip = mags.isEmpty ? 1 : max(mags[min(mags.count - 1, Int(Double(mags.count) * 0.99))], 1e-12)
        let heatmap = Heatmap(
            values: values, rows: n, columns: N,
            colorScale: ColorScale(map: .redBlue, range: -clip...clip, label: "I(x, y_x, j)"))
        return .heatmap(
            title: title ?? "", x: Axis("training sample (sorted by \(keyName))"),
            y: Axis("test point (sorted by \(keyName))"),
            heatmap: heatmap)
    }

    static func title(_ file: HDF5File) throws -> String {
        try file.root.hasAttribute("experiment") ? try file.root.stringAttribute("experiment") : "EPK"
    }

    /// The groups of a data-attribution part whose sum is the attribution to the whole model: a single group as it is;
    /// the group that covers the components of all the others when there is one (like "model", the union of the
    /// layer groups), since adding it to them would count every component twice; else the groups, when no component
    /// is in two of them. Overlapping groups without such a cover have no total, which is an error naming them.
    static func totalGroups(_ file: HDF5File, part: String) throws -> [String] {
        let groups = try file.root.group(part).jsonAttribute("groups", as: [String].self)
        if groups.count <= 1 { return groups }
        let names = try file.root.jsonAttribute("components", as: [String].self)
        var members: [String: Set<Int>] = [:]
        for (i, name) in names.enumerated() { members[name] = [i] }
        for g in try componentGroups(file) { members[g.name] = Set(g.indices) }
        let sets = try groups.map { g -> Set<Int> in
            guard let set = members[g] else {
                throw ArtifactError(
                    .corrupt, file: file.path, object: "/" + part,
                    problem: "group \(g) is neither a component nor a component group of the artifact",
                    fix: "rerun validate-epk")
            }
            return set
        }
        let union = sets.reduce(into: Set<Int>()) { $0.formUnion($1) }
        if let cover = sets.firstIndex(of: union) { return [groups[cover]] }
        if sets.reduce(0, { $0 + $1.count }) == union.count { return groups }
        throw ArtifactError(
            .corrupt, file: file.path, object: "/" + part,
            problem:
                "groups \(groups.joined(separator: ", ")) overlap and none covers the others, so they have no total",
            fix: "attribute to disjoint groups, or add one that covers them all")
    }

    /// Component groups stored with the artifact (`groups` attribute), else one group per component.
    static func componentGroups(_ file: HDF5File) throws -> [(name: String, indices: [Int])] {
        let names = try file.root.jsonAttribute("components", as: [String].self)
        if try file.root.hasAttribute("component_groups") {
            let groups = try file.root.jsonAttribute("component_groups", as: [[String: [String]]].self)
            return groups.compactMap { g in
                guard let (name, members) = g.first else { return nil }
                return (name, members.compactMap { names.firstIndex(of: $0) })
            }
        }
        return names.enumerated().map { ($1, [$0]) }
    }
}
