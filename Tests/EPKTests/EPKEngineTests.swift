import History
import NN
import Tensor
import XCTest

@testable import EPK

final class EPKEngineTests: XCTestCase {
    /// Reverse accumulation (default engine) and the forward per-sample-buffer reference agree.
    func testReverseAccumulationMatchesForwardReference() throws {
        for kind in ["sgd", "sgd-dampened", "sgd-no-momentum", "adamw"] {
            let problem = TinyProblem.make(kind)
            let q = QuadratureConfig(rule: .gaussLegendre, points: 3)
            let fast = try problem.engine(q).run(testInputs: problem.tests, testLabels: nil)
            let reference = try EPKReference.run(
                model: problem.model, history: problem.history, data: problem.data,
                testInputs: problem.tests, quadrature: q,
                groups: [
                    ComponentGroup(name: "fc1", components: ["fc1.weight"]),
                    ComponentGroup(name: "fc2", components: ["fc2.weight"]),
                ])
            for g in 0..<2 {
                let a = fast.dataAttribution[g].values.map(Double.init),
                    b = reference.dataAttribution[g].values.map(Double.init)
                let rel =
                    zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                    / b.map { $0 * $0 }.reduce(0, +).squareRoot()
                XCTAssertLessThan(rel, 1e-5, "\(kind) group \(g): data attribution differs from the reference")
            }
            // Component attributions: kernel (via Δθ) and the reference's kernel (via buffers), and the reg terms.
            XCTAssertLessThan(maxAbsDifference(fast.kernelByComponent, reference.kernelByComponent), 1e-5, kind)
            XCTAssertLessThan(
                maxAbsDifference(fast.regularizationByComponent, reference.regularizationByComponent), 1e-6, kind)
        }
    }

    /// Σ components = Σ training samples = kernel part of f(θ_T) − f(θ₀), and the reconstruction matches the model.
    /// Dampened SGD and SGD without momentum (where PyTorch ignores dampening) weight each step's samples differently.
    func testComponentSumsEqualDataSumsAndReconstructTheModel() throws {
        for kind in ["sgd", "sgd-dampened", "sgd-no-momentum", "adamw"] {
            let problem = TinyProblem.make(kind)
            let result = try problem.engine(QuadratureConfig(rule: .gaussLegendre, points: 4)).run(
                testInputs: problem.tests, testLabels: nil)
            let K = result.componentCount
            let componentSums = (0..<result.rowCount).map { r in
                (0..<K).map { result.kernelByComponent[r * K + $0] }.reduce(0, +)
            }
            let dataSums = result.dataAttributionRowSums
            XCTAssertLessThan(maxAbsDifference(componentSums, dataSums), 2e-5, "\(kind): Σ components ≠ Σ samples")
            let regSums = (0..<result.rowCount).map { r in
                (0..<K).map { result.regularizationByComponent[r * K + $0] }.reduce(0, +)
            }
            let kernelPartOfChange = zip(result.finalRows, result.rowClasses.indices).map { final, r in
                final
                    - Double(
                        result.initialOutputs[(r / result.classesPerTest) * result.classCount + result.rowClasses[r]])
                    - regSums[r]
            }
            XCTAssertLessThan(
                maxAbsDifference(dataSums, kernelPartOfChange), 1e-4,
                "\(kind): Σ samples ≠ kernel part of f(θ_T) − f(θ₀)")
            XCTAssertLessThan(maxAbsDifference(result.predictedRows, result.finalRows), 1e-4, kind)
        }
    }

