import Foundation
import Tensor
import XCTest

@testable import NN

/// Spec-built models against the hand-written ones, and the spec's shape checks.
final class SpecModelTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func loadSpec(_ file: String) throws -> SpecModel {
        let data = try Data(contentsOf: repository.appendingPathComponent("Configs/models/\(file)"))
        return try SpecModel(JSONDecoder().decode(ModelSpec.self, from: data))
    }

    /// Largest |a − b| relative to the largest |b|.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var worst = 0.0, scale = 1e-30
        for i in a.indices { worst = max(worst, Double(abs(a[i] - b[i]))); scale = max(scale, Double(abs(b[i]))) }
        return worst / scale
    }

    /// Same layout, identical θ₀ for one seed, same outputs and per-sample gradients (to 1e-6).
    func assertEquivalent(
        _ spec: Model, _ reference: Model, inputs: Tensor, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(spec.layout, reference.layout, file: file, line: line)
        XCTAssertEqual(spec.inputShape, reference.inputShape, file: file, line: line)
        XCTAssertEqual(spec.classCount, reference.classCount, file: file, line: line)
        var r1 = RNG(seed: 5), r2 = RNG(seed: 5)
        let theta = spec.initialParameters(rng: &r1)
        XCTAssertEqual(theta, reference.initialParameters(rng: &r2), "θ₀", file: file, line: line)
        let f = spec.forward(parameters: theta, inputs: inputs),
            g = reference.forward(parameters: theta, inputs: inputs)
        XCTAssertLessThan(Self.relativeDifference(f.storage, g.storage), 1e-6, "outputs", file: file, line: line)
        let n = inputs.shape[0]
        let classes = (0..<n).map { $0 % spec.classCount }
        let a = spec.perSampleGradients(parameters: theta, inputs: inputs, classes: classes)
        let b = reference.perSampleGradients(parameters: theta, inputs: inputs, classes: classes)
        XCTAssertLessThan(Self.relativeDifference(a, b), 1e-6, "per-sample gradients", file: file, line: line)
    }

    func testMNISTMLPSpecMatchesHandWrittenModel() throws {
        let spec = try Self.loadSpec("mnist-mlp.json")
        XCTAssertEqual(spec.name, "MNISTMLP")
        assertEquivalent(spec, MNISTMLP(), inputs: SequenceFixtures.normalTensor([6, 784], seed: 1))
    }

    func testResNet9SpecMatchesHandWrittenModel() throws {
        let spec = try Self.loadSpec("resnet9.json")
        XCTAssertEqual(spec.parameterCount, 2_271_168)
        XCTAssertEqual(spec.attributionGroups.map(\.name), ResNet9().attributionGroups.map(\.name))
        assertEquivalent(spec, ResNet9(), inputs: SequenceFixtures.normalTensor([2, 3, 32, 32], seed: 2))
    }

    func testTransformerLMSpecMatchesHandWrittenModel() throws {
        let shape = TransformerLM.Shape(vocabularySize: 7, contextLength: 5, modelDimensions: 8, layers: 2, heads: 2)
        let spec = try SpecModel(.transformerLM(shape))
        assertEquivalent(spec, TransformerLM(shape), inputs: SequenceFixtures.tokens(3, 5, vocabulary: 7, seed: 3))
        // The spec survives its own JSON round trip.
        let again = try JSONDecoder().decode(ModelSpec.self, from: Data(spec.spec.json().utf8))
        XCTAssertEqual(again, spec.spec)
    }

    /// Every layer kind in three tiny models (images, tokens, shared-projection attention), each with its inputs
    /// for n samples.
    static let everyLayerKind: [(spec: String, inputs: (Int) -> Tensor)] = [
        (
            """
            {"input_shape": [72], "layers": [
              {"kind": "reshape", "shape": [2, 6, 6]},
              {"kind": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
              {"kind": "tanh"},
              {"kind": "residual", "layers": [{"kind": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1}, {"kind": "relu"}]},
              {"kind": "max_pool2d"},
              {"kind": "conv2d", "in_channels": 3, "out_channels": 4, "kernel": 2, "stride": 1},
              {"kind": "global_max_pool"},
              {"kind": "flatten"},
              {"kind": "linear", "out_features": 6},
              {"kind": "gelu"},
              {"kind": "layer_norm"},
              {"kind": "linear", "out_features": 3, "bias": false},
              {"kind": "log_softmax"}]}
            """,
            { SequenceFixtures.normalTensor([$0, 72], seed: 4) }
        ),
        (
            """
            {"input_shape": [4], "input": "tokens", "layers": [
              {"kind": "embedding", "vocabulary": 5, "dimensions": 4, "scale": 2},
              {"kind": "positional", "init_std": 0.1},
              {"kind": "residual", "layers": [{"kind": "layer_norm"}, {"kind": "causal_self_attention", "heads": 2}]},
              {"kind": "tanh"},
              {"kind": "linear", "out_features": 5},
              {"kind": "log_softmax"}]}
            """,
            { SequenceFixtures.tokens($0, 4, vocabulary: 5, seed: 5) }
        ),
        (
            """
            {"input_shape": [3], "input": "tokens", "layers": [
              {"kind": "embedding", "vocabulary": 6, "dimensions": 4},
              {"kind": "parameter", "name": "unused", "shape": [2, 4]},
              {"kind": "shared_qkv_attention", "heads": 2, "head_dimensions": 2},
              {"kind": "linear", "out_features": 6},
              {"kind": "log_softmax"}]}
            """,
            { SequenceFixtures.tokens($0, 3, vocabulary: 6, seed: 8) }
        ),
    ]

    static func model(_ text: String) throws -> SpecModel {
        try SpecModel(JSONDecoder().decode(ModelSpec.self, from: Data(text.utf8)))
    }

    /// Every layer kind: finite differences and the per-sample sinks.
    func testGradientChecksCoverEveryLayerKind() throws {
        // The image model has ReLU and max-pool kinks, so its step is smaller (1e-3); the smooth token model keeps the
        // default 1e-2, where Float32 round-off stays small.
        for ((text, makeInputs), step) in zip(Self.everyLayerKind, [Float(1e-3), 1e-2, 1e-2]) {
            let model = try Self.model(text), inputs = makeInputs(3)
            var rng = RNG(seed: 9)
            let theta = model.initialParameters(rng: &rng)
            let w = SequenceFixtures.normalTensor([inputs.shape[0], model.classCount], seed: 6)
            for name in model.layout.names {
                XCTAssertLessThan(
                    GradientCheck.directionalError(
                        model, parameters: theta, inputs: inputs, outputGradients: w,
                        directions: 2, step: step, component: name), 1e-2, name)
            }
            XCTAssertLessThan(
                GradientCheck.perSampleSumError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-5)
            XCTAssertLessThan(
                GradientCheck.perSampleDotError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-5)
        }
    }

    /// `forwardChunk` counts what a forward pass holds: for every layer kind, and for an image reshaped to another
    /// image and ReLUs in place after a conv and a linear layer, the count is the floats the pass takes from its
    /// arena besides the convolutions' workspace. The spec ResNet-9 holds as much per image as the hand-written one
    /// and evaluates in the same chunks.
    func testActivationCountIsWhatTheForwardPassTakes() throws {
        let inPlace = """
            {"input_shape": [2, 6, 6], "layers": [
              {"kind": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
              {"kind": "relu"},
              {"kind": "reshape", "shape": [3, 4, 9]},
              {"kind": "relu"},
              {"kind": "flatten"},
              {"kind": "linear", "out_features": 5},
              {"kind": "relu"},
              {"kind": "log_softmax"}]}
            """
        for (text, makeInputs) in Self.everyLayerKind + [
            (inPlace, { SequenceFixtures.normalTensor([$0, 72], seed: 3) })
        ] {
            let model = try Self.model(text)
            var rng = RNG(seed: 10)
            let theta = model.initialParameters(rng: &rng)
            for n in [1, 3] {
                let taken = theta.withPointer { t in
                    makeInputs(n).storage.withPointer { x in model.run(t, x, samples: n).ctx.arena.floats }
                }
                let workspace = max(1, model.nodes.map { $0.workspaceCount(samples: n) }.max() ?? 0)
                XCTAssertEqual(taken - workspace, model.activationCount(samples: n), "\(n) samples of \(text)")
            }
        }
        let spec = try Self.loadSpec("resnet9.json"), hand = ResNet9()
        XCTAssertEqual(
            spec.activationCount(samples: 1), ResNet9Activations.activationCounts(hand, samples: 1).reduce(0, +))
        XCTAssertEqual(spec.forwardChunk, hand.forwardChunk)
    }

    func testTanhBackwardMatchesFiniteDifference() {
        let x: [Float] = [-1.5, -0.2, 0, 0.7, 2]
        var y = [Float](repeating: 0, count: 5), dx = [Float](repeating: 0.5, count: 5)
        let dy: [Float] = [1, 2, -1, 0.5, 3]
        x.withPointer { xp in y.withMutablePointer { Tanh.forward(xp, $0, count: 5) } }
        y.withPointer { yp in
            dy.withPointer { dyp in
                dx.withMutablePointer { Tanh.backward(output: yp, gradOutput: dyp, gradInput: $0, count: 5) }
            }
        }
        for i in 0..<5 {
            let h = 1e-3
            let fd = (Foundation.tanh(Double(x[i]) + h) - Foundation.tanh(Double(x[i]) - h)) / (2 * h)
            XCTAssertEqual(Double(dx[i]), 0.5 + Double(dy[i]) * fd, accuracy: 1e-5)  // accumulates onto 0.5
        }
    }

    func shapeError(_ text: String) -> String {
        do {
            _ = try SpecModel(JSONDecoder().decode(ModelSpec.self, from: Data(text.utf8)))
            return "no error"
        } catch let e as SpecError { return e.description } catch { return "other error: \(error)" }
    }

    func testShapeMismatchesNameTheLayer() {
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [3, 8, 8], "layers": [{"kind": "conv2d", "out_channels": 64, "kernel": 3}, {"kind": "relu"},
                 {"kind": "max_pool2d"}, {"kind": "conv2d", "in_channels": 3, "out_channels": 4, "kernel": 1}, {"kind": "log_softmax"}]}
                """), "model.layers[3] conv2d: expects 3 input channels, gets 64")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [3, 8, 8], "layers": [{"kind": "linear", "out_features": 2}, {"kind": "log_softmax"}]}
                """), "model.layers[0] linear: expects features, gets an image 3×8×8; add a flatten layer before it")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [10], "layers": [{"kind": "residual", "layers": [{"kind": "linear", "out_features": 4}]}, {"kind": "log_softmax"}]}
                """),
            "model.layers[0] residual: the block maps 10 features to 4 features; a skip connection needs equal shapes")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [10], "layers": [{"kind": "linear", "name": "a", "out_features": 4}, {"kind": "linear", "name": "a", "out_features": 2}, {"kind": "log_softmax"}]}
                """), "model.layers[1] linear: component 'a.weight' already exists; give this layer another \"name\"")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [10], "layers": [{"kind": "linear", "out_features": 4}]}
                """), "model.layers: the last layer must be log_softmax (the classifier head), found linear")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [1, 3, 3], "layers": [{"kind": "conv2d", "out_channels": 2, "kernel": 5}, {"kind": "flatten"}, {"kind": "log_softmax"}]}
                """), "model.layers[0] conv2d: kernel 5 does not fit an image 1×3×3 with padding 0")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [12], "layers": [{"kind": "reshape", "shape": [2, 2, 2]}, {"kind": "log_softmax"}]}
                """), "model.layers[0] reshape: cannot reshape 12 features (12 values) to [2, 2, 2]")
        XCTAssertEqual(
            shapeError(
                """
                {"input_shape": [12], "layers": [{"kind": "embedding", "vocabulary": 3, "dimensions": 2}, {"kind": "log_softmax"}]}
                """), "model.layers[0] embedding: expects token ids (\"input\": \"tokens\"), gets 12 features")
    }
}

extension SpecModelTests {
    /// `Configs/models/char-lm.json` is the Configs/lm.json language model (KJV, 63 characters) as a spec.
    func testCharLMSpecFileIsTheTransformerLMShape() throws {
        let shape = TransformerLM.Shape(
            vocabularySize: 63, contextLength: 64, modelDimensions: 128, layers: 4, heads: 4)
        let file = try Self.loadSpec("char-lm.json")
        XCTAssertEqual(file.spec, ModelSpec.transformerLM(shape))
        XCTAssertEqual(file.layout, TransformerLM(shape).layout)
    }
}

extension SpecModelTests {
    func testModuloTransformerSpecMatchesHandWrittenModel() throws {
        let spec = try Self.loadSpec("modulo-transformer.json"), hand = ModuloTransformer()
        XCTAssertEqual(spec.unusedComponents, ["positional_encoding.pe"])
        XCTAssertEqual(spec.activeComponents, hand.activeComponents)
        XCTAssertEqual(spec.attributionGroups.map(\.name), hand.attributionGroups.map(\.name))
        XCTAssertEqual(spec.attributionGroups.map(\.components), hand.attributionGroups.map(\.components))
        assertEquivalent(spec, hand, inputs: SequenceFixtures.moduloInputs([(3, 5), (100, 12), (7, 7), (112, 0)]))
    }
}
