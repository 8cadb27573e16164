import XCTest
import Artifacts
import Data
@testable import Analysis
@testable import ExperimentKit

/// The `influence` method inside a whole `lds` run (200 images, 4 subsets, 10 test points): it is scored after
/// TracIn, its solve is recorded in `lds.h5`, and an unconverged solve stops the run with one line.
final class InfluenceLDSTests: XCTestCase {
    func testInfluenceInsideTheLDSRun() throws {
        let root = LDSEndToEndTests.packageRoot
        let location = DataLocation.resolve(explicit: nil, currentDirectory: root)
        guard FileManager.default.fileExists(atPath: location.mnistDirectory) else {
            throw XCTSkip("MNIST not found at \(location.mnistDirectory)")
        }
        let dir = NSTemporaryDirectory() + "lds-influence-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        {"experiment": "mnist", "run": "tiny", "data": {"train_count": 200, "test_count": 10, "subset_seed": 0},
         "optimizer": {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0, "weight_decay": 0.002},
         "schedule": {"kind": "constant"}, "training": {"batch_size": 50, "drop_last": true, "epochs": 2, "seed": 0}}
        """.write(toFile: dir + "/train.json", atomically: true, encoding: .utf8)
        func config(_ influence: String) -> String {
            """
            {"run": "tiny", "train_config": "\(dir)/train.json", "history": "\(dir)/full/history.h5",
             "subset_count": 4, "subset_fraction": 0.5, "subset_seed": 1, "test_count": 10,
             "quadrature": {"rule": "midpoint", "points": 2}, "early_cut": 4, "tracin_interval": 4,
             "bootstrap_resamples": 50, "bootstrap_seed": 0, "random_seed": 0, "memory_budget_gb": 0.5,
             "influence": \(influence)}
            """
        }
        try config(#"{"damping": 5, "cg_iterations": 60, "cg_tolerance": 1e-4}"#).write(toFile: dir + "/lds.json", atomically: true, encoding: .utf8)
        let out = dir + "/out"
        let outcome = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: location.root)
        XCTAssertEqual(outcome.methods.map(\.name).suffix(3), ["tracin", "influence", "random"])
        let influence = try XCTUnwrap(outcome.methods.first { $0.name == "influence" })
        XCTAssertEqual(influence.scores.count, 10 * 200)
        XCTAssertTrue(influence.scores.allSatisfy(\.isFinite))
        XCTAssertTrue(influence.description.contains("λ = 5, wd = 0.002"), influence.description)

        let file = try HDF5File(path: out + "/lds.h5", mode: .read)
        let group = try file.root.group("methods/influence")
        XCTAssertEqual(try group.doubleAttribute("damping"), 5)
        XCTAssertEqual(try group.doubleAttribute("weight_decay"), 0.002)  // the recipe's SGD weight decay
        XCTAssertLessThanOrEqual(try group.doubleAttribute("cg_max_relative_residual"), 1e-4)
        let iterations = try group.doubleAttribute("cg_iterations")
        XCTAssertGreaterThanOrEqual(iterations, 2); XCTAssertLessThanOrEqual(iterations, 60)
        XCTAssertEqual(try group.doubleAttribute("hessian_products"), iterations + 1)
        XCTAssertEqual(try file.root.dataset("methods/influence/scores").shape, [10, 200])
        file.close()

        // One iteration cannot reach 1e-9: the run stops with one line and writes no new lds.h5.
        try FileManager.default.removeItem(atPath: out + "/lds.h5")
        try config(#"{"damping": 5, "cg_iterations": 1, "cg_tolerance": 1e-9}"#).write(toFile: dir + "/lds.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: location.root)) { error in
            XCTAssertTrue("\(error)".hasPrefix("influence: conjugate gradient did not converge in 1 iteration (10 of 10 solves above tolerance 1e-09"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/lds.h5"))
    }
}