    /// Midpoint error falls as O(n⁻²): about 4× per doubling of the points (1, 2, 4, 8); Gauss–Legendre with
    /// 2 points beats the midpoint rule with 8.
    func testQuadratureErrorConvergence() throws {
        for kind in ["sgd", "adamw"] {
            let problem = TinyProblem.make(kind)
            func error(_ rule: QuadratureRule, _ n: Int) throws -> Double {
                let r = try problem.engine(QuadratureConfig(rule: rule, points: n), dataAttribution: false)
                    .run(testInputs: problem.tests, testLabels: nil)
                return maxAbsDifference(r.predictedRows, r.finalRows)
            }
            let midpoint = try [1, 2, 4, 8].map { try error(.midpoint, $0) }
            for i in 1..<midpoint.count {
                let ratio = midpoint[i - 1] / midpoint[i]
                XCTAssertGreaterThan(ratio, 2.8, "\(kind) midpoint \(midpoint)")
                XCTAssertLessThan(ratio, 5.5, "\(kind) midpoint \(midpoint)")
            }
            XCTAssertLessThan(try error(.gaussLegendre, 2), midpoint[3], "\(kind): GL-2 should beat midpoint-8")
        }
    }

    /// With the scatter-by-dataset-index rule, permuting the batch order within a step changes nothing (docs/METHOD.md §6).
    func testBatchOrderWithinAStepDoesNotChangeDataAttribution() throws {
        let problem = TinyProblem.make("adamw")
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let base = try problem.engine(q).run(testInputs: problem.tests, testLabels: nil)
        let h = problem.history
        let permuted = InMemoryHistory(
            layout: h.layout, trainingCount: h.trainingCount, optimizer: h.optimizer,
            activeComponents: h.activeComponents, initialParameters: h.checkpoints[0])
        for t in 0..<h.stepCount {
            permuted.record(
                parameters: h.checkpoints[t + 1], learningRate: h.learningRates[t], weightDecay: h.weightDecays[t],
                indices: h.batches[t].reversed(), flips: nil, optimizerQuantity: h.quantities[t])
        }
        let other = try EPKEngine(
            model: problem.model, history: permuted, data: problem.data,
            options: EPKOptions(
                quadrature: q,
                dataAttributionGroups: [
                    ComponentGroup(name: "fc1", components: ["fc1.weight"]),
                    ComponentGroup(name: "fc2", components: ["fc2.weight"]),
                ])
        )
        .run(testInputs: problem.tests, testLabels: nil)
        for g in 0..<2 {
            XCTAssertLessThan(
                maxAbsDifference(
                    base.dataAttribution[g].values.map(Double.init), other.dataAttribution[g].values.map(Double.init)),
                1e-6)
        }
    }

