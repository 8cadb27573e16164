import Foundation
import Tensor

/// A `Model` composed from a `ModelSpec`: the layers' own forward, backward and per-sample rules in sequence.
///
/// Shapes are inferred from `input_shape` when the model is built; a mismatch is one `SpecError` line naming the
/// layer. The last layer must be `log_softmax`; its (positions × features) output is the (n, C) log-probability
/// matrix, so a per-position head gives C = T·V classes as `TransformerLM` does. Components are initialised in
/// layout order from one RNG stream, layer by layer, exactly as the hand-written models do.
public final class SpecModel: Model, ModelDescription {
    public let spec: ModelSpec
    public let name: String
    public let layout: ParameterLayout
    public let inputShape: [Int]
    public let classCount: Int
    public let componentGroups: [(name: String, components: [String])]
    /// Components of `parameter` layers (in θ but never used, like the modulo model's positional table).
    public let unusedComponents: [String]

    let nodes: [SpecNode]
    let inputLayout: ActivationShape

    public init(_ spec: ModelSpec) throws {
        let shape = spec.inputShape
        guard (1...3).contains(shape.count), shape.allSatisfy({ $0 >= 1 }) else {
            throw SpecError("model.input_shape: expected 1 to 3 positive sizes, found \(shape)")
        }
        switch spec.input ?? "float" {
        case "tokens":
            guard shape.count == 1 else {
                throw SpecError("model.input_shape: token input is one sequence length [T], found \(shape)")
            }
            inputLayout = .tokens(positions: shape[0])
        case "float":
            inputLayout =
                shape.count == 3
                ? .image(channels: shape[0], height: shape[1], width: shape[2])
                : shape.count == 2
                    ? .sequence(positions: shape[0], features: shape[1]) : .sequence(positions: 1, features: shape[0])
        case let other:
            throw SpecError("model.input: expected 'float' or 'tokens', found '\(other)'")
        }
        guard let last = spec.layers.last, last.kind == "log_softmax" else {
            throw SpecError(
                "model.layers: the last layer must be log_softmax (the classifier head), found \(spec.layers.last?.kind ?? "no layers")"
            )
        }
        var builder = SpecBuilder()
        nodes = try builder.build(spec.layers, input: inputLayout, path: "model", prefix: "")
        let layout = builder.layout
        self.layout = layout
        unusedComponents = builder.unused
        self.spec = spec
        name = spec.name ?? "spec"
        inputShape = shape
        classCount = nodes[nodes.count - 1].output.count
        if let groups = spec.componentGroups {
            for (g, group) in groups.enumerated() {
                if let bad = group.components.first(where: { layout.component(named: $0) == nil }) {
                    throw SpecError(
                        "model.component_groups[\(g)]: no component '\(bad)' (the model has: \(layout.names.joined(separator: ", ")))"
                    )
                }
            }
            componentGroups = groups.map { ($0.name, $0.components) }
        } else {
            componentGroups = layout.names.map { (name: $0, components: [$0]) }
        }
    }

    /// Per-layer initialisation in layout order (PyTorch defaults unless a layer sets `init_std`).
    public func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        for node in nodes { node.initialize(&theta, rng: &rng) }
        return theta
    }

    private func checkShapes(_ parameters: [Float], _ inputs: Tensor) -> Int {
        precondition(
            parameters.count == layout.count, "\(name): θ has \(parameters.count) values, expected \(layout.count)")
        precondition(
            inputs.rank >= 1 && inputs.rowLength == inputLayout.count,
            "\(name): input shape \(inputs.shape), expected [n] + \(inputShape)")
        return inputs.shape[0]
    }

    /// Floats a forward pass over n samples takes from its arena besides the convolutions' workspace: the
    /// channel-major copy of an image input, every layer's output and what the layers save for the backward pass.
    func activationCount(samples n: Int) -> Int {
        if case .image = inputLayout { return n * inputLayout.count + chainCount(nodes, samples: n) }
        return chainCount(nodes, samples: n)
    }

    /// As many samples as keep a forward pass within `forwardChunkFloats` of activations (a spec ResNet-9 holds as
    /// much per image as the hand-written one: 99 standard images).
    public var forwardChunk: Int { Self.forwardChunk(holding: activationCount(samples: 1)) }

    /// Forward of all layers; returns the arena, the context and every layer's output (the last is log-probabilities).
    func run(
        _ theta: UnsafePointer<Float>, _ x: UnsafePointer<Float>, samples n: Int
    )
        -> (ctx: SpecContext, input: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>], saved: [SpecSaved])
    {
        let arena = FloatArena()
        let workspace = arena.make(nodes.map { $0.workspaceCount(samples: n) }.max() ?? 0)
        let ctx = SpecContext(theta: theta, samples: n, arena: arena, workspace: workspace)
        var input = x
        if case .image(let c, let h, let w) = inputLayout {
            // (n, C, H, W) → channel-major (C, n, H, W)
            let x0 = arena.make(n * inputLayout.count)
            Conv2dLayout.channelMajor(x, x0, samples: n, channels: c, plane: h * w)
            input = UnsafePointer(x0)
        }
        let (outputs, saved) = runChain(nodes, ctx, x: input)
        return (ctx, input, outputs, saved)
    }

    public func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let n = checkShapes(parameters, inputs)
        return logProbabilities(samples: n, classes: classCount, parameters: parameters, inputs: inputs) { theta, x in
            let r = run(theta, x, samples: n)
            return (r.ctx.arena, UnsafePointer(r.outputs[r.outputs.count - 1]))
        }
    }

    @discardableResult
    public func backward(
        parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink
    ) -> Tensor {
        let n = checkShapes(parameters, inputs), C = classCount
        precondition(outputGradients.shape == [n, C], "\(name): output gradients must be (\(n), \(C))")
        var out = [Float](repeating: 0, count: n * C)
        parameters.withPointer { theta in
            inputs.storage.withPointer { x in
                outputGradients.storage.withPointer { df in
                    let r = run(theta, x, samples: n)
                    backwardChain(
                        nodes, r.ctx, x: r.input, outputs: r.outputs, saved: r.saved, dy: df, dx: nil, sink: sink)
                    withExtendedLifetime(r.ctx.arena) {
                        out.withMutablePointer { $0.update(from: r.outputs[r.outputs.count - 1], count: n * C) }
                    }
                }
            }
        }
        return Tensor(shape: [n, C], storage: out)
    }
}
