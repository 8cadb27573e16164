import Foundation
import Tensor

/// A small GPT-style decoder-only language model for the step explainer (docs/METHOD.md §19).
///
/// ```
/// x_0  = wte[token_p] + wpe[p]                                   (n, T, d)
/// for each block l:   x ← x + attn_l(ln_1,l(x));  x ← x + mlp_l(ln_2,l(x))   mlp = c_proj(GELU(c_fc(·))), d → 4d → d
/// f    = log_softmax(ln_f(x) W_lm_headᵀ)                         (n, T, V)
/// ```
///
/// **How a language model fits `Model`.** One sample is one window of T input tokens. The output row of sample i is
/// the flattened (T·V) block of next-token log-probabilities: class c = p·V + v is log P(x_{p+1} = v | x_≤p). So
/// `classCount = T·V`, each V-block is a log-softmax, and every generic tool (backward with any cotangent, per-sample
/// gradients = per-sequence gradients, gradient checks) applies unchanged. The language-model loss — the mean
/// next-token NLL over all n·T positions — is `lossAndGradient(parameters:inputs:targets:)` below: it back-propagates
/// the cotangent −1/(n·T) at each target entry. The classifier-only helpers (`lossAndGradient(labels:)`,
/// `evaluate`, the EPK engine) do not apply to it, since one label per sample is meaningless here.
///
/// Parameters (GPT-2 names): `wte.weight` (V, d), `wpe.weight` (T, d), per block `h.l.ln_1.{weight,bias}`,
/// `h.l.attn.c_attn.{weight,bias}`, `h.l.attn.c_proj.{weight,bias}`, `h.l.ln_2.*`, `h.l.mlp.c_fc.*`,
/// `h.l.mlp.c_proj.*`, then `ln_f.*` and an untied `lm_head.weight` (V, d). Initialisation as GPT-2: weights
/// N(0, 0.02²), residual projections (`c_proj`) N(0, (0.02/√(2L))²), biases 0, LayerNorm γ = 1, β = 0.
public final class TransformerLM: Model, ModelDescription {
    /// Architecture hyper-parameters.
    public struct Shape: Equatable, Sendable, Codable {
        public var vocabularySize: Int
        public var contextLength: Int
        public var modelDimensions: Int
        public var layers: Int
        public var heads: Int
        public init(vocabularySize: Int, contextLength: Int, modelDimensions: Int, layers: Int, heads: Int) {
            self.vocabularySize = vocabularySize; self.contextLength = contextLength
            self.modelDimensions = modelDimensions; self.layers = layers; self.heads = heads
        }
        enum CodingKeys: String, CodingKey {
            case vocabularySize = "vocabulary_size", contextLength = "context_length", modelDimensions =
                "model_dimensions", layers, heads
        }
    }

    struct Block: Sendable {
        let ln1: LayerNorm
        let attention: CausalSelfAttention
        let ln2: LayerNorm
        let fc: Linear
        let proj: Linear
    }

    public let shape: Shape
    public let name = "TransformerLM"
    public let layout: ParameterLayout
    public var inputShape: [Int] { [shape.contextLength] }
    public var classCount: Int { shape.contextLength * shape.vocabularySize }

    /// A forward pass keeps every block's activations and attention weights (623,616 floats, 2.5 MB, per sequence of
    /// the character model), so an evaluation runs in chunks of `forwardChunkFloats` (53 sequences there) rather than
    /// the default 500, whose pass would take 1.2 GB.
    public var forwardChunk: Int { Self.forwardChunk(holding: activationCount(samples: 1)) }

    let tokenEmbedding: Embedding
    let positionalEmbedding: ParameterLayout.Component
    let blocks: [Block]
    let finalNorm: LayerNorm
    let head: Linear

