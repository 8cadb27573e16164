import XCTest
import History
import NN
import Tensor
@testable import EPK

final class EPKEngineTests: XCTestCase {
    /// Reverse accumulation (default engine) and the forward per-sample-buffer reference agree.
    func testReverseAccumulationMatchesForwardReference() throws {
        for kind in ["sgd", "adamw"] {
            let problem = TinyProblem.make(kind)
            let q = QuadratureConfig(rule: .gaussLegendre, points: 3)
            let fast = try problem.engine(q).run(testInputs: problem.tests, testLabels: nil)
            let reference = try EPKReference.run(model: problem.model, history: problem.history, data: problem.data,
                                                 testInputs: problem.tests, quadrature: q,
                                                 groups: [ComponentGroup(name: "fc1", components: ["fc1.weight"]),
                                                          ComponentGroup(name: "fc2", components: ["fc2.weight"])])
            for g in 0..<2 {
                let a = fast.dataAttribution[g].values.map(Double.init), b = reference.dataAttribution[g].values.map(Double.init)
                let rel = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                    / b.map { $0 * $0 }.reduce(0, +).squareRoot()
                XCTAssertLessThan(rel, 1e-5, "\(kind) group \(g): data attribution differs from the reference")
            }
            // Component attributions: kernel (via Δθ) and the reference's kernel (via buffers), and the reg terms.
            XCTAssertLessThan(maxAbsDifference(fast.kernelByComponent, reference.kernelByComponent), 1e-5, kind)
            XCTAssertLessThan(maxAbsDifference(fast.regularizationByComponent, reference.regularizationByComponent), 1e-6, kind)
        }
    }

    /// Σ components = Σ training samples = kernel part of f(θ_T) − f(θ₀), and the reconstruction matches the model.
    func testComponentSumsEqualDataSumsAndReconstructTheModel() throws {
        for kind in ["sgd", "adamw"] {
            let problem = TinyProblem.make(kind)
            let result = try problem.engine(QuadratureConfig(rule: .gaussLegendre, points: 4)).run(testInputs: problem.tests, testLabels: nil)
            let K = result.componentCount
            let componentSums = (0..<result.rowCount).map { r in (0..<K).map { result.kernelByComponent[r * K + $0] }.reduce(0, +) }
            let dataSums = result.dataAttributionRowSums
            XCTAssertLessThan(maxAbsDifference(componentSums, dataSums), 2e-5, "\(kind): Σ components ≠ Σ samples")
            let regSums = (0..<result.rowCount).map { r in (0..<K).map { result.regularizationByComponent[r * K + $0] }.reduce(0, +) }
            let kernelPartOfChange = zip(result.finalRows, result.rowClasses.indices).map { final, r in
                final - Double(result.initialOutputs[(r / result.classesPerTest) * result.classCount + result.rowClasses[r]]) - regSums[r]
            }
            XCTAssertLessThan(maxAbsDifference(dataSums, kernelPartOfChange), 1e-4, "\(kind): Σ samples ≠ kernel part of f(θ_T) − f(θ₀)")
            XCTAssertLessThan(maxAbsDifference(result.predictedRows, result.finalRows), 1e-4, kind)
        }
    }

    /// Midpoint error falls as O(n⁻²): about 4× per doubling of the points (1, 2, 4, 8); Gauss–Legendre with
    /// 2 points beats the midpoint rule with 8 (issue 8).
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

