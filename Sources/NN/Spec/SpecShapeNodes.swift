import Tensor

/// `relu`, `gelu`, `tanh`: parameter-free element-wise layers (any non-token shape, unchanged).
struct ActivationNode: SpecNode {
    enum Function: Sendable { case relu, gelu, tanh }
    let function: Function
    let shape: ActivationShape
    var input: ActivationShape { shape }
    var output: ActivationShape { shape }
    func initialize(_ theta: inout [Float], rng: inout RNG) {}
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let count = ctx.samples * shape.count
        switch function {
        case .relu: ReLU.parallelForward(x, y, count: count)
        case .gelu: GELU.forward(x, y, count: count)
        case .tanh: Tanh.forward(x, y, count: count)
        }
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        guard let dx else { return }
        let count = ctx.samples * shape.count
        switch function {
        case .relu: ReLU.parallelBackward(input: x, gradOutput: dy, gradInput: dx, count: count, accumulate: true)
        case .gelu: GELU.backward(input: x, gradOutput: dy, gradInput: dx, count: count)
        case .tanh: Tanh.backward(output: y, gradOutput: dy, gradInput: dx, count: count)
        }
    }
}

/// `max_pool2d` (2 × 2, stride 2) and `global_max_pool` on channel-major images.
struct PoolNode: SpecNode {
    let global: Bool
    let channels: Int, height: Int, width: Int
    var input: ActivationShape { .image(channels: channels, height: height, width: width) }
    var output: ActivationShape {
        global
            ? .image(channels: channels, height: 1, width: 1)
            : .image(channels: channels, height: height / 2, width: width / 2)
    }
    func initialize(_ theta: inout [Float], rng: inout RNG) {}
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let planes = channels * ctx.samples
        if global {
            GlobalMaxPool.forward(x, y, planes: planes, positions: height * width)
        } else {
            MaxPool2d.forward(x, y, planes: planes, height: height, width: width)
        }
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        guard let dx else { return }
        let planes = channels * ctx.samples
        if global {
            GlobalMaxPool.backward(input: x, gradOutput: dy, gradInput: dx, planes: planes, positions: height * width)
        } else {
            MaxPool2d.backward(input: x, gradOutput: dy, gradInput: dx, planes: planes, height: height, width: width)
        }
    }
}

/// `flatten` and `reshape`: the same numbers per sample in another shape. Images are channel-major, everything
/// else sample-major, so a change to or from an image is a `Conv2dLayout` transpose; otherwise a copy.
struct ReshapeNode: SpecNode {
    let input: ActivationShape
    let output: ActivationShape
    func initialize(_ theta: inout [Float], rng: inout RNG) {}
    /// An image to an image goes through a sample-major copy.
    func savedCount(samples n: Int) -> Int {
        if case .image = input, case .image = output { return n * input.count }
        return 0
    }

    /// Converts n samples from `from`'s layout to `to`'s layout (same count per sample), overwriting y.
    static func convert(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, from: ActivationShape,
        to: ActivationShape, samples n: Int, arena: FloatArena
    ) {
        switch (from, to) {
        case (.image(let c, let h, let w), .image):
            let flat = arena.make(n * from.count)
            Conv2dLayout.sampleMajor(x, flat, samples: n, channels: c, plane: h * w)
            if case .image(let c2, let h2, let w2) = to {
                Conv2dLayout.channelMajor(flat, y, samples: n, channels: c2, plane: h2 * w2)
            }
        case (.image(let c, let h, let w), _):
            Conv2dLayout.sampleMajor(x, y, samples: n, channels: c, plane: h * w)
        case (_, .image(let c, let h, let w)):
            Conv2dLayout.channelMajor(x, y, samples: n, channels: c, plane: h * w)
        default:
            y.update(from: x, count: n * from.count)
        }
    }

    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        Self.convert(x, y, from: input, to: output, samples: ctx.samples, arena: ctx.arena)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        guard let dx else { return }
        let count = ctx.samples * input.count
        let back = ctx.arena.make(count)
        Self.convert(dy, back, from: output, to: input, samples: ctx.samples, arena: ctx.arena)
        Vector.add(back, into: dx, count: count)
    }
}

/// `log_softmax` over the features of each position (the classifier head; a sequence head gives T·V classes).
struct LogSoftmaxNode: SpecNode {
    let positions: Int, classes: Int
    var input: ActivationShape { .sequence(positions: positions, features: classes) }
    var output: ActivationShape { input }
    func initialize(_ theta: inout [Float], rng: inout RNG) {}
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        LogSoftmax.forward(x, y, rows: ctx.samples * positions, classes: classes)
        return SpecSaved()
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        guard let dx else { return }
        let count = ctx.samples * input.count
        let dz = ctx.arena.make(count)
        LogSoftmax.backward(output: y, gradOutput: dy, gradInput: dz, rows: ctx.samples * positions, classes: classes)
        Vector.add(dz, into: dx, count: count)
    }
}

/// `residual`: `y = x + block(x)` for a chain of layers that keeps the shape. The backward adds dy to dx first and
/// then lets the block accumulate into the same dx, as the hand-written `Residual` does.
struct ResidualNode: SpecNode {
    let children: [SpecNode]
    let shape: ActivationShape
    var input: ActivationShape { shape }
    var output: ActivationShape { shape }
    func initialize(_ theta: inout [Float], rng: inout RNG) { for c in children { c.initialize(&theta, rng: &rng) } }
    func workspaceCount(samples n: Int) -> Int { children.map { $0.workspaceCount(samples: n) }.max() ?? 0 }
    func savedCount(samples n: Int) -> Int { chainCount(children, samples: n) }
    func forward(_ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> SpecSaved {
        let (outputs, children) = runChain(self.children, ctx, x: x)
        let count = ctx.samples * shape.count
        y.update(from: x, count: count)
        Vector.add(outputs[outputs.count - 1], into: y, count: count)
        let saved = SpecSaved()
        saved.outputs = outputs; saved.children = children
        return saved
    }
    func backward(
        _ ctx: SpecContext, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: SpecSaved,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, sink: GradientSink
    ) {
        if let dx { Vector.add(dy, into: dx, count: ctx.samples * shape.count) }
        backwardChain(children, ctx, x: x, outputs: saved.outputs, saved: saved.children, dy: dy, dx: dx, sink: sink)
    }
}
