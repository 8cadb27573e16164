import CCairo
import XCTest

@testable import Plot

/// Category labels under a bar chart never overlap, whatever their length.
final class LabelLayoutTests: XCTestCase {
    func withRenderer(_ body: (PanelRenderer) -> Void) {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 10, 10)!
        let context = cairo_create(surface)!
        let canvas = Canvas(context: context, family: "DejaVu Sans")
        let panel = Panel.bars(chart: BarChart(categories: [], series: []))
        body(PanelRenderer(panel: panel, style: Style(), canvas: canvas))
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    /// Checks that no two kept labels overlap in the plan's geometry.
    func assertNoOverlap(
        _ plan: LabelPlan, positions: [Double], renderer: PanelRenderer, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let kept = positions.indices.filter { $0 % plan.stride == 0 }
        let height = renderer.canvas.measure("0", plan.font).height
        for (a, b) in zip(kept, kept.dropFirst()) {
            let gap = abs(positions[b] - positions[a])
            if plan.angle == 0 {
                let wa = renderer.labelWidth(plan.labels[a], plan.font),
                    wb = renderer.labelWidth(plan.labels[b], plan.font)
                XCTAssertGreaterThanOrEqual(gap, (wa + wb) / 2, "labels \(a) and \(b) overlap", file: file, line: line)
            } else {
                XCTAssertGreaterThanOrEqual(
                    gap * sin(plan.angle), height, "rotated labels \(a) and \(b) overlap", file: file, line: line)
            }
        }
    }

    func testShortLabelsStayUpright() {
        withRenderer { renderer in
            let ticks = ["a", "b", "c"].enumerated().map { Tick(Double($0.offset), $0.element) }
            let positions = [100.0, 300, 500]
            let plan = renderer.planHorizontalLabels(ticks, positions: positions, maxFootprint: 200)
            XCTAssertEqual(plan.angle, 0)
            XCTAssertEqual(plan.stride, 1)
            XCTAssertEqual(plan.labels, ["a", "b", "c"])
        }
    }

    func testLongLabelsWrapRotateOrThinWithoutOverlap() {
        withRenderer { renderer in
            for count in [5, 12, 40, 115] {
                let ticks = (0..<count).map { Tick(Double($0), "a rather long category name \($0)") }
                let positions = (0..<count).map { 60 + Double($0) * 700 / Double(count) }
                let plan = renderer.planHorizontalLabels(ticks, positions: positions, maxFootprint: 180)
                XCTAssertLessThanOrEqual(plan.footprint, 180 + 1e-9)
                assertNoOverlap(plan, positions: positions, renderer: renderer)
                if count >= 40 { XCTAssertNotEqual(plan.angle, 0) }
            }
        }
    }
}
