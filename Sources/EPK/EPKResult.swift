import NN

/// Everything one EPK pass produces (docs/METHOD.md §7; layout in docs/ARTIFACTS.md). Axes:
/// - n test points, C classes, S = selected classes per test point, rows = n·S (row `a·S + s` is test point a,
///   class `rowClasses[a·S + s]`), K components (in layout order), N training samples, T' = steps processed.
public struct EPKResult: Sendable {
    public var testCount: Int
    public var classCount: Int
    public var classesPerTest: Int
    /// (n·S) class of each row.
    public var rowClasses: [Int]
    /// Attribution rows per test point Sa (S, or 1 with `AttributionRows.focus`).
    public var attributionClassesPerTest: Int
    /// (n·Sa) class of each attribution row (the rows of `dataAttribution` and `parameterAttribution`).
    public var attributionRowClasses: [Int]
    /// (n) the class whose step × component attribution is kept: the label when given, else the final model's argmax.
    public var focusClasses: [Int]
    /// (K) component names, in layout order.
    public var componentNames: [String]
    /// The steps processed (first…last+1).
    public var steps: Range<Int>
    /// (n, C) f(x; θ_{first}) — the model's output at the start of the processed range (θ₀ for a full run).
    public var initialOutputs: [Float]
    /// (n, C) f(x; θ_{last+1}) — the model's own final output.
    public var finalOutputs: [Float]
    /// (rows, K) Σ_t kernel part of the output change, per component (component attribution, docs/METHOD.md §7).
    public var kernelByComponent: [Double]
    /// (rows, K) Σ_t regularisation (weight-decay) part, per component (docs/METHOD.md §7, η applied once).
    public var regularizationByComponent: [Double]
    /// (T', rows) predicted output change of each step, kernel + regularisation (docs/METHOD.md §7).
    public var stepPredicted: [Float]
    /// (T', rows) ground-truth change f(θ_{t+1}) − f(θ_t) at each row's class.
    public var stepTruth: [Float]
    /// (T', n, K) kernel part per step and component, for each test point's focus class (training-step attribution).
    public var stepKernelFocus: [Float]
    /// (T', n, K) regularisation part per step and component, for the focus class.
    public var stepRegularizationFocus: [Float]
    /// (T', n) quadrature points behind each step's integral for each test point under residual-driven refinement
    /// (`QuadratureRefinement`): the configured count, or more where refined. Empty when refinement is off.
    public var stepPoints: [Int32] = []
    /// Data attribution per group: (n·Sa, N) over the attribution rows, I(x, c, j) = (1/B) Σ_t η_t Σ_{k∈group} K_t[k][x, c, j] (docs/METHOD.md §6,
    /// scattered by dataset index — the original's full-batch scatter bug is not reproduced, docs/METHOD.md §13).
    public var dataAttribution: [(group: String, values: [Float])]
    /// Data attribution × training step (docs/METHOD.md §6): per group, (snapshots, n·Sa, N); snapshot k holds the
    /// contributions of the gradients that entered in steps `dataSnapshotStarts[k] ..<` the next start. Summed over
    /// the snapshots it is `dataAttribution`. Empty unless `EPKOptions.dataSnapshotInterval` is set.
    public var dataSnapshots: [(group: String, values: [Float])] = []
    public var dataSnapshotStarts: [Int] = []
    /// Test × parameter attribution (summed over the selected classes), when requested.
    public var parameterAttribution: ParameterAttribution?

    /// Per-parameter attribution of one component group.
    public struct ParameterAttribution: Sendable {
        public var components: [String]
        /// Scalars in the group P_g (components concatenated in `components` order).
        public var parameterCount: Int
        /// Rows kept per test point: 1 (its attribution rows summed) or Sa (`ParameterAttributionOptions.perRow`).
        public var rowsPerTest = 1
        /// (n, rowsPerTest, P_g) kernel part summed over all processed steps.
        public var kernelTotal: [Float]
        /// (n, rowsPerTest, P_g) regularisation part summed over all processed steps.
        public var regularizationTotal: [Float]
        /// Steps per snapshot, if snapshots were requested.
        public var snapshotInterval: Int?
        /// First step of each snapshot interval.
        public var snapshotSteps: [Int]
        /// (snapshots, n, rowsPerTest, P_g) kernel part of each interval [s, s + interval).
        public var kernelSnapshots: [Float]
        /// (snapshots, n, rowsPerTest, P_g) regularisation part of each interval.
        public var regularizationSnapshots: [Float]
    }

    public var rowCount: Int { testCount * classesPerTest }
    public var componentCount: Int { componentNames.count }

    /// (rows) the EPK's reconstruction of f at each row: initial output + Σ over steps and components.
    public var predictedRows: [Double] {
        (0..<rowCount).map { r in
            let a = r / classesPerTest, c = rowClasses[r]
            var s = Double(initialOutputs[a * classCount + c])
            for k in 0..<componentCount {
                s += kernelByComponent[r * componentCount + k] + regularizationByComponent[r * componentCount + k]
            }
            return s
        }
    }

    /// (rows) the model's own final output at each row.
    public var finalRows: [Double] {
        (0..<rowCount).map { r in Double(finalOutputs[(r / classesPerTest) * classCount + rowClasses[r]]) }
    }

    /// (n·Sa) Σ over training samples of each group's data attribution, summed over groups.
    public var dataAttributionRowSums: [Double] {
        let rows = testCount * attributionClassesPerTest
        var sums = [Double](repeating: 0, count: rows)
        guard let first = dataAttribution.first else { return sums }
        let n = first.values.count / max(rows, 1)
        for (_, values) in dataAttribution {
            for r in 0..<rows { for j in 0..<n { sums[r] += Double(values[r * n + j]) } }
        }
        return sums
    }
}
