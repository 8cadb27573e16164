import Foundation
import Tensor
import XCTest

@testable import NN

final class ModuloTransformerTests: XCTestCase {
    let model = ModuloTransformer()
    lazy var initial: [Float] = {
        var rng = RNG(seed: 43); return model.initialParameters(rng: &rng)
    }()
    /// The test point for outputs and gradients. At PyTorch init the ×8 embedding makes the scores so large that every
    /// head attends (weight ≈ 1 − 1e-10) to the '=' token, so outputs hardly depend on a and b and the score path's
    /// derivative vanishes. Scaling the embedding by 1/8 gives unsaturated attention (as after training), so every
    /// path of the shared Q = K = V projection is exercised.
    lazy var theta: [Float] = {
        var t = initial
        for p in model.layout.component(named: "input_emb.weight")!.range { t[p] /= 8 }
        return t
    }()
    let inputs = SequenceFixtures.moduloInputs([(5, 3), (112, 0), (57, 57), (100, 42), (1, 0), (77, 13)])
    let w = SequenceFixtures.normalTensor([6, 115], seed: 44)

    func testLayoutMatchesTheComponentTable() {
        let expected: [(String, [Int])] = [
            ("input_emb.weight", [115, 64]), ("positional_encoding.pe", [1, 10, 64]),
            ("head1_encoder.weight", [16, 64]), ("head2_encoder.weight", [16, 64]),
            ("head3_encoder.weight", [16, 64]), ("head4_encoder.weight", [16, 64]),
            ("head1_decoder.weight", [64, 16]), ("head2_decoder.weight", [64, 16]),
            ("head3_decoder.weight", [64, 16]), ("head4_decoder.weight", [64, 16]),
            ("linear1.weight", [512, 64]), ("linear1.bias", [512]),
            ("linear2.weight", [64, 512]), ("linear2.bias", [64]), ("decoder.weight", [115, 64]),
        ]
        XCTAssertEqual(model.layout.names, expected.map(\.0))
        XCTAssertEqual(model.layout.components.map(\.shape), expected.map(\.1))
        XCTAssertEqual(model.parameterCount, 89_664)
        XCTAssertEqual(model.layout.count - model.layout.component(named: "positional_encoding.pe")!.count, 89_024)
    }

    func testComponentGroupsPartitionTheTrainedComponents() {
        let groups = ModuloTransformer.componentGroups
        XCTAssertEqual(
            groups.map(\.name),
            ["embedding", "att. encoders", "att. decoders", "linear1", "linear2", "decoder", "model"])
        let parts = groups.dropLast().flatMap(\.components)
        XCTAssertEqual(Set(parts).count, parts.count)
        XCTAssertEqual(Set(parts), Set(model.layout.names).subtracting(["positional_encoding.pe"]))
        XCTAssertEqual(groups.last!.components, parts)
    }

    func testInitialisationFollowsPyTorchDefaults() {
        let bounds: [(String, Double)] = [
            ("head1_encoder.weight", 0.125), ("head4_decoder.weight", 0.25), ("linear1.weight", 0.125),
            ("linear1.bias", 0.125), ("linear2.weight", 1 / Double(512).squareRoot()),
            ("decoder.weight", 0.125),
        ]
        for (name, bound) in bounds {
            let v = SequenceFixtures.slice(initial, model, name)
            XCTAssertLessThanOrEqual(v.map(abs).max()!, bound, name)
            XCTAssertGreaterThan(v.map(abs).max()!, 0.9 * bound, name)
        }
        for name in ["input_emb.weight", "positional_encoding.pe"] {
            let v = SequenceFixtures.slice(initial, model, name)
            let variance = SequenceFixtures.dot(v, v) / Double(v.count)
            XCTAssertEqual(variance, 1, accuracy: 0.12, name)
        }
        var a = RNG(seed: 43), b = RNG(seed: 43)
        XCTAssertEqual(model.initialParameters(rng: &a), model.initialParameters(rng: &b))
    }

    func testAttentionAtTheTestPointIsUnsaturated() {
        let act = theta.withPointer { t in inputs.storage.withPointer { model.runForward(t, tokens: $0, samples: 6) } }
        let weights = withExtendedLifetime(act.arena) { (0..<(6 * 4 * 4)).map { act.weights[$0] } }
        XCTAssertGreaterThan(weights.filter { $0 > 0.05 && $0 < 0.95 }.count, 24)
        // The MLP's ReLUs are exercised on both sides.
        let z1 = withExtendedLifetime(act.arena) { (0..<(6 * 512)).map { act.z1[$0] } }
        XCTAssertTrue(z1.contains { $0 > 0 } && z1.contains { $0 < 0 })
    }

