import Artifacts
import EPK
import Foundation
import History
import NN
import TestSupport
import XCTest

@testable import ExperimentKit

/// The `"model"` block of train configs: training, history recording and replay of a spec-built model, and the
/// one-line errors of bad specs and of data that does not fit the model.
final class SpecConfigTests: WorkspaceTestCase {

    /// A modulo-addition train config whose model is `model` (JSON text).
    func trainConfig(model: String, steps: Int = 15) -> String {
        """
        {"experiment": "modulo", "run": "spec",
         "data": {"prime": 113, "split_seed": 0, "train_count": 300, "validation_count": 100},
         "optimizer": {"kind": "adamw", "lr": 0.003, "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "weight_decay": 1.0},
         "schedule": {"kind": "constant"},
         "training": {"batch_size": 100, "drop_last": true, "max_steps": \(steps), "seed": 1, "flush_every": 50},
         "model": \(model)}
        """
    }

    static let tokenMLP = """
        {"name": "token-mlp", "input_shape": [4], "input": "tokens", "layers": [
          {"kind": "embedding", "name": "emb", "vocabulary": 115, "dimensions": 8},
          {"kind": "flatten"},
          {"kind": "linear", "name": "hidden", "out_features": 32},
          {"kind": "tanh"},
          {"kind": "linear", "name": "out", "out_features": 115},
          {"kind": "log_softmax"}]}
        """

