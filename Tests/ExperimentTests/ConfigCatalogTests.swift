import Artifacts
import Foundation
import NN
import TestSupport
import XCTest

@testable import ExperimentKit

/// Every JSON file under Configs/ decodes, strictly and validated, as the type its executable reads; a file whose
/// name matches no known kind fails the test, so a new config cannot go unchecked.
final class ConfigCatalogTests: WorkspaceTestCase {
    /// The config type of a file, by its path under Configs/.
    private func load(_ path: String) throws -> Any? {
        let name = (path as NSString).lastPathComponent
        func starts(_ prefixes: String...) -> Bool { prefixes.contains { name.hasPrefix($0) } }
        if path.hasPrefix("Configs/models/") { return try StrictConfig.load(ModelSpec.self, from: path) }
        if starts("pipeline-") { return try StrictConfig.load(PipelineConfig.self, from: path) }
        if name.contains("-epk") { return try StrictConfig.load(EPKConfig.self, from: path) }
        if starts("prune") { return try StrictConfig.load(PruneConfig.self, from: path) }
        if starts("sensitivity") { return try StrictConfig.load(SensitivityConfig.self, from: path) }
        if starts("lds-") { return try StrictConfig.load(LDSConfig.self, from: path) }
        if starts("lm.", "lm-") { return try StrictConfig.load(LMConfig.self, from: path) }
        if starts("step-explainer-") { return try StrictConfig.load(StepExplainerConfig.self, from: path) }
        if starts("component-attribution") { return try StrictConfig.load(ComponentAttributionConfig.self, from: path) }
        if starts("swap-aligned") { return try StrictConfig.load(SwapAlignedConfig.self, from: path) }
        if starts("retrain-pipeline") { return try StrictConfig.load(RetrainPipelineConfig.self, from: path) }
        if starts("modulo", "mnist", "cifar2") { return try StrictConfig.load(TrainConfig.self, from: path) }
        return nil
    }

    func testEveryConfigDecodesAsItsType() throws {
        let files = (FileManager.default.enumerator(atPath: "Configs")?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".json") }.map { "Configs/" + $0 }.sorted()
        XCTAssertGreaterThan(files.count, 30)
        for path in files {
            XCTAssertNoThrow(try XCTUnwrap(try load(path), "\(path): no config type is known for this file name"), path)
        }
    }

    /// An experiment name without a built-in model is an error naming the known ones, never a silent default model.
    func testUnknownOrCustomExperimentHasNoBuiltInModel() throws {
        XCTAssertTrue(try ExperimentModel.make(.cifar2) is ResNet9)
        XCTAssertThrowsError(try ExperimentModel.make("cifar10", source: "h.h5")) { error in
            XCTAssertEqual("\(error)".components(separatedBy: "\n").count, 1)
            XCTAssertTrue(
                "\(error)".contains(
                    "unknown experiment 'cifar10'; expected one of 'modulo', 'mnist', 'cifar2', 'custom'"), "\(error)")
        }
        XCTAssertThrowsError(try ExperimentModel.make(.custom)) { error in
            XCTAssertTrue("\(error)".contains("has no built-in model"), "\(error)")
        }
    }
}
