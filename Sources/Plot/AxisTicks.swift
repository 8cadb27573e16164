import Foundation

/// The ticks chosen for one axis of a laid-out panel.
struct AxisTicks {
    var major: [Tick]
    var minor: [Double]
}

/// How the labels under a horizontal axis are written: angle, font size and which labels are kept.
struct LabelPlan {
    var angle: Double = 0
    var font: Font
    /// Keep every `stride`-th label.
    var stride: Int = 1
    /// Labels after truncation.
    var labels: [String]
    /// Vertical space the labels take below the tick marks.
    var footprint: Double
}

extension PanelRenderer {
    /// Chooses ticks for an axis of `length` pixels over [lower, upper]. Automatic linear ticks take the most
    /// nice-number ticks whose labels do not collide; `integersOnly` keeps steps ≥ 1 (matrix indices).
    func chooseTicks(
        axis: Axis, lower: Double, upper: Double, length: Double, horizontal: Bool,
        integersOnly: Bool = false, minimumSpacing: Double? = nil
    ) -> AxisTicks {
        let font = Font(size: style.tickSize)
        let low = min(lower, upper), high = max(lower, upper)
        if let explicit = axis.ticks {
            let inside = explicit.filter { $0.value >= low - 1e-9 * abs(low) && $0.value <= high + 1e-9 * abs(high) }
            guard !horizontal, inside.count >= 2, high > low else { return AxisTicks(major: inside, minor: []) }
            // Vertical labels are thinned to every k-th so that lines do not collide (horizontal ones are planned later).
            let lineHeight = canvas.measure("0", font).height + 2
            var minimumGap = Double.infinity
            for i in 1..<inside.count {
                minimumGap = min(minimumGap, abs(inside[i].value - inside[i - 1].value) / (high - low) * length)
            }
            let every = max(1, Int(ceil(lineHeight / max(minimumGap, 1e-9))))
            return AxisTicks(major: inside.enumerated().filter { $0.offset % every == 0 }.map(\.element), minor: [])
        }
        func labelled(_ values: [Double], decades: Bool = false) -> [Tick] {
            zip(values, Ticks.labels(for: values, logarithmicDecades: decades)).map { Tick($0, $1) }
        }
        func fits(_ ticks: [Tick], mapping: (Double) -> Double) -> Bool {
            guard ticks.count >= 2 else { return true }
            for i in 1..<ticks.count {
                let distance = abs(mapping(ticks[i].value) - mapping(ticks[i - 1].value))
                if horizontal {
                    let a = canvas.measure(ticks[i - 1].label, font).width,
                        b = canvas.measure(ticks[i].label, font).width
                    if distance < (a + b) / 2 + 10 { return false }
                } else if distance < (minimumSpacing ?? canvas.measure("0", font).height + 3) {
                    return false
                }
            }
            return true
        }
        if axis.scale == .logarithmic, low > 0 {
            let span = log10(high) - log10(low)
            let mapping: (Double) -> Double = { (log10($0) - log10(low)) / span * length }
            var maxCount = max(2, Int(length / (horizontal ? 40 : 22)))
            while true {
                let values = Ticks.logarithmic(lower: low, upper: high, maxCount: maxCount)
                let decades = values.count >= 2 && values.allSatisfy { abs(log10($0) - log10($0).rounded()) < 1e-9 }
                let ticks = labelled(values, decades: decades)
                if fits(ticks, mapping: mapping) || maxCount <= 2 {
                    var minor: [Double] = []
                    let consecutive = decades && zip(values, values.dropFirst()).allSatisfy { abs($1 / $0 - 10) < 1e-6 }
                    if consecutive || values.count < 2 {
                        for e in Int(floor(log10(low)))...Int(ceil(log10(high))) {
                            for m in 2...9 {
                                let v = Double(m) * Ticks.decade(e)
                                if v > low && v < high && !values.contains(where: { abs($0 / v - 1) < 1e-9 }) {
                                    minor.append(v)
                                }
                            }
                        }
                    }
                    return AxisTicks(major: ticks, minor: minor)
                }
                maxCount -= 1
            }
        }
        let mapping: (Double) -> Double = { ($0 - low) / (high - low) * length }
        let maxTarget =
            minimumSpacing.map { max(2, min(8, Int(length / $0))) }
            ?? min(10, max(2, Int(length / (horizontal ? 55 : 32))))
        var chosen: [Tick] = []
        for target in stride(from: maxTarget, through: 1, by: -1) {
            var values = Ticks.linear(lower: low, upper: high, targetCount: target)
            if integersOnly, values.count >= 2, values[1] - values[0] < 1 {
                values = Ticks.multiples(of: 1, lower: low, upper: high)
            }
            chosen = labelled(values)
            if fits(chosen, mapping: mapping) { break }
        }
        return AxisTicks(major: chosen, minor: [])
    }