    /// With the scatter-by-dataset-index rule, permuting the batch order within a step changes nothing (spec §5.2).
    func testBatchOrderWithinAStepDoesNotChangeDataAttribution() throws {
        let problem = TinyProblem.make("adamw")
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let base = try problem.engine(q).run(testInputs: problem.tests, testLabels: nil)
        let h = problem.history
        let permuted = InMemoryHistory(layout: h.layout, trainingCount: h.trainingCount, optimizer: h.optimizer,
                                       activeComponents: h.activeComponents, initialParameters: h.checkpoints[0])
        for t in 0..<h.stepCount {
            permuted.record(parameters: h.checkpoints[t + 1], learningRate: h.learningRates[t], weightDecay: h.weightDecays[t],
                            indices: h.batches[t].reversed(), flips: nil, optimizerQuantity: h.quantities[t])
        }
        let other = try EPKEngine(model: problem.model, history: permuted, data: problem.data,
                                  options: EPKOptions(quadrature: q, dataAttributionGroups: [
                                    ComponentGroup(name: "fc1", components: ["fc1.weight"]),
                                    ComponentGroup(name: "fc2", components: ["fc2.weight"])]))
            .run(testInputs: problem.tests, testLabels: nil)
        for g in 0..<2 {
            XCTAssertLessThan(maxAbsDifference(base.dataAttribution[g].values.map(Double.init), other.dataAttribution[g].values.map(Double.init)), 1e-6)
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
        XCTAssertEqual(try tiny.memoryPlan(testCount: 3).basisRowsPerTest, 2, "one test per chunk either way: the basis costs no chunk")
        let chunked = try tiny.run(testInputs: problem.tests, testLabels: nil)
        XCTAssertEqual(whole.kernelByComponent, chunked.kernelByComponent)
        XCTAssertEqual(whole.dataAttribution[1].values, chunked.dataAttribution[1].values)
        let labels = [2, 0, 1]
        let target = try problem.engine(q, classes: .target).run(testInputs: problem.tests, testLabels: labels)
        let K = whole.componentCount
        for a in 0..<3 {
            for k in 0..<K {
                // All-class rows go through the softmax basis (float combinations), target rows do not.
                XCTAssertEqual(target.kernelByComponent[a * K + k], whole.kernelByComponent[(a * 3 + labels[a]) * K + k], accuracy: 1e-6)
            }
            XCTAssertEqual(target.stepKernelFocus, target.stepKernelFocus)
        }
    }

    /// Parameter attribution sums to the component attribution; snapshots partition the total.
    func testParameterAttributionSumsToComponents() throws {
        let problem = TinyProblem.make("adamw")
        let options = ParameterAttributionOptions(components: ["fc1.weight", "fc2.weight"], snapshotInterval: 5)
        let result = try problem.engine(QuadratureConfig(rule: .gaussLegendre, points: 2), parameterAttribution: options)
            .run(testInputs: problem.tests, testLabels: nil)
        let pa = try XCTUnwrap(result.parameterAttribution)
        XCTAssertEqual(pa.snapshotSteps, [0, 5, 10])
        let K = result.componentCount, S = result.classesPerTest, Pg = pa.parameterCount
        for a in 0..<result.testCount {
            let kernel = (0..<S).map { s in (0..<K).map { result.kernelByComponent[(a * S + s) * K + $0] }.reduce(0, +) }.reduce(0, +)
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
                let basis = try problem.engine(q, dataAttribution: dataAttribution,
                                               parameterAttribution: ParameterAttributionOptions(components: ["fc2.weight"]))
                let direct = try problem.engine(q, dataAttribution: dataAttribution,
                                                parameterAttribution: ParameterAttributionOptions(components: ["fc2.weight"]))
                XCTAssertTrue(basis.usesSoftmaxBasis(rowsPerTest: classes))
                XCTAssertEqual(try basis.memoryPlan(testCount: 3).basisRowsPerTest, classes - 1)
                direct.softmaxBasisEnabled = false
                let a = try basis.run(testInputs: problem.tests, testLabels: nil)
                let b = try direct.run(testInputs: problem.tests, testLabels: nil)
                let scale = b.kernelByComponent.map(abs).max() ?? 1
                let label = "\(kind) C=\(classes) data attribution \(dataAttribution)"
                XCTAssertLessThan(maxAbsDifference(a.kernelByComponent, b.kernelByComponent) / scale, 1e-5, label)
                XCTAssertLessThan(maxAbsDifference(a.regularizationByComponent, b.regularizationByComponent) / scale, 1e-5, label)
                let pa = try XCTUnwrap(a.parameterAttribution), pb = try XCTUnwrap(b.parameterAttribution)
                XCTAssertLessThan(maxAbsDifference(pa.kernelTotal.map(Double.init), pb.kernelTotal.map(Double.init)) / scale, 1e-5, label)
                for g in a.dataAttribution.indices {
                    XCTAssertLessThan(maxAbsDifference(a.dataAttribution[g].values.map(Double.init),
                                                       b.dataAttribution[g].values.map(Double.init)) / scale, 1e-5, label)
                }
                XCTAssertLessThan(maxAbsDifference(a.predictedRows, a.finalRows), 1e-4, label)
            }
        }
    }

