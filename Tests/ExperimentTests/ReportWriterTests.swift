import Artifacts
import EPK
import Foundation
import NN
import TestSupport
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The report's summaries: key-number rows and claim verdicts per artifact kind, on small
/// artifacts written with each driver's documented layout, for a case that holds, one that does not and one the
/// run is too small to decide; plus defensive reading and the report file itself.
final class ReportWriterTests: ReportTestCase {

    // MARK: - prune

    /// Coarse 70/90/97/99 % and fine 97/99/99.9 % pruned: 7 fractions, so the 2/3 rule needs 5. ExPLAIND's agreement
    /// is `explaind` per fraction ± `spread` over the 3 seeds; the other methods are constant.
    private func pruneArtifact(
        _ name: String, explaind: [Double], magnitude: Double, random: Double, heldOut: Int = 84,
        omitFineRandom: Bool = false, spread: Double = 0.005
    ) throws -> String {
        let grids: [(String, [Double])] = [("coarse", [0.70, 0.90, 0.97, 0.99]), ("fine", [0.97, 0.99, 0.999])]
        return try artifact(name, kind: PruneDriver.kind) { root in
            try root.setJSONAttribute("methods", ["explaind", "explaind-module", "magnitude", "random"])
            try root.setAttribute("evaluation_count", heldOut)
            try root.setAttribute("seeds", [1, 2, 3])
            try root.setAttribute("epk_mean_abs_error", 0.433)
            try root.setAttribute("epk_max_abs_error", 1.14)
            try put(root, "unpruned/accuracy", [0.66, 0.67, 0.68], [3])
            var offset = 0
            for (grid, fractions) in grids {
                let G = fractions.count
                try put(root, "\(grid)/fractions", fractions, [G])
                for method in ["explaind", "explaind-module", "magnitude", "random"] {
                    if omitFineRandom && grid == "fine" && method == "random" { continue }
                    // Seeds × fractions; explaind varies over seeds by ±spread around its per-fraction mean.
                    var agreement = [Double](), accuracy = [Double](), kl = [Double]()
                    for s in 0..<3 {
                        for g in 0..<G {
                            switch method {
                            case "explaind": agreement.append(explaind[offset + g] + [-spread, 0, spread][s])
                            case "explaind-module": agreement.append(0.5)
                            case "magnitude": agreement.append(magnitude)
                            default: agreement.append(random)
                            }
                            accuracy.append(method == "explaind" ? 0.7 : 0.6)
                            kl.append(method == "explaind" ? 0.01 : 0.5)
                        }
                    }
                    try put(root, "\(grid)/\(method)/agreement", agreement, [3, G])
                    try put(root, "\(grid)/\(method)/accuracy", accuracy, [3, G])
                    try put(root, "\(grid)/\(method)/kl", kl, [3, G])
                }
                offset += G
            }
        }
    }

