import Analysis
import Artifacts
import Foundation

/// `lds` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §17).
public enum LDSExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.lds
    public static var figures: [FigureRecipe] { LDSFigures.all }

    /// The companion leaves out each method's (n, N) score matrix (the figures and report read the predicted
    /// margins and LDS that were computed from it) and the ensemble members' parameters.
    public static var referenceRules: ReferenceRules { ReferenceRules(omit: ["methods/*/scores", "models"]) }

    /// Smallest number of subsets and of test examples for an LDS verdict (docs/METHOD.md §17: TRAK uses M ≈ 100).
    static let ldsMinimumSubsets = 50, ldsMinimumTests = 50
    /// Gradient-based baselines of the "comparable" claim.
    static let ldsBaselines = ["grad-dot", "grad-cos", "tracin"]

    /// `lds` (docs/METHOD.md §17). Rows: M subsets × subset size, test examples, full-data and mean subset-model
    /// accuracy, the ExPLAIND reconstruction error, and per method its mean LDS with the 95 % bootstrap interval.
    ///
    /// Claims, both about `explaind` (all steps, all components; the restricted variants are shown, not used, so
    /// the verdict is not a pick of the best variant):
    /// - better than random: the lower end of ExPLAIND's interval is above the upper end of random's;
    /// - comparable to gradient-based baselines: ExPLAIND's mean LDS ≥ the best mean of grad-dot, grad-cos and
    ///   TracIn minus 0.05.
    /// Both are undecided with fewer than `ldsMinimumSubsets` subsets or `ldsMinimumTests` test examples (the
    /// quick run's 20 subsets of 20-step models barely leave the shared initialisation).
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows: [(String, String)] = [
            ReportRows.row("subsets M × subset size / training samples") {
                "\(try r.array("subsets/indices", rank: 2).shape[0]) × \(try r.int("subset_size")) / \(try r.int("training_count"))"
            },
            ReportRows.row("test examples") { "\(try r.vector("test/indices").count)" },
            ReportRows.row("full-data / mean subset-model accuracy") {
                String(
                    format: "%.4f / %.4f", try r.double("full_model_accuracy"),
                    ReportStats.mean(try r.vector("ground_truth/accuracy")))
            },
            ReportRows.row("ExPLAIND reconstruction error max |f̂_y − f_y(θ_T)|") {
                String(format: "%.3g", try r.double("explaind_reconstruction_error"))
            },
        ]
        if let K = try? r.int("ensemble_size") {
            rows.append(
                (
                    "ensemble K / TRAK projection k",
                    "\(K) / "
                        + ((try? r.int("trak_projection_dim")).map {
                            "\($0) (\((try? r.string("trak_projection")) ?? "?"))"
                        } ?? "no TRAK")
                ))
        }
        rows += ReportRows.rows("LDS") {
            try ldsTable(r).map { m in
                (
                    "LDS " + m.name,
                    String(format: "%.3f [%.3f, %.3f]", m.mean, m.lower, m.upper)
                        + ((try? r.int("undefined", of: "methods/\(m.name)/lds", dataset: true)).flatMap {
                            $0 > 0 ? " (\($0) undefined)" : nil
                        } ?? "")
                )
            }
        }
        return ReportSummary(rows: rows, claims: ldsClaims(r))
    }

    /// Mean LDS and interval of one method.
    struct LDSEntry { var name: String; var mean, lower, upper: Double }

    /// `/summary/{mean, ci_lower, ci_upper}` in the order of the root attribute `methods`.
    static func ldsTable(_ r: ReportReader) throws -> [LDSEntry] {
        let names = try r.json("methods", as: [String].self)
        let mean = try r.vector("summary/mean"), lower = try r.vector("summary/ci_lower"),
            upper = try r.vector("summary/ci_upper")
        guard mean.count == names.count, lower.count == names.count, upper.count == names.count else {
            throw ReportMissing(description: "/summary has \(mean.count) entries for \(names.count) methods")
        }
        return names.indices.map { LDSEntry(name: names[$0], mean: mean[$0], lower: lower[$0], upper: upper[$0]) }
    }

    /// The two LDS claims (rules on `summarize`).
    static func ldsClaims(_ r: ReportReader) -> [Claim] {
        /// The table, ExPLAIND's entry, and why the run is too small to decide (nil when it is large enough).
        func setup() throws -> (table: [LDSEntry], explaind: LDSEntry, tooSmall: String?) {
            let table = try ldsTable(r)
            guard let e = table.first(where: { $0.name == "explaind" }) else {
                throw ReportMissing(description: "no method 'explaind'")
            }
            let M = try r.array("subsets/indices", rank: 2).shape[0], n = try r.vector("test/indices").count
            let small =
                M < ldsMinimumSubsets || n < ldsMinimumTests
                ? "\(M) subsets × \(n) test examples (needs ≥ \(ldsMinimumSubsets) × \(ldsMinimumTests))" : nil
            return (table, e, small)
        }
        let random = ReportRows.claim("ExPLAIND data attribution predicts retraining better than random (LDS)") {
            let s = try setup()
            guard let rnd = s.table.first(where: { $0.name == "random" }) else {
                return (nil, "the run has no random baseline")
            }
            let evidence = String(
                format: "explaind %.3f [%.3f, %.3f] vs random %.3f [%.3f, %.3f]", s.explaind.mean, s.explaind.lower,
                s.explaind.upper, rnd.mean, rnd.lower, rnd.upper)
            if let small = s.tooSmall { return (nil, evidence + "; too small to decide: " + small) }
            return (s.explaind.lower > rnd.upper, evidence)
        }
        let baselines = ReportRows.claim(
            "ExPLAIND data attribution is comparable to gradient-based baselines (LDS within 0.05 of the best of grad-dot, grad-cos, TracIn, or above)"
        ) {
            let s = try setup()
            let present = s.table.filter { ldsBaselines.contains($0.name) }
            guard let best = present.max(by: { $0.mean < $1.mean }) else {
                return (nil, "the run has none of \(ldsBaselines.joined(separator: ", "))")
            }
            let evidence =
                String(format: "explaind %.3f vs best baseline %@ %.3f (", s.explaind.mean, best.name, best.mean)
                + present.map { String(format: "%@ %.3f", $0.name, $0.mean) }.joined(separator: ", ") + ")"
            if let small = s.tooSmall { return (nil, evidence + "; too small to decide: " + small) }
            return (s.explaind.mean >= best.mean - 0.05, evidence)
        }
        return [random, baselines] + ldsClaimsAgainstTRAKAndIF(r)
    }

    /// The LDS claims restated against the data-attribution baselines when the run has them (docs/METHOD.md §17):
    /// - one model each: `explaind` ≥ `trak-single` − 0.05;
    /// - K models each: `explaind-ensemble` ≥ `trak` − 0.05 (the same K training runs);
    /// - `explaind` ≥ `influence` − 0.05.
    /// Each is undecided below `ldsMinimumSubsets` × `ldsMinimumTests`, like the claims above.
    static func ldsClaimsAgainstTRAKAndIF(_ r: ReportReader) -> [Claim] {
        guard let table = try? ldsTable(r) else { return [] }
        let names = Set(table.map(\.name))
        func entry(_ name: String) throws -> LDSEntry {
            guard let e = table.first(where: { $0.name == name }) else {
                throw ReportMissing(description: "no method '\(name)'")
            }
            return e
        }
        func claim(_ statement: String, ours: String, theirs: String, note: String = "") -> Claim {
            ReportRows.claim(statement) {
                let a = try entry(ours), b = try entry(theirs)
                let M = try r.array("subsets/indices", rank: 2).shape[0], n = try r.vector("test/indices").count
                let evidence =
                    String(
                        format: "%@ %.3f [%.3f, %.3f] vs %@ %.3f [%.3f, %.3f]", a.name, a.mean, a.lower, a.upper,
                        b.name, b.mean, b.lower, b.upper) + note
                if M < ldsMinimumSubsets || n < ldsMinimumTests {
                    return (
                        nil,
                        evidence
                            + "; too small to decide: \(M) subsets × \(n) test examples (needs ≥ \(ldsMinimumSubsets) × \(ldsMinimumTests))"
                    )
                }
                return (a.mean >= b.mean - 0.05, evidence)
            }
        }
        let K = (try? r.int("ensemble_size")) ?? 1
        let k = (try? r.int("trak_projection_dim")).map { "k = \($0)" } ?? "k unknown"
        var claims: [Claim] = []
        if names.contains("trak-single") {
            claims.append(
                claim(
                    "ExPLAIND data attribution is comparable to TRAK on the same single model (LDS within 0.05 of trak-single, or above)",
                    ours: "explaind", theirs: "trak-single", note: " (TRAK \(k))"))
        }
        if names.contains("trak") && names.contains("explaind-ensemble") {
            claims.append(
                claim(
                    "ExPLAIND-ensemble is comparable to TRAK's ensemble of the same K models (LDS within 0.05 of trak, or above)",
                    ours: "explaind-ensemble", theirs: "trak", note: " (K = \(K), TRAK \(k))"))
        }
        if names.contains("influence") {
            claims.append(
                claim(
                    "ExPLAIND data attribution is comparable to influence functions (LDS within 0.05 of influence, or above)",
                    ours: "explaind", theirs: "influence"))
        }
        return claims
    }
}
