import ArgumentParser
import ExperimentKit

/// EPK replication error vs integration rule, points, early-step rule and storage precision (docs/METHOD.md §18).
struct Sensitivity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensitivity",
        abstract:
            "Measure EPK replication error for quadrature rules, point counts, the early rule and history precision.")
    @OptionGroup var options: CommonOptions

    func run() throws {
        options.apply()
        try runReportingErrors {
            let r = try SensitivityDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data)
            print("sensitivity → \(r.path)")
            try options.storeReference(of: r.path)
        }
    }
}
ensureBestBLASKernels()
Sensitivity.main()
