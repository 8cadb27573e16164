import ArgumentParser
import ExperimentKit

/// One-shot pruning of the CIFAR-2 ResNet-9 by ExPLAIND component scores vs magnitude, Taylor and random (docs/METHOD.md §15).
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Prune a CIFAR-2 model by EPK parameter attribution and baselines; writes prune.h5 and figures.")
    @OptionGroup var options: CommonOptions
    @Option(help: "History to replay (overrides the config's `history`).") var history: String?

    func run() throws {
        options.apply()
        try runReportingErrors {
            let s = try PruneDriver.run(
                configPath: options.config, historyOverride: history, outputDirectory: options.out,
                dataDirectory: options.data)
            print("prune → \(s.path)")
            try options.storeReference(of: s.path)
        }
    }
}
ensureBestBLASKernels()
Prune.main()
