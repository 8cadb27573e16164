import Foundation
import History
import NN
import Tensor
import XCTest

/// Random images with random labels, replayed without augmentation.
final class TinyImages: ReplayData {
    let inputs: Tensor
    let labels: [Int]
    var trainingCount: Int { labels.count }
    init(count: Int, shape: [Int], classes: Int, rng: inout RNG) {
        var x = Tensor(shape: [count] + shape)
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        inputs = x
        labels = (0..<count).map { _ in rng.int(below: classes) }
    }
    func trainingBatch(indices: [Int], flips: [Bool]?) -> (inputs: Tensor, labels: [Int]) {
        (inputs.gatherRows(indices), indices.map { labels[$0] })
    }
}

/// A tiny ResNet-9 (docs/METHOD.md §14 layout, 4–16 channels, 16×16 inputs) trained a few SGD-momentum steps, with the
/// history quantities the EPK needs (R_t = μ R_{t−1} + λ θ_t), written out here independently of Optim.
struct TinyResNetProblem {
    let model: ResNet9
    let data: TinyImages
    let history: InMemoryHistory
    let tests: Tensor
    let testLabels: [Int]

    static func make(steps T: Int = 6, lr: Float = 0.05, seed: UInt64 = 7) -> TinyResNetProblem {
        let model = ResNet9(.init(widths: [4, 8, 16, 8], inputChannels: 3, inputSize: 16, classCount: 2))
        var rng = RNG(seed: seed)
        let data = TinyImages(count: 16, shape: [3, 16, 16], classes: 2, rng: &rng)
        var theta = model.initialParameters(rng: &rng)
        let P = theta.count
        let mu = 0.9, wd = 5e-3
        let history = InMemoryHistory(
            layout: model.layout, trainingCount: data.trainingCount,
            optimizer: .sgd(momentum: mu, dampening: 0, weightDecay: wd),
            activeComponents: model.layout.names, initialParameters: theta)
        var m = [Double](repeating: 0, count: P), decay = m
        for t in 0..<T {
            let ids = rng.choose(8, from: data.trainingCount)
            let batch = data.trainingBatch(indices: ids, flips: nil)
            let g = model.lossAndGradient(parameters: theta, inputs: batch.inputs, labels: batch.labels).gradient
            var q = [Float](repeating: 0, count: P)
            for p in 0..<P {
                let d = Double(g[p]) + wd * Double(theta[p])
                m[p] = t == 0 ? d : mu * m[p] + d
                decay[p] = t == 0 ? wd * Double(theta[p]) : mu * decay[p] + wd * Double(theta[p])
                q[p] = Float(decay[p])
                theta[p] = Float(Double(theta[p]) - Double(lr) * m[p])
            }
            history.record(
                parameters: theta, learningRate: lr, weightDecay: Float(wd), indices: ids, flips: nil,
                optimizerQuantity: q)
        }
        var tests = Tensor(shape: [5, 3, 16, 16])
        tests.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        return TinyResNetProblem(model: model, data: data, history: history, tests: tests, testLabels: [0, 1, 1, 0, 1])
    }
}
