import Tensor

/// The TRAK ResNet-9 with BatchNorm removed (docs/METHOD.md §14), the CIFAR-2 model.
///
/// | # | layer | standard output |
/// |---|---|---|
/// | 0 | conv 3→64 k3 s1 p1, ReLU | 64×32×32 |
/// | 1 | conv 64→128 k5 s2 p2, ReLU | 128×16×16 |
/// | 2 | residual x + relu(conv(relu(conv(x)))), 128→128 k3 p1 | 128×16×16 |
/// | 3 | conv 128→256 k3 p1, ReLU | 256×16×16 |
/// | 4 | max-pool 2 | 256×8×8 |
/// | 5 | residual, 256→256 k3 p1 | 256×8×8 |
/// | 6 | conv 256→128 k3 **p0**, ReLU | 128×6×6 |
/// | 7–8 | global max-pool, flatten | 128 |
/// | 9 | linear 128→C, no bias | C |
/// | 10 | log-softmax | C |
///
/// Inputs are (n, 3, 32, 32) sample-major; inside, activations are channel-major (C, n, H, W) (see `Conv2dLayout`).
/// The standard model has P = 2,271,168 parameters for C = 2. Initialisation: PyTorch defaults,
/// U(±1/√fan_in) per layer, drawn in layout order from one RNG stream.
public final class ResNet9: Model {
    /// Widths and input size. The standard configuration is the paper's; smaller ones keep the same shape of network
    /// (for fast tests).
    public struct Configuration: Equatable, Sendable {
        /// Output channels of layer 0, of layers 1–2, of layers 3–5 and of layer 6; standard (64, 128, 256, 128).
        public var widths: [Int]
        /// Input channels (3 for RGB).
        public var inputChannels: Int
        /// Input height = width (32 for CIFAR).
        public var inputSize: Int
        /// Number of classes C.
        public var classCount: Int

        public init(
            widths: [Int] = [64, 128, 256, 128], inputChannels: Int = 3, inputSize: Int = 32, classCount: Int = 2
        ) {
            precondition(
                widths.count == 4 && widths.allSatisfy { $0 > 0 }, "ResNet9: widths must be 4 positive channel counts")
            self.widths = widths
            self.inputChannels = inputChannels
            self.inputSize = inputSize
            self.classCount = classCount
        }

        /// The docs/METHOD.md §14 model for `classCount` classes.
        public static func standard(classCount: Int = 2) -> Configuration { Configuration(classCount: classCount) }
    }

    /// Component groups for attribution: one per parameterised layer (named like its single component), then "model"
    /// with all components.
    public static let componentGroups: [(name: String, components: [String])] = {
        let names = [
            "0.0.weight", "1.0.weight", "2.module.0.0.weight", "2.module.1.0.weight", "3.0.weight",
            "5.module.0.0.weight", "5.module.1.0.weight", "6.0.weight", "9.weight",
        ]
        return names.map { (name: $0, components: [$0]) } + [(name: "model", components: names)]
    }()

    public let name = "resnet9"
    public let layout: ParameterLayout
    public let inputShape: [Int]
    public let classCount: Int
    public let configuration: Configuration
    /// Its convolutions project (`ComponentProjection`); the 2 × 128 linear layer loops over the directions, cheaply.
    public var projectsPerSampleDots: Bool { true }

    /// A forward pass keeps every layer's activations (335,620 floats, 1.3 MB, per standard image), so an evaluation
    /// over many images runs in chunks of `forwardChunkFloats` (99 standard images) rather than the default 500,
    /// whose 0.8 GB pass would set the peak memory of a training run (a step at batch 64 holds about 0.4 GB).
    public var forwardChunk: Int {
        Self.forwardChunk(holding: ResNet9Activations.activationCounts(self, samples: 1).reduce(0, +))
    }

    let conv0: Conv2d, conv1: Conv2d, block2: Residual, conv3: Conv2d, block5: Residual, conv6: Conv2d
    let linear9: Linear
    /// Spatial sizes: input, after layer 1 (layers 1–3), after the max-pool (layers 4–5), after layer 6.
    let size0: Int, size1: Int, size4: Int, size6: Int