    /// Plans the labels under a horizontal axis whose ticks sit at `positions` (pixels). Labels that collide are
    /// rotated by 45°, shrunk (down to 70 %), truncated to `maxFootprint`, and finally thinned to every k-th.
    func planHorizontalLabels(_ ticks: [Tick], positions: [Double], maxFootprint: Double) -> LabelPlan {
        let base = Font(size: style.tickSize)
        let labels = ticks.map(\.label)
        let height = canvas.measure("0", base).height
        guard !ticks.isEmpty else { return LabelPlan(font: base, labels: [], footprint: height) }
        var gaps: [Double] = []
        for i in 1..<max(1, positions.count) { gaps.append(abs(positions[i] - positions[i - 1])) }
        func widths(_ font: Font, _ texts: [String]) -> [Double] { texts.map { canvas.measure($0, font).width } }
        // Upright on one line, else on two lines broken at the space nearest the middle; full size, then 85 %.
        let wrapped = labels.map(wrapInTwo)
        for scale in [1.0, 0.85] {
            let font = Font(size: base.size * scale)
            let lineHeight = canvas.measure("0", font).height
            for (candidate, lines) in [(labels, 1.0), (wrapped, 2.0)] where lines == 1 || wrapped != labels {
                let w = candidate.map { labelWidth($0, font) }
                if gaps.indices.allSatisfy({ gaps[$0] >= (w[$0] + w[$0 + 1]) / 2 + 6 })
                    && lines * lineHeight <= maxFootprint
                {
                    return LabelPlan(font: font, labels: candidate, footprint: lines * lineHeight)
                }
            }
        }
        // Rotated by 45°: neighbours must be one line height apart perpendicular to the text.
        let sine = 0.5.squareRoot()
        for scale in [1.0, 0.85, 0.7] {
            let font = Font(size: base.size * scale)
            let h = canvas.measure("0", font).height
            let footprint = ((widths(font, labels).max() ?? 0) + h) * sine
            if footprint <= maxFootprint && gaps.allSatisfy({ $0 * sine >= h + 1 }) {
                return LabelPlan(angle: .pi / 4, font: font, labels: labels, footprint: footprint)
            }
        }
        // Smallest size, truncated, every k-th label.
        let font = Font(size: base.size * 0.7)
        let h = canvas.measure("0", font).height
        let maxWidth = max(20, maxFootprint / sine - h)
        let truncated = labels.map { truncate($0, font: font, maxWidth: maxWidth) }
        let minimumGap = gaps.min() ?? .infinity
        let stride = max(1, Int(ceil((h + 1) / max(1e-9, minimumGap * sine))))
        let footprint = ((widths(font, truncated).max() ?? 0) + h) * sine
        return LabelPlan(angle: .pi / 4, font: font, stride: stride, labels: truncated, footprint: footprint)
    }

    /// `text` shortened with an ellipsis to at most `maxWidth` pixels.
    func truncate(_ text: String, font: Font, maxWidth: Double) -> String {
        if canvas.measure(text, font).width <= maxWidth { return text }
        var characters = Array(text)
        while !characters.isEmpty && canvas.measure(String(characters) + "…", font).width > maxWidth {
            characters.removeLast()
        }
        return String(characters) + "…"
    }

    /// Width of a possibly multi-line label (the widest line).
    func labelWidth(_ text: String, _ font: Font) -> Double {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { canvas.measure(String($0), font).width }
            .max() ?? 0
    }

    /// `text` broken into two lines at the space nearest its middle (unchanged when it has no space).
    func wrapInTwo(_ text: String) -> String {
        let characters = Array(text)
        let spaces = characters.indices.filter { characters[$0] == " " }
        guard let split = spaces.min(by: { abs($0 * 2 - characters.count) < abs($1 * 2 - characters.count) }) else {
            return text
        }
        return String(characters[..<split]) + "\n" + String(characters[(split + 1)...])
    }
}
