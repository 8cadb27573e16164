import Tensor
import XCTest

@testable import NN

final class ResNet9Tests: XCTestCase {
    /// A ResNet-9-shaped model small enough for finite differences: widths 4/8/16/8 on 3×16×16 inputs
    /// (spatial 16 → 8 → pool 4 → 2×2 before the global max-pool).
    let tiny = ResNet9(.init(widths: [4, 8, 16, 8], inputChannels: 3, inputSize: 16, classCount: 3))

    func testStandardModelMatchesSpecTable() {
        let model = ResNet9()
        XCTAssertEqual(model.parameterCount, 2_271_168)
        XCTAssertEqual(model.inputShape, [3, 32, 32])
        XCTAssertEqual(model.classCount, 2)
        let expected: [(String, Int)] = [
            ("0.0.weight", 1_728), ("1.0.weight", 204_800), ("2.module.0.0.weight", 147_456),
            ("2.module.1.0.weight", 147_456), ("3.0.weight", 294_912),
            ("5.module.0.0.weight", 589_824), ("5.module.1.0.weight", 589_824),
            ("6.0.weight", 294_912), ("9.weight", 256),
        ]
        XCTAssertEqual(model.layout.names, expected.map(\.0))
        for (name, count) in expected { XCTAssertEqual(model.layout.component(named: name)?.count, count, name) }
        XCTAssertEqual(model.layout.component(named: "1.0.weight")?.shape, [128, 64, 5, 5])
        XCTAssertEqual(ResNet9(.standard(classCount: 10)).parameterCount, 2_271_168 - 256 + 1_280)
    }

    func testComponentGroupsCoverTheLayout() {
        let model = ResNet9()
        let groups = ResNet9.componentGroups
        XCTAssertEqual(groups.count, 10)
        XCTAssertEqual(groups.last?.name, "model")
        XCTAssertEqual(groups.last?.components, model.layout.names)
        XCTAssertEqual(groups.dropLast().map(\.components), model.layout.names.map { [$0] })
    }

    func testInitialisationBoundsFollowFanIn() {
        var rng = RNG(seed: 42)
        let model = ResNet9()
        let theta = model.initialParameters(rng: &rng)
        let fanIn: [String: Int] = [
            "0.0.weight": 27, "1.0.weight": 1_600, "2.module.0.0.weight": 1_152,
            "5.module.1.0.weight": 2_304, "6.0.weight": 2_304, "9.weight": 128,
        ]
        for (name, fan) in fanIn {
            let range = model.layout.component(named: name)!.range
            let bound = Float(1 / Double(fan).squareRoot())
            let largest = theta[range].map(abs).max()!
            XCTAssertLessThanOrEqual(largest, bound, name)
            XCTAssertGreaterThan(largest, 0.95 * bound, name)
        }
    }

