import Foundation
import Tensor

/// The grokking model "SingleLayerTransformerClassifier" of the modulo-addition experiment (docs/METHOD.md §14).
///
/// Input per sample: the four tokens `[a, 113 ('+'), b, 114 ('=')]` as exact Float values. With d = 64:
/// 1. `X = 8 · E[t]` (E: 115 × 64). The positional table `pe` (1 × 10 × 64) exists but is unused, as in the original,
///    so the model is order-blind and `pe` always has zero gradient.
/// 2. Four heads of width 16, each with one shared Q = K = V projection (`SharedProjectionAttention`), summed
///    through their decoders into U; no residual around attention. Only position 3's query row is computed (exact).
/// 3. `V = U + ReLU(ReLU(U W1ᵀ + b1) W2ᵀ + b2)` (W1: 512 × 64, W2: 64 × 512).
/// 4. `f = log_softmax(V W_outᵀ)` at position 3 (W_out: 115 × 64, no bias).
///
/// P = 89,664 (of which 640 are the unused `pe`). Buffers below are named by their shapes for n samples.
public final class ModuloTransformer: Model {
    /// Vocabulary: residues 0…112, '+' = 113, '=' = 114; also the number of output classes.
    public static let vocabularySize = 115
    public static let modelDimensions = 64
    public static let heads = 4
    public static let headDimensions = 16
    public static let hiddenDimensions = 512
    /// Tokens per sample.
    public static let sequenceLength = 4
    /// Rows of the (unused) positional table.
    public static let positionalTableLength = 10
    /// Embedding scale √d = 8.
    public static let embeddingScale: Float = 8

