import Artifacts
import Data
import EPK
import Foundation
import History
import NN
import Tensor
import TestSupport
import XCTest

@testable import ExperimentKit

/// `"data": {"kind": "hdf5", ...}`: training and replay from files, the recorded source and indices, and one line
/// for each kind of bad data.
final class HDF5DataTests: WorkspaceTestCase {

    /// 60 samples of 5 N(0,1) features, label = [x₀ + x₁ > 0].
    func writeData(
        _ name: String, samples n: Int = 60, seed: UInt64 = 1,
        edit: (inout [Float], inout [Int32]) -> Void = { _, _ in }
    ) throws -> String {
        var rng = RNG(seed: seed)
        var x = (0..<(n * 5)).map { _ in Float(rng.normal()) }
        var y = (0..<n).map { Int32(x[$0 * 5] + x[$0 * 5 + 1] > 0 ? 1 : 0) }
        edit(&x, &y)
        let path = directory + "/" + name
        let file = try HDF5File(path: path, mode: .create)
        _ = try file.root.write("x", x, shape: [n, 5])
        _ = try file.root.write("y", y, shape: [y.count])
        file.close()
        return path
    }

    static let mlp = """
        {"name": "mlp5", "input_shape": [5], "layers": [{"kind": "linear", "out_features": 8}, {"kind": "tanh"},
         {"kind": "linear", "out_features": 2}, {"kind": "log_softmax"}]}
        """

    func trainConfig(_ data: String, model: String = mlp) -> String {
        let path = directory + "/train.json"
        FileManager.default.createFile(
            atPath: path,
            contents: Data(
                """
                {"experiment": "custom", "run": "t", "data": \(data),
                 "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.001},
                 "schedule": {"kind": "constant"},
                 "training": {"batch_size": 15, "drop_last": true, "max_steps": 12, "seed": 2, "flush_every": 50},
                 "model": \(model)}
                """.utf8))
        return path
    }

    func sha256sum(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run(); p.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
            .first.map(String.init) ?? ""
    }

    func testHeldOutSplitTrainsReplaysAndRecordsItsSource() throws {
        let data = try writeData("data.h5")
        let config = trainConfig(
            "{\"kind\": \"hdf5\", \"path\": \"\(data)\", \"held_out_fraction\": 0.25, \"split_seed\": 3}")
        _ = try TrainingDriver.run(
            configPath: config, outputDirectory: directory + "/train", dataDirectory: nil, resume: false)
        let historyPath = directory + "/train/history.h5"
        let history = try HistoryFileReader(path: historyPath)
        // The source: the file, its SHA-256, and the training rows (the 45 rows not held out, in file order).
        let source = try JSONDecoder().decode(
            DataSource.self, from: Data(try history.file.root.stringAttribute("data_source").utf8))
        XCTAssertEqual(source.kind, "hdf5")
        XCTAssertEqual(source.files.map(\.path), [data])
        XCTAssertEqual(source.files[0].sha256, try sha256sum(data))
        let indices = try history.file.root.read("data/training_indices", as: Int64.self).values.map(Int.init)
        let heldOut = Set(LabeledDataset.randomSubsetIndices(count: 15, of: 60, seed: 3))
        XCTAssertEqual(indices, (0..<60).filter { !heldOut.contains($0) })
        // The training set is exactly those rows of the file.
        let file = try HDF5File(path: data, mode: .read)
        let x = try file.root.read("x", as: Float.self).values
        file.close()
        let setup = try ReplaySetup(historyPath: historyPath, dataDirectory: nil)
        XCTAssertEqual(setup.data.train.inputs.storage, indices.flatMap { x[($0 * 5)..<($0 * 5 + 5)] })
        // validate-epk replays the spec model on the file's data.
        let epk = directory + "/epk.json"
        FileManager.default.createFile(
            atPath: epk,
            contents: Data(
                """
                {"experiment": "custom", "run": "t", "history": "\(historyPath)", "test_count": 10, "classes": "all",
                 "quadrature": {"rule": "midpoint", "points": 8}, "data_attribution": true, "memory_budget_gb": 1}
                """.utf8))
        let (_, stats) = try EPKDriver.run(
            configPath: epk, historyOverride: nil, outputDirectory: directory + "/epk", dataDirectory: nil, shard: nil)
        XCTAssertEqual(stats.argmaxAgreement, 1)
        XCTAssertLessThan(stats.meanAbsoluteError, 1e-3)
    }

