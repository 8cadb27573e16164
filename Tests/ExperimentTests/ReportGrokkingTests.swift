import Artifacts
import EPK
import Foundation
import NN
import TestSupport
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The report's summaries of the grokking analyses (component attribution, swap-aligned, retrain pipeline): rows and
/// claim verdicts on small artifacts in each driver's documented layout.
final class ReportGrokkingTests: ReportTestCase {
    // MARK: - component-attribution

    private func componentArtifact(
        _ name: String, topFrequencies: [Int], keyPower: Bool = true, linear2Correlation: Double = 0.148
    ) throws -> String {
        let groups = ModuloTransformer.componentGroups.map(\.name)
        let G = groups.count, l2 = groups.firstIndex(of: "linear2")!, I = 3, nv = 200
        return try artifact(name, kind: ComponentAttributionDriver.kind) { root in
            try root.setJSONAttribute("groups", groups)
            try root.setAttribute("step_count", 957)
            try root.setAttribute("snapshot_interval", 400)
            try put(root, "snapshots/start", [0, 400, 800] as [Int32], [I])
            try put(root, "snapshots/end", [400, 800, 957] as [Int32], [I])
            try put(root, "keys/val_sum", (0..<nv).map(Double.init), [nv])
            try put(root, "keys/train_sum", (0..<10).map(Double.init), [10])
            let f = try root.createGroup("fourier")
            try f.setAttribute("key_frequencies", [16, 55, 24, 32, 48])
            try f.setAttribute("decoder_key_frequencies", [55, 16, 24, 3, 32])
            var power = [Double](repeating: 1, count: 56)
            if keyPower { for k in [16, 55, 24, 32, 48] { power[k - 1] = 40 } }
            _ = try f.write("embedding_power", power, shape: [56])
            var total = [Double](repeating: 0.05, count: G); total[l2] = linear2Correlation
            _ = try f.write("total_key_correlation", total, shape: [G])
            var r2 = [Double](repeating: 0.001, count: G * 56)
            for (rank, k) in topFrequencies.enumerated() { r2[l2 * 56 + k - 1] = 0.03 - 0.005 * Double(rank) }
            _ = try f.write("total_frequency_r2", r2, shape: [G, 56])
            var perInterval = [Double](repeating: 0, count: I * G)
            for (i, v) in [0.123, 0.218, 0.204].enumerated() { perInterval[i * G + l2] = v }
            _ = try f.write("key_correlation", perInterval, shape: [I, G])
            try put(root, "replication/mean_step_error", [1e-4, 2.7e-4, 1e-6], [I])
            try put(root, "balance/kernel_l1", [Double](repeating: 2, count: I * G), [I, G])
            try put(root, "balance/reg_l1", [Double](repeating: 1, count: I * G), [I, G])
        }
    }

    func testComponentAttributionRowsAndKeyFrequencyClaim() throws {
        let holds = try ReportWriter.summarize(artifact: componentArtifact("holds", topFrequencies: [55, 24, 43]))
        XCTAssertEqual(
            value(holds, "key frequencies (final embedding)"), "16, 55, 24, 32, 48 (79.7 % of its Fourier power)")
        XCTAssertEqual(
            value(holds, "linear2 best-fitting frequencies, whole history (R²)"), "55 (0.030), 24 (0.025), 43 (0.020)")
        XCTAssertEqual(
            value(holds, "linear2 key-frequency correlation per interval"),
            "0.123 (steps 0–400) → 0.204 (steps 800–957); max 0.218 (steps 400–800)")
        XCTAssertEqual(
            value(holds, "points and intervals"),
            "200 validation + 10 training points; 3 intervals of 400 steps (T = 957)")
        XCTAssertTrue(value(holds, "whole-history key-frequency correlation by group").contains("linear2 0.148"))
        XCTAssertEqual(value(holds, "kernel / regularisation L1 (model), first → last interval"), "2 → 2")
        let c = claim(holds, "the linear2 attribution similarity")
        XCTAssertEqual(c.holds, true, c.evidence)
        // Only one of the three best-fitting frequencies is a key frequency.
        let fails = try ReportWriter.summarize(artifact: componentArtifact("fails", topFrequencies: [43, 44, 24]))
        XCTAssertEqual(claim(fails, "the linear2 attribution similarity").holds, false)
        // Weak correlation with the key-frequency reference.
        let weak = try ReportWriter.summarize(
            artifact: componentArtifact("weak", topFrequencies: [55, 24, 43], linear2Correlation: 0.05))
        XCTAssertEqual(claim(weak, "the linear2 attribution similarity").holds, false)
        // No Fourier circuit (flat embedding spectrum, 5/56 of the power): undecided.
        let flat = try ReportWriter.summarize(
            artifact: componentArtifact("flat", topFrequencies: [55, 24, 43], keyPower: false))
        XCTAssertNil(claim(flat, "the linear2 attribution similarity").holds)
        XCTAssertTrue(claim(flat, "the linear2 attribution similarity").evidence.contains("8.9 %"))
    }

