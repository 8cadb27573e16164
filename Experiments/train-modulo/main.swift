import ArgumentParser
import ExperimentKit

/// Trains the modulo model with history: writes history.h5, metrics.h5 and training-curve PNGs.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-modulo",
        abstract: "Train the modulo model and record its full training history.")
    @OptionGroup var options: CommonOptions
    @Flag(help: "Continue a killed run from its last resume point (history.h5.partial).")
    var resume = false
    func run() throws { try TrainCommand.run(experiment: "modulo", options: options, resume: resume) }
}
ensureBestBLASKernels()
Train.main()
