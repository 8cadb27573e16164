import Artifacts
import EPK
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// The quick configs end to end: train with history, then replay it as an EPK.
/// Acceptance: argmax agreement 100% and mean |EPK − model| < 1e-3 on log-probabilities.
final class QuickPipelineTests: WorkspaceTestCase {

    private func pipeline(_ experiment: String) throws -> ValidationStatistics {
        let trained = try TrainingDriver.run(
            configPath: "Configs/\(experiment)-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: experiment)
        XCTAssertGreaterThan(trained.steps, 0)
        for file in ["history.h5", "metrics.h5", "training-loss.png", "training-accuracy.png", "parameter-norm.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/train/" + file), file)
        }
        // metrics.h5 names its training set as the history does: the same source and the same rows of it.
        let history = try HDF5File(path: directory + "/train/history.h5", mode: .read)
        let metrics = try HDF5File(path: directory + "/train/metrics.h5", mode: .read)
        let indices = try history.root.read("data/training_indices", as: Int64.self).values
        XCTAssertEqual(indices.count, try metrics.root.intAttribute("train_count"))
        XCTAssertEqual(try metrics.root.read("data/training_indices", as: Int64.self).values, indices)
        XCTAssertEqual(
            try metrics.root.group("data").stringAttribute("data_source"),
            try history.root.stringAttribute("data_source"))
        history.close()
        metrics.close()
        let (path, stats) = try EPKDriver.run(
            configPath: "Configs/\(experiment)-epk-quick.json", historyOverride: directory + "/train/history.h5",
            outputDirectory: directory + "/epk", dataDirectory: nil, shard: nil)
        // The statistics stored in the artifact are the ones computed here.
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        XCTAssertEqual(try file.root.group("validation").doubleAttribute("mean_abs_error"), stats.meanAbsoluteError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/epk/epk-step-error.png"))
        // The artifacts are what docs/ARTIFACTS.md says, and the report reads every row from them.
        for artifact in [directory + "/train/history.h5", directory + "/train/metrics.h5", path] {
            let opened = try HDF5File(path: artifact, mode: .read)
            XCTAssertEqual(
                try undocumentedPaths(opened), [],
                "\(experiment): \(artifact) has paths docs/ARTIFACTS.md does not name")
            opened.close()
            let summary = try ReportWriter.summarize(artifact: artifact)
            XCTAssertFalse(summary.rows.isEmpty, artifact)
            for (key, value) in summary.rows {
                XCTAssertFalse(value.hasPrefix("missing"), "\(experiment) \(artifact): \(key): \(value)")
            }
        }
        return stats
    }

    private func assertReplicates(_ stats: ValidationStatistics, _ experiment: String) {
        XCTAssertEqual(stats.argmaxAgreement, 1, "\(experiment): argmax agreement")
        XCTAssertLessThan(stats.meanAbsoluteError, 1e-3, "\(experiment): mean |EPK − model|")
        XCTAssertLessThan(stats.klModelToEPK, 1e-4, experiment)
    }

    /// The documentation check finds what the document does not name, and accepts its placeholder and brace forms.
    func testUndocumentedPathsAreFound() throws {
        let path = directory + "/x.h5"
        try ArtifactFile.write(to: path, kind: "epk", config: "{}") { root in
            let outputs = try root.createGroup("outputs")
            try outputs.write("initial", [Float(0)], shape: [1])  // documented by name
            try outputs.write("not_in_the_document", [Float(0)], shape: [1])
            try root.createGroup("params").write("fc9.weight", [Float(0)], shape: [1])  // `/params/<component>`
            let models = try root.createGroup("models")
            // `/models/member-<k>/<parameter name>`
            try models.createGroup("member-3").write("fc9.weight", [Float(0)], shape: [1])
            try models.createGroup("teacher").write("fc9.weight", [Float(0)], shape: [1])
        }
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        XCTAssertEqual(
            try undocumentedPaths(file), ["models/teacher", "models/teacher/fc9.weight", "outputs/not_in_the_document"])
    }

    func testModuloQuickPipelineReplicatesTheModel() throws { assertReplicates(try pipeline("modulo"), "modulo") }
    func testMNISTQuickPipelineReplicatesTheModel() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "../shared/data/mnist"), "needs ../shared/data/mnist (or make data)")
        assertReplicates(try pipeline("mnist"), "mnist")
    }
    func testCIFAR2QuickPipelineReplicatesTheModel() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "../shared/data/cifar10"),
            "needs ../shared/data/cifar10 (or make data)")
        assertReplicates(try pipeline("cifar2"), "cifar2")
    }
}