    public init(_ configuration: Configuration = .standard()) {
        let w = configuration.widths, c = configuration.inputChannels
        var layout = ParameterLayout()
        conv0 = Conv2d(&layout, name: "0.0", inChannels: c, outChannels: w[0], kernel: 3, stride: 1, padding: 1)
        conv1 = Conv2d(&layout, name: "1.0", inChannels: w[0], outChannels: w[1], kernel: 5, stride: 2, padding: 2)
        block2 = Residual(&layout, name: "2", channels: w[1])
        conv3 = Conv2d(&layout, name: "3.0", inChannels: w[1], outChannels: w[2], kernel: 3, stride: 1, padding: 1)
        block5 = Residual(&layout, name: "5", channels: w[2])
        conv6 = Conv2d(&layout, name: "6.0", inChannels: w[2], outChannels: w[3], kernel: 3, stride: 1, padding: 0)
        linear9 = Linear(&layout, name: "9", inFeatures: w[3], outFeatures: configuration.classCount, bias: false)
        self.layout = layout
        self.configuration = configuration
        self.classCount = configuration.classCount
        self.inputShape = [c, configuration.inputSize, configuration.inputSize]
        size0 = configuration.inputSize
        size1 = conv1.geometry(height: size0, width: size0).outHeight
        size4 = size1 / 2
        size6 = conv6.geometry(height: size4, width: size4).outHeight
        precondition(size6 >= 1, "ResNet9: input size \(size0) is too small (layer 6 output would be empty)")
    }

