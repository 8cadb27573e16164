import XCTest

@testable import Optim

/// Schedule values at known steps (docs/METHOD.md §14: η_t = 0.1·s(t), s through (0,0), (195,1), (468,0)).
final class LearningRateScheduleTests: XCTestCase {
    func testCIFARTriangleAtKnownSteps() {
        let schedule = LearningRateSchedule.triangle()
        XCTAssertEqual(schedule.learningRate(atStep: 0), 0)
        XCTAssertEqual(schedule.learningRate(atStep: 195), 0.1, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 468), 0, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 1), 0.1 / 195, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 39), 0.1 * 39 / 195, accuracy: 1e-15)  // end of epoch 1
        XCTAssertEqual(schedule.learningRate(atStep: 97), 0.1 * 97 / 195, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 331), 0.1 * (468 - 331) / 273, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 467), 0.1 / 273, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 500), 0)  // held after the last point
    }

    func testPiecewiseLinearClampsAndInterpolates() {
        let schedule = LearningRateSchedule.piecewiseLinear([(10, 0.5), (20, 1.5), (40, 1.0)], base: 2)
        XCTAssertEqual(schedule.learningRate(atStep: 0), 1.0)  // held before the first point
        XCTAssertEqual(schedule.learningRate(atStep: 10), 1.0)
        XCTAssertEqual(schedule.learningRate(atStep: 15), 2.0, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 20), 3.0)
        XCTAssertEqual(schedule.learningRate(atStep: 30), 2.5, accuracy: 1e-15)
        XCTAssertEqual(schedule.learningRate(atStep: 41), 2.0)
    }

    func testConstant() {
        let schedule = LearningRateSchedule.constant(1e-3)
        XCTAssertEqual(schedule.learningRate(atStep: 0), 1e-3)
        XCTAssertEqual(schedule.learningRate(atStep: 1939), 1e-3)
    }
}
