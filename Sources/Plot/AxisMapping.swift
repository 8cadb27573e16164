import Foundation

/// Maps data values on one axis to device pixels (linear or base-10 logarithmic).
struct AxisMapping {
    let lower: Double
    let upper: Double
    let logarithmic: Bool
    /// Pixel of `lower` and of `upper` (for a y axis, start is the bottom edge).
    let start: Double
    let end: Double

    /// The value in the mapping's linear space (log10 on a log axis), nil for values that cannot be shown.
    func transform(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        if logarithmic { return value > 0 ? log10(value) : nil }
        return value
    }

    /// Pixel coordinate of `value`, nil when it is NaN, infinite or ≤ 0 on a log axis. Values outside the
    /// range map outside [start, end] (drawing is clipped).
    func pixel(_ value: Double) -> Double? {
        guard let t = transform(value), let low = transform(lower), let high = transform(upper), high != low else {
            return nil
        }
        return start + (t - low) / (high - low) * (end - start)
    }

    /// The data value at a pixel coordinate.
    func value(atPixel p: Double) -> Double {
        let low = transform(lower) ?? 0, high = transform(upper) ?? 1
        let t = low + (p - start) / (end - start) * (high - low)
        return logarithmic ? pow(10, t) : t
    }
}

/// Automatic data ranges.
enum Domain {
    /// The range shown for data spanning [minimum, maximum] (nil when there is no usable data), padded by
    /// `padding` of the span on each side (in log space on log axes). Zero-width ranges are widened: ±10 % of
    /// the value (±1 around 0), a factor 2 each way on log axes. No data gives 0…1 (1…10 on log axes).
    static func resolve(
        minimum: Double?, maximum: Double?, logarithmic: Bool, padding: Double,
        limits: ClosedRange<Double>?
    ) -> (Double, Double) {
        if let limits, limits.upperBound > limits.lowerBound, !logarithmic || limits.lowerBound > 0 {
            return (limits.lowerBound, limits.upperBound)
        }
        guard var low = minimum, var high = maximum, low.isFinite, high.isFinite, low <= high else {
            return logarithmic ? (1, 10) : (0, 1)
        }
        if logarithmic {
            if low == high { return (low / 2, high * 2) }
            let a = log10(low), b = log10(high), d = (b - a) * padding
            return (pow(10, a - d), pow(10, b + d))
        }
        if low == high {
            let d = low == 0 ? 1 : abs(low) * 0.1
            return (low - d, high + d)
        }
        let d = (high - low) * padding
        low -= d; high += d
        return (low, high)
    }
}

/// Running minimum and maximum of finite values.
struct Extent {
    var minimum: Double?
    var maximum: Double?
    mutating func add(_ v: Double) {
        guard v.isFinite else { return }
        minimum = min(minimum ?? v, v); maximum = max(maximum ?? v, v)
    }
}
