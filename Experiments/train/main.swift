import ArgumentParser
import ExperimentKit

/// Trains any config with history, whatever its experiment: the entry point of `"experiment": "custom"` configs (a
/// `"model"` spec on HDF5 data); the paper experiments also have their own `train-<experiment>` executables.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the config's model on its data and record the full training history.")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Continue a killed run from its last resume point (history.h5.partial).")
    var resume = false
    func run() throws { try TrainCommand.run(experiment: nil, options: options, resume: resume) }
}
ensureBestBLASKernels()
Train.main()
