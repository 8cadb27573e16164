import XCTest

@testable import Plot

/// Every figure kind renders to a PNG of the requested size that decodes, is not blank and is not clipped.
final class FigureRenderingTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Renders, reads back with libpng, and checks size, non-blankness and clean borders.
    @discardableResult
    func renderAndCheck(
        _ figure: Figure, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> PixelStatistics {
        let path = directory + "/\(name).png"
        try figure.render(to: path)
        let image = try PNGImage.read(path)
        XCTAssertEqual(image.width, figure.width, file: file, line: line)
        XCTAssertEqual(image.height, figure.height, file: file, line: line)
        XCTAssertEqual(image.rgba.count, figure.width * figure.height * 4, file: file, line: line)
        let statistics = PixelStatistics(image: image)
        XCTAssertGreaterThan(statistics.luminanceVariance, 50, "blank image", file: file, line: line)
        XCTAssertGreaterThan(statistics.distinctColors, 8, file: file, line: line)
        XCTAssertTrue(
            statistics.borderIsWhite(), "something is drawn at (or clipped by) the image edge", file: file, line: line)
        return statistics
    }

    func testLinePlotWithLegendErrorBarsBandAndReference() throws {
        let (x, y) = Synthetic.wave(50)
        let figure = Figure(
            title: "Lines", width: 640, height: 480,
            panel: .lines(
                x: Axis("step"), y: Axis("loss"),
                series: [
                    Series("train", x: x, y: y, marker: .circle, yErrors: x.map { _ in 0.1 }),
                    Series("validation", x: x, y: y.map { $0 + 0.5 }, yErrors: x.map { _ in 0.2 }, errorStyle: .band),
                    Series(
                        "bounds", x: x, y: y.map { $0 - 1 },
                        band: Band(lower: y.map { $0 - 1.3 }, upper: y.map { $0 - 0.7 })),
                ],
                references: [ReferenceLine(.horizontal(0), label: "zero")]))
        let statistics = try renderAndCheck(figure, "lines")
        // The palette's first two colours are present (series 1 and 2).
        XCTAssertGreaterThan(statistics.pixels(near: Palette.color(at: 0), tolerance: 6), 50)
        XCTAssertGreaterThan(statistics.pixels(near: Palette.color(at: 1), tolerance: 6), 50)
    }

    func testLogLogWithPowerLawGuide() throws {
        let n = [1.0, 2, 4, 8, 16, 32, 64]
        let figure = Figure(
            title: "Error",
            panel: .lines(
                x: .log("n"), y: .log("error"),
                series: [Series("midpoint", x: n, y: n.map { 0.3 / ($0 * $0) }, marker: .square)],
                references: [ReferenceLine(.powerLaw(coefficient: 0.3, exponent: -2), label: "O(n⁻²)")]))
        try renderAndCheck(figure, "loglog")
    }

    func testScatterColouredByValue() throws {
        let x = (0..<200).map { Double($0) / 20 }
        let figure = Figure(
            title: "Scatter", width: 500, height: 400,
            panel: .scatter(
                x: Axis("truth"), y: Axis("prediction"),
                series: [.scatter("points", x: x, y: x.map { $0 * 1.01 }, colorValues: x)],
                colorScale: ColorScale(map: .viridis, label: "value")))
        let statistics = try renderAndCheck(figure, "scatter")
        // Points with both extreme values take both ends of the map; the colour bar shows them too.
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.viridis.color(at: 0)), 20)
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.viridis.color(at: 1)), 20)
    }

    func testHeatmapShowsBothEndsOfTheDivergingMap() throws {
        let figure = Figure(
            title: "Heatmap",
            panel: .heatmap(
                x: Axis("column"), y: Axis("row"),
                heatmap: Heatmap(
                    values: Synthetic.linearMatrix(rows: 40, columns: 60), rows: 40, columns: 60,
                    colorScale: ColorScale(map: .redBlue, range: -1...1, label: "influence"))))
        let statistics = try renderAndCheck(figure, "heatmap")
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.redBlue.color(at: 0)), 100)
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.redBlue.color(at: 1)), 100)
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.redBlue.color(at: 0.5), tolerance: 4), 100)
    }

    func testConfusionMatrix115() throws {
        let n = 115
        var counts = [Double](repeating: 0, count: n * n)
        for i in 0..<n { counts[i * n + i] = 50; counts[i * n + (i + 1) % n] = 3 }
        let figure = Figure(
            title: "Confusion", width: 800, height: 700, panel: .confusionMatrix(counts: counts, classes: n))
        let statistics = try renderAndCheck(figure, "confusion")
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.blues.color(at: 0), tolerance: 3), 10_000)
        XCTAssertGreaterThan(statistics.pixels(near: ColorMap.blues.color(at: 1), tolerance: 8), 500)
    }

    func testGroupedAndStackedBarsWithIntervalsAndLongLabels() throws {
        let categories = [
            "ExPLAIND (full history)", "ExPLAIND (last 10 % of steps)", "TRAK", "influence functions",
            "gradient similarity",
        ]
        let values = [0.42, 0.35, 0.31, 0.18, 0.12]
        let grouped = Figure(
            title: "LDS",
            panel: .bars(
                y: Axis("LDS"),
                chart: BarChart(
                    categories: categories,
                    series: [
                        BarSeries("MNIST", values: values, intervals: values.map { Interval($0 - 0.03, $0 + 0.04) }),
                        BarSeries("CIFAR-2", values: values.map { $0 * 0.8 }),
                    ])))
        try renderAndCheck(grouped, "grouped")
        let stacked = Figure(
            title: "Stacked", width: 600, height: 450,
            panel: .bars(
                x: Axis("layer"), y: Axis("fraction"),
                chart: BarChart(
                    categories: (0..<12).map { "layer \($0)" },
                    series: (0..<3).map { k in
                        BarSeries("run \(k)", values: (0..<12).map { Double(($0 + k) % 5 + 1) / 10 })
                    },
                    stacked: true)))
        try renderAndCheck(stacked, "stacked")
    }

    func testSmallMultiples() throws {
        let panels = (0..<6).map { k -> Panel in
            let (x, y) = Synthetic.wave(40, phase: Double(k))
            return .lines(
                title: "panel \(k)", x: Axis("x"), y: Axis("y"),
                series: [Series("a", x: x, y: y), Series("b", x: x, y: y.map { -$0 })])
        }
        let figure = Figure(title: "Grid", width: 1000, height: 600, columns: 3, panels: panels)
        XCTAssertEqual(figure.rows, 2)
        try renderAndCheck(figure, "grid")
    }

    func testTitleTextIsDrawnAtTopCentreOnlyWhenPresent() throws {
        let (x, y) = Synthetic.wave(30)
        let panel = Panel.lines(x: Axis("x"), y: Axis("y"), series: [Series(x: x, y: y)])
        let titled = PixelStatistics(image: try pngImage(Figure(title: "A title with glyphs", panel: panel)))
        let untitled = PixelStatistics(image: try pngImage(Figure(title: "", panel: panel)))
        XCTAssertGreaterThan(titled.darkPixels(x: 250..<550, y: 0..<34), 100)
        XCTAssertEqual(untitled.darkPixels(x: 250..<550, y: 0..<34), 0)
    }

    func testRenderingIsDeterministic() throws {
        let (x, y) = Synthetic.wave(100)
        let figure = Figure(
            title: "Twice",
            panels: [
                .lines(
                    x: Axis("x"), y: .log("y"),
                    series: [Series("a", x: x, y: y.map { exp($0) }), Series("b", x: x, y: y.map { exp(-$0) })]),
                .heatmap(
                    heatmap: Heatmap(values: Synthetic.linearMatrix(rows: 10, columns: 10), rows: 10, columns: 10)),
            ])
        let first = try figure.pngData(metadata: ["commit": "abc"])
        let second = try figure.pngData(metadata: ["commit": "abc"])
        XCTAssertEqual(first, second)
        try figure.render(to: directory + "/a.png", metadata: ["commit": "abc"])
        try figure.render(to: directory + "/b.png", metadata: ["commit": "abc"])
        XCTAssertEqual(
            FileManager.default.contents(atPath: directory + "/a.png"),
            FileManager.default.contents(atPath: directory + "/b.png"))
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/a.png"), Data(first))
    }

    func testEdgeCasesStillRender() throws {
        let nanAndInfinity = Series("gaps", x: [0, 1, 2, 3, 4, 5], y: [1, .nan, 3, .infinity, 2, -.infinity])
        let constant = Series("constant", x: [0, 1, 2], y: [5, 5, 5])
        let empty = Series("empty", x: [], y: [])
        let logWithNonPositive = Series("log", x: [1, 2, 3, 4], y: [0, -1, 10, 100])
        let figure = Figure(
            title: "Edge cases", width: 900, height: 600, columns: 2,
            panels: [
                .lines(title: "NaN and ±inf", series: [nanAndInfinity]),
                .lines(title: "constant", series: [constant]),
                .lines(title: "empty", series: [empty]),
                .lines(title: "log with values ≤ 0", y: .log("y"), series: [logWithNonPositive]),
            ])
        try renderAndCheck(figure, "edge")
        // An all-NaN heatmap and an empty bar chart draw axes without crashing.
        let heatmap = Figure(
            title: "NaN heatmap",
            panel: .heatmap(heatmap: Heatmap(values: [.nan, .nan, .nan, .nan], rows: 2, columns: 2)))
        try renderAndCheck(heatmap, "nan-heatmap")
        let noBars = Figure(title: "No bars", panel: .bars(chart: BarChart(categories: [], series: [])))
        try renderAndCheck(noBars, "no-bars")
    }

    func testRenderLeavesNoTemporaryFiles() throws {
        let figure = Figure(title: "Atomic", panel: .lines(series: [Series(y: [1, 2, 3])]))
        try figure.render(to: directory + "/nested/out.png")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/nested"), ["out.png"])
    }

    func pngImage(_ figure: Figure) throws -> PNGImage {
        let path = directory + "/\(UUID().uuidString).png"
        try figure.render(to: path)
        return try PNGImage.read(path)
    }
}
