import Analysis
import Artifacts
import Foundation

/// `step-explainer` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §19).
public enum StepExplainerExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.stepExplainer
    public static var figures: [FigureRecipe] { StepExplainerFigures.all }

    /// Largest median |residual| / |ΔL_E| for the decomposition claim.
    static let stepExplainerResidualThreshold = 0.05

    /// `step-explainer` (docs/METHOD.md §19). Rows: the setup, per kind of segment (windows between checkpoints, single
    /// steps) the relative residual |Σ s_p − ΔL_E| / |ΔL_E| (median, max and where), the quadrature convergence of
    /// each studied segment, and the dominant module (largest mean relative influence) in the first and the second
    /// half of the windows.
    ///
    /// Claims:
    /// - decomposition (docs/METHOD.md §19 "Verification: Σ_p s_p equals the measured ΔL_E up to quadrature error"): the
    ///   median relative residual is ≤ 0.05 for the windows and for the single steps (each kind that was run);
    /// - convergence (docs/METHOD.md §20): the median over studied segments of the log-log slope of |residual| against the
    ///   midpoints is ≤ −1.5 (undecided unless ≥ 3 point counts span ≥ 8×, as for `summarizeSensitivity`);
    /// - two phases (LM runs only; docs/METHOD.md §19, EuroLLM: "the first is dominated by outer-layer MLP learning; the
    ///   second shows rising relative influence of intermediate attention layers"): in the first half of the
    ///   windows the dominant module is the MLP of the first or last layer, and the summed relative influence of the
    ///   attention of layers 1 … L−2 is larger in the second half than in the first. Undecided with fewer than 3
    ///   layers (no intermediate layer) or fewer than 4 windows.
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows = [ReportRows.row("setup") { try r.string("summary") }]
        for kind in ["windows", "steps"] where (try? r.vector(kind + "/residual")) != nil {
            rows.append(ReportRows.row(kind) { try residualSummary(r, kind) })
        }
        rows += ReportRows.rows("convergence") { try convergenceRows(r) }
        rows += ReportRows.rows("module influence") { try phaseRows(r) }
        var claims = [decompositionClaim(r), convergenceClaim(r)]
        if let groups = try? r.json("groups", as: [String].self), groups.contains(where: { lmLayer($0, "attn") != nil })
        {
            claims.append(phaseClaim(r))
        }
        return ReportSummary(rows: rows, claims: claims)
    }

    /// |residual| / |ΔL_E| per segment of `kind` (|ΔL_E| floored at 1e-12).
    static func relativeResiduals(_ r: ReportReader, _ kind: String) throws -> [Double] {
        let residual = try r.vector(kind + "/residual"), measured = try r.vector(kind + "/measured")
        guard residual.count == measured.count else {
            throw ReportMissing(description: "/\(kind)/residual and /\(kind)/measured differ in length")
        }
        return zip(residual, measured).map { abs($0) / max(abs($1), 1e-12) }
    }

    /// "20 segments; |Σ s_p − ΔL_E| / |ΔL_E| median 4.8e-03, max 3.0e-02 (steps 60–120); max |residual| 1.3e-05".
    static func residualSummary(_ r: ReportReader, _ kind: String) throws -> String {
        let rel = try relativeResiduals(r, kind), residual = try r.vector(kind + "/residual")
        let start = try r.vector(kind + "/start"), end = try r.vector(kind + "/end")
        guard start.count == rel.count, end.count == rel.count else {
            throw ReportMissing(description: "/\(kind)/start or /\(kind)/end does not match /\(kind)/residual")
        }
        guard let worst = rel.indices.max(by: { rel[$0] < rel[$1] }) else { return "none" }
        return String(
            format: "%d segments; |Σ s_p − ΔL_E| / |ΔL_E| median %.2g, max %.2g (steps %d–%d); max |residual| %.2g",
            rel.count, ReportStats.median(rel), rel[worst], Int(start[worst]), Int(end[worst]),
            residual.map(abs).max() ?? .nan)
    }

    /// Per studied segment: the residual at the fewest and most points and the observed order.
    static func convergenceRows(_ r: ReportReader) throws -> [(String, String)] {
        guard (try? r.object("convergence")) != nil else { return [] }
        let points = try r.vector("convergence/points"), residual = try r.array("convergence/residual", rank: 2)
        let labels = try r.json("labels", of: "convergence/residual", dataset: true, as: [String].self)
        let k = residual.shape[1]
        guard k == points.count, labels.count == residual.shape[0], k > 0 else {
            throw ReportMissing(description: "/convergence/residual does not match its points and labels")
        }
        return labels.indices.map { i in
            let row = Array(residual.values[(i * k)..<((i + 1) * k)])
            let order = ReportStats.logLogSlope(x: points, y: row).map { String(format: " (order %.2f)", $0) } ?? ""
            return (
                "convergence, \(labels[i])",
                String(
                    format: "|residual| %.2g → %.2g from %d to %d midpoints", row[0], row[k - 1], Int(points[0]),
                    Int(points[k - 1])) + order
            )
        }
    }

    /// The convergence order of every studied segment; nil when the point counts cannot measure one.
    static func convergenceOrders(_ r: ReportReader) throws -> [Double]? {
        let points = try r.vector("convergence/points"), residual = try r.array("convergence/residual", rank: 2)
        guard SensitivityExperiment.measuresOrder(points), residual.shape[1] == points.count else { return nil }
        let k = points.count
        return (0..<residual.shape[0]).compactMap {
            ReportStats.logLogSlope(x: points, y: Array(residual.values[($0 * k)..<(($0 + 1) * k)]))
        }
    }

    /// Mean relative influence per module over the first and the second half of the windows.
    static func phaseInfluence(
        _ r: ReportReader
    ) throws -> (groups: [String], first: [Double], second: [Double], start: [Double], end: [Double]) {
        let groups = try r.json("groups", as: [String].self),
            influence = try r.array("windows/relative_influence", rank: 2)
        let W = influence.shape[0], G = influence.shape[1]
        guard G == groups.count, G > 0, W >= 2 else {
            throw ReportMissing(
                description:
                    "/windows/relative_influence has shape \(influence.shape) for \(groups.count) groups (needs ≥ 2 windows)"
            )
        }
        let start = try r.vector("windows/start"), end = try r.vector("windows/end")
        guard start.count == W, end.count == W else {
            throw ReportMissing(description: "/windows/start or /windows/end does not have \(W) windows")
        }
        func mean(_ rows: Range<Int>) -> [Double] {
            (0..<G).map { g in ReportStats.mean(rows.map { influence.values[$0 * G + g] }) }
        }
        return (groups, mean(0..<(W / 2)), mean((W / 2)..<W), start, end)
    }

    /// "dominant module, steps 0–600": the module with the largest mean relative influence in each half.
    static func phaseRows(_ r: ReportReader) throws -> [(String, String)] {
        guard (try? r.vector("windows/relative_influence")) != nil else { return [] }
        let p = try phaseInfluence(r)
        let W = p.start.count
        return [(p.first, 0..<(W / 2)), (p.second, (W / 2)..<W)].map { values, range in
            let top = values.indices.sorted { (values[$0], -$0) > (values[$1], -$1) }.prefix(2)
            return (
                "dominant module, steps \(Int(p.start[range.lowerBound]))–\(Int(p.end[range.upperBound - 1]))",
                top.map { String(format: "%@ %.2f", p.groups[$0], values[$0]) }.joined(separator: ", then ")
                    + " (mean relative influence)"
            )
        }
    }

    /// The layer index of an LM module group "L<i> <part>" ("L0 attn"), nil for other groups.
    static func lmLayer(_ group: String, _ part: String) -> Int? {
        let pieces = group.split(separator: " ")
        guard pieces.count == 2, pieces[1] == part, pieces[0].hasPrefix("L") else { return nil }
        return Int(pieces[0].dropFirst())
    }

    /// The decomposition claim (rule on `summarize`).
    static func decompositionClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim(
            "the step-wise loss decomposition is exact: Σ_p s_p equals the measured ΔL_E up to quadrature error"
        ) {
            var parts: [(String, Double)] = []
            for kind in ["windows", "steps"] where (try? r.vector(kind + "/residual")) != nil {
                parts.append((kind, ReportStats.median(try relativeResiduals(r, kind))))
            }
            guard !parts.isEmpty else { return (nil, "no windows or steps in the artifact") }
            let evidence =
                "median |Σ s_p − ΔL_E| / |ΔL_E| "
                + parts.map { String(format: "%.2g (%@)", $0.1, $0.0) }.joined(separator: ", ")
                + String(format: "; threshold %.2g", stepExplainerResidualThreshold)
            return (parts.allSatisfy { $0.1 <= stepExplainerResidualThreshold }, evidence)
        }
    }

    /// The convergence claim (rule on `summarize`).
    static func convergenceClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim("the decomposition residual falls as O(n⁻²) with the number of midpoints") {
            guard (try? r.object("convergence")) != nil else { return (nil, "no convergence study in the artifact") }
            guard let orders = try convergenceOrders(r), !orders.isEmpty else {
                return (nil, "the point counts do not span a factor \(Int(SensitivityExperiment.orderMinimumSpan))")
            }
            let m = ReportStats.median(orders)
            return (
                m <= SensitivityExperiment.sensitivityOrderThreshold,
                String(
                    format: "median order %.2f over %d segments (%@); O(n⁻²) needs ≤ %.1f",
                    m, orders.count, orders.map { String(format: "%.2f", $0) }.joined(separator: ", "),
                    SensitivityExperiment.sensitivityOrderThreshold)
            )
        }
    }

    /// The EuroLLM two-phase claim on an LM run (rule on `summarize`).
    static func phaseClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim(
            "two phases: outer-layer MLPs dominate first, then the relative influence of intermediate attention layers rises"
        ) {
            let p = try phaseInfluence(r)
            let layers = (p.groups.compactMap { lmLayer($0, "attn") }.max() ?? -1) + 1
            let intermediate = p.groups.indices.filter {
                lmLayer(p.groups[$0], "attn").map { $0 >= 1 && $0 <= layers - 2 } ?? false
            }
            let outerMLP = p.groups.indices.filter {
                lmLayer(p.groups[$0], "mlp").map { $0 == 0 || $0 == layers - 1 } ?? false
            }
            let dominant = p.first.indices.max { p.first[$0] < p.first[$1] }!
            let early = intermediate.map { p.first[$0] }.reduce(0, +),
                late = intermediate.map { p.second[$0] }.reduce(0, +)
            let evidence = String(
                format: "first half of the windows dominated by %@ (%.2f); intermediate attention %.3f → %.3f",
                p.groups[dominant], p.first[dominant], early, late)
            if layers < 3 { return (nil, "\(layers) layers: no intermediate layer; " + evidence) }
            if p.start.count < 4 { return (nil, "only \(p.start.count) windows; " + evidence) }
            return (outerMLP.contains(dominant) && late > early, evidence)
        }
    }
}
