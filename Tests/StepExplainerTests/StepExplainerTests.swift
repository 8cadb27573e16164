import Analysis
import Artifacts
import EPK
import ExperimentKit
import History
import NN
import Optim
import Tensor
import TestSupport
import XCTest

/// The step explainer (docs/METHOD.md §19): exactness of the straight-path decomposition, the update-part
/// splits, module partitions, and end-to-end runs on LM and classifier histories.
final class StepExplainerTests: XCTestCase {

    override class func setUp() { Log.quiet = true }

    func temporaryDirectory(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "stepx-tests-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A tiny LM on synthetic text, trained in memory with AdamW; returns everything a step needs.
    struct TinyRun {
        let model: TransformerLM
        let loss: LanguageModelEvaluationLoss
        var thetas: [[Float]] = []
        var gradients: [[Float]] = []
        var moments: [(m: [Float], v: [Float], tau: Int)] = []  // after each step
        let lr = 0.01, wd = 0.5, b1 = 0.9, b2 = 0.99, eps = 1e-8
    }

    func tinyRun(steps: Int) -> TinyRun {
        let corpus = CharacterCorpus(
            bytes: Array(String(repeating: "in the beginning was the word and the word was good\n", count: 40).utf8),
            heldOutFraction: 0.2, seed: 1)
        let model = TransformerLM(
            .init(vocabularySize: corpus.vocabulary.count, contextLength: 8, modelDimensions: 16, layers: 2, heads: 2))
        let eval = CharacterCorpus.windows(
            corpus.heldOut,
            offsets: CharacterCorpus.evenlySpacedOffsets(count: 12, streamLength: corpus.heldOut.count, length: 8),
            length: 8)
        var run = TinyRun(
            model: model,
            loss: LanguageModelEvaluationLoss(model: model, inputs: eval.inputs, targets: eval.targets, chunk: 5))
        var rng = RNG(seed: 4)
        var theta = model.initialParameters(rng: &rng)
        var opt = AdamW(beta1: run.b1, beta2: run.b2, epsilon: run.eps, weightDecay: run.wd)
        run.thetas.append(theta)
        for _ in 0..<steps {
            let offsets = (0..<8).map { _ in rng.int(below: corpus.train.count - 9) }
            let b = CharacterCorpus.windows(corpus.train, offsets: offsets, length: 8)
            let g = model.lossAndGradient(parameters: theta, inputs: b.inputs, targets: b.targets).gradient
            opt.step(parameters: &theta, gradient: g, learningRate: run.lr)
            run.thetas.append(theta); run.gradients.append(g)
            run.moments.append((opt.state.firstMoment, opt.state.secondMoment, opt.state.stepCount))
        }
        return run
    }

    func testChunkedEvaluationGradientMatchesOneBatch() {
        let run = tinyRun(steps: 0)
        let whole = LanguageModelEvaluationLoss(
            model: run.model, inputs: run.loss.inputs, targets: run.loss.targets, chunk: 100)
        let a = run.loss.lossAndGradient(run.thetas[0]), b = whole.lossAndGradient(run.thetas[0])
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6)
        let diff = zip(a.gradient, b.gradient).map { abs($0 - $1) }.max()!, scale = b.gradient.map(abs).max()!
        XCTAssertLessThan(diff / scale, 1e-5)
    }

    func testDecompositionSumsToLossChangeAndConvergesWithPoints() {
        let run = tinyRun(steps: 12)
        let groups = ModuleGroups(layout: run.model.layout, groups: run.model.componentGroups)
        // A single step: 2 Gauss–Legendre points already reproduce ΔL to a tiny fraction.
        let step = ExplainedSegment(kind: .step, start: 6, end: 7, thetaStart: run.thetas[6], thetaEnd: run.thetas[7])
        let d = StepExplainer.explain(
            step, loss: run.loss, groups: groups, nodes: QuadratureNodes(rule: .gaussLegendre, points: 2))
        XCTAssertGreaterThan(abs(d.measured), 1e-4)
        XCTAssertLessThan(abs(d.residual), 1e-3 * abs(d.measured) + 1e-6)
        // A 12-step window (a long, curved path): midpoint residual falls with the point count.
        let window = ExplainedSegment(
            kind: .window, start: 0, end: 12, thetaStart: run.thetas[0], thetaEnd: run.thetas[12])
        let r = StepExplainer.residuals(window, loss: run.loss, rule: .midpoint, points: [1, 2, 4, 8])
        XCTAssertGreaterThan(r[0], 1e-4)
        XCTAssertLessThan(r[1], r[0]); XCTAssertLessThan(r[2], r[1])
        XCTAssertLessThan(r[3], r[0] / 10)
    }

