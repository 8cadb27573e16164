/// Where a panel's legend goes.
public enum LegendPlacement: Sendable, Hashable {
    /// Inside the corner that covers the least data; outside on the right when every corner covers some.
    case automatic
    /// No legend.
    case hidden
    case topLeft, topRight, bottomLeft, bottomRight
    /// Outside the plot area, to the right.
    case outsideRight
}

/// One set of axes in a figure: what is drawn, the axes, the title and the legend placement.
///
/// Build panels with the static constructors (`lines`, `scatter`, `heatmap`, `bars`, `confusionMatrix`).
/// A legend is drawn whenever at least two entries (named series or labelled reference lines) exist.
public struct Panel: Sendable {
    /// What the panel draws.
    public enum Content: Sendable {
        /// Lines and/or scatter series with reference lines; `colorScale` colours series that have `colorValues`.
        case xy(series: [Series], references: [ReferenceLine], colorScale: ColorScale?)
        case heatmap(Heatmap)
        case bars(BarChart)
    }

    public var title: String
    public var xAxis: Axis
    public var yAxis: Axis
    public var content: Content
    public var legend: LegendPlacement
    /// Light grid lines at the major ticks (not drawn on heatmaps).
    public var showsGrid: Bool

    public init(
        title: String = "", xAxis: Axis = Axis(), yAxis: Axis = Axis(), content: Content,
        legend: LegendPlacement = .automatic, showsGrid: Bool = true
    ) {
        self.title = title; self.xAxis = xAxis; self.yAxis = yAxis; self.content = content
        self.legend = legend; self.showsGrid = showsGrid
    }

    /// A line plot.
    public static func lines(
        title: String = "", x: Axis = Axis(), y: Axis = Axis(), series: [Series],
        references: [ReferenceLine] = [], legend: LegendPlacement = .automatic
    ) -> Panel {
        Panel(
            title: title, xAxis: x, yAxis: y, content: .xy(series: series, references: references, colorScale: nil),
            legend: legend)
    }

    /// A scatter plot; give `colorScale` to colour points by their series' `colorValues` (with a colour bar).
    public static func scatter(
        title: String = "", x: Axis = Axis(), y: Axis = Axis(), series: [Series],
        references: [ReferenceLine] = [], colorScale: ColorScale? = nil,
        legend: LegendPlacement = .automatic
    ) -> Panel {
        Panel(
            title: title, xAxis: x, yAxis: y,
            content: .xy(series: series, references: references, colorScale: colorScale), legend: legend)
    }

    /// A heatmap with a colour bar.
    public static func heatmap(title: String = "", x: Axis = Axis(), y: Axis = Axis(), heatmap: Heatmap) -> Panel {
        Panel(title: title, xAxis: x, yAxis: y, content: .heatmap(heatmap), showsGrid: false)
    }

    /// A bar chart (grouped or stacked) over the chart's categories.
    public static func bars(
        title: String = "", x: Axis = Axis(), y: Axis = Axis(), chart: BarChart,
        legend: LegendPlacement = .automatic
    ) -> Panel {
        Panel(title: title, xAxis: x, yAxis: y, content: .bars(chart), legend: legend)
    }

    /// An N×N confusion matrix: rows are true classes, columns predicted ones, row 0 at the top.
    ///
    /// - counts: row-major `classes × classes` counts (or rates).
    /// - labels: class names used as tick labels when given (thinned out when too dense); else class indices.
    /// - normalizeRows: divide each row by its sum (rows summing to zero stay zero), so cells are recall fractions.
    public static func confusionMatrix(
        title: String = "", counts: [Double], classes: Int, labels: [String]? = nil,
        normalizeRows: Bool = false, colorMap: ColorMap = .blues
    ) -> Panel {
        precondition(counts.count == classes * classes, "confusion matrix counts must be classes × classes")
        var values = counts
        if normalizeRows {
            for r in 0..<classes {
                let sum = (0..<classes).reduce(0.0) {
                    $0 + (counts[r * classes + $1].isFinite ? counts[r * classes + $1] : 0)
                }
                for c in 0..<classes { values[r * classes + c] = sum > 0 ? counts[r * classes + c] / sum : 0 }
            }
        }
        let ticks = labels.map { names in names.prefix(classes).enumerated().map { Tick(Double($0.offset), $0.element) }
        }
        let scale = ColorScale(
            map: colorMap, range: normalizeRows ? 0...1 : nil, label: normalizeRows ? "fraction of true class" : "count"
        )
        return Panel(
            title: title, xAxis: Axis("predicted class", ticks: ticks), yAxis: Axis("true class", ticks: ticks),
            content: .heatmap(
                Heatmap(
                    values: values, rows: classes, columns: classes, colorScale: scale,
                    squareCells: true)), showsGrid: false)
    }
}
