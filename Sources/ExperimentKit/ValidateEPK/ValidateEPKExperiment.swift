import Artifacts
import EPK
import Foundation

/// `validate-epk`'s `epk.h5` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §1–§9).
public enum ValidateEPKExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.epk
    public static var figures: [FigureRecipe] { EPKFigures.all }

    /// The companion leaves out the (T, n, S) step arrays (the figures read their per-step summaries), replaces the
    /// (T, n, K) step × component arrays by the per-step layer-group sums the balance figure draws, leaves out the
    /// test × parameter attribution, and keeps of the data attribution only each test point's focus-class row summed
    /// over the groups that make up the model, what the data-attribution figures draw.
    public static var referenceRules: ReferenceRules {
        ReferenceRules(
            omit: ["steps/predicted", "steps/truth", "steps/regularization_focus", "parameters"],
            reductions: [
                .init(
                    pattern: "steps/kernel_focus",
                    meaning:
                        "steps/kernel_focus_group_l1 and steps/regularization_focus_group_l1, (T, G): per step and layer group, Σ_x |Σ_{k∈g} part| at the focus class, what the balance figure draws",
                    reduce: { source, _, group, _ in
                        let sums = try EPKFigures.balanceSums(source)
                        let shape = [sums.kernel.count / max(1, sums.groups.count), sums.groups.count]
                        let axes = "step, layer group; Σ_x |Σ_{k∈g} part| at the focus class"
                        let regularization = try group.write(
                            "regularization_focus_group_l1", sums.regularization, shape: shape, compressed: true)
                        try regularization.setAttribute("axes", axes)
                        let kernel = try group.write(
                            "kernel_focus_group_l1", sums.kernel, shape: shape, compressed: true)
                        try kernel.setAttribute("axes", axes)
                        try kernel.setJSONAttribute("groups", sums.groups)
                        return kernel
                    }),
                .init(
                    pattern: "components/*",
                    meaning: "the focus-class row, (n, 1, K), the row the component figure draws",
                    reduce: { source, path, group, name in
                        let rows = try focusClassRows(
                            source, path, rowClasses: "outputs/row_classes", as: Double.self)
                        return try group.write(name, rows.values, shape: rows.shape, compressed: true)
                    }),
                .init(
                    pattern: "outputs/row_classes", meaning: "the focus class of each test point, (n, 1)",
                    reduce: focusClassColumn),
                .init(
                    pattern: "outputs/attribution_classes", meaning: "the focus class of each test point, (n, 1)",
                    reduce: focusClassColumn),
                .init(
                    pattern: "data",
                    meaning: "data/total, (n, 1, N): the focus-class row summed over the groups that make up the model",
                    reduce: focusClassTotal),
                .init(
                    pattern: "data_snapshots",
                    meaning:
                        "data_snapshots/total, (snapshots, n, 1, N): the focus-class row summed over the groups that make up the model",
                    reduce: focusClassTotal),
            ])
    }

    /// A row-class dataset reduced to each test point's focus class, (n, 1), matching the focus rows kept elsewhere.
    @Sendable static func focusClassColumn(
        _ source: HDF5File, _ path: String, _ group: HDF5Group, _ name: String
    ) throws -> HDF5Dataset {
        try group.write(
            name, try source.root.read("outputs/focus_classes", as: Int32.self).values,
            shape: [try source.root.intAttribute("test_count"), 1], compressed: true)
    }

    /// A data-attribution part (`data` or `data_snapshots`) as the figures draw it: the focus-class row of every test
    /// point, summed over the groups that make up the whole model (`EPKFigures.totalGroups`), as the one group
    /// `total` (attribute `summed_groups` names what it sums). Other datasets of the part (e.g. `start`) are copied.
    @Sendable static func focusClassTotal(
        _ source: HDF5File, _ path: String, _ target: HDF5Group, _ name: String
    ) throws -> HDF5Dataset {
        let part = try source.root.group(path)
        let groups = try part.jsonAttribute("groups", as: [String].self)
        let summed = try EPKFigures.totalGroups(source, part: path)
        let out = try target.createGroup(name)
        try part.copyAttributes(to: out)
        try out.setJSONAttribute("groups", ["total"])
        try out.setJSONAttribute("summed_groups", summed)
        for member in try part.memberNames() where !groups.contains(member) {
            try out.copyDataset(try part.dataset(member), as: member)
        }
        var total: [Double] = [], shape: [Int] = []
        for g in summed {
            let rows = try focusClassRows(source, path + "/" + g, as: Float.self)
            if total.isEmpty { total = [Double](repeating: 0, count: rows.values.count); shape = rows.shape }
            for i in rows.values.indices { total[i] += Double(rows.values[i]) }
        }
        return try out.write("total", total.map(Float.init), shape: shape, compressed: true)
    }

    /// For test points drawn from the training split (`test_split` "train") with data attribution: how often a point's
    /// own training copy is its most attributed training sample, and the median rank of that copy (1 = first), at the
    /// focus class.
    static func selfAttributionRow(_ file: HDF5File) throws -> (String, String)? {
        let root = try file.root
        guard root.hasAttribute("test_split"), try root.stringAttribute("test_split") == "train", root.contains("data")
        else { return nil }
        let (matrices, n, N) = try EPKFigures.focusMatrices(file, part: "data")
        let own = try root.read("outputs/test_indices", as: Int32.self).values.map { Int($0) }
        guard let m = matrices.first, own.count == n, own.allSatisfy({ (0..<N).contains($0) }) else {
            throw ArtifactError(
                .corrupt, file: file.path, object: "/outputs/test_indices",
                problem: "the test points are not indices of the \(N) training samples", fix: "rerun validate-epk")
        }
        let ranks = (0..<n).map { a in 1 + (0..<N).filter { m[a * N + $0] > m[a * N + own[a]] }.count }.sorted()
        let first = ranks.filter { $0 == 1 }.count
        return (
            "self-attribution (training-split points)",
            "the point's own training copy is its most attributed sample for \(first) of \(n) points; median rank \(ranks[n / 2]) of \(N)"
        )
    }

    /// The focus-class row of every test point of an (n, Sa, N) or (snapshots, n, Sa, N) dataset whose rows have the
    /// classes `rowClasses` (n, Sa), as an (n, 1, N) or (snapshots, n, 1, N) array.
    static func focusClassRows<T: HDF5Scalar>(
        _ source: HDF5File, _ path: String, rowClasses: String = "outputs/attribution_classes",
        as _: T.Type = Float.self
    ) throws -> (values: [T], shape: [Int]) {
        let root = try source.root
        let dataset = try root.dataset(path)
        let shape = try dataset.shape
        let rows = try root.read(rowClasses, as: Int32.self)
        let focus = try root.read("outputs/focus_classes", as: Int32.self).values
        let n = rows.shape[0], Sa = rows.shape[1], N = shape[shape.count - 1]
        guard shape.count >= 3, shape[shape.count - 3] == n, shape[shape.count - 2] == Sa else {
            throw ArtifactError(
                .shapeMismatch, file: source.path, object: "/" + path,
                problem: "has shape \(shape), expected (…, \(n), \(Sa), N)", fix: "rerun validate-epk")
        }
        let selected = try (0..<n).map { a -> Int in
            guard let s = (0..<Sa).first(where: { rows.values[a * Sa + $0] == focus[a] }) else {
                throw ArtifactError(
                    .corrupt, file: source.path, object: "/" + path,
                    problem: "test point \(a) has no attribution row at its focus class \(focus[a])",
                    fix: "store the full artifact instead of a reference companion")
            }
            return s
        }
        let values = try dataset.read(as: T.self)
        let blocks = shape.count == 4 ? shape[0] : 1
        var out = [T](); out.reserveCapacity(blocks * n * N)
        for k in 0..<blocks {
            for a in 0..<n {
                let row: Int = (k * n + a) * Sa + selected[a]
                out += values[(row * N)..<(row * N + N)]
            }
        }
        return (out, Array(shape.dropLast(2)) + [1, N])
    }

    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let root = try file.root
        let v = try root.group("validation")
        func value(_ n: String) throws -> Double { try v.doubleAttribute(n) }
        let mean = try value("mean_abs_error"), agreement = try value("argmax_agreement")
        let quadrature = try root.jsonAttribute("quadrature", as: QuadratureConfig.self)
        var rows: [(String, String)] = [
            (
                "test points × classes",
                "\(try root.intAttribute("test_count")) × \(try root.stringAttribute("classes"))"
            ),
            ("steps", "\(try root.intAttribute("step_end") - root.intAttribute("step_first"))"),
            ("quadrature", quadrature.fixedRuleSummary),
            ("mean \\|EPK − model\\|", String(format: "%.3g", mean)),
            ("max \\|EPK − model\\|", String(format: "%.3g", try value("max_abs_error"))),
            ("argmax agreement", String(format: "%.4f", agreement)),
            ("KL(model ‖ EPK)", String(format: "%.3g", try value("kl_model_epk"))),
            (
                "model accuracy / EPK accuracy",
                String(format: "%.4f / %.4f", try value("model_accuracy"), try value("epk_accuracy"))
            ),
            (
                "wall time",
                (try? root.doubleAttribute("wall_seconds")).map { seconds in
                    String(format: "%.1f s", seconds)
                        + ((try? root.intAttribute("merged_shards")).map { " (sum over \($0) shards)" } ?? "")
                } ?? "—"
            ),
        ]
        if let row = try selfAttributionRow(file) { rows.append(row) }
        if let refine = quadrature.refine, root.contains("steps/points") {
            let points = try root.read("steps/points", as: Int32.self)
            let r = quadrature.refinementSummary(
                points: points.values, testCount: points.shape[1], firstStep: try root.intAttribute("step_first"))
            rows.insert(
                (
                    "refinement",
                    refine.ruleSummary
                        + String(
                            format: ": %.1f %% of (step, test point) integrals refined, %.2f× the fixed rule's points",
                            100 * Double(r.refined) / Double(max(1, r.integrals)), r.pointRatio)
                ), at: 3)
        }
        let claim = Claim(
            statement: "the EPK replicates the model (argmax agreement ≥ 99 %, mean error < 1e-2)",
            holds: agreement.isNaN ? nil : (agreement >= 0.99 && mean < 1e-2),
            evidence: String(format: "argmax agreement %.4f, mean |EPK − model| %.2g", agreement, mean))
        if let problem = ArtifactHealth.problem(of: root) {
            rows.insert(("validation", "FAILED: \(problem); the numbers below are not results"), at: 0)
            return ReportSummary(
                rows: rows, claims: [Claim(statement: claim.statement, holds: false, evidence: problem)])
        }
        return ReportSummary(rows: rows, claims: [claim])
    }
}
