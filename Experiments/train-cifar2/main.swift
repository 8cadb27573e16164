import ArgumentParser
import ExperimentKit

/// Trains the cifar2 model with history: writes history.h5, metrics.h5 and training-curve PNGs.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-cifar2",
        abstract: "Train the cifar2 model and record its full training history.")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Continue a killed run from its last resume point (history.h5.partial).")
    var resume = false
    func run() throws { try TrainCommand.run(experiment: "cifar2", options: options, resume: resume) }
}
ensureBestBLASKernels()
Train.main()
