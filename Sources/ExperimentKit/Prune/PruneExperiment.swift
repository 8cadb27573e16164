import Artifacts
import Foundation

/// `prune` as `plot` and `report` see it: its figures and its report rules (docs/METHOD.md §15). Reads only the
/// layout documented on `PruneDriver` (and in docs/ARTIFACTS.md) through `ReportReader`.
public enum PruneExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.prune
    public static var figures: [FigureRecipe] { PruneFigures.all }

    /// Pruned fractions the prune table shows (the nearest grid point of either grid to each).
    static let pruneTargets = [0.90, 0.97, 0.99]
    /// Smallest held-out split per seed for a pruning verdict: below it one flipped image moves agreement by > 0.02.
    static let pruneMinimumHeldOut = 50

    /// `prune` (docs/METHOD.md §15). Rows: held-out images per seed, unpruned accuracy, the EPK replication error of the
    /// scores, and per method the held-out agreement with the unpruned model, the accuracy and KL(unpruned ‖ pruned)
    /// (mean ± std over seeds) at the grid fractions nearest to 90 %, 97 % and 99 % pruned.
    ///
    /// Claim (docs/METHOD.md §15, §20: "pruning performance comparable to existing methods"; "far better than random" is
    /// the brief's reading): at every fraction of both grids take the mean held-out agreement over seeds. The best
    /// ExPLAIND variant (`explaind` or `explaind-module`, whichever has the higher agreement averaged over all
    /// fractions) must be ≥ magnitude − 0.02 at ≥ 2/3 of the fractions, and ≥ random + 0.1 on average over the
    /// fractions. Undecided when a held-out split has fewer than `pruneMinimumHeldOut` images or when magnitude or
    /// random was not run.
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows: [(String, String)] = [
            ReportRows.row("held-out images per seed × seeds") {
                "\(try r.int("evaluation_count")) × \(try r.ints("seeds").count)"
            },
            ReportRows.row("unpruned held-out accuracy") { ReportStats.pm(try r.vector("unpruned/accuracy")) },
            ReportRows.row("EPK replication of the scores") {
                String(
                    format: "mean |f̂ − f| %.3g, max %.3g", try r.double("epk_mean_abs_error"),
                    try r.double("epk_max_abs_error"))
            },
        ]
        rows += ReportRows.rows("methods") {
            let methods = try r.json("methods", as: [String].self), points = try pruneGridPoints(r)
            var chosen: [PruneGridPoint] = []
            for t in pruneTargets {
                let p = points.min { abs($0.fraction - t) < abs($1.fraction - t) }!
                if !chosen.contains(where: { $0.grid == p.grid && $0.index == p.index }) { chosen.append(p) }
            }
            return chosen.flatMap { p in methods.map { m in pruneRow(r, method: m, at: p) } }
        }
        return ReportSummary(rows: rows, claims: [pruneClaim(r)])
    }

    /// One fraction of one pruning grid.
    struct PruneGridPoint { var grid: String; var index: Int; var fraction: Double }

    /// Every requested fraction of the coarse and fine grids (a missing grid is skipped; none at all throws).
    static func pruneGridPoints(_ r: ReportReader) throws -> [PruneGridPoint] {
        var points: [PruneGridPoint] = []
        for grid in ["coarse", "fine"] {
            guard let fractions = try? r.vector("\(grid)/fractions") else { continue }
            points += fractions.enumerated().map { PruneGridPoint(grid: grid, index: $0, fraction: $1) }
        }
        guard !points.isEmpty else {
            throw ReportMissing(description: "no dataset /coarse/fractions or /fine/fractions")
        }
        return points
    }

    /// Column `index` of a (seeds × fractions) dataset: one value per seed.
    static func seedColumn(_ r: ReportReader, _ path: String, _ index: Int) throws -> [Double] {
        let a = try r.array(path, rank: 2)
        guard index < a.shape[1] else {
            throw ReportMissing(description: "/\(path) has \(a.shape[1]) fractions, need index \(index)")
        }
        return (0..<a.shape[0]).map { a.values[$0 * a.shape[1] + index] }
    }

    /// "agreement 0.952 ± 0.021 · accuracy 0.661 ± 0.015 · KL 0.0123 ± 0.004" for one method at one fraction.
    static func pruneRow(_ r: ReportReader, method m: String, at p: PruneGridPoint) -> (String, String) {
        ReportRows.row(String(format: "%@ at %.1f %% pruned", m, 100 * p.fraction)) {
            let base = "\(p.grid)/\(m)/"
            return "agreement " + ReportStats.pm(try seedColumn(r, base + "agreement", p.index))
                + " · accuracy " + ReportStats.pm(try seedColumn(r, base + "accuracy", p.index))
                + " · KL " + ReportStats.pmSci(try seedColumn(r, base + "kl", p.index))
        }
    }

    /// The docs/METHOD.md §15 claim (rule on `summarize`).
    static func pruneClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim(
            "ExPLAIND pruning is comparable to or better than magnitude pruning and far better than random"
        ) {
            let methods = try r.json("methods", as: [String].self), points = try pruneGridPoints(r)
            let variants = ["explaind", "explaind-module"].filter { methods.contains($0) }
            guard !variants.isEmpty, methods.contains("magnitude"), methods.contains("random") else {
                return (
                    nil,
                    "needs an ExPLAIND variant, magnitude and random; the run has \(methods.joined(separator: ", "))"
                )
            }
            func agreement(_ m: String) throws -> [Double] {
                try points.map { ReportStats.mean(try seedColumn(r, "\($0.grid)/\(m)/agreement", $0.index)) }
            }
            let scored = try variants.map { ($0, try agreement($0)) }
            let best = scored.max { ReportStats.mean($0.1) < ReportStats.mean($1.1) }!
            let magnitude = try agreement("magnitude"), random = try agreement("random")
            let close = zip(best.1, magnitude).filter { $0 >= $1 - 0.02 }.count
            let needed = Int((2.0 * Double(points.count) / 3.0).rounded(.up))
            let margin = ReportStats.mean(zip(best.1, random).map { $0 - $1 })
            var evidence = String(
                format:
                    "%@ ≥ magnitude − 0.02 at %d/%d fractions (needs %d); mean agreement %@ %.3f, magnitude %.3f, random %.3f",
                best.0, close, points.count, needed, best.0, ReportStats.mean(best.1), ReportStats.mean(magnitude),
                ReportStats.mean(random))
            let heldOut = try r.int("evaluation_count")
            if heldOut < pruneMinimumHeldOut {
                evidence += String(
                    format: "; only %d held-out images per seed (< %d): one image moves agreement by %.2f", heldOut,
                    pruneMinimumHeldOut, 1 / Double(max(heldOut, 1)))
                return (nil, evidence)
            }
            return (close >= needed && margin >= 0.1, evidence)
        }
    }
}
