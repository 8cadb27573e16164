/// How a series' points are joined.
public enum LineStyle: Sendable, Hashable { case solid, dashed, dotted, none }

/// The symbol drawn at each point.
public enum Marker: Sendable, Hashable { case none, circle, square, triangle, diamond }

/// How `Series.yErrors` are shown.
public enum ErrorStyle: Sendable, Hashable {
    /// Vertical bars with caps at y ± error.
    case bars
    /// A translucent band between y − error and y + error.
    case band
}

/// A shaded band between two curves sharing the series' x values (e.g. a min–max or a confidence band).
public struct Band: Sendable {
    public var lower: [Double]
    public var upper: [Double]
    public init(lower: [Double], upper: [Double]) { self.lower = lower; self.upper = upper }
}

/// One series of an x–y panel: a line, a scatter (`line: .none` with a marker), or both.
///
/// Points where x or y is NaN or infinite (or ≤ 0 on a log axis) are skipped and break the line. Arrays of errors,
/// band bounds and colour values are matched to the points by index; missing entries are ignored.
public struct Series: Sendable {
    /// Legend text; series with an empty name are left out of the legend.
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Explicit colour; nil takes the palette colour of the series' index in its panel.
    public var color: Color?
    public var line: LineStyle
    public var lineWidth: Double
    public var marker: Marker
    /// Marker diameter in pixels.
    public var markerSize: Double
    /// Symmetric vertical errors (e.g. standard deviations): drawn as bars or a band at y ± error.
    public var yErrors: [Double]?
    /// Symmetric horizontal errors, drawn as bars at x ± error.
    public var xErrors: [Double]?
    public var errorStyle: ErrorStyle
    /// An extra shaded band.
    public var band: Band?
    /// Per-point values coloured through the panel's colour scale (scatter coloured by value).
    public var colorValues: [Double]?
    /// Opacity of lines and markers.
    public var opacity: Double

    /// A series; by default a solid line without markers.
    public init(
        _ name: String = "", x: [Double], y: [Double], color: Color? = nil, line: LineStyle = .solid,
        lineWidth: Double = 1.75, marker: Marker = .none, markerSize: Double = 6, yErrors: [Double]? = nil,
        xErrors: [Double]? = nil, errorStyle: ErrorStyle = .bars, band: Band? = nil,
        colorValues: [Double]? = nil, opacity: Double = 1
    ) {
        self.name = name; self.x = x; self.y = y; self.color = color; self.line = line; self.lineWidth = lineWidth
        self.marker = marker; self.markerSize = markerSize; self.yErrors = yErrors; self.xErrors = xErrors
        self.errorStyle = errorStyle; self.band = band; self.colorValues = colorValues; self.opacity = opacity
    }

    /// A series with y values at x = 0, 1, 2, ….
    public init(_ name: String = "", y: [Double], color: Color? = nil, line: LineStyle = .solid) {
        self.init(name, x: y.indices.map(Double.init), y: y, color: color, line: line)
    }

    /// A scatter series: markers only.
    public static func scatter(
        _ name: String = "", x: [Double], y: [Double], color: Color? = nil,
        marker: Marker = .circle, markerSize: Double = 5, colorValues: [Double]? = nil,
        opacity: Double = 0.8
    ) -> Series {
        Series(
            name, x: x, y: y, color: color, line: .none, marker: marker, markerSize: markerSize,
            colorValues: colorValues, opacity: opacity)
    }
}

/// A guide line that does not take part in automatic axis ranges (it is clipped to the panel).
public struct ReferenceLine: Sendable {
    /// The shape of the line.
    public enum Kind: Sendable {
        /// y = value.
        case horizontal(Double)
        /// x = value.
        case vertical(Double)
        /// y = coefficient · x^exponent (straight on log–log axes), e.g. exponent −2 for an O(n⁻²) guide.
        case powerLaw(coefficient: Double, exponent: Double)
        /// y = slope · x + intercept.
        case straight(slope: Double, intercept: Double)
    }

    public var kind: Kind
    /// Legend text; empty keeps it out of the legend.
    public var label: String
    public var color: Color
    public var style: LineStyle
    public var lineWidth: Double

    /// A reference line, dashed dark grey by default.
    public init(
        _ kind: Kind, label: String = "", color: Color = .darkGray, style: LineStyle = .dashed, lineWidth: Double = 1.25
    ) {
        self.kind = kind; self.label = label; self.color = color; self.style = style; self.lineWidth = lineWidth
    }
}
