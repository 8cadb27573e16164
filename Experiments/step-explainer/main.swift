import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Decomposes evaluation-loss changes of training steps and windows by module (docs/METHOD.md §19).
struct StepExplainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step-explainer",
        abstract:
            "Explain ΔL_E of chosen steps/windows of an LM or classifier history by module; writes step-explainer.h5 and figures."
    )
    @OptionGroup var options: CommonOptions
    @Option(help: "History to explain (overrides the config's `history`).") var history: String?

    func run() throws {
        options.apply()
        try runReportingErrors {
            let path = try StepExplainerDriver.run(
                configPath: options.config, historyOverride: history, outputDirectory: options.out,
                dataDirectory: options.data)
            try options.storeReference(of: path)
        }
    }
}
ensureBestBLASKernels()
StepExplainerCommand.main()
