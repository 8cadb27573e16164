import Foundation
import History
import NN
import Tensor

@testable import EPK

/// verify.py's tiny model: f = log_softmax(W2 tanh(W1 x)) (no biases), D = 5, H = 7, C = 3.
final class TinyTanhMLP: Model, @unchecked Sendable {
    let name = "tiny-tanh-mlp"
    let layout: ParameterLayout
    let inputShape: [Int]
    let classCount: Int
    let hidden: Linear, output: Linear

    init(inputs: Int = 5, hidden width: Int = 7, classes: Int = 3) {
        var l = ParameterLayout()
        hidden = Linear(&l, name: "fc1", inFeatures: inputs, outFeatures: width, bias: false)
        output = Linear(&l, name: "fc2", inFeatures: width, outFeatures: classes, bias: false)
        layout = l; inputShape = [inputs]; classCount = classes
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        theta.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 0.5) }
        return theta
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor { run(parameters, inputs, nil, nil).logProbs }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        run(parameters, inputs, outputGradients, sink).logProbs
    }

    private func run(_ theta: [Float], _ x: Tensor, _ df: Tensor?, _ sink: GradientSink?) -> (logProbs: Tensor, Void) {
        let n = x.shape[0], H = hidden.outFeatures, C = classCount
        var pre = [Float](repeating: 0, count: n * H), h = pre, z = [Float](repeating: 0, count: n * C)
        var f = Tensor(shape: [n, C])
        theta.withPointer { th in
            x.storage.withPointer { xp in
                pre.withMutablePointer { hidden.forward(th, x: xp, y: $0, rows: n) }
                for i in 0..<(n * H) { h[i] = Float(Foundation.tanh(Double(pre[i]))) }
                h.withPointer { hp in z.withMutablePointer { output.forward(th, x: hp, y: $0, rows: n) } }
                z.withPointer { zp in f.storage.withMutablePointer { LogSoftmax.forward(zp, $0, rows: n, classes: C) } }
                guard let df, let sink else { return }
                var dz = [Float](repeating: 0, count: n * C), dh = [Float](repeating: 0, count: n * H)
                f.storage.withPointer { fp in
                    df.storage.withPointer { dfp in
                        dz.withMutablePointer {
                            LogSoftmax.backward(output: fp, gradOutput: dfp, gradInput: $0, rows: n, classes: C)
                        }
                    }
                }
                h.withPointer { hp in
                    dz.withPointer { dzp in
                        dh.withMutablePointer {
                            output.backward(th, x: hp, dy: dzp, dx: $0, rows: n, sink: sink)
                        }
                    }
                }
                for i in 0..<(n * H) { dh[i] *= 1 - h[i] * h[i] }
                dh.withPointer { dhp in hidden.backward(th, x: xp, dy: dhp, dx: nil, rows: n, sink: sink) }
            }
        }
        return (f, ())
    }
}

/// Training data for the tiny problem: N Gaussian inputs with random labels.
final class TinyData: ReplayData {
    let inputs: Tensor
    let labels: [Int]
    var trainingCount: Int { labels.count }
    convenience init(count: Int, dimension: Int, classes: Int, rng: inout RNG) {
        self.init(count: count, sampleShape: [dimension], classes: classes, rng: &rng)
    }
    init(count: Int, sampleShape: [Int], classes: Int, rng: inout RNG) {
        var x = Tensor(shape: [count] + sampleShape)
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        inputs = x
        labels = (0..<count).map { _ in rng.int(below: classes) }
    }
    func trainingBatch(indices: [Int], flips: [Bool]?) -> (inputs: Tensor, labels: [Int]) {
        (inputs.gatherRows(indices), indices.map { labels[$0] })
    }
}

