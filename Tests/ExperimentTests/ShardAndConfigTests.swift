import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor
import TestSupport
import XCTest

@testable import ExperimentKit

final class ShardAndConfigTests: WorkspaceTestCase {

    /// validate-epk over 3 test shards, merged through the files, equals the unsharded run.
    func testShardedAndMergedEqualsUnsharded() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        // A cheaper EPK config: 7 test points, 2 points per step, data attribution on the focus class.
        // Residual-driven refinement on: each shard refines its own test points, so the merged points must match.
        let configPath = try writeMNISTEPKConfig("epk.json") {
            $0.testCount = 7; $0.attributionClasses = .focus
            $0.quadrature.refine = QuadratureRefinement(tolerance: 2e-4, maxPoints: 18)
        }
        let history = directory + "/train/history.h5"
        let whole = try EPKDriver.run(
            configPath: configPath, historyOverride: history, outputDirectory: directory + "/whole",
            dataDirectory: nil, shard: nil
        ).path
        var shards: [String] = []
        for i in 1...3 {
            shards.append(
                try EPKDriver.run(
                    configPath: configPath, historyOverride: history, outputDirectory: directory + "/shards",
                    dataDirectory: nil, shard: Shard("\(i)/3")
                ).path)
        }
        XCTAssertEqual(shards.last!, directory + "/shards/epk-shard-3-of-3.h5")
        _ = try EPKDriver.merge(shardPaths: shards.reversed(), output: directory + "/merged.h5")
        let a = try EPKArtifact.read(whole), b = try EPKArtifact.read(directory + "/merged.h5")
        // Shards run fewer rows per backward call, so BLAS rounds differently: equal to Float32 precision.
        XCTAssertEqual(a.context.testIndices, b.context.testIndices)
        XCTAssertEqual(a.result.rowClasses, b.result.rowClasses)
        XCTAssertEqual(a.result.stepPoints, b.result.stepPoints)
        XCTAssertTrue(a.result.stepPoints.contains { $0 > 2 }, "no integral was refined at tolerance 2e-4")
        XCTAssertTrue(a.result.stepPoints.contains(2), "every integral was refined at tolerance 2e-4")
        // The report states how much was refined.
        let file = try HDF5File(path: whole, mode: .read)
        defer { file.close() }
        let rows = try ValidateEPKExperiment.summarize(file).rows
        let row = try XCTUnwrap(rows.first { $0.0 == "refinement" })
        XCTAssertTrue(row.1.contains("residual > 0.0002") && row.1.contains("up to 18 points"), row.1)
        XCTAssertEqual(rows.first { $0.0 == "quadrature" }?.1, "midpoint with 2 points")
        // The merged file's wall time is the shards' summed, and the report says so.
        let shardSeconds = try shards.map { p -> Double in
            let f = try HDF5File(path: p, mode: .read)
            defer { f.close() }
            return try f.root.doubleAttribute("wall_seconds")
        }
        let mergedFile = try HDF5File(path: directory + "/merged.h5", mode: .read)
        defer { mergedFile.close() }
        XCTAssertEqual(try mergedFile.root.doubleAttribute("wall_seconds"), shardSeconds.reduce(0, +), accuracy: 1e-9)
        XCTAssertEqual(try mergedFile.root.intAttribute("merged_shards"), 3)
        // The driver's other annotations carry over: experiment, component groups and the sort keys in test order.
        for name in ["experiment", "component_groups"] {
            XCTAssertEqual(try mergedFile.root.stringAttribute(name), try file.root.stringAttribute(name), name)
        }
        for name in ["test", "test_label", "train", "train_label"] {
            XCTAssertEqual(
                try mergedFile.root.read("sort_keys/\(name)", as: Double.self).values,
                try file.root.read("sort_keys/\(name)", as: Double.self).values, name)
        }
        let wall = try XCTUnwrap(ValidateEPKExperiment.summarize(mergedFile).rows.first { $0.0 == "wall time" })
        XCTAssertTrue(wall.1.hasSuffix("s (sum over 3 shards)"), wall.1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/whole/epk-refinement.png"))
        XCTAssertLessThan(relativeDifference(a.result.kernelByComponent, b.result.kernelByComponent), 1e-5)
        XCTAssertLessThan(
            relativeDifference(a.result.stepPredicted.map(Double.init), b.result.stepPredicted.map(Double.init)), 1e-5)
        XCTAssertLessThan(
            relativeDifference(a.result.stepKernelFocus.map(Double.init), b.result.stepKernelFocus.map(Double.init)),
            1e-5)
        XCTAssertLessThan(
            relativeDifference(a.result.finalOutputs.map(Double.init), b.result.finalOutputs.map(Double.init)), 1e-6)
        XCTAssertEqual(a.result.dataAttribution.map(\.group), b.result.dataAttribution.map(\.group))
        for (x, y) in zip(a.result.dataAttribution, b.result.dataAttribution) {
            XCTAssertEqual(x.values.count, y.values.count)
            XCTAssertLessThan(relativeDifference(x.values.map(Double.init), y.values.map(Double.init)), 1e-5)
        }
    }

