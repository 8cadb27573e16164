import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor
import TestSupport
import XCTest

@testable import Analysis
@testable import ExperimentKit

final class SensitivityTests: XCTestCase {
    func testRoundingToStoragePrecisions() {
        XCTAssertEqual(StoragePrecision.bfloat16.round(1.0), 1.0)
        // 1 + 2⁻⁸ is halfway between bf16 neighbours 1 and 1 + 2⁻⁷: ties to even → 1.
        XCTAssertEqual(StoragePrecision.bfloat16.round(1 + 1 / 256), 1.0)
        XCTAssertEqual(StoragePrecision.bfloat16.round(1 + 3 / 256), 1 + 4 / 256)
        XCTAssertEqual(StoragePrecision.float16.round(1 + 1 / 4096), 1.0)
        XCTAssertEqual(StoragePrecision.float16.round(1 + 3 / 2048), 1 + 2 / 1024)
        let x: Float = 0.123456789
        XCTAssertLessThanOrEqual(abs(StoragePrecision.bfloat16.round(x) - x), x * 1 / 256)
        XCTAssertLessThanOrEqual(abs(StoragePrecision.float16.round(x) - x), x * 1 / 2048)
        XCTAssertEqual(StoragePrecision.float32.round(x), x)
    }

    func testErrorFallsWithMoreMidpointsOnTinyHistory() throws {
        let p = TinyResNetProblem.make(steps: 5, lr: 0.2, seed: 11)
        let settings =
            [1, 2, 4, 8].map { SensitivityStudy.Setting(rule: .midpoint, points: $0) }
            + [
                SensitivityStudy.Setting(rule: .midpoint, points: 1, earlySteps: 2, earlyPoints: 8),
                SensitivityStudy.Setting(rule: .midpoint, points: 4, precision: .bfloat16),
            ]
        let (m, scale) = try SensitivityStudy.measure(
            model: p.model, history: p.history, data: p.data, testInputs: p.tests, settings: settings)
        XCTAssertEqual(scale.count, 5)
        let steps = m[0..<4].map { $0.stepError }
        for i in 1..<4 {
            XCTAssertLessThan(
                steps[i], steps[i - 1], "midpoint \(settings[i].points) vs \(settings[i - 1].points): \(steps)")
        }
        // Roughly second order from 2 to 8 points (factor 16 ideal; the piecewise-smooth ReLU integrand gives about 3 here).
        XCTAssertGreaterThan(steps[1] / steps[3], 2, "\(steps)")
        XCTAssertLessThan(m[3].finalError, m[0].finalError)
        XCTAssertEqual(m[3].evaluationsPerStep, 8)
        // Early rule: 8 points on the first 2 steps only → mean evaluations (2·8 + 3·1)/5, and no worse early steps.
        XCTAssertEqual(m[4].evaluationsPerStep, (16 + 3) / 5, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(m[4].perStepError[0], m[0].perStepError[0])
        XCTAssertEqual(m[4].perStepError[4], m[0].perStepError[4], accuracy: 1e-12)
        // bf16 checkpoints add error beyond the float32 quadrature error.
        XCTAssertGreaterThan(m[5].stepError, 1.2 * m[2].stepError, "bf16 \(m[5].stepError) vs fp32 \(m[2].stepError)")
        XCTAssertGreaterThan(m[5].kernelDeviation, 0)
    }
}

/// End-to-end runs of the quick configs on a freshly trained quick CIFAR-2 history (full ResNet-9, 16 steps).
final class QuickConfigTests: XCTestCase {
    static let work = NSTemporaryDirectory() + "prune-quick-\(getpid())"
    nonisolated(unsafe) static var historyPath: String? = nil

    static func quickHistory() throws -> String {
        if let h = historyPath { return h }
        // Trained here, never taken from results/: a test must not depend on what an earlier run left there.
        _ = try TrainingDriver.run(
            configPath: repositoryRoot + "/Configs/cifar2-quick.json", outputDirectory: work + "/cifar2",
            dataDirectory: nil,
            resume: false, expectedExperiment: "cifar2")
        historyPath = work + "/cifar2/history.h5"
        return historyPath!
    }

    nonisolated(unsafe) static var unsharded: PruneDriver.Summary? = nil

    /// The quick prune config run once on the quick history, scores computed in the run (shared with `PruneShardTests`).
    static func unshardedPrune() throws -> PruneDriver.Summary {
        if let s = unsharded { return s }
        let s = try PruneDriver.run(
            configPath: repositoryRoot + "/Configs/prune-quick.json", historyOverride: try quickHistory(),
            outputDirectory: work + "/prune", dataDirectory: nil)
        unsharded = s
        return s
    }

    func testPruneQuickConfigEndToEnd() throws {
        let out = Self.work + "/prune"
        let s = try Self.unshardedPrune()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/prune-coarse.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/prune-fine.png"))
        XCTAssertLessThan(s.epkMeanAbsoluteError, 0.1)
        let file = try HDF5File(path: s.path, mode: .read)
        defer { file.close() }
        XCTAssertEqual(try file.root.stringAttribute("kind"), "prune")
        XCTAssertEqual(try file.root.intAttribute("epk_shards"), 0)
        let P = try file.root.intAttribute("parameter_count"), prunable = try file.root.intAttribute("prunable_count")
        XCTAssertEqual(P, 2_271_168)
        let fractions = try file.doubles("coarse/fractions")
        for method in ["explaind", "magnitude", "random", "taylor", "explaind-module"] {
            let left = try file.doubles("coarse/\(method)/parameters_left")
            let acc = try file.doubles("coarse/\(method)/accuracy")
            XCTAssertTrue(acc.allSatisfy { $0 >= 0 && $0 <= 1 })
            if method != "explaind-module" {
                for (i, v) in left.enumerated() {
                    let f = fractions[i % fractions.count]
                    XCTAssertEqual(v, Double(P - Int((f * Double(prunable)).rounded())), accuracy: 0.5, method)
                }
            }
        }
    }

    func testSensitivityQuickConfigEndToEnd() throws {
        let history = try Self.quickHistory()
        var text = try String(contentsOfFile: repositoryRoot + "/Configs/sensitivity-quick.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "results/cifar2/quick/history.h5", with: history)
        try FileManager.default.createDirectory(atPath: Self.work, withIntermediateDirectories: true)
        let config = Self.work + "/sensitivity-quick.json"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try SensitivityDriver.run(
            configPath: config, outputDirectory: Self.work + "/sensitivity", dataDirectory: nil)
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.work + "/sensitivity/sensitivity-error.png"))
        let m = try XCTUnwrap(r.results["cifar2-quick"])
        let mid = m.filter {
            $0.setting.rule == .midpoint && $0.setting.precision == .float32 && !$0.setting.usesEarlyRule
        }
        XCTAssertEqual(mid.map { $0.setting.points }, [1, 2, 4])
        XCTAssertLessThan(mid[2].stepError, mid[0].stepError)
        XCTAssertTrue(m.allSatisfy { $0.secondsPerStep > 0 && $0.agreement >= 0 && $0.agreement <= 1 })
    }
}
