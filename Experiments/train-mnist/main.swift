import ArgumentParser
import ExperimentKit

/// Trains the mnist model with history: writes history.h5, metrics.h5 and training-curve PNGs.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-mnist",
        abstract: "Train the mnist model and record its full training history.")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Continue a killed run from its last resume point (history.h5.partial).")
    var resume = false
    func run() throws { try TrainCommand.run(experiment: "mnist", options: options, resume: resume) }
}
ensureBestBLASKernels()
Train.main()