    func testAdamWSplitMatchesIndependentMomentumTerm() {
        let run = tinyRun(steps: 6)
        let t = 4, P = run.model.parameterCount
        let (m, v, tau) = run.moments[t]
        let previous = run.moments[t - 1].m
        XCTAssertEqual(tau, t + 1)
        let decay = run.thetas[t].map { Float(-run.lr * run.wd * Double($0)) }
        let batch = SegmentSources.adamBatchPart(
            gradient: run.gradients[t], secondMoment: v, learningRate: run.lr, stepCount: tau,
            beta1: run.b1, beta2: run.b2, epsilon: run.eps)
        // The momentum history term computed directly: −η/(1−β1^τ) · β1 m_{t−1} / (√v̂ + ε).
        let stepSize = run.lr / (1 - pow(run.b1, Double(tau))), root2 = (1 - pow(run.b2, Double(tau))).squareRoot()
        let momentumDirect = (0..<P).map {
            Float(-stepSize * run.b1 * Double(previous[$0]) / (Double(v[$0]).squareRoot() / root2 + run.eps))
        }
        // Δθ = batch + momentum + decay up to Float32 rounding.
        var worst: Float = 0, scale: Float = 0
        for p in 0..<P {
            let delta = run.thetas[t + 1][p] - run.thetas[t][p]
            worst = max(worst, abs(delta - (batch[p] + momentumDirect[p] + decay[p]))); scale = max(scale, abs(delta))
        }
        XCTAssertLessThan(worst / scale, 1e-3)
        XCTAssertEqual(m.count, P)
        let groups = ModuleGroups(layout: run.model.layout, groups: run.model.componentGroups)
        let seg = ExplainedSegment(
            kind: .step, start: t, end: t + 1, thetaStart: run.thetas[t], thetaEnd: run.thetas[t + 1], decay: decay,
            batch: batch)
        let d = StepExplainer.explain(
            seg, loss: run.loss, groups: groups, nodes: QuadratureNodes(rule: .gaussLegendre, points: 2))
        let integrated = StepExplainer.integratedGradient(
            run.loss, from: run.thetas[t], to: run.thetas[t + 1],
            nodes: QuadratureNodes(rule: .gaussLegendre, points: 2))
        let momentumGroups = groups.sums(integrated, momentumDirect)
        for g in 0..<groups.names.count {
            XCTAssertEqual(d.momentum[g], momentumGroups[g], accuracy: 1e-3 * abs(d.measured) + 1e-9, groups.names[g])
            XCTAssertEqual(d.total[g], d.batch[g] + d.momentum[g] + d.decay[g], accuracy: 1e-12)
        }
    }

    func testModuleGroupsPartitionEveryModel() throws {
        let models: [Model] = [
            TransformerLM(.init(vocabularySize: 5, contextLength: 4, modelDimensions: 8, layers: 3, heads: 2)),
            ModuloTransformer(), try ExperimentModel.make(.mnist), try ExperimentModel.make(.cifar2),
        ]
        for model in models {
            let groups = ModuleGroups(layout: model.layout, groups: model.attributionGroups)
            var covered = [Int](repeating: 0, count: model.parameterCount)
            for rs in groups.ranges { for r in rs { for p in r { covered[p] += 1 } } }
            XCTAssertTrue(covered.allSatisfy { $0 == 1 }, model.name)
            // Group sums add up to the full inner product.
            var rng = RNG(seed: 2)
            let a = (0..<model.parameterCount).map { _ in rng.normal() },
                b = (0..<model.parameterCount).map { _ in Float(rng.normal()) }
            let whole = zip(a, b).reduce(0.0) { $0 + $1.0 * Double($1.1) }
            XCTAssertEqual(
                groups.sums(a, b).reduce(0, +), whole, accuracy: 1e-6 * Double(model.parameterCount).squareRoot())
        }
        XCTAssertEqual(
            ModuleGroups(layout: ModuloTransformer().layout, groups: ModuloTransformer().attributionGroups).names.last,
            "other")
    }

    /// Decodes an explainer config with a history path.
    func config(_ json: String) throws -> StepExplainerConfig {
        try StrictConfig.decode(StepExplainerConfig.self, from: Data(json.utf8), source: "test")
    }

