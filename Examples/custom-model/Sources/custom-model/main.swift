import Data
// A model defined in code, outside the workbench: f = log_softmax(W2 relu(W1 x + b1) + b2) on two Gaussian blobs
// per class. It is trained with SGD-momentum and weight decay while every step goes into a history file, and the
// history is then replayed as an exact path kernel: f(x; θ_T) = f(x; θ_0) + Σ_t (kernel + regularisation).
// Exits 1 when the replay does not match the model (argmax disagreement or mean |EPK − model| above 1e-3).
import EPK
import Foundation
import History
import NN
import Optim
import Tensor

/// The only thing a user writes: layout, initialisation, forward and backward built from the library's layers.
final class BlobMLP: Model, @unchecked Sendable {
    let name = "blob-mlp"
    let layout: ParameterLayout
    let inputShape = [2]
    let classCount = 3
    let fc1: Linear, fc2: Linear

    init(hidden: Int = 16) {
        var layout = ParameterLayout()
        fc1 = Linear(&layout, name: "fc1", inFeatures: 2, outFeatures: hidden)
        fc2 = Linear(&layout, name: "fc2", inFeatures: hidden, outFeatures: 3)
        self.layout = layout
    }

    func initialParameters(rng: inout RNG) -> [Float] {
        var theta = [Float](repeating: 0, count: layout.count)
        fc1.initialize(&theta, rng: &rng)
        fc2.initialize(&theta, rng: &rng)
        return theta
    }

    func forward(parameters: [Float], inputs: Tensor) -> Tensor { pass(parameters, inputs, nil, nil) }

    func backward(parameters: [Float], inputs: Tensor, outputGradients: Tensor, into sink: GradientSink) -> Tensor {
        pass(parameters, inputs, outputGradients, sink)
    }

    /// Forward, then (when a cotangent is given) the backward pass that mirrors it.
    private func pass(_ theta: [Float], _ x: Tensor, _ df: Tensor?, _ sink: GradientSink?) -> Tensor {
        let n = x.shape[0], H = fc1.outFeatures, C = classCount
        var z1 = [Float](repeating: 0, count: n * H), h = z1  // (n, H)
        var logits = [Float](repeating: 0, count: n * C)  // (n, C)
        var f = Tensor(shape: [n, C])  // (n, C) log-probabilities
        theta.withPointer { th in
            x.storage.withPointer { xp in
                z1.withMutablePointer { fc1.forward(th, x: xp, y: $0, rows: n) }  // z1 = x W1ᵀ + b1
                z1.withPointer { zp in h.withMutablePointer { ReLU.forward(zp, $0, count: n * H) } }  // h = relu(z1)
                h.withPointer { hp in logits.withMutablePointer { fc2.forward(th, x: hp, y: $0, rows: n) } }
                logits.withPointer { lp in
                    f.storage.withMutablePointer { LogSoftmax.forward(lp, $0, rows: n, classes: C) }
                }
                guard let df, let sink else { return }
                var dLogits = [Float](repeating: 0, count: n * C), dh = [Float](repeating: 0, count: n * H)
                f.storage.withPointer { fp in
                    df.storage.withPointer { dfp in
                        dLogits.withMutablePointer {
                            LogSoftmax.backward(output: fp, gradOutput: dfp, gradInput: $0, rows: n, classes: C)
                        }
                    }
                }
                h.withPointer { hp in
                    dLogits.withPointer { dl in
                        dh.withMutablePointer {
                            fc2.backward(th, x: hp, dy: dl, dx: $0, rows: n, sink: sink)
                        }
                    }
                }
                for i in 0..<(n * H) where z1[i] <= 0 { dh[i] = 0 }  // relu backward
                dh.withPointer { dhp in fc1.backward(th, x: xp, dy: dhp, dx: nil, rows: n, sink: sink) }
            }
        }
        return f
    }
}

/// Replays the recorded batches from the dataset (no augmentation here).
final class Replay: ReplayData {
    let dataset: LabeledDataset
    init(_ dataset: LabeledDataset) { self.dataset = dataset }
    var trainingCount: Int { dataset.count }
    func trainingBatch(indices: [Int], flips: [Bool]?) -> (inputs: Tensor, labels: [Int]) {
        (dataset.inputs.gatherRows(indices), indices.map { dataset.labels[$0] })
    }
}

/// n points per class around three centres.
func blobs(_ n: Int, seed: UInt64) -> LabeledDataset {
    var rng = RNG(seed: seed)
    let centres: [(Float, Float)] = [(-1, 0), (1, 0), (0, 1.5)]
    var x = Tensor(shape: [3 * n, 2])
    x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0, std: 0.5) }
    var labels: [Int] = []
    for i in 0..<(3 * n) {
        let c = i % 3
        x.storage[2 * i] += centres[c].0
        x.storage[2 * i + 1] += centres[c].1
        labels.append(c)
    }
    return LabeledDataset(name: "blobs", inputs: x, labels: labels, classCount: 3)
}

let model = BlobMLP()
let train = blobs(40, seed: 1), test = blobs(5, seed: 2)
let plan = TrainingPlan(
    optimizer: .sgd(momentum: 0.9, dampening: 0, weightDecay: 1e-3), schedule: .constant(0.05),
    batchSize: 12, dropLast: true, maxSteps: 60, seed: 7)
let trainer = Trainer(model: model, train: train, validation: test, plan: plan)
let directory = NSTemporaryDirectory() + "custom-model-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: directory) }
let path = directory + "/history.h5"
let writer = try HistoryFileWriter(
    path: path, model: model, train: train, plan: plan,
    initialParameters: trainer.initialParameters(), configJSON: "{}")
let steps = try trainer.run(writer: writer)
try writer.finish()

let history = try HistoryFileReader(path: path)
let options = EPKOptions(
    quadrature: QuadratureConfig(rule: .midpoint, points: 8),
    dataAttributionGroups: [ComponentGroup(name: "model", components: model.layout.names)])
let result = try EPKEngine(model: model, history: history, data: Replay(train), options: options)
    .run(testInputs: test.inputs, testLabels: nil)
let statistics = ValidationStatistics.compute(result, labels: test.labels)
print("custom-model: \(steps) steps, \(test.count) test points × \(model.classCount) classes")
print(
    String(
        format: "custom-model: mean |EPK − model| %.2e, max %.2e, argmax agreement %.3f",
        statistics.meanAbsoluteError, statistics.maxAbsoluteError, statistics.argmaxAgreement))
let kernelSum = result.kernelByComponent.reduce(0, +), dataSum = result.dataAttributionRowSums.reduce(0, +)
print(
    String(
        format: "custom-model: Σ kernel over components %.6f, Σ data attribution over samples %.6f",
        kernelSum, dataSum))
guard statistics.argmaxAgreement == 1, statistics.meanAbsoluteError < 1e-3,
    abs(kernelSum - dataSum) < 1e-3 * max(1, abs(kernelSum))
else {
    FileHandle.standardError.write(Data("custom-model: the replay does not match the model\n".utf8))
    exit(1)
}
