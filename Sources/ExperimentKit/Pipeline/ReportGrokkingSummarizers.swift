import Artifacts
import Foundation

/// Report summaries of the grokking analyses on the modulo history (docs/METHOD.md §16): component attribution,
/// swap-aligned and retrain-pipeline.
extension ReportWriter {
    // MARK: - component-attribution (docs/METHOD.md §16)

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
    @Sendable static func summarizeComponentAttribution(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        let rows: [(String, String)] = [
            ReportRows.row("points and intervals") {
                let starts = try r.vector("snapshots/start")
                return "\(try r.vector("keys/val_sum").count) validation + \(try r.vector("keys/train_sum").count) training points; \(starts.count) intervals of \(try r.int("snapshot_interval")) steps (T = \(try r.int("step_count")))"
            },
            ReportRows.row("key frequencies (final embedding)") {
                let k = try r.ints("key_frequencies", of: "fourier")
                return k.map(String.init).joined(separator: ", ") + String(format: " (%.1f %% of its Fourier power)", 100 * (try keyPowerShare(r)))
            },
            ReportRows.row("key frequencies (final decoder)") { try r.ints("decoder_key_frequencies", of: "fourier").map(String.init).joined(separator: ", ") },
            ReportRows.row("whole-history key-frequency correlation by group") {
                let groups = try r.json("groups", as: [String].self), c = try r.vector("fourier/total_key_correlation")
                guard c.count == groups.count else { throw ReportMissing(description: "/fourier/total_key_correlation has \(c.count) groups, expected \(groups.count)") }
                return zip(groups, c).map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", ")
            },
            ReportRows.row("linear2 best-fitting frequencies, whole history (R²)") {
                try linear2TopFrequencies(r, count: 3).map { String(format: "%d (%.3f)", $0.frequency, $0.r2) }.joined(separator: ", ")
            },
            ReportRows.row("linear2 key-frequency correlation per interval") { try linear2OverIntervals(r) },
            ReportRows.row("EPK replication, mean step error per interval") {
                let e = try r.vector("replication/mean_step_error")
                return String(format: "median %.2g, max %.2g", ReportStats.median(e), e.max() ?? .nan)
            },
            ReportRows.row("kernel / regularisation L1 (model), first → last interval") {
                let k = try r.array("balance/kernel_l1", rank: 2), g = try r.array("balance/reg_l1", rank: 2)
                let G = k.shape[1], I = k.shape[0]
                guard I > 0, G > 0, g.shape == k.shape else { throw ReportMissing(description: "/balance is empty or inconsistent") }
                return String(format: "%.3g → %.3g", k.values[G - 1] / g.values[G - 1], k.values[(I - 1) * G + G - 1] / g.values[(I - 1) * G + G - 1])
            },
        ]
        return ReportSummary(rows: rows, claims: [componentClaim(r)])
    }

    /// Index of the linear2 group in the root attribute `groups`.
    static func linear2Index(_ r: ReportReader) throws -> Int {
        guard let i = try r.json("groups", as: [String].self).firstIndex(of: "linear2") else { throw ReportMissing(description: "no group 'linear2'") }
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
        guard l2 < fits.shape[0] else { throw ReportMissing(description: "/fourier/total_frequency_r2 has no row for linear2") }
        let row = Array(fits.values[(l2 * F)..<((l2 + 1) * F)])
        return row.indices.sorted { row[$0] > row[$1] }.prefix(count).map { ($0 + 1, row[$0]) }
    }

    /// "0.123 (steps 0–50) → 0.204 (steps 950–957); max 0.218 (steps 300–350)".
    static func linear2OverIntervals(_ r: ReportReader) throws -> String {
        let c = try r.array("fourier/key_correlation", rank: 2), l2 = try linear2Index(r)
        let start = try r.vector("snapshots/start"), end = try r.vector("snapshots/end")
        let I = c.shape[0], G = c.shape[1]
        guard I > 0, l2 < G, start.count == I, end.count == I else { throw ReportMissing(description: "/fourier/key_correlation does not match the intervals") }
        let v = (0..<I).map { c.values[$0 * G + l2] }
        let top = v.indices.max { v[$0] < v[$1] }!
        func at(_ i: Int) -> String { String(format: "%.3f (steps %d–%d)", v[i], Int(start[i]), Int(end[i])) }
        return "\(at(0)) → \(at(I - 1)); max \(at(top))"
    }

    /// The linear2 key-frequency claim (rule on `summarizeComponentAttribution`).
    static func componentClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim("the linear2 attribution similarity is structured by the key frequencies of the grokked model") {
            let keys = try r.ints("key_frequencies", of: "fourier"), share = try keyPowerShare(r)
            let all = try r.vector("fourier/total_key_correlation"), l2 = try linear2Index(r)
            guard l2 < all.count else { throw ReportMissing(description: "/fourier/total_key_correlation has no entry for linear2") }
            let correlation = all[l2]
            let top = try linear2TopFrequencies(r, count: 3).map(\.frequency)
            let hits = top.filter { keys.contains($0) }.count
            let evidence = String(format: "linear2 key-frequency correlation %.3f; best-fitting frequencies %@, %d of them key (%@); key frequencies hold %.1f %% of the embedding's Fourier power",
                                  correlation, top.map(String.init).joined(separator: ", "), hits, keys.map(String.init).joined(separator: ", "), 100 * share)
            let points = try r.vector("keys/val_sum").count
            if points < componentMinimumPoints { return (nil, "only \(points) validation points; " + evidence) }
            if share < componentMinimumKeyPower { return (nil, "no Fourier circuit in the final embedding; " + evidence) }
            return (correlation >= componentMinimumCorrelation && hits >= 2, evidence)
        }
    }

    // MARK: - swap-aligned (docs/METHOD.md §16)

    /// Accuracy counted as "recovered" by a spliced or step-i model.
    static let swapRecovered = 0.9

    /// `swap-aligned` (docs/METHOD.md §16). Rows: the final model's accuracy, the step grid, the first step at which the
    /// step-i model reaches 90 %, and per keep-list the first step at which the spliced model does, its largest
    /// accuracy gain over the step-i model, and its accuracy at the first step.
    ///
    /// Claims, on the "Emb.+Lin2+Dec." keep-list (the paper's outer layers; the first list otherwise); both are
    /// undecided unless the final model reaches ≥ 99 % (a run that did not grok has no aligned outer layers) and
    /// the grid has ≥ 10 steps:
    /// - "recovers accuracy only late in training": the spliced accuracy stays < 0.5 at every step of the first
    ///   half of training and reaches 90 % at some step;
    /// - docs/METHOD.md §16 interpretation ("final outer layers placed around earlier pipelines reveal when the pipeline
    ///   became usable"): the spliced model reaches 90 % at an earlier grid step than the step-i model itself.
    @Sendable static func summarizeSwapAligned(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows: [(String, String)] = [
            ReportRows.row("final model validation accuracy") { String(format: "%.4f", try r.double("final_accuracy")) },
            ReportRows.row("steps i") {
                let s = try r.vector("steps")
                guard let first = s.first, let last = s.last else { return "none" }
                return "\(s.count) steps, \(Int(first)) … \(Int(last))"
            },
            ReportRows.row("step-i model reaches 90 %") {
                let s = try r.vector("steps"), a = try r.vector("step_accuracy")
                return firstStep(steps: s, accuracy: a, atLeast: swapRecovered).map { "at step \($0)" } ?? "never"
            },
        ]
        rows += ReportRows.rows("keep-lists") {
            let variants = try r.json("variants", as: [String].self)
            return variants.indices.map { v in ReportRows.row("kept from final: \(variants[v])") { try swapVariantRow(r, variant: v) } }
        }
        return ReportSummary(rows: rows, claims: swapClaims(r))
    }

    /// The first grid step with accuracy ≥ `threshold`.
    static func firstStep(steps: [Double], accuracy: [Double], atLeast threshold: Double) -> Int? {
        zip(steps, accuracy).first { $0.1 >= threshold }.map { Int($0.0) }
    }

    /// Spliced accuracy of keep-list `v` per step, with the steps and the step-i accuracy.
    static func swapSeries(_ r: ReportReader, variant v: Int) throws -> (steps: [Double], spliced: [Double], step: [Double]) {
        let steps = try r.vector("steps"), step = try r.vector("step_accuracy"), spliced = try r.array("spliced_accuracy", rank: 2)
        let S = steps.count
        guard spliced.shape[1] == S, step.count == S, v < spliced.shape[0] else { throw ReportMissing(description: "/spliced_accuracy has shape \(spliced.shape) for \(S) steps") }
        return (steps, Array(spliced.values[(v * S)..<((v + 1) * S)]), step)
    }

    /// "90 % from step 850; largest gain +0.119 at step 650 (0.289 vs 0.170); 0.008 at step 0".
    static func swapVariantRow(_ r: ReportReader, variant v: Int) throws -> String {
        let s = try swapSeries(r, variant: v)
        guard !s.steps.isEmpty else { return "no steps" }
        let gain = s.steps.indices.max { s.spliced[$0] - s.step[$0] < s.spliced[$1] - s.step[$1] }!
        return (firstStep(steps: s.steps, accuracy: s.spliced, atLeast: swapRecovered).map { "90 % from step \($0)" } ?? "never 90 %")
            + String(format: "; largest gain over the step-i model %+.3f at step %d (%.3f vs %.3f); %.3f at step %d",
                     s.spliced[gain] - s.step[gain], Int(s.steps[gain]), s.spliced[gain], s.step[gain], s.spliced[0], Int(s.steps[0]))
    }

    /// The two swap claims (rules on `summarizeSwapAligned`).
    static func swapClaims(_ r: ReportReader) -> [Claim] {
        /// The outer-layer keep-list's series, its label, and why the run cannot decide (nil when it can).
        func setup() throws -> (label: String, series: (steps: [Double], spliced: [Double], step: [Double]), T: Double, undecided: String?) {
            let variants = try r.json("variants", as: [String].self)
            let v = variants.firstIndex(of: "Emb.+Lin2+Dec.") ?? 0
            guard v < variants.count else { throw ReportMissing(description: "no keep-lists") }
            let s = try swapSeries(r, variant: v), final = try r.double("final_accuracy")
            let T = (try? r.double("step_count")) ?? ((s.steps.last ?? 0) + 1)
            let undecided = final < 0.99 ? String(format: "the final model has %.3f validation accuracy (did not grok)", final)
                : s.steps.count < 10 ? "only \(s.steps.count) steps on the grid" : nil
            return (variants[v], s, T, undecided)
        }
        let late = ReportRows.claim("swapping in the final outer layers recovers accuracy only late in training") {
            let x = try setup()
            let early = x.series.steps.indices.filter { x.series.steps[$0] < x.T / 2 }
            let earlyMax = early.map { x.series.spliced[$0] }.max() ?? .nan
            let recovered = firstStep(steps: x.series.steps, accuracy: x.series.spliced, atLeast: swapRecovered)
            let evidence = String(format: "%@: at most %.3f before step %d (half of training), ", x.label, earlyMax, Int(x.T / 2))
                + (recovered.map { "90 % from step \($0)" } ?? "never 90 %")
            if let why = x.undecided { return (nil, why + "; " + evidence) }
            return (!early.isEmpty && earlyMax < 0.5 && recovered != nil, evidence)
        }
        let usable = ReportRows.claim("final outer layers around an earlier pipeline reveal it usable before the step-i model is accurate") {
            let x = try setup()
            let spliced = firstStep(steps: x.series.steps, accuracy: x.series.spliced, atLeast: swapRecovered)
            let own = firstStep(steps: x.series.steps, accuracy: x.series.step, atLeast: swapRecovered)
            let gain = x.series.steps.indices.max { x.series.spliced[$0] - x.series.step[$0] < x.series.spliced[$1] - x.series.step[$1] }
            func reach(_ step: Int?) -> String { step.map { "reaches 90 % at step \($0)" } ?? "never reaches 90 %" }
            let evidence = "\(x.label) \(reach(spliced)); the step-i model \(reach(own))"
                + (gain.map { String(format: "; largest gain %+.3f at step %d", x.series.spliced[$0] - x.series.step[$0], Int(x.series.steps[$0])) } ?? "")
            if let why = x.undecided { return (nil, why + "; " + evidence) }
            guard let a = spliced else { return (false, evidence) }
            return (own.map { a < $0 } ?? true, evidence)
        }
        return [late, usable]
    }

    // MARK: - retrain-pipeline (docs/METHOD.md §16)

    /// Fewest retraining epochs for a verdict (the paper-scale config trains up to 501).
    static let retrainMinimumEpochs = 100

    /// `retrain-pipeline` (docs/METHOD.md §16). Rows per configuration and start step: the validation accuracy at the start
    /// and after retraining, the final train accuracy (mean ± std over seeds), and the epochs each seed needed to
    /// reach 100 %/100 % (the cap when it did not).
    ///
    /// Claim (the paper's grokking finding, docs/METHOD.md §16, tested by retraining): "the outer layers (embedding, linear2, decoder) of late steps align
    /// around a re-learned attention+linear1 pipeline": with attention and linear1 re-initialised ("att.+lin1"), the
    /// latest start step retrains to a mean final validation accuracy ≥ 0.9 and the earliest one stays < 0.5.
    /// Undecided with fewer than 2 start steps or fewer than `retrainMinimumEpochs` epochs of retraining.
    @Sendable static func summarizeRetrainPipeline(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows = [ReportRows.row("grid") {
            "\(try r.vector("start_steps").count) start steps × \(try r.vector("seeds").count) seeds, ≤ \(try r.int("max_epochs")) epochs"
        }]
        rows += ReportRows.rows("configurations") {
            let configurations = try r.json("configurations", as: [String].self), starts = try r.vector("start_steps")
            return configurations.indices.flatMap { g in
                starts.indices.map { s in ReportRows.row("\(configurations[g]) re-initialised, from step \(Int(starts[s]))") { try retrainRow(r, configuration: g, start: s) } }
            }
        }
        return ReportSummary(rows: rows, claims: [retrainClaim(r)])
    }

    /// Per seed: the accuracy at epoch `epoch` (−1: the last) of configuration `g` from start step `s`.
    static func retrainSeeds(_ r: ReportReader, _ path: String, configuration g: Int, start s: Int, epoch: Int) throws -> [Double] {
        let a = try r.array(path, rank: 4)
        let (G, S, R, E1) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        guard g < G, s < S, E1 > 0 else { throw ReportMissing(description: "/\(path) has shape \(a.shape)") }
        let e = epoch < 0 ? E1 - 1 : min(epoch, E1 - 1)
        return (0..<R).map { a.values[((g * S + s) * R + $0) * E1 + e] }
    }

    /// "validation 0.010 → 1.000 ± 0.001 (train 1.000 ± 0.000); epochs 119, 150 (cap 150)".
    static func retrainRow(_ r: ReportReader, configuration g: Int, start s: Int) throws -> String {
        let initial = try retrainSeeds(r, "validation_accuracy", configuration: g, start: s, epoch: 0)
        let final = try retrainSeeds(r, "validation_accuracy", configuration: g, start: s, epoch: -1)
        let train = try retrainSeeds(r, "train_accuracy", configuration: g, start: s, epoch: -1)
        var text = String(format: "validation %.3f → %@ (train %@)", ReportStats.mean(initial), ReportStats.pm(final), ReportStats.pm(train))
        if let epochs = try? r.array("epochs_trained", rank: 3), g < epochs.shape[0], s < epochs.shape[1] {
            let (S, R) = (epochs.shape[1], epochs.shape[2])
            text += "; epochs " + (0..<R).map { String(Int(epochs.values[(g * S + s) * R + $0])) }.joined(separator: ", ")
                + ((try? r.int("max_epochs")).map { " (cap \($0))" } ?? "")
        }
        return text
    }

    /// The alignment claim (rule on `summarizeRetrainPipeline`).
    static func retrainClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim("the outer layers (embedding, linear2, decoder) of late steps align around a re-learned attention+linear1 pipeline") {
            let configurations = try r.json("configurations", as: [String].self), starts = try r.vector("start_steps")
            guard let g = configurations.firstIndex(of: "att.+lin1") else { return (nil, "the run has no att.+lin1 configuration") }
            guard let late = starts.indices.max(by: { starts[$0] < starts[$1] }), let early = starts.indices.min(by: { starts[$0] < starts[$1] }) else {
                return (nil, "no start steps")
            }
            let lateAcc = ReportStats.mean(try retrainSeeds(r, "validation_accuracy", configuration: g, start: late, epoch: -1))
            let earlyAcc = ReportStats.mean(try retrainSeeds(r, "validation_accuracy", configuration: g, start: early, epoch: -1))
            let epochs = try r.int("max_epochs")
            var evidence = String(format: "att.+lin1 re-learned to %.3f from step %d, %.3f from step %d (≤ %d epochs)", lateAcc, Int(starts[late]), earlyAcc, Int(starts[early]), epochs)
            if let c = configurations.firstIndex(of: "emb.+lin2+dec."), let control = try? retrainSeeds(r, "validation_accuracy", configuration: c, start: late, epoch: -1) {
                evidence += String(format: "; control emb.+lin2+dec. from step %d: %.3f", Int(starts[late]), ReportStats.mean(control))
            }
            if Set(starts).count < 2 { return (nil, "one start step only; " + evidence) }
            if epochs < retrainMinimumEpochs { return (nil, "only \(epochs) epochs of retraining; " + evidence) }
            return (lateAcc >= 0.9 && earlyAcc < 0.5, evidence)
        }
    }
}
