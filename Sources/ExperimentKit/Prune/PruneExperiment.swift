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
    /// scores, per method the held-out agreement with the unpruned model, the accuracy and KL(unpruned ‖ pruned)
    /// (mean ± std over seeds) at the grid fractions nearest to 90 %, 97 % and 99 % pruned, and the paired comparison
    /// of the better ExPLAIND variant with magnitude and with Taylor (`comparisonRows`: mean of the per-seed differences
    /// with a 95 % t-interval over the seeds at those fractions, and how many fractions of both grids are comparable).
    ///
    /// Claim (docs/METHOD.md §15, §20: "pruning performance comparable to existing methods"; "far better than random" is
    /// the brief's reading), decided on paired per-seed differences of held-out agreement with 95 % t-intervals over the
    /// seeds (`PairedInterval`). The better ExPLAIND variant (`explaind` or `explaind-module`, higher agreement averaged
    /// over all fractions) is comparable to magnitude at a fraction when the interval of ExPLAIND − magnitude has its
    /// lower bound ≥ −0.02 (magnitude's advantage is at most 0.02), worse when its upper bound is < −0.02. The claim
    /// holds when ExPLAIND is comparable at ≥ 2/3 of the fractions of both grids and the interval of ExPLAIND − random
    /// (per seed, averaged over the fractions) lies above 0.1; it fails when comparable plus inconclusive fractions stay
    /// under 2/3 or that random interval lies below 0.1; otherwise (intervals too wide) it is undecided. Undecided also
    /// with fewer than two seeds, when a held-out split has fewer than `pruneMinimumHeldOut` images, or when magnitude
    /// or random was not run.
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
            let methods = try r.json("methods", as: [String].self), chosen = try shownPoints(r)
            return chosen.flatMap { p in methods.map { m in pruneRow(r, method: m, at: p) } }
        }
        rows += ReportRows.rows("ExPLAIND vs baselines") { try comparisonRows(r, shown: try shownPoints(r)) }
        return ReportSummary(rows: rows, claims: [pruneClaim(r)])
    }

    /// The grid points nearest to each of `pruneTargets` (each once).
    static func shownPoints(_ r: ReportReader) throws -> [PruneGridPoint] {
        let points = try pruneGridPoints(r)
        var chosen: [PruneGridPoint] = []
        for t in pruneTargets {
            let p = points.min { abs($0.fraction - t) < abs($1.fraction - t) }!
            if !chosen.contains(where: { $0.grid == p.grid && $0.index == p.index }) { chosen.append(p) }
        }
        return chosen
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
            guard let best = try bestVariant(r, methods, points), methods.contains("magnitude"),
                methods.contains("random")
            else {
                return (
                    nil,
                    "needs an ExPLAIND variant, magnitude and random; the run has \(methods.joined(separator: ", "))"
                )
            }
            let intervals = try points.map {
                PairedInterval(try seedDifferences(r, "agreement", best, "magnitude", at: $0))
            }
            // Per seed: the mean over the fractions of ExPLAIND − random.
            let perPoint = try points.map { try seedDifferences(r, "agreement", best, "random", at: $0) }
            let seeds = perPoint.map(\.count).min() ?? 0
            let overRandom = PairedInterval(
                (0..<seeds).map { s in perPoint.map { $0[s] }.reduce(0, +) / Double(points.count) })
            guard let overRandom, intervals.allSatisfy({ $0 != nil }) else {
                return (nil, "needs ≥ 2 seeds for 95 % intervals over the seeds; the run has \(seeds)")
            }
            let standings = intervals.map { standing($0!) }
            let comparable = standings.filter { $0 == .comparable }.count
            let inconclusive = standings.filter { $0 == .inconclusive }.count
            let needed = Int((2.0 * Double(points.count) / 3.0).rounded(.up))
            var evidence = String(
                format:
                    "%@ − magnitude agreement (mean of per-seed differences, 95 %% t-interval over %d seeds): lower bound ≥ −%.2f at %d/%d fractions (needs %d), upper bound < −%.2f at %d, inconclusive at %d; %@ − random averaged over the fractions %@ (needs > %.1f); mean agreement %@ %.3f, magnitude %.3f, random %.3f",
                best, overRandom.seeds, comparableTolerance, comparable, points.count, needed, comparableTolerance,
                standings.filter { $0 == .worse }.count, inconclusive, best, overRandom.text, randomMargin, best,
                ReportStats.mean(try meanAgreement(r, best, points)),
                ReportStats.mean(try meanAgreement(r, "magnitude", points)),
                ReportStats.mean(try meanAgreement(r, "random", points)))
            let heldOut = try r.int("evaluation_count")
            if heldOut < pruneMinimumHeldOut {
                evidence += String(
                    format: "; only %d held-out images per seed (< %d): one image moves agreement by %.2f", heldOut,
                    pruneMinimumHeldOut, 1 / Double(max(heldOut, 1)))
                return (nil, evidence)
            }
            let magnitudeHolds: Bool? =
                comparable >= needed ? true : (comparable + inconclusive < needed ? false : nil)
            let randomHolds: Bool? =
                overRandom.low > randomMargin ? true : (overRandom.high < randomMargin ? false : nil)
            if magnitudeHolds == false || randomHolds == false { return (false, evidence) }
            if magnitudeHolds == true && randomHolds == true { return (true, evidence) }
            return (nil, evidence + "; the intervals are too wide to decide (more seeds or held-out images)")
        }
    }
}
