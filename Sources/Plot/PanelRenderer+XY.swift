import Foundation

extension PanelRenderer {
    /// The colour of series `index` (its own colour or the palette's).
    func seriesColor(_ series: Series, index: Int) -> Color { series.color ?? Palette.color(at: index) }

    /// Runs of consecutive indices for which `valid` holds (a NaN or unshowable point breaks a line or a band).
    func runs(count: Int, _ valid: (Int) -> Bool) -> [[Int]] {
        var result: [[Int]] = [], current: [Int] = []
        for i in 0..<count {
            if valid(i) { current.append(i) } else if !current.isEmpty { result.append(current); current = [] }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    func drawXY(
        series: [Series], references: [ReferenceLine], colorScale: ColorScale?, colorRange: ClosedRange<Double>?,
        layout: PanelLayout
    ) {
        // Bands first, so that every line stays visible on top of them.
        for (index, s) in series.enumerated() {
            let color = seriesColor(s, index: index)
            let n = min(s.x.count, s.y.count)
            if let band = s.band {
                drawBand(x: s.x, lower: band.lower, upper: band.upper, count: n, color: color, layout: layout)
            }
            if s.errorStyle == .band, let e = s.yErrors {
                let lower = (0..<n).map { $0 < e.count ? s.y[$0] - e[$0] : .nan }
                let upper = (0..<n).map { $0 < e.count ? s.y[$0] + e[$0] : .nan }
                drawBand(x: s.x, lower: lower, upper: upper, count: n, color: color, layout: layout)
            }
        }
        for (index, s) in series.enumerated() {
            let color = seriesColor(s, index: index).withAlpha(s.opacity)
            let n = min(s.x.count, s.y.count)
            if s.line != .none {
                canvas.setColor(color)
                canvas.setLine(width: s.lineWidth, style: s.line)
                for run in runs(count: n, { pixel(s.x[$0], s.y[$0], layout) != nil }) {
                    for (k, i) in run.enumerated() {
                        let (px, py) = pixel(s.x[i], s.y[i], layout)!
                        if k == 0 { canvas.moveTo(px, py) } else { canvas.lineTo(px, py) }
                    }
                    if run.count == 1 {
                        let (px, py) = pixel(s.x[run[0]], s.y[run[0]], layout)!; canvas.lineTo(px + 0.01, py)
                    }
                    canvas.stroke()
                }
            }
            if s.errorStyle == .bars { drawErrorBars(s, count: n, color: color, layout: layout) }
            if s.marker != .none {
                for i in 0..<n {
                    guard let (px, py) = pixel(s.x[i], s.y[i], layout) else { continue }
                    var fill = color
                    if let values = s.colorValues, let colorScale, let colorRange, i < values.count {
                        fill = colorScale.color(for: values[i], in: colorRange).withAlpha(s.opacity)
                    }
                    drawMarker(s.marker, x: px, y: py, size: s.markerSize, color: fill)
                }
            }
        }
        for reference in references { drawReference(reference, layout: layout) }
    }

    func drawBand(x: [Double], lower: [Double], upper: [Double], count: Int, color: Color, layout: PanelLayout) {
        let n = min(count, lower.count, upper.count)
        canvas.setColor(color.withAlpha(0.2))
        for run in runs(count: n, { pixel(x[$0], lower[$0], layout) != nil && pixel(x[$0], upper[$0], layout) != nil })
        where run.count >= 2 {
            for (k, i) in run.enumerated() {
                let (px, py) = pixel(x[i], upper[i], layout)!
                if k == 0 { canvas.moveTo(px, py) } else { canvas.lineTo(px, py) }
            }
            for i in run.reversed() { let (px, py) = pixel(x[i], lower[i], layout)!; canvas.lineTo(px, py) }
            canvas.closePath()
            canvas.fill()
        }
    }

    /// Symmetric error bars with caps; a lower end that cannot be shown (≤ 0 on a log axis) is drawn to the edge.
    func drawErrorBars(_ s: Series, count n: Int, color: Color, layout: PanelLayout) {
        guard s.yErrors != nil || s.xErrors != nil else { return }
        let cap = 3.0
        canvas.setColor(color)
        canvas.setLine(width: max(1, s.lineWidth * 0.7))
        for i in 0..<n {
            guard let (px, py) = pixel(s.x[i], s.y[i], layout) else { continue }
            if let e = s.yErrors, i < e.count, e[i].isFinite, e[i] > 0 {
                let top = layout.y.pixel(s.y[i] + e[i]) ?? layout.plot.minY
                let bottom = layout.y.pixel(s.y[i] - e[i]) ?? layout.plot.maxY
                canvas.line(px, top, px, bottom)
                canvas.line(px - cap, top, px + cap, top)
                canvas.line(px - cap, bottom, px + cap, bottom)
            }
            if let e = s.xErrors, i < e.count, e[i].isFinite, e[i] > 0 {
                let left = layout.x.pixel(s.x[i] - e[i]) ?? layout.plot.minX
                let right = layout.x.pixel(s.x[i] + e[i]) ?? layout.plot.maxX
                canvas.line(left, py, right, py)
                canvas.line(left, py - cap, left, py + cap)
                canvas.line(right, py - cap, right, py + cap)
            }
        }
    }

    /// A filled marker of diameter `size` centred at (x, y), with a thin white outline.
    func drawMarker(_ marker: Marker, x: Double, y: Double, size: Double, color: Color) {
        let r = size / 2
        switch marker {
        case .none: return
        case .circle: canvas.circle(x, y, radius: r)
        case .square: canvas.rectangle(Rect(x: x - r * 0.9, y: y - r * 0.9, width: 1.8 * r, height: 1.8 * r))
        case .triangle:
            canvas.moveTo(x, y - r * 1.15); canvas.lineTo(x + r, y + r * 0.75); canvas.lineTo(x - r, y + r * 0.75);
            canvas.closePath()
        case .diamond:
            canvas.moveTo(x, y - r * 1.2); canvas.lineTo(x + r, y); canvas.lineTo(x, y + r * 1.2);
            canvas.lineTo(x - r, y); canvas.closePath()
        }
        canvas.setColor(color)
        canvas.fillPreserve()
        canvas.setColor(Color.white.withAlpha(0.8 * color.alpha))
        canvas.setLine(width: 0.6)
        canvas.stroke()
    }

    func drawReference(_ reference: ReferenceLine, layout: PanelLayout) {
        guard reference.style != .none else { return }
        let plot = layout.plot
        canvas.setColor(reference.color)
        canvas.setLine(width: reference.lineWidth, style: reference.style)
        switch reference.kind {
        case .horizontal(let v):
            if let y = layout.y.pixel(v) { canvas.line(plot.minX, y, plot.maxX, y) }
        case .vertical(let v):
            if let x = layout.x.pixel(v) { canvas.line(x, plot.minY, x, plot.maxY) }
        case .powerLaw, .straight:
            // Sampled along the visible x range (evenly in pixels, so a power law is straight on log–log axes).
            var started = false
            for k in 0...200 {
                let px = plot.minX + plot.width * Double(k) / 200
                let x = layout.x.value(atPixel: px)
                let y: Double
                switch reference.kind {
                case .powerLaw(let c, let p): y = c * pow(x, p)
                case .straight(let slope, let intercept): y = slope * x + intercept
                default: y = .nan
                }
                guard let py = layout.y.pixel(y), abs(py) < 1e6 else { started = false; continue }
                if started { canvas.lineTo(px, py) } else { canvas.moveTo(px, py); started = true }
            }
            canvas.stroke()
        }
    }
}
