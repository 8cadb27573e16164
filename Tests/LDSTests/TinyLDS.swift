import Data
import Foundation
import XCTest

/// A tiny `lds` setup on MNIST shared by the end-to-end tests: a fresh folder with a 200-image recipe (SGD momentum,
/// batch 50, 2 epochs = 8 steps) in `train.json` and an lds config over it in `lds.json`. The test is skipped when
/// the MNIST files are not found.
struct TinyLDS {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    let dir: String
    /// The data folder holding mnist/.
    let dataRoot: String
    var configPath: String { dir + "/lds.json" }
    var outputDirectory: String { dir + "/out" }

    init(label: String) throws {
        let location = DataLocation.resolve(explicit: nil, currentDirectory: Self.packageRoot)
        guard FileManager.default.fileExists(atPath: location.mnistDirectory) else {
            throw XCTSkip("MNIST not found at \(location.mnistDirectory)")
        }
        dir = NSTemporaryDirectory() + "lds-\(label)-\(UUID().uuidString)"
        dataRoot = location.root
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes `train.json` (with `test_count` evaluation images) and `lds.json`; `extra` is appended to the lds
    /// config's keys (e.g. `"ensemble_size": 2`).
    func write(
        testCount: Int = 20, weightDecay: Double = 0.0005, subsets: Int = 6, points: Int = 8, tracinInterval: Int = 2,
        resamples: Int = 200, extra: [String] = []
    ) throws {
        try """
        {"experiment": "mnist", "run": "tiny", "data": {"train_count": 200, "test_count": \(testCount), "subset_seed": 0},
         "optimizer": {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0, "weight_decay": \(weightDecay)},
         "schedule": {"kind": "constant"}, "training": {"batch_size": 50, "drop_last": true, "epochs": 2, "seed": 0}}
        """.write(toFile: dir + "/train.json", atomically: true, encoding: .utf8)
        let keys =
            [
                "\"run\": \"tiny\"", "\"train_config\": \"\(dir)/train.json\"",
                "\"history\": \"\(dir)/full/history.h5\"",
                "\"subset_count\": \(subsets)", "\"subset_fraction\": 0.5", "\"subset_seed\": 1",
                "\"test_count\": \(testCount)",
                "\"quadrature\": {\"rule\": \"midpoint\", \"points\": \(points)}", "\"early_cut\": 4",
                "\"tracin_interval\": \(tracinInterval)", "\"bootstrap_resamples\": \(resamples)",
                "\"bootstrap_seed\": 0",
                "\"random_seed\": 0", "\"memory_budget_gb\": 0.5",
            ] + extra
        try ("{" + keys.joined(separator: ", ") + "}").write(toFile: configPath, atomically: true, encoding: .utf8)
    }
}