    public init(_ shape: Shape) {
        precondition(
            shape.vocabularySize > 1 && shape.contextLength > 0 && shape.layers > 0,
            "TransformerLM: invalid shape \(shape)")
        self.shape = shape
        let V = shape.vocabularySize, T = shape.contextLength, d = shape.modelDimensions
        var layout = ParameterLayout()
        tokenEmbedding = Embedding(&layout, name: "wte", vocabularySize: V, dimensions: d)
        positionalEmbedding = layout.add("wpe.weight", [T, d])
        var blocks: [Block] = []
        for l in 0..<shape.layers {
            let p = "h.\(l)"
            let ln1 = LayerNorm(&layout, name: "\(p).ln_1", dimensions: d)
            let attention = CausalSelfAttention(
                &layout, name: "\(p).attn", modelDimensions: d, heads: shape.heads, sequenceLength: T)
            let ln2 = LayerNorm(&layout, name: "\(p).ln_2", dimensions: d)
            let fc = Linear(&layout, name: "\(p).mlp.c_fc", inFeatures: d, outFeatures: 4 * d)
            let proj = Linear(&layout, name: "\(p).mlp.c_proj", inFeatures: 4 * d, outFeatures: d)
            blocks.append(Block(ln1: ln1, attention: attention, ln2: ln2, fc: fc, proj: proj))
        }
        self.blocks = blocks
        finalNorm = LayerNorm(&layout, name: "ln_f", dimensions: d)
        head = Linear(&layout, name: "lm_head", inFeatures: d, outFeatures: V, bias: false)
        self.layout = layout
    }

    /// Module groups for the step explainer (docs/METHOD.md §19): embeddings, then per layer its attention, MLP and the two
    /// norms, then the final norm and the unembedding. They partition the components exactly.
    public var componentGroups: [(name: String, components: [String])] {
        var groups: [(String, [String])] = [("embedding", ["wte.weight"]), ("pos. embedding", ["wpe.weight"])]
        for l in 0..<shape.layers {
            let p = "h.\(l)"
            groups.append(
                (
                    "L\(l) attn",
                    [
                        "\(p).attn.c_attn.weight", "\(p).attn.c_attn.bias", "\(p).attn.c_proj.weight",
                        "\(p).attn.c_proj.bias",
                    ]
                ))
            groups.append(
                (
                    "L\(l) mlp",
                    ["\(p).mlp.c_fc.weight", "\(p).mlp.c_fc.bias", "\(p).mlp.c_proj.weight", "\(p).mlp.c_proj.bias"]
                ))
            groups.append(
                ("L\(l) norms", ["\(p).ln_1.weight", "\(p).ln_1.bias", "\(p).ln_2.weight", "\(p).ln_2.bias"]))
        }
        groups.append(("final norm", ["ln_f.weight", "ln_f.bias"]))
        groups.append(("unembedding", ["lm_head.weight"]))
        return groups
    }
    public var unusedComponents: [String] { [] }