    func testPruneRowsAndTheTwoThirdsRule() throws {
        // Comparable to magnitude (95 % lower bound of explaind − magnitude ≥ −0.02) at 5 of 7 fractions, clearly worse
        // (upper bound < −0.02) at 2: holds.
        let holds = try ReportWriter.summarize(
            artifact: pruneArtifact(
                "holds", explaind: [0.96, 0.96, 0.96, 0.96, 0.96, 0.90, 0.90], magnitude: 0.95, random: 0.6))
        XCTAssertEqual(value(holds, "held-out images per seed × seeds"), "84 × 3")
        XCTAssertEqual(value(holds, "unpruned held-out accuracy"), "0.670 ± 0.010")
        XCTAssertEqual(
            value(holds, "explaind at 90.0 % pruned"), "agreement 0.960 ± 0.005 · accuracy 0.700 ± 0.000 · KL 0.01 ± 0")
        XCTAssertEqual(
            value(holds, "explaind at 99.0 % pruned"), "agreement 0.960 ± 0.005 · accuracy 0.700 ± 0.000 · KL 0.01 ± 0")
        XCTAssertEqual(
            value(holds, "magnitude at 97.0 % pruned"), "agreement 0.950 ± 0.000 · accuracy 0.600 ± 0.000 · KL 0.5 ± 0")
        XCTAssertEqual(holds.rows.filter { $0.0.contains("% pruned") }.count, 15, "3 fractions × (4 methods + 1 pair)")
        // Differences 0.01 + (−0.005, 0, 0.005): sd 0.005, half-width t(0.975, 2) · 0.005 / √3 = 4.303 · 0.002887.
        XCTAssertEqual(
            value(holds, "explaind − magnitude at 90.0 % pruned"),
            "agreement +0.010 [-0.002, +0.022] · accuracy +0.100 [+0.100, +0.100] (mean of per-seed differences, 95 % t-interval over 3 seeds)"
        )
        XCTAssertEqual(
            value(holds, "explaind − magnitude agreement, all 7 fractions"),
            "comparable (95 % lower bound ≥ −0.02) at 5, worse (upper bound < −0.02) at 2, inconclusive at 0")
        let c = claim(holds, "ExPLAIND pruning")
        XCTAssertEqual(c.holds, true, c.evidence)
        XCTAssertTrue(
            c.evidence.contains(
                "explaind − magnitude agreement (mean of per-seed differences, 95 % t-interval over 3 seeds): lower bound ≥ −0.02 at 5/7 fractions (needs 5), upper bound < −0.02 at 2, inconclusive at 0"
            ), c.evidence)

        // Comparable at 4 of 7 only, clearly worse at 3: does not hold.
        let fails = try ReportWriter.summarize(
            artifact: pruneArtifact(
                "fails", explaind: [0.96, 0.96, 0.96, 0.96, 0.90, 0.90, 0.90], magnitude: 0.95, random: 0.6))
        XCTAssertEqual(claim(fails, "ExPLAIND pruning").holds, false)
        XCTAssertTrue(claim(fails, "ExPLAIND pruning").evidence.contains("at 4/7 fractions"))
        // Seeds spread ±0.05: every interval straddles −0.02, so the claim is undecided rather than held.
        let wide = try ReportWriter.summarize(
            artifact: pruneArtifact(
                "wide", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.6, spread: 0.05))
        XCTAssertNil(claim(wide, "ExPLAIND pruning").holds)
        XCTAssertTrue(claim(wide, "ExPLAIND pruning").evidence.contains("inconclusive at 7; "))
        XCTAssertTrue(
            claim(wide, "ExPLAIND pruning").evidence.hasSuffix("too wide to decide (more seeds or held-out images)"))
        XCTAssertEqual(
            value(wide, "explaind − magnitude at 97.0 % pruned"),
            "agreement +0.010 [-0.114, +0.134] · accuracy +0.100 [+0.100, +0.100] (mean of per-seed differences, 95 % t-interval over 3 seeds)"
        )
        // Close to magnitude everywhere but less than 0.1 above random (interval +0.06 ± 0.012): does not hold.
        let nearRandom = try ReportWriter.summarize(
            artifact: pruneArtifact("random", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.9))
        XCTAssertEqual(claim(nearRandom, "ExPLAIND pruning").holds, false)
        XCTAssertTrue(claim(nearRandom, "ExPLAIND pruning").evidence.contains("+0.060 [+0.048, +0.072] (needs > 0.1)"))
        // The quick run's 6 held-out images per seed cannot decide.
        let small = try ReportWriter.summarize(
            artifact: pruneArtifact(
                "small", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.6, heldOut: 6))
        XCTAssertNil(claim(small, "ExPLAIND pruning").holds)
        XCTAssertTrue(claim(small, "ExPLAIND pruning").evidence.contains("only 6 held-out images"))
        // A missing dataset leaves the other rows and makes the claim undecided, naming it.
        let partial = try ReportWriter.summarize(
            artifact: pruneArtifact(
                "partial", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.6,
                omitFineRandom: true))
        XCTAssertEqual(
            value(partial, "explaind at 97.0 % pruned"),
            "agreement 0.960 ± 0.005 · accuracy 0.700 ± 0.000 · KL 0.01 ± 0")
        XCTAssertNil(claim(partial, "ExPLAIND pruning").holds)
        XCTAssertTrue(
            claim(partial, "ExPLAIND pruning").evidence.contains("/fine/random/agreement"),
            claim(partial, "ExPLAIND pruning").evidence)
    }

