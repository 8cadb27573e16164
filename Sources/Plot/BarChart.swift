/// A closed interval in data coordinates, e.g. a confidence interval drawn as an error bar.
public struct Interval: Sendable, Hashable {
    public var lower: Double
    public var upper: Double
    public init(_ lower: Double, _ upper: Double) { self.lower = lower; self.upper = upper }
}

/// One series of a bar chart: a value per category.
public struct BarSeries: Sendable {
    /// Legend text.
    public var name: String
    /// One value per category; NaN or infinite values draw no bar.
    public var values: [Double]
    /// Explicit colour; nil takes the palette colour of the series' index.
    public var color: Color?
    /// Error bars (e.g. confidence intervals) in absolute data coordinates, one per category.
    public var intervals: [Interval]?

    public init(_ name: String = "", values: [Double], color: Color? = nil, intervals: [Interval]? = nil) {
        self.name = name; self.values = values; self.color = color; self.intervals = intervals
    }
}

/// Bars over named categories: grouped side by side, or stacked (positive and negative parts stack separately).
///
/// Long category labels are rotated, shrunk and, if they still collide, thinned out, so that none overlap.
public struct BarChart: Sendable {
    public var categories: [String]
    public var series: [BarSeries]
    public var stacked: Bool

    public init(categories: [String], series: [BarSeries], stacked: Bool = false) {
        self.categories = categories; self.series = series; self.stacked = stacked
    }
}
