import XCTest
import Artifacts
import Data
@testable import Analysis
@testable import ExperimentKit

/// The whole `lds` pipeline on a tiny MNIST setup (6 subsets of a 200-image subset, 20 test images, 8 steps).
final class LDSEndToEndTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testShippedConfigsLoad() throws {
        for name in ["lds-mnist", "lds-mnist-quick"] {
            let config = try StrictConfig.load(LDSConfig.self, from: Self.packageRoot + "/Configs/\(name).json")
            let recipe = try StrictConfig.load(TrainConfig.self, from: Self.packageRoot + "/" + config.trainConfig)
            XCTAssertEqual(recipe.experiment, "mnist")
        }
        let paper = try StrictConfig.load(LDSConfig.self, from: Self.packageRoot + "/Configs/lds-mnist.json")
        XCTAssertEqual(paper.subsetCount, 100); XCTAssertEqual(paper.subsetFraction, 0.5)
    }

    func testTinyRunWritesAReadableArtifactAndResumes() throws {
        let location = DataLocation.resolve(explicit: nil, currentDirectory: Self.packageRoot)
        guard FileManager.default.fileExists(atPath: location.mnistDirectory) else {
            throw XCTSkip("MNIST not found at \(location.mnistDirectory)")
        }
        let dir = NSTemporaryDirectory() + "lds-e2e-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        {"experiment": "mnist", "run": "tiny", "data": {"train_count": 200, "test_count": 20, "subset_seed": 0},
         "optimizer": {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0, "weight_decay": 0.0005},
         "schedule": {"kind": "constant"}, "training": {"batch_size": 50, "drop_last": true, "epochs": 2, "seed": 0}}
        """.write(toFile: dir + "/train.json", atomically: true, encoding: .utf8)
        try """
        {"run": "tiny", "train_config": "\(dir)/train.json", "history": "\(dir)/full/history.h5",
         "subset_count": 6, "subset_fraction": 0.5, "subset_seed": 1, "test_count": 20,
         "quadrature": {"rule": "midpoint", "points": 8}, "early_cut": 4, "tracin_interval": 2,
         "bootstrap_resamples": 200, "bootstrap_seed": 0, "random_seed": 0, "memory_budget_gb": 0.5}
        """.write(toFile: dir + "/lds.json", atomically: true, encoding: .utf8)

        let out = dir + "/out"
        let outcome = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: location.root)
        let names = outcome.methods.map(\.name)
        XCTAssertEqual(names, ["explaind", "explaind-fc1", "explaind-fc2", "explaind-early", "explaind-late",
                               "grad-dot", "grad-cos", "tracin", "random"])
        XCTAssertLessThan(outcome.reconstructionError, 0.05, "the EPK must reproduce f_y(θ_T)")
        // The per-group attributions add up to the total; early + late = total by definition.
        let s = Dictionary(uniqueKeysWithValues: outcome.methods.map { ($0.name, $0.scores) })
        for i in stride(from: 0, to: 20 * 200, by: 97) {
            XCTAssertEqual(s["explaind-fc1"]![i] + s["explaind-fc2"]![i], s["explaind"]![i], accuracy: 1e-5)
            XCTAssertEqual(s["explaind-early"]![i] + s["explaind-late"]![i], s["explaind"]![i], accuracy: 1e-5)
        }
        for score in outcome.scores where score.mean.isFinite { XCTAssertTrue((-1...1).contains(score.mean)) }

        let file = try HDF5File(path: out + "/lds.h5", mode: .read)
        XCTAssertEqual(try file.root.stringAttribute("kind"), "lds")
        XCTAssertEqual(try file.root.dataset("subsets/indices").shape, [6, 100])
        XCTAssertEqual(try file.root.dataset("ground_truth/margins").shape, [6, 20])
        XCTAssertEqual(try file.root.dataset("methods/tracin/scores").shape, [20, 200])
        XCTAssertEqual(try file.root.dataset("methods/explaind/predicted").shape, [6, 20])
        let stored = try file.doubles("summary/mean")
        XCTAssertEqual(stored.count, 9)
        XCTAssertEqual(stored[0], outcome.scores[0].mean)
        let margins = try file.doubles("ground_truth/margins")
        XCTAssertTrue(margins.allSatisfy { $0.isFinite })
        XCTAssertGreaterThan(Set(margins.map { ($0 * 1000).rounded() }).count, 20, "subset models must differ")
        file.close()
        for figure in ["lds-scores", "lds-scatter"] { XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/\(figure).png")) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/lds-summary.json"))

        // Re-run: every subset is already in ground-truth.h5, so nothing is retrained and the margins are identical.
        let before = try HDF5File(path: out + "/ground-truth.h5", mode: .read)
        let seconds = try before.doubles("seconds"); before.close()
        let again = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: location.root)
        XCTAssertEqual(again.subsetSeconds, seconds)
        XCTAssertEqual(again.margins, outcome.margins)
        XCTAssertEqual(again.scores.map(\.mean).filter(\.isFinite), outcome.scores.map(\.mean).filter(\.isFinite))
    }
}
