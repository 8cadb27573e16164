import EPK
import XCTest

@testable import ExperimentKit

/// The registry is the one place experiments are made known to `plot` and `report`: every artifact kind is
/// registered exactly once, under the kind its writer stamps on the file, and owns exactly the figures it lists.
final class ExperimentCatalogTests: XCTestCase {
    func testEveryKindIsRegisteredOnce() {
        let registered = ExperimentCatalog.artifacts.map { $0.kind }
        XCTAssertEqual(registered.count, Set(registered).count, "a kind registered twice: \(registered)")
        XCTAssertEqual(Set(registered), Set(ArtifactKind.allCases))
        for kind in ArtifactKind.allCases {
            XCTAssertEqual(ExperimentCatalog.artifact(kind: kind.rawValue)?.kind, kind)
        }
        XCTAssertNil(ExperimentCatalog.artifact(kind: "history"))
    }

    func testWritersStampTheRegisteredKinds() {
        let writers: [(String, ArtifactKind)] = [
            (TrainingMetrics.kind, .trainingMetrics), (EPKArtifact.kind, .epk), (PruneDriver.kind, .prune),
            (SensitivityDriver.kind, .sensitivity), (LDSArtifact.kind, .lds), (LMTrainingMetrics.kind, .lmTraining),
            (StepExplainerDriver.kind, .stepExplainer), (ComponentAttributionDriver.kind, .componentAttribution),
            (SwapAlignedDriver.kind, .swapAligned), (RetrainPipelineDriver.kind, .retrainPipeline),
        ]
        XCTAssertEqual(writers.count, ArtifactKind.allCases.count)
        for (written, kind) in writers { XCTAssertEqual(written, kind.rawValue) }
    }

    func testEachArtifactOwnsItsFiguresAndFigureNamesAreUnique() {
        var names: [String] = []
        for artifact in ExperimentCatalog.artifacts {
            for recipe in artifact.figures {
                XCTAssertEqual(
                    recipe.artifactKind, artifact.kind.rawValue,
                    "figure \(recipe.name) registered under \(artifact.kind)")
                names.append(recipe.name)
            }
        }
        XCTAssertEqual(names.count, Set(names).count, "duplicate figure names: \(names)")
        XCTAssertEqual(FigureRenderer.catalog.count, names.count)
        XCTAssertTrue(
            names.contains("epk-step-error") && names.contains("lds-scores") && names.contains("retrain-accuracy"))
    }
}
