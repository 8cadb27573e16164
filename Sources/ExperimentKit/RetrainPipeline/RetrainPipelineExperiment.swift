import Artifacts
import Foundation

/// `retrain-pipeline` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §16).
public enum RetrainPipelineExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.retrainPipeline
    public static var figures: [FigureRecipe] { RetrainPipelineFigures.all }

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
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows = [
            ReportRows.row("grid") {
                "\(try r.vector("start_steps").count) start steps × \(try r.vector("seeds").count) seeds, ≤ \(try r.int("max_epochs")) epochs"
            }
        ]
        rows += ReportRows.rows("configurations") {
            let configurations = try r.json("configurations", as: [String].self), starts = try r.vector("start_steps")
            return configurations.indices.flatMap { g in
                starts.indices.map { s in
                    ReportRows.row("\(configurations[g]) re-initialised, from step \(Int(starts[s]))") {
                        try retrainRow(r, configuration: g, start: s)
                    }
                }
            }
        }
        return ReportSummary(rows: rows, claims: [retrainClaim(r)])
    }

    /// Per seed: the accuracy at epoch `epoch` (−1: the last) of configuration `g` from start step `s`.
    static func retrainSeeds(
        _ r: ReportReader, _ path: String, configuration g: Int, start s: Int, epoch: Int
    ) throws -> [Double] {
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
        var text = String(
            format: "validation %.3f → %@ (train %@)", ReportStats.mean(initial), ReportStats.pm(final),
            ReportStats.pm(train))
        if let epochs = try? r.array("epochs_trained", rank: 3), g < epochs.shape[0], s < epochs.shape[1] {
            let (S, R) = (epochs.shape[1], epochs.shape[2])
            text +=
                "; epochs " + (0..<R).map { String(Int(epochs.values[(g * S + s) * R + $0])) }.joined(separator: ", ")
                + ((try? r.int("max_epochs")).map { " (cap \($0))" } ?? "")
        }
        return text
    }

    /// The alignment claim (rule on `summarize`).
    static func retrainClaim(_ r: ReportReader) -> Claim {
        ReportRows.claim(
            "the outer layers (embedding, linear2, decoder) of late steps align around a re-learned attention+linear1 pipeline"
        ) {
            let configurations = try r.json("configurations", as: [String].self), starts = try r.vector("start_steps")
            guard let g = configurations.firstIndex(of: "att.+lin1") else {
                return (nil, "the run has no att.+lin1 configuration")
            }
            guard let late = starts.indices.max(by: { starts[$0] < starts[$1] }),
                let early = starts.indices.min(by: { starts[$0] < starts[$1] })
            else {
                return (nil, "no start steps")
            }
            let lateAcc = ReportStats.mean(
                try retrainSeeds(r, "validation_accuracy", configuration: g, start: late, epoch: -1))
            let earlyAcc = ReportStats.mean(
                try retrainSeeds(r, "validation_accuracy", configuration: g, start: early, epoch: -1))
            let epochs = try r.int("max_epochs")
            var evidence = String(
                format: "att.+lin1 re-learned to %.3f from step %d, %.3f from step %d (≤ %d epochs)", lateAcc,
                Int(starts[late]), earlyAcc, Int(starts[early]), epochs)
            if let c = configurations.firstIndex(of: "emb.+lin2+dec."),
                let control = try? retrainSeeds(r, "validation_accuracy", configuration: c, start: late, epoch: -1)
            {
                evidence += String(
                    format: "; control emb.+lin2+dec. from step %d: %.3f", Int(starts[late]), ReportStats.mean(control))
            }
            if Set(starts).count < 2 { return (nil, "one start step only; " + evidence) }
            if epochs < retrainMinimumEpochs { return (nil, "only \(epochs) epochs of retraining; " + evidence) }
            return (lateAcc >= 0.9 && earlyAcc < 0.5, evidence)
        }
    }
}