    // MARK: - swap-aligned

    /// Steps 0, 10, …, 950; accuracy jumps from 0.01 to 1 at `splicedFrom` (Emb.+Lin2+Dec.) and `stepFrom` (step-i).
    private func swapArtifact(_ name: String, splicedFrom: Int, stepFrom: Int, final: Double = 1) throws -> String {
        let steps = Array(stride(from: 0, to: 960, by: 10)), S = steps.count
        let variants = ParameterSurgery.swapKeepLists().map(\.label)
        return try artifact(name, kind: SwapAlignedDriver.kind) { root in
            try root.setJSONAttribute("variants", variants)
            try root.setAttribute("final_accuracy", final)
            try root.setAttribute("step_count", 957)
            _ = try root.write("steps", steps.map(Int32.init), shape: [S])
            _ = try root.write("step_accuracy", steps.map { $0 >= stepFrom ? 1.0 : 0.01 }, shape: [S])
            var spliced: [Double] = []
            for v in variants.indices { spliced += steps.map { $0 >= (v == 0 ? splicedFrom : 900) ? 1.0 : 0.02 } }
            _ = try root.write("spliced_accuracy", spliced, shape: [variants.count, S])
        }
    }

    func testSwapAlignedRowsAndClaims() throws {
        // The outer layers make an earlier pipeline usable at step 600, the model itself gets there at 800.
        let holds = try ReportWriter.summarize(artifact: swapArtifact("holds", splicedFrom: 600, stepFrom: 800))
        XCTAssertEqual(value(holds, "step-i model reaches 90 %"), "at step 800")
        XCTAssertEqual(value(holds, "steps i"), "96 steps, 0 … 950")
        XCTAssertEqual(
            value(holds, "kept from final: Emb.+Lin2+Dec."),
            "90 % from step 600; largest gain over the step-i model +0.990 at step 600 (1.000 vs 0.010); 0.020 at step 0"
        )
        XCTAssertEqual(claim(holds, "swapping in the final outer layers").holds, true)
        XCTAssertEqual(claim(holds, "final outer layers around an earlier pipeline").holds, true)
        // Spliced recovers only after the model itself (as in our paper-scale run): the second claim fails.
        let late = try ReportWriter.summarize(artifact: swapArtifact("late", splicedFrom: 850, stepFrom: 800))
        XCTAssertEqual(claim(late, "swapping in the final outer layers").holds, true)
        let usable = claim(late, "final outer layers around an earlier pipeline")
        XCTAssertEqual(usable.holds, false)
        XCTAssertTrue(
            usable.evidence.contains(
                "Emb.+Lin2+Dec. reaches 90 % at step 850; the step-i model reaches 90 % at step 800"), usable.evidence)
        // Spliced accurate from the start: not "only late".
        let early = try ReportWriter.summarize(artifact: swapArtifact("early", splicedFrom: 0, stepFrom: 800))
        XCTAssertEqual(claim(early, "swapping in the final outer layers").holds, false)
        // A run that did not grok decides nothing.
        let quick = try ReportWriter.summarize(
            artifact: swapArtifact("quick", splicedFrom: 600, stepFrom: 800, final: 0.3))
        XCTAssertNil(claim(quick, "swapping in the final outer layers").holds)
        XCTAssertNil(claim(quick, "final outer layers around an earlier pipeline").holds)
    }

