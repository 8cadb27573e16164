import NN

/// Which output classes get test features (docs/METHOD.md §8). Reconstructing and validating the full output needs
/// `all`; attribution studies usually need only the `target` (label) or the final model's `predicted` class.
public enum ClassSelection: String, Codable, Sendable {
    case all, target, predicted
}

/// Which rows get materialised test features for data and parameter attribution: the same classes as the
/// validation rows (`selected`), or only each test point's focus class (`focus`: the label when given, else the
/// final model's prediction). `focus` keeps all-class validation (cheap per-sample dot products) while attribution
/// costs one row per test point instead of C.
public enum AttributionRows: String, Codable, Sendable {
    case selected, focus
}

/// A named set of components whose attributions are reported together (docs/METHOD.md §16 layer groups).
public struct ComponentGroup: Codable, Equatable, Sendable {
    public var name: String
    public var components: [String]
    public init(name: String, components: [String]) { self.name = name; self.components = components }
}

/// Parameter-level (test × parameter) component attribution for one group, optionally in interval snapshots
/// (docs/METHOD.md §7, with the original's bugs fixed: every snapshot holds exactly the steps of its interval, the
/// accumulated total is kept as well, and the regularisation part carries its −η factor).
public struct ParameterAttributionOptions: Codable, Equatable, Sendable {
    /// The components whose scalars are attributed, concatenated in this order.
    public var components: [String]
    /// Steps per snapshot; `nil` keeps only the total over all steps.
    public var snapshotInterval: Int?
    /// Keep each attribution row (test point × class) apart instead of summing a test point's rows: (n, Sa, P_g).
    /// Callers that need |PK| per class (pruning scores, docs/METHOD.md §15) get every class from one pass, whose
    /// features come from the C − 1 softmax-basis rows. Not a config key.
    public var perRow = false
    public init(components: [String], snapshotInterval: Int? = nil, perRow: Bool = false) {
        self.components = components; self.snapshotInterval = snapshotInterval; self.perRow = perRow
    }
    /// Attribution rows kept per test point when each test point has `attributionRows` (test × class) rows.
    public func rowsKept(perTestOf attributionRows: Int) -> Int { perRow ? attributionRows : 1 }
    enum CodingKeys: String, CodingKey { case components, snapshotInterval = "snapshot_interval" }
}

/// Everything the EPK engine needs to know besides the model, history and data.
public struct EPKOptions: Sendable {
    /// Integration rule per step.
    public var quadrature: QuadratureConfig
    /// Classes that receive test features.
    public var classes: ClassSelection
    /// Rows that carry data and parameter attribution.
    public var attributionClasses: AttributionRows
    /// Groups for data attribution (test × class × train sample); empty disables data attribution and its
    /// reverse-accumulation state entirely.
    public var dataAttributionGroups: [ComponentGroup]
    /// Optional test × parameter attribution.
    public var parameterAttribution: ParameterAttributionOptions?
    /// Approximate upper bound on the engine's working memory; test points are processed in chunks to stay below it.
    public var memoryBudgetBytes: Int
    /// Steps to process (all by default). A step range is only allowed without data attribution, because the
    /// reverse accumulation couples every step to all later ones.
    public var steps: Range<Int>?
    /// Called after each processed step with (done, total) over all chunks.
    public var progress: (@Sendable (Int, Int) -> Void)?
    /// With data attribution: also keep it per interval of this many steps, keyed by the step in which a sample's
    /// gradient entered (`EPKResult.dataSnapshots`, docs/METHOD.md §6). nil: totals only.
    public var dataSnapshotInterval: Int? = nil

    public init(
        quadrature: QuadratureConfig = QuadratureConfig(), classes: ClassSelection = .all,
        attributionClasses: AttributionRows = .selected, dataAttributionGroups: [ComponentGroup] = [],
        parameterAttribution: ParameterAttributionOptions? = nil,
        memoryBudgetBytes: Int = 4 << 30, steps: Range<Int>? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) {
        self.quadrature = quadrature; self.classes = classes; self.attributionClasses = attributionClasses
        self.dataAttributionGroups = dataAttributionGroups
        self.parameterAttribution = parameterAttribution; self.memoryBudgetBytes = memoryBudgetBytes
        self.steps = steps; self.progress = progress
    }
}

/// Errors the engine reports before doing any work, each one line with the fix.
public enum EPKError: Error, CustomStringConvertible, Equatable {
    case historyMismatch(String)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .historyMismatch(let s): return "history does not match the model: \(s)"
        case .invalidOptions(let s): return "invalid EPK options: \(s)"
        }
    }
}
