import Artifacts
import Data
import Foundation
import NN
import Tensor
import TestSupport
import XCTest

@testable import EPK
@testable import ExperimentKit
@testable import History

/// Hostile inputs that used to trap (config values, damaged histories and IDX files) and artifacts that could make
/// `plot` draw something false (docs/RELIABILITY.md, classes 5 and 6).
final class HostileDataTests: WorkspaceTestCase {

    private func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    /// `file`'s JSON with `edit` applied to its object tree, decoded strictly as `T`; returns the error line.
    private func refusal<T: Decodable>(
        _ type: T.Type, _ file: String, _ edit: (inout [String: Any]) -> Void
    ) throws -> String {
        var object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        edit(&object)
        let data = try JSONSerialization.data(withJSONObject: object)
        return message { _ = try StrictConfig.decode(type, from: data, source: "x.json") }
    }

    private func set(_ object: inout [String: Any], _ block: String, _ key: String, _ value: Any) {
        var inner = object[block] as! [String: Any]
        inner[key] = value
        object[block] = inner
    }

    // MARK: 5. No runtime traps on input

    func testConfigValuesThatUsedToTrapAreRefusedWithOneLine() throws {
        let modulo = "Configs/modulo-quick.json", mnist = "Configs/mnist-quick.json",
            epk = "Configs/mnist-epk-quick.json"
        let cases: [(String, String, (inout [String: Any]) -> Void)] = [
            (
                modulo, "x.json: key 'training.seed': expected a non-negative integer, found -1",
                { self.set(&$0, "training", "seed", -1) }
            ),
            (
                modulo, "x.json: key 'data.split_seed': expected a non-negative integer, found -3",
                { self.set(&$0, "data", "split_seed", -3) }
            ),
            (
                modulo,
                "x.json: key 'data.train_count': expected train_count + validation_count ≤ 6441 (the pairs b ≤ a < 113); lower train_count to at most 5941, found 100000",
                { self.set(&$0, "data", "train_count", 100000) }
            ),
            (
                mnist, "x.json: key 'data.train_count': expected at most 60000 (the MNIST training split), found 70000",
                { self.set(&$0, "data", "train_count", 70000) }
            ),
            (
                modulo,
                "x.json: key 'data.prime': expected an integer in 2…113 (tokens 0…p+1 must fit the model's vocabulary of 115), found 211",
                { self.set(&$0, "data", "prime", 211) }
            ),
            (
                modulo, "x.json: key 'optimizer.eps': expected a non-negative number (PyTorch default 1e-8), found -1",
                { self.set(&$0, "optimizer", "eps", -1) }
            ),
            (
                modulo,
                "x.json: key 'schedule.points[1][0]': expected a step above the previous point's 100.0 (sort the points by step), found 10",
                { $0["schedule"] = ["kind": "piecewise-linear", "points": [[100, 1], [10, 0.5]]] }
            ),
            (
                modulo,
                "x.json: key 'schedule.points[1][1]': expected a non-negative multiplier (a negative one trains at a negative learning rate), found -2",
                { $0["schedule"] = ["kind": "piecewise-linear", "points": [[0, 1], [10, -2]]] }
            ),
            (
                modulo, "x.json: key 'training.max_steps': expected at most 100000000, found 1000000000000",
                { self.set(&$0, "training", "max_steps", 1_000_000_000_000) }
            ),
        ]
        for (file, expected, edit) in cases { XCTAssertEqual(try refusal(TrainConfig.self, file, edit), expected) }
        let epkCases: [(String, (inout [String: Any]) -> Void)] = [
            (
                "x.json: key 'test_offset': expected an integer in 0…10000000, found 9223372036854775000",
                { $0["test_offset"] = 9_223_372_036_854_775_000 }
            ),
            (
                "x.json: key 'memory_budget_gb': expected a number in (0, 1024] GiB, found 1e+30",
                { $0["memory_budget_gb"] = 1e30 }
            ),
            (
                "x.json: key 'quadrature.points': expected an integer in 1…4096, found 1000000000",
                { self.set(&$0, "quadrature", "points", 1_000_000_000) }
            ),
        ]
        for (expected, edit) in epkCases { XCTAssertEqual(try refusal(EPKConfig.self, epk, edit), expected) }
    }

