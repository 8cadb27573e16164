import Artifacts
import EPK
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// Data × training-step attribution (docs/METHOD.md §6): data attribution kept per interval of steps, keyed by the
/// step in which a sample's gradient entered.
final class DataSnapshotEPKTests: WorkspaceTestCase {
    /// The quick MNIST EPK config on 6 test points, data attribution at the label, snapshots every 3 steps.
    private func config(_ name: String, _ edit: (inout EPKConfig) -> Void) throws -> String {
        try writeMNISTEPKConfig(name) { config in
            config.testCount = 6; config.attributionClasses = .focus; config.dataAttribution = true
            config.dataSnapshotInterval = 3
            edit(&config)
        }
    }

    func testSnapshotsSumToTheTotalAndHoldOnlyTheirStepsSamples() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let history = directory + "/train/history.h5"
        let path = try config("epk.json") { _ in }
        let whole = try EPKDriver.run(
            configPath: path, historyOverride: history, outputDirectory: directory + "/whole",
            dataDirectory: nil, shard: nil
        ).path
        let r = try EPKArtifact.read(whole).result
        let setup = try ReplaySetup(historyPath: history, dataDirectory: nil)
        let T = setup.history.stepCount, N = setup.data.train.count, rows = r.testCount * r.attributionClassesPerTest
        XCTAssertEqual(r.dataSnapshotStarts, Array(stride(from: 0, to: T, by: 3)))
        let count = r.dataSnapshotStarts.count
        for (g, snapshots) in r.dataSnapshots.enumerated() {
            let total = r.dataAttribution[g].values
            XCTAssertEqual(snapshots.values.count, count * rows * N)
            let scale = Double(total.map { abs($0) }.max() ?? 1)
            XCTAssertGreaterThan(scale, 0)
            // Summed over the snapshots, the snapshots are the total.
            for i in stride(from: 0, to: rows * N, by: 7) {
                let sum = (0..<count).reduce(0.0) { $0 + Double(snapshots.values[$1 * rows * N + i]) }
                XCTAssertEqual(sum, Double(total[i]), accuracy: 1e-5 * scale)
            }
            // A snapshot holds exactly the samples whose gradients entered in its steps.
            for k in 0..<count {
                var entered = Set<Int>()
                for t in r.dataSnapshotStarts[k]..<min(T, r.dataSnapshotStarts[k] + 3) {
                    entered.formUnion(try setup.history.batchIndices(step: t))
                }
                var nonzero = Set<Int>()
                for row in 0..<rows {
                    for j in 0..<N where snapshots.values[(k * rows + row) * N + j] != 0 { nonzero.insert(j) }
                }
                XCTAssertTrue(nonzero.isSubset(of: entered), "snapshot \(k) has samples from other steps")
                XCTAssertGreaterThan(nonzero.count, entered.count / 2, "snapshot \(k) misses its samples")
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/whole/epk-data-snapshots.png"))

        // Test shards merge to the same snapshots.
        var shards: [String] = []
        for i in 1...2 {
            shards.append(
                try EPKDriver.run(
                    configPath: path, historyOverride: history, outputDirectory: directory + "/shards",
                    dataDirectory: nil, shard: Shard("\(i)/2")
                ).path)
        }
        _ = try EPKDriver.merge(shardPaths: shards, output: directory + "/merged.h5")
        let m = try EPKArtifact.read(directory + "/merged.h5").result
        XCTAssertEqual(m.dataSnapshotStarts, r.dataSnapshotStarts)
        for (a, b) in zip(m.dataSnapshots, r.dataSnapshots) {
            let scale = b.values.map { abs($0) }.max() ?? 1
            for (x, y) in zip(a.values, b.values) { XCTAssertEqual(x, y, accuracy: 1e-4 * scale) }
        }
        let file = try HDF5File(path: whole, mode: .read)
        defer { file.close() }
        XCTAssertEqual(try undocumentedPaths(file), [], "epk.h5 has paths docs/ARTIFACTS.md does not name")
    }

    func testSnapshotsWithoutDataAttributionAreOneLine() throws {
        let path = try config("bad.json") { $0.dataAttribution = false }
        XCTAssertThrowsError(try StrictConfig.load(EPKConfig.self, from: path)) { error in
            XCTAssertTrue(
                "\(error)".contains("data_snapshot_interval")
                    && "\(error)".contains("needs \"data_attribution\": true"), "\(error)")
        }
    }
}
