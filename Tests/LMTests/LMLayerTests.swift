import Tensor
import XCTest

@testable import NN

/// Gradient checks of the language-model layers (LayerNorm, causal attention, GELU, positional embedding) through
/// a tiny `TransformerLM`, plus targeted checks that each layer is really exercised.
final class LMLayerTests: XCTestCase {
    static let shape = TransformerLM.Shape(vocabularySize: 7, contextLength: 5, modelDimensions: 8, layers: 2, heads: 2)

    func tinyModel(seed: UInt64 = 3) -> (TransformerLM, [Float], Tensor, Tensor) {
        let model = TransformerLM(Self.shape)
        var rng = RNG(seed: seed)
        var theta = model.initialParameters(rng: &rng)
        // Larger-than-init weights so attention and LayerNorm are far from their trivial regimes.
        for p in theta.indices { theta[p] += 0.3 * Float(rng.normal()) }
        let n = 3, T = Self.shape.contextLength
        let tokens = (0..<(n * (T + 1))).map { _ in Float(rng.int(below: Self.shape.vocabularySize)) }
        var x = [Float](), y = [Float]()
        for i in 0..<n {
            x += tokens[(i * (T + 1))..<(i * (T + 1) + T)]; y += tokens[(i * (T + 1) + 1)..<((i + 1) * (T + 1))]
        }
        return (model, theta, Tensor(shape: [n, T], storage: x), Tensor(shape: [n, T], storage: y))
    }

    func randomCotangent(_ n: Int, _ C: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        return Tensor(shape: [n, C], storage: (0..<(n * C)).map { _ in Float(rng.normal()) })
    }

    func testLayoutAndOutputsAreLogSoftmaxBlocks() {
        let (model, theta, x, _) = tinyModel()
        let f = model.forward(parameters: theta, inputs: x)
        XCTAssertEqual(f.shape, [3, 5 * 7])
        for row in 0..<(3 * 5) {
            let s = (0..<7).reduce(0.0) { $0 + exp(Double(f.storage[row * 7 + $1])) }
            XCTAssertEqual(s, 1, accuracy: 1e-5)
        }
        // Module groups partition the components exactly.
        let named = model.componentGroups.flatMap(\.components)
        XCTAssertEqual(named.sorted(), model.layout.names.sorted())
        XCTAssertEqual(Set(named).count, named.count)
    }

    /// Evaluation chunks count what a forward pass takes from its arena: for the tiny model at 1 and 3 sequences,
    /// and 53 sequences of the character model (64 tokens, 4 blocks of width 128).
    func testForwardChunksCountTheActivations() {
        let (model, theta, x, _) = tinyModel()
        let T = Self.shape.contextLength
        for n in [1, 3] {
            let tokens = Tensor(shape: [n, T], storage: Array(x.storage.prefix(n * T)))
            let taken = theta.withPointer { t in
                tokens.storage.withPointer { model.runForward(t, tokens: $0, samples: n).arena.floats }
            }
            XCTAssertEqual(taken, model.activationCount(samples: n), "\(n) sequences")
        }
        let char = TransformerLM(
            .init(vocabularySize: 63, contextLength: 64, modelDimensions: 128, layers: 4, heads: 4))
        XCTAssertEqual(char.activationCount(samples: 1), 623_616)
        XCTAssertEqual(char.forwardChunk, 53)
    }

    func testCausality() {
        // Changing the last input token must not change any earlier position's prediction.
        let (model, theta, x, _) = tinyModel()
        var x2 = x
        x2.storage[4] = Float((Int(x.storage[4]) + 1) % 7)
        let a = model.forward(parameters: theta, inputs: x), b = model.forward(parameters: theta, inputs: x2)
        for p in 0..<4 { for v in 0..<7 { XCTAssertEqual(a.storage[p * 7 + v], b.storage[p * 7 + v]) } }
        XCTAssertNotEqual(a.storage[4 * 7], b.storage[4 * 7])
    }

    func testDirectionalGradientWholeModel() {
        let (model, theta, x, _) = tinyModel()
        let w = randomCotangent(3, model.classCount, seed: 5)
        let err = GradientCheck.directionalError(model, parameters: theta, inputs: x, outputGradients: w, directions: 6)
        XCTAssertLessThan(err, 1e-2)
    }

