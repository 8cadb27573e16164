import Foundation

extension PanelRenderer {
    /// The rectangles of every bar (pixels) with their colours; shared by drawing and legend placement.
    func barRectangles(_ chart: BarChart, layout: PanelLayout) -> [(Rect, Color)] {
        var result: [(Rect, Color)] = []
        let m = max(1, chart.series.count)
        let baseline = panel.yAxis.scale == .logarithmic ? layout.y.lower : 0
        for c in chart.categories.indices {
            var positive = baseline, negative = baseline
            for (j, s) in chart.series.enumerated() {
                guard c < s.values.count, s.values[c].isFinite else { continue }
                let v = s.values[c]
                let (left, right): (Double, Double)
                let (from, to): (Double, Double)
                if chart.stacked {
                    (left, right) = (Double(c) - 0.3, Double(c) + 0.3)
                    if v >= 0 {
                        (from, to) = (positive, positive + v); positive += v
                    } else {
                        (from, to) = (negative, negative + v); negative += v
                    }
                } else {
                    let width = 0.8 / Double(m)
                    left = Double(c) - 0.4 + Double(j) * width
                    right = left + width
                    (from, to) = (baseline, v)
                }
                guard let x0 = layout.x.pixel(left), let x1 = layout.x.pixel(right) else { continue }
                let y0 = layout.y.pixel(from) ?? layout.plot.maxY, y1 = layout.y.pixel(to) ?? layout.plot.maxY
                let rect = Rect(x: x0, y: min(y0, y1), width: x1 - x0, height: abs(y1 - y0))
                result.append((rect, s.color ?? Palette.color(at: j)))
            }
        }
        return result
    }

    func drawBars(_ chart: BarChart, layout: PanelLayout) {
        for (rect, color) in barRectangles(chart, layout: layout) {
            canvas.setColor(color)
            canvas.rectangle(rect)
            canvas.fill()
            if chart.stacked {
                canvas.setColor(style.background)
                canvas.setLine(width: 0.75)
                canvas.rectangle(rect)
                canvas.stroke()
            }
        }
        // Error bars (e.g. confidence intervals) at the bar centres.
        let m = max(1, chart.series.count)
        canvas.setColor(Color(gray: 0.15))
        canvas.setLine(width: 1.25)
        for (j, s) in chart.series.enumerated() {
            guard let intervals = s.intervals else { continue }
            for c in chart.categories.indices where c < intervals.count {
                let centre = chart.stacked ? Double(c) : Double(c) - 0.4 + (Double(j) + 0.5) * 0.8 / Double(m)
                let halfWidth = (chart.stacked ? 0.3 : 0.4 / Double(m)) * 0.4
                guard let x = layout.x.pixel(centre), let x0 = layout.x.pixel(centre - halfWidth),
                    let x1 = layout.x.pixel(centre + halfWidth),
                    let low = layout.y.pixel(intervals[c].lower), let high = layout.y.pixel(intervals[c].upper)
                else { continue }
                let cap = min(6, abs(x1 - x0))
                canvas.line(x, low, x, high)
                canvas.line(x - cap, low, x + cap, low)
                canvas.line(x - cap, high, x + cap, high)
            }
        }
    }
}
