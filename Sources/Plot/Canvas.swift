import CCairo
import Foundation

/// A rectangle in device pixels (y grows downwards).
struct Rect {
    var x: Double, y: Double, width: Double, height: Double
    var minX: Double { x }
    var maxX: Double { x + width }
    var minY: Double { y }
    var maxY: Double { y + height }
    var midX: Double { x + width / 2 }
    var midY: Double { y + height / 2 }
    func contains(_ px: Double, _ py: Double) -> Bool { px >= minX && px <= maxX && py >= minY && py <= maxY }
    func insetBy(_ d: Double) -> Rect { Rect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
}

/// A font: size and weight of the style's family.
struct Font {
    var size: Double
    var bold: Bool = false
}

/// Horizontal and vertical text anchors.
enum HorizontalAnchor { case left, center, right }
enum VerticalAnchor { case top, center, baseline, bottom }

/// The measured size of a line of text: advance width and the font's ascent and descent.
struct TextSize {
    var width: Double, ascent: Double, descent: Double
    var height: Double { ascent + descent }
}

/// A thin wrapper over a Cairo context: colours, paths, dashes and anchored, optionally rotated text.
/// Not thread-safe (Cairo contexts are not); one canvas draws one figure.
final class Canvas {
    let context: OpaquePointer
    let family: String

    init(context: OpaquePointer, family: String) {
        self.context = context
        self.family = family
        // Unhinted metrics make text layout identical on image, PDF and SVG surfaces.
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(context, options)
        cairo_font_options_destroy(options)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
    }

    func setColor(_ c: Color) {
        func clamp(_ v: Double) -> Double { min(max(v, 0), 1) }
        cairo_set_source_rgba(context, clamp(c.red), clamp(c.green), clamp(c.blue), clamp(c.alpha))
    }

    func setLine(width: Double, style: LineStyle = .solid) {
        cairo_set_line_width(context, width)
        switch style {
        case .dashed: setDash([5 * max(1, width * 0.8), 3.5 * max(1, width * 0.8)])
        case .dotted: setDash([1.2 * width, 2.5 * width])
        case .solid, .none: setDash([])
        }
        cairo_set_line_cap(context, style == .dotted ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT)
    }

    private func setDash(_ pattern: [Double]) {
        pattern.withUnsafeBufferPointer { cairo_set_dash(context, $0.baseAddress, Int32($0.count), 0) }
    }

    func save() { cairo_save(context) }
    func restore() { cairo_restore(context) }
    func moveTo(_ x: Double, _ y: Double) { cairo_move_to(context, x, y) }
    func lineTo(_ x: Double, _ y: Double) { cairo_line_to(context, x, y) }
    func closePath() { cairo_close_path(context) }
    func newPath() { cairo_new_path(context) }
    func rectangle(_ r: Rect) { cairo_rectangle(context, r.x, r.y, r.width, r.height) }
    func circle(_ x: Double, _ y: Double, radius: Double) {
        cairo_new_sub_path(context)
        cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
    }
    func stroke() { cairo_stroke(context) }
    func fill() { cairo_fill(context) }
    func fillPreserve() { cairo_fill_preserve(context) }
    func clip(to r: Rect) { rectangle(r); cairo_clip(context) }

    /// A straight line segment, stroked with the current colour and line settings.
    func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) {
        moveTo(x0, y0); lineTo(x1, y1); stroke()
    }

    /// Pixel-aligned coordinate for crisp 1-px strokes.
    func crisp(_ v: Double, width: Double = 1) -> Double {
        Int(width.rounded()) % 2 == 1 ? v.rounded(.down) + 0.5 : v.rounded()
    }

    private func select(_ font: Font) {
        cairo_select_font_face(
            context, family, CAIRO_FONT_SLANT_NORMAL,
            font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, font.size)
    }

    /// Advance width, ascent and descent of `text` (the font's ascent/descent, so one line height for any text).
    func measure(_ text: String, _ font: Font) -> TextSize {
        select(font)
        var fontExtents = cairo_font_extents_t()
        cairo_font_extents(context, &fontExtents)
        var extents = cairo_text_extents_t()
        if !text.isEmpty { cairo_text_extents(context, text, &extents) }
        return TextSize(
            width: max(extents.x_advance, extents.width + max(0, extents.x_bearing)),
            ascent: fontExtents.ascent, descent: fontExtents.descent)
    }

    /// Draws `text` anchored at (x, y), rotated by `angle` radians (counter-clockwise on screen) about the anchor.
    func text(
        _ text: String, x: Double, y: Double, font: Font, color: Color,
        horizontal: HorizontalAnchor = .left, vertical: VerticalAnchor = .baseline, angle: Double = 0
    ) {
        guard !text.isEmpty else { return }
        let size = measure(text, font)
        let dx: Double = horizontal == .left ? 0 : horizontal == .center ? -size.width / 2 : -size.width
        let dy: Double
        switch vertical {
        case .top: dy = size.ascent
        case .center: dy = (size.ascent - size.descent) / 2
        case .baseline: dy = 0
        case .bottom: dy = -size.descent
        }
        save()
        setColor(color)
        cairo_translate(context, x, y)
        if angle != 0 { cairo_rotate(context, -angle) }
        moveTo(dx, dy)
        cairo_show_text(context, text)
        newPath()
        restore()
    }
}
