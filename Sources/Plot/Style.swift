/// Fonts, sizes (in pixels, or points for PDF/SVG) and neutral colours shared by every panel of a figure.
public struct Style: Sendable {
    /// Font family for the Cairo toy text API (DejaVu Sans is on every Debian system with fonts-dejavu-core).
    public var fontFamily: String
    public var titleSize: Double
    public var panelTitleSize: Double
    public var labelSize: Double
    public var tickSize: Double
    public var legendSize: Double
    public var background: Color
    public var foreground: Color
    public var gridColor: Color
    /// Empty space around the figure and each panel.
    public var padding: Double

    public init(
        fontFamily: String = "DejaVu Sans", titleSize: Double = 18, panelTitleSize: Double = 14,
        labelSize: Double = 13, tickSize: Double = 11, legendSize: Double = 11,
        background: Color = .white, foreground: Color = Color(gray: 0.1), gridColor: Color = Color(gray: 0.9),
        padding: Double = 10
    ) {
        self.fontFamily = fontFamily; self.titleSize = titleSize; self.panelTitleSize = panelTitleSize
        self.labelSize = labelSize; self.tickSize = tickSize; self.legendSize = legendSize
        self.background = background; self.foreground = foreground; self.gridColor = gridColor; self.padding = padding
    }

    /// The same style with every font size multiplied by `factor`.
    func scaled(_ factor: Double) -> Style {
        var s = self
        s.panelTitleSize *= factor; s.labelSize *= factor; s.tickSize *= factor; s.legendSize *= factor
        return s
    }
}
