import XCTest

@testable import Optim

/// Parameters outside the active ranges behave like PyTorch parameters whose `.grad` is None (docs/METHOD.md §1, §5).
final class ActiveRangeTests: XCTestCase {
    private let active: [Range<Int>] = [0..<5, 9..<14]

    /// Runs `optimizer` on 14 parameters with a nonzero gradient everywhere and checks that entries 5..<9 never change,
    /// have zero state, and that the active entries equal a run on the active entries alone.
    private func check<O: Optimizer>(_ optimizer: O, standalone: O, steps: Int = 4) {
        var optimizer = optimizer, standalone = standalone
        var theta = ReferenceProblem.initialParameters(count: 14)
        let frozen = Array(theta[5..<9])
        var compact = Array(theta[0..<5]) + Array(theta[9..<14])
        for t in 0..<steps {
            var gradient = ReferenceProblem.gradient(theta)
            for i in 5..<9 { gradient[i] = 1 }  // would move θ if it were read
            optimizer.step(parameters: &theta, gradient: gradient, learningRate: 0.05 + 0.01 * Double(t))
            let compactGradient = Array(gradient[0..<5]) + Array(gradient[9..<14])
            standalone.step(parameters: &compact, gradient: compactGradient, learningRate: 0.05 + 0.01 * Double(t))
        }
        XCTAssertEqual(Array(theta[5..<9]), frozen)
        XCTAssertEqual(Array(theta[0..<5]) + Array(theta[9..<14]), compact)
        let state = optimizer.state
        for buffer in [state.momentumBuffer, state.firstMoment, state.secondMoment] where !buffer.isEmpty {
            XCTAssertEqual(Array(buffer[5..<9]), [0, 0, 0, 0])
        }
    }

    func testSGDLeavesInactiveEntriesUntouched() {
        check(
            SGD(momentum: 0.9, dampening: 0.1, weightDecay: 0.05, activeRanges: active),
            standalone: SGD(momentum: 0.9, dampening: 0.1, weightDecay: 0.05))
    }

    func testAdamWLeavesInactiveEntriesUntouched() {
        check(
            AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4.0, activeRanges: active),
            standalone: AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4.0))
    }
}
