import ArgumentParser
import ExperimentKit

/// One-shot pruning of the CIFAR-2 ResNet-9 by ExPLAIND component scores vs magnitude, Taylor and random (docs/METHOD.md §15).
///
/// The EPK importance scores may be split over runs: `--score-shard i/n` computes the scores of pool slice i of n only
/// (`<out>/scores-shard-i-of-n.h5`), and `--scores DIR` runs the evaluation on the sum of the shards in DIR.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Prune a CIFAR-2 model by EPK parameter attribution and baselines; writes prune.h5 and figures.")
    @OptionGroup var options: CommonOptions
    @Option(help: "History to replay (overrides the config's `history`).") var history: String?
    @Option(
        help:
            "Compute only the EPK importance scores of scoring-pool shard i of n (e.g. 2/4) into <out>/scores-shard-i-of-n.h5; no pruning is evaluated."
    ) var scoreShard: String?
    @Option(help: "Prune by the sum of the score shards in this folder (all n shards of one --score-shard split).")
    var scores: String?

    func validate() throws {
        if let s = scoreShard, Shard(s) == nil {
            throw ValidationError("--score-shard expects i/n with 1 ≤ i ≤ n, e.g. 2/4")
        }
        if scoreShard != nil && scores != nil {
            throw ValidationError("--score-shard computes one shard and --scores merges them: pass one of the two")
        }
    }

    func run() throws {
        options.apply()
        try runReportingErrors {
            if let shard = scoreShard.flatMap(Shard.init) {
                let path = try PruneDriver.scoreShard(
                    configPath: options.config, historyOverride: history, outputDirectory: options.out,
                    dataDirectory: options.data, shard: shard)
                print("prune score shard → \(path)")
                return
            }
            let s = try PruneDriver.run(
                configPath: options.config, historyOverride: history, outputDirectory: options.out,
                dataDirectory: options.data, scoresDirectory: scores)
            print("prune → \(s.path)")
            try options.storeReference(of: s.path)
        }
    }
}
ensureBestBLASKernels()
Prune.main()
