import ArgumentParser
import ExperimentKit

/// `component-attribution`: see `ComponentAttributionDriver` (Sources/ExperimentKit/Grokking/).
struct ComponentAttribution: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component-attribution",
        abstract:
            "Per layer group and interval: cosine similarity of parameter-wise attributions, kernel-vs-weight-decay balance, Fourier checks and PCA."
    )
    @OptionGroup var options: CommonOptions

    func run() throws {
        options.apply()
        try runReportingErrors {
            let path = try ComponentAttributionDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            print("wrote \(path)")
            try options.storeReference(of: path)
        }
    }
}
ensureBestBLASKernels()
ComponentAttribution.main()
