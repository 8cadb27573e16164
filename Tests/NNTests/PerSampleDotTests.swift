import NN
import Tensor
import XCTest

/// The `.perSampleDot` sink equals materialised per-sample gradients dotted with directions, per component.
final class PerSampleDotTests: XCTestCase {
    private func randomCotangent(_ n: Int, _ C: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        var w = Tensor(shape: [n, C])
        w.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        return w
    }

    func testModuloTransformer() {
        let model = ModuloTransformer()
        var rng = RNG(seed: 1)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [5, 4])
        for i in 0..<5 {
            x.storage[i * 4] = Float(i * 7); x.storage[i * 4 + 1] = 113; x.storage[i * 4 + 2] = Float(i * 3 + 1);
            x.storage[i * 4 + 3] = 114
        }
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(
                model, parameters: theta, inputs: x, outputGradients: randomCotangent(5, 115, seed: 2)), 1e-5)
    }

    func testMNISTMLP() {
        let model = MNISTMLP()
        var rng = RNG(seed: 3)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [4, 784])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(
                model, parameters: theta, inputs: x, outputGradients: randomCotangent(4, 10, seed: 4)), 1e-5)
    }

    func testTinyResNet9() {
        let model = ResNet9(.init(widths: [4, 8, 16, 8], inputChannels: 3, inputSize: 16, classCount: 2))
        var rng = RNG(seed: 5)
        let theta = model.initialParameters(rng: &rng)
        var x = Tensor(shape: [3, 3, 16, 16])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        XCTAssertLessThan(
            GradientCheck.perSampleDotError(
                model, parameters: theta, inputs: x, outputGradients: randomCotangent(3, 2, seed: 6)), 1e-5)
    }
}