/// Trains with the optimizer formulas written out here (independently of the Optim module), recording a history
/// with the per-step quantities the EPK needs (SGD: R_t; AdamW: v_t).
func trainTiny(
    model: Model, data: TinyData, optimizer: OptimizerSpec, steps T: Int, batch B: Int,
    schedule: (Int) -> Float, seed: UInt64
) -> InMemoryHistory {
    var rng = RNG(seed: seed)
    var theta = model.initialParameters(rng: &rng)
    let P = theta.count
    let history = InMemoryHistory(
        layout: model.layout, trainingCount: data.trainingCount, optimizer: optimizer,
        activeComponents: model.layout.names, initialParameters: theta)
    var m = [Double](repeating: 0, count: P), v = [Double](repeating: 0, count: P),
        decay = [Double](repeating: 0, count: P)
    for t in 0..<T {
        let ids = rng.choose(B, from: data.trainingCount)
        let batch = data.trainingBatch(indices: ids, flips: nil)
        let g = model.lossAndGradient(parameters: theta, inputs: batch.inputs, labels: batch.labels).gradient
        let lr = schedule(t)
        var quantity = [Float](repeating: 0, count: P)
        switch optimizer {
        case .sgd(let mu, let damp, let wd):
            // PyTorch: with momentum, buf = d at the first step and μ·buf + (1 − dampening)·d after; without
            // momentum there is no buffer (the update is d, dampening unused), so R_t = λθ_t.
            let keep = t == 0 || mu == 0 ? 1 : 1 - damp
            for p in 0..<P {
                let d = Double(g[p]) + wd * Double(theta[p])
                m[p] = t == 0 || mu == 0 ? d : mu * m[p] + keep * d
                decay[p] = t == 0 || mu == 0 ? wd * Double(theta[p]) : mu * decay[p] + keep * wd * Double(theta[p])
                quantity[p] = Float(decay[p])
                theta[p] = Float(Double(theta[p]) - Double(lr) * m[p])
            }
        case .adamw(let b1, let b2, let eps, let wd):
            let tau = Double(t + 1)
            for p in 0..<P {
                var th = Double(theta[p]) * (1 - Double(lr) * wd)
                m[p] = b1 * m[p] + (1 - b1) * Double(g[p])
                v[p] = b2 * v[p] + (1 - b2) * Double(g[p]) * Double(g[p])
                th -= Double(lr) / (1 - pow(b1, tau)) * m[p] / ((v[p] / (1 - pow(b2, tau))).squareRoot() + eps)
                theta[p] = Float(th)
                quantity[p] = Float(v[p])
            }
        }
        history.record(
            parameters: theta, learningRate: lr, weightDecay: Float(optimizer.weightDecay), indices: ids,
            flips: nil, optimizerQuantity: quantity)
    }
    return history
}

/// A ready tiny problem: model, data, history and test inputs.
struct TinyProblem {
    let model: TinyTanhMLP
    let data: TinyData
    let history: InMemoryHistory
    let tests: Tensor

    static func make(_ kind: String, steps: Int = 12, seed: UInt64 = 0, classes: Int = 3) -> TinyProblem {
        var rng = RNG(seed: seed + 100)
        let model = TinyTanhMLP(classes: classes)
        let data = TinyData(count: 24, dimension: 5, classes: classes, rng: &rng)
        let spec: OptimizerSpec
        switch kind {
        case "sgd": spec = .sgd(momentum: 0.9, dampening: 0, weightDecay: 5e-3)
        case "sgd-dampened": spec = .sgd(momentum: 0.9, dampening: 0.3, weightDecay: 5e-3)
        case "sgd-no-momentum": spec = .sgd(momentum: 0, dampening: 0.5, weightDecay: 5e-3)
        default: spec = .adamw(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 0.5)
        }
        let peak: Float = kind.hasPrefix("sgd") ? 0.2 : 0.05
        // Triangular schedule through (0, 0), (4, 1), (T, 0), as verify.py.
        let schedule: (Int) -> Float = { t in
            t <= 4 ? peak * Float(t) / 4 : peak * Float(steps - t) / Float(steps - 4)
        }
        let history = trainTiny(
            model: model, data: data, optimizer: spec, steps: steps, batch: 6, schedule: schedule, seed: seed)
        var tests = Tensor(shape: [3, 5])
        tests.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        return TinyProblem(model: model, data: data, history: history, tests: tests)
    }

    func engine(
        _ quadrature: QuadratureConfig, classes: ClassSelection = .all, dataAttribution: Bool = true,
        budget: Int = 1 << 30, steps: Range<Int>? = nil,
        parameterAttribution: ParameterAttributionOptions? = nil
    ) throws -> EPKEngine {
        let groups =
            dataAttribution
            ? [
                ComponentGroup(name: "fc1", components: ["fc1.weight"]),
                ComponentGroup(name: "fc2", components: ["fc2.weight"]),
            ] : []
        return try EPKEngine(
            model: model, history: history, data: data,
            options: EPKOptions(
                quadrature: quadrature, classes: classes, dataAttributionGroups: groups,
                parameterAttribution: parameterAttribution, memoryBudgetBytes: budget,
                steps: steps))
    }
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
