import XCTest

@testable import Artifacts

/// A config shaped like the experiment configs: nested objects, arrays of objects, optionals, snake_case keys.
struct SampleConfig: Codable, Equatable, ValidatableConfig {
    struct Optimizer: Codable, Equatable {
        var lr: Double
        var momentum: Double
        var weightDecay: Double
        var nesterov: Bool?
        enum CodingKeys: String, CodingKey { case lr, momentum, weightDecay = "weight_decay", nesterov }
    }
    struct Layer: Codable, Equatable { var width: Int }
    struct Train: Codable, Equatable {
        var steps: Int; var batchSize: Int
        enum CodingKeys: String, CodingKey { case steps, batchSize = "batch_size" }
    }
    var name: String
    var seed: Int?
    var optimizer: Optimizer
    var layers: [Layer]
    var train: Train

    func validate() throws {
        try ConfigError.require(
            optimizer.lr > 0, keyPath: "optimizer.lr", expected: "a positive number",
            found: optimizer.lr)
        try ConfigError.require(train.steps >= 1, keyPath: "train.steps", expected: "at least 1", found: train.steps)
    }
}

final class StrictConfigTests: XCTestCase {
    let source = "Configs/x.json"
    let good = """
        {
          "name": "mlp",
          "optimizer": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005},
          "layers": [{"width": 128}, {"width": 10}],
          "train": {"steps": 1940, "batch_size": 64}
        }
        """

    /// The message for `json` (decoded as SampleConfig), or "ok".
    func message(_ json: String) -> String {
        do {
            _ = try StrictConfig.decode(SampleConfig.self, from: Data(json.utf8), source: source)
            return "ok"
        } catch let error as ArtifactError {
            XCTAssertEqual(error.kind, .config)
            return error.description
        } catch { return "unexpected \(error)" }
    }

    func edit(_ from: String, _ to: String) -> String {
        XCTAssertTrue(good.contains(from))
        return good.replacingOccurrences(of: from, with: to)
    }

