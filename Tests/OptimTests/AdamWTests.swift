import Foundation
import XCTest

@testable import Optim

/// AdamW against sequences computed in Double from the PyTorch formulas (docs/METHOD.md §5).
final class AdamWTests: XCTestCase {
    /// Reference: θ' = θ(1−ηλ); m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
    /// θ = θ' − η/(1−β1^τ) · m / (sqrt(v/(1−β2^τ)) + ε), with τ = t + 1.
    private func referenceRun(
        count: Int, steps: Int, beta1: Double, beta2: Double, epsilon: Double,
        weightDecay: Double, learningRate: (Int) -> Double
    )
        -> (theta: [Double], first: [Double], second: [Double])
    {
        var theta = ReferenceProblem.initialParameters(count: count).map(Double.init)
        var m = [Double](repeating: 0, count: count), v = m
        for t in 0..<steps {
            let g = ReferenceProblem.gradient(theta)
            let eta = learningRate(t), tau = Double(t + 1)
            for i in 0..<count {
                theta[i] *= 1 - eta * weightDecay
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                let vHat = v[i] / (1 - Foundation.pow(beta2, tau))
                theta[i] -= eta / (1 - Foundation.pow(beta1, tau)) * m[i] / (vHat.squareRoot() + epsilon)
            }
        }
        return (theta, m, v)
    }

    private func run(_ optimizer: inout AdamW, count: Int, steps: Int, learningRate: (Int) -> Double) -> [Float] {
        var theta = ReferenceProblem.initialParameters(count: count)
        for t in 0..<steps {
            optimizer.step(
                parameters: &theta, gradient: ReferenceProblem.gradient(theta), learningRate: learningRate(t))
        }
        return theta
    }

    func testSevenStepsMatchTheFormulas() {
        let lr = { (t: Int) in 0.01 * Double(t + 2) / 4 }
        var optimizer = AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-3, weightDecay: 4.0)
        let theta = run(&optimizer, count: 29, steps: 7, learningRate: lr)
        let reference = referenceRun(
            count: 29, steps: 7, beta1: 0.9, beta2: 0.98, epsilon: 1e-3, weightDecay: 4.0,
            learningRate: lr)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 2e-6)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(optimizer.state.firstMoment, reference.first), 2e-6)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(optimizer.state.secondMoment, reference.second), 2e-6)
        XCTAssertEqual(optimizer.state.stepCount, 7)
    }

    func testFirstStepMovesEachCoordinateByTheLearningRate() {
        // τ = 1: m̂ = g and v̂ = g², so the Adam part is η·sign(g) when ε ≪ |g|; decay multiplies θ by 1 − ηλ first.
        var optimizer = AdamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-12, weightDecay: 0.5)
        var theta: [Float] = [1, -1, 3]
        optimizer.step(parameters: &theta, gradient: [2, 0.001, -50], learningRate: 0.01)
        XCTAssertEqual(theta[0], 1 * 0.995 - 0.01, accuracy: 1e-6)
        XCTAssertEqual(theta[1], -1 * 0.995 - 0.01, accuracy: 1e-6)
        XCTAssertEqual(theta[2], 3 * 0.995 + 0.01, accuracy: 1e-6)
    }

    func testEpsilonIsAddedOutsideTheSquareRoot() {
        // One step with g = ε: ε outside the root gives an Adam step of η/2; inside it would be η/sqrt(1+1/ε).
        var optimizer = AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-2, weightDecay: 0)
        var theta: [Float] = [0]
        optimizer.step(parameters: &theta, gradient: [1e-2], learningRate: 1)
        XCTAssertEqual(theta[0], -0.5, accuracy: 1e-5)
    }

    func testPaperHyperparametersOverManySteps() {
        // The modulo run's settings (docs/METHOD.md §14) for 40 steps; bias corrections matter most in the early steps.
        var optimizer = AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4.0)
        let theta = run(&optimizer, count: 17, steps: 40, learningRate: { _ in 1e-3 })
        let reference = referenceRun(
            count: 17, steps: 40, beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4.0,
            learningRate: { _ in 1e-3 })
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 5e-6)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(optimizer.state.secondMoment, reference.second), 5e-6)
    }
}
