import Foundation

/// Draws one panel into a cell of the figure: layout, grid, content, frame, ticks, labels, title, legend, colour bar.
struct PanelRenderer {
    let panel: Panel
    let style: Style
    let canvas: Canvas

    func draw(in cell: Rect) {
        let domains = domains()
        let entries = legendEntries()
        var layout = self.layout(
            in: cell, domains: domains, legendOutside: panel.legend == .outsideRight && entries.count >= 2)
        var legendOrigin: (Double, Double)? = nil
        if entries.count >= 2 && panel.legend != .hidden {
            let size = legendSize(entries)
            if panel.legend == .automatic {
                var placement = bestLegendCorner(size: size, layout: layout)
                // Every corner covers data: move the legend outside when the plot keeps most of its width.
                if placement.covered > 0 && size.width + 12 < cell.width * 0.4 {
                    layout = self.layout(in: cell, domains: domains, legendOutside: true)
                    placement = (outsideLegendOrigin(layout), 0)
                }
                legendOrigin = placement.origin
            } else if layout.legendOutside {
                legendOrigin = outsideLegendOrigin(layout)
            } else {
                legendOrigin = cornerOrigin(panel.legend, size: size, plot: layout.plot)
            }
        }

        drawGrid(layout, categoricalX: domains.categories != nil)
        canvas.save()
        canvas.clip(to: layout.plot)
        switch panel.content {
        case .xy(let series, let references, let colorScale):
            drawXY(
                series: series, references: references, colorScale: colorScale, colorRange: domains.colorBar?.1,
                layout: layout)
        case .heatmap(let heatmap):
            drawHeatmap(
                heatmap, range: domains.colorBar?.1 ?? heatmap.colorScale.resolvedRange(for: heatmap.values),
                layout: layout)
        case .bars(let chart):
            drawBars(chart, layout: layout)
        }
        canvas.restore()
        drawFrameAndTicks(layout)
        drawAxisLabels(layout)
        if !panel.title.isEmpty {
            canvas.text(
                panel.title, x: layout.plot.midX,
                y: layout.plot.minY - canvas.measure("0", Font(size: style.tickSize)).height / 2 - 6,
                font: titleFont, color: style.foreground, horizontal: .center, vertical: .bottom)
        }
        if let colorBar = layout.colorBar { drawColorBar(colorBar) }
        if let origin = legendOrigin { drawLegend(entries, at: origin) }
    }

    /// Light lines at the major ticks (y only on bar charts).
    func drawGrid(_ layout: PanelLayout, categoricalX: Bool) {
        guard panel.showsGrid else { return }
        canvas.setColor(style.gridColor)
        canvas.setLine(width: 1)
        if !categoricalX {
            for t in layout.xTicks.major {
                if let p = layout.x.pixel(t.value), p > layout.plot.minX + 0.5, p < layout.plot.maxX - 0.5 {
                    let x = canvas.crisp(p); canvas.line(x, layout.plot.minY, x, layout.plot.maxY)
                }
            }
        }
        for t in layout.yTicks.major {
            if let p = layout.y.pixel(t.value), p > layout.plot.minY + 0.5, p < layout.plot.maxY - 0.5 {
                let y = canvas.crisp(p); canvas.line(layout.plot.minX, y, layout.plot.maxX, y)
            }
        }
    }

    /// The frame around the plot area, outward ticks and tick labels.
    func drawFrameAndTicks(_ layout: PanelLayout) {
        let plot = layout.plot, tick = Self.tickLength, gap = Self.gap
        let frameColor = Color(gray: 0.3)
        canvas.setColor(frameColor)
        canvas.setLine(width: 1)
        canvas.rectangle(
            Rect(
                x: canvas.crisp(plot.minX), y: canvas.crisp(plot.minY),
                width: canvas.crisp(plot.maxX) - canvas.crisp(plot.minX),
                height: canvas.crisp(plot.maxY) - canvas.crisp(plot.minY)))
        canvas.stroke()
        let tickFont = Font(size: style.tickSize)
        for v in layout.xTicks.minor {
            if let p = layout.x.pixel(v) {
                let x = canvas.crisp(p); canvas.line(x, plot.maxY, x, plot.maxY + tick * 0.6)
            }
        }
        for v in layout.yTicks.minor {
            if let p = layout.y.pixel(v) {
                let y = canvas.crisp(p); canvas.line(plot.minX - tick * 0.6, y, plot.minX, y)
            }
        }
        for (index, t) in layout.xTicks.major.enumerated() {
            guard let p = layout.x.pixel(t.value) else { continue }
            let x = canvas.crisp(p)
            canvas.setColor(frameColor); canvas.line(x, plot.maxY, x, plot.maxY + tick)
            guard index % layout.xLabels.stride == 0 else { continue }
            let label = layout.xLabels.labels[index]
            if layout.xLabels.angle == 0 {
                let lineHeight = canvas.measure("0", layout.xLabels.font).height
                for (line, text) in label.split(separator: "\n").enumerated() {
                    canvas.text(
                        String(text), x: p, y: plot.maxY + tick + gap + Double(line) * lineHeight,
                        font: layout.xLabels.font,
                        color: style.foreground, horizontal: .center, vertical: .top)
                }
            } else {
                let h = canvas.measure("0", layout.xLabels.font).height
                canvas.text(
                    label, x: p + h * 0.25, y: plot.maxY + tick + gap + h * 0.35, font: layout.xLabels.font,
                    color: style.foreground, horizontal: .right, vertical: .center, angle: layout.xLabels.angle)
            }
        }
        for t in layout.yTicks.major {
            guard let p = layout.y.pixel(t.value) else { continue }
            let y = canvas.crisp(p)
            canvas.setColor(frameColor); canvas.line(plot.minX - tick, y, plot.minX, y)
            canvas.text(
                t.label, x: plot.minX - tick - gap, y: p, font: tickFont, color: style.foreground,
                horizontal: .right, vertical: .center)
        }
    }

    /// Axis titles: centred under the x tick labels and, rotated, left of the y tick labels.
    func drawAxisLabels(_ layout: PanelLayout) {
        let font = Font(size: style.labelSize)
        let plot = layout.plot
        if !panel.xAxis.label.isEmpty {
            canvas.text(
                panel.xAxis.label, x: plot.midX,
                y: plot.maxY + Self.tickLength + Self.gap + layout.xLabels.footprint + Self.gap,
                font: font, color: style.foreground, horizontal: .center, vertical: .top)
        }
        if !panel.yAxis.label.isEmpty {
            canvas.text(
                panel.yAxis.label, x: plot.minX - Self.tickLength - Self.gap - layout.yLabelWidth - Self.gap,
                y: plot.midY, font: font, color: style.foreground, horizontal: .center, vertical: .bottom,
                angle: .pi / 2)
        }
    }

    /// Pixel position of a data point, nil when it cannot be shown.
    func pixel(_ x: Double, _ y: Double, _ layout: PanelLayout) -> (Double, Double)? {
        guard let px = layout.x.pixel(x), let py = layout.y.pixel(y) else { return nil }
        return (px, py)
    }
}
