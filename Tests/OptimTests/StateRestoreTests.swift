import XCTest

@testable import Optim

/// Restoring a recorded `OptimizerState` continues a run bit-identically (`--resume`).
final class StateRestoreTests: XCTestCase {
    private func checkResume<O: Optimizer>(_ make: () -> O) {
        let lr = { (t: Int) in 0.02 + 0.005 * Double(t % 3) }
        var theta = ReferenceProblem.initialParameters(count: 31)
        var original = make()
        for t in 0..<3 {
            original.step(parameters: &theta, gradient: ReferenceProblem.gradient(theta), learningRate: lr(t))
        }
        let savedTheta = theta, savedState = original.state
        for t in 3..<7 {
            original.step(parameters: &theta, gradient: ReferenceProblem.gradient(theta), learningRate: lr(t))
        }

        var resumed = make()
        resumed.state = savedState
        var resumedTheta = savedTheta
        for t in 3..<7 {
            resumed.step(
                parameters: &resumedTheta, gradient: ReferenceProblem.gradient(resumedTheta), learningRate: lr(t))
        }
        XCTAssertEqual(resumedTheta.map(\.bitPattern), theta.map(\.bitPattern))
        XCTAssertEqual(resumed.state, original.state)

        // A fresh optimizer without the state diverges, so the comparison above is meaningful.
        var fresh = make()
        var freshTheta = savedTheta
        for t in 3..<7 {
            fresh.step(parameters: &freshTheta, gradient: ReferenceProblem.gradient(freshTheta), learningRate: lr(t))
        }
        XCTAssertNotEqual(freshTheta, theta)
    }

    func testSGDResumesBitIdentically() {
        checkResume { SGD(momentum: 0.9, dampening: 0.1, weightDecay: 5e-3) }
    }

    func testAdamWResumesBitIdentically() {
        checkResume { AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4.0) }
    }
}
