import Artifacts
import Foundation

/// `epk.h5` (kind "epk"): one EPK pass, self-describing (every dataset has an `axes` attribute). Layout:
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/outputs/initial`, `/outputs/final` | (n, C) f32 | log-probabilities at θ₀ and θ_T |
/// | `/outputs/epk` | (n, S) f64 | EPK reconstruction at the selected classes |
/// | `/outputs/row_classes` | (n, S) i32 | class of each selected row |
/// | `/outputs/attribution_classes` | (n, Sa) i32 | class of each data/parameter attribution row |
/// | `/outputs/focus_classes`, `/outputs/labels`, `/outputs/test_indices` | (n) i32 | focus class (label), label, index into the test split (root attribute `test_split`: `evaluation` or `train`) |
/// | `/components/kernel`, `/components/regularization` | (n, S, K) f64 | Σ_t kernel and weight-decay parts per component (log-prob units) |
/// | `/steps/index` | (T) i32 | step numbers |
/// | `/steps/predicted`, `/steps/truth` | (T, n, S) f32 | predicted vs ground-truth output change per step |
/// | `/steps/mean_abs_error`, `/steps/mean_abs_truth` | (T) f64 | per step, mean \|truth − predicted\| and mean \|truth\| over test points and selected classes |
/// | `/steps/sample_predicted`, `/steps/sample_truth` | (m) f32 | every k-th entry of the two step arrays (m ≤ 20,000; attribute `stride` = k), for the scatter figure |
/// | `/steps/kernel_focus`, `/steps/regularization_focus` | (T, n, K) f32 | training-step × component attribution at the focus class |
/// | `/steps/points` | (T, n) i32 | only with `quadrature.refine`: quadrature points of each step's integral per test point (the configured rule, more where refined) |
/// | `/data/<group>` | (n, Sa, N) f32 | data attribution I(x, c, j) per component group (group names: `/data` attribute `groups`) |
/// | `/data_snapshots/<group>`, `/data_snapshots/start` | (snapshots, n, Sa, N) f32, (snapshots) i32 | with `data_snapshot_interval`: data attribution keyed by the step a sample's gradient entered, per interval of steps starting at `start` (sums to `/data/<group>`) |
/// | `/parameters/{kernel_total, regularization_total}` | (n, P_g) f32 | optional test × parameter attribution |
/// | `/parameters/{kernel_snapshots, regularization_snapshots}` | (snapshots, n, P_g) f32 | per-interval parts; `/parameters/snapshot_steps` gives each interval's first step |
/// | `/sort_keys/test`, `/sort_keys/train` | (n), (N) f64 | ordering keys for heatmaps (a + b for modulo, the label otherwise) |
/// | `/sort_keys/test_label`, `/sort_keys/train_label` | (n), (N) f64 | labels (the target for modulo), for the by-label heatmap |
/// | `/validation` (attributes) | | `mean_abs_error`, `max_abs_error`, `argmax_agreement`, `epk_accuracy`, `model_accuracy`, `kl_model_epk`, `mean_step_error` |
///
/// Root attributes: `kind`, `components` (JSON), `classes`, `quadrature` (JSON), `config`, `history`, `step_first`,
/// `step_end`, `test_count`, `class_count`, `training_count`, and provenance.
/// The small per-step summaries of the (T, n, S) step arrays that the figures read, so that a stored reference can
/// leave the full arrays out (docs/ARTIFACTS.md, "Reference companions").
struct StepSummary {
    /// Entries in each sample (at most).
    static let sampleSize = 20_000
    var meanAbsoluteError: [Double], meanAbsoluteTruth: [Double]
    var samplePredicted: [Float], sampleTruth: [Float]
    var stride: Int

    init(predicted: [Float], truth: [Float], steps T: Int) {
        let rows = predicted.count / max(1, T)
        meanAbsoluteError = (0..<T).map { t in
            (0..<rows).reduce(0.0) { $0 + Double(abs(truth[t * rows + $1] - predicted[t * rows + $1])) }
                / Double(max(1, rows))
        }
        meanAbsoluteTruth = (0..<T).map { t in
            (0..<rows).reduce(0.0) { $0 + Double(abs(truth[t * rows + $1])) } / Double(max(1, rows))
        }
        stride = max(1, predicted.count / Self.sampleSize)
        let picked = Swift.stride(from: 0, to: predicted.count, by: stride)
        samplePredicted = picked.map { predicted[$0] }
        sampleTruth = picked.map { truth[$0] }
    }
}

public enum EPKArtifact {
    public static let kind = "epk"

    /// Extra facts stored with the result.
    public struct Context: Sendable {
        public var labels: [Int]?
        public var testIndices: [Int]
        public var configJSON: String
        public var historyPath: String
        public var quadrature: QuadratureConfig
        public var classes: ClassSelection
        public init(
            labels: [Int]?, testIndices: [Int], configJSON: String, historyPath: String,
            quadrature: QuadratureConfig, classes: ClassSelection
        ) {
            self.labels = labels; self.testIndices = testIndices; self.configJSON = configJSON
            self.historyPath = historyPath; self.quadrature = quadrature; self.classes = classes
        }
    }

    /// Writes atomically (temporary name, then rename). `annotate` adds the caller's root attributes and groups
    /// (timing, sort keys) before the rename, so a killed run never leaves an unannotated file under `path`.
    public static func write(
        _ r: EPKResult, context: Context, to path: String,
        annotate: (HDF5Group) throws -> Void = { _ in }
    ) throws {
        let validation = ValidationStatistics.compute(r, labels: context.labels)
        try ArtifactFile.write(to: path, kind: kind, config: context.configJSON) { root in
            let n = r.testCount, S = r.classesPerTest, K = r.componentCount, C = r.classCount, T = r.steps.count
            try root.setJSONAttribute("components", r.componentNames)
            try root.setAttribute("classes", context.classes.rawValue)
            try root.setJSONAttribute("quadrature", context.quadrature)
            try root.setAttribute("history", context.historyPath)
            try root.setAttribute("step_first", r.steps.lowerBound)
            try root.setAttribute("step_end", r.steps.upperBound)
            try root.setAttribute("test_count", n)
            try root.setAttribute("class_count", C)
            @discardableResult
            func put<T: HDF5Scalar>(
                _ g: HDF5Group, _ name: String, _ v: [T], _ shape: [Int], _ axes: String
            ) throws -> HDF5Dataset {
                let d = try g.write(name, v, shape: shape)
                try d.setAttribute("axes", axes)
                return d
            }
            let out = try root.createGroup("outputs")
            try put(out, "initial", r.initialOutputs, [n, C], "test, class; log-probabilities at the first checkpoint")
            try put(
                out, "final", r.finalOutputs, [n, C],
                "test, class; log-probabilities of the model at the last checkpoint")
            try put(out, "epk", r.predictedRows, [n, S], "test, selected class; EPK reconstruction")
            try put(out, "row_classes", r.rowClasses.map { Int32($0) }, [n, S], "test, selected class; class index")
            try put(
                out, "attribution_classes", r.attributionRowClasses.map { Int32($0) },
                [n, r.attributionClassesPerTest], "test, attribution row; class of the data/parameter attribution rows")
            try put(out, "focus_classes", r.focusClasses.map { Int32($0) }, [n], "test; class of the step attribution")
            try put(
                out, "labels", (context.labels ?? [Int](repeating: -1, count: n)).map { Int32($0) }, [n],
                "test; label or -1")
            try put(
                out, "test_indices", context.testIndices.map { Int32($0) }, [n],
                "test; index into the test split (root attribute test_split)")
            let comp = try root.createGroup("components")
            try put(comp, "kernel", r.kernelByComponent, [n, S, K], "test, selected class, component; Σ_t kernel part")
            try put(
                comp, "regularization", r.regularizationByComponent, [n, S, K],
                "test, selected class, component; Σ_t weight-decay part")
            let steps = try root.createGroup("steps")
            try put(steps, "index", r.steps.map { Int32($0) }, [T], "step")
            try put(
                steps, "predicted", r.stepPredicted, [T, n, S],
                "step, test, selected class; kernel + regularisation change")
            try put(steps, "truth", r.stepTruth, [T, n, S], "step, test, selected class; f(θ_{t+1}) − f(θ_t)")
            let summary = StepSummary(predicted: r.stepPredicted, truth: r.stepTruth, steps: T)
            try put(
                steps, "mean_abs_error", summary.meanAbsoluteError, [T],
                "step; mean over test points and selected classes of |truth − predicted|")
            try put(
                steps, "mean_abs_truth", summary.meanAbsoluteTruth, [T],
                "step; mean over test points and selected classes of |truth|")
            try put(
                steps, "sample_predicted", summary.samplePredicted, [summary.samplePredicted.count],
                "every k-th entry of /steps/predicted in row-major order (attribute stride = k)"
            ).setAttribute("stride", summary.stride)
            try put(
                steps, "sample_truth", summary.sampleTruth, [summary.sampleTruth.count],
                "every k-th entry of /steps/truth in row-major order (attribute stride = k)"
            ).setAttribute("stride", summary.stride)
            try put(
                steps, "kernel_focus", r.stepKernelFocus, [T, n, K],
                "step, test, component; kernel part at the focus class")
            try put(
                steps, "regularization_focus", r.stepRegularizationFocus, [T, n, K],
                "step, test, component; weight-decay part at the focus class")
            if !r.stepPoints.isEmpty {
                try put(
                    steps, "points", r.stepPoints, [T, n],
                    "step, test; quadrature points of the step's integral (refined where > configured)")
            }
            if !r.dataAttribution.isEmpty {
                let data = try root.createGroup("data")
                try data.setJSONAttribute("groups", r.dataAttribution.map(\.group))
                let Sa = r.attributionClassesPerTest
                let N = r.dataAttribution[0].values.count / max(1, n * Sa)
                try root.setAttribute("training_count", N)
                for (g, v) in r.dataAttribution {
                    try put(data, g, v, [n, Sa, N], "test, attribution row, training sample; I(x, c, j)")
                }
            }
            if !r.dataSnapshots.isEmpty {
                let snapshots = try root.createGroup("data_snapshots")
                try snapshots.setJSONAttribute("groups", r.dataSnapshots.map(\.group))
                let Sa = r.attributionClassesPerTest, count = r.dataSnapshotStarts.count
                let N = r.dataSnapshots[0].values.count / max(1, count * n * Sa)
                try put(
                    snapshots, "start", r.dataSnapshotStarts.map { Int32($0) }, [count],
                    "snapshot; first step whose entering gradients it holds")
                for (g, v) in r.dataSnapshots {
                    try put(
                        snapshots, g, v, [count, n, Sa, N],
                        "snapshot, test, attribution row, training sample; I(x, c, j) from the gradients that entered in the snapshot's steps"
                    )
                }
            }
            if let pa = r.parameterAttribution {
                let g = try root.createGroup("parameters")
                try g.setJSONAttribute("components", pa.components)
                try g.setAttribute("snapshot_interval", pa.snapshotInterval ?? 0)
                // (n, P_g) with a test point's attribution rows summed; (n, Sa, P_g) with the rows kept apart.
                let perRow = pa.rowsPerTest > 1
                let rows = perRow ? [n, pa.rowsPerTest, pa.parameterCount] : [n, pa.parameterCount]
                let axes = perRow ? "test, attribution row, parameter" : "test, parameter"
                try put(
                    g, "kernel_total", pa.kernelTotal, rows,
                    perRow ? "\(axes); Σ_t kernel part" : "\(axes); Σ_t Σ_selected classes kernel part")
                try put(g, "regularization_total", pa.regularizationTotal, rows, "\(axes); weight-decay part")
                try put(
                    g, "snapshot_steps", pa.snapshotSteps.map { Int32($0) }, [pa.snapshotSteps.count],
                    "snapshot; first step of the interval")
                try put(
                    g, "kernel_snapshots", pa.kernelSnapshots, [pa.snapshotSteps.count] + rows, "snapshot, \(axes)")
                try put(
                    g, "regularization_snapshots", pa.regularizationSnapshots, [pa.snapshotSteps.count] + rows,
                    "snapshot, \(axes)")
            }
            let v = try root.createGroup("validation")
            for (name, value) in validation.fields { try v.setAttribute(name, value) }
            try annotate(root)
        }
    }

    /// Reads an artifact back into a result and its context.
    public static func read(_ path: String) throws -> (result: EPKResult, context: Context) {
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        let root = try file.root
        guard root.hasAttribute("kind"), try root.stringAttribute("kind") == kind else {
            throw ArtifactError(
                .corrupt, file: path, problem: "not an EPK artifact (kind ≠ epk)",
                fix: "pass an epk.h5 written by validate-epk")
        }
        let components = try root.jsonAttribute("components", as: [String].self)
        let n = try root.intAttribute("test_count"), C = try root.intAttribute("class_count")
        let steps = (try root.intAttribute("step_first"))..<(try root.intAttribute("step_end"))
        let rowClasses = try root.read("outputs/row_classes", as: Int32.self)
        let S = rowClasses.shape[1]
        let attribution = try root.read("outputs/attribution_classes", as: Int32.self)
        func f(_ p: String) throws -> [Float] { try root.read(p, as: Float.self).values }
        func d(_ p: String) throws -> [Double] { try root.read(p, as: Double.self).values }
        var data: [(String, [Float])] = []
        if root.contains("data") {
            for g in try root.group("data").jsonAttribute("groups", as: [String].self) {
                data.append((g, try f("data/\(g)")))
            }
        }
        var snapshots: [(String, [Float])] = [], snapshotStarts: [Int] = []
        if root.contains("data_snapshots") {
            snapshotStarts = try root.read("data_snapshots/start", as: Int32.self).values.map { Int($0) }
            for g in try root.group("data_snapshots").jsonAttribute("groups", as: [String].self) {
                snapshots.append((g, try f("data_snapshots/\(g)")))
            }
        }
        var pa: EPKResult.ParameterAttribution? = nil
        if root.contains("parameters") {
            let g = try root.group("parameters")
            let total = try g.read("kernel_total", as: Float.self)
            let interval = try g.intAttribute("snapshot_interval")
            pa = .init(
                components: try g.jsonAttribute("components", as: [String].self),
                parameterCount: total.shape.last ?? 0, rowsPerTest: total.shape.count == 3 ? total.shape[1] : 1,
                kernelTotal: total.values, regularizationTotal: try f("parameters/regularization_total"),
                snapshotInterval: interval == 0 ? nil : interval,
                snapshotSteps: try root.read("parameters/snapshot_steps", as: Int32.self).values.map { Int($0) },
                kernelSnapshots: try f("parameters/kernel_snapshots"),
                regularizationSnapshots: try f("parameters/regularization_snapshots"))
        }
        let labels = try root.read("outputs/labels", as: Int32.self).values.map { Int($0) }
        let result = EPKResult(
            testCount: n, classCount: C, classesPerTest: S, rowClasses: rowClasses.values.map { Int($0) },
            attributionClassesPerTest: attribution.shape[1], attributionRowClasses: attribution.values.map { Int($0) },
            focusClasses: try root.read("outputs/focus_classes", as: Int32.self).values.map { Int($0) },
            componentNames: components, steps: steps,
            initialOutputs: try f("outputs/initial"), finalOutputs: try f("outputs/final"),
            kernelByComponent: try d("components/kernel"),
            regularizationByComponent: try d("components/regularization"),
            stepPredicted: try f("steps/predicted"), stepTruth: try f("steps/truth"),
            stepKernelFocus: try f("steps/kernel_focus"), stepRegularizationFocus: try f("steps/regularization_focus"),
            stepPoints: root.contains("steps/points") ? try root.read("steps/points", as: Int32.self).values : [],
            dataAttribution: data, dataSnapshots: snapshots, dataSnapshotStarts: snapshotStarts,
            parameterAttribution: pa)
        let context = Context(
            labels: labels.contains(-1) ? nil : labels,
            testIndices: try root.read("outputs/test_indices", as: Int32.self).values.map { Int($0) },
            configJSON: try root.stringAttribute("config"), historyPath: try root.stringAttribute("history"),
            quadrature: try root.jsonAttribute("quadrature", as: QuadratureConfig.self),
            classes: ClassSelection(rawValue: try root.stringAttribute("classes")) ?? .all)
        return (result, context)
    }
}

extension ValidationStatistics {
    /// (attribute name, value) pairs as stored under `/validation`.
    public var fields: [(String, Double)] {
        [
            ("mean_abs_error", meanAbsoluteError), ("max_abs_error", maxAbsoluteError),
            ("argmax_agreement", argmaxAgreement),
            ("epk_accuracy", epkAccuracy), ("model_accuracy", modelAccuracy), ("kl_model_epk", klModelToEPK),
            ("mean_step_error", meanStepError),
        ]
    }
}