    /// The t quantiles behind the intervals, and an interval needs two seeds.
    func testStudentTIntervals() throws {
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 4), 2.776)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 60), 2.0003, accuracy: 2e-4)
        XCTAssertEqual(StudentT.quantile975(degreesOfFreedom: 1000), 1.9623, accuracy: 2e-4)
        let i = try XCTUnwrap(PairedInterval([0.01, 0.03, 0.02, 0.00, 0.04]))
        // mean 0.02, sd 0.0158114, t(0.975, 4) = 2.776: half-width 0.019630.
        XCTAssertEqual(i.mean, 0.02, accuracy: 1e-12)
        XCTAssertEqual(i.high - i.mean, 2.776 * 0.015811388300841896 / 5.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(i.seeds, 5)
        XCTAssertNil(PairedInterval([0.5]))
    }

    // MARK: - lds

    private func ldsArtifact(
        _ name: String, subsets M: Int, tests n: Int, table: [(String, Double, Double, Double)]
    ) throws -> String {
        try artifact(name, kind: LDSArtifact.kind) { root in
            try root.setJSONAttribute("methods", table.map(\.0))
            try root.setAttribute("subset_size", 4)
            try root.setAttribute("training_count", 8)
            try root.setAttribute("full_model_accuracy", 0.956)
            try root.setAttribute("explaind_reconstruction_error", 0.03)
            try put(root, "subsets/indices", [Int32](repeating: 0, count: M * 4), [M, 4])
            try put(root, "test/indices", (0..<n).map(Int32.init), [n])
            try put(root, "ground_truth/accuracy", [Double](repeating: 0.9, count: M), [M])
            try put(root, "summary/mean", table.map(\.1), [table.count])
            try put(root, "summary/ci_lower", table.map(\.2), [table.count])
            try put(root, "summary/ci_upper", table.map(\.3), [table.count])
            let d = try put(root, "methods/explaind/lds", [Double](repeating: 0.1, count: n), [n])
            try d.setAttribute("undefined", 2)
        }
    }

    func testLDSRowsAndClaims() throws {
        let paper: [(String, Double, Double, Double)] = [
            ("explaind", 0.146, 0.132, 0.161), ("explaind-fc1", 0.177, 0.161, 0.194),
            ("grad-dot", 0.145, 0.124, 0.166), ("grad-cos", 0.136, 0.123, 0.148),
            ("tracin", 0.166, 0.151, 0.181), ("random", -0.005, -0.019, 0.009),
        ]
        let holds = try ReportWriter.summarize(artifact: ldsArtifact("holds", subsets: 100, tests: 200, table: paper))
        XCTAssertEqual(value(holds, "LDS explaind"), "0.146 [0.132, 0.161] (2 undefined)")
        XCTAssertEqual(value(holds, "LDS random"), "-0.005 [-0.019, 0.009]")
        XCTAssertEqual(value(holds, "subsets M × subset size / training samples"), "100 × 4 / 8")
        XCTAssertEqual(value(holds, "full-data / mean subset-model accuracy"), "0.9560 / 0.9000")
        XCTAssertEqual(claim(holds, "ExPLAIND data attribution predicts").holds, true)
        let comparable = claim(holds, "ExPLAIND data attribution is comparable")
        XCTAssertEqual(comparable.holds, true, comparable.evidence)
        XCTAssertTrue(comparable.evidence.contains("best baseline tracin 0.166"), comparable.evidence)

        // ExPLAIND 0.05 [0.00, 0.10]: its interval overlaps random's, and it is more than 0.05 below TracIn.
        var weak = paper
        weak[0] = ("explaind", 0.05, 0.0, 0.10)
        weak[5] = ("random", 0.0, -0.02, 0.02)
        let fails = try ReportWriter.summarize(artifact: ldsArtifact("fails", subsets: 100, tests: 200, table: weak))
        XCTAssertEqual(claim(fails, "ExPLAIND data attribution predicts").holds, false)
        XCTAssertEqual(claim(fails, "ExPLAIND data attribution is comparable").holds, false)
        // 20 subsets (the quick run) decide nothing.
        let small = try ReportWriter.summarize(artifact: ldsArtifact("small", subsets: 20, tests: 50, table: paper))
        XCTAssertNil(claim(small, "ExPLAIND data attribution predicts").holds)
        XCTAssertNil(claim(small, "ExPLAIND data attribution is comparable").holds)
        XCTAssertTrue(
            claim(small, "ExPLAIND data attribution is comparable").evidence.contains("20 subsets × 50 test examples"))
    }

    // MARK: - sensitivity

    /// Float32 midpoint settings 1, 2, 4 (and 8 when `midpointErrors` has four entries) with the given per-step
    /// errors, plus Gauss–Legendre, early-rule and bf16 settings with tiny errors that the order claim must ignore.
    private func sensitivityArtifact(
        _ name: String, midpointErrors: [Double], range: (first: Int, end: Int, total: Int)? = nil
    ) throws -> String {
        let midpoints = [1, 2, 4, 8].prefix(midpointErrors.count).map {
            SensitivityStudy.Setting(rule: .midpoint, points: $0)
        }
        let settings: [SensitivityStudy.Setting] =
            midpoints + [
                .init(rule: .gaussLegendre, points: 2),
                .init(rule: .midpoint, points: 1, earlySteps: 2, earlyPoints: 4),
                .init(rule: .midpoint, points: 2, precision: .bfloat16),
            ]
        let step = midpointErrors + [1e-9, 1e-9, 1e-9]
        return try artifact(name, kind: SensitivityDriver.kind) { root in
            try root.setJSONAttribute("cases", ["tiny"])
            let g = try root.createGroup("cases").createGroup("tiny")
            try g.setAttribute("model", "mlp")
            try g.setAttribute("test_count", 2)
            if let range {
                try g.setAttribute("step_first", range.first)
                try g.setAttribute("step_end", range.end)
                try g.setAttribute("history_steps", range.total)
            }
            try g.setJSONAttribute("settings", settings)
            try g.setJSONAttribute("labels", settings.map(\.label))
            let S = settings.count
            _ = try g.write("step_error", step, shape: [S])
            _ = try g.write("final_error", step.map { $0 * 10 }, shape: [S])
            _ = try g.write("final_max_error", step.map { $0 * 30 }, shape: [S])
            _ = try g.write("agreement", [Double](repeating: 1, count: S), shape: [S])
            _ = try g.write("evaluations_per_step", settings.map { Double($0.points) }, shape: [S])
            _ = try g.write("per_step_error", [Double](repeating: 0, count: S * 5), shape: [S, 5])
        }
    }

    func testSensitivityRowsAndOrderClaim() throws {
        // Errors falling 4× per doubling: slope −2 (the float32 midpoint settings only; the others are outliers).
        let holds = try ReportWriter.summarize(
            artifact: sensitivityArtifact("holds", midpointErrors: [1e-2, 2.5e-3, 6.25e-4, 1.5625e-4]))
        XCTAssertEqual(value(holds, "tiny"), "mlp, 2 test points, 5 steps")
        XCTAssertEqual(
            value(holds, "tiny: midpoint 2"),
            "step error 0.0025 · final error 0.025 (max 0.075) · agreement 1.000 · 2.0 evaluations/step")
        XCTAssertNotNil(holds.rows.first { $0.0 == "tiny: midpoint 2 [bfloat16]" })
        let second = "the per-step replication error falls as O(n⁻²)",
            first = "the per-step replication error falls at least as O(n⁻¹)"
        let c = claim(holds, second)
        XCTAssertEqual(c.holds, true, c.evidence)
        XCTAssertTrue(c.evidence.contains("-2.00 (tiny, points 1, 2, 4, 8)"), c.evidence)
        XCTAssertEqual(claim(holds, first).holds, true)
        // Halving per doubling (the ReLU rate): slope −1, slower than O(n⁻²) but O(n⁻¹).
        let relu = try ReportWriter.summarize(
            artifact: sensitivityArtifact("relu", midpointErrors: [1e-2, 5e-3, 2.5e-3, 1.25e-3]))
        XCTAssertEqual(claim(relu, second).holds, false)
        XCTAssertTrue(claim(relu, second).evidence.contains("-1.00"))
        XCTAssertEqual(claim(relu, first).holds, true, claim(relu, first).evidence)
        XCTAssertTrue(claim(relu, first).evidence.contains("O(n⁻¹) needs ≤ -0.8"), claim(relu, first).evidence)
        // Falling by a quarter per doubling (slope −0.42): neither rate.
        let slow = try ReportWriter.summarize(
            artifact: sensitivityArtifact("slow", midpointErrors: [1e-2, 7.5e-3, 5.625e-3, 4.22e-3]))
        XCTAssertEqual(claim(slow, first).holds, false)
        // 1, 2, 4 midpoints (the quick config) span only 4×: undecided.
        let quick = try ReportWriter.summarize(
            artifact: sensitivityArtifact("quick", midpointErrors: [1e-2, 5e-3, 2.5e-3]))
        XCTAssertNil(claim(quick, second).holds)
        XCTAssertNil(claim(quick, first).holds)
        // A case on steps 479..<484 of a 958-step history: the row and the evidence name the range.
        let ranged = try ReportWriter.summarize(
            artifact: sensitivityArtifact(
                "ranged", midpointErrors: [1e-2, 5e-3, 2.5e-3, 1.25e-3], range: (479, 484, 958)))
        XCTAssertEqual(
            value(ranged, "tiny"),
            "mlp, 2 test points, steps 479..<484 of 958 (5 steps; final error |f(θ_484) − f̂| from f(θ_479))")
        XCTAssertEqual(claim(ranged, first).holds, true)
        XCTAssertTrue(
            claim(ranged, first).evidence.contains("-1.00 (tiny, steps 479..<484, points 1, 2, 4, 8)"),
            claim(ranged, first).evidence)
    }

    // MARK: - step-explainer

    /// A 4-layer LM explainer run with 6 windows; `firstHalfLeader` gets influence 0.5 in windows 0–2, intermediate
    /// attention (L1, L2) 0.02 each there and `lateAttention` each in windows 3–5.
    private func stepExplainerArtifact(
        _ name: String, firstHalfLeader: String, lateAttention: Double, residualScale: Double,
        convergenceFactor: Double
    ) throws -> String {
        var groups = ["embedding", "pos. embedding"]
        for l in 0..<4 { groups += ["L\(l) attn", "L\(l) mlp", "L\(l) norms"] }
        groups += ["final norm", "unembedding"]
        let G = groups.count, W = 6
        var influence = [Double](repeating: 0, count: W * G)
        for w in 0..<W {
            if w < 3 {
                influence[w * G + groups.firstIndex(of: firstHalfLeader)!] = 0.5
            } else {
                influence[w * G + groups.firstIndex(of: "L0 mlp")!] = 0.4
            }
            for a in ["L1 attn", "L2 attn"] {
                influence[w * G + groups.firstIndex(of: a)!] = w < 3 ? 0.02 : lateAttention
            }
        }
        return try artifact(name, kind: StepExplainerDriver.kind) { root in
            try root.setJSONAttribute("groups", groups)
            try root.setAttribute("summary", "TransformerLM (P = 1000), 360 steps")
            let measured = [-1.8, -0.5, -0.2, -0.1, -0.05, -0.04]
            try put(root, "windows/start", (0..<W).map { Double($0 * 60) }, [W])
            try put(root, "windows/end", (0..<W).map { Double($0 * 60 + 60) }, [W])
            try put(root, "windows/measured", measured, [W])
            try put(
                root, "windows/residual",
                measured.enumerated().map { $0.offset == 1 ? 0.02 * abs($0.element) : residualScale * abs($0.element) },
                [W])
            try put(root, "windows/relative_influence", influence, [W, G])
            try put(root, "steps/start", [0.0, 200], [2])
            try put(root, "steps/end", [1.0, 201], [2])
            try put(root, "steps/measured", [-0.01, -0.001], [2])
            try put(root, "steps/residual", [1e-6, 2e-7], [2])
            try put(root, "convergence/points", [1.0, 2, 4, 8], [4])
            let first = 1e-3
            let d = try put(
                root, "convergence/residual", (0..<4).map { first / pow(convergenceFactor, Double($0)) }, [1, 4])
            try d.setJSONAttribute("labels", ["step 10"])
            try put(root, "convergence/measured", [-0.01], [1])
        }
    }

    func testStepExplainerRowsAndClaims() throws {
        let holds = try ReportWriter.summarize(
            artifact: stepExplainerArtifact(
                "holds", firstHalfLeader: "L0 mlp", lateAttention: 0.06,
                residualScale: 0.004, convergenceFactor: 4))
        XCTAssertEqual(
            value(holds, "windows"),
            "6 segments; |Σ s_p − ΔL_E| / |ΔL_E| median 0.004, max 0.02 (steps 60–120); max |residual| 0.01")
        XCTAssertEqual(
            value(holds, "steps"),
            "2 segments; |Σ s_p − ΔL_E| / |ΔL_E| median 0.00015, max 0.0002 (steps 200–201); max |residual| 1e-06")
        XCTAssertEqual(
            value(holds, "convergence, step 10"), "|residual| 0.001 → 1.6e-05 from 1 to 8 midpoints (order -2.00)")
        XCTAssertEqual(
            value(holds, "dominant module, steps 0–180"), "L0 mlp 0.50, then L1 attn 0.02 (mean relative influence)")
        XCTAssertEqual(
            value(holds, "dominant module, steps 180–360"), "L0 mlp 0.40, then L1 attn 0.06 (mean relative influence)")
        XCTAssertEqual(claim(holds, "the step-wise loss decomposition").holds, true)
        XCTAssertEqual(claim(holds, "the decomposition residual").holds, true)
        let phases = claim(holds, "two phases")
        XCTAssertEqual(phases.holds, true, phases.evidence)
        XCTAssertTrue(phases.evidence.contains("intermediate attention 0.040 → 0.120"), phases.evidence)

        // Unembedding first (as in our LM run), residuals of 10 %, residual halving per doubling: nothing holds.
        let fails = try ReportWriter.summarize(
            artifact: stepExplainerArtifact(
                "fails", firstHalfLeader: "unembedding", lateAttention: 0.06,
                residualScale: 0.1, convergenceFactor: 2))
        XCTAssertEqual(claim(fails, "the step-wise loss decomposition").holds, false)
        XCTAssertEqual(claim(fails, "the decomposition residual").holds, false)
        XCTAssertEqual(claim(fails, "two phases").holds, false)
        XCTAssertTrue(claim(fails, "two phases").evidence.contains("dominated by unembedding (0.50)"))
        // Intermediate attention falling: no second phase.
        let flat = try ReportWriter.summarize(
            artifact: stepExplainerArtifact(
                "flat", firstHalfLeader: "L3 mlp", lateAttention: 0.01,
                residualScale: 0.004, convergenceFactor: 4))
        XCTAssertEqual(claim(flat, "two phases").holds, false)
    }

    // MARK: - lm-training, defensive reading, the report file

    func testLMTrainingRows() throws {
        let path = try artifact("lm", kind: LMTrainingMetrics.kind) { root in
            try root.setAttribute("parameter_count", 817_664)
            try root.setAttribute("wall_seconds", 837.0)
            try put(root, "step/loss", (0..<20).map { 4.0 - 0.1 * Double($0) }, [20])
            try put(root, "eval/step", [0.0, 19], [2])
            try put(root, "eval/loss", [4.17, 1.338], [2])
        }
        let s = try ReportWriter.summarize(artifact: path)
        XCTAssertEqual(value(s, "parameters"), "817664")
        XCTAssertEqual(value(s, "batch loss, first → mean of the last 10 steps"), "4.000 → 2.550 nats/char")
        XCTAssertEqual(value(s, "held-out loss, first → last evaluation"), "4.170 (step 0) → 1.338 (step 19) nats/char")
        XCTAssertEqual(value(s, "wall time"), "837.0 s")
        XCTAssertTrue(s.claims.isEmpty)
    }

    /// An artifact holding nothing but its kind: every row says what is missing, every claim is undecided.
    func testEmptyArtifactsGiveMissingRowsNotErrors() throws {
        for kind in [
            PruneDriver.kind, LDSArtifact.kind, SensitivityDriver.kind, ComponentAttributionDriver.kind,
            SwapAlignedDriver.kind,
            RetrainPipelineDriver.kind, StepExplainerDriver.kind, LMTrainingMetrics.kind,
        ] {
            let s = try ReportWriter.summarize(artifact: artifact("empty-" + kind, kind: kind) { _ in })
            XCTAssertFalse(s.rows.isEmpty, kind)
            XCTAssertTrue(s.rows.contains { $0.1.hasPrefix("missing: no ") }, "\(kind): \(s.rows)")
            for c in s.claims {
                XCTAssertNil(c.holds, "\(kind): \(c.statement)"); XCTAssertFalse(c.evidence.isEmpty, c.statement)
            }
            if kind != StepExplainerDriver.kind, let c = s.claims.first {
                XCTAssertTrue(c.evidence.hasPrefix("cannot decide: no "), c.evidence)
            }
        }
        let s = try ReportWriter.summarize(artifact: artifact("empty-swap2", kind: SwapAlignedDriver.kind) { _ in })
        XCTAssertEqual(value(s, "final model validation accuracy"), "missing: no attribute 'final_accuracy' on /")
    }

    /// `report`: every stage listed with its status and "—" for no time, missing artifacts as not run, rows and
    /// claims of the present ones; `reproduce`: times of the stages that ran.
    func testReportFileFromArtifactsAndAfterARun() throws {
        let config = directory + "/prune.json"
        try "{}".write(toFile: config, atomically: true, encoding: .utf8)
        let prune = try pruneArtifact("prune", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.6)
        let pipeline = PipelineConfig(
            name: "test",
            stages: [
                Stage(name: "prune", executable: "prune", config: config, artifact: prune, after: nil, arguments: nil),
                Stage(
                    name: "lds", executable: "lds", config: config, artifact: directory + "/none/lds.h5", after: nil,
                    arguments: nil),
            ])
        let out = directory + "/REPORT.md"
        try ReportWriter.writeFromArtifacts(pipeline: pipeline, to: out)
        var md = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(md.contains("Generated by `report`"))
        XCTAssertTrue(md.contains("| prune | up to date (not re-run) | — |"), md)
        XCTAssertTrue(md.contains("| lds | not run | — |"), md)
        XCTAssertTrue(md.contains("Not run: no artifact at `\(directory!)/none/lds.h5`."), md)
        XCTAssertTrue(
            md.contains(
                "| explaind at 97.0 % pruned | agreement 0.960 ± 0.005 · accuracy 0.700 ± 0.000 · KL 0.01 ± 0 |"), md)
        XCTAssertTrue(
            md.contains(
                "| ExPLAIND pruning is comparable to or better than magnitude pruning and far better than random | prune | holds |"
            ), md)
        XCTAssertTrue(md.contains("Not run (no claims checked): lds."), md)

        // A claim one stage decides is not repeated as undecided from another; alone, the undecided one is listed.
        let partial = try pruneArtifact(
            "partial", explaind: Array(repeating: 0.96, count: 7), magnitude: 0.95, random: 0.6, omitFineRandom: true)
        let partialStage = Stage(
            name: "prune-partial", executable: "prune", config: config, artifact: partial, after: nil, arguments: nil)
        try ReportWriter.writeFromArtifacts(
            pipeline: PipelineConfig(name: "test", stages: pipeline.stages + [partialStage]), to: out)
        md = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(md.contains("| prune | holds |"), md)
        XCTAssertFalse(md.contains("| prune-partial | undecided |"), md)
        try ReportWriter.writeFromArtifacts(pipeline: PipelineConfig(name: "test", stages: [partialStage]), to: out)
        md = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(md.contains("| prune-partial | undecided |"), md)

        try ReportWriter.write(
            pipeline: pipeline, timings: [("prune", .missing, 12.34), ("lds", .upToDate, 0)], to: out)
        md = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(md.contains("Generated by `reproduce`"))
        XCTAssertTrue(md.contains("| prune | ran: artifact missing | 12.3 |"), md)
        XCTAssertTrue(md.contains("| lds | up to date (not re-run) | — |"), md)
    }
}
