import Tensor

/// Fills one component with N(0, std²) (GPT-2 style initialisation of a spec layer with `init_std`).
func fillNormal(_ theta: inout [Float], _ component: ParameterLayout.Component, std: Double, rng: inout RNG) {
    theta.withUnsafeMutableBufferPointer { p in
        rng.fillNormal(UnsafeMutableBufferPointer(rebasing: p[component.range]), std: Float(std))
    }
}

/// `linear`: `Linear` over the n·positions rows of a sequence; per-sample rules sum over a sample's positions.
struct LinearNode: SpecNode {
    let linear: Linear
    let positions: Int
    let initStd: Double?
    var input: ActivationShape { .sequence(positions: positions, features: linear.inFeatures) }
    var output: ActivationShape { .sequence(positions: positions, features: linear.outFeatures) }

    func initialize(_ theta: inout [Float], rng: inout RNG) {
        if let s = initStd {
            fillNormal(&theta, linear.weight, std: s, rng: &rng)
        } else {
            linear.initialize(&theta, rng: &rng)
        }
    }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        linear.forward(ctx.theta, x: x, y: y, rows: ctx.samples * positions)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        linear.backward(
            ctx.theta, x: x, dy: dy, dx: dx, rows: ctx.samples * positions, positionsPerSample: positions, sink: sink)
    }
}

/// `conv2d`: bias-free `Conv2d` on a channel-major image batch.
struct Conv2dNode: SpecNode {
    let conv: Conv2d
    let height: Int, width: Int
    var input: ActivationShape { .image(channels: conv.inChannels, height: height, width: width) }
    var output: ActivationShape {
        let g = conv.geometry(height: height, width: width)
        return .image(channels: conv.outChannels, height: g.outHeight, width: g.outWidth)
    }
    func initialize(_ theta: inout [Float], rng: inout RNG) { conv.initialize(&theta, rng: &rng) }
    func workspaceCount(samples n: Int) -> Int { conv.workspaceCount(samples: n, height: height, width: width) }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        conv.forward(
            ctx.theta, x: x, y: y, samples: ctx.samples, height: height, width: width, workspace: ctx.workspace)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        conv.backward(
            ctx.theta, x: x, dy: dy, dx: dx, samples: ctx.samples, height: height, width: width,
            workspace: ctx.workspace, sink: sink)
    }
}

/// `layer_norm`: `LayerNorm` over the features of each position; saves mean and 1/σ per row.
struct LayerNormNode: SpecNode {
    let norm: LayerNorm
    let positions: Int
    var input: ActivationShape { .sequence(positions: positions, features: norm.dimensions) }
    var output: ActivationShape { input }
    func initialize(_ theta: inout [Float], rng: inout RNG) { norm.initialize(&theta) }
    func savedCount(samples n: Int) -> Int { 2 * n * positions }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let rows = ctx.samples * positions, saved = SpecSaved()
        let stats = ctx.arena.make(2 * rows)  // mean (rows), rstd (rows)
        saved.buffers = [stats]
        norm.forward(ctx.theta, x: x, y: y, mean: stats, rstd: stats + rows, rows: rows)
        return saved
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        let rows = ctx.samples * positions, stats = saved.buffers[0]
        norm.backward(
            ctx.theta, x: x, mean: stats, rstd: stats + rows, dy: dy, dx: dx, rows: rows,
            positionsPerSample: positions, sink: sink)
    }
}

/// `embedding`: token ids (n, T) → `scale · E[token]` (n, T, d). Token ids are not differentiable: no dx.
struct EmbeddingNode: SpecNode {
    let embedding: Embedding
    let positions: Int
    let scale: Float
    let initStd: Double?
    var input: ActivationShape { .tokens(positions: positions) }
    var output: ActivationShape { .sequence(positions: positions, features: embedding.dimensions) }
    func initialize(_ theta: inout [Float], rng: inout RNG) {
        if let s = initStd {
            fillNormal(&theta, embedding.weight, std: s, rng: &rng)
        } else {
            embedding.initialize(&theta, rng: &rng)
        }
    }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        embedding.forward(ctx.theta, tokens: x, y: y, rows: ctx.samples * positions, scale: scale)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        embedding.backward(
            tokens: x, dy: dy, rows: ctx.samples * positions, positionsPerSample: positions, scale: scale, sink: sink)
    }
}

