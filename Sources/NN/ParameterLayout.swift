/// Where each parameter tensor ("component", docs/METHOD.md §1) of a model lives inside one flat Float32 vector θ.
///
/// Components keep the PyTorch state-dict names and order of the original models, so histories, attributions and
/// plots refer to the same names as the paper (e.g. `linear1.weight`, `2.module.0.0.weight`).
/// θ is always one contiguous `[Float]` of length `count`: optimizers, snapshots and straight-path interpolation
/// `(1−α)θ₀ + αθ₁` then work on a single vector.
public struct ParameterLayout: Equatable, Sendable {
    /// One parameter tensor: its name, shape, and slice `offset..<offset+count` of θ.
    public struct Component: Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        /// Position of the component in the layout (0-based).
        public let index: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset..<(offset + count) }
    }

    public private(set) var components: [Component] = []
    /// Total number of scalars P.
    public private(set) var count: Int = 0

    public init() {}

    /// Appends a component and returns it (its offset is the current end of θ).
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int]) -> Component {
        precondition(!components.contains { $0.name == name }, "ParameterLayout: duplicate component \(name)")
        let c = Component(name: name, shape: shape, offset: count, index: components.count)
        components.append(c)
        count += c.count
        return c
    }

    /// The component with this name, if any.
    public func component(named name: String) -> Component? { components.first { $0.name == name } }

    /// Component names in order.
    public var names: [String] { components.map(\.name) }
}

/// Where a backward pass puts parameter gradients.
///
/// Both cases **accumulate** (`+=`); the caller zeroes the destination first. A parameter used at several places
/// (e.g. the modulo model's shared Q=K=V projection) therefore receives the sum of its contributions.
public enum GradientSink {
    /// Σ over samples of the per-sample gradients, into one flat vector of length P (the batch gradient).
    case sum(UnsafeMutablePointer<Float>)
    /// The gradient of sample i into row i of an (n × rowStride) matrix, each row laid out like θ
    /// (component k at `row + offset_k`). `rowStride ≥ P`.
    case perSample(UnsafeMutablePointer<Float>, rowStride: Int)
    /// Inner products of each per-sample gradient with D fixed directions, per component, without ever forming the
    /// P-sized gradient rows: `out[(i·D + d)·K + k] += ⟨g_i[k], v_d[k]⟩`, where `directions` is (D × P) row-major
    /// (laid out like θ) and K is the number of components. This is what the EPK needs to split φ_t·Δθ_t and
    /// φ_t·ρ_t by component (docs/METHOD.md §3) at a fraction of the memory traffic.
    case perSampleDot(PerSampleDot)
}

/// Destination of a `.perSampleDot` backward.
public struct PerSampleDot {
    /// (D × P) directions, each laid out like θ.
    public let directions: UnsafePointer<Float>
    public let directionCount: Int
    /// P, the row length of `directions`.
    public let parameterCount: Int
    /// (n × D × K) accumulated inner products.
    public let out: UnsafeMutablePointer<Double>
    /// K, the number of components.
    public let componentCount: Int
    /// Workspace for layers that **project** instead (`ComponentProjection`): they form the per-sample gradients of
    /// one component for as many samples as fit here and multiply them by all D directions in one GEMM. That costs
    /// one per-sample weight gradient per sample whatever D is, where the direction-by-direction products cost D
    /// passes, so callers with many directions (the EPK data attribution's accumulator rows) pass one. Nil: every
    /// layer uses its direction-by-direction products. Layers without a projection path ignore it.
    public let scratch: UnsafeMutableBufferPointer<Float>?

    public init(
        directions: UnsafePointer<Float>, directionCount: Int, parameterCount: Int,
        out: UnsafeMutablePointer<Double>, componentCount: Int, scratch: UnsafeMutableBufferPointer<Float>? = nil
    ) {
        self.directions = directions; self.directionCount = directionCount; self.parameterCount = parameterCount
        self.out = out; self.componentCount = componentCount; self.scratch = scratch
    }

    /// Direction d restricted to a component: pointer to v_d[k].
    @inlinable public func direction(_ d: Int, _ component: ParameterLayout.Component) -> UnsafePointer<Float> {
        directions + d * parameterCount + component.offset
    }

    /// Adds `value` to out[sample, d, component].
    @inlinable public func add(_ value: Double, sample: Int, direction d: Int, component: ParameterLayout.Component) {
        out[(sample * directionCount + d) * componentCount + component.index] += value
    }
}
