import ArgumentParser
import ExperimentKit

/// `swap-aligned`: see `SwapAlignedDriver` (Sources/ExperimentKit/Grokking/).
struct SwapAligned: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap-aligned",
        abstract: "Final outer layers around earlier pipelines: accuracy and KL of spliced models per step.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        options.apply()
        try runReportingErrors {
            let path = try SwapAlignedDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            print("wrote \(path)")
            try options.storeReference(of: path)
        }
    }
}
ensureBestBLASKernels()
SwapAligned.main()
