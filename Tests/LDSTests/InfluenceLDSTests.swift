import Artifacts
import Data
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The `influence` method inside a whole `lds` run (200 images, 4 subsets, 10 test points): it is scored after
/// TracIn, its solve is recorded in `lds.h5`, and an unconverged solve stops the run with one line.
final class InfluenceLDSTests: XCTestCase {
    func testInfluenceInsideTheLDSRun() throws {
        let tiny = try TinyLDS(label: "influence")
        defer { tiny.remove() }
        func write(_ influence: String) throws {
            try tiny.write(
                testCount: 10, weightDecay: 0.002, subsets: 4, points: 2, tracinInterval: 4, resamples: 50,
                extra: ["\"influence\": \(influence)"])
        }
        try write(#"{"damping": 5, "cg_iterations": 60, "cg_tolerance": 1e-4}"#)
        let dir = tiny.dir
        let out = dir + "/out"
        let outcome = try LDSDriver.run(
            configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: tiny.dataRoot)
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
        try write(#"{"damping": 5, "cg_iterations": 1, "cg_tolerance": 1e-9}"#)
        XCTAssertThrowsError(
            try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: tiny.dataRoot)
        ) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "influence: conjugate gradient did not converge in 1 iteration (10 of 10 solves above tolerance 1e-09"
                ), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/lds.h5"))
    }
}