    func testTokenSequencesWithASecondEvaluationFile() throws {
        func tokens(_ name: String, seed: UInt64) throws -> String {
            var rng = RNG(seed: seed)
            let x: [Int32] = (0..<(40 * 3)).map { _ in Int32(rng.int(below: 6)) }
            let y: [Int32] = (0..<40).map { (i: Int) -> Int32 in (x[i * 3] + x[i * 3 + 2]) % 3 }
            let path = directory + "/" + name
            let file = try HDF5File(path: path, mode: .create)
            _ = try file.root.write("tokens", x, shape: [40, 3])
            _ = try file.root.write("next", y, shape: [40])
            file.close()
            return path
        }
        let train = try tokens("train.h5", seed: 4), eval = try tokens("eval.h5", seed: 5)
        let model = """
            {"input_shape": [3], "input": "tokens", "layers": [{"kind": "embedding", "vocabulary": 6, "dimensions": 4},
             {"kind": "flatten"}, {"kind": "linear", "out_features": 3}, {"kind": "log_softmax"}]}
            """
        let config = trainConfig(
            "{\"kind\": \"hdf5\", \"path\": \"\(train)\", \"evaluation_path\": \"\(eval)\", \"inputs\": \"tokens\", \"labels\": \"next\"}",
            model: model)
        let loaded = try ExperimentData.load(
            try StrictConfig.load(TrainConfig.self, from: config), dataDirectory: nil, configPath: config)
        XCTAssertEqual(loaded.train.count, 40)
        XCTAssertEqual(loaded.evaluation.count, 40)
        XCTAssertEqual(loaded.source.files.map(\.path), [train, eval])
        XCTAssertEqual(loaded.source.trainingIndices, Array(0..<40))
        let summary = try TrainingDriver.run(
            configPath: config, outputDirectory: directory + "/train", dataDirectory: nil, resume: false)
        XCTAssertEqual(summary.steps, 12)
    }

    func message(_ config: String) -> String {
        do {
            _ = try TrainingDriver.run(
                configPath: config, outputDirectory: directory + "/bad", dataDirectory: nil, resume: false);
            return "no error"
        } catch { return "\(error)" }
    }

    func testBadDataIsOneLine() throws {
        func hdf5(_ path: String, _ extra: String = "") -> String {
            "{\"kind\": \"hdf5\", \"path\": \"\(path)\", \"held_out_fraction\": 0.25\(extra)}"
        }
        let tooHigh = try writeData("labels.h5") { _, y in y[7] = 5 }
        XCTAssertEqual(
            message(trainConfig(hdf5(tooHigh))),
            "training data labels-train: label 5 of sample 5 is outside 0..<2 (the model's classes); fix the labels or the model's last layer"
        )
        let negative = try writeData("negative.h5") { _, y in y[3] = -1 }
        XCTAssertEqual(
            message(trainConfig(hdf5(negative))),
            "\(negative): dataset 'y' sample 3 has label -1; labels must be class numbers 0, 1, …")
        let nan = try writeData("nan.h5") { x, _ in x[12] = .nan }
        XCTAssertEqual(
            message(trainConfig(hdf5(nan))),
            "\(nan): dataset 'x' sample 2 holds nan; remove or repair non-finite inputs")
        let good = try writeData("good.h5")
        XCTAssertEqual(
            message(trainConfig(hdf5(good, ", \"labels\": \"target\""))),
            "\(good): no dataset 'target' (the file has: x, y); set data.inputs and data.labels to the dataset names")
        XCTAssertEqual(
            message(
                trainConfig(
                    hdf5(good),
                    model: """
                        {"name": "wide", "input_shape": [6], "layers": [{"kind": "linear", "out_features": 2}, {"kind": "log_softmax"}]}
                        """)),
            "training data good-train: samples have shape [5], but model wide expects [6]; change the model's input_shape or the data"
        )
        let config = trainConfig(hdf5(directory + "/absent.h5"))
        XCTAssertEqual(
            message(config),
            "\(config): key 'data': no such data file '\(directory!)/absent.h5'; give the path of an HDF5 file (relative to the working directory)"
        )
        let noSplit = trainConfig("{\"kind\": \"hdf5\", \"path\": \"\(good)\"}")
        XCTAssertEqual(
            message(noSplit),
            "\(noSplit): key 'data': give an evaluation split, 'evaluation_path' (a second file), 'evaluation_inputs' and 'evaluation_labels' (other datasets), or 'held_out_fraction'"
        )
    }

    /// Built-in data records its source too: the MNIST subset is rows `training_indices` of the IDX files.
    func testMNISTSubsetRecordsItsIndices() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "../shared/data/mnist"), "needs ../shared/data/mnist")
        let config = try StrictConfig.load(TrainConfig.self, from: "Configs/mnist-quick.json")
        let data = try ExperimentData.load(config, dataDirectory: nil)
        let full = try MNIST.load(.train, directory: DataLocation.resolve(explicit: nil).mnistDirectory)
        XCTAssertEqual(data.source.trainingIndices.count, 1000)
        XCTAssertEqual(data.train.inputs.storage, full.inputs.gatherRows(data.source.trainingIndices).storage)
        XCTAssertEqual(data.train.labels, data.source.trainingIndices.map { full.labels[$0] })
        let hashed = try data.source.hashed()
        XCTAssertEqual(hashed.files.count, 2)
        XCTAssertEqual(hashed.files[0].sha256, try sha256sum(hashed.files[0].path))
    }
}