/// `positional`: adds a learned (T, d) table to every sample (`PositionalEmbedding`).
struct PositionalNode: SpecNode {
    let table: PositionalEmbedding
    let initStd: Double?
    var input: ActivationShape { .sequence(positions: table.positions, features: table.dimensions) }
    var output: ActivationShape { input }
    func initialize(_ theta: inout [Float], rng: inout RNG) {
        fillNormal(&theta, table.table, std: initStd ?? 1, rng: &rng)
    }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        y.update(from: x, count: ctx.samples * input.count)
        table.forward(ctx.theta, y: y, samples: ctx.samples)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        if let dx { Vector.add(dy, into: dx, count: ctx.samples * input.count) }
        table.backward(dy: dy, samples: ctx.samples, sink: sink)
    }
}

/// `causal_self_attention`: GPT-style `CausalSelfAttention` (its two `Linear` layers carry all parameters).
struct AttentionNode: SpecNode {
    let attention: CausalSelfAttention
    let initStd: Double?
    let projectionInitStd: Double?
    var input: ActivationShape { .sequence(positions: attention.sequenceLength, features: attention.modelDimensions) }
    var output: ActivationShape { input }
    func initialize(_ theta: inout [Float], rng: inout RNG) {
        if let s = initStd {
            fillNormal(&theta, attention.qkv.weight, std: s, rng: &rng)
            fillNormal(&theta, attention.projection.weight, std: projectionInitStd ?? s, rng: &rng)
        } else {
            attention.qkv.initialize(&theta, rng: &rng)
            attention.projection.initialize(&theta, rng: &rng)
        }
    }
    func savedCount(samples n: Int) -> Int {
        let sizes = attention.bufferSizes(samples: n)
        return sizes.0 + sizes.1 + sizes.2
    }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let sizes = attention.bufferSizes(samples: ctx.samples), saved = SpecSaved()
        saved.buffers = [ctx.arena.make(sizes.0), ctx.arena.make(sizes.1), ctx.arena.make(sizes.2)]
        attention.forward(ctx.theta, x: x, buffers: buffers(saved), y: y, samples: ctx.samples)
        return saved
    }
    func buffers(_ saved: SpecSaved) -> CausalSelfAttention.Buffers {
        CausalSelfAttention.Buffers(qkv: saved.buffers[0], attention: saved.buffers[1], mixed: saved.buffers[2])
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        attention.backward(ctx.theta, x: x, buffers: buffers(saved), dy: dy, dx: dx, samples: ctx.samples, sink: sink)
    }
}

/// `shared_qkv_attention`: the modulo model's `SharedProjectionAttention` (one Q = K = V projection per head, last
/// query position only): (T, d) → (1, d). Components `head{h}_encoder.weight`, `head{h}_decoder.weight`.
struct SharedAttentionNode: SpecNode {
    let attention: SharedProjectionAttention
    var input: ActivationShape { .sequence(positions: attention.sequenceLength, features: attention.modelDimensions) }
    var output: ActivationShape { .sequence(positions: 1, features: attention.modelDimensions) }
    func initialize(_ theta: inout [Float], rng: inout RNG) { attention.initialize(&theta, rng: &rng) }
    func savedCount(samples n: Int) -> Int {
        let sizes = attention.bufferSizes(samples: n)
        return sizes.0 + sizes.1 + sizes.2
    }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let n = ctx.samples, saved = SpecSaved(), sizes = attention.bufferSizes(samples: n)
        saved.buffers = [ctx.arena.make(sizes.0), ctx.arena.make(sizes.1), ctx.arena.make(sizes.2)]
        attention.forward(
            ctx.theta, x: x, projected: saved.buffers[0], weights: saved.buffers[1], mixed: saved.buffers[2], y: y,
            samples: n)
        return saved
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        attention.backward(
            ctx.theta, x: x, projected: saved.buffers[0], weights: saved.buffers[1], mixed: saved.buffers[2],
            dy: dy, dx: dx, samples: ctx.samples, sink: sink)
    }
}

/// `parameter`: a component that is part of θ but used nowhere (N(0, init_std²) initialisation, zero gradient);
/// the layer passes its input through unchanged. It reproduces tables that a PyTorch model registers but never
/// reads, such as the modulo model's positional encoding.
struct UnusedParameterNode: SpecNode {
    let component: ParameterLayout.Component
    let shape: ActivationShape
    let initStd: Double
    var input: ActivationShape { shape }
    var output: ActivationShape { shape }
    func initialize(_ theta: inout [Float], rng: inout RNG) { fillNormal(&theta, component, std: initStd, rng: &rng) }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        y.update(from: x, count: ctx.samples * shape.count)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        if let dx { Vector.add(dy, into: dx, count: ctx.samples * shape.count) }
    }
}
