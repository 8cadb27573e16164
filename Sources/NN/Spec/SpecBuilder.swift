/// Turns the layers of a `ModelSpec` into nodes, inferring each layer's input shape from the previous output and
/// appending its components to the layout. Every problem is one `SpecError` line naming the layer.
struct SpecBuilder {
    var layout = ParameterLayout()
    /// Components of `parameter` layers: in θ, but never used (no gradient, no optimizer state).
    var unused: [String] = []

    mutating func build(
        _ layers: [LayerSpec], input: ActivationShape, path: String, prefix: String
    ) throws -> [SpecNode] {
        var nodes: [SpecNode] = []
        var shape = input
        for (i, layer) in layers.enumerated() {
            let node = try build(layer, input: shape, path: "\(path).layers[\(i)]", name: layer.name ?? "\(prefix)\(i)")
            nodes.append(node)
            shape = node.output
        }
        return nodes
    }

    private mutating func build(_ l: LayerSpec, input: ActivationShape, path: String, name: String) throws -> SpecNode {
        func fail(_ message: String) -> SpecError { SpecError("\(path) \(l.kind): \(message)") }
        func positive(_ value: Int?, _ key: String) throws -> Int {
            guard let v = value, v >= 1 else {
                throw fail("'\(key)' must be a positive integer, found \(value.map(String.init) ?? "nothing")")
            }
            return v
        }
        func sequence() throws -> (positions: Int, features: Int) {
            if case .sequence(let p, let f) = input { return (p, f) }
            if case .image = input { throw fail("expects features, gets \(input); add a flatten layer before it") }
            throw fail("expects features, gets \(input); add an embedding layer before it")
        }
        func image() throws -> (c: Int, h: Int, w: Int) {
            if case .image(let c, let h, let w) = input { return (c, h, w) }
            throw fail("expects an image (channels, height, width), gets \(input); add a reshape layer before it")
        }
        /// Refuses a component name that an earlier layer already uses (ParameterLayout would trap).
        func unique(_ suffixes: String...) throws {
            for s in suffixes where layout.component(named: name + s) != nil {
                throw fail("component '\(name + s)' already exists; give this layer another \"name\"")
            }
        }
        func notTokens() throws {
            if case .tokens = input { throw fail("expects numbers, gets \(input); add an embedding layer before it") }
        }
        switch l.kind {
        case "linear":
            let (p, f) = try sequence()
            if let want = l.inFeatures, want != f { throw fail("expects \(want) input features, gets \(f)") }
            let out = try positive(l.outFeatures, "out_features")
            try unique(".weight", ".bias")
            let linear = Linear(&layout, name: name, inFeatures: f, outFeatures: out, bias: l.bias ?? true)
            return LinearNode(linear: linear, positions: p, initStd: l.initStd)
        case "conv2d":
            let (c, h, w) = try image()
            if let want = l.inChannels, want != c { throw fail("expects \(want) input channels, gets \(c)") }
            let out = try positive(l.outChannels, "out_channels"), k = try positive(l.kernel, "kernel")
            let s = try positive(l.stride ?? 1, "stride"), pad = l.padding ?? 0
            guard pad >= 0 else { throw fail("'padding' must be ≥ 0, found \(pad)") }
            guard h + 2 * pad >= k, w + 2 * pad >= k else {
                throw fail("kernel \(k) does not fit \(input) with padding \(pad)")
            }
            try unique(".weight")
            let conv = Conv2d(&layout, name: name, inChannels: c, outChannels: out, kernel: k, stride: s, padding: pad)
            return Conv2dNode(conv: conv, height: h, width: w)
        case "relu", "gelu", "tanh":
            try notTokens()
            let f: ActivationNode.Function = l.kind == "relu" ? .relu : l.kind == "gelu" ? .gelu : .tanh
            return ActivationNode(function: f, shape: input)
        case "max_pool2d", "global_max_pool":
            let (c, h, w) = try image()
            let global = l.kind == "global_max_pool"
            if !global, h < 2 || w < 2 { throw fail("needs at least 2×2 positions, gets \(input)") }
            return PoolNode(global: global, channels: c, height: h, width: w)
        case "flatten":
            try notTokens()
            return ReshapeNode(input: input, output: .sequence(positions: 1, features: input.count))
        case "reshape":
            try notTokens()
            let target = l.shape ?? []
            guard (1...3).contains(target.count), target.allSatisfy({ $0 >= 1 }) else {
                throw fail("'shape' must be 1 to 3 positive sizes, found \(target)")
            }
            let out: ActivationShape =
                target.count == 3
                ? .image(channels: target[0], height: target[1], width: target[2])
                : target.count == 2
                    ? .sequence(positions: target[0], features: target[1])
                    : .sequence(positions: 1, features: target[0])
            guard out.count == input.count else {
                throw fail("cannot reshape \(input) (\(input.count) values) to \(target)")
            }
            return ReshapeNode(input: input, output: out)
        case "layer_norm":
            let (p, f) = try sequence()
            try unique(".weight", ".bias")
            return LayerNormNode(
                norm: LayerNorm(&layout, name: name, dimensions: f, epsilon: Float(l.eps ?? 1e-5)), positions: p)
        case "embedding":
            guard case .tokens(let p) = input else {
                throw fail("expects token ids (\"input\": \"tokens\"), gets \(input)")
            }
            let v = try positive(l.vocabulary, "vocabulary"), d = try positive(l.dimensions, "dimensions")
            try unique(".weight")
            return EmbeddingNode(
                embedding: Embedding(&layout, name: name, vocabularySize: v, dimensions: d),
                positions: p, scale: Float(l.scale ?? 1), initStd: l.initStd)
        case "positional":
            let (p, f) = try sequence()
            try unique(".weight")
            return PositionalNode(
                table: PositionalEmbedding(&layout, name: name, positions: p, dimensions: f), initStd: l.initStd)
        case "causal_self_attention":
            let (p, f) = try sequence()
            let h = try positive(l.heads, "heads")
            guard f % h == 0 else { throw fail("\(f) features do not split into \(h) heads") }
            try unique(".c_attn.weight", ".c_attn.bias", ".c_proj.weight", ".c_proj.bias")
            let attention = CausalSelfAttention(&layout, name: name, modelDimensions: f, heads: h, sequenceLength: p)
            return AttentionNode(attention: attention, initStd: l.initStd, projectionInitStd: l.projectionInitStd)
        case "shared_qkv_attention":
            let (p, f) = try sequence()
            let h = try positive(l.heads, "heads"), hd = try positive(l.headDimensions, "head_dimensions")
            if let taken = (1...h).flatMap({ ["head\($0)_encoder.weight", "head\($0)_decoder.weight"] }).first(where: {
                layout.component(named: $0) != nil
            }) {
                throw fail("component '\(taken)' already exists; a model has one shared_qkv_attention")
            }
            let attention = SharedProjectionAttention(
                &layout, modelDimensions: f, heads: h, headDimensions: hd, sequenceLength: p)
            return SharedAttentionNode(attention: attention)
        case "parameter":
            let shape = l.shape ?? []
            guard !shape.isEmpty, shape.allSatisfy({ $0 >= 1 }) else {
                throw fail("'shape' must be positive sizes, found \(shape)")
            }
            try notTokens()
            guard layout.component(named: name) == nil else {
                throw fail("component '\(name)' already exists; give this layer another \"name\"")
            }
            unused.append(name)
            return UnusedParameterNode(component: layout.add(name, shape), shape: input, initStd: l.initStd ?? 1)
        case "residual":
            let inner = l.layers ?? []
            guard !inner.isEmpty else { throw fail("'layers' must not be empty") }
            let children = try build(inner, input: input, path: path, prefix: "\(name).")
            let out = children[children.count - 1].output
            guard out == input else {
                throw fail("the block maps \(input) to \(out); a skip connection needs equal shapes")
            }
            return ResidualNode(children: children, shape: input)
        case "log_softmax":
            let (p, f) = try sequence()
            return LogSoftmaxNode(positions: p, classes: f)
        default:
            throw fail("unknown layer kind (expected one of \(LayerSpec.kinds.keys.sorted().joined(separator: ", ")))")
        }
    }
}
