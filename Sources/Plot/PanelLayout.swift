import Foundation

/// Where everything of one panel goes, in device pixels.
struct PanelLayout {
    var plot: Rect
    var x: AxisMapping
    var y: AxisMapping
    var xTicks: AxisTicks
    var yTicks: AxisTicks
    var xLabels: LabelPlan
    var yLabelWidth: Double
    var colorBar: ColorBarLayout?
    var legendOutside: Bool
}

/// The colour bar beside a heatmap or colour-by-value scatter.
struct ColorBarLayout {
    var bar: Rect
    var scale: ColorScale
    var range: ClosedRange<Double>
    var ticks: [Tick]
    var labelWidth: Double
}

/// The data ranges of a panel before layout.
struct PanelDomains {
    var x: (Double, Double)
    var y: (Double, Double)
    /// Matrix rows run downwards (heatmaps).
    var yReversed = false
    /// Ticks must be whole numbers (matrix indices).
    var integerTicks = false
    /// Category ticks for bar charts.
    var categories: [Tick]? = nil
    /// Colour scale with its resolved range when a colour bar is drawn.
    var colorBar: (ColorScale, ClosedRange<Double>)? = nil
}

extension PanelRenderer {
    static let tickLength = 4.0
    static let gap = 4.0
    static let colorBarGap = 14.0
    static let colorBarWidth = 14.0

    /// Lays the panel out inside `cell`: margins are computed from the measured tick labels, axis labels, title,
    /// colour bar and (outside) legend, iterating until they stop changing.
    func layout(in cell: Rect, domains: PanelDomains, legendOutside: Bool) -> PanelLayout {
        let tickFont = Font(size: style.tickSize), labelFont = Font(size: style.labelSize)
        let tickHeight = canvas.measure("0", tickFont).height
        let labelHeight = canvas.measure("Ag", labelFont).height
        let titleHeight = panel.title.isEmpty ? 0 : canvas.measure(panel.title, titleFont).height + 6
        let pad = style.padding, tick = Self.tickLength, gap = Self.gap
        let top = cell.minY + pad + titleHeight + tickHeight / 2
        let xLabelSpace = panel.xAxis.label.isEmpty ? 0 : gap + labelHeight
        let yLabelSpace = panel.yAxis.label.isEmpty ? 0 : labelHeight + gap
        let legendWidth = legendOutside ? legendSize(legendEntries()).width + 12 : 0

        var leftMargin = pad + yLabelSpace + 30 + gap + tick
        var bottomMargin = pad + tick + gap + tickHeight + xLabelSpace
        var rightMargin = pad + legendWidth
        var result: PanelLayout? = nil
        for _ in 0..<4 {
            var plot = Rect(
                x: cell.minX + leftMargin, y: top, width: max(20, cell.width - leftMargin - rightMargin),
                height: max(20, cell.maxY - bottomMargin - top))
            if case .heatmap(let heatmap) = panel.content, heatmap.squareCells, heatmap.rows > 0, heatmap.columns > 0 {
                let side = min(plot.width / Double(heatmap.columns), plot.height / Double(heatmap.rows))
                let width = side * Double(heatmap.columns), height = side * Double(heatmap.rows)
                plot = Rect(x: plot.x + (plot.width - width) / 2, y: plot.y, width: width, height: height)
            }
            let xMap = AxisMapping(
                lower: domains.x.0, upper: domains.x.1, logarithmic: panel.xAxis.scale == .logarithmic,
                start: plot.minX, end: plot.maxX)
            let yMap = AxisMapping(
                lower: domains.y.0, upper: domains.y.1, logarithmic: panel.yAxis.scale == .logarithmic,
                start: domains.yReversed ? plot.minY : plot.maxY, end: domains.yReversed ? plot.maxY : plot.minY)
            var xAxis = panel.xAxis
            if let categories = domains.categories, xAxis.ticks == nil { xAxis.ticks = categories }
            let yTicks = chooseTicks(
                axis: panel.yAxis, lower: domains.y.0, upper: domains.y.1, length: plot.height,
                horizontal: false, integersOnly: domains.integerTicks)
            let xTicks = chooseTicks(
                axis: xAxis, lower: domains.x.0, upper: domains.x.1, length: plot.width,
                horizontal: true, integersOnly: domains.integerTicks)
            let positions = xTicks.major.map { xMap.pixel($0.value) ?? plot.minX }
            let xLabels = planHorizontalLabels(xTicks.major, positions: positions, maxFootprint: cell.height * 0.3)
            let yLabelWidth = yTicks.major.map { canvas.measure($0.label, tickFont).width }.max() ?? 0

            var colorBar: ColorBarLayout? = nil
            var colorBarWidth = 0.0
            if let (scale, range) = domains.colorBar {
                let bar = Rect(
                    x: plot.maxX + Self.colorBarGap, y: plot.minY, width: Self.colorBarWidth, height: plot.height)
                let ticks = chooseTicks(
                    axis: Axis(), lower: range.lowerBound, upper: range.upperBound, length: plot.height,
                    horizontal: false, minimumSpacing: 4 * tickHeight
                ).major
                let widest = ticks.map { canvas.measure($0.label, tickFont).width }.max() ?? 0
                colorBar = ColorBarLayout(bar: bar, scale: scale, range: range, ticks: ticks, labelWidth: widest)
                colorBarWidth =
                    Self.colorBarGap + Self.colorBarWidth + tick + gap + widest
                    + (scale.label.isEmpty ? 0 : gap + labelHeight)
            }

            // Labels that stick out past the plot's left or right edge.
            var overhangLeft = 0.0, overhangRight = 0.0
            for index in xTicks.major.indices where index % xLabels.stride == 0 {
                let w = labelWidth(xLabels.labels[index], xLabels.font)
                let p = positions[index]
                if xLabels.angle == 0 {
                    overhangLeft = max(overhangLeft, plot.minX - (p - w / 2))
                    overhangRight = max(overhangRight, p + w / 2 - plot.maxX)
                } else {
                    overhangLeft = max(overhangLeft, plot.minX - (p - (w + tickHeight) * 0.5.squareRoot()))
                }
            }
            let newLeft = max(pad + yLabelSpace + yLabelWidth + gap + tick, pad + overhangLeft)
            let newBottom = pad + tick + gap + xLabels.footprint + xLabelSpace
            let newRight = pad + max(legendWidth + colorBarWidth, overhangRight)
            result = PanelLayout(
                plot: plot, x: xMap, y: yMap, xTicks: xTicks, yTicks: yTicks, xLabels: xLabels,
                yLabelWidth: yLabelWidth, colorBar: colorBar, legendOutside: legendOutside)
            if abs(newLeft - leftMargin) < 0.5 && abs(newBottom - bottomMargin) < 0.5
                && abs(newRight - rightMargin) < 0.5
            {
                break
            }
            leftMargin = newLeft; bottomMargin = newBottom; rightMargin = newRight
        }
        return result!
    }

    var titleFont: Font { Font(size: style.panelTitleSize, bold: true) }
}