    /// A history that does not belong to the model is refused with a clear message.
    func testMismatchedHistoryIsRefused() throws {
        let problem = TinyProblem.make("sgd", steps: 2)
        let other = TinyTanhMLP(inputs: 5, hidden: 4, classes: 3)
        XCTAssertThrowsError(try EPKEngine(model: other, history: problem.history, data: problem.data, options: EPKOptions())) { error in
            XCTAssertTrue("\(error)".contains("fc1.weight"), "\(error)")
        }
    }
}

final class EPKFastPathTests: XCTestCase {
    /// The dot-product path (no φ materialised) gives the same component split as the φ path.
    func testDotProductPathMatchesMaterialisedFeatures() throws {
        for kind in ["sgd", "adamw"] {
            let problem = TinyProblem.make(kind)
            let q = QuadratureConfig(rule: .midpoint, points: 3)
            let withFeatures = try problem.engine(q, dataAttribution: true).run(testInputs: problem.tests, testLabels: nil)
            let dots = try problem.engine(q, dataAttribution: false).run(testInputs: problem.tests, testLabels: nil)
            XCTAssertLessThan(maxAbsDifference(withFeatures.kernelByComponent, dots.kernelByComponent), 1e-6, kind)
            XCTAssertLessThan(maxAbsDifference(withFeatures.regularizationByComponent, dots.regularizationByComponent), 1e-7, kind)
            XCTAssertEqual(withFeatures.stepTruth, dots.stepTruth)
        }
    }

    /// Attribution on the focus rows only equals the all-class attribution restricted to those rows.
    func testFocusAttributionRowsMatchAllClassRows() throws {
        let problem = TinyProblem.make("adamw")
        let labels = [1, 2, 0]
        let groups = [ComponentGroup(name: "all", components: ["fc1.weight", "fc2.weight"])]
        let q = QuadratureConfig(rule: .gaussLegendre, points: 2)
        let all = try EPKEngine(model: problem.model, history: problem.history, data: problem.data,
                                options: EPKOptions(quadrature: q, dataAttributionGroups: groups))
            .run(testInputs: problem.tests, testLabels: labels)
        let focus = try EPKEngine(model: problem.model, history: problem.history, data: problem.data,
                                  options: EPKOptions(quadrature: q, attributionClasses: .focus, dataAttributionGroups: groups))
            .run(testInputs: problem.tests, testLabels: labels)
        XCTAssertEqual(focus.attributionClassesPerTest, 1)
        XCTAssertEqual(focus.attributionRowClasses, labels)
        let N = problem.data.trainingCount
        for a in 0..<3 {
            for j in 0..<N {
                XCTAssertEqual(focus.dataAttribution[0].values[a * N + j], all.dataAttribution[0].values[(a * 3 + labels[a]) * N + j], accuracy: 1e-7)
            }
        }
        // The all-class run contracts its materialised φ with Δθ and ρ directly (no second backward), the focus run
        // uses per-sample dot products: equal up to float32 summation order.
        XCTAssertEqual(focus.kernelByComponent.count, all.kernelByComponent.count)
        for (x, y) in zip(focus.kernelByComponent, all.kernelByComponent) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y))) }
    }
}