    public func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        conv0.initialize(&theta, rng: &rng)
        conv1.initialize(&theta, rng: &rng)
        block2.initialize(&theta, rng: &rng)
        conv3.initialize(&theta, rng: &rng)
        block5.initialize(&theta, rng: &rng)
        conv6.initialize(&theta, rng: &rng)
        linear9.initialize(&theta, rng: &rng)
        return theta
    }

    public func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        checkShapes(parameters: parameters, inputs: inputs)
        let state = ResNet9Activations(self, samples: inputs.shape[0])
        parameters.withPointer { theta in inputs.storage.withPointer { x in runForward(theta, inputs: x, state) } }
        return state.logProbabilities()
    }

    @discardableResult
    public func backward(
        parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink
    ) -> Tensor {
        checkShapes(parameters: parameters, inputs: inputs)
        let n = inputs.shape[0]
        precondition(
            outputGradients.shape == [n, classCount], "ResNet9.backward: cotangent shape \(outputGradients.shape)")
        // a batch gradient keeps the Winograd input tiles of the forward pass for the backward
        let keepsTiles: Bool
        if case .sum = sink { keepsTiles = true } else { keepsTiles = false }
        let state = ResNet9Activations(self, samples: n, keepingTiles: keepsTiles)
        parameters.withPointer { theta in
            inputs.storage.withPointer { x in runForward(theta, inputs: x, state) }
            outputGradients.storage.withPointer { df in runBackward(theta, outputGradients: df, state, sink: sink) }
        }
        return state.logProbabilities()
    }

    func checkShapes(parameters: [Float], inputs: Tensor) {
        precondition(
            parameters.count == layout.count, "ResNet9: \(parameters.count) parameters, expected \(layout.count)")
        precondition(
            inputs.rank == 4 && Array(inputs.shape.dropFirst()) == inputShape,
            "ResNet9: input shape \(inputs.shape), expected [n] + \(inputShape)")
    }

    /// Column workspace (floats) for the largest convolution at batch size n.
    func workspaceCount(samples n: Int) -> Int {
        [
            conv0.workspaceCount(samples: n, height: size0, width: size0),
            conv1.workspaceCount(samples: n, height: size0, width: size0),
            block2.workspaceCount(samples: n, height: size1, width: size1),
            conv3.workspaceCount(samples: n, height: size1, width: size1),
            block5.workspaceCount(samples: n, height: size4, width: size4),
            conv6.workspaceCount(samples: n, height: size4, width: size4),
        ].max()!
    }

    /// Floats of the input tiles that layers 1, 2, 3, 5 and 6 keep from the forward pass for a batch backward
    /// (`Conv2d.forward`), in that order.
    func savedTilesCounts(samples n: Int) -> [Int] {
        [
            conv1.savedTilesCount(samples: n, height: size0, width: size0),
            block2.savedTilesCount(samples: n, height: size1, width: size1),
            conv3.savedTilesCount(samples: n, height: size1, width: size1),
            block5.savedTilesCount(samples: n, height: size4, width: size4),
            conv6.savedTilesCount(samples: n, height: size4, width: size4),
        ]
    }

    func runForward(_ theta: UnsafePointer<Float>, inputs: UnsafePointer<Float>, _ a: ResNet9Activations) {
        let n = a.samples, w = configuration.widths, C = classCount
        let tiles = a.tiles
        let plane0 = size0 * size0, plane1 = size1 * size1, plane6 = size6 * size6
        // x0 (3, n, S, S) ← inputs (n, 3, S, S)
        Conv2dLayout.channelMajor(inputs, a.x0, samples: n, channels: configuration.inputChannels, plane: plane0)
        // 0: a0 (w0, n, S, S) = relu(conv(x0))
        conv0.forward(theta, x: a.x0, y: a.a0, samples: n, height: size0, width: size0, workspace: a.workspace)
        ReLU.parallelForward(a.a0, a.a0, count: w[0] * n * plane0)
        // 1: a1 (w1, n, S1, S1) = relu(conv k5 s2 (a0))
        conv1.forward(
            theta, x: a.a0, y: a.a1, samples: n, height: size0, width: size0, workspace: a.workspace, tiles: tiles[0])
        ReLU.parallelForward(a.a1, a.a1, count: w[1] * n * plane1)
        // 2: a2 = a1 + relu(conv(relu(conv(a1))))
        block2.forward(
            theta, x: a.a1, hidden: a.h2, branch: a.b2, y: a.a2, samples: n, height: size1, width: size1,
            workspace: a.workspace, tiles: tiles[1])
        // 3: a3 (w2, n, S1, S1) = relu(conv(a2))
        conv3.forward(
            theta, x: a.a2, y: a.a3, samples: n, height: size1, width: size1, workspace: a.workspace, tiles: tiles[2])
        ReLU.parallelForward(a.a3, a.a3, count: w[2] * n * plane1)
        // 4: a4 (w2, n, S1/2, S1/2) = maxpool(a3)
        MaxPool2d.forward(a.a3, a.a4, planes: w[2] * n, height: size1, width: size1)
        // 5: a5 = a4 + relu(conv(relu(conv(a4))))
        block5.forward(
            theta, x: a.a4, hidden: a.h5, branch: a.b5, y: a.a5, samples: n, height: size4, width: size4,
            workspace: a.workspace, tiles: tiles[3])
        // 6: a6 (w3, n, S6, S6) = relu(conv k3 p0 (a5))
        conv6.forward(
            theta, x: a.a5, y: a.a6, samples: n, height: size4, width: size4, workspace: a.workspace, tiles: tiles[4])
        ReLU.parallelForward(a.a6, a.a6, count: w[3] * n * plane6)
        // 7: pooled (w3, n) = max over S6×S6;  8: features (n, w3) = flatten
        GlobalMaxPool.forward(a.a6, a.pooled, planes: w[3] * n, positions: plane6)
        Conv2dLayout.sampleMajor(a.pooled, a.features, samples: n, channels: w[3], plane: 1)
        // 9: logits (n, C) = features · Wᵀ;  10: log-softmax
        linear9.forward(theta, x: a.features, y: a.logits, rows: n)
        LogSoftmax.forward(a.logits, a.logProbs, rows: n, classes: C)
    }

    func runBackward(
        _ theta: UnsafePointer<Float>, outputGradients df: UnsafePointer<Float>, _ a: ResNet9Activations,
        sink: GradientSink
    ) {
        let n = a.samples, w = configuration.widths, C = classCount
        let plane0 = size0 * size0, plane1 = size1 * size1, plane6 = size6 * size6
        let d = a.gradients()  // all zeroed
        let tiles = a.tiles  // kept only for a batch gradient (`backward`)
        // 10: logits ← log-softmax
        LogSoftmax.backward(output: a.logProbs, gradOutput: df, gradInput: d.logits, rows: n, classes: C)
        // 9: features · Wᵀ
        linear9.backward(theta, x: a.features, dy: d.logits, dx: d.features, rows: n, sink: sink)
        // 8: flatten (n, w3) → (w3, n);  7: global max-pool
        Conv2dLayout.channelMajor(d.features, d.pooled, samples: n, channels: w[3], plane: 1)
        GlobalMaxPool.backward(input: a.a6, gradOutput: d.pooled, gradInput: d.a6, planes: w[3] * n, positions: plane6)
        // 6: a6 = relu(conv(a5))
        ReLU.parallelBackward(
            input: a.a6, gradOutput: d.a6, gradInput: d.a6, count: w[3] * n * plane6, accumulate: false)
        conv6.backward(
            theta, x: a.a5, dy: d.a6, dx: d.a5, samples: n, height: size4, width: size4,
            workspace: a.workspace, sink: sink, tiles: tiles[4])
        // 5: residual
        block5.backward(
            theta, x: a.a4, hidden: a.h5, branch: a.b5, dy: d.a5, dx: d.a4,
            scratchBranch: d.scratchBranch, scratchHidden: d.scratchHidden,
            samples: n, height: size4, width: size4, workspace: a.workspace, sink: sink, tiles: tiles[3])
        // 4: max-pool
        MaxPool2d.backward(
            input: a.a3, gradOutput: d.a4, gradInput: d.a3, planes: w[2] * n, height: size1, width: size1)
        // 3: a3 = relu(conv(a2))
        ReLU.parallelBackward(
            input: a.a3, gradOutput: d.a3, gradInput: d.a3, count: w[2] * n * plane1, accumulate: false)
        conv3.backward(
            theta, x: a.a2, dy: d.a3, dx: d.a2, samples: n, height: size1, width: size1,
            workspace: a.workspace, sink: sink, tiles: tiles[2])
        // 2: residual
        block2.backward(
            theta, x: a.a1, hidden: a.h2, branch: a.b2, dy: d.a2, dx: d.a1,
            scratchBranch: d.scratchBranch, scratchHidden: d.scratchHidden,
            samples: n, height: size1, width: size1, workspace: a.workspace, sink: sink, tiles: tiles[1])
        // 1: a1 = relu(conv(a0))
        ReLU.parallelBackward(
            input: a.a1, gradOutput: d.a1, gradInput: d.a1, count: w[1] * n * plane1, accumulate: false)
        conv1.backward(
            theta, x: a.a0, dy: d.a1, dx: d.a0, samples: n, height: size0, width: size0,
            workspace: a.workspace, sink: sink, tiles: tiles[0])
        // 0: a0 = relu(conv(x0)); no input gradient
        ReLU.parallelBackward(
            input: a.a0, gradOutput: d.a0, gradInput: d.a0, count: w[0] * n * plane0, accumulate: false)
        conv0.backward(
            theta, x: a.x0, dy: d.a0, dx: nil, samples: n, height: size0, width: size0,
            workspace: a.workspace, sink: sink)
    }
}

