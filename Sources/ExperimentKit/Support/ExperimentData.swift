import Artifacts
import Data
import Foundation
import History
import NN
import Tensor

/// The datasets of one experiment: the training set the history indexes, and the held-out evaluation set
/// (modulo: validation split; CIFAR-2 and MNIST: test split).
public struct ExperimentData {
    public var train: LabeledDataset
    public var evaluation: LabeledDataset
    /// One line for logs and artifacts ("CIFAR-2: 1,052 of 10,000 training images (partial copy)").
    public var summary: String
    /// Where the training set came from and which rows of the source it holds (recorded in histories).
    public var source: DataSource

    /// Loads the data a training config asks for. `dataDirectory` is `--data` (else `$EXPLAIND_DATA`, else
    /// `../shared/data`, else `data/`).
    public static func load(
        _ config: TrainConfig, dataDirectory: String?, configPath: String = "config"
    ) throws -> ExperimentData {
        let d = config.data
        if d.kind == "hdf5" { return try HDF5Data.load(d, configPath: configPath) }
        switch config.experiment {
        case "modulo":
            let set = ModuloAdditionDataset(
                prime: d.prime ?? 113, seed: UInt64(d.splitSeed ?? 0),
                validationCount: d.validationCount ?? 2000, trainCount: d.trainCount ?? 4000)
            return ExperimentData(
                train: set.train, evaluation: set.validation,
                summary:
                    "modulo addition mod \(d.prime ?? 113): \(set.train.count) train / \(set.validation.count) validation pairs",
                source: DataSource(
                    kind: "modulo-generated", paths: [],
                    indexing:
                        "index into all pairs (a, b) with 0 ≤ b ≤ a < \(set.prime), a outer and b inner; the label is (a + b) mod \(set.prime)",
                    trainingIndices: set.trainIndices))
        case "cifar2":
            let location = DataLocation.resolve(explicit: dataDirectory)
            let train = try CIFAR10.loadCatDog(.train, directory: location.cifarDirectory)
            let test = try CIFAR10.loadCatDog(.test, directory: location.cifarDirectory)
            if d.requireComplete ?? false, !train.isComplete {
                throw ArtifactError(
                    .notFound,
                    "\(location.cifarDirectory): only \(train.imageCount) of \(train.expectedImageCount) cat/dog training images (a partial CIFAR-10 copy); this config needs the full set: run `make data` (needs internet) or set EXPLAIND_DATA, or use Configs/cifar2-local.json for the partial set"
                )
            }
            var trainSet = train.dataset, testSet = test.dataset
            let paths = CIFAR10.trainFileNames.compactMap {
                try? CompressedFile.locate($0, in: location.cifarDirectory)
            }
            if let n = d.trainLimit { trainSet = trainSet.prefix(min(n, trainSet.count)) }
            if let n = d.testLimit { testSet = testSet.prefix(min(n, testSet.count)) }
            return ExperimentData(
                train: trainSet, evaluation: testSet,
                summary:
                    "CIFAR-2 (cat/dog) from \(location.cifarDirectory): \(trainSet.count) of \(train.expectedImageCount) training, \(testSet.count) of \(test.expectedImageCount) test images\(train.isComplete ? "" : " (partial copy)")",
                source: DataSource(
                    kind: "cifar10-binary", paths: paths,
                    indexing:
                        "index into the cat (label 3 → 0) and dog (5 → 1) records of these files, in file and record order",
                    trainingIndices: Array(0..<trainSet.count)))
        case "mnist":
            let location = DataLocation.resolve(explicit: dataDirectory)
            let train = try MNIST.load(.train, directory: location.mnistDirectory)
            let test = try MNIST.load(.test, directory: location.mnistDirectory)
            let trainIndices = LabeledDataset.randomSubsetIndices(
                count: min(d.trainCount ?? 5000, train.count), of: train.count, seed: UInt64(d.subsetSeed ?? 0))
            let trainSet = train.subset(
                trainIndices, name: "\(train.name)-random\(trainIndices.count)-seed\(d.subsetSeed ?? 0)")
            let names = MNIST.fileNames(.train)
            let paths = [names.images, names.labels].compactMap {
                try? CompressedFile.locate($0, in: location.mnistDirectory)
            }
            let testSet = test.prefix(min(d.testCount ?? 500, test.count))
            return ExperimentData(
                train: trainSet, evaluation: testSet,
                summary:
                    "MNIST from \(location.mnistDirectory): \(trainSet.count) training (seeded subset), \(testSet.count) test images",
                source: DataSource(
                    kind: "mnist-idx", paths: paths,
                    indexing: "image index in these IDX files", trainingIndices: trainIndices))
        default:
            throw ArtifactError(.config, "unknown experiment '\(config.experiment)'")
        }
    }
}

/// Replays training batches from a dataset with the recorded flips (History.ReplayData).
public final class DatasetReplay: ReplayData {
    public let dataset: LabeledDataset
    public init(_ dataset: LabeledDataset) { self.dataset = dataset }
    public var trainingCount: Int { dataset.count }
    public func trainingBatch(indices: [Int], flips: [Bool]?) -> (inputs: Tensor, labels: [Int]) {
        var x = dataset.inputs.gatherRows(indices)
        if let f = flips { HorizontalFlip.apply(to: &x, mask: f) }
        return (x, indices.map { dataset.labels[$0] })
    }
}
