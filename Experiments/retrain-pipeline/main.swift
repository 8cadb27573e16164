import ArgumentParser
import ExperimentKit

/// `retrain-pipeline`: see `RetrainPipelineDriver` (Sources/ExperimentKit/Grokking/).
struct RetrainPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrain-pipeline",
        abstract: "Keep components from a checkpoint, re-initialise the rest, retrain; accuracy per epoch.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        options.apply()
        try runReportingErrors {
            let path = try RetrainPipelineDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            print("wrote \(path)")
            try options.storeReference(of: path)
        }
    }
}
ensureBestBLASKernels()
RetrainPipeline.main()
