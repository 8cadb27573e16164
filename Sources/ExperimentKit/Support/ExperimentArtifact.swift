import Artifacts
import Foundation

/// Every artifact kind an explaind executable writes with figures or report rows (the root `kind` attribute).
public enum ArtifactKind: String, CaseIterable, Sendable {
    case trainingMetrics = "training-metrics"
    case epk
    case prune
    case sensitivity
    case lds
    case lmTraining = "lm-training"
    case stepExplainer = "step-explainer"
    case componentAttribution = "component-attribution"
    case swapAligned = "swap-aligned"
    case retrainPipeline = "retrain-pipeline"
}

/// One experiment's artifact as the tools that read results see it: `plot` draws its `figures`, `report` turns it into
/// key numbers and claim verdicts with `summarize`. Each experiment folder declares one conforming type beside its
/// driver, figures and report rules, and registers it once in `ExperimentCatalog.artifacts`.
public protocol ExperimentArtifact {
    /// The root `kind` attribute of the artifact.
    static var kind: ArtifactKind { get }
    /// Figures regenerated from the artifact alone.
    static var figures: [FigureRecipe] { get }
    /// Key numbers and, where the artifact decides one, paper claims. Reads defensively (`ReportReader`): a missing
    /// dataset becomes a row or an undecided claim naming it, never an error of the whole report.
    static func summarize(_ file: HDF5File) throws -> ReportSummary
    /// How `--reference` slims the artifact into its stored companion (default: a complete, deflated copy).
    static var referenceRules: ReferenceRules { get }
}

/// The registry of experiment artifacts: the one place an experiment is made known to `plot` and `report`.
public enum ExperimentCatalog {
    public static let artifacts: [any ExperimentArtifact.Type] = [
        TrainingExperiment.self,
        ValidateEPKExperiment.self,
        PruneExperiment.self,
        SensitivityExperiment.self,
        LDSExperiment.self,
        LanguageModelExperiment.self,
        StepExplainerExperiment.self,
        ComponentAttributionExperiment.self,
        SwapAlignedExperiment.self,
        RetrainPipelineExperiment.self,
    ]

    /// The registered artifact of a `kind` attribute, nil for a kind without figures or report rules (e.g. histories).
    public static func artifact(kind: String) -> (any ExperimentArtifact.Type)? {
        artifacts.first { $0.kind.rawValue == kind }
    }
}

/// What a report says about one artifact: key numbers and, where the artifact can decide it, a paper claim.
public struct ReportSummary: Sendable {
    public var rows: [(String, String)]
    public var claims: [Claim]
    public init(rows: [(String, String)], claims: [Claim] = []) { self.rows = rows; self.claims = claims }
}

/// A paper claim checked against a run: `holds` is nil when the run cannot decide it.
public struct Claim: Sendable {
    public var statement: String
    public var holds: Bool?
    public var evidence: String
    public init(statement: String, holds: Bool?, evidence: String) {
        self.statement = statement; self.holds = holds; self.evidence = evidence
    }
}