    /// The named component groups of the component-attribution analysis (docs/METHOD.md §16 table), in the table's order.
    /// The last group, "model", is every trained component (all but `positional_encoding.pe`), i.e. the union of the
    /// others; do not sum it together with them.
    public static let componentGroups: [(name: String, components: [String])] = [
        ("embedding", ["input_emb.weight"]),
        ("att. encoders", (1...4).map { "head\($0)_encoder.weight" }),
        ("att. decoders", (1...4).map { "head\($0)_decoder.weight" }),
        ("linear1", ["linear1.weight", "linear1.bias"]),
        ("linear2", ["linear2.weight", "linear2.bias"]),
        ("decoder", ["decoder.weight"]),
        (
            "model",
            ["input_emb.weight"] + (1...4).map { "head\($0)_encoder.weight" }
                + (1...4).map { "head\($0)_decoder.weight" }
                + ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "decoder.weight"]
        ),
    ]

    public let name = "SingleLayerTransformerClassifier"
    public let layout: ParameterLayout
    public let inputShape = [ModuloTransformer.sequenceLength]
    public let classCount = ModuloTransformer.vocabularySize

    let embedding: Embedding
    let positionalEncoding: ParameterLayout.Component
    let attention: SharedProjectionAttention
    let linear1: Linear
    let linear2: Linear
    let decoder: Linear

    public init() {
        let V = Self.vocabularySize, d = Self.modelDimensions
        var layout = ParameterLayout()
        embedding = Embedding(&layout, name: "input_emb", vocabularySize: V, dimensions: d)
        positionalEncoding = layout.add("positional_encoding.pe", [1, Self.positionalTableLength, d])
        attention = SharedProjectionAttention(
            &layout, modelDimensions: d, heads: Self.heads,
            headDimensions: Self.headDimensions, sequenceLength: Self.sequenceLength)
        linear1 = Linear(&layout, name: "linear1", inFeatures: d, outFeatures: Self.hiddenDimensions)
        linear2 = Linear(&layout, name: "linear2", inFeatures: Self.hiddenDimensions, outFeatures: d)
        decoder = Linear(&layout, name: "decoder", inFeatures: d, outFeatures: V, bias: false)
        self.layout = layout
    }

    /// PyTorch defaults, drawn in component order: E ~ N(0,1), pe ~ N(0,1), encoders U(±1/8), decoders U(±1/4),
    /// linear1 U(±1/8), linear2 U(±1/√512), decoder U(±1/8).
    public func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        embedding.initialize(&theta, rng: &rng)
        theta.withUnsafeMutableBufferPointer { p in
            rng.fillNormal(UnsafeMutableBufferPointer(rebasing: p[positionalEncoding.range]))
        }
        attention.initialize(&theta, rng: &rng)
        linear1.initialize(&theta, rng: &rng)
        linear2.initialize(&theta, rng: &rng)
        decoder.initialize(&theta, rng: &rng)
        return theta
    }

    /// Saved activations of one forward pass (raw buffers owned by `arena`).
    struct Activations {
        let arena: FloatArena
        let x: UnsafeMutablePointer<Float>  // (n, T, d)   8·E[t]
        let projected: UnsafeMutablePointer<Float>  // (n, T, 64)  H of all heads
        let weights: UnsafeMutablePointer<Float>  // (n, 4, T)   attention of query 3
        let mixed: UnsafeMutablePointer<Float>  // (n, 64)     O of all heads
        let u: UnsafeMutablePointer<Float>  // (n, d)
        let z1: UnsafeMutablePointer<Float>  // (n, 512)
        let r1: UnsafeMutablePointer<Float>  // (n, 512)
        let z2: UnsafeMutablePointer<Float>  // (n, d)
        let r2: UnsafeMutablePointer<Float>  // (n, d)
        let v: UnsafeMutablePointer<Float>  // (n, d)
        let logits: UnsafeMutablePointer<Float>  // (n, C)
        let logProbs: UnsafeMutablePointer<Float>  // (n, C)
    }

    func runForward(_ theta: UnsafePointer<Float>, tokens: UnsafePointer<Float>, samples n: Int) -> Activations {
        let T = Self.sequenceLength, d = Self.modelDimensions, D = Self.hiddenDimensions, C = classCount
        let sizes = attention.bufferSizes(samples: n)
        let arena = FloatArena()
        let act = Activations(
            arena: arena, x: arena.make(n * T * d), projected: arena.make(sizes.0),
            weights: arena.make(sizes.1), mixed: arena.make(sizes.2), u: arena.make(n * d),
            z1: arena.make(n * D), r1: arena.make(n * D), z2: arena.make(n * d), r2: arena.make(n * d),
            v: arena.make(n * d), logits: arena.make(n * C), logProbs: arena.make(n * C))
        // X = 8·E[t]
        embedding.forward(theta, tokens: tokens, y: act.x, rows: n * T, scale: Self.embeddingScale)
        // U = Σ_h softmax(H_h[3] H_hᵀ/4) H_h D_hᵀ
        attention.forward(
            theta, x: act.x, projected: act.projected, weights: act.weights, mixed: act.mixed, y: act.u, samples: n)
        // r1 = ReLU(U W1ᵀ + b1)
        linear1.forward(theta, x: act.u, y: act.z1, rows: n)
        ReLU.forward(act.z1, act.r1, count: n * D)
        // r2 = ReLU(r1 W2ᵀ + b2)
        linear2.forward(theta, x: act.r1, y: act.z2, rows: n)
        ReLU.forward(act.z2, act.r2, count: n * d)
        // V = U + r2
        act.v.update(from: act.u, count: n * d)
        Vector.add(act.r2, into: act.v, count: n * d)
        // f = log_softmax(V W_outᵀ)
        decoder.forward(theta, x: act.v, y: act.logits, rows: n)
        LogSoftmax.forward(act.logits, act.logProbs, rows: n, classes: C)
        return act
    }

    private func checkInputs(_ inputs: Tensor) -> Int {
        precondition(
            inputs.rank == 2 && inputs.shape[1] == Self.sequenceLength,
            "ModuloTransformer: inputs must be (n, \(Self.sequenceLength)) tokens, got \(inputs.shape)")
        return inputs.shape[0]
    }

    public func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let n = checkInputs(inputs), C = classCount
        precondition(
            parameters.count == layout.count,
            "ModuloTransformer: θ has \(parameters.count) values, expected \(layout.count)")
        return logProbabilities(samples: n, classes: C, parameters: parameters, inputs: inputs) { theta, tokens in
            let act = runForward(theta, tokens: tokens, samples: n)
            return (act.arena, UnsafePointer(act.logProbs))
        }
    }

    @discardableResult
    public func backward(
        parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink
    ) -> Tensor {
        let n = checkInputs(inputs), C = classCount
        let T = Self.sequenceLength, d = Self.modelDimensions, D = Self.hiddenDimensions
        precondition(
            parameters.count == layout.count,
            "ModuloTransformer: θ has \(parameters.count) values, expected \(layout.count)")
        precondition(outputGradients.shape == [n, C], "ModuloTransformer: output gradients must be (\(n), \(C))")
        var out = [Float](repeating: 0, count: n * C)
        parameters.withPointer { theta in
            inputs.storage.withPointer { tokens in
                outputGradients.storage.withPointer { df in
                    let act = runForward(theta, tokens: tokens, samples: n)
                    let arena = act.arena
                    let dLogits = arena.make(n * C)  // (n, C)
                    let dV = arena.make(n * d)  // (n, d)
                    let dZ2 = arena.make(n * d)  // (n, d)
                    let dR1 = arena.make(n * D)  // (n, 512)
                    let dZ1 = arena.make(n * D)  // (n, 512)
                    let dU = arena.make(n * d)  // (n, d)
                    let dX = arena.make(n * T * d)  // (n, T, d)
                    // f = log_softmax(logits)
                    LogSoftmax.backward(output: act.logProbs, gradOutput: df, gradInput: dLogits, rows: n, classes: C)
                    // logits = V W_outᵀ
                    decoder.backward(theta, x: act.v, dy: dLogits, dx: dV, rows: n, sink: sink)
                    // V = U + r2: both branches receive dV
                    dU.update(from: dV, count: n * d)
                    // r2 = ReLU(z2), z2 = r1 W2ᵀ + b2
                    ReLU.backward(input: act.z2, gradOutput: dV, gradInput: dZ2, count: n * d)
                    linear2.backward(theta, x: act.r1, dy: dZ2, dx: dR1, rows: n, sink: sink)
                    // r1 = ReLU(z1), z1 = U W1ᵀ + b1
                    ReLU.backward(input: act.z1, gradOutput: dR1, gradInput: dZ1, count: n * D)
                    linear1.backward(theta, x: act.u, dy: dZ1, dx: dU, rows: n, sink: sink)
                    // U = attention(X)
                    attention.backward(
                        theta, x: act.x, projected: act.projected, weights: act.weights, mixed: act.mixed,
                        dy: dU, dx: dX, samples: n, sink: sink)
                    // X = 8·E[t]; pe receives nothing (unused).
                    embedding.backward(
                        tokens: tokens, dy: dX, rows: n * T, positionsPerSample: T,
                        scale: Self.embeddingScale, sink: sink)
                    withExtendedLifetime(arena) {
                        out.withMutablePointer { $0.update(from: act.logProbs, count: n * C) }
                    }
                }
            }
        }
        return Tensor(shape: [n, C], storage: out)
    }
}
