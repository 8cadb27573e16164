import CCairo
import Foundation

extension PanelRenderer {
    /// Paints the matrix as an image with one pixel per cell, scaled to the plot area without smoothing.
    func drawHeatmap(_ heatmap: Heatmap, range: ClosedRange<Double>, layout: PanelLayout) {
        guard heatmap.rows > 0, heatmap.columns > 0 else { return }
        guard let image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(heatmap.columns), Int32(heatmap.rows))
        else { return }
        defer { cairo_surface_destroy(image) }
        guard cairo_surface_status(image) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(image) else {
            return
        }
        cairo_surface_flush(image)
        let stride = Int(cairo_image_surface_get_stride(image))
        for r in 0..<heatmap.rows {
            let row = UnsafeMutableRawPointer(data + r * stride).assumingMemoryBound(to: UInt32.self)
            for c in 0..<heatmap.columns {
                let color = heatmap.colorScale.color(for: heatmap[r, c], in: range)
                func byte(_ v: Double) -> UInt32 { UInt32((min(max(v, 0), 1) * 255).rounded()) }
                // Cairo ARGB32: native-endian 32-bit words, alpha in the top byte; the colours are opaque.
                row[c] = 0xFF00_0000 | byte(color.red) << 16 | byte(color.green) << 8 | byte(color.blue)
            }
        }
        cairo_surface_mark_dirty(image)
        let plot = layout.plot
        let context = canvas.context
        cairo_save(context)
        cairo_translate(context, plot.minX, plot.minY)
        cairo_scale(context, plot.width / Double(heatmap.columns), plot.height / Double(heatmap.rows))
        cairo_set_source_surface(context, image, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_rectangle(context, 0, 0, Double(heatmap.columns), Double(heatmap.rows))
        cairo_fill(context)
        cairo_restore(context)
    }

    /// The colour bar: a gradient with a frame, ticks and labels on the right, and the scale's label beyond them.
    func drawColorBar(_ colorBar: ColorBarLayout) {
        let bar = colorBar.bar, context = canvas.context
        let low = colorBar.range.lowerBound, high = colorBar.range.upperBound
        guard let gradient = cairo_pattern_create_linear(0, bar.maxY, 0, bar.minY) else { return }
        let stops = max(2, (colorBar.scale.map.anchors.count - 1) * 8 + 1)
        for k in 0..<stops {
            let t = Double(k) / Double(stops - 1)
            let c = colorBar.scale.map.color(at: t)
            cairo_pattern_add_color_stop_rgb(gradient, t, c.red, c.green, c.blue)
        }
        cairo_set_source(context, gradient)
        canvas.rectangle(bar)
        canvas.fill()
        cairo_pattern_destroy(gradient)
        canvas.setColor(Color(gray: 0.3))
        canvas.setLine(width: 1)
        canvas.rectangle(
            Rect(
                x: canvas.crisp(bar.minX), y: canvas.crisp(bar.minY), width: bar.width.rounded(),
                height: canvas.crisp(bar.maxY) - canvas.crisp(bar.minY)))
        canvas.stroke()
        let font = Font(size: style.tickSize)
        for t in colorBar.ticks {
            let y = bar.maxY - (t.value - low) / (high - low) * bar.height
            canvas.setColor(Color(gray: 0.3))
            canvas.line(bar.maxX, canvas.crisp(y), bar.maxX + Self.tickLength, canvas.crisp(y))
            canvas.text(
                t.label, x: bar.maxX + Self.tickLength + Self.gap, y: y, font: font, color: style.foreground,
                horizontal: .left, vertical: .center)
        }
        if !colorBar.scale.label.isEmpty {
            let x = bar.maxX + Self.tickLength + Self.gap + colorBar.labelWidth + Self.gap
            canvas.text(
                colorBar.scale.label, x: x, y: bar.midY, font: Font(size: style.labelSize), color: style.foreground,
                horizontal: .center, vertical: .top, angle: .pi / 2)
        }
    }
}
