import Foundation

/// The mean of paired per-seed differences and its 95 % Student-t interval, mean ± t(0.975, S − 1) · sd / √S with the
/// sample standard deviation sd of the S differences. The seeds' splits are drawn independently, so the differences
/// are treated as independent draws; the interval says nothing about other histories or pools.
struct PairedInterval: Equatable {
    var mean: Double
    var low: Double
    var high: Double
    var seeds: Int

    /// nil with fewer than two finite differences (no spread to estimate).
    init?(_ differences: [Double]) {
        let d = differences.filter { $0.isFinite }
        guard d.count >= 2 else { return nil }
        let s = ReportStats.meanStd(d)
        let half = StudentT.quantile975(degreesOfFreedom: d.count - 1) * s.std / Double(d.count).squareRoot()
        mean = s.mean; low = s.mean - half; high = s.mean + half; seeds = d.count
    }

    /// "+0.012 [−0.004, +0.028]".
    var text: String { String(format: "%+.3f [%+.3f, %+.3f]", mean, low, high) }
}

/// Two-sided 95 % quantiles of Student's t distribution.
enum StudentT {
    /// t(0.975, ν) for ν = 1 … 30 (standard tables, 3 decimals).
    static let table: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]

    /// t(0.975, ν): the table up to 30, beyond it the Cornish–Fisher expansion z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²)
    /// around z = 1.959964 (error < 1e-3 for ν > 30).
    static func quantile975(degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "at least one degree of freedom")
        if nu <= table.count { return table[nu - 1] }
        let z = 1.959964, v = Double(nu)
        let z3 = z * z * z, z5 = z3 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
    }
}

extension PruneExperiment {
    /// How far below a baseline's held-out agreement ExPLAIND may be and still count as comparable.
    static let comparableTolerance = 0.02
    /// How far above random ExPLAIND's agreement, averaged over the fractions, must be ("far better").
    static let randomMargin = 0.1

    /// Where ExPLAIND stands against a baseline at one fraction, from the interval of the per-seed differences
    /// d_s = ExPLAIND_s − baseline_s: comparable when low ≥ −tolerance (the baseline's advantage is at most the tolerance
    /// at 95 %), worse when high < −tolerance, inconclusive otherwise.
    enum Standing { case comparable, worse, inconclusive }

    static func standing(_ i: PairedInterval) -> Standing {
        i.low >= -comparableTolerance ? .comparable : (i.high < -comparableTolerance ? .worse : .inconclusive)
    }

    /// Per-seed differences variant − baseline of `metric` (agreement, accuracy) at one grid point.
    static func seedDifferences(
        _ r: ReportReader, _ metric: String, _ variant: String, _ baseline: String, at p: PruneGridPoint
    ) throws -> [Double] {
        let a = try seedColumn(r, "\(p.grid)/\(variant)/\(metric)", p.index)
        let b = try seedColumn(r, "\(p.grid)/\(baseline)/\(metric)", p.index)
        return zip(a, b).map { $0 - $1 }
    }

    /// Mean over seeds of a method's held-out agreement at every grid point.
    static func meanAgreement(_ r: ReportReader, _ m: String, _ points: [PruneGridPoint]) throws -> [Double] {
        try points.map { ReportStats.mean(try seedColumn(r, "\($0.grid)/\(m)/agreement", $0.index)) }
    }

    /// The ExPLAIND variant the verdict uses: `explaind` or `explaind-module`, whichever has the higher mean agreement
    /// over all fractions; nil when neither ran.
    static func bestVariant(_ r: ReportReader, _ methods: [String], _ points: [PruneGridPoint]) throws -> String? {
        let scored = try ["explaind", "explaind-module"].filter { methods.contains($0) }.map {
            ($0, ReportStats.mean(try meanAgreement(r, $0, points)))
        }
        return scored.max { $0.1 < $1.1 }?.0
    }

    /// Rows "explaind − magnitude at 90.0 % pruned" (and − taylor) at the shown fractions, then per baseline the count
    /// of fractions of both grids where ExPLAIND is comparable, worse or inconclusive.
    static func comparisonRows(_ r: ReportReader, shown: [PruneGridPoint]) throws -> [(String, String)] {
        let methods = try r.json("methods", as: [String].self), points = try pruneGridPoints(r)
        guard let variant = try bestVariant(r, methods, points) else { return [] }
        var rows: [(String, String)] = []
        for baseline in ["magnitude", "taylor"] where methods.contains(baseline) {
            for p in shown {
                rows.append(
                    ReportRows.row(String(format: "%@ − %@ at %.1f %% pruned", variant, baseline, 100 * p.fraction)) {
                        let a = PairedInterval(try seedDifferences(r, "agreement", variant, baseline, at: p))
                        let c = PairedInterval(try seedDifferences(r, "accuracy", variant, baseline, at: p))
                        guard let a, let c else { return "needs ≥ 2 seeds for an interval" }
                        return
                            "agreement \(a.text) · accuracy \(c.text) (mean of per-seed differences, 95 % t-interval over \(a.seeds) seeds)"
                    })
            }
            rows.append(
                ReportRows.row("\(variant) − \(baseline) agreement, all \(points.count) fractions") {
                    let s = try points.map { p in
                        PairedInterval(try seedDifferences(r, "agreement", variant, baseline, at: p)).map(standing)
                    }
                    return String(
                        format:
                            "comparable (95 %% lower bound ≥ −%.2f) at %d, worse (upper bound < −%.2f) at %d, inconclusive at %d",
                        comparableTolerance, s.filter { $0 == .comparable }.count, comparableTolerance,
                        s.filter { $0 == .worse }.count, s.filter { $0 == .inconclusive || $0 == nil }.count)
                })
        }
        return rows
    }
}
