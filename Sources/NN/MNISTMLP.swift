import Foundation
import Tensor

/// MNIST classifier for the training-with-history and LDS data-attribution experiments (docs/METHOD.md §14, §17):
/// `f = log_softmax(fc2(ReLU(fc1(x))))`, 784 → 128 → ReLU → 10.
///
/// The original's MNIST architecture is not public. We choose a one-hidden-layer MLP of width 128, the size of the MNIST MLPs
/// used in published data-attribution (LDS) benchmarks: small enough that exact per-sample gradients are cheap, and
/// its P = 101,770 keeps an N × P per-sample buffer at N = 5k–10k within 2–4 GB (docs/METHOD.md §14).
/// Components `fc1.weight` (128 × 784), `fc1.bias`, `fc2.weight` (10 × 128), `fc2.bias`; PyTorch-default
/// initialisation U(±1/√fan_in), drawn in that order.
/// Input per sample: 784 floats, already normalised with (0.1307, 0.3081) by the data module.
public final class MNISTMLP: Model {
    public static let inputFeatures = 784
    public static let hiddenFeatures = 128
    public static let classes = 10

    public let name = "MNISTMLP"
    public let layout: ParameterLayout
    public let inputShape = [MNISTMLP.inputFeatures]
    public let classCount = MNISTMLP.classes

    let fc1: Linear
    let fc2: Linear

    public init() {
        var layout = ParameterLayout()
        fc1 = Linear(&layout, name: "fc1", inFeatures: Self.inputFeatures, outFeatures: Self.hiddenFeatures)
        fc2 = Linear(&layout, name: "fc2", inFeatures: Self.hiddenFeatures, outFeatures: Self.classes)
        self.layout = layout
    }

    /// PyTorch defaults in component order: fc1 U(±1/28), fc2 U(±1/√128).
    public func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        fc1.initialize(&theta, rng: &rng)
        fc2.initialize(&theta, rng: &rng)
        return theta
    }

    /// Saved activations of one forward pass.
    struct Activations {
        let arena: FloatArena
        let z1: UnsafeMutablePointer<Float>  // (n, 128)
        let r1: UnsafeMutablePointer<Float>  // (n, 128)
        let logits: UnsafeMutablePointer<Float>  // (n, 10)
        let logProbs: UnsafeMutablePointer<Float>  // (n, 10)
    }

    func runForward(_ theta: UnsafePointer<Float>, x: UnsafePointer<Float>, samples n: Int) -> Activations {
        let H = Self.hiddenFeatures, C = classCount
        let arena = FloatArena()
        let act = Activations(
            arena: arena, z1: arena.make(n * H), r1: arena.make(n * H),
            logits: arena.make(n * C), logProbs: arena.make(n * C))
        fc1.forward(theta, x: x, y: act.z1, rows: n)  // z1 = x W1ᵀ + b1
        ReLU.forward(act.z1, act.r1, count: n * H)  // r1 = ReLU(z1)
        fc2.forward(theta, x: act.r1, y: act.logits, rows: n)  // logits = r1 W2ᵀ + b2
        LogSoftmax.forward(act.logits, act.logProbs, rows: n, classes: C)
        return act
    }

    private func checkInputs(_ inputs: Tensor, _ parameters: [Float]) -> Int {
        precondition(
            inputs.rank >= 2 && inputs.rowLength == Self.inputFeatures,
            "MNISTMLP: inputs must be (n, 784), got \(inputs.shape)")
        precondition(
            parameters.count == layout.count, "MNISTMLP: θ has \(parameters.count) values, expected \(layout.count)")
        return inputs.shape[0]
    }

    public func forward(parameters: [Float], inputs: Tensor) -> Tensor {
        let n = checkInputs(inputs, parameters), C = classCount
        return logProbabilities(samples: n, classes: C, parameters: parameters, inputs: inputs) { theta, x in
            let act = runForward(theta, x: x, samples: n)
            return (act.arena, UnsafePointer(act.logProbs))
        }
    }

    @discardableResult
    public func backward(
        parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink
    ) -> Tensor {
        let n = checkInputs(inputs, parameters), C = classCount, H = Self.hiddenFeatures
        precondition(outputGradients.shape == [n, C], "MNISTMLP: output gradients must be (\(n), \(C))")
        var out = [Float](repeating: 0, count: n * C)
        parameters.withPointer { theta in
            inputs.storage.withPointer { x in
                outputGradients.storage.withPointer { df in
                    let act = runForward(theta, x: x, samples: n)
                    let arena = act.arena
                    let dLogits = arena.make(n * C)  // (n, 10)
                    let dR1 = arena.make(n * H)  // (n, 128)
                    let dZ1 = arena.make(n * H)  // (n, 128)
                    LogSoftmax.backward(output: act.logProbs, gradOutput: df, gradInput: dLogits, rows: n, classes: C)
                    fc2.backward(theta, x: act.r1, dy: dLogits, dx: dR1, rows: n, sink: sink)
                    ReLU.backward(input: act.z1, gradOutput: dR1, gradInput: dZ1, count: n * H)
                    fc1.backward(theta, x: x, dy: dZ1, dx: nil, rows: n, sink: sink)
                    withExtendedLifetime(arena) {
                        out.withMutablePointer { $0.update(from: act.logProbs, count: n * C) }
                    }
                }
            }
        }
        return Tensor(shape: [n, C], storage: out)
    }
}
