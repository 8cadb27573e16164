import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Trains the character-level TransformerLM with a sparse history for the step explainer.
struct TrainLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-lm",
        abstract:
            "Train a small decoder-only transformer on KJV characters; writes lm-history.h5 (sparse), lm-metrics.h5 and the loss figure."
    )
    @OptionGroup var options: CommonOptions

    func run() throws {
        options.apply()
        try runReportingErrors {
            let history = try LMDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            try options.storeReference(of: (history as NSString).deletingLastPathComponent + "/lm-metrics.h5")
        }
    }
}
ensureBestBLASKernels()
TrainLM.main()
