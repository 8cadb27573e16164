import Artifacts
import Foundation

/// `component-attribution` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §16).
public enum ComponentAttributionExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.componentAttribution
    public static var figures: [FigureRecipe] { ComponentAttributionFigures.all }

    /// The companion keeps the per-interval cosine matrices only at the intervals the figures draw: every figure
    /// step's interval for validation × validation, the last one for validation × training (dataset attribute
    /// `kept_intervals`); it draws every matrix from at most `referencePoints` evenly spaced points per axis, in the
    /// stored a+b order (attributes `kept_rows`, `kept_columns`), and leaves out the whole-history validation × training
    /// matrices, which nothing draws. The 2-D PCA coordinates keep the intervals their figures draw: every figure step
    /// for linear2, the last one for the other groups.
    public static var referenceRules: ReferenceRules {
        let points = "at most \(referencePoints) evenly spaced points per axis"
        return ReferenceRules(
            omit: ["cosine/*/train_val_total"],
            reductions: [
                .init(
                    pattern: "cosine/*/val", meaning: "the intervals of the figure steps, \(points)",
                    reduce: { try keepBlocks($0, $1, $2, $3, intervals: .figureSteps) }),
                .init(
                    pattern: "cosine/*/train_val", meaning: "the interval of the last figure step, \(points)",
                    reduce: { try keepBlocks($0, $1, $2, $3, intervals: .lastFigureStep) }),
                .init(
                    pattern: "cosine/*/val_total", meaning: points,
                    reduce: { try keepBlocks($0, $1, $2, $3, intervals: .none) }),
                .init(
                    pattern: "pca/*",
                    meaning:
                        "the intervals the PCA figures draw (every figure step for linear2, the last for the other groups); pca/explained whole",
                    reduce: keepPCAIntervals),
            ])
    }

    /// The PCA coordinates (I, n, 2) of the intervals the figures draw (attribute `kept_intervals`); `pca/explained`
    /// is copied whole.
    @Sendable static func keepPCAIntervals(
        _ source: HDF5File, _ path: String, _ group: HDF5Group, _ name: String
    ) throws -> HDF5Dataset {
        let dataset = try source.root.dataset(path)
        guard name != "explained" else { return try group.copyDataset(dataset, as: name) }
        let shape = try dataset.shape, values = try dataset.read(as: Double.self)
        let kept = try (name == "linear2" ? KeptIntervals.figureSteps : .lastFigureStep).indices(source) ?? []
        let block = shape.dropFirst().reduce(1, *)
        let out = kept.flatMap { values[($0 * block)..<(($0 + 1) * block)] }
        let d = try group.write(name, out, shape: [kept.count] + Array(shape.dropFirst()), compressed: true)
        try d.setAttribute("kept_intervals", kept)
        return d
    }

    /// Points per axis a reference companion keeps of a cosine matrix (a 480-pixel heatmap draws no more).
    static let referencePoints = 250

    enum KeptIntervals {
        case figureSteps, lastFigureStep, none

        /// The interval indices kept of an (I, ...) dataset of `source`; nil for a dataset without an interval axis.
        func indices(_ source: HDF5File) throws -> [Int]? {
            let shown = try ComponentAttributionFigures.info(source).figureIndices
            switch self {
            case .figureSteps: return shown
            case .lastFigureStep: return Array(shown.suffix(1))
            case .none: return nil
            }
        }
    }

    /// The kept intervals (for an (I, r, c) dataset) and the kept rows and columns of a cosine dataset.
    static func keepBlocks(
        _ source: HDF5File, _ path: String, _ group: HDF5Group, _ name: String, intervals: KeptIntervals
    ) throws -> HDF5Dataset {
        let (values, shape) = try source.root.read(path, as: Float.self)
        let (r, c) = (shape[shape.count - 2], shape[shape.count - 1])
        func spaced(_ n: Int) -> [Int] {
            let step = (n + referencePoints - 1) / referencePoints
            return Array(Swift.stride(from: 0, to: n, by: max(1, step)))
        }
        let rows = spaced(r), columns = spaced(c)
        let kept = try intervals.indices(source)
        var out: [Float] = []
        for k in kept ?? [0] {
            for i in rows { for j in columns { out.append(values[(k * r + i) * c + j]) } }
        }
        let d = try group.write(
            name, out, shape: (kept.map { [$0.count] } ?? []) + [rows.count, columns.count], compressed: true)
        if let kept { try d.setAttribute("kept_intervals", kept) }
        try d.setAttribute("kept_rows", rows)
        try d.setAttribute("kept_columns", columns)
        return d
    }

    /// Smallest validation-point count for a verdict on the similarity structure.
    static let componentMinimumPoints = 50
    /// Smallest share of the final embedding's Fourier power in its key frequencies for them to mean anything (a
    /// model without the Fourier circuit spreads its power over all 56 frequencies, ≈ 9 % in any 5).
    static let componentMinimumKeyPower = 0.5
    /// Smallest key-frequency correlation of the whole-history linear2 cosine matrix for the claim.
    static let componentMinimumCorrelation = 0.1

    /// `component-attribution` (docs/METHOD.md §16). Rows: points and intervals, the key frequencies of the final
    /// embedding (with their share of its Fourier power) and decoder, the whole-history key-frequency correlation of
    /// each group's cosine matrix, linear2's dominant frequencies (per-frequency least-squares R²) and its
    /// key-frequency correlation over the intervals, the EPK replication error, and the kernel/regularisation balance.
    ///
    /// Claim (docs/METHOD.md §16: the Fourier analysis of the linear2 attribution similarity; Nanda's key frequencies are
    /// taken as the run's own, the top Fourier components of the final embedding): the whole-history linear2 cosine
    /// matrix is structured by the key frequencies, i.e. its correlation with the key-frequency reference
    /// Σ_f cos(2π(s_i − s_j)/p_f) is ≥ 0.1 **and** at least 2 of the 3 frequencies that best fit it on their own are
    /// key frequencies (≈ 2 % by chance for 5 of 56). Undecided with fewer than 50 validation points, or when the key
    /// frequencies hold less than half of the final embedding's Fourier power (no Fourier circuit yet, as in a
    /// quick run that never groks).
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        let rows: [(String, String)] = [
            ReportRows.row("points and intervals") {
                let starts = try r.vector("snapshots/start")
                return
                    "\(try r.vector("keys/val_sum").count) validation + \(try r.vector("keys/train_sum").count) training points; \(starts.count) intervals of \(try r.int("snapshot_interval")) steps (T = \(try r.int("step_count")))"
            },
            ReportRows.row("key frequencies (final embedding)") {
                let k = try r.ints("key_frequencies", of: "fourier")
                return k.map(String.init).joined(separator: ", ")
                    + String(format: " (%.1f %% of its Fourier power)", 100 * (try keyPowerShare(r)))
            },
            ReportRows.row("key frequencies (final decoder)") {
                try r.ints("decoder_key_frequencies", of: "fourier").map(String.init).joined(separator: ", ")
            },
            ReportRows.row("whole-history key-frequency correlation by group") {
                let groups = try r.json("groups", as: [String].self), c = try r.vector("fourier/total_key_correlation")
                guard c.count == groups.count else {
                    throw ReportMissing(
                        description: "/fourier/total_key_correlation has \(c.count) groups, expected \(groups.count)")
                }
                return zip(groups, c).map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", ")
            },
            ReportRows.row("linear2 best-fitting frequencies, whole history (R²)") {
                try linear2TopFrequencies(r, count: 3).map { String(format: "%d (%.3f)", $0.frequency, $0.r2) }.joined(
                    separator: ", ")
            },
            ReportRows.row("linear2 key-frequency correlation per interval") { try linear2OverIntervals(r) },
            ReportRows.row("EPK replication, mean step error per interval") {
                let e = try r.vector("replication/mean_step_error")
                return String(format: "median %.2g, max %.2g", ReportStats.median(e), e.max() ?? .nan)
            },
            ReportRows.row("kernel / regularisation L1 (model), first → last interval") {
                let k = try r.array("balance/kernel_l1", rank: 2), g = try r.array("balance/reg_l1", rank: 2)
                let G = k.shape[1], I = k.shape[0]
                guard I > 0, G > 0, g.shape == k.shape else {
                    throw ReportMissing(description: "/balance is empty or inconsistent")
                }
                return String(
                    format: "%.3g → %.3g", k.values[G - 1] / g.values[G - 1],
                    k.values[(I - 1) * G + G - 1] / g.values[(I - 1) * G + G - 1])
            },
        ]
        return ReportSummary(rows: rows, claims: [componentClaim(r)])
    }

    /// Index of the linear2 group in the root attribute `groups`.
    static func linear2Index(_ r: ReportReader) throws -> Int {
        guard let i = try r.json("groups", as: [String].self).firstIndex(of: "linear2") else {
            throw ReportMissing(description: "no group 'linear2'")
        }
        return i
    }

    /// Share of the final embedding's Fourier power (`/fourier/embedding_power`, frequency k at index k − 1) in
    /// the key frequencies.
    static func keyPowerShare(_ r: ReportReader) throws -> Double {
        let power = try r.vector("fourier/embedding_power"), keys = try r.ints("key_frequencies", of: "fourier")
        let total = power.reduce(0, +)
        guard total > 0 else { return 0 }
        return keys.filter { $0 >= 1 && $0 <= power.count }.map { power[$0 - 1] }.reduce(0, +) / total
    }

    /// The `count` frequencies whose single cos/sin fit explains most of the whole-history linear2 cosine matrix.
    static func linear2TopFrequencies(_ r: ReportReader, count: Int) throws -> [(frequency: Int, r2: Double)] {
        let fits = try r.array("fourier/total_frequency_r2", rank: 2), l2 = try linear2Index(r)
        let F = fits.shape[1]
        guard l2 < fits.shape[0] else {
            throw ReportMissing(description: "/fourier/total_frequency_r2 has no row for linear2")
        }
        let row = Array(fits.values[(l2 * F)..<((l2 + 1) * F)])
        return row.indices.sorted { row[$0] > row[$1] }.prefix(count).map { ($0 + 1, row[$0]) }
    }

    /// "0.123 (steps 0–50) → 0.204 (steps 950–957); max 0.218 (steps 300–350)".
    static func linear2OverIntervals(_ r: ReportReader) throws -> String {
        let c = try r.array("fourier/key_correlation", rank: 2), l2 = try linear2Index(r)
        let start = try r.vector("snapshots/start"), end = try r.vector("snapshots/end")
        let I = c.shape[0], G = c.shape[1]
        guard I > 0, l2 < G, start.count == I, end.count == I else {
            throw ReportMissing(description: "/fourier/key_correlation does not match the intervals")
        }
        let v = (0..<I).map { c.values[$0 * G + l2] }
        let top = v.indices.max { v[$0] < v[$1] }!
        func at(_ i: Int) -> String { String(format: "%.3f (steps %d–%d)", v[i], Int(start[i]), Int(end[i])) }
        return "\(at(0)) → \(at(I - 1)); max \(at(top))"
    }

    /// The linear2 key-frequency claim (rule on `summarize`).
    static func componentClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim("the linear2 attribution similarity is structured by the key frequencies of the grokked model")
        {
            let keys = try r.ints("key_frequencies", of: "fourier"), share = try keyPowerShare(r)
            let all = try r.vector("fourier/total_key_correlation"), l2 = try linear2Index(r)
            guard l2 < all.count else {
                throw ReportMissing(description: "/fourier/total_key_correlation has no entry for linear2")
            }
            let correlation = all[l2]
            let top = try linear2TopFrequencies(r, count: 3).map(\.frequency)
            let hits = top.filter { keys.contains($0) }.count
            let evidence = String(
                format:
                    "linear2 key-frequency correlation %.3f; best-fitting frequencies %@, %d of them key (%@); key frequencies hold %.1f %% of the embedding's Fourier power",
                correlation, top.map(String.init).joined(separator: ", "), hits,
                keys.map(String.init).joined(separator: ", "), 100 * share)
            let points = try r.vector("keys/val_sum").count
            if points < componentMinimumPoints { return (nil, "only \(points) validation points; " + evidence) }
            if share < componentMinimumKeyPower {
                return (nil, "no Fourier circuit in the final embedding; " + evidence)
            }
            return (correlation >= componentMinimumCorrelation && hits >= 2, evidence)
        }
    }
}
