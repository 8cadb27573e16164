import Foundation
import NN
import Tensor

/// The ResNet-9 built from `Configs/models/resnet9.json` against the hand-written `ResNet9`: a training step and the
/// replay's two per-sample passes, timed alternately (best of the repeats), as spec/hand-written ratios.
enum SpecWorkloads {
    static func resnetSpec(_ ctx: inout BenchContext) throws {
        let path = "Configs/models/resnet9.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecWorkloadError(description: "\(path) not found: run bench from the repository root")
        }
        let spec = try SpecModel(JSONDecoder().decode(ModelSpec.self, from: data))
        let hand = ResNet9()
        var rng = RNG(seed: 7)
        let theta = hand.initialParameters(rng: &rng)
        precondition(spec.parameterCount == hand.parameterCount, "the spec's layout differs from ResNet9's")
        let batch = Fixtures.cifarLike(64, seed: 11, name: "synthetic")
        let small = batch.inputs.rows(0..<16), smallLabels = Array(batch.labels[0..<16])
        let models: [(String, Model)] = [("hand-written", hand), ("spec", spec)]
        var train: [String: Double] = [:], perSample: [String: Double] = [:], dots: [String: Double] = [:]
        for _ in 0..<max(2, ctx.repeats) {  // alternate, so both see the same machine load
            for (name, model) in models {
                let t = Clock.best(1) {
                    _ = model.lossAndGradient(parameters: theta, inputs: batch.inputs, labels: batch.labels)
                }
                let g = Clock.best(1) {
                    _ = model.perSampleGradients(parameters: theta, inputs: small, classes: smallLabels)
                }
                let d = MicroWorkloads.dotSeconds(model, theta: theta, inputs: small, labels: smallLabels, repeats: 1)
                train[name] = min(train[name] ?? .infinity, t)
                perSample[name] = min(perSample[name] ?? .infinity, g)
                dots[name] = min(dots[name] ?? .infinity, d)
            }
        }
        for (label, times) in [
            ("train step, batch 64", train), ("per-sample gradients, 16 rows", perSample),
            ("per-sample dot, D = 2, 16 rows", dots),
        ] {
            let ratio = times["spec"]! / times["hand-written"]!
            ctx.add(
                Row(
                    "spec-resnet", label + ": spec / hand-written", ratio, "×", target: 1.05, lowerIsBetter: true,
                    note: String(format: "%.3f vs %.3f s", times["spec"]!, times["hand-written"]!)))
        }
    }
}

struct SpecWorkloadError: Error, CustomStringConvertible {
    let description: String
}