    func testStandardOutputRowsAreLogProbabilities() {
        var rng = RNG(seed: 1)
        let model = ResNet9()
        let theta = model.initialParameters(rng: &rng)
        let out = model.forward(parameters: theta, inputs: randomTensor([3, 3, 32, 32], seed: 2))
        XCTAssertEqual(out.shape, [3, 2])
        for i in 0..<3 {
            let row = out.storage[(2 * i)..<(2 * i + 2)]
            XCTAssertTrue(row.allSatisfy { $0 <= 0 && $0.isFinite })
            XCTAssertEqual(row.map { exp(Double($0)) }.reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    /// Independent sample-major reference of the tiny model's forward, from direct convolutions.
    func referenceForward(_ model: ResNet9, theta: [Float], inputs: Tensor) -> [Double] {
        let n = inputs.shape[0], w = model.configuration.widths
        func weights(_ name: String) -> [Float] { Array(theta[model.layout.component(named: name)!.range]) }
        func conv(
            _ x: [Float], _ name: String, _ c: Int, _ size: Int, _ cout: Int, _ k: Int, _ s: Int, _ p: Int
        ) -> ([Float], Int) {
            let r = naiveConvolution(
                x: x, weight: weights(name), samples: n, channels: c, height: size, width: size,
                outChannels: cout, kernel: k, stride: s, padding: p)
            return (r.values.map { Float(max($0, 0)) }, r.outHeight)  // conv, then ReLU
        }
        func residual(_ x: [Float], _ prefix: String, _ c: Int, _ size: Int) -> [Float] {
            let (hidden, _) = conv(x, "\(prefix).module.0.0.weight", c, size, c, 3, 1, 1)
            let (branch, _) = conv(hidden, "\(prefix).module.1.0.weight", c, size, c, 3, 1, 1)
            return zip(x, branch).map { $0 + $1 }
        }
        let (a0, s0) = conv(inputs.storage, "0.0.weight", 3, model.configuration.inputSize, w[0], 3, 1, 1)
        let (a1, s1) = conv(a0, "1.0.weight", w[0], s0, w[1], 5, 2, 2)
        let a2 = residual(a1, "2", w[1], s1)
        let (a3, _) = conv(a2, "3.0.weight", w[1], s1, w[2], 3, 1, 1)
        let s4 = s1 / 2
        var a4 = [Float](repeating: 0, count: n * w[2] * s4 * s4)
        for q in 0..<(n * w[2]) {
            for y in 0..<s4 {
                for x in 0..<s4 {
                    let b = q * s1 * s1
                    a4[(q * s4 + y) * s4 + x] = [
                        a3[b + 2 * y * s1 + 2 * x], a3[b + 2 * y * s1 + 2 * x + 1],
                        a3[b + (2 * y + 1) * s1 + 2 * x], a3[b + (2 * y + 1) * s1 + 2 * x + 1],
                    ].max()!
                }
            }
        }
        let a5 = residual(a4, "5", w[2], s4)
        let (a6, s6) = conv(a5, "6.0.weight", w[2], s4, w[3], 3, 1, 0)
        let linear = weights("9.weight"), C = model.classCount
        var out = [Double](repeating: 0, count: n * C)
        for i in 0..<n {
            let features = (0..<w[3]).map { c in a6[((i * w[3] + c) * s6 * s6)..<((i * w[3] + c + 1) * s6 * s6)].max()!
            }
            let logits = (0..<C).map { k in
                (0..<w[3]).reduce(0.0) { $0 + Double(linear[k * w[3] + $1]) * Double(features[$1]) }
            }
            let m = logits.max()!
            let lse = m + log(logits.map { exp($0 - m) }.reduce(0, +))
            for k in 0..<C { out[i * C + k] = logits[k] - lse }
        }
        return out
    }

    func testTinyForwardMatchesDirectReference() {
        var rng = RNG(seed: 5)
        let theta = tiny.initialParameters(rng: &rng)
        let x = randomTensor([4, 3, 16, 16], seed: 6)
        let out = tiny.forward(parameters: theta, inputs: x)
        let ref = referenceForward(tiny, theta: theta, inputs: x)
        for i in 0..<ref.count { XCTAssertEqual(Double(out.storage[i]), ref[i], accuracy: 1e-4, "entry \(i)") }
    }

    /// Evaluation runs in chunks whose activations fit `forwardChunkFloats` (99 standard images, not the
    /// default 500), and gives the outputs of one whole forward pass.
    func testForwardChunksBoundTheActivations() {
        let standard = ResNet9(), perImage = ResNet9Activations.activationCounts(standard, samples: 1).reduce(0, +)
        XCTAssertEqual(perImage, 335_620)
        XCTAssertEqual(standard.forwardChunk, 99)
        XCTAssertLessThanOrEqual(standard.forwardChunk * perImage, ResNet9.forwardChunkFloats)
        XCTAssertGreaterThan((standard.forwardChunk + 1) * perImage, ResNet9.forwardChunkFloats)
        XCTAssertEqual(ModuloTransformer().forwardChunk, 500)

        var rng = RNG(seed: 8)
        let theta = tiny.initialParameters(rng: &rng)
        let x = randomTensor([7, 3, 16, 16], seed: 9)
        let whole = tiny.forward(parameters: theta, inputs: x)
        for chunk in [1, 3, 6, 7, 50] {
            let chunked = tiny.forwardChunked(parameters: theta, inputs: x, chunk: chunk)
            XCTAssertEqual(chunked.shape, whole.shape)
            for i in 0..<whole.storage.count {
                XCTAssertEqual(chunked.storage[i], whole.storage[i], accuracy: 1e-5, "chunk \(chunk), entry \(i)")
            }
        }
    }

    /// Finite differences need a model without kinks near θ: with ReLUs and max-pools at random initialisation, units
    /// close to zero and near-tied windows make central differences on a Float32 forward unreliable at the 1e-2 level.
    /// Here all convolution weights and inputs are made positive, so every ReLU is active and only max-pool argmaxes
    /// (random, no ties) remain; the ReLU masks themselves are checked exactly by the Euler identity below.
    func testTinyGradientsMatchFiniteDifferencesPerComponent() {
        let model = ResNet9(.init(widths: [3, 4, 6, 4], inputChannels: 3, inputSize: 16, classCount: 3))
        var rng = RNG(seed: 17)
        var theta = model.initialParameters(rng: &rng)
        for component in model.layout.components where component.name != "9.weight" {
            for p in component.range { theta[p] = abs(theta[p]) }
        }
        var x = randomTensor([2, 3, 16, 16], seed: 18)
        for i in 0..<x.count { x.storage[i] = abs(x.storage[i]) }
        let cotangent = randomTensor([2, model.classCount], seed: 19)
        for component in model.layout.names {
            let error = GradientCheck.directionalError(
                model, parameters: theta, inputs: x, outputGradients: cotangent,
                directions: 3, step: 1e-2, component: component)
            XCTAssertLessThan(error, 1e-2, component)
        }
    }

    /// A bias-free network of convolutions, ReLUs, max-pools, residual blocks x + g(x) (g homogeneous) and a linear
    /// layer is positively 1-homogeneous in the weights of each non-residual layer: z(αW_k) = α z(W_k). By Euler's
    /// theorem ⟨W_k, ∂S/∂W_k⟩ = S for S = Σ w·z. With cotangent rows summing to zero, S = Σ w·log_softmax(z) = Σ w·z.
    /// This holds exactly at random initialisation (any ReLU pattern), so it checks every ReLU mask on the gradient path.
    func testTinyGradientSatisfiesEulerIdentityAtRandomInitialisation() {
        var rng = RNG(seed: 7)
        let theta = tiny.initialParameters(rng: &rng)
        let n = 3, C = tiny.classCount
        let x = randomTensor([n, 3, 16, 16], seed: 8)
        var cotangent = randomTensor([n, C], seed: 9)
        for i in 0..<n {
            let mean = (0..<C).reduce(Float(0)) { $0 + cotangent.storage[i * C + $1] } / Float(C)
            for c in 0..<C { cotangent.storage[i * C + c] -= mean }
        }
        let S = GradientCheck.scalar(tiny, parameters: theta, inputs: x, outputGradients: cotangent)
        var gradient = [Float](repeating: 0, count: tiny.parameterCount)
        gradient.withMutablePointer {
            _ = tiny.backward(parameters: theta, inputs: x, outputGradients: cotangent, into: .sum($0))
        }
        for name in ["0.0.weight", "1.0.weight", "3.0.weight", "6.0.weight", "9.weight"] {
            let range = tiny.layout.component(named: name)!.range
            let euler = range.reduce(0.0) { $0 + Double(theta[$1]) * Double(gradient[$1]) }
            XCTAssertEqual(euler, S, accuracy: 1e-4 * abs(S), name)
        }
        XCTAssertGreaterThan(abs(S), 1e-2)
    }

    func testTinyPerSampleGradientsSumToBatchGradient() {
        var rng = RNG(seed: 10)
        let theta = tiny.initialParameters(rng: &rng)
        let x = randomTensor([5, 3, 16, 16], seed: 11)
        let cotangent = randomTensor([5, tiny.classCount], seed: 12)
        XCTAssertLessThan(
            GradientCheck.perSampleSumError(tiny, parameters: theta, inputs: x, outputGradients: cotangent), 1e-4)
    }

    func testPerSampleRowEqualsSingleSampleBatchGradient() {
        var rng = RNG(seed: 13)
        let theta = tiny.initialParameters(rng: &rng)
        let n = 4, P = tiny.parameterCount
        let x = randomTensor([n, 3, 16, 16], seed: 14)
        let classes = [0, 2, 1, 2]
        let rows = tiny.perSampleGradients(parameters: theta, inputs: x, classes: classes)
        for i in 0..<n {
            let single = tiny.perSampleGradients(parameters: theta, inputs: x.rows(i..<(i + 1)), classes: [classes[i]])
            var diff2 = 0.0, ref2 = 0.0
            for p in 0..<P {
                let d = Double(rows[i * P + p]) - Double(single[p])
                diff2 += d * d; ref2 += Double(single[p]) * Double(single[p])
            }
            XCTAssertGreaterThan(ref2, 0)
            XCTAssertLessThan((diff2 / ref2).squareRoot(), 1e-5, "sample \(i)")
        }
    }
}
