import Artifacts
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// The stored paper-scale reference under `results/reference` (docs/ARTIFACTS.md, "Reference companions"): every
/// stage of `Configs/pipeline-all.json` names a companion, made from the stage's current config, from which every
/// figure of its kind is drawn and every report row is read.
final class StoredReferenceTests: WorkspaceTestCase {
    /// Stages whose paper-scale run is not stored yet (`results/reference/README.md` gives the command and the expected
    /// time of each). The test fails when this list and the missing companions disagree: every stage is stored now, so
    /// a companion that goes missing fails it.
    static let notYetStored: Set<String> = []

    /// The artifact kind each executable writes.
    static let kinds: [String: ArtifactKind] = [
        "train-modulo": .trainingMetrics, "train-mnist": .trainingMetrics, "train-cifar2": .trainingMetrics,
        "validate-epk": .epk, "prune": .prune, "sensitivity": .sensitivity, "lds": .lds, "train-lm": .lmTraining,
        "step-explainer": .stepExplainer, "component-attribution": .componentAttribution,
        "swap-aligned": .swapAligned, "retrain-pipeline": .retrainPipeline,
    ]

    func testEveryStoredStageDrawsEveryFigureAndReportRowFromItsCompanion() throws {
        let pipeline = try StrictConfig.load(PipelineConfig.self, from: "Configs/pipeline-all.json")
        XCTAssertEqual(pipeline.reference, "results/reference")
        var missing = Set<String>()
        for stage in pipeline.stages {
            guard let reference = stage.reference else {
                XCTFail("stage \(stage.name) names no reference companion")
                continue
            }
            guard FileManager.default.fileExists(atPath: reference) else {
                missing.insert(stage.name)
                continue
            }
            XCTAssertEqual(
                Pipeline.referenceStatus(of: stage), .upToDate,
                "\(reference) is not from the current \(stage.config)")
            let file = try HDF5File(path: reference, mode: .read)
            XCTAssertNoThrow(try Provenance.read(from: try file.root), "\(reference) does not say which code made it")
            file.close()
            let kind = try FigureRenderer.kind(of: reference)
            XCTAssertEqual(kind, Self.kinds[stage.executable]?.rawValue, "\(reference)")
            let drawn = try FigureRenderer.renderAll(artifact: reference, directory: directory + "/" + stage.name)
            XCTAssertFalse(drawn.isEmpty, "\(reference) draws no figure")
            for (name, result) in drawn { XCTAssertNoThrow(try result.get(), "\(reference): \(name)") }
            let summary = try ReportWriter.summarize(artifact: reference)
            XCTAssertFalse(summary.rows.isEmpty, "\(reference) gives no report row")
            for (label, value) in summary.rows {
                XCTAssertFalse(value.hasPrefix("missing"), "\(reference): report row '\(label)': \(value)")
            }
        }
        XCTAssertEqual(missing, Self.notYetStored, "stored references and the notYetStored list disagree")
    }

    /// `report` on the reference writes a report in which every stored stage has numbers and the others say "not run".
    func testTheReportFromTheReferenceHasNumbersForEveryStoredStage() throws {
        let pipeline = try StrictConfig.load(PipelineConfig.self, from: "Configs/pipeline-all.json")
        let path = directory + "/REPORT.md"
        try ReportWriter.writeFromReference(pipeline: pipeline, to: path)
        let report = try String(contentsOfFile: path, encoding: .utf8)
        for stage in pipeline.stages {
            let section =
                report.components(separatedBy: "\n## \(stage.name)\n").dropFirst().first?
                .components(separatedBy: "\n## ").first ?? ""
            if Self.notYetStored.contains(stage.name) {
                XCTAssertTrue(section.contains("Not run"), stage.name)
            } else {
                XCTAssertTrue(section.contains("| quantity | value |"), "\(stage.name) has no numbers in the report")
            }
        }
    }
}
