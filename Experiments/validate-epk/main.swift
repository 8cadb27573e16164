import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Replays a training history as an exact path kernel.
struct ValidateEPK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-epk",
        abstract:
            "Replay a history as an exact path kernel: epk.h5 with every attribution, validation statistics and figures.",
        subcommands: [Run.self, Merge.self], defaultSubcommand: Run.self)

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the EPK (optionally one test-point or step-range shard).")
        @OptionGroup var options: CommonOptions
        @Option(help: "History to replay (overrides the config's `history`).") var history: String?
        @Option(help: "Compute only test-point shard i of n (e.g. 2/4); merge the shard files afterwards.") var shard:
            String?
        @Option(help: "Compute only step-range shard i of n (needs data_attribution false); merge sums the shards.")
        var stepShard: String?

        func validate() throws {
            if let s = shard, Shard(s) == nil { throw ValidationError("--shard expects i/n with 1 ≤ i ≤ n, e.g. 2/4") }
            if let s = stepShard, Shard(s) == nil {
                throw ValidationError("--step-shard expects i/n with 1 ≤ i ≤ n, e.g. 2/4")
            }
        }

        func run() throws {
            options.apply()
            try runReportingErrors {
                if options.reference != nil, shard != nil || stepShard != nil {
                    throw ArtifactError(
                        .invalidArgument,
                        "--reference with a shard: store the reference of the merged file (`validate-epk merge --reference DIR`)"
                    )
                }
                let result = try EPKDriver.run(
                    configPath: options.config, historyOverride: history, outputDirectory: options.out,
                    dataDirectory: options.data, shard: shard.flatMap(Shard.init),
                    stepShard: stepShard.flatMap(Shard.init))
                try options.storeReference(of: result.path)
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge shard files (test-point or step shards) into one epk.h5.")
        @Option(help: "Merged output file.") var out: String
        @Argument(help: "Shard files written by `validate-epk --shard`.") var shards: [String]
        @Option(help: "Also store the merged file's slim reference companion and figures in this folder.")
        var reference: String?
        func run() throws {
            try runReportingErrors {
                let stats = try EPKDriver.merge(shardPaths: shards, output: out)
                print(
                    String(
                        format: "merged %d shards → %@: mean |EPK − model| %.3g, argmax agreement %.4f",
                        shards.count, out, stats.meanAbsoluteError, stats.argmaxAgreement))
                if let reference {
                    print("reference companion → \(try ReferenceCompanion.write(artifact: out, directory: reference))")
                }
            }
        }
    }
}
ensureBestBLASKernels()
ValidateEPK.main()