    /// The model of docs/METHOD.md §14 in Float64 with full 4 × 4 attention for every query, then log_softmax of position 3.
    func referenceOutput(tokens: [Int]) -> [Double] {
        let E = SequenceFixtures.slice(theta, model, "input_emb.weight")
        let x = tokens.map { t in (0..<64).map { 8 * E[t * 64 + $0] } }
        typealias F = SequenceFixtures
        var u = [[Double]](repeating: [Double](repeating: 0, count: 64), count: 4)
        for h in 1...4 {
            let Wh = F.slice(theta, model, "head\(h)_encoder.weight")  // (16, 64)
            let Dh = F.slice(theta, model, "head\(h)_decoder.weight")  // (64, 16)
            let H = x.map { F.matVec(Wh, $0) }
            for q in 0..<4 {
                let a = F.softmax(H.map { F.dot(H[q], $0) / 4 })
                let o = F.combine(a, H)
                let out = F.matVec(Dh, o)
                for r in 0..<64 { u[q][r] += out[r] }
            }
        }
        let W1 = F.slice(theta, model, "linear1.weight"), b1 = F.slice(theta, model, "linear1.bias")
        let W2 = F.slice(theta, model, "linear2.weight"), b2 = F.slice(theta, model, "linear2.bias")
        let Wout = F.slice(theta, model, "decoder.weight")
        let u3 = u[3]
        let z1 = F.matVec(W1, u3)
        let r1 = (0..<512).map { max(0, z1[$0] + b1[$0]) }
        let z2 = F.matVec(W2, r1)
        let r2 = (0..<64).map { max(0, z2[$0] + b2[$0]) }
        let v = (0..<64).map { u3[$0] + r2[$0] }
        let z = F.matVec(Wout, v)
        return SequenceFixtures.logSoftmax(z)
    }

    func testForwardMatchesSpecReference() {
        let f = model.forward(parameters: theta, inputs: inputs)
        XCTAssertEqual(f.shape, [6, 115])
        for s in 0..<6 {
            let ref = referenceOutput(tokens: (0..<4).map { Int(inputs.storage[s * 4 + $0]) })
            var worst = 0.0
            for c in 0..<115 { worst = max(worst, abs(Double(f.storage[s * 115 + c]) - ref[c])) }
            XCTAssertLessThan(worst, 2e-4, "sample \(s)")
        }
    }

    func testOutputsAreLogProbabilities() {
        let f = model.forward(parameters: theta, inputs: inputs)
        XCTAssertLessThan(SequenceFixtures.worstLogSumExp(f), 1e-5)
        XCTAssertTrue(f.storage.allSatisfy { $0.isFinite && $0 <= 0 })
    }

    func testModelIsOrderBlind() {
        // No positional encoding: [a,+,b,=] and [b,+,a,=] give the same output (up to summation order).
        let pairs = [(5, 3), (112, 0), (100, 42), (77, 13)]
        let f = model.forward(parameters: theta, inputs: SequenceFixtures.moduloInputs(pairs))
        let g = model.forward(parameters: theta, inputs: SequenceFixtures.moduloInputs(pairs.map { ($0.1, $0.0) }))
        XCTAssertLessThan(f.maxAbsDifference(g), 1e-5)
        // ... while different pairs give different outputs.
        XCTAssertGreaterThan(f.rows(0..<1).maxAbsDifference(f.rows(1..<2)), 1e-2)
    }

    /// Smallest |pre-activation| of the two MLP ReLUs, per sample.
    func kinkMargins(_ batch: Tensor) -> [Float] {
        let n = batch.shape[0]
        let act = theta.withPointer { t in batch.storage.withPointer { model.runForward(t, tokens: $0, samples: n) } }
        return withExtendedLifetime(act.arena) {
            (0..<n).map { s in
                let m1 = (0..<512).map { abs(act.z1[s * 512 + $0]) }.min()!
                return min(m1, (0..<64).map { abs(act.z2[s * 64 + $0]) }.min()!)
            }
        }
    }

    /// The four pairs (of all 6441) whose MLP pre-activations are farthest from the ReLU kinks (margin ≈ 3.5e-3).
    lazy var smoothInputs: Tensor = {
        var pairs: [(Int, Int)] = []
        for a in 0..<113 { for b in 0...a { pairs.append((a, b)) } }
        let margins = kinkMargins(SequenceFixtures.moduloInputs(pairs))
        let best = pairs.indices.sorted { margins[$0] > margins[$1] }.prefix(4)
        return SequenceFixtures.moduloInputs(best.map { pairs[$0] })
    }()

