import Artifacts
import Data
import TestSupport
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// `lds` with TRAK and the ExPLAIND ensemble on a tiny MNIST setup (200 training images, 20 test images, 8 steps).
final class LDSEnsembleTests: XCTestCase {
    static let packageRoot = LDSEndToEndTests.packageRoot

    /// The tiny setup with per-subset seeds, `ensemble` members and the `trak` block.
    func write(_ tiny: TinyLDS, ensemble: Int, trak: String = #"{"projection_dim": 16, "seed": 0}"#) throws {
        try tiny.write(extra: ["\"seed_per_subset\": true", "\"ensemble_size\": \(ensemble)", "\"trak\": \(trak)"])
    }

    /// K = 1: explaind-ensemble is explaind and trak is trak-single, exactly; lds.h5 holds θ_T and the training rows.
    func testSingleMemberEnsembleEqualsTheSingleRunAndArtifactIsDocumented() throws {
        let tiny = try TinyLDS(label: "ensemble")
        defer { tiny.remove() }
        let dir = tiny.dir, data = tiny.dataRoot
        try write(tiny, ensemble: 1)
        let out = dir + "/out"
        let outcome = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: data)
        let s = Dictionary(uniqueKeysWithValues: outcome.methods.map { ($0.name, $0.scores) })
        XCTAssertEqual(
            outcome.methods.map(\.name),
            [
                "explaind", "explaind-fc1", "explaind-fc2", "explaind-early", "explaind-late",
                "explaind-ensemble", "grad-dot", "grad-cos", "tracin", "random", "trak", "trak-single",
            ])
        XCTAssertEqual(s["explaind-ensemble"]!, s["explaind"]!)
        XCTAssertEqual(s["trak"]!, s["trak-single"]!)
        XCTAssertTrue(s["trak"]!.allSatisfy(\.isFinite))
        XCTAssertTrue(outcome.methods.first { $0.name == "trak" }!.description.contains("k = 16, ensemble of K = 1"))

