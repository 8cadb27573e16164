import Artifacts
import Data
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The whole `lds` pipeline on a tiny MNIST setup (6 subsets of a 200-image subset, 20 test images, 8 steps).
final class LDSEndToEndTests: XCTestCase {
    static let packageRoot = TinyLDS.packageRoot

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
        let tiny = try TinyLDS(label: "e2e")
        defer { tiny.remove() }
        try tiny.write()
        let out = tiny.outputDirectory
        let outcome = try LDSDriver.run(configPath: tiny.configPath, outputDirectory: out, dataDirectory: tiny.dataRoot)
        let names = outcome.methods.map(\.name)
        XCTAssertEqual(
            names,
            [
                "explaind", "explaind-fc1", "explaind-fc2", "explaind-early", "explaind-late",
                "grad-dot", "grad-cos", "tracin", "random",
            ])
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
        for figure in ["lds-scores", "lds-scatter"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/\(figure).png"))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/lds-summary.json"))

        // Re-run: every subset is already in ground-truth.h5, so nothing is retrained and the margins are identical.
        let before = try HDF5File(path: out + "/ground-truth.h5", mode: .read)
        let seconds = try before.doubles("seconds"); before.close()
        let again = try LDSDriver.run(configPath: tiny.configPath, outputDirectory: out, dataDirectory: tiny.dataRoot)
        XCTAssertEqual(again.subsetSeconds, seconds)
        XCTAssertEqual(again.margins, outcome.margins)
        XCTAssertEqual(again.scores.map(\.mean).filter(\.isFinite), outcome.scores.map(\.mean).filter(\.isFinite))
    }
}