    public func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        let residualStd = Float(0.02 / (2 * Double(shape.layers)).squareRoot())
        theta.withUnsafeMutableBufferPointer { p in
            func normal(_ c: ParameterLayout.Component, _ std: Float) {
                rng.fillNormal(UnsafeMutableBufferPointer(rebasing: p[c.range]), std: std)
            }
            normal(tokenEmbedding.weight, 0.02)
            normal(positionalEmbedding, 0.01)
            for b in blocks {
                normal(b.attention.qkv.weight, 0.02)
                normal(b.attention.projection.weight, residualStd)
                normal(b.fc.weight, 0.02)
                normal(b.proj.weight, residualStd)
            }
            normal(head.weight, 0.02)
        }
        for b in blocks { b.ln1.initialize(&theta); b.ln2.initialize(&theta) }
        finalNorm.initialize(&theta)
        return theta
    }

    /// Saved activations of one forward pass (owned by `arena`). R = n·T rows.
    struct Activations {
        let arena: FloatArena
        let residual: [UnsafeMutablePointer<Float>]  // L+1 × (R, d): input of block l; [L] is the final stream
        let afterAttention: [UnsafeMutablePointer<Float>]  // L × (R, d): x + attn(ln_1(x))
        let ln1: [UnsafeMutablePointer<Float>]  // L × (R, d)
        let ln1Stats: [UnsafeMutablePointer<Float>]  // L × (2R): mean, rstd
        let attention: [CausalSelfAttention.Buffers]
        let ln2: [UnsafeMutablePointer<Float>]  // L × (R, d)
        let ln2Stats: [UnsafeMutablePointer<Float>]  // L × (2R)
        let fc: [UnsafeMutablePointer<Float>]  // L × (R, 4d) pre-activation
        let gelu: [UnsafeMutablePointer<Float>]  // L × (R, 4d)
        let lnf: UnsafeMutablePointer<Float>  // (R, d)
        let lnfStats: UnsafeMutablePointer<Float>  // (2R)
        let logits: UnsafeMutablePointer<Float>  // (R, V)
        let logProbs: UnsafeMutablePointer<Float>  // (R, V)
    }

    /// Floats `runForward` takes from its arena for n samples: the residual stream (L + 1), after each attention,
    /// both norms' outputs, the final norm's and one scratch (R, d) each; the norms' statistics (2R each); the
    /// attention buffers; c_fc and GELU (R, 4d) per block; logits and log-probabilities (R, V).
    func activationCount(samples n: Int) -> Int {
        let T = shape.contextLength, d = shape.modelDimensions, V = shape.vocabularySize, L = shape.layers, R = n * T
        let sizes = blocks.isEmpty ? (0, 0, 0) : blocks[0].attention.bufferSizes(samples: n)
        return (4 * L + 3) * R * d + 2 * (2 * L + 1) * R + L * (sizes.0 + sizes.1 + sizes.2) + 8 * L * R * d
            + 2 * R * V
    }

    func runForward(_ theta: UnsafePointer<Float>, tokens: UnsafePointer<Float>, samples n: Int) -> Activations {
        let T = shape.contextLength, d = shape.modelDimensions, V = shape.vocabularySize, L = shape.layers, R = n * T
        let arena = FloatArena()
        let sizes = blocks.isEmpty ? (0, 0, 0) : blocks[0].attention.bufferSizes(samples: n)
        let act = Activations(
            arena: arena,
            residual: (0...L).map { _ in arena.make(R * d) }, afterAttention: (0..<L).map { _ in arena.make(R * d) },
            ln1: (0..<L).map { _ in arena.make(R * d) }, ln1Stats: (0..<L).map { _ in arena.make(2 * R) },
            attention: (0..<L).map { _ in
                CausalSelfAttention.Buffers(
                    qkv: arena.make(sizes.0), attention: arena.make(sizes.1), mixed: arena.make(sizes.2))
            },
            ln2: (0..<L).map { _ in arena.make(R * d) }, ln2Stats: (0..<L).map { _ in arena.make(2 * R) },
            fc: (0..<L).map { _ in arena.make(R * 4 * d) }, gelu: (0..<L).map { _ in arena.make(R * 4 * d) },
            lnf: arena.make(R * d), lnfStats: arena.make(2 * R), logits: arena.make(R * V), logProbs: arena.make(R * V))
        // x_0 = wte[token] + wpe[p]
        tokenEmbedding.forward(theta, tokens: tokens, y: act.residual[0], rows: R)
        let wpe = theta + positionalEmbedding.offset
        for r in 0..<R { Vector.add(wpe + (r % T) * d, into: act.residual[0] + r * d, count: d) }
        let delta = arena.make(R * d)  // (R, d) scratch: a branch's output
        for (l, b) in blocks.enumerated() {
            let x = act.residual[l], mid = act.afterAttention[l], out = act.residual[l + 1]
            // mid = x + attn(ln_1(x))
            b.ln1.forward(theta, x: x, y: act.ln1[l], mean: act.ln1Stats[l], rstd: act.ln1Stats[l] + R, rows: R)
            b.attention.forward(theta, x: act.ln1[l], buffers: act.attention[l], y: delta, samples: n)
            mid.update(from: x, count: R * d); Vector.add(delta, into: mid, count: R * d)
            // out = mid + c_proj(GELU(c_fc(ln_2(mid))))
            b.ln2.forward(theta, x: mid, y: act.ln2[l], mean: act.ln2Stats[l], rstd: act.ln2Stats[l] + R, rows: R)
            b.fc.forward(theta, x: act.ln2[l], y: act.fc[l], rows: R)
            GELU.forward(act.fc[l], act.gelu[l], count: R * 4 * d)
            b.proj.forward(theta, x: act.gelu[l], y: delta, rows: R)
            out.update(from: mid, count: R * d); Vector.add(delta, into: out, count: R * d)
        }
        // f = log_softmax(ln_f(x_L) W_headᵀ)
        finalNorm.forward(theta, x: act.residual[L], y: act.lnf, mean: act.lnfStats, rstd: act.lnfStats + R, rows: R)
        head.forward(theta, x: act.lnf, y: act.logits, rows: R)
        LogSoftmax.forward(act.logits, act.logProbs, rows: R, classes: V)
        return act
    }

    private func checkInputs(_ inputs: Tensor, _ parameters: [Float]) -> Int {
        precondition(
            inputs.rank == 2 && inputs.shape[1] == shape.contextLength,
            "TransformerLM: inputs must be (n, \(shape.contextLength)) tokens, got \(inputs.shape)")
        precondition(
            parameters.count == layout.count,
            "TransformerLM: θ has \(parameters.count) values, expected \(layout.count)")
        return inputs.shape[0]
    }

    /// Log-probabilities (n, T·V): row i, class p·V + v = log P(next token after position p is v).
    public func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let n = checkInputs(inputs, parameters), C = classCount
        return logProbabilities(samples: n, classes: C, parameters: parameters, inputs: inputs) { theta, tokens in
            let act = runForward(theta, tokens: tokens, samples: n)
            return (act.arena, UnsafePointer(act.logProbs))
        }
    }

    @discardableResult
    public func backward(
        parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink
    ) -> Tensor {
        let n = checkInputs(inputs, parameters), C = classCount
        precondition(outputGradients.shape == [n, C], "TransformerLM: output gradients must be (\(n), \(C))")
        let T = shape.contextLength, d = shape.modelDimensions, V = shape.vocabularySize, L = shape.layers, R = n * T
        var out = [Float](repeating: 0, count: n * C)
        parameters.withPointer { theta in
            inputs.storage.withPointer { tokens in
                outputGradients.storage.withPointer { df in
                    let act = runForward(theta, tokens: tokens, samples: n)
                    let arena = act.arena
                    let dLogits = arena.make(R * V)  // (R, V)
                    let dLnf = arena.make(R * d)  // (R, d)
                    var dStream = arena.make(R * d)  // (R, d) ∂S/∂(block output)
                    let dMid = arena.make(R * d)  // (R, d) ∂S/∂mid
                    let dBranchIn = arena.make(R * d)  // (R, d) ∂S/∂ln output
                    let dGelu = arena.make(R * 4 * d)  // (R, 4d)
                    let dFc = arena.make(R * 4 * d)  // (R, 4d)
                    var dPrevious = arena.make(R * d)  // (R, d) ∂S/∂(block input)
                    // f = log_softmax(logits)
                    LogSoftmax.backward(output: act.logProbs, gradOutput: df, gradInput: dLogits, rows: R, classes: V)
                    // logits = ln_f W_headᵀ
                    head.backward(theta, x: act.lnf, dy: dLogits, dx: dLnf, rows: R, positionsPerSample: T, sink: sink)
                    // ln_f = LayerNorm(x_L)
                    finalNorm.backward(
                        theta, x: act.residual[L], mean: act.lnfStats, rstd: act.lnfStats + R, dy: dLnf,
                        dx: dStream, rows: R, positionsPerSample: T, sink: sink)
                    for l in stride(from: L - 1, through: 0, by: -1) {
                        let b = blocks[l]
                        // out = mid + c_proj(GELU(c_fc(ln_2(mid))))
                        dMid.update(from: dStream, count: R * d)
                        for i in 0..<(R * 4 * d) { dGelu[i] = 0; dFc[i] = 0 }
                        for i in 0..<(R * d) { dBranchIn[i] = 0 }
                        b.proj.backward(
                            theta, x: act.gelu[l], dy: dStream, dx: dGelu, rows: R, positionsPerSample: T, sink: sink)
                        GELU.backward(input: act.fc[l], gradOutput: dGelu, gradInput: dFc, count: R * 4 * d)
                        b.fc.backward(
                            theta, x: act.ln2[l], dy: dFc, dx: dBranchIn, rows: R, positionsPerSample: T, sink: sink)
                        b.ln2.backward(
                            theta, x: act.afterAttention[l], mean: act.ln2Stats[l], rstd: act.ln2Stats[l] + R,
                            dy: dBranchIn, dx: dMid, rows: R, positionsPerSample: T, sink: sink)
                        // mid = x + attn(ln_1(x))
                        dPrevious.update(from: dMid, count: R * d)
                        for i in 0..<(R * d) { dBranchIn[i] = 0 }
                        b.attention.backward(
                            theta, x: act.ln1[l], buffers: act.attention[l], dy: dMid, dx: dBranchIn, samples: n,
                            sink: sink)
                        b.ln1.backward(
                            theta, x: act.residual[l], mean: act.ln1Stats[l], rstd: act.ln1Stats[l] + R,
                            dy: dBranchIn, dx: dPrevious, rows: R, positionsPerSample: T, sink: sink)
                        swap(&dStream, &dPrevious)
                    }
                    // x_0 = wte[token] + wpe[p]
                    tokenEmbedding.backward(tokens: tokens, dy: dStream, rows: R, positionsPerSample: T, sink: sink)
                    positionalBackward(dy: dStream, samples: n, sink: sink)
                    withExtendedLifetime(arena) {
                        out.withMutablePointer { $0.update(from: act.logProbs, count: n * C) }
                    }
                }
            }
        }
        return Tensor(shape: [n, C], storage: out)
    }

    /// Backward of `x_0[s, p] += wpe[p]`: `dwpe[p] += dy[s, p]` — summed, per sample, or dotted with directions.
    /// - dy (n, T, d).
    func positionalBackward(dy: UnsafePointer<Float>, samples n: Int, sink: GradientSink) {
        PositionalEmbedding(table: positionalEmbedding).backward(dy: dy, samples: n, sink: sink)
    }
}

