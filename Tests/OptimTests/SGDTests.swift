import XCTest

@testable import Optim

/// SGD against sequences computed in Double straight from the PyTorch formulas (docs/METHOD.md §4).
final class SGDTests: XCTestCase {
    /// Reference: d = g + λθ; buf = d (first step) else μ buf + (1−dampening) d; u = nesterov ? d + μ buf : buf; θ −= η u.
    private func referenceRun(
        count: Int, steps: Int, momentum: Double, dampening: Double, weightDecay: Double,
        nesterov: Bool, schedule: (Int) -> Double
    ) -> (theta: [Double], buffer: [Double]) {
        var theta = ReferenceProblem.initialParameters(count: count).map(Double.init)
        var buffer = [Double](repeating: 0, count: count)
        for t in 0..<steps {
            let g = ReferenceProblem.gradient(theta)
            for i in 0..<count {
                let d = g[i] + weightDecay * theta[i]
                buffer[i] = t == 0 ? d : momentum * buffer[i] + (1 - dampening) * d
                let u = momentum == 0 ? d : (nesterov ? d + momentum * buffer[i] : buffer[i])
                theta[i] -= schedule(t) * u
            }
        }
        return (theta, buffer)
    }

    private func run(_ optimizer: inout SGD, count: Int, steps: Int, schedule: (Int) -> Double) -> [Float] {
        var theta = ReferenceProblem.initialParameters(count: count)
        for t in 0..<steps {
            optimizer.step(parameters: &theta, gradient: ReferenceProblem.gradient(theta), learningRate: schedule(t))
        }
        return theta
    }

    func testMomentumDampeningWeightDecayFollowTheFormulas() {
        let schedule = { (t: Int) in [0.05, 0.1, 0.08, 0.02, 0.12, 0.07][t] }
        var optimizer = SGD(momentum: 0.9, dampening: 0.25, weightDecay: 0.05)
        let theta = run(&optimizer, count: 23, steps: 6, schedule: schedule)
        let reference = referenceRun(
            count: 23, steps: 6, momentum: 0.9, dampening: 0.25, weightDecay: 0.05,
            nesterov: false, schedule: schedule)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 2e-6)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(optimizer.state.momentumBuffer, reference.buffer), 2e-6)
        XCTAssertEqual(optimizer.state.stepCount, 6)
    }

    func testFirstStepBufferIsTheUndampedGradient() {
        // With dampening 0.5 a (wrong) dampened first buffer would be half of d.
        var optimizer = SGD(momentum: 0.9, dampening: 0.5, weightDecay: 0.1)
        var theta: [Float] = [1, -2, 0.5]
        let gradient: [Float] = [0.25, 1, -3]
        optimizer.step(parameters: &theta, gradient: gradient, learningRate: 0.5)
        let d: [Float] = [0.25 + 0.1 * 1, 1 + 0.1 * -2, -3 + 0.1 * 0.5]
        for i in 0..<3 { XCTAssertEqual(optimizer.state.momentumBuffer[i], d[i], accuracy: 1e-7) }
        XCTAssertEqual(theta[0], 1 - 0.5 * 0.35, accuracy: 1e-6)
        XCTAssertEqual(theta[1], -2 - 0.5 * 0.8, accuracy: 1e-6)
        XCTAssertEqual(theta[2], 0.5 - 0.5 * -2.95, accuracy: 1e-6)
    }

    func testZeroLearningRateStepStillFillsTheMomentumBuffer() {
        // The CIFAR triangle has η_0 = 0 (docs/METHOD.md §14): θ is unchanged but step 0's gradient enters the buffer.
        var optimizer = SGD(momentum: 0.9, weightDecay: 5e-3)
        var theta: [Float] = [2, -4]
        optimizer.step(parameters: &theta, gradient: [1, 1], learningRate: 0)
        XCTAssertEqual(theta, [2, -4])
        XCTAssertEqual(optimizer.state.momentumBuffer[0], 1 + 5e-3 * 2, accuracy: 1e-7)
        XCTAssertEqual(optimizer.state.momentumBuffer[1], 1 - 5e-3 * 4, accuracy: 1e-7)
    }

    func testPlainSGDKeepsNoBuffer() {
        let schedule = { (t: Int) in 0.1 / Double(t + 1) }
        var optimizer = SGD(weightDecay: 0.01)
        let theta = run(&optimizer, count: 9, steps: 4, schedule: schedule)
        let reference = referenceRun(
            count: 9, steps: 4, momentum: 0, dampening: 0, weightDecay: 0.01,
            nesterov: false, schedule: schedule)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 1e-6)
        XCTAssertTrue(optimizer.state.momentumBuffer.isEmpty)
    }

    func testNesterovFollowsTheFormula() {
        let schedule = { (_: Int) in 0.05 }
        var optimizer = SGD(momentum: 0.8, weightDecay: 0.02, nesterov: true)
        let theta = run(&optimizer, count: 15, steps: 5, schedule: schedule)
        let reference = referenceRun(
            count: 15, steps: 5, momentum: 0.8, dampening: 0, weightDecay: 0.02,
            nesterov: true, schedule: schedule)
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 2e-6)
        // Nesterov and heavy-ball differ after the first step, so the test can tell them apart.
        let heavyBall = referenceRun(
            count: 15, steps: 5, momentum: 0.8, dampening: 0, weightDecay: 0.02,
            nesterov: false, schedule: schedule)
        XCTAssertGreaterThan(ReferenceProblem.maxRelativeError(theta, heavyBall.theta), 1e-3)
    }

    func testTriangleScheduleDrivesTheUpdates() {
        let schedule = LearningRateSchedule.triangle(base: 0.1, peakStep: 3, finalStep: 7)
        let lr = { (t: Int) in schedule.learningRate(atStep: t) }
        var optimizer = SGD(momentum: 0.9, weightDecay: 5e-3)
        let theta = run(&optimizer, count: 11, steps: 8, schedule: lr)
        let reference = referenceRun(
            count: 11, steps: 8, momentum: 0.9, dampening: 0, weightDecay: 5e-3,
            nesterov: false, schedule: { t in 0.1 * (t <= 3 ? Double(t) / 3 : Double(7 - t) / 4) })
        XCTAssertLessThan(ReferenceProblem.maxRelativeError(theta, reference.theta), 2e-6)
    }
}
