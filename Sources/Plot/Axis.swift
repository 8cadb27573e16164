/// An explicit tick: a position in data coordinates and its label.
public struct Tick: Sendable, Hashable {
    public var value: Double
    public var label: String
    public init(_ value: Double, _ label: String) { self.value = value; self.label = label }
}

/// One axis of a panel: its label, scale, optional fixed limits and optional explicit ticks.
public struct Axis: Sendable {
    /// Linear or base-10 logarithmic mapping. On a log axis, values ≤ 0 are skipped.
    public enum Scale: Sendable { case linear, logarithmic }

    /// The axis title, including units where there are any (e.g. "step", "loss (nats)").
    public var label: String
    public var scale: Scale
    /// Fixed data range; nil means automatic (the data range plus a small margin).
    public var limits: ClosedRange<Double>?
    /// Explicit ticks; nil means automatic (nice numbers or decades).
    public var ticks: [Tick]?

    /// An axis; everything but the label is automatic by default.
    public init(_ label: String = "", scale: Scale = .linear, limits: ClosedRange<Double>? = nil, ticks: [Tick]? = nil)
    {
        self.label = label; self.scale = scale; self.limits = limits; self.ticks = ticks
    }

    /// A logarithmic axis.
    public static func log(_ label: String = "", limits: ClosedRange<Double>? = nil) -> Axis {
        Axis(label, scale: .logarithmic, limits: limits)
    }
}
