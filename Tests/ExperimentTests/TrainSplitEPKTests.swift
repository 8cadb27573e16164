import Artifacts
import EPK
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// `test_split: "train"`: the EPK explains the model's outputs on training samples (docs/METHOD.md §6).
final class TrainSplitEPKTests: WorkspaceTestCase {
    /// The quick MNIST EPK config on training samples 10..<16, data attribution at the label, 4 midpoints.
    private func config(_ edit: (inout EPKConfig) -> Void) throws -> String {
        try writeMNISTEPKConfig("epk-train.json") { config in
            config.quadrature = QuadratureConfig(rule: .midpoint, points: 4)
            config.testSplit = .train; config.testOffset = 10; config.testCount = 6
            config.attributionClasses = .focus; config.dataAttribution = true
            edit(&config)
        }
    }

    func testTrainingSamplesAsTestPointsAreReconstructed() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let history = directory + "/train/history.h5"
        let (path, stats) = try EPKDriver.run(
            configPath: try config { _ in }, historyOverride: history,
            outputDirectory: directory + "/epk", dataDirectory: nil, shard: nil)
        XCTAssertLessThan(stats.meanAbsoluteError, 5e-3)
        XCTAssertEqual(stats.argmaxAgreement, 1)

        let setup = try ReplaySetup(historyPath: history, dataDirectory: nil)
        let indices = Array(10..<16)
        let inputs = setup.data.train.inputs.gatherRows(indices)
        let expected = setup.model.forwardChunked(
            parameters: try setup.history.parameters(at: setup.history.stepCount), inputs: inputs)
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        let root = try file.root
        XCTAssertEqual(try root.stringAttribute("test_split"), "train")
        XCTAssertEqual(try root.read("outputs/test_indices", as: Int32.self).values.map(Int.init), indices)
        XCTAssertEqual(
            try root.read("sort_keys/test_label", as: Double.self).values,
            indices.map { Double(setup.data.train.labels[$0]) })
        // The recorded final outputs are the model's on those training inputs, not on evaluation samples 10..<16.
        let final = try root.read("outputs/final", as: Float.self).values
        XCTAssertEqual(final.count, expected.storage.count)
        for (a, b) in zip(final, expected.storage) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        let evaluationOutputs = setup.model.forwardChunked(
            parameters: try setup.history.parameters(at: setup.history.stepCount),
            inputs: setup.data.evaluation.inputs.gatherRows(indices))
        XCTAssertGreaterThan(zip(final, evaluationOutputs.storage).map { abs($0 - $1) }.max() ?? 0, 1e-2)
        // Data attribution at the label's row sums to the kernel part there (docs/METHOD.md §6).
        let result = try EPKArtifact.read(path).result
        let N = setup.data.train.count, K = result.componentNames.count, S = result.classesPerTest
        let data = result.dataAttribution.reduce(into: [Float](repeating: 0, count: indices.count * N)) { sum, group in
            for i in sum.indices { sum[i] += group.values[i] }
        }
        for a in 0..<indices.count {
            let row = a * S + result.rowClasses[(a * S)..<((a + 1) * S)].firstIndex(of: result.focusClasses[a])! - a * S
            let kernel = (0..<K).reduce(0.0) { $0 + result.kernelByComponent[row * K + $1] }
            let attributed = data[(a * N)..<((a + 1) * N)].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(attributed, kernel, accuracy: 1e-3 * max(1, abs(kernel)), "test point \(a)")
        }
        // The report's self-attribution row: how often a point's own training copy ranks first, and its median rank.
        let ranks = (0..<indices.count).map { a -> Int in
            let row = (0..<N).map { j in result.dataAttribution.reduce(0.0) { $0 + Double($1.values[a * N + j]) } }
            return 1 + row.filter { $0 > row[indices[a]] }.count
        }.sorted()
        let first = ranks.filter { $0 == 1 }.count
        let reported = try ReportWriter.summarize(artifact: path).rows.first { $0.0.hasPrefix("self-attribution") }
        XCTAssertEqual(
            reported?.1,
            "the point's own training copy is its most attributed sample for \(first) of \(indices.count) points; median rank \(ranks[indices.count / 2]) of \(N)"
        )
        XCTAssertGreaterThan(first, 0, "a training point's own gradient should dominate for some points")
    }

    func testTooManyTrainingTestPointsIsOneLine() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let path = try config {
            $0.testOffset = 990; $0.testCount = 20
        }
        XCTAssertThrowsError(
            try EPKDriver.run(
                configPath: path, historyOverride: directory + "/train/history.h5",
                outputDirectory: directory + "/bad", dataDirectory: nil, shard: nil)
        ) { error in
            XCTAssertTrue(
                "\(error)".contains("expected at most 10 test points of the train split from offset 990, found 20"),
                "\(error)")
        }
    }
}
