import ArgumentParser
import ExperimentKit

/// Linear datamodeling score of ExPLAIND and baselines (docs/METHOD.md §17).
struct LDS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lds",
        abstract:
            "Retrain on random subsets and score attribution methods by their linear datamodeling score (lds.h5, figures)."
    )
    @OptionGroup var options: CommonOptions
    func run() throws {
        options.apply()
        try runReportingErrors {
            let outcome = try LDSDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            try options.storeReference(of: outcome.path)
        }
    }
}
ensureBestBLASKernels()
LDS.main()