    func checkSums(_ r: StepExplainerResult, relative: Double, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.windows.isEmpty && r.steps.isEmpty, file: file, line: line)
        for d in r.windows + r.steps {
            XCTAssertTrue(d.measured.isFinite && d.predicted.isFinite, file: file, line: line)
            XCTAssertLessThan(
                abs(d.residual), relative * abs(d.measured) + 1e-5,
                "\(d.kind) \(d.start)–\(d.end): ΔL \(d.measured), residual \(d.residual)", file: file, line: line)
            // Relative influences sum to 1 (0 when nothing moved, e.g. a step with η = 0).
            let moved = d.total.contains { $0 != 0 }
            XCTAssertEqual(d.relativeInfluence.reduce(0, +), moved ? 1 : 0, accuracy: 1e-9, file: file, line: line)
        }
        for d in r.steps where !d.batch[0].isNaN {
            let parts = zip(zip(d.batch, d.momentum), d.decay).map { $0.0 + $0.1 + $1 }
            for (a, b) in zip(parts, d.total) {
                XCTAssertEqual(a, b, accuracy: 1e-9 + 1e-9 * abs(b), file: file, line: line)
            }
        }
        for row in r.convergenceResiduals {
            XCTAssertLessThanOrEqual(row.last!, row.first! + 1e-7, file: file, line: line)
        }
    }

    func testLanguageModelHistoryEndToEnd() throws {
        let dir = try temporaryDirectory("lm")
        let lmConfig = try StrictConfig.load(LMConfig.self, from: repositoryRoot + "/Configs/lm-quick.json")
        let json = try String(contentsOfFile: repositoryRoot + "/Configs/lm-quick.json", encoding: .utf8)
        let corpus: CharacterCorpus
        do { corpus = try lmConfig.loadCorpus(dataDirectory: nil) } catch {
            throw XCTSkip("KJV corpus not found: \(error)")
        }
        let trained = try LMTrainer.train(
            config: lmConfig, configJSON: json, corpus: corpus, directory: dir, log: false)
        let history = try LMHistoryReader(path: trained.historyPath)
        XCTAssertEqual(history.checkpointSteps, [0, 20, 40, 60])
        XCTAssertEqual(history.detailSteps, [0, 5, 30])
        // The stored detail is self-consistent: m_t = β1 m_{t−1} + (1−β1) g_t, and θ_{t+1} is the next window's θ.
        let d = try history.detail(step: 5)
        for p in stride(from: 0, to: d.gradient.count, by: 97) {
            XCTAssertEqual(d.firstMomentAfter[p], 0.9 * d.firstMomentBefore[p] + 0.1 * d.gradient[p], accuracy: 1e-6)
        }
        XCTAssertEqual(try history.detail(step: 0).thetaBefore, try history.checkpoint(0).theta)
        history.close()
        let c = try config(
            try String(contentsOfFile: repositoryRoot + "/Configs/step-explainer-lm-quick.json", encoding: .utf8))
        let (r, _) = try StepExplainerDriver.compute(c, historyPath: trained.historyPath, dataDirectory: nil)
        XCTAssertEqual(r.windows.count, 3)
        XCTAssertEqual(r.steps.map(\.start), [0, 5, 30])
        checkSums(r, relative: 2e-2)
        let out = dir + "/step-explainer.h5"
        try StepExplainerArtifact.write(
            r, configJSON: "{}", historyPath: trained.historyPath, summary: "test", seconds: 0, to: out)
        let figures = try FigureRenderer.renderAll(artifact: out, directory: dir)
        XCTAssertEqual(figures.count, 4)
        for f in figures { if case .failure(let e) = f.result { XCTFail("\(f.name): \(e)") } }
    }

    /// Trains a classifier quick config into a temporary directory and explains it.
    func classifierRun(_ experiment: String, configJSON: String, explainer: String) throws -> StepExplainerResult {
        let dir = try temporaryDirectory(experiment)
        let path = dir + "/config.json"
        try configJSON.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try TrainingDriver.run(configPath: path, outputDirectory: dir, dataDirectory: nil, resume: false)
        } catch let e as ArtifactError where e.kind == .notFound { throw XCTSkip("\(experiment) data not found: \(e)") }
        return try StepExplainerDriver.compute(
            try config(explainer), historyPath: dir + "/history.h5", dataDirectory: nil
        ).result
    }

    func explainerJSON(_ n: Int, stride: Int, steps: [Int]) -> String {
        """
        {"experiment": "step-explainer", "run": "t", "source": "classifier", "history": "unused", "evaluation_count": \(n),
         "quadrature": {"rule": "gauss-legendre", "points": 4}, "steps": \(steps), "window_stride": \(stride), "max_windows": 4,
         "convergence": {"rule": "midpoint", "points": [1, 4], "steps": [], "windows": [0]}}
        """
    }

    func testModuloHistory() throws {
        let train = try String(contentsOfFile: repositoryRoot + "/Configs/modulo-quick.json", encoding: .utf8)
            .replacingOccurrences(of: "\"max_steps\": 60", with: "\"max_steps\": 24")
        let r = try classifierRun(
            "modulo", configJSON: train, explainer: explainerJSON(200, stride: 6, steps: [0, 13]))
        XCTAssertEqual(r.windows.count, 4)
        checkSums(r, relative: 2e-2)
        // Only the unused positional table is in "other", and it never moves.
        XCTAssertEqual(r.groups.last, "other")
        for d in r.windows + r.steps { XCTAssertEqual(d.total.last!, 0) }
    }

    func testMNISTHistory() throws {
        let train = try String(contentsOfFile: repositoryRoot + "/Configs/mnist-quick.json", encoding: .utf8)
        let r = try classifierRun("mnist", configJSON: train, explainer: explainerJSON(200, stride: 5, steps: [0, 7]))
        checkSums(r, relative: 2e-2)
    }

    func testCIFAR2History() throws {
        let train = try String(contentsOfFile: repositoryRoot + "/Configs/cifar2-quick.json", encoding: .utf8)
            .replacingOccurrences(of: "\"train_limit\": 512", with: "\"train_limit\": 192")
            .replacingOccurrences(of: "\"test_limit\": 100", with: "\"test_limit\": 40")
            .replacingOccurrences(of: "\"epochs\": 2", with: "\"epochs\": 1")
        let r = try classifierRun("cifar2", configJSON: train, explainer: explainerJSON(40, stride: 1, steps: [1]))
        checkSums(r, relative: 5e-2)
    }
}
