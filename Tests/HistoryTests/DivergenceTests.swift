import XCTest

@testable import History

final class DivergenceTests: XCTestCase {
    /// The vector scan finds every kind of non-finite entry wherever it sits (inside the 16-lane blocks or in the
    /// tail), and passes arrays of finite values, the largest and −0 included.
    func testNonFiniteEntriesAreFoundAnywhere() {
        let finite: [Float] = (0..<53).map { Float($0) * (($0 % 2 == 0) ? 1 : -1) } + [.greatestFiniteMagnitude, -0.0]
        XCTAssertTrue(Divergence.allFinite(finite))
        XCTAssertTrue(Divergence.allFinite([]))
        XCTAssertNil(Divergence.firstNonFinite(finite, name: "θ"))
        for position in [0, 7, 15, 16, 47, 48, 54] {
            for bad in [Float.nan, .infinity, -.infinity] {
                var values = finite
                values[position] = bad
                XCTAssertFalse(Divergence.allFinite(values), "\(bad) at \(position)")
                XCTAssertEqual(
                    Divergence.firstNonFinite(values, name: "θ"),
                    "θ: 1 of 55 entries non-finite (first: index \(position) = \(bad))")
            }
        }
    }
}