    func testGoodFileDecodes() throws {
        let config = try StrictConfig.decode(SampleConfig.self, from: Data(good.utf8), source: source)
        XCTAssertEqual(config.optimizer.weightDecay, 0.0005)
        XCTAssertEqual(config.layers.map(\.width), [128, 10])
        XCTAssertNil(config.seed)
        XCTAssertNil(config.optimizer.nesterov)
        // Known optionals with values are accepted.
        let withOptionals = edit(#""name": "mlp","#, #""name": "mlp", "seed": 7,"#)
            .replacingOccurrences(of: #""weight_decay": 0.0005"#, with: #""weight_decay": 0.0005, "nesterov": true"#)
        let decoded = try StrictConfig.decode(SampleConfig.self, from: Data(withOptionals.utf8), source: source)
        XCTAssertEqual(decoded.seed, 7)
        XCTAssertEqual(decoded.optimizer.nesterov, true)
    }

    func testUnknownKey() {
        XCTAssertEqual(
            message(edit(#""momentum": 0.9"#, #""momentum": 0.9, "lrr": 1"#)),
            "Configs/x.json: unknown key 'optimizer.lrr' (expected one of: lr, momentum, nesterov, weight_decay)")
        XCTAssertEqual(
            message(edit(#"{"width": 10}"#, #"{"width": 10, "heigth": 3}"#)),
            "Configs/x.json: unknown key 'layers[1].heigth' (expected one of: width)")
        XCTAssertEqual(
            message(edit(#""name": "mlp","#, #""name": "mlp", "weightDecay": 1,"#)),
            "Configs/x.json: unknown key 'weightDecay' (expected one of: layers, name, optimizer, seed, train)")
    }

    func testMisspeltRequiredKeyIsReportedAsMissingWithWhatIsThere() {
        XCTAssertEqual(
            message(edit(#""lr": 0.01"#, #""lrr": 0.01"#)),
            "Configs/x.json: missing required key 'optimizer.lr' "
                + "(the object has keys: lrr, momentum, weight_decay)")
    }

    func testNullIsAcceptedForKnownOptionalsOnly() throws {
        let explicitNull = edit(#""name": "mlp","#, #""name": "mlp", "seed": null,"#)
        XCTAssertNil(try StrictConfig.decode(SampleConfig.self, from: Data(explicitNull.utf8), source: source).seed)
        XCTAssertEqual(
            message(edit(#""name": "mlp","#, #""name": "mlp", "sed": null,"#)),
            "Configs/x.json: unknown key 'sed' (expected one of: layers, name, optimizer, seed, train)")
    }

    func testIntegralNumbersAndRanges() throws {
        let exponent = edit(#""steps": 1940"#, #""steps": 2e3"#)
        XCTAssertEqual(
            try StrictConfig.decode(SampleConfig.self, from: Data(exponent.utf8), source: source).train.steps,
            2000)
        XCTAssertEqual(
            message(edit(#""steps": 1940"#, #""steps": 1e30"#)),
            "Configs/x.json: key 'train.steps': expected an integer in "
                + "-9223372036854775808...9223372036854775807, found a number (1e+30)")
        XCTAssertEqual(
            message(edit(#""name": "mlp""#, #""name": "mlp", "name": "cnn""#)),
            "Configs/x.json: malformed JSON at line 2, column 18: duplicate key 'name'")
    }

    func testWrongType() {
        XCTAssertEqual(
            message(edit(#""steps": 1940"#, #""steps": "1940""#)),
            "Configs/x.json: key 'train.steps': expected an integer, found a string")
        XCTAssertEqual(
            message(edit(#""steps": 1940"#, #""steps": 19.5"#)),
            "Configs/x.json: key 'train.steps': expected an integer, found a number (19.5)")
        XCTAssertEqual(
            message(edit(#""lr": 0.01"#, #""lr": true"#)),
            "Configs/x.json: key 'optimizer.lr': expected a number, found a boolean")
        XCTAssertEqual(
            message(edit(#"{"width": 128}"#, #"{"width": [128]}"#)),
            "Configs/x.json: key 'layers[0].width': expected an integer, found an array")
        XCTAssertEqual(
            message(edit(#""name": "mlp""#, #""name": null"#)),
            "Configs/x.json: key 'name': expected a string, found null")
        XCTAssertEqual(message("[1, 2]"), "Configs/x.json: expected an object at the top level, found an array")
    }

    func testOutOfRange() {
        XCTAssertEqual(
            message(edit(#""lr": 0.01"#, #""lr": -1"#)),
            "Configs/x.json: key 'optimizer.lr': expected a positive number, found -1")
        XCTAssertEqual(
            message(edit(#""lr": 0.01"#, #""lr": -0.5"#)),
            "Configs/x.json: key 'optimizer.lr': expected a positive number, found -0.5")
        XCTAssertEqual(
            message(edit(#""steps": 1940"#, #""steps": 0"#)),
            "Configs/x.json: key 'train.steps': expected at least 1, found 0")
    }

    func testMalformedJSONMentionsLine() {
        XCTAssertEqual(
            message(edit(#""momentum": 0.9,"#, #""momentum": 0.9,,"#)),
            "Configs/x.json: malformed JSON at line 3, column 45: expected a quoted key")
        XCTAssertEqual(
            message(edit(#"{"width": 10}]"#, #"{"width": 10}"#)),
            "Configs/x.json: malformed JSON at line 5, column 10: expected ',' or ']' after an array element")
        XCTAssertEqual(
            message("{\"name\": \"ml\np\"}"),
            "Configs/x.json: malformed JSON at line 1, column 13: control character in a string (escape it)")
        XCTAssertEqual(
            message(""),
            "Configs/x.json: malformed JSON at line 1, column 1: unexpected end of input, "
                + "expected a value")
    }

    func testLoadFromFileAndMissingFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/good.json"
        try good.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try StrictConfig.load(SampleConfig.self, from: path).train.batchSize, 64)
        let missing = directory + "/absent.json"
        let error = artifactError { _ = try StrictConfig.load(SampleConfig.self, from: missing) }
        XCTAssertEqual(error?.kind, .notFound)
        XCTAssertEqual(error?.description, "\(missing): no such file; pass --config with an existing JSON file")
        XCTAssertEqual(try ConfigHash.of(file: path), ConfigHash.of(data: Data(good.utf8)))
    }

    func testConfigErrorFormatting() {
        XCTAssertEqual(
            ConfigError.outOfRange(keyPath: "lr", expected: "a positive number", found: -1.0).description,
            "key 'lr': expected a positive number, found -1")
        XCTAssertEqual(
            ConfigError.outOfRange(keyPath: "lr", expected: "a positive number", found: Float(1e-3)).description,
            "key 'lr': expected a positive number, found 0.0010000000474974513")
        XCTAssertEqual(
            ConfigError.outOfRange(keyPath: "optimizer.kind", expected: "sgd or adamw", found: "adam").description,
            "key 'optimizer.kind': expected sgd or adamw, found 'adam'")
    }
}