    /// A finished 12-step history, damaged in five ways; each is refused with one line naming the dataset.
    func testDamagedHistoriesAreRefusedWithOneLine() throws {
        let config = directory + "/m.json"
        try """
        {"experiment": "modulo", "run": "h", "data": {"train_count": 200, "validation_count": 50},
         "optimizer": {"kind": "adamw", "lr": 0.001, "weight_decay": 1.0}, "schedule": {"kind": "constant"},
         "training": {"batch_size": 200, "drop_last": true, "max_steps": 12, "seed": 1}}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try TrainingDriver.run(
            configPath: config, outputDirectory: directory + "/run", dataDirectory: nil, resume: false)
        let original = directory + "/run/history.h5"
        func damaged(_ name: String, _ damage: (HDF5Group) throws -> Void) throws -> String {
            let path = directory + "/\(name).h5"
            try FileManager.default.copyItem(atPath: original, toPath: path)
            let file = try HDF5File(path: path, mode: .readWrite)
            try damage(try file.root)
            file.close()
            return message {
                let h = try HistoryFileReader(path: path)
                for t in 0..<h.stepCount { _ = try h.batchIndices(step: t); _ = try h.weightDecay(step: t) }
            }
        }
        func badIndex(_ v: Int32) -> (HDF5Group) throws -> Void {
            return { root in
                let d = try root.dataset("batches/indices")
                try d.truncate(rows: 11)
                var row = [Int32](0..<200); row[5] = v
                _ = try d.append(row)
            }
        }
        let p = directory!
        XCTAssertEqual(
            try damaged("missing", { try $0.group("optimizer").remove("weight_decay") }),
            "\(p)/missing.h5: /optimizer/weight_decay: missing dataset of the history; the history is damaged: re-run the training (or --resume it)"
        )
        XCTAssertEqual(
            try damaged("short", { try $0.dataset("optimizer/weight_decay").truncate(rows: 5) }),
            "\(p)/short.h5: /optimizer/weight_decay: 5 rows, but the history records 12 steps (needs 12); the history is truncated: re-run the training (or --resume it)"
        )
        XCTAssertEqual(
            try damaged("outside", badIndex(5000)),
            "\(p)/outside.h5: /batches/indices: step 11 has index 5000 outside 0..<200 (the training set); the history is damaged: re-run the training"
        )
        XCTAssertEqual(
            try damaged("negative", badIndex(-7)),
            "\(p)/negative.h5: /batches/indices: step 11 has index -7 outside 0..<200 (the training set); the history is damaged: re-run the training"
        )
        XCTAssertEqual(
            try damaged(
                "dtype",
                { root in
                    let g = try root.group("optimizer")
                    try g.remove("learning_rate")
                    _ = try g.write("learning_rate", [Double](repeating: 1e-3, count: 12), shape: [12])
                }),
            "\(p)/dtype.h5: /optimizer/learning_rate: stores float64, expected float32; the history was not written by train-*: re-run the training"
        )
    }

    /// An IDX header claiming 2³² − 1 images of (2³² − 1)² pixels: the size product overflows Int.
    func testIDXHeaderWithHugeDimensionsIsRefused() throws {
        let path = directory + "/train-images-idx3-ubyte"
        try Data([0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(
            message { _ = try MNIST.readImages(path: path) },
            "corrupt data file \(path) (19 bytes, but the header claims 4294967295 × 4294967295 × 4294967295 images): \(DataError.remedy)"
        )
    }

    // MARK: 6. plot never draws something false

    private func epkArtifact(_ name: String, kernel0: Double, testCount: Int? = nil) throws -> String {
        let initial: [Float] = [-1, -2, -3, -3, -1, -2], final: [Float] = [-0.5, -2, -3, -3, -0.5, -2]
        let kernel = [kernel0, 0, 0, 0, 0.5, 0]
        let r = EPKResult(
            testCount: 2, classCount: 3, classesPerTest: 3, rowClasses: [0, 1, 2, 0, 1, 2],
            attributionClassesPerTest: 1, attributionRowClasses: [0, 1], focusClasses: [0, 1],
            componentNames: ["w"], steps: 0..<1, initialOutputs: initial, finalOutputs: final,
            kernelByComponent: kernel, regularizationByComponent: [Double](repeating: 0, count: 6),
            stepPredicted: kernel.map(Float.init), stepTruth: zip(final, initial).map { $0 - $1 },
            stepKernelFocus: [0, 0], stepRegularizationFocus: [0, 0], dataAttribution: [], parameterAttribution: nil)
        let context = EPKArtifact.Context(
            labels: [0, 1], testIndices: [0, 1], configJSON: "{}", historyPath: "h.h5",
            quadrature: QuadratureConfig(), classes: .all)
        let path = directory + "/" + name
        try EPKArtifact.write(r, context: context, to: path) { root in
            if let n = testCount { try root.setAttribute("test_count", n) }
        }
        return path
    }

    func testPlotRefusesContradictoryShapesWarnsOnNaNAndNamesSkippedFiles() throws {
        let lying = try epkArtifact("lying.h5", kernel0: 0.5, testCount: 3)
        let results = try FigureRenderer.renderAll(artifact: lying, directory: directory + "/fig")
        XCTAssertFalse(results.isEmpty)
        for (name, result) in results {
            guard case .failure(let e) = result else {
                XCTFail("\(name) was drawn from a contradictory artifact"); continue
            }
            XCTAssertEqual(
                "\(e)",
                "\(lying): /outputs/initial: shape (2, 3) contradicts the artifact's own counts, which imply (3, 3); nothing is drawn from it; the artifact is damaged or was edited: re-run the step that writes it"
            )
        }
        let nan = try epkArtifact("nan.h5", kernel0: .nan)
        let file = try HDF5File(path: nan, mode: .read)
        XCTAssertEqual(
            ArtifactShapes.nonFiniteWarnings(
                file, paths: ["steps/predicted", "steps/truth", "outputs/epk"], figure: "epk-step-error"),
            [
                "figure 'epk-step-error': /steps/predicted has 1 of 6 non-finite values (NaN or infinite); they are left out of the drawing",
                "figure 'epk-step-error': /outputs/epk has 1 of 6 non-finite values (NaN or infinite); they are left out of the drawing",
            ])
        file.close()
        // Drawing with NaN does not trap.
        XCTAssertFalse(try FigureRenderer.renderAll(artifact: nan, directory: directory + "/fig-nan").isEmpty)

        // Directory mode: every skipped file with its reason.
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: directory + "/junk.h5"))
        let scan = try PlotCatalog.scan(directory: directory)
        XCTAssertEqual(scan.artifacts.map { ($0 as NSString).lastPathComponent }, ["lying.h5", "nan.h5"])
        XCTAssertEqual(scan.skipped.count, 1)
        XCTAssertTrue(scan.skipped[0].path.hasSuffix("/junk.h5"))
        XCTAssertTrue(
            scan.skipped[0].reason.hasPrefix("not a readable HDF5 file (truncated or corrupt?)"), scan.skipped[0].reason
        )
        XCTAssertNil(PlotCatalog.unknownFigure("epk-step-error"))
        let unknown = PlotCatalog.unknownFigure("epk-step-eror")?.description ?? ""
        XCTAssertTrue(unknown.hasPrefix("--figure 'epk-step-eror': no such figure; known figures: "), unknown)
        XCTAssertTrue(unknown.contains("epk-step-error, "))
    }
}
