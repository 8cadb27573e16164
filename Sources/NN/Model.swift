import Tensor

/// A classifier whose output is a log-softmax vector (docs/METHOD.md §1), with hand-written backward passes and
/// per-sample gradient rules.
///
/// Inputs are Float32 tensors of shape `[n] + inputShape`. Token models store token ids as exact small integers
/// in Float32 (exact up to 2²⁴), so every model shares one input type.
public protocol Model: AnyObject, Sendable {
    /// Human-readable architecture name, recorded in histories.
    var name: String { get }
    /// Component names, shapes and offsets into θ.
    var layout: ParameterLayout { get }
    /// Shape of one input sample (without the batch axis).
    var inputShape: [Int] { get }
    /// Number of output classes C.
    var classCount: Int { get }

    /// Whether the model's parameterised layers take the projection path of `.perSampleDot` when given a scratch
    /// (`ComponentProjection`; default no).
    var projectsPerSampleDots: Bool { get }

    /// Most samples in one forward pass of `forwardChunked` (evaluation over many inputs), which bounds the
    /// activations the pass holds at once. Models that know what their forward pass holds per sample give as many as
    /// fit `forwardChunkFloats` (`forwardChunk(holding:)`); the default is 500.
    var forwardChunk: Int { get }

    /// PyTorch-default initialisation of θ (documented per model).
    func initialParameters(rng: inout RNG) -> [Float]

    /// Log-probabilities, shape (n, C).
    func forward(parameters: [Float], inputs: Tensor) -> Tensor

    /// One forward and one backward pass. `outputGradients` (n, C) holds ∂S/∂f(x_i) for the scalar
    /// S = Σ_i Σ_c outputGradients[i, c] · f_c(x_i); the parameter gradient goes to `sink` (accumulated),
    /// either summed over samples or per sample. Returns the log-probabilities of the forward pass.
    @discardableResult
    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor
}

extension Model {
    /// Whether the model's parameterised layers take the projection path of `.perSampleDot` (`ComponentProjection`)
    /// when given a scratch: then a backward pass with many directions costs about one per-sample gradient per sample,
    /// and the EPK engine scores training samples against its accumulator rows inside that pass instead of holding
    /// whole per-sample gradient rows (docs/ENGINE.md). Models whose layers would loop over the directions say no.
    public var projectsPerSampleDots: Bool { false }

    public var forwardChunk: Int { 500 }

    /// Floats of activations one forward pass of `forwardChunked` may hold (32 Mi, 128 MiB), for models that count
    /// what their forward pass holds.
    public static var forwardChunkFloats: Int { 1 << 25 }

    /// The `forwardChunk` of a model whose forward pass holds `floats` floats of activations per sample: as many
    /// samples as fit `forwardChunkFloats`, at least one.
    public static func forwardChunk(holding floats: Int) -> Int { max(1, forwardChunkFloats / max(1, floats)) }

    /// Total parameter count P.
    public var parameterCount: Int { layout.count }

    /// Mean negative log-likelihood and its gradient ∇L = −(1/n) Σ_i ∇f_{y_i}(x_i) (docs/METHOD.md §1).
    public func lossAndGradient(parameters: [Float], inputs: Tensor, labels: [Int]) -> (loss: Double, gradient: [Float])
    {
        let n = inputs.shape[0]
        precondition(labels.count == n, "lossAndGradient: \(labels.count) labels for \(n) inputs")
        var dOut = Tensor(shape: [n, classCount])
        for i in 0..<n { dOut.storage[i * classCount + labels[i]] = -1 / Float(n) }
        var grad = [Float](repeating: 0, count: parameterCount)
        let logProbs = grad.withMutablePointer {
            backward(parameters: parameters, inputs: inputs, outputGradients: dOut, into: .sum($0))
        }
        var loss = 0.0
        for i in 0..<n { loss -= Double(logProbs.storage[i * classCount + labels[i]]) }
        return (loss / Double(max(n, 1)), grad)
    }

    /// Per-sample gradients g_i = ∇_θ f_{c_i}(x_i) of one chosen output per sample, shape (n × P) row-major.
    /// With c_i = y_i these are the EPK train features (docs/METHOD.md §1).
    public func perSampleGradients(parameters: [Float], inputs: Tensor, classes: [Int]) -> [Float] {
        let n = inputs.shape[0]
        precondition(classes.count == n, "perSampleGradients: \(classes.count) classes for \(n) inputs")
        var dOut = Tensor(shape: [n, classCount])
        for i in 0..<n { dOut.storage[i * classCount + classes[i]] = 1 }
        var rows = [Float](repeating: 0, count: n * parameterCount)
        rows.withMutablePointer {
            _ = backward(
                parameters: parameters, inputs: inputs, outputGradients: dOut,
                into: .perSample($0, rowStride: parameterCount))
        }
        return rows
    }

    /// `perSampleGradients` written into `rows` ((n × P), row-major, **overwritten**): callers that repeat it keep one
    /// buffer instead of allocating (and page-faulting) n·P fresh floats per call.
    public func perSampleGradients(
        parameters: [Float], inputs: Tensor, classes: [Int], into rows: UnsafeMutablePointer<Float>
    ) {
        let n = inputs.shape[0]
        precondition(classes.count == n, "perSampleGradients: \(classes.count) classes for \(n) inputs")
        var dOut = Tensor(shape: [n, classCount])
        for i in 0..<n { dOut.storage[i * classCount + classes[i]] = 1 }
        rows.update(repeating: 0, count: n * parameterCount)
        _ = backward(
            parameters: parameters, inputs: inputs, outputGradients: dOut,
            into: .perSample(rows, rowStride: parameterCount))
    }

    /// Jacobian of the log-probabilities: for each input i and class c, row `i·C + c` holds ∇_θ f_c(x_i).
    /// Shape (n·C × P). Each input is replicated C times and back-propagated with an identity cotangent.
    public func jacobian(parameters: [Float], inputs: Tensor) -> [Float] {
        let n = inputs.shape[0], C = classCount
        let repeated = inputs.gatherRows((0..<(n * C)).map { $0 / C })
        return perSampleGradients(parameters: parameters, inputs: repeated, classes: (0..<(n * C)).map { $0 % C })
    }
}
