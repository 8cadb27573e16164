/// An sRGB colour with straight (not premultiplied) alpha; every component is in [0, 1].
public struct Color: Sendable, Hashable {
    public var red: Double
    public var green: Double
    public var blue: Double
    public var alpha: Double

    /// Components in [0, 1]; values outside are clamped when drawn.
    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red; self.green = green; self.blue = blue; self.alpha = alpha
    }

    /// A colour from a 24-bit hex value such as `0x0072B2`.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(
            red: Double((hex >> 16) & 0xFF) / 255, green: Double((hex >> 8) & 0xFF) / 255,
            blue: Double(hex & 0xFF) / 255, alpha: alpha)
    }

    /// A grey level in [0, 1] (0 black, 1 white).
    public init(gray: Double, alpha: Double = 1) { self.init(red: gray, green: gray, blue: gray, alpha: alpha) }

    /// The same colour with another alpha.
    public func withAlpha(_ alpha: Double) -> Color { Color(red: red, green: green, blue: blue, alpha: alpha) }

    /// Linear interpolation in sRGB between `self` (t = 0) and `other` (t = 1).
    public func mixed(with other: Color, fraction t: Double) -> Color {
        Color(
            red: red + (other.red - red) * t, green: green + (other.green - green) * t,
            blue: blue + (other.blue - blue) * t, alpha: alpha + (other.alpha - alpha) * t)
    }

    public static let black = Color(gray: 0)
    public static let white = Color(gray: 1)
    public static let darkGray = Color(gray: 0.25)
    public static let gray = Color(gray: 0.5)
    public static let lightGray = Color(gray: 0.85)
    // Okabe–Ito colours (colour-blind safe), by name.
    public static let blue = Color(hex: 0x0072B2)
    public static let vermillion = Color(hex: 0xD55E00)
    public static let green = Color(hex: 0x009E73)
    public static let purple = Color(hex: 0xCC79A7)
    public static let orange = Color(hex: 0xE69F00)
    public static let skyBlue = Color(hex: 0x56B4E9)
    public static let yellow = Color(hex: 0xF0E442)
}

/// The qualitative palette for series: the Okabe–Ito colours, ordered so that the first few are the most distinct
/// on white (yellow comes last). Series without an explicit colour take `Palette.color(at: index)`.
public enum Palette {
    /// The eight colours in order of use.
    public static let colors: [Color] = [.blue, .vermillion, .green, .purple, .orange, .skyBlue, .black, .yellow]

    /// The colour for series number `index` (cycling after eight).
    public static func color(at index: Int) -> Color { colors[((index % colors.count) + colors.count) % colors.count] }
}
