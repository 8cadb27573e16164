import Tensor

/// The per-sample shape of an activation between two layers of a `SpecModel`, and its memory layout for n samples.
public enum ActivationShape: Equatable, Sendable, CustomStringConvertible {
    /// Channel-major image batch (C, n, H, W) (see `Conv2dLayout`).
    case image(channels: Int, height: Int, width: Int)
    /// Sample-major rows (n, positions, features); `Linear`, `LayerNorm` and attention see n·positions rows.
    case sequence(positions: Int, features: Int)
    /// Token ids (n, positions) as exact Float32 integers.
    case tokens(positions: Int)

    /// Floats per sample.
    public var count: Int {
        switch self {
        case .image(let c, let h, let w): return c * h * w
        case .sequence(let p, let f): return p * f
        case .tokens(let p): return p
        }
    }

    public var description: String {
        switch self {
        case .image(let c, let h, let w): return "an image \(c)×\(h)×\(w)"
        case .sequence(1, let f): return "\(f) features"
        case .sequence(let p, let f): return "a sequence \(p)×\(f)"
        case .tokens(let p): return "\(p) tokens"
        }
    }
}

/// A shape or configuration problem of a model spec, naming the layer:
/// `model.layers[3] conv2d: expects 3 input channels, gets 64`.
public struct SpecError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Buffers and scalars shared by the layers of one forward/backward call.
struct SpecContext {
    let theta: UnsafePointer<Float>
    let samples: Int
    let arena: FloatArena
    /// Column workspace for the convolutions (the largest any of them needs).
    let workspace: UnsafeMutablePointer<Float>
}

/// What a layer keeps from its forward for its backward, beyond its input and output.
final class SpecSaved {
    var buffers: [UnsafeMutablePointer<Float>] = []
    var children: [SpecSaved] = []
    /// Outputs of the children of a composite layer.
    var outputs: [UnsafeMutablePointer<Float>] = []
    init() {}
}

/// One layer of a `SpecModel`: a thin adapter from a library layer to a common interface. Each adapter calls the
/// layer's own forward and backward, so the three `GradientSink` cases are the layer's.
protocol SpecNode: Sendable {
    var input: ActivationShape { get }
    var output: ActivationShape { get }
    /// Initialises this layer's components (in layout order) from the RNG stream.
    func initialize(_ theta: inout [Float], rng: inout RNG)
    /// Column workspace (floats) this layer needs for n samples.
    func workspaceCount(samples n: Int) -> Int
    /// Floats that `forward` takes from the arena for n samples besides its output: what it saves for the backward
    /// pass, its scratch, and the inner outputs of a composite layer.
    func savedCount(samples n: Int) -> Int
    /// x (input layout) → y (output layout), every element of y overwritten (y starts uninitialised, or is x itself
    /// for an in-place ReLU).
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved
    /// Backward given dy = ∂S/∂y: **accumulates** ∂S/∂x into dx (skipped when nil) and parameter gradients into sink.
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink)
}

extension SpecNode {
    func workspaceCount(samples n: Int) -> Int { 0 }
    func savedCount(samples n: Int) -> Int { 0 }
}

/// Whether node i of a chain writes its output over its input. A ReLU after a linear or conv layer does: those
/// layers' backward needs only their input, and the ReLU's mask is the same on its output (y > 0 ⇔ x > 0), as in the
/// hand-written ResNet-9.
func runsInPlace(_ nodes: [SpecNode], _ i: Int) -> Bool {
    i > 0 && (nodes[i] as? ActivationNode)?.function == .relu
        && (nodes[i - 1] is Conv2dNode || nodes[i - 1] is LinearNode)
}

/// Floats `runChain` takes from the arena for n samples: every output not written in place, and what the layers
/// save.
func chainCount(_ nodes: [SpecNode], samples n: Int) -> Int {
    nodes.indices.reduce(0) { sum, i in
        sum + (runsInPlace(nodes, i) ? 0 : n * nodes[i].output.count) + nodes[i].savedCount(samples: n)
    }
}

/// Runs a chain of nodes forward, returning each node's output buffer.
func runChain(
    _ nodes: [SpecNode], _ ctx: SpecContext, x: UnsafePointer<Float>
) -> (outputs: [UnsafeMutablePointer<Float>], saved: [SpecSaved]) {
    var outputs: [UnsafeMutablePointer<Float>] = [], saved: [SpecSaved] = []
    var current = x
    for (i, node) in nodes.enumerated() {
        let y =
            runsInPlace(nodes, i)
            ? UnsafeMutablePointer(mutating: current) : ctx.arena.makeUninitialized(ctx.samples * node.output.count)
        saved.append(node.forward(ctx, x: current, y: y))
        outputs.append(y)
        current = UnsafePointer(y)
    }
    return (outputs, saved)
}

/// Back-propagates through a chain run by `runChain`: dy is ∂S/∂(last output); ∂S/∂x is accumulated into dx.
func backwardChain(
    _ nodes: [SpecNode], _ ctx: SpecContext, x: UnsafePointer<Float>, outputs: [UnsafeMutablePointer<Float>],
    saved: [SpecSaved], dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
) {
    var grad = dy
    for i in stride(from: nodes.count - 1, through: 0, by: -1) {
        let input = i == 0 ? x : UnsafePointer(outputs[i - 1])
        let dInput: UnsafeMutablePointer<Float>? = i == 0 ? dx : ctx.arena.make(ctx.samples * nodes[i].input.count)
        nodes[i].backward(ctx, x: input, y: outputs[i], saved: saved[i], dy: grad, dx: dInput, sink: sink)
        if let d = dInput { grad = UnsafePointer(d) } else { break }
    }
}