/// Buffers of one ResNet-9 forward/backward call: one allocation for the activations (kept for the backward),
/// the shared column workspace, and (on demand) one zeroed allocation for the activation gradients and one for the
/// Winograd input tiles the forward pass keeps for a batch backward.
final class ResNet9Activations {
    let samples: Int
    let classCount: Int
    private let storage: UnsafeMutablePointer<Float>
    private var gradientStorage: UnsafeMutablePointer<Float>?
    private let gradientSizes: [Int]
    /// Channel-major activations; shapes for the standard model in comments.
    let x0, a0, a1, h2, b2, a2, a3, a4, h5, b5, a5, a6: UnsafeMutablePointer<Float>
    /// (w3, n), (n, w3), (n, C), (n, C)
    let pooled, features, logits, logProbs: UnsafeMutablePointer<Float>
    let workspace: UnsafeMutablePointer<Float>
    /// The kept input tiles of layers 1, 2, 3, 5 and 6 (`ResNet9.savedTilesCounts`), or nil each when not kept.
    let tiles: [UnsafeMutablePointer<Float>?]
    private let tileStorage: UnsafeMutablePointer<Float>?

    /// Gradient buffers, zeroed: the residual scratch buffers are sized for the larger of the two blocks.
    struct Gradients {
        let logits, features, pooled, a6, a5, a4, a3, a2, a1, a0, scratchBranch,
            scratchHidden: UnsafeMutablePointer<Float>
    }