    func testBackwardMatchesFiniteDifferencesForEveryComponent() {
        // Step 3e-2 along unit directions. Measured at this point, Float32 round-off of S (|S| ≈ 100) puts ~7e-4 of
        // noise on the central difference at h = 1e-2 and ~1e-4 at 3e-2, against typical directional derivatives of
        // 0.1–1.7 per component; truncation stays below 1e-4 relative. At 1e-1 crossed ReLU kinks cost ~1 %.
        // Kinks: a unit direction in linear1.weight moves a pre-activation by ~h·‖u‖/√(64·512) ≈ 7e-4 (other
        // components less), so the inputs keep every MLP pre-activation more than 3e-3 from zero (asserted).
        // Two directions: a third random direction in 32k-dim linear1.weight (seed 7) happens to have projection 4e-4,
        // below the round-off floor, where the relative error measures noise rather than the gradient.
        // Biases shift their pre-activations directly by h/√P_k (3.8e-3 for linear2.bias at 3e-2), so they use
        // h = 1e-2 (shift ≤ 1.3e-3; their typical derivatives 0.2–1.5 dwarf the 7e-4 noise at that step).
        // The shared W_h (head{h}_encoder) collects its query, key and value contributions.
        let batch = smoothInputs
        XCTAssertGreaterThan(kinkMargins(batch).min()!, 3e-3)
        let cotangent = SequenceFixtures.normalTensor([4, 115], seed: 45)
        for component in [nil] + model.layout.names.filter({ $0 != "positional_encoding.pe" }) {
            let err = GradientCheck.directionalError(
                model, parameters: theta, inputs: batch, outputGradients: cotangent,
                directions: 2, step: component?.hasSuffix(".bias") == true ? 1e-2 : 3e-2,
                component: component)
            XCTAssertLessThan(err, 1e-2, "component \(component ?? "all")")
        }
    }

    func testUnusedPositionalTableGetsExactlyZeroGradient() {
        let pe = model.layout.component(named: "positional_encoding.pe")!
        let batch = SequenceFixtures.batchGradient(model, theta, inputs, w)
        XCTAssertTrue(batch[pe.range].allSatisfy { $0 == 0 })
        XCTAssertGreaterThan(Vector.norm(batch, count: batch.count), 0)
        let rows = SequenceFixtures.perSampleRows(model, theta, inputs, w)
        for i in 0..<6 {
            XCTAssertTrue(
                rows[(i * model.parameterCount + pe.offset)..<(i * model.parameterCount + pe.offset + pe.count)]
                    .allSatisfy { $0 == 0 })
        }
        // And its value does not change the output.
        var moved = theta
        for p in pe.range { moved[p] += 1 }
        XCTAssertEqual(
            model.forward(parameters: moved, inputs: inputs), model.forward(parameters: theta, inputs: inputs))
    }

    func testPerSampleRowsSumToBatchGradient() {
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(model, parameters: theta, inputs: inputs, outputGradients: w), 1e-4)
    }

    func testPerSampleRowEqualsSingleSampleBatchGradient() {
        XCTAssertLessThan(SequenceFixtures.perSampleVersusSingleSampleError(model, theta, inputs, w), 1e-5)
    }

    func testJacobianRowsAreSingleSampleGradientsOfEachClass() {
        let two = inputs.rows(0..<2)
        let C = 115, P = model.parameterCount
        let J = model.jacobian(parameters: theta, inputs: two)
        XCTAssertEqual(J.count, 2 * C * P)
        let f = model.forward(parameters: theta, inputs: two)
        var worst = 0.0
        for i in 0..<2 {
            var identity = [Double](repeating: 0, count: P)  // Σ_c p_c ∇f_c = ∇ Σ_c p_c = 0
            for c in 0..<C {
                var onehot = Tensor(shape: [1, C]); onehot.storage[c] = 1
                let g = SequenceFixtures.batchGradient(model, theta, two.rows(i..<(i + 1)), onehot)
                let row = J[((i * C + c) * P)..<((i * C + c + 1) * P)]
                worst = max(worst, SequenceFixtures.relativeError(row, g[...]))
                let p = Foundation.exp(Double(f.storage[i * C + c]))
                for (k, v) in row.enumerated() { identity[k] += p * Double(v) }
            }
            let n2 = SequenceFixtures.dot(identity, identity).squareRoot()
            let scale = Vector.norm(J, count: J.count) / Double(2 * C).squareRoot()
            XCTAssertLessThan(n2 / scale, 1e-4, "Σ_c p_c ∇f_c must vanish")
        }
        XCTAssertLessThan(worst, 1e-5)
        // The same rows through perSampleGradients with explicit classes.
        let rows = model.perSampleGradients(parameters: theta, inputs: two.rows(1..<2), classes: [42])
        XCTAssertLessThan(SequenceFixtures.relativeError(rows[...], J[((C + 42) * P)..<((C + 43) * P)]), 1e-5)
    }
}
