import Foundation

/// One row of a legend: a swatch (line with marker, or a filled box for bars) and its text.
struct LegendEntry {
    var label: String
    var color: Color
    var line: LineStyle
    var lineWidth: Double
    var marker: Marker
    var isBox: Bool
}

extension PanelRenderer {
    static let legendPadding = 7.0
    static let swatchWidth = 24.0

    var legendFont: Font { Font(size: style.legendSize) }

    /// Named series and labelled reference lines, in drawing order.
    func legendEntries() -> [LegendEntry] {
        switch panel.content {
        case .xy(let series, let references, _):
            var entries = series.enumerated().filter { !$0.element.name.isEmpty }.map { index, s in
                LegendEntry(
                    label: s.name, color: seriesColor(s, index: index), line: s.line, lineWidth: s.lineWidth,
                    marker: s.marker, isBox: false)
            }
            entries += references.filter { !$0.label.isEmpty }.map {
                LegendEntry(
                    label: $0.label, color: $0.color, line: $0.style, lineWidth: $0.lineWidth, marker: .none,
                    isBox: false)
            }
            return entries
        case .bars(let chart):
            return chart.series.enumerated().filter { !$0.element.name.isEmpty }.map { index, s in
                LegendEntry(
                    label: s.name, color: s.color ?? Palette.color(at: index), line: .none, lineWidth: 0,
                    marker: .none, isBox: true)
            }
        case .heatmap:
            return []
        }
    }

    func legendRowHeight() -> Double { canvas.measure("Ag", legendFont).height + 3 }

    func legendSize(_ entries: [LegendEntry]) -> (width: Double, height: Double) {
        let widest = entries.map { canvas.measure($0.label, legendFont).width }.max() ?? 0
        return (
            2 * Self.legendPadding + Self.swatchWidth + 6 + widest,
            2 * Self.legendPadding + Double(entries.count) * legendRowHeight() - 3
        )
    }

    func cornerOrigin(
        _ placement: LegendPlacement, size: (width: Double, height: Double), plot: Rect
    ) -> (Double, Double) {
        let inset = 8.0
        let left = plot.minX + inset, right = plot.maxX - inset - size.width
        let top = plot.minY + inset, bottom = plot.maxY - inset - size.height
        switch placement {
        case .topLeft: return (left, top)
        case .bottomLeft: return (left, bottom)
        case .bottomRight: return (right, bottom)
        default: return (right, top)
        }
    }

    func outsideLegendOrigin(_ layout: PanelLayout) -> (Double, Double) {
        var x = layout.plot.maxX + 12
        if let colorBar = layout.colorBar {
            x =
                colorBar.bar.maxX + Self.tickLength + 2 * Self.gap + colorBar.labelWidth
                + (colorBar.scale.label.isEmpty
                    ? 0 : canvas.measure("Ag", Font(size: style.labelSize)).height + Self.gap)
        }
        return (x, layout.plot.minY)
    }

    /// Points (pixels) where the panel draws data: markers, line samples every few pixels, band and bar interiors.
    func occupiedPoints(_ layout: PanelLayout) -> [(Double, Double)] {
        var points: [(Double, Double)] = []
        switch panel.content {
        case .xy(let series, _, _):
            for s in series {
                let n = min(s.x.count, s.y.count)
                var previous: (Double, Double)? = nil
                for i in 0..<n {
                    guard let p = pixel(s.x[i], s.y[i], layout) else { previous = nil; continue }
                    points.append(p)
                    if let e = s.yErrors, i < e.count, e[i].isFinite {
                        if let top = layout.y.pixel(s.y[i] + e[i]) { points.append((p.0, top)) }
                        if let bottom = layout.y.pixel(s.y[i] - e[i]) { points.append((p.0, bottom)) }
                    }
                    if let band = s.band, i < band.lower.count, i < band.upper.count,
                        let a = layout.y.pixel(band.lower[i]), let b = layout.y.pixel(band.upper[i])
                    {
                        for y in stride(from: min(a, b), through: max(a, b), by: 4) { points.append((p.0, y)) }
                    }
                    if s.line != .none, let q = previous {
                        let distance = hypot(p.0 - q.0, p.1 - q.1)
                        let steps = Int(min(distance / 3, 400))
                        if steps > 1 {
                            for k in 1..<steps {
                                let t = Double(k) / Double(steps);
                                points.append((q.0 + (p.0 - q.0) * t, q.1 + (p.1 - q.1) * t))
                            }
                        }
                    }
                    previous = p
                }
            }
        case .bars(let chart):
            for (rect, _) in barRectangles(chart, layout: layout) {
                for x in stride(from: rect.minX, through: rect.maxX, by: 4) {
                    for y in stride(from: rect.minY, through: rect.maxY, by: 4) { points.append((x, y)) }
                }
            }
        case .heatmap:
            break
        }
        return points
    }

    /// The inside corner whose legend box covers the fewest data points (ties prefer top-right, top-left,
    /// bottom-right, bottom-left).
    func bestLegendCorner(
        size: (width: Double, height: Double), layout: PanelLayout
    ) -> (origin: (Double, Double), covered: Int) {
        let points = occupiedPoints(layout)
        var best: (origin: (Double, Double), covered: Int)? = nil
        for corner in [LegendPlacement.topRight, .topLeft, .bottomRight, .bottomLeft] {
            let origin = cornerOrigin(corner, size: size, plot: layout.plot)
            let box = Rect(x: origin.0 - 3, y: origin.1 - 3, width: size.width + 6, height: size.height + 6)
            let covered = points.reduce(0) { $0 + (box.contains($1.0, $1.1) ? 1 : 0) }
            if best == nil || covered < best!.covered { best = (origin, covered) }
        }
        return best!
    }

    func drawLegend(_ entries: [LegendEntry], at origin: (Double, Double)) {
        let size = legendSize(entries)
        let box = Rect(
            x: canvas.crisp(origin.0), y: canvas.crisp(origin.1), width: size.width.rounded(),
            height: size.height.rounded())
        canvas.setColor(style.background.withAlpha(0.9))
        canvas.rectangle(box)
        canvas.fillPreserve()
        canvas.setColor(Color(gray: 0.75))
        canvas.setLine(width: 1)
        canvas.stroke()
        let rowHeight = legendRowHeight()
        for (k, entry) in entries.enumerated() {
            let midY = box.minY + Self.legendPadding + (Double(k) + 0.5) * rowHeight - 1.5
            let x0 = box.minX + Self.legendPadding
            if entry.isBox {
                canvas.setColor(entry.color)
                canvas.rectangle(Rect(x: x0 + 4, y: midY - 5, width: Self.swatchWidth - 8, height: 10))
                canvas.fill()
            } else {
                if entry.line != .none {
                    canvas.setColor(entry.color)
                    canvas.setLine(width: entry.lineWidth, style: entry.line)
                    canvas.line(x0, midY, x0 + Self.swatchWidth, midY)
                }
                if entry.marker != .none {
                    drawMarker(entry.marker, x: x0 + Self.swatchWidth / 2, y: midY, size: 7, color: entry.color)
                }
            }
            canvas.text(
                entry.label, x: x0 + Self.swatchWidth + 6, y: midY, font: legendFont, color: style.foreground,
                horizontal: .left, vertical: .center)
        }
    }
}