    /// Chunking test points under a tiny memory budget changes nothing; target-class rows equal the all-class rows.
    /// The basis gradients of materialised rows are dropped when they would force more chunks.
    func testChunkingAndClassSelectionAreConsistent() throws {
        let problem = TinyProblem.make("sgd")
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let whole = try problem.engine(q).run(testInputs: problem.tests, testLabels: nil)
        let tiny = try problem.engine(q, budget: 1)
        XCTAssertEqual(try tiny.memoryPlan(testCount: 3).testChunk, 1)
        XCTAssertEqual(
            try tiny.memoryPlan(testCount: 3).basisRowsPerTest, 2,
            "one test per chunk either way: the basis costs no chunk")
        let chunked = try tiny.run(testInputs: problem.tests, testLabels: nil)
        // Chunks change the GEMM shapes, so OpenBLAS may sum in another order: equal to float rounding, not bitwise.
        XCTAssertEqual(whole.kernelByComponent.count, chunked.kernelByComponent.count)
        for (x, y) in zip(whole.kernelByComponent, chunked.kernelByComponent) {
            XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(x)))
        }
        XCTAssertEqual(whole.dataAttribution[1].values.count, chunked.dataAttribution[1].values.count)
        for (x, y) in zip(whole.dataAttribution[1].values, chunked.dataAttribution[1].values) {
            XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(x)))
        }
        let labels = [2, 0, 1]
        let target = try problem.engine(q, classes: .target).run(testInputs: problem.tests, testLabels: labels)
        let K = whole.componentCount
        for a in 0..<3 {
            for k in 0..<K {
                // All-class rows go through the softmax basis (float combinations), target rows do not.
                XCTAssertEqual(
                    target.kernelByComponent[a * K + k], whole.kernelByComponent[(a * 3 + labels[a]) * K + k],
                    accuracy: 1e-6)
            }
        }
        // With target classes the focus class is the label, so the per-step kernel parts at the focus sum over the
        // steps to the kernel total of that row.
        let steps = target.steps.count
        for a in 0..<3 {
            for k in 0..<K {
                let summed = (0..<steps).map { Double(target.stepKernelFocus[($0 * 3 + a) * K + k]) }.reduce(0, +)
                XCTAssertEqual(summed, target.kernelByComponent[a * K + k], accuracy: 1e-5 * max(1, abs(summed)))
            }
        }
    }

    /// A budget that holds every test point's Q but not its features: the plan keeps one chunk and forms φ a block of
    /// test points at a time, folded into Q, instead of recomputing the training per-sample gradients per chunk. The
    /// results equal the unconstrained run to float rounding, with refinement and parameter attribution too.
    func testStreamedFeaturesKeepOneChunkAndEqualTheWholeRun() throws {
        let problem = TinyProblem.make("adamw")
        let q = QuadratureConfig(
            rule: .gaussLegendre, points: 2, refine: QuadratureRefinement(tolerance: 1e-12, maxPoints: 6))
        let pa = ParameterAttributionOptions(components: ["fc1.weight", "fc2.weight"], snapshotInterval: 5)
        var found: (budget: Int, plan: EPKEngine.MemoryPlan)?
        for budget in stride(from: 256, to: 1 << 20, by: 16) {
            let plan = try problem.engine(q, budget: budget, parameterAttribution: pa).memoryPlan(testCount: 3)
            if plan.testChunk == 3 && plan.featureBlock < 3 { found = (budget, plan); break }
        }
        let (budget, plan) = try XCTUnwrap(found, "no budget streams the features")
        XCTAssertGreaterThanOrEqual(plan.featureBlock, 1)
        XCTAssertTrue(
            plan.description.contains("features formed \(plan.featureBlock) test points at a time"), plan.description)
        // Without streaming the same budget would split the test points.
        let perTest = plan.bytesPerTestPoint
        XCTAssertLessThan((budget - plan.fixedBytes) / perTest, 3)

        let whole = try problem.engine(q, parameterAttribution: pa).run(testInputs: problem.tests, testLabels: nil)
        let streamed = try problem.engine(q, budget: budget, parameterAttribution: pa).run(
            testInputs: problem.tests, testLabels: nil)
        XCTAssertEqual(streamed.stepPoints, whole.stepPoints)
        let scale = max(1, whole.kernelByComponent.map(abs).max() ?? 1)
        XCTAssertLessThan(maxAbsDifference(whole.kernelByComponent, streamed.kernelByComponent) / scale, 1e-6)
        XCTAssertLessThan(
            maxAbsDifference(whole.regularizationByComponent, streamed.regularizationByComponent) / scale, 1e-6)
        for g in 0..<2 {
            let a = whole.dataAttribution[g].values.map(Double.init),
                b = streamed.dataAttribution[g].values.map(Double.init)
            XCTAssertLessThan(maxAbsDifference(a, b) / max(1e-12, a.map(abs).max()!), 1e-5)
        }
        let pw = try XCTUnwrap(whole.parameterAttribution), ps = try XCTUnwrap(streamed.parameterAttribution)
        XCTAssertLessThan(maxAbsDifference(pw.kernelTotal.map(Double.init), ps.kernelTotal.map(Double.init)), 1e-6)
        XCTAssertLessThan(
            maxAbsDifference(pw.kernelSnapshots.map(Double.init), ps.kernelSnapshots.map(Double.init)), 1e-6)
    }

    /// Thin score products (pieces over the parameters, each component once) and fat ones (one product per group
    /// and component) give the same data attribution, and a group of two components is the sum of their groups.
    func testThinAndFatScoreProductsAgree() throws {
        let problem = TinyProblem.make("sgd")
        let groups = [
            ComponentGroup(name: "fc1", components: ["fc1.weight"]),
            ComponentGroup(name: "fc2", components: ["fc2.weight"]),
            ComponentGroup(name: "model", components: ["fc1.weight", "fc2.weight"]),
        ]
        let options = EPKOptions(
            quadrature: QuadratureConfig(rule: .gaussLegendre, points: 2), dataAttributionGroups: groups)
        let thin = try EPKEngine(model: problem.model, history: problem.history, data: problem.data, options: options)
        let fat = try EPKEngine(model: problem.model, history: problem.history, data: problem.data, options: options)
        fat.thinScoreWidth = 0
        let a = try thin.run(testInputs: problem.tests, testLabels: nil),
            b = try fat.run(testInputs: problem.tests, testLabels: nil)
        let scale = a.dataAttribution[2].values.map { Double(abs($0)) }.max()!
        XCTAssertGreaterThan(scale, 0)
        for g in 0..<3 {
            XCTAssertLessThan(
                maxAbsDifference(
                    a.dataAttribution[g].values.map(Double.init), b.dataAttribution[g].values.map(Double.init)) / scale,
                1e-6)
        }
        let sum = zip(a.dataAttribution[0].values, a.dataAttribution[1].values).map { Double($0) + Double($1) }
        XCTAssertLessThan(maxAbsDifference(sum, a.dataAttribution[2].values.map(Double.init)) / scale, 1e-6)
    }

    /// Scoring the training samples inside the backward pass, every convolution projecting its per-sample gradients
    /// onto the rows of Q (ResNet-9's path), equals the forward reference with per-sample buffers and the whole-row
    /// products, with projection blocks of the whole batch and of 2 samples; the "model" group is the sum of the layers.
    func testProjectedTrainingGradientsMatchTheReference() throws {
        var rng = RNG(seed: 41)
        let model = ResNet9(.init(widths: [4, 8, 16, 8], inputChannels: 3, inputSize: 16, classCount: 2))
        let data = TinyData(count: 10, sampleShape: [3, 16, 16], classes: 2, rng: &rng)
        let history = trainTiny(
            model: model, data: data, optimizer: .sgd(momentum: 0.9, dampening: 0, weightDecay: 5e-3), steps: 4,
            batch: 5, schedule: { _ in 0.05 }, seed: 42)
        var tests = Tensor(shape: [2, 3, 16, 16])
        tests.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        let groups = ResNet9.componentGroups.map { ComponentGroup(name: $0.name, components: $0.components) }
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let largest = model.layout.components.map(\.count).max()!
        func run(projecting: Bool, budget: Int) throws -> (EPKResult, EPKEngine.MemoryPlan) {
            let engine = try EPKEngine(
                model: model, history: history, data: data,
                options: EPKOptions(quadrature: q, dataAttributionGroups: groups, memoryBudgetBytes: budget))
            engine.projectsTrainingGradients = projecting
            return (try engine.run(testInputs: tests, testLabels: nil), try engine.memoryPlan(testCount: 2))
        }
        let (whole, wholePlan) = try run(projecting: false, budget: 1 << 30)
        let (projected, projectedPlan) = try run(projecting: true, budget: 1 << 30)
        let (blocks, blocksPlan) = try run(projecting: true, budget: 4 * 2 * largest * 4)
        XCTAssertFalse(wholePlan.projected)
        XCTAssertTrue(projectedPlan.projected && blocksPlan.projected)
        XCTAssertEqual(projectedPlan.trainChunk, 5)
        XCTAssertEqual(blocksPlan.trainChunk, 2)
        let reference = try EPKReference.run(
            model: model, history: history, data: data, testInputs: tests, quadrature: q, groups: groups)
        let scale = reference.dataAttribution.last!.values.map { Double(abs($0)) }.max()!
        XCTAssertGreaterThan(scale, 0)
        for g in groups.indices {
            let truth = reference.dataAttribution[g].values.map(Double.init)
            for (name, result) in [("whole rows", whole), ("projected", projected), ("blocks of 2", blocks)] {
                let error = maxAbsDifference(result.dataAttribution[g].values.map(Double.init), truth) / scale
                XCTAssertLessThan(error, 1e-4, "\(name), group \(groups[g].name)")
            }
        }
        var layers = [Double](repeating: 0, count: projected.dataAttribution[0].values.count)
        for g in 0..<(groups.count - 1) {
            for (i, v) in projected.dataAttribution[g].values.enumerated() { layers[i] += Double(v) }
        }
        XCTAssertLessThan(
            maxAbsDifference(layers, projected.dataAttribution.last!.values.map(Double.init)) / scale, 1e-5)
    }

    /// Parameter attribution sums to the component attribution; snapshots partition the total.
    func testParameterAttributionSumsToComponents() throws {
        let problem = TinyProblem.make("adamw")
        let options = ParameterAttributionOptions(components: ["fc1.weight", "fc2.weight"], snapshotInterval: 5)
        let result = try problem.engine(
            QuadratureConfig(rule: .gaussLegendre, points: 2), parameterAttribution: options
        )
        .run(testInputs: problem.tests, testLabels: nil)
        let pa = try XCTUnwrap(result.parameterAttribution)
        XCTAssertEqual(pa.snapshotSteps, [0, 5, 10])
        let K = result.componentCount, S = result.classesPerTest, Pg = pa.parameterCount
        for a in 0..<result.testCount {
            let kernel = (0..<S).map { s in (0..<K).map { result.kernelByComponent[(a * S + s) * K + $0] }.reduce(0, +)
            }.reduce(0, +)
            let fromParameters = (0..<Pg).map { Double(pa.kernelTotal[a * Pg + $0]) }.reduce(0, +)
            XCTAssertEqual(kernel, fromParameters, accuracy: 1e-5)
            for p in 0..<Pg {
                let snapshots = (0..<3).map { pa.kernelSnapshots[($0 * result.testCount + a) * Pg + p] }.reduce(0, +)
                XCTAssertEqual(snapshots, pa.kernelTotal[a * Pg + p], accuracy: 1e-6)
            }
        }
    }

    /// All-class rows through the rank-(C−1) softmax basis equal the direct one-row-per-class backward passes,
    /// for the validation dot products, the materialised features (data and parameter attribution) and C = 2, 3, 5.
    func testSoftmaxBasisMatchesDirectRows() throws {
        for (kind, classes) in [("sgd", 2), ("adamw", 3), ("adamw", 5)] {
            let problem = TinyProblem.make(kind, classes: classes)
            let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
            for dataAttribution in [false, true] {
                let basis = try problem.engine(
                    q, dataAttribution: dataAttribution,
                    parameterAttribution: ParameterAttributionOptions(components: ["fc2.weight"]))
                let direct = try problem.engine(
                    q, dataAttribution: dataAttribution,
                    parameterAttribution: ParameterAttributionOptions(components: ["fc2.weight"]))
                XCTAssertTrue(basis.usesSoftmaxBasis(classesPerTest: classes))
                XCTAssertEqual(try basis.memoryPlan(testCount: 3).basisRowsPerTest, classes - 1)
                direct.softmaxBasisEnabled = false
                let a = try basis.run(testInputs: problem.tests, testLabels: nil)
                let b = try direct.run(testInputs: problem.tests, testLabels: nil)
                let scale = b.kernelByComponent.map(abs).max() ?? 1
                let label = "\(kind) C=\(classes) data attribution \(dataAttribution)"
                XCTAssertLessThan(maxAbsDifference(a.kernelByComponent, b.kernelByComponent) / scale, 1e-5, label)
                XCTAssertLessThan(
                    maxAbsDifference(a.regularizationByComponent, b.regularizationByComponent) / scale, 1e-5, label)
                let pa = try XCTUnwrap(a.parameterAttribution), pb = try XCTUnwrap(b.parameterAttribution)
                XCTAssertLessThan(
                    maxAbsDifference(pa.kernelTotal.map(Double.init), pb.kernelTotal.map(Double.init)) / scale, 1e-5,
                    label)
                for g in a.dataAttribution.indices {
                    XCTAssertLessThan(
                        maxAbsDifference(
                            a.dataAttribution[g].values.map(Double.init),
                            b.dataAttribution[g].values.map(Double.init)) / scale, 1e-5, label)
                }
                XCTAssertLessThan(maxAbsDifference(a.predictedRows, a.finalRows), 1e-4, label)
            }
        }
    }

    /// Refinement with a tolerance every integral exceeds, stopped at 3n points, equals the fixed 3n-point rule:
    /// nested midpoints (only the 2n new nodes evaluated) and Gauss–Legendre (the 3n rule evaluated in full), on
    /// the dot-product path and the materialised-feature path with data attribution.
    func testRefinementToTheTripledRuleEqualsThatRule() throws {
        for (kind, rule) in [("sgd", QuadratureRule.midpoint), ("adamw", .gaussLegendre)] {
            let problem = TinyProblem.make(kind)
            for dataAttribution in [false, true] {
                let refined = try problem.engine(
                    QuadratureConfig(
                        rule: rule, points: 2, refine: QuadratureRefinement(tolerance: 1e-12, maxPoints: 6)),
                    dataAttribution: dataAttribution
                ).run(testInputs: problem.tests, testLabels: nil)
                let fixed = try problem.engine(
                    QuadratureConfig(rule: rule, points: 6), dataAttribution: dataAttribution
                )
                .run(testInputs: problem.tests, testLabels: nil)
                let label = "\(kind) \(rule) data attribution \(dataAttribution)"
                // Step 0 has learning rate 0 (triangular schedule): Δθ = 0, residual 0, nothing to refine.
                XCTAssertEqual(
                    refined.stepPoints, [Int32](repeating: 2, count: 3) + [Int32](repeating: 6, count: 11 * 3), label)
                XCTAssertTrue(fixed.stepPoints.isEmpty, "points are recorded only under refinement: " + label)
                let scale = fixed.kernelByComponent.map(abs).max() ?? 1
                XCTAssertLessThan(
                    maxAbsDifference(refined.kernelByComponent, fixed.kernelByComponent) / scale, 1e-5, label)
                XCTAssertLessThan(
                    maxAbsDifference(refined.regularizationByComponent, fixed.regularizationByComponent) / scale, 1e-5,
                    label)
                for g in fixed.dataAttribution.indices {
                    XCTAssertLessThan(
                        maxAbsDifference(
                            refined.dataAttribution[g].values.map(Double.init),
                            fixed.dataAttribution[g].values.map(Double.init)) / scale, 1e-5, label)
                }
            }
        }
    }

    /// Refinement goes exactly where a step's residual exceeds the tolerance, lowers the reconstruction error,
    /// and keeps Σ components = Σ training samples.
    func testRefinementFollowsTheResidual() throws {
        let problem = TinyProblem.make("sgd")
        let base = QuadratureConfig(rule: .midpoint, points: 1)
        let coarse = try problem.engine(base).run(testInputs: problem.tests, testLabels: nil)
        let S = coarse.classesPerTest, n = coarse.testCount
        // Residual of each (step, test point): the largest |predicted − truth| over its rows.
        let residuals = (0..<(12 * n)).map { i in
            (0..<S).map { s in abs(Double(coarse.stepPredicted[i * S + s]) - Double(coarse.stepTruth[i * S + s])) }
                .max()!
        }
        let sorted = residuals.sorted()
        let tolerance = (sorted[residuals.count / 2] + sorted[residuals.count / 2 + 1]) / 2
        var options = base
        options.refine = QuadratureRefinement(tolerance: tolerance, maxPoints: 27)
        let refined = try problem.engine(options).run(testInputs: problem.tests, testLabels: nil)
        for (i, r) in residuals.enumerated() {
            XCTAssertEqual(refined.stepPoints[i] > 1, r > tolerance, "pair \(i): residual \(r), tolerance \(tolerance)")
        }
        XCTAssertTrue(
            refined.stepPoints.contains(27) || refined.stepPoints.contains(9) || refined.stepPoints.contains(3))
        // Every refined integral ends within the tolerance or at max_points.
        for i in 0..<(12 * n) where refined.stepPoints[i] < 27 {
            let r = (0..<S).map { s in
                abs(Double(refined.stepPredicted[i * S + s]) - Double(refined.stepTruth[i * S + s]))
            }.max()!
            XCTAssertLessThanOrEqual(r, tolerance * 1.001, "pair \(i) stopped at \(refined.stepPoints[i]) points")
        }
        let before = maxAbsDifference(coarse.predictedRows, coarse.finalRows)
        let after = maxAbsDifference(refined.predictedRows, refined.finalRows)
        XCTAssertLessThan(after, before / 3, "refinement should cut the reconstruction error")
        let K = refined.componentCount
        let componentSums = (0..<refined.rowCount).map { r in
            (0..<K).map { refined.kernelByComponent[r * K + $0] }.reduce(0, +)
        }
        XCTAssertLessThan(maxAbsDifference(componentSums, refined.dataAttributionRowSums), 2e-5)
        // With a margin fraction, each test point's tolerance is f·(final top-2 gap)/(2T), here below τ = 1.
        let C = coarse.classCount
        let gaps = (0..<n).map { a -> Double in
            let row = coarse.finalOutputs[(a * C)..<(a * C + C)].map(Double.init).sorted(by: >)
            return row[0] - row[1]
        }
        let f = tolerance * 24 / gaps.reduce(0, +) * Double(n)  // tolerances around the median residual
        let byMargin = QuadratureRefinement(tolerance: 1, maxPoints: 27, marginFraction: f)
        let perTest = byMargin.tolerances(finalOutputs: coarse.finalOutputs, classes: C, steps: 12)
        for a in 0..<n { XCTAssertEqual(perTest[a], f * gaps[a] / 24, accuracy: 1e-12 * f) }
        var marginOptions = base
        marginOptions.refine = byMargin
        let byMarginRun = try problem.engine(marginOptions).run(testInputs: problem.tests, testLabels: nil)
        for (i, r) in residuals.enumerated() {
            XCTAssertEqual(
                byMarginRun.stepPoints[i] > 1, r > perTest[i % n],
                "pair \(i): residual \(r), tolerance \(perTest[i % n])")
        }
        // The forward reference has fixed rules only and says so.
        XCTAssertThrowsError(
            try EPKReference.run(
                model: problem.model, history: problem.history, data: problem.data,
                testInputs: problem.tests, quadrature: options)
        ) { e in
            XCTAssertTrue("\(e)".contains("quadrature.refine"), "\(e)")
        }
    }

    /// A history that does not belong to the model is refused with a clear message.
    func testMismatchedHistoryIsRefused() throws {
        let problem = TinyProblem.make("sgd", steps: 2)
        let other = TinyTanhMLP(inputs: 5, hidden: 4, classes: 3)
        XCTAssertThrowsError(
            try EPKEngine(model: other, history: problem.history, data: problem.data, options: EPKOptions())
        ) { error in
            XCTAssertTrue("\(error)".contains("fc1.weight"), "\(error)")
        }
    }

    /// A second moment below zero (or a NaN decay buffer) is a damaged history: one error naming the step, never
    /// NaN attributions.
    func testDamagedOptimizerQuantitiesAreRefused() throws {
        for (kind, bad) in [("adamw", Float(-1e-3)), ("sgd", Float.nan)] {
            let problem = TinyProblem.make(kind, steps: 4)
            let h = problem.history
            let damaged = InMemoryHistory(
                layout: h.layout, trainingCount: h.trainingCount, optimizer: h.optimizer,
                activeComponents: h.activeComponents, initialParameters: h.checkpoints[0])
            for t in 0..<h.stepCount {
                var quantity = h.quantities[t]
                if t == 2 { quantity[5] = bad }
                damaged.record(
                    parameters: h.checkpoints[t + 1], learningRate: h.learningRates[t], weightDecay: h.weightDecays[t],
                    indices: h.batches[t], flips: nil, optimizerQuantity: quantity)
            }
            let engine = try EPKEngine(
                model: problem.model, history: damaged, data: problem.data,
                options: EPKOptions(quadrature: QuadratureConfig(rule: .midpoint, points: 2)))
            XCTAssertThrowsError(try engine.run(testInputs: problem.tests, testLabels: nil), kind) { error in
                XCTAssertTrue("\(error)".contains("of step 2 holds"), "\(error)")
            }
        }
    }
}