    /// Step shards (no data attribution) merge to the unsharded result.
    func testStepShardsMergeToTheWholeRun() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let setup = try ReplaySetup(historyPath: directory + "/train/history.h5", dataDirectory: nil)
        let tests = setup.data.evaluation.inputs.rows(0..<5)
        func run(_ steps: Range<Int>?) throws -> EPKResult {
            try EPKEngine(
                model: setup.model, history: setup.history, data: DatasetReplay(setup.data.train),
                options: EPKOptions(quadrature: QuadratureConfig(rule: .midpoint, points: 2), steps: steps)
            )
            .run(testInputs: tests, testLabels: nil)
        }
        let context = EPKArtifact.Context(
            labels: nil, testIndices: Array(0..<5), configJSON: "{}", historyPath: "",
            quadrature: QuadratureConfig(rule: .midpoint, points: 2), classes: .all)
        let whole = try run(nil)
        let merged = try EPKMerge.merge([(try run(7..<20), context), (try run(0..<7), context)]).result
        XCTAssertEqual(merged.steps, 0..<20)
        XCTAssertEqual(merged.initialOutputs, whole.initialOutputs)
        XCTAssertEqual(merged.stepPredicted, whole.stepPredicted)
        XCTAssertLessThan(relativeDifference(merged.kernelByComponent, whole.kernelByComponent), 1e-12)

