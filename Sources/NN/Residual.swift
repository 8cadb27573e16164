import Tensor

/// The residual block of the TRAK ResNet-9 without BatchNorm (docs/METHOD.md §14, layers 2 and 5):
/// `y = x + relu(conv₁(relu(conv₀(x))))`, both convolutions C → C, k3 s1 p1, bias-free.
///
/// Components `"\(name).module.0.0.weight"` and `"\(name).module.1.0.weight"` (the PyTorch names of
/// `Residual(Sequential(conv_bn, conv_bn))` with the BatchNorm removed).
/// All buffers are channel-major (C, n, H, W) and keep their spatial size.
public struct Residual: Sendable {
    public let first: Conv2d
    public let second: Conv2d
    public let channels: Int

    public init(_ layout: inout ParameterLayout, name: String, channels: Int) {
        self.channels = channels
        first = Conv2d(
            &layout, name: "\(name).module.0.0", inChannels: channels, outChannels: channels,
            kernel: 3, stride: 1, padding: 1)
        second = Conv2d(
            &layout, name: "\(name).module.1.0", inChannels: channels, outChannels: channels,
            kernel: 3, stride: 1, padding: 1)
    }

    /// PyTorch-default initialisation of both convolutions, in layout order.
    public func initialize(_ parameters: inout [Float], rng: inout RNG) {
        first.initialize(&parameters, rng: &rng)
        second.initialize(&parameters, rng: &rng)
    }

    /// Column workspace (floats) for either convolution.
    public func workspaceCount(samples n: Int, height: Int, width: Int) -> Int {
        max(
            first.workspaceCount(samples: n, height: height, width: width),
            second.workspaceCount(samples: n, height: height, width: width))
    }

    /// Floats of the two convolutions' kept input tiles (`Conv2d.savedTilesCount`), first then second.
    public func savedTilesCount(samples n: Int, height: Int, width: Int) -> Int {
        first.savedTilesCount(samples: n, height: height, width: width)
            + second.savedTilesCount(samples: n, height: height, width: width)
    }

    /// Forward, keeping the two post-ReLU activations for the backward. All of x, hidden, branch, y are (C, n, H, W).
    /// `tiles` (`savedTilesCount` floats): see `Conv2d.forward`.
    public func forward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        branch: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
        samples n: Int, height: Int, width: Int, workspace: UnsafeMutablePointer<Float>,
        tiles: UnsafeMutablePointer<Float>? = nil
    ) {
        let count = channels * n * height * width
        let secondTiles = tiles.map { $0 + first.savedTilesCount(samples: n, height: height, width: width) }
        // hidden = relu(conv₀(x))
        first.forward(
            theta, x: x, y: hidden, samples: n, height: height, width: width, workspace: workspace, tiles: tiles)
        ReLU.parallelForward(hidden, hidden, count: count)
        // branch = relu(conv₁(hidden))
        second.forward(
            theta, x: hidden, y: branch, samples: n, height: height, width: width, workspace: workspace,
            tiles: secondTiles)
        ReLU.parallelForward(branch, branch, count: count)
        // y = x + branch
        y.update(from: x, count: count)
        Vector.add(branch, into: y, count: count)
    }

    /// Backward of the forward above; `dx += ∂S/∂x`. `dy` is not modified. `tiles`: those the forward pass kept.
    /// `scratchBranch` and `scratchHidden` are (C, n, H, W) buffers this call overwrites.
    public func backward(
        _ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, hidden: UnsafePointer<Float>,
        branch: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        scratchBranch dBranch: UnsafeMutablePointer<Float>,
        scratchHidden dHidden: UnsafeMutablePointer<Float>,
        samples n: Int, height: Int, width: Int, workspace: UnsafeMutablePointer<Float>,
        sink: GradientSink, tiles: UnsafePointer<Float>? = nil
    ) {
        let count = channels * n * height * width
        let secondTiles = tiles.map { $0 + first.savedTilesCount(samples: n, height: height, width: width) }
        // y = x + branch  ⇒  dx += dy, dBranch = dy
        Vector.add(dy, into: dx, count: count)
        // branch = relu(·)  ⇒  dBranch = dy ⊙ [branch > 0]
        ReLU.parallelBackward(input: branch, gradOutput: dy, gradInput: dBranch, count: count, accumulate: false)
        // branch = conv₁(hidden)  ⇒  dHidden = conv₁ᵀ(dBranch), dW₁ += …
        dHidden.update(repeating: 0, count: count)
        second.backward(
            theta, x: hidden, dy: dBranch, dx: dHidden, samples: n, height: height, width: width,
            workspace: workspace, sink: sink, tiles: secondTiles)
        // hidden = relu(·)  ⇒  dHidden ⊙= [hidden > 0]
        ReLU.parallelBackward(input: hidden, gradOutput: dHidden, gradInput: dHidden, count: count, accumulate: false)
        // hidden = conv₀(x)  ⇒  dx += conv₀ᵀ(dHidden), dW₀ += …
        first.backward(
            theta, x: x, dy: dHidden, dx: dx, samples: n, height: height, width: width,
            workspace: workspace, sink: sink, tiles: tiles)
    }
}
