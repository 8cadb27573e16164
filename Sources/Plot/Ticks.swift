import Foundation

/// Tick positions for axes.
///
/// - Linear axes use "nice numbers": the step is 1, 2 or 5 × 10^k, chosen so that about `targetCount` intervals
///   cover the range, and ticks are the multiples of the step inside [lower, upper].
/// - Logarithmic axes use whole decades (every k-th decade when there are too many); a range holding fewer than
///   three decades uses 1-2-5 multiples, then linear nice ticks.
public enum Ticks {
    /// The nice step (1, 2 or 5 × 10^k) nearest to `rawStep`. Non-positive or non-finite input gives 1.
    public static func niceStep(_ rawStep: Double) -> Double {
        guard rawStep.isFinite, rawStep > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(rawStep)))
        let fraction = rawStep / magnitude
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * magnitude
    }

    /// Multiples of a nice step inside [lower, upper], for about `targetCount` intervals.
    ///
    /// Example: `linear(lower: 0, upper: 1, targetCount: 5)` is `[0, 0.2, 0.4, 0.6, 0.8, 1]`.
    /// Values are rounded to the step's decimal precision (no 0.30000000000000004). An empty, reversed or
    /// non-finite range gives `[]`; `lower == upper` gives `[lower]`.
    public static func linear(lower: Double, upper: Double, targetCount: Int = 5) -> [Double] {
        guard lower.isFinite, upper.isFinite, lower <= upper else { return [] }
        if lower == upper { return [lower] }
        let step = niceStep((upper - lower) / Double(max(1, targetCount)))
        return multiples(of: step, lower: lower, upper: upper)
    }

    /// The multiples of `step` inside [lower, upper] (with a tolerance of 1e-9 steps at the ends).
    public static func multiples(of step: Double, lower: Double, upper: Double) -> [Double] {
        guard step > 0, step.isFinite, lower.isFinite, upper.isFinite, lower <= upper else { return [] }
        let first = ceil(lower / step - 1e-9), last = floor(upper / step + 1e-9)
        guard last >= first, last - first < 10_000 else { return [] }
        let decimals = max(0, -Int(floor(log10(step) + 1e-9))) + 1
        let scale = pow(10, Double(min(decimals, 15)))
        return stride(from: first, through: last, by: 1).map { k in
            let v = (k * step * scale).rounded() / scale
            return v == 0 ? 0 : v  // no negative zero
        }
    }

    /// Ticks for a logarithmic axis over [lower, upper] (both > 0), at most `maxCount` of them when decades.
    ///
    /// Example: `logarithmic(lower: 1e-5, upper: 1)` is `[1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1]`.
    public static func logarithmic(lower: Double, upper: Double, maxCount: Int = 8) -> [Double] {
        guard lower > 0, upper >= lower, lower.isFinite, upper.isFinite else { return [] }
        let firstExponent = Int(ceil(log10(lower) - 1e-9)), lastExponent = Int(floor(log10(upper) + 1e-9))
        if lastExponent - firstExponent >= 2 {
            let count = lastExponent - firstExponent + 1
            var every = 1
            while (count + every - 1) / every > max(2, maxCount) { every += 1 }
            return stride(from: firstExponent, through: lastExponent, by: 1)
                .filter { ($0 - firstExponent) % every == 0 }.map { decade($0) }
        }
        // Two decades or fewer: 1, 2, 5 × 10^k (plain decades when those are too many), then linear nice ticks.
        var candidates: [Double] = []
        for exponent in (firstExponent - 1)...(lastExponent + 1) {
            for mantissa in [1.0, 2.0, 5.0] {
                let v = mantissa * decade(exponent)
                if v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) { candidates.append(v) }
            }
        }
        if candidates.count >= 3 && candidates.count <= max(3, maxCount) { return candidates }
        if lastExponent > firstExponent { return [decade(firstExponent), decade(lastExponent)] }
        return linear(lower: lower, upper: upper, targetCount: 4)
    }

    /// 10^exponent, exact for the decades that have an exact decimal form.
    static func decade(_ exponent: Int) -> Double {
        exponent >= 0 ? pow(10, Double(exponent)) : 1 / pow(10, Double(-exponent))
    }

    /// A compact label for a tick value on an axis whose tick spacing is `step`.
    ///
    /// Examples: 0.5 → "0.5", 0.0001 → "1e-4", 20000 (step 5000) → "20k", 1.5e6 (step 5e5) → "1.5M", −0 → "0".
    /// The number of decimals follows the step, so all labels of one axis have the same precision.
    public static func label(for value: Double, step: Double) -> String {
        format(value, step: step, magnitude: abs(value))
    }

    /// Labels for all ticks of one axis in one common style (same suffix, same decimals).
    ///
    /// Linear axes: suffix "k" from 10 000 and "M" from 10⁶ (when the step allows), scientific below 10⁻³ or from
    /// 10⁹, fixed decimals otherwise. Logarithmic decades (`logarithmicDecades`): plain numbers when every decade
    /// lies in [0.001, 1000], else powers of ten written with superscripts ("10⁻⁵").
    public static func labels(for values: [Double], logarithmicDecades: Bool = false) -> [String] {
        let finite = values.filter(\.isFinite)
        if logarithmicDecades {
            if finite.allSatisfy({ $0 >= 1e-3 * (1 - 1e-9) && $0 <= 1e3 * (1 + 1e-9) }) {
                return values.map { format($0, step: $0, magnitude: abs($0)) }
            }
            return values.map { v in
                guard v > 0, v.isFinite else { return format(v, step: 1, magnitude: 1) }
                return "10" + superscript(Int(log10(v).rounded()))
            }
        }
        var step = Double.infinity
        let sorted = finite.sorted()
        for (a, b) in zip(sorted, sorted.dropFirst()) where b > a { step = min(step, b - a) }
        let magnitude = finite.map { abs($0) }.max() ?? 0
        if !step.isFinite { step = magnitude > 0 ? magnitude : 1 }
        return values.map { format($0, step: step, magnitude: magnitude) }
    }

    static func format(_ value: Double, step rawStep: Double, magnitude: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        if value == 0 { return "0" }
        let step = rawStep > 0 && rawStep.isFinite ? rawStep : abs(value)
        if magnitude >= 1e9 || magnitude < 1e-3 { return scientific(value) }
        if magnitude >= 1e6 && step >= 1e5 { return fixed(value / 1e6, decimals: decimals(for: step / 1e6)) + "M" }
        if magnitude >= 1e4 && step >= 100 { return fixed(value / 1e3, decimals: decimals(for: step / 1e3)) + "k" }
        return fixed(value, decimals: decimals(for: step))
    }

    /// An integer written with Unicode superscript digits and minus sign.
    static func superscript(_ n: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        return (n < 0 ? "⁻" : "") + String(String(abs(n)).map { digits[Int(String($0))!] })
    }

    /// The fewest decimals (0…10) that represent multiples of `step` exactly enough.
    static func decimals(for step: Double) -> Int {
        var scaled = step
        for d in 0...10 {
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, abs(scaled)) { return d }
            scaled *= 10
        }
        return 10
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// "m e k" with up to two decimals in the mantissa, e.g. 2.5e-4, 1e-5, 3e10.
    static func scientific(_ value: Double) -> String {
        var exponent = Int(floor(log10(abs(value))))
        var mantissa = value / decade(exponent)
        if abs(mantissa) >= 9.995 { mantissa /= 10; exponent += 1 }
        var text = String(format: "%.2f", mantissa)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return "\(text)e\(exponent)"
    }
}