        // The same through `validate-epk --step-shard i/n` files and `validate-epk merge`.
        let configPath = try writeMNISTEPKConfig("epk-steps.json") {
            $0.testCount = 5; $0.dataAttribution = false
        }
        let history = directory + "/train/history.h5"
        let wholeFile = try EPKDriver.run(
            configPath: configPath, historyOverride: history, outputDirectory: directory + "/whole-steps",
            dataDirectory: nil, shard: nil
        ).path
        // Without data attribution the data-attribution figures do not apply: rendering all skips them, asking for
        // one by name names the missing dataset.
        let rendered = try FigureRenderer.renderAll(artifact: wholeFile, directory: directory + "/figs")
        XCTAssertFalse(rendered.contains { $0.name.hasPrefix("epk-data-attribution") })
        XCTAssertTrue(rendered.contains { $0.name == "epk-step-error" })
        XCTAssertFalse(rendered.contains { $0.name == "epk-refinement" }, "no refinement, no points figure")
        let asked = try FigureRenderer.renderAll(
            artifact: wholeFile, directory: directory + "/figs", only: "epk-data-attribution")
        XCTAssertEqual(asked.count, 1)
        if case .failure(let e) = asked[0].result {
            XCTAssertTrue("\(e)".contains("/data"), "\(e)")
        } else {
            XCTFail("rendered without /data")
        }
        let stepFiles = try (1...2).map {
            try EPKDriver.run(
                configPath: configPath, historyOverride: history, outputDirectory: directory + "/step-shards",
                dataDirectory: nil, shard: nil, stepShard: Shard("\($0)/2")
            ).path
        }
        XCTAssertEqual(stepFiles[1], directory + "/step-shards/epk-steps-shard-2-of-2.h5")
        _ = try EPKDriver.merge(shardPaths: stepFiles, output: directory + "/merged-steps.h5")
        let a = try EPKArtifact.read(wholeFile).result, b = try EPKArtifact.read(directory + "/merged-steps.h5").result
        XCTAssertEqual(b.steps, a.steps)
        XCTAssertLessThan(relativeDifference(a.kernelByComponent, b.kernelByComponent), 1e-5)
        XCTAssertLessThan(relativeDifference(a.stepTruth.map(Double.init), b.stepTruth.map(Double.init)), 1e-6)
        // Data attribution couples all steps, so a step shard with it is refused in one line.
        _ = try writeMNISTEPKConfig("epk-steps.json") {
            $0.testCount = 5; $0.dataAttribution = true
        }
        XCTAssertThrowsError(
            try EPKDriver.run(
                configPath: configPath, historyOverride: history, outputDirectory: directory + "/bad",
                dataDirectory: nil, shard: nil, stepShard: Shard("1/2"))
        ) { e in
            XCTAssertTrue("\(e)".contains("full step range"), "\(e)")
        }
    }

    /// The refinement block of an EPK config is checked like every other key.
    func testRefinementConfigErrors() throws {
        let good = try String(contentsOfFile: "Configs/mnist-epk-quick.json", encoding: .utf8)
        func message(_ refine: String) -> String {
            let path = directory + "/refine.json"
            let json = good.replacingOccurrences(
                of: "\"quadrature\": {", with: "\"quadrature\": {\n    \"refine\": \(refine),")
            try? json.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try StrictConfig.load(EPKConfig.self, from: path); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("{\"tolerance\": 1e-3, \"max_points\": 100}"), "no error")
        let unknown = message("{\"tol\": 1e-3, \"max_points\": 100}")
        XCTAssertTrue(unknown.contains("refine.tol"), unknown)
        let negative = message("{\"tolerance\": -1, \"max_points\": 100}")
        XCTAssertTrue(negative.contains("quadrature.refine.tolerance") && negative.contains("positive"), negative)
        let tooFew = message("{\"tolerance\": 1e-3, \"max_points\": 2}")
        XCTAssertTrue(tooFew.contains("quadrature.refine.max_points"), tooFew)
        for m in [unknown, negative, tooFew] { XCTAssertFalse(m.contains("\n"), m) }
    }

    /// Bad configs fail with one line naming the file, the key and what was expected.
    func testBadConfigsGiveOneLineErrors() throws {
        func message(_ json: String) -> String {
            let path = directory + "/bad.json"
            try? json.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try StrictConfig.load(TrainConfig.self, from: path); return "no error" } catch {
                return "\(error)"
            }
        }
        let good = try String(contentsOfFile: "Configs/mnist-quick.json", encoding: .utf8)
        let unknown = message(good.replacingOccurrences(of: "\"lr\": 0.01", with: "\"lr\": 0.01, \"lrr\": 0.1"))
        XCTAssertTrue(unknown.contains("bad.json") && unknown.contains("unknown key 'optimizer.lrr'"), unknown)
        let wrongType = message(good.replacingOccurrences(of: "\"batch_size\": 100", with: "\"batch_size\": \"100\""))
        XCTAssertTrue(
            wrongType.contains("'training.batch_size'") && wrongType.contains("expected an integer"), wrongType)
        let range = message(good.replacingOccurrences(of: "\"lr\": 0.01", with: "\"lr\": -1"))
        XCTAssertTrue(range.contains("'optimizer.lr'") && range.contains("non-negative"), range)
        for m in [unknown, wrongType, range] { XCTAssertFalse(m.contains("\n")) }
        XCTAssertThrowsError(try StrictConfig.load(TrainConfig.self, from: directory + "/missing.json")) { e in
            XCTAssertTrue("\(e)".contains("missing.json") && "\(e)".contains("no such file"), "\(e)")
        }
        // An EPK run on a history of another experiment is refused.
        XCTAssertThrowsError(
            try EPKDriver.run(
                configPath: "Configs/modulo-epk-quick.json", historyOverride: directory + "/none.h5",
                outputDirectory: directory, dataDirectory: nil, shard: nil)
        ) { e in
            XCTAssertTrue("\(e)".contains("no such history"), "\(e)")
        }
    }

    /// A history is refused by a model it does not belong to, naming the first differing component.
    func testMismatchedHistoryIsRefused() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let setup = try ReplaySetup(historyPath: directory + "/train/history.h5", dataDirectory: nil)
        XCTAssertThrowsError(
            try EPKEngine.check(
                model: ModuloTransformer(), history: setup.history, data: DatasetReplay(setup.data.train))
        ) { e in
            XCTAssertTrue("\(e)".contains("history does not match the model"), "\(e)")
        }
    }

    /// `plot` draws every figure of an artifact; a missing dataset gives one line naming it and the rest still render.
    func testPlotRegeneratesFiguresAndReportsMissingDatasets() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let metrics = directory + "/train/metrics.h5"
        let file = try HDF5File(path: metrics, mode: .readWrite)
        try file.root.group("epoch").remove("val_acc")
        file.close()
        let results = try FigureRenderer.renderAll(artifact: metrics, directory: directory + "/figures/")
        XCTAssertEqual(results.count, 3)
        let loss = results.first { $0.name == "training-loss" }
        XCTAssertEqual(
            try loss?.result.get(), directory + "/figures/training-loss.png", "a trailing slash in --out gives no '//'")
        let failures = results.compactMap { r -> String? in
            if case .failure(let e) = r.result { return "\(e)" }; return nil
        }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures[0].contains("/epoch/val_acc") && failures[0].contains("training-accuracy"), failures[0])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/figures/training-loss.png"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/figures/training-accuracy.png"))
    }
}

/// ‖a − b‖ / ‖b‖ (0 when both vanish).
func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "relativeDifference: \(a.count) vs \(b.count) values")
    var d = 0.0, n = 0.0
    for (x, y) in zip(a, b) { d += (x - y) * (x - y); n += y * y }
    return n == 0 ? d.squareRoot() : (d / n).squareRoot()
}
