import XCTest

@testable import Plot

final class TicksTests: XCTestCase {
    func testLinearUnitRangeGivesFifths() {
        XCTAssertEqual(Ticks.linear(lower: 0, upper: 1, targetCount: 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    func testLinearValuesAreRoundedToTheStep() {
        let ticks = Ticks.linear(lower: 0.1, upper: 0.95, targetCount: 8)
        XCTAssertEqual(ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        XCTAssertEqual(Ticks.linear(lower: -3.2, upper: 7.9, targetCount: 5), [-2, 0, 2, 4, 6])
        XCTAssertEqual(Ticks.linear(lower: 98, upper: 130, targetCount: 6), [100, 105, 110, 115, 120, 125, 130])
    }

    func testNiceStepsAreOneTwoFive() {
        XCTAssertEqual(Ticks.niceStep(0.13), 0.1, accuracy: 1e-15)
        XCTAssertEqual(Ticks.niceStep(0.23), 0.2, accuracy: 1e-15)
        XCTAssertEqual(Ticks.niceStep(420), 500)
        XCTAssertEqual(Ticks.niceStep(8), 10)
        XCTAssertEqual(Ticks.niceStep(.nan), 1)
    }

    func testLinearEdgeCases() {
        XCTAssertEqual(Ticks.linear(lower: 3, upper: 3), [3])
        XCTAssertEqual(Ticks.linear(lower: 1, upper: 0), [])
        XCTAssertEqual(Ticks.linear(lower: .nan, upper: 1), [])
    }

    func testLogarithmicGivesDecades() {
        XCTAssertEqual(Ticks.logarithmic(lower: 1e-5, upper: 1), [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1])
        XCTAssertEqual(Ticks.logarithmic(lower: 0.5, upper: 2000), [1, 10, 100, 1000])
        // Too many decades: every second one.
        XCTAssertEqual(Ticks.logarithmic(lower: 1e-10, upper: 1, maxCount: 6), [1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1])
        // Narrow range: 1-2-5 multiples.
        XCTAssertEqual(Ticks.logarithmic(lower: 1.5, upper: 60), [2, 5, 10, 20, 50])
        XCTAssertEqual(Ticks.logarithmic(lower: 8, upper: 120), [10, 20, 50, 100])
        XCTAssertEqual(Ticks.logarithmic(lower: -1, upper: 10), [])
    }

    func testCompactLabels() {
        XCTAssertEqual(Ticks.label(for: 0.5, step: 0.1), "0.5")
        XCTAssertEqual(Ticks.label(for: 0.0001, step: 0.0001), "1e-4")
        XCTAssertEqual(Ticks.label(for: 2.5e-4, step: 5e-5), "2.5e-4")
        XCTAssertEqual(Ticks.label(for: 20000, step: 5000), "20k")
        XCTAssertEqual(Ticks.label(for: 1.5e6, step: 5e5), "1.5M")
        XCTAssertEqual(Ticks.label(for: -0.0, step: 1), "0")
        XCTAssertEqual(Ticks.label(for: 3, step: 1), "3")
        XCTAssertEqual(Ticks.labels(for: [0, 2000, 4000, 6000, 8000, 10000]), ["0", "2k", "4k", "6k", "8k", "10k"])
        XCTAssertEqual(Ticks.labels(for: [0, 500, 1000, 1500]), ["0", "500", "1000", "1500"])
        XCTAssertEqual(Ticks.labels(for: [0, 0.25, 0.5]), ["0", "0.25", "0.50"])
        XCTAssertEqual(Ticks.labels(for: [-1, -0.5, 0, 0.5, 1]), ["-1.0", "-0.5", "0", "0.5", "1.0"])
        XCTAssertEqual(Ticks.labels(for: [0.01, 0.1, 1, 10], logarithmicDecades: true), ["0.01", "0.1", "1", "10"])
        XCTAssertEqual(Ticks.labels(for: [1e-5, 1e-4, 1], logarithmicDecades: true), ["10⁻⁵", "10⁻⁴", "10⁰"])
    }

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Array("6789".utf8), continuing: CRC32.checksum(Array("12345".utf8))), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
    }

    func testColorMapEndsAndClamping() {
        let map = ColorMap.redBlue
        XCTAssertEqual(map.color(at: 0), Color(hex: 0x67001F))
        XCTAssertEqual(map.color(at: 1), Color(hex: 0x053061))
        XCTAssertEqual(map.color(at: 0.5), Color(hex: 0xF7F7F7))
        XCTAssertEqual(map.color(at: -3), map.color(at: 0))
        XCTAssertEqual(map.color(at: .nan), map.missing)
        XCTAssertEqual(ColorScale(map: .redBlue).resolvedRange(for: [-0.2, 0.7, .nan]), -0.7...0.7)
        XCTAssertEqual(ColorScale(map: .viridis).resolvedRange(for: [2, 2]), 1.8...2.2)
        XCTAssertEqual(ColorScale(map: .viridis).resolvedRange(for: []), 0...1)
    }
}