final class EPKFastPathTests: XCTestCase {
    /// The dot-product path (no φ materialised) gives the same component split as the φ path.
    func testDotProductPathMatchesMaterialisedFeatures() throws {
        for kind in ["sgd", "adamw"] {
            let problem = TinyProblem.make(kind)
            let q = QuadratureConfig(rule: .midpoint, points: 3)
            let withFeatures = try problem.engine(q, dataAttribution: true).run(
                testInputs: problem.tests, testLabels: nil)
            let dots = try problem.engine(q, dataAttribution: false).run(testInputs: problem.tests, testLabels: nil)
            XCTAssertLessThan(maxAbsDifference(withFeatures.kernelByComponent, dots.kernelByComponent), 1e-6, kind)
            XCTAssertLessThan(
                maxAbsDifference(withFeatures.regularizationByComponent, dots.regularizationByComponent), 1e-7, kind)
            XCTAssertEqual(withFeatures.stepTruth, dots.stepTruth)
        }
    }

    /// Attribution on the focus rows only equals the all-class attribution restricted to those rows.
    func testFocusAttributionRowsMatchAllClassRows() throws {
        let problem = TinyProblem.make("adamw")
        let labels = [1, 2, 0]
        let groups = [ComponentGroup(name: "all", components: ["fc1.weight", "fc2.weight"])]
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let all = try EPKEngine(
            model: problem.model, history: problem.history, data: problem.data,
            options: EPKOptions(quadrature: q, dataAttributionGroups: groups)
        )
        .run(testInputs: problem.tests, testLabels: labels)
        let focus = try EPKEngine(
            model: problem.model, history: problem.history, data: problem.data,
            options: EPKOptions(quadrature: q, attributionClasses: .focus, dataAttributionGroups: groups)
        )
        .run(testInputs: problem.tests, testLabels: labels)
        XCTAssertEqual(focus.attributionClassesPerTest, 1)
        XCTAssertEqual(focus.attributionRowClasses, labels)
        let N = problem.data.trainingCount
        for a in 0..<3 {
            for j in 0..<N {
                XCTAssertEqual(
                    focus.dataAttribution[0].values[a * N + j],
                    all.dataAttribution[0].values[(a * 3 + labels[a]) * N + j], accuracy: 1e-7)
            }
        }
        // The all-class run contracts its materialised φ with Δθ and ρ directly (no second backward), the focus run
        // uses per-sample dot products: equal up to float32 summation order.
        XCTAssertEqual(focus.kernelByComponent.count, all.kernelByComponent.count)
        for (x, y) in zip(focus.kernelByComponent, all.kernelByComponent) {
            XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)))
        }
    }

}