        let file = try HDF5File(path: out + "/lds.h5", mode: .read)
        defer { file.close() }
        XCTAssertEqual(try undocumentedPaths(file), [], "lds.h5 has paths docs/ARTIFACTS.md does not name")
        XCTAssertEqual(try file.root.intAttribute("ensemble_size"), 1)
        XCTAssertEqual(try file.root.intAttribute("trak_projection_dim"), 16)
        XCTAssertEqual(try file.root.stringAttribute("trak_projection"), "rademacher")
        let setup = try ReplaySetup(historyPath: dir + "/full/history.h5", dataDirectory: data)
        let theta = try setup.history.parameters(at: setup.history.stepCount)
        for c in setup.model.layout.components {
            let stored = try file.root.read("models/member-0/\(c.name)", as: Float.self)
            XCTAssertEqual(stored.shape, c.shape, c.name)
            XCTAssertEqual(stored.values, Array(theta[c.range]), c.name)
        }
        XCTAssertEqual(
            try file.root.read("data/training_indices", as: Int64.self).values.map { Int($0) },
            setup.data.source.trainingIndices)
        XCTAssertEqual(try file.root.dataset("methods/trak/scores").shape, [20, 200])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/lds-explaind-vs-trak.png"))
        let summary = try ReportWriter.summarize(artifact: out + "/lds.h5")
        XCTAssertEqual(summary.rows.first { $0.0 == "ensemble K / TRAK projection k" }?.1, "1 / 16 (rademacher)")
        let statements = summary.claims.map(\.statement)
        XCTAssertTrue(statements.contains { $0.contains("trak-single") }, "\(statements)")
        XCTAssertTrue(statements.contains { $0.contains("ExPLAIND-ensemble") }, "\(statements)")
    }

    /// K = 2 trains member 1 with seed + 1 (and reuses it on a re-run); a member history from another seed is refused.
    func testSecondMemberIsTrainedReusedAndAMismatchIsRefused() throws {
        let tiny = try TinyLDS(label: "ensemble")
        defer { tiny.remove() }
        let dir = tiny.dir, data = tiny.dataRoot
        try write(tiny, ensemble: 2)
        let out = dir + "/out"
        let outcome = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: data)
        let member = out + "/ensemble/member-1/history.h5"
        let setup = try ReplaySetup(historyPath: member, dataDirectory: data)
        XCTAssertEqual(setup.trainConfig.training.seed, 1)
        let s = Dictionary(uniqueKeysWithValues: outcome.methods.map { ($0.name, $0.scores) })
        XCTAssertNotEqual(s["explaind-ensemble"]!, s["explaind"]!)
        XCTAssertNotEqual(s["trak"]!, s["trak-single"]!)
        let file = try HDF5File(path: out + "/lds.h5", mode: .read)
        let stored = try file.root.read("models/member-1/fc2.bias", as: Float.self).values
        file.close()
        let theta = try setup.history.parameters(at: setup.history.stepCount)
        XCTAssertEqual(stored, Array(theta[setup.model.layout.components.first { $0.name == "fc2.bias" }!.range]))

        let modified = try FileManager.default.attributesOfItem(atPath: member)[.modificationDate] as! Date
        let again = try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: out, dataDirectory: data)
        XCTAssertEqual(
            try FileManager.default.attributesOfItem(atPath: member)[.modificationDate] as! Date, modified,
            "member 1 is reused")
        XCTAssertEqual(again.methods.first { $0.name == "trak" }!.scores, s["trak"]!)

        let other = dir + "/other"
        try FileManager.default.createDirectory(atPath: other + "/ensemble/member-1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: dir + "/full/history.h5", toPath: other + "/ensemble/member-1/history.h5")
        XCTAssertThrowsError(
            try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: other, dataDirectory: data)
        ) { error in
            XCTAssertTrue("\(error)".contains("training.seed 1 of ensemble member 1"), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    /// k > N makes ΦᵀΦ singular: refused before any subset is retrained.
    func testProjectionLargerThanTheTrainingSetIsRefusedFirst() throws {
        let tiny = try TinyLDS(label: "ensemble")
        defer { tiny.remove() }
        let dir = tiny.dir, data = tiny.dataRoot
        try write(tiny, ensemble: 1, trak: #"{"projection_dim": 201, "seed": 0}"#)
        XCTAssertThrowsError(
            try LDSDriver.run(configPath: dir + "/lds.json", outputDirectory: dir + "/out", dataDirectory: data)
        ) { error in
            XCTAssertEqual("\(error)".components(separatedBy: "key 'trak.projection_dim'").count, 2, "\(error)")
            XCTAssertTrue("\(error)".contains("expected at most the 200 training samples"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/ground-truth.h5"))
    }

    /// Bad ensemble and TRAK values are one-line config errors naming the key.
    func testBadTRAKConfigsAreOneLineErrors() throws {
        let tiny = try TinyLDS(label: "trak-config")
        defer { tiny.remove() }
        let cases: [(ensemble: Int, trak: String, message: String)] = [
            (
                1, #"{"projection_dim": 0, "seed": 0}"#,
                "key 'trak.projection_dim': expected a positive integer, found 0"
            ),
            (
                1, #"{"projection_dim": 8, "projection": "sparse", "seed": 0}"#,
                "key 'trak.projection': expected one of rademacher, gaussian, none, found 'sparse'"
            ),
            (
                1, #"{"projection_dim": 8, "seed": 0, "ridge": -1}"#,
                "key 'trak.ridge': expected a non-negative number, found -1"
            ),
            (
                1, #"{"projection_dim": 8, "projection": "none", "seed": 0}"#,
                "key 'trak.projection_dim': must be omitted with projection 'none' (k = P), found 8"
            ),
            (
                1, #"{"projection": "gaussian", "seed": 0}"#,
                "key 'trak.projection_dim': expected a positive integer (the projection dimension k), found nothing"
            ),
            (1, #"{"projection_dim": 8, "seed": -2}"#, "key 'trak.seed': expected a non-negative integer, found -2"),
            (0, #"{"projection_dim": 8, "seed": 0}"#, "key 'ensemble_size': expected an integer in 1…64, found 0"),
            (1, #"{"projection_dim": 8, "seed": 0, "dim": 3}"#, "unknown key 'trak.dim'"),
        ]
        for c in cases {
            try write(tiny, ensemble: c.ensemble, trak: c.trak)
            XCTAssertThrowsError(try StrictConfig.load(LDSConfig.self, from: tiny.configPath)) { error in
                XCTAssertTrue("\(error)".contains(c.message), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testShippedConfigsCarryTheProtocol() throws {
        let paper = try StrictConfig.load(LDSConfig.self, from: Self.packageRoot + "/Configs/lds-mnist.json")
        XCTAssertEqual(paper.seedPerSubset, true)
        XCTAssertEqual(paper.ensembleSize, 5); XCTAssertEqual(paper.trak?.projectionDim, 2048)
        let quick = try StrictConfig.load(LDSConfig.self, from: Self.packageRoot + "/Configs/lds-mnist-quick.json")
        XCTAssertEqual(quick.ensembleSize, 2); XCTAssertLessThanOrEqual(quick.trak!.projectionDim!, 512)
        let dattri = try StrictConfig.load(LDSConfig.self, from: Self.packageRoot + "/Configs/lds-mnist-dattri.json")
        XCTAssertEqual([dattri.subsetCount, dattri.testCount], [50, 500]); XCTAssertEqual(dattri.subsetFraction, 0.5)
        let recipe = try StrictConfig.load(TrainConfig.self, from: Self.packageRoot + "/" + dattri.trainConfig)
        XCTAssertEqual(recipe.data.trainCount, 5000); XCTAssertEqual(recipe.training.epochs, 50)
    }
}
