/// A continuous colour map: colours at evenly spaced anchors, linearly interpolated in sRGB.
///
/// `color(at:)` takes t in [0, 1]; values outside are clamped, and NaN gives `missing`.
public struct ColorMap: Sendable, Hashable {
    /// Anchor colours at t = 0, 1/(n−1), …, 1.
    public var anchors: [Color]
    /// Whether the map is diverging (a neutral midpoint): automatic ranges are then made symmetric about zero.
    public var isDiverging: Bool
    /// Colour for NaN or infinite values.
    public var missing: Color

    /// A map through `anchors` (at least two).
    public init(anchors: [Color], isDiverging: Bool = false, missing: Color = Color(gray: 0.85)) {
        precondition(anchors.count >= 2, "a colour map needs at least two anchors")
        self.anchors = anchors; self.isDiverging = isDiverging; self.missing = missing
    }

    /// The colour at t ∈ [0, 1].
    public func color(at t: Double) -> Color {
        guard t.isFinite else { return missing }
        let position = min(max(t, 0), 1) * Double(anchors.count - 1)
        let index = min(Int(position), anchors.count - 2)
        return anchors[index].mixed(with: anchors[index + 1], fraction: position - Double(index))
    }

    /// The same map run backwards.
    public func reversed() -> ColorMap {
        ColorMap(anchors: anchors.reversed(), isDiverging: isDiverging, missing: missing)
    }

    /// Sequential, perceptually ordered dark purple → blue → green → yellow (viridis-like, 8 anchors).
    public static let viridis = ColorMap(
        anchors: [
            0x440154, 0x46337E, 0x365C8D, 0x277F8E,
            0x1FA187, 0x4AC16D, 0x9FDA3A, 0xFDE725,
        ].map { Color(hex: $0) })

    /// Sequential white → dark blue (ColorBrewer "Blues"-like), good for counts such as confusion matrices.
    public static let blues = ColorMap(
        anchors: [
            0xF7FBFF, 0xDEEBF7, 0xC6DBEF, 0x9ECAE1, 0x6BAED6,
            0x4292C6, 0x2171B5, 0x08519C, 0x08306B,
        ].map { Color(hex: $0) })

    /// Diverging dark red (low) → white (middle) → dark blue (high) (ColorBrewer "RdBu"-like, 11 anchors).
    public static let redBlue = ColorMap(
        anchors: [
            0x67001F, 0xB2182B, 0xD6604D, 0xF4A582, 0xFDDBC7, 0xF7F7F7,
            0xD1E5F0, 0x92C5DE, 0x4393C3, 0x2166AC, 0x053061,
        ].map { Color(hex: $0) },
        isDiverging: true)
}

/// How values map to colours in a heatmap or a colour-by-value scatter, and how the colour bar is labelled.
public struct ColorScale: Sendable {
    /// The colour map.
    public var map: ColorMap
    /// Values mapped to the two ends; nil means the finite data range (symmetric about 0 for diverging maps).
    public var range: ClosedRange<Double>?
    /// Label written along the colour bar.
    public var label: String
    /// Whether to draw the colour bar.
    public var showsColorBar: Bool

    /// A colour scale; `range: nil` picks it from the data.
    public init(
        map: ColorMap = .viridis, range: ClosedRange<Double>? = nil, label: String = "", showsColorBar: Bool = true
    ) {
        self.map = map; self.range = range; self.label = label; self.showsColorBar = showsColorBar
    }

    /// The value range actually used for `values`: the explicit range, or the finite min…max (made symmetric about
    /// zero for diverging maps, and widened when all values are equal). No finite values gives 0…1 (−1…1 diverging).
    public func resolvedRange(for values: [Double]) -> ClosedRange<Double> {
        if let range, range.upperBound > range.lowerBound { return range }
        var low = Double.infinity, high = -Double.infinity
        for v in values where v.isFinite { low = min(low, v); high = max(high, v) }
        if low > high { return map.isDiverging ? -1...1 : 0...1 }
        if map.isDiverging {
            let m = max(abs(low), abs(high))
            return m > 0 ? -m...m : -1...1
        }
        if low == high { let d = low == 0 ? 1 : abs(low) * 0.1; return (low - d)...(high + d) }
        return low...high
    }

    /// The colour of `value` on `range`.
    public func color(for value: Double, in range: ClosedRange<Double>) -> Color {
        map.color(at: (value - range.lowerBound) / (range.upperBound - range.lowerBound))
    }
}
