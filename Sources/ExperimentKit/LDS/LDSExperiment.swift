import Artifacts
import Foundation

/// `lds` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §17).
public enum LDSExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.lds
    public static var figures: [FigureRecipe] { LDSFigures.all }
    public static func summarize(_ file: HDF5File) throws -> ReportSummary { try ReportWriter.summarizeLDS(file) }
}