    func write(_ text: String, _ name: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testInlineSpecTrainsAndReplaysFromTheHistory() throws {
        let config = write(trainConfig(model: Self.tokenMLP), "train.json")
        _ = try TrainingDriver.run(
            configPath: config, outputDirectory: directory + "/train", dataDirectory: nil, resume: false)
        let history = try HistoryFileReader(path: directory + "/train/history.h5")
        XCTAssertEqual(history.modelName, "token-mlp")
        let recorded = try JSONDecoder().decode(ModelSpec.self, from: Data(XCTUnwrap(history.modelSpecJSON).utf8))
        XCTAssertEqual(recorded.layers.count, 6)
        XCTAssertEqual(history.layout.names, ["emb.weight", "hidden.weight", "hidden.bias", "out.weight", "out.bias"])
        let epk = write(
            """
            {"experiment": "modulo", "run": "spec", "history": "\(directory!)/train/history.h5", "test_count": 6, "classes": "all",
             "attribution_classes": "focus", "quadrature": {"rule": "midpoint", "points": 8},
             "data_attribution": true, "groups": "model", "memory_budget_gb": 1}
            """, "epk.json")
        let (_, stats) = try EPKDriver.run(
            configPath: epk, historyOverride: nil, outputDirectory: directory + "/epk",
            dataDirectory: nil, shard: nil)
        XCTAssertEqual(stats.argmaxAgreement, 1)
        XCTAssertLessThan(stats.meanAbsoluteError, 1e-3)
        // An EPK config may name the model; it must be the one the history was trained with.
        let named = write(
            """
            {"experiment": "modulo", "run": "spec", "history": "\(directory!)/train/history.h5", "test_count": 2, "classes": "all",
             "quadrature": {"rule": "midpoint", "points": 2}, "data_attribution": false, "memory_budget_gb": 1,
             "model": "Configs/models/mnist-mlp.json"}
            """, "epk-model.json")
        XCTAssertEqual(
            message {
                _ = try EPKDriver.run(
                    configPath: named, historyOverride: nil, outputDirectory: directory + "/epk2", dataDirectory: nil,
                    shard: nil)
            },
            "\(named): key 'model': \(directory!)/train/history.h5 was trained with another model spec than Configs/models/mnist-mlp.json; drop the key or pass the matching --history"
        )
        let same = write(
            try String(contentsOfFile: named, encoding: .utf8)
                .replacingOccurrences(of: "\"Configs/models/mnist-mlp.json\"", with: Self.tokenMLP), "epk-same.json")
        let (_, again) = try EPKDriver.run(
            configPath: same, historyOverride: nil, outputDirectory: directory + "/epk3", dataDirectory: nil, shard: nil
        )
        XCTAssertEqual(again.argmaxAgreement, 1)
    }

    func testModelFileReferenceBuildsTheSpec() throws {
        let config = write(trainConfig(model: "\"Configs/models/mnist-mlp.json\""), "train.json")
        let loaded = try StrictConfig.load(TrainConfig.self, from: config)
        let model = try ExperimentModel.make(loaded, configPath: config)
        XCTAssertEqual(model.layout, MNISTMLP().layout)
        XCTAssertTrue(model is SpecModel)
        // Without a model block the experiment's own model is used, as before.
        let paper = try StrictConfig.load(TrainConfig.self, from: "Configs/modulo-quick.json")
        XCTAssertNil(paper.model)
        XCTAssertTrue(try ExperimentModel.make(paper, configPath: "Configs/modulo-quick.json") is ModuloTransformer)
    }

    func testBadSpecsAreOneLine() throws {
        func trainError(_ model: String) -> String {
            let config = write(trainConfig(model: model), "bad.json")
            return message {
                _ = try TrainingDriver.run(
                    configPath: config, outputDirectory: directory + "/bad", dataDirectory: nil, resume: false)
            }
        }
        let bad = directory + "/bad.json"
        XCTAssertEqual(
            trainError(
                """
                {"input_shape": [4], "input": "tokens", "layers": [{"kind": "embedding", "vocabulary": 115, "dimensions": 4, "kernel": 3}, {"kind": "log_softmax"}]}
                """),
            "\(bad): unknown key 'model.layers[0].kernel' (expected one of: dimensions, initStd, kind, name, scale, vocabulary)"
                .replacingOccurrences(of: "initStd", with: "init_std"))
        XCTAssertEqual(
            trainError(
                """
                {"input_shape": [4], "input": "tokens", "layers": [{"kind": "conv", "out_channels": 3}, {"kind": "log_softmax"}]}
                """
            ).hasPrefix("\(bad): key 'model.layers[0].kind': expected one of "), true)
        XCTAssertEqual(
            trainError(
                """
                {"input_shape": [4], "input": "tokens", "layers": [{"kind": "embedding", "vocabulary": 115, "dimensions": 4},
                 {"kind": "linear", "in_features": 16, "out_features": 115}, {"kind": "log_softmax"}]}
                """), "\(bad): model.layers[1] linear: expects 16 input features, gets 4")
        XCTAssertEqual(
            trainError("\"Configs/models/nope.json\""),
            "\(bad): key 'model': no model spec file 'Configs/models/nope.json'; give a path under Configs/models/ (relative to the working directory) or an inline object"
        )
    }

    func testDataThatDoesNotFitTheModelIsOneLine() {
        func trainError(_ model: String) -> String {
            let config = write(trainConfig(model: model), "bad.json")
            return message {
                _ = try TrainingDriver.run(
                    configPath: config, outputDirectory: directory + "/bad", dataDirectory: nil, resume: false)
            }
        }
        XCTAssertEqual(
            trainError(
                """
                {"name": "img", "input_shape": [1, 3, 3], "layers": [{"kind": "flatten"}, {"kind": "linear", "out_features": 115}, {"kind": "log_softmax"}]}
                """),
            "training data modulo113-train-seed0: samples have shape [4], but model img expects [1, 3, 3]; change the model's input_shape or the data"
        )
        let labels = trainError(
            """
            {"name": "ten", "input_shape": [4], "layers": [{"kind": "linear", "out_features": 10}, {"kind": "log_softmax"}]}
            """)
        XCTAssertTrue(labels.hasPrefix("training data modulo113-train-seed0: label "), labels)
        XCTAssertTrue(
            labels.hasSuffix(" is outside 0..<10 (the model's classes); fix the labels or the model's last layer"),
            labels)
    }
}

extension SpecConfigTests {
    /// The newcomer example (Configs/examples/) loads strictly and builds its CNN: 8·9 + 16·72 + 16·144 + 10·16 + 10.
    func testExampleConfigsLoad() throws {
        let train = try StrictConfig.load(TrainConfig.self, from: "Configs/examples/mnist-cnn.json")
        let model = try ExperimentModel.make(train, configPath: "Configs/examples/mnist-cnn.json")
        XCTAssertEqual(model.parameterCount, 72 + 1_152 + 2_304 + 160 + 10)
        XCTAssertEqual(model.classCount, 10)
        let epk = try StrictConfig.load(EPKConfig.self, from: "Configs/examples/mnist-cnn-epk.json")
        XCTAssertEqual(epk.experiment, "custom")
    }
}
