extension ModelSpec {
    /// The spec of `TransformerLM(shape)`: same component names and order, same GPT-2 initialisation draws
    /// (weights N(0, 0.02²), residual projections N(0, (0.02/√(2L))²), wpe N(0, 0.01²), biases 0), and the same
    /// (n, T·V) per-position log-softmax output. Writes `Configs/models/char-lm.json`-style specs for any shape.
    public static func transformerLM(_ shape: TransformerLM.Shape) -> ModelSpec {
        let d = shape.modelDimensions, residualStd = 0.02 / (2 * Double(shape.layers)).squareRoot()
        func layer(_ kind: String, _ name: String? = nil, _ edit: (inout LayerSpec) -> Void = { _ in }) -> LayerSpec {
            var l = LayerSpec(kind: kind)
            l.name = name
            edit(&l)
            return l
        }
        var layers = [
            layer("embedding", "wte") {
                $0.vocabulary = shape.vocabularySize; $0.dimensions = d; $0.initStd = 0.02
            },
            layer("positional", "wpe") { $0.initStd = 0.01 },
        ]
        for l in 0..<shape.layers {
            let p = "h.\(l)"
            layers.append(
                layer("residual") {
                    $0.layers = [
                        layer("layer_norm", "\(p).ln_1"),
                        layer("causal_self_attention", "\(p).attn") {
                            $0.heads = shape.heads; $0.initStd = 0.02; $0.projectionInitStd = residualStd
                        },
                    ]
                })
            layers.append(
                layer("residual") {
                    $0.layers = [
                        layer("layer_norm", "\(p).ln_2"),
                        layer("linear", "\(p).mlp.c_fc") {
                            $0.outFeatures = 4 * d; $0.initStd = 0.02
                        },
                        layer("gelu"),
                        layer("linear", "\(p).mlp.c_proj") {
                            $0.outFeatures = d; $0.initStd = residualStd
                        },
                    ]
                })
        }
        layers.append(layer("layer_norm", "ln_f"))
        layers.append(
            layer("linear", "lm_head") {
                $0.outFeatures = shape.vocabularySize; $0.bias = false; $0.initStd = 0.02
            })
        layers.append(layer("log_softmax"))
        return ModelSpec(name: "TransformerLM", inputShape: [shape.contextLength], input: "tokens", layers: layers)
    }
}