    init(_ model: ResNet9, samples n: Int, keepingTiles: Bool = false) {
        samples = n
        let tileCounts = model.savedTilesCounts(samples: n)
        if keepingTiles {
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tileCounts.reduce(0, +)))
            var offset = 0
            tiles = tileCounts.map { count in
                defer { offset += count }
                return count > 0 ? storage + offset : nil
            }
            tileStorage = storage
        } else {
            tiles = tileCounts.map { _ in nil }
            tileStorage = nil
        }
        classCount = model.classCount
        let w = model.configuration.widths, (s0, s1, s4, s6) = Self.planeCounts(model, samples: n)
        let C = model.classCount
        let sizes = Self.activationCounts(model, samples: n) + [model.workspaceCount(samples: n)]
        storage = .allocate(capacity: sizes.reduce(0, +))
        var pointers: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for size in sizes { pointers.append(storage + offset); offset += size }
        (x0, a0, a1, h2, b2, a2, a3, a4, h5, b5) =
            (
                pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5], pointers[6], pointers[7],
                pointers[8], pointers[9]
            )
        (a5, a6, pooled, features, logits, logProbs, workspace) =
            (pointers[10], pointers[11], pointers[12], pointers[13], pointers[14], pointers[15], pointers[16])
        //               logits  features  pooled    a6         a5         a4         a3         a2         a1
        gradientSizes = [
            n * C, n * w[3], w[3] * n, w[3] * s6, w[2] * s4, w[2] * s4, w[2] * s1, w[1] * s1, w[1] * s1,
            w[0] * s0, max(w[1] * s1, w[2] * s4), max(w[1] * s1, w[2] * s4),
        ]
        //               a0         scratchBranch             scratchHidden
    }

    /// Floats of x0, a0, a1, h2, b2, a2, a3, a4, h5, b5, a5, a6, pooled, features, logits and logProbs for n
    /// samples, in that order (the workspace follows them in `storage`).
    static func activationCounts(_ model: ResNet9, samples n: Int) -> [Int] {
        let w = model.configuration.widths, c = model.configuration.inputChannels, C = model.classCount
        let (s0, s1, s4, s6) = planeCounts(model, samples: n)
        //      x0      a0         a1         h2         b2         a2         a3         a4         h5
        return [
            c * s0, w[0] * s0, w[1] * s1, w[1] * s1, w[1] * s1, w[1] * s1, w[2] * s1, w[2] * s4, w[2] * s4,
            w[2] * s4, w[2] * s4, w[3] * s6, w[3] * n, w[3] * n, n * C, n * C,
        ]
        //  b5         a5         a6         pooled    features  logits logProbs
    }

    /// Floats of one channel of n samples at each spatial size: the input, after layer 1, after the max-pool and
    /// after layer 6.
    private static func planeCounts(_ model: ResNet9, samples n: Int) -> (Int, Int, Int, Int) {
        (
            model.size0 * model.size0 * n, model.size1 * model.size1 * n, model.size4 * model.size4 * n,
            model.size6 * model.size6 * n
        )
    }

    deinit {
        storage.deallocate()
        gradientStorage?.deallocate()
        tileStorage?.deallocate()
    }

    /// Allocates (once) and zeroes the gradient buffers.
    func gradients() -> Gradients {
        let total = gradientSizes.reduce(0, +)
        if gradientStorage == nil { gradientStorage = .allocate(capacity: total) }
        let base = gradientStorage!
        Parallel.forEachRange(total, minimumChunk: ReLU.parallelChunk) { r in
            (base + r.lowerBound).initialize(repeating: 0, count: r.count)
        }
        var pointers: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for size in gradientSizes { pointers.append(base + offset); offset += size }
        return Gradients(
            logits: pointers[0], features: pointers[1], pooled: pointers[2], a6: pointers[3],
            a5: pointers[4], a4: pointers[5], a3: pointers[6], a2: pointers[7], a1: pointers[8],
            a0: pointers[9], scratchBranch: pointers[10], scratchHidden: pointers[11])
    }

    /// The log-probabilities (n, C) as a tensor.
    func logProbabilities() -> Tensor {
        Tensor(
            shape: [samples, classCount],
            storage: Array(UnsafeBufferPointer(start: logProbs, count: samples * classCount)))
    }
}