    // MARK: - retrain-pipeline

    /// Configurations att.+lin1, emb.+lin2+dec., att.; start steps 937 and 537; 2 seeds; accuracy ramps linearly
    /// from 0.01 to the given final value per (configuration, start step).
    private func retrainArtifact(
        _ name: String, attLin1: (late: Double, early: Double), epochs E: Int = 150
    ) throws -> String {
        let configurations = ParameterSurgery.retrainConfigurations.map(\.label)
        let G = configurations.count, S = 2, R = 2
        var val = [Double](), train = [Double]()
        for g in 0..<G {
            for s in 0..<S {
                let target = g == 0 ? (s == 0 ? attLin1.late : attLin1.early) : 0.003
                for seed in 0..<R {
                    let end = target + (seed == 0 ? -0.001 : 0.001)
                    val += (0...E).map { 0.01 + (end - 0.01) * Double($0) / Double(E) }
                    train += [Double](repeating: 1, count: E + 1)
                }
            }
        }
        return try artifact(name, kind: RetrainPipelineDriver.kind) { root in
            try root.setJSONAttribute("configurations", configurations)
            try root.setAttribute("max_epochs", E)
            _ = try root.write("start_steps", [937, 537] as [Int32], shape: [S])
            _ = try root.write("seeds", [0, 1] as [Int32], shape: [R])
            _ = try root.write("validation_accuracy", val, shape: [G, S, R, E + 1])
            _ = try root.write("train_accuracy", train, shape: [G, S, R, E + 1])
            _ = try root.write("epochs_trained", [Int32](repeating: Int32(E), count: G * S * R), shape: [G, S, R])
        }
    }

    func testRetrainPipelineRowsAndAlignmentClaim() throws {
        let holds = try ReportWriter.summarize(artifact: retrainArtifact("holds", attLin1: (1.0, 0.3)))
        XCTAssertEqual(value(holds, "grid"), "2 start steps × 2 seeds, ≤ 150 epochs")
        XCTAssertEqual(
            value(holds, "att.+lin1 re-initialised, from step 937"),
            "validation 0.010 → 1.000 ± 0.001 (train 1.000 ± 0.000); epochs 150, 150 (cap 150)")
        XCTAssertEqual(
            value(holds, "att.+lin1 re-initialised, from step 537"),
            "validation 0.010 → 0.300 ± 0.001 (train 1.000 ± 0.000); epochs 150, 150 (cap 150)")
        let c = claim(holds, "the outer layers")
        XCTAssertEqual(c.holds, true, c.evidence)
        XCTAssertTrue(c.evidence.contains("re-learned to 1.000 from step 937, 0.300 from step 537"), c.evidence)
        XCTAssertTrue(c.evidence.contains("control emb.+lin2+dec. from step 937: 0.003"), c.evidence)
        // The early start step re-learns too: no late alignment.
        XCTAssertEqual(
            claim(
                try ReportWriter.summarize(artifact: retrainArtifact("fails", attLin1: (1.0, 0.95))), "the outer layers"
            ).holds, false)
        // Neither re-learns.
        XCTAssertEqual(
            claim(
                try ReportWriter.summarize(artifact: retrainArtifact("none", attLin1: (0.6, 0.3))), "the outer layers"
            ).holds, false)
        // 4 epochs (the quick config) decide nothing.
        XCTAssertNil(
            claim(
                try ReportWriter.summarize(artifact: retrainArtifact("quick", attLin1: (1.0, 0.3), epochs: 4)),
                "the outer layers"
            ).holds)
    }
}