extension TransformerLM {
    /// Mean next-token NLL over all n·T positions and its gradient: inputs (n, T) and targets (n, T) token ids
    /// (targets[i, p] is the token following inputs[i, p]). Loss accumulated in Float64.
    public func lossAndGradient(
        parameters: [Float], inputs: Tensor, targets: Tensor
    ) -> (loss: Double, gradient: [Float]) {
        let n = inputs.shape[0]
        let dOut = nextTokenCotangent(targets: targets, weight: -1 / Float(n * shape.contextLength))
        var grad = [Float](repeating: 0, count: parameterCount)
        let logProbs = grad.withMutablePointer {
            backward(parameters: parameters, inputs: inputs, outputGradients: dOut, into: .sum($0))
        }
        return (meanNLL(logProbs: logProbs, targets: targets), grad)
    }

    /// Mean next-token NLL only (one forward), Float64 accumulation; chunks of `chunk` sequences bound memory.
    public func loss(parameters: [Float], inputs: Tensor, targets: Tensor, chunk: Int = 64) -> Double {
        let n = inputs.shape[0]
        var total = 0.0
        for lo in stride(from: 0, to: n, by: chunk) {
            let hi = min(n, lo + chunk)
            let f = forward(parameters: parameters, inputs: inputs.rows(lo..<hi))
            total += meanNLL(logProbs: f, targets: targets.rows(lo..<hi)) * Double(hi - lo)
        }
        return total / Double(max(n, 1))
    }

    /// The (n, T·V) cotangent with `weight` at each target entry and 0 elsewhere.
    public func nextTokenCotangent(targets: Tensor, weight: Float) -> Tensor {
        let n = targets.shape[0], T = shape.contextLength, V = shape.vocabularySize
        precondition(targets.shape == [n, T], "TransformerLM: targets must be (n, \(T)), got \(targets.shape)")
        var dOut = Tensor(shape: [n, T * V])
        for i in 0..<(n * T) { dOut.storage[i * V + tokenEmbedding.tokenIndex(targets.storage[i])] = weight }
        return dOut
    }

    /// Mean of −log P(target) over all positions of (n, T·V) log-probabilities.
    public func meanNLL(logProbs: Tensor, targets: Tensor) -> Double {
        let V = shape.vocabularySize, count = targets.count
        var s = 0.0
        for i in 0..<count { s -= Double(logProbs.storage[i * V + Int(targets.storage[i])]) }
        return s / Double(max(count, 1))
    }
}
