import Foundation

/// A figure: a title over a grid of panels (small multiples), rendered to PNG, PDF or SVG.
///
/// ```swift
/// let figure = Figure(title: "Training", panels: [
///     .lines(title: "loss", x: Axis("step"), y: .log("loss"), series: [Series("train", x: steps, y: loss)]),
/// ])
/// try figure.render(to: "results/loss.png", metadata: ["source": "run.h5", "git-commit": commit])
/// ```
/// Panels fill the grid row by row. Sizes are pixels for PNG and points for PDF/SVG. Rendering is
/// deterministic: the same figure gives byte-identical PNG files.
public struct Figure: Sendable {
    public var title: String
    public var width: Int
    public var height: Int
    /// Grid columns; rows follow from the panel count.
    public var columns: Int
    public var panels: [Panel]
    public var style: Style

    /// A figure; `columns: nil` picks about √(panel count) columns (at least as many columns as rows).
    public init(
        title: String = "", width: Int = 800, height: Int = 600, columns: Int? = nil, panels: [Panel],
        style: Style = Style()
    ) {
        precondition(width > 0 && height > 0, "figure size must be positive")
        self.title = title; self.width = width; self.height = height; self.panels = panels; self.style = style
        self.columns = max(1, columns ?? Int(Double(max(1, panels.count)).squareRoot().rounded(.up)))
    }

    /// A single-panel figure.
    public init(title: String = "", width: Int = 800, height: Int = 600, panel: Panel, style: Style = Style()) {
        self.init(title: title, width: width, height: height, columns: 1, panels: [panel], style: style)
    }

    /// Grid rows.
    public var rows: Int { max(1, (panels.count + columns - 1) / columns) }

    /// Draws the whole figure on a canvas of the figure's size.
    func draw(on canvas: Canvas) {
        canvas.setColor(style.background)
        canvas.rectangle(Rect(x: 0, y: 0, width: Double(width), height: Double(height)))
        canvas.fill()
        var top = 0.0
        if !title.isEmpty {
            let font = Font(size: style.titleSize, bold: true)
            let size = canvas.measure(title, font)
            canvas.text(
                title, x: Double(width) / 2, y: style.padding, font: font, color: style.foreground,
                horizontal: .center, vertical: .top)
            top = style.padding + size.height
        }
        guard !panels.isEmpty else { return }
        let cellWidth = Double(width) / Double(columns)
        let cellHeight = (Double(height) - top) / Double(rows)
        // Small cells get slightly smaller fonts (down to 80 %), so that small multiples stay readable.
        let factor = min(1, max(0.8, min(cellWidth / 420, cellHeight / 320)))
        let panelStyle = style.scaled(factor)
        for (index, panel) in panels.enumerated() {
            let cell = Rect(
                x: Double(index % columns) * cellWidth, y: top + Double(index / columns) * cellHeight,
                width: cellWidth, height: cellHeight)
            canvas.save()
            canvas.clip(to: cell)
            PanelRenderer(panel: panel, style: panelStyle, canvas: canvas).draw(in: cell)
            canvas.restore()
        }
    }
}

/// Output file formats.
public enum OutputFormat: String, Sendable, CaseIterable {
    case png, pdf, svg

    /// The format named by a path's extension (case-insensitive), nil for others.
    public init?(path: String) {
        self.init(rawValue: (path as NSString).pathExtension.lowercased())
    }
}

/// Errors from rendering or reading figure files.
public enum PlotError: Error, CustomStringConvertible {
    case cairo(String)
    case png(String)
    case file(String)
    case invalidMetadata(String)

    public var description: String {
        switch self {
        case .cairo(let m): return "Cairo: \(m)"
        case .png(let m): return "PNG: \(m)"
        case .file(let m): return "file: \(m)"
        case .invalidMetadata(let m): return "metadata: \(m)"
        }
    }
}
