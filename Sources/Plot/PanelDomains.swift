import Foundation

extension PanelRenderer {
    /// The x and y ranges of the panel's content, with limits, padding and the colour-bar range resolved.
    ///
    /// x–y panels pad the data range by 4 % (log axes in log space) and include error bars, bands and
    /// horizontal/vertical reference lines; power-law and straight guides do not widen the range. Bar charts
    /// always include zero. Heatmaps span their cells exactly.
    func domains() -> PanelDomains {
        let xLog = panel.xAxis.scale == .logarithmic, yLog = panel.yAxis.scale == .logarithmic
        func usable(_ v: Double, log: Bool) -> Bool { v.isFinite && (!log || v > 0) }
        switch panel.content {
        case .xy(let series, let references, let colorScale):
            var xs = Extent(), ys = Extent()
            var colorValues: [Double] = []
            for s in series {
                for i in 0..<min(s.x.count, s.y.count) {
                    let x = s.x[i], y = s.y[i]
                    guard usable(x, log: xLog), usable(y, log: yLog) else { continue }
                    xs.add(x); ys.add(y)
                    if let e = s.xErrors, i < e.count, e[i].isFinite {
                        if usable(x - e[i], log: xLog) { xs.add(x - e[i]) }
                        xs.add(x + e[i])
                    }
                    if let e = s.yErrors, i < e.count, e[i].isFinite {
                        if usable(y - e[i], log: yLog) { ys.add(y - e[i]) }
                        ys.add(y + e[i])
                    }
                    if let band = s.band {
                        if i < band.lower.count, usable(band.lower[i], log: yLog) { ys.add(band.lower[i]) }
                        if i < band.upper.count, usable(band.upper[i], log: yLog) { ys.add(band.upper[i]) }
                    }
                    if let values = s.colorValues, i < values.count { colorValues.append(values[i]) }
                }
            }
            for r in references {
                switch r.kind {
                case .horizontal(let v) where usable(v, log: yLog): ys.add(v)
                case .vertical(let v) where usable(v, log: xLog): xs.add(v)
                default: break
                }
            }
            var domains = PanelDomains(
                x: Domain.resolve(
                    minimum: xs.minimum, maximum: xs.maximum, logarithmic: xLog, padding: 0.04,
                    limits: panel.xAxis.limits),
                y: Domain.resolve(
                    minimum: ys.minimum, maximum: ys.maximum, logarithmic: yLog, padding: 0.05,
                    limits: panel.yAxis.limits))
            if let colorScale, colorScale.showsColorBar, series.contains(where: { $0.colorValues != nil }) {
                domains.colorBar = (colorScale, colorScale.resolvedRange(for: colorValues))
            }
            return domains

        case .heatmap(let heatmap):
            var domains = PanelDomains(
                x: (-0.5, Double(heatmap.columns) - 0.5), y: (-0.5, Double(heatmap.rows) - 0.5),
                yReversed: true, integerTicks: true)
            if heatmap.columns == 0 { domains.x = (-0.5, 0.5) }
            if heatmap.rows == 0 { domains.y = (-0.5, 0.5) }
            if heatmap.colorScale.showsColorBar {
                domains.colorBar = (heatmap.colorScale, heatmap.colorScale.resolvedRange(for: heatmap.values))
            }
            return domains

        case .bars(let chart):
            var ys = Extent()
            if !yLog { ys.add(0) }
            for c in chart.categories.indices {
                var positive = 0.0, negative = 0.0
                for s in chart.series {
                    guard c < s.values.count, usable(s.values[c], log: yLog) else { continue }
                    let v = s.values[c]
                    if chart.stacked {
                        if v >= 0 { positive += v; ys.add(positive) } else { negative += v; ys.add(negative) }
                    } else {
                        ys.add(v)
                    }
                    if let intervals = s.intervals, c < intervals.count {
                        if usable(intervals[c].lower, log: yLog) { ys.add(intervals[c].lower) }
                        if usable(intervals[c].upper, log: yLog) { ys.add(intervals[c].upper) }
                    }
                }
            }
            var y = Domain.resolve(
                minimum: ys.minimum, maximum: ys.maximum, logarithmic: yLog, padding: 0.05,
                limits: panel.yAxis.limits)
            // Bars grow from zero: no padding below a zero baseline (or above one for all-negative data).
            if panel.yAxis.limits == nil, !yLog {
                if ys.minimum == 0 { y.0 = 0 }
                if ys.maximum == 0 && (ys.minimum ?? 0) < 0 { y.1 = 0 }
            }
            let n = max(1, chart.categories.count)
            return PanelDomains(
                x: (-0.5, Double(n) - 0.5), y: y,
                categories: chart.categories.enumerated().map { Tick(Double($0.offset), $0.element) })
        }
    }
}