    func testDirectionalGradientPerLayer() {
        let (model, theta, x, _) = tinyModel()
        let w = randomCotangent(3, model.classCount, seed: 9)
        for name in [
            "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
            "h.1.attn.c_proj.weight", "h.0.mlp.c_fc.weight", "h.1.mlp.c_proj.bias", "h.1.ln_2.weight", "ln_f.weight",
            "lm_head.weight", "wte.weight",
        ] {
            let err = GradientCheck.directionalError(
                model, parameters: theta, inputs: x, outputGradients: w, directions: 2, component: name)
            XCTAssertLessThan(err, 1e-2, name)
        }
    }

    func testPerSampleRules() {
        let (model, theta, x, _) = tinyModel()
        let w = randomCotangent(3, model.classCount, seed: 13)
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(model, parameters: theta, inputs: x, outputGradients: w), 1e-4)
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(model, parameters: theta, inputs: x, outputGradients: w), 1e-5)
        // Per-sample rows are per sequence: the gradient of sequence 0 alone equals row 0.
        let P = model.parameterCount
        var rows = [Float](repeating: 0, count: 3 * P)
        rows.withMutablePointer {
            _ = model.backward(parameters: theta, inputs: x, outputGradients: w, into: .perSample($0, rowStride: P))
        }
        var single = [Float](repeating: 0, count: P)
        single.withMutablePointer {
            _ = model.backward(parameters: theta, inputs: x.rows(0..<1), outputGradients: w.rows(0..<1), into: .sum($0))
        }
        var worst: Float = 0, scale: Float = 0
        for p in 0..<P { worst = max(worst, abs(rows[p] - single[p])); scale = max(scale, abs(single[p])) }
        XCTAssertLessThan(worst / scale, 1e-5)
    }

    func testLanguageModelLossGradient() {
        let (model, theta, x, y) = tinyModel()
        let (loss, grad) = model.lossAndGradient(parameters: theta, inputs: x, targets: y)
        XCTAssertEqual(loss, model.loss(parameters: theta, inputs: x, targets: y), accuracy: 1e-6)
        // Central difference along the gradient direction.
        let norm = sqrt(grad.reduce(0.0) { $0 + Double($1 * $1) })
        let h: Float = 1e-2
        let plus = zip(theta, grad).map { $0 + h * $1 / Float(norm) },
            minus = zip(theta, grad).map { $0 - h * $1 / Float(norm) }
        let fd =
            (model.loss(parameters: plus, inputs: x, targets: y) - model.loss(parameters: minus, inputs: x, targets: y))
            / (2 * Double(h))
        XCTAssertEqual(fd / norm, 1, accuracy: 1e-2)
    }

    func testGELUAndLayerNormInIsolation() {
        // GELU: derivative against a central difference at a spread of points.
        let xs: [Float] = [-3, -1.2, -0.3, 0, 0.4, 1.5, 2.8]
        var ys = [Float](repeating: 0, count: xs.count), dx = [Float](repeating: 0, count: xs.count)
        let ones = [Float](repeating: 1, count: xs.count)
        xs.withPointer { x in
            ones.withPointer { o in
                dx.withMutablePointer { GELU.backward(input: x, gradOutput: o, gradInput: $0, count: xs.count) }
            }
        }
        for (i, v) in xs.enumerated() {
            var a = [v + 1e-2, v - 1e-2]
            a.withMutablePointer { p in ys.withMutablePointer { GELU.forward(p, $0, count: 2) } }
            XCTAssertEqual(Double(dx[i]), Double(ys[0] - ys[1]) / 2e-2, accuracy: 2e-3)
        }
        // LayerNorm: outputs have zero mean and unit variance per row with γ = 1, β = 0.
        var layout = ParameterLayout()
        let ln = LayerNorm(&layout, name: "ln", dimensions: 6)
        var theta = [Float](repeating: 0, count: layout.count)
        ln.initialize(&theta)
        let input: [Float] = [1, 2, 3, 4, 5, 9, -1, 0, 0, 0, 2, 7]
        var out = [Float](repeating: 0, count: 12), stats = [Float](repeating: 0, count: 4)
        theta.withPointer { t in
            input.withPointer { x in
                out.withMutablePointer { y in
                    stats.withMutablePointer { s in
                        ln.forward(t, x: x, y: y, mean: s, rstd: s + 2, rows: 2)
                    }
                }
            }
        }
        for r in 0..<2 {
            let row = out[(r * 6)..<(r * 6 + 6)].map(Double.init)
            let m = row.reduce(0, +) / 6
            XCTAssertEqual(m, 0, accuracy: 1e-6)
            XCTAssertEqual(row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 6, 1, accuracy: 1e-3)
        }
    }
}
