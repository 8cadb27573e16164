import Artifacts
import Data
import Foundation
import History
import NN
import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

final class GrokkingTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func twoParameterVectors() -> (ModuloTransformer, [Float], [Float]) {
        let model = ModuloTransformer()
        var r1 = RNG(seed: 1), r2 = RNG(seed: 2)
        return (model, model.initialParameters(rng: &r1), model.initialParameters(rng: &r2))
    }

    /// docs/METHOD.md §16: an empty keep-list swaps in everything (the step-i model); keeping everything is the final model.
    func testSwapWithEmptyKeepListIsStepModelAndFullKeepListIsFinal() throws {
        let (model, final, other) = twoParameterVectors()
        XCTAssertEqual(try ParameterSurgery.splice(final: final, other: other, keep: [], layout: model.layout), other)
        XCTAssertEqual(
            try ParameterSurgery.splice(final: final, other: other, keep: model.layout.names, layout: model.layout),
            final)
        // A partial keep-list: kept components from final, the rest from the other vector, nothing else touched.
        let spliced = try ParameterSurgery.splice(
            final: final, other: other, keep: ["decoder.weight", "linear2.bias"], layout: model.layout)
        for c in model.layout.components {
            XCTAssertEqual(
                Array(spliced[c.range]),
                Array((["decoder.weight", "linear2.bias"].contains(c.name) ? final : other)[c.range]), c.name)
        }
        XCTAssertThrowsError(
            try ParameterSurgery.splice(final: final, other: other, keep: ["linea1.bias"], layout: model.layout))
        // The keep-lists name real components (no "linea1" typo) and "All but att." keeps linear1.bias and the decoder.
        for v in ParameterSurgery.swapKeepLists() {
            for name in v.keep { XCTAssertNotNil(model.layout.component(named: name), name) }
        }
        let allButAtt = ParameterSurgery.swapKeepLists().first { $0.label == "All but att." }!.keep
        XCTAssertTrue(allButAtt.contains("linear1.bias") && allButAtt.contains("decoder.weight"))
        XCTAssertEqual(
            ParameterSurgery.swapKeepLists(embeddingOnly: true).first { $0.label == "Emb." }!.keep, ["input_emb.weight"]
        )
    }

    /// Self-similarity is symmetric with unit diagonal (zero rows: 0) and equals a direct float64 computation.
    func testCosineSimilarityIsSymmetricWithUnitDiagonalAndMatchesDirect() {
        var rng = RNG(seed: 7)
        let n = 9, m = 5, p = 301
        var a = (0..<(n * p)).map { _ in Float(rng.normal()) }
        for j in 0..<p { a[4 * p + j] = 0 }  // a zero row
        let b = (0..<(m * p)).map { _ in Float(rng.normal()) }
        func direct(_ x: [Float], _ i: Int, _ y: [Float], _ j: Int) -> Double {
            var d = 0.0, nx = 0.0, ny = 0.0
            for k in 0..<p {
                d += Double(x[i * p + k]) * Double(y[j * p + k]); nx += Double(x[i * p + k] * x[i * p + k]);
                ny += Double(y[j * p + k] * y[j * p + k])
            }
            return nx > 0 && ny > 0 ? d / (nx * ny).squareRoot() : 0
        }
        let s = SimilarityAnalysis.cosine(a, rows: n, width: p)
        for i in 0..<n {
            XCTAssertEqual(s[i * n + i], i == 4 ? 0 : 1)
            for j in 0..<n {
                XCTAssertEqual(s[i * n + j], s[j * n + i])
                if i != j { XCTAssertEqual(s[i * n + j], direct(a, i, a, j), accuracy: 1e-5) }
            }
        }
        let r = SimilarityAnalysis.cosine(a, rows: n, b, rows: m, width: p)
        for i in 0..<n { for j in 0..<m { XCTAssertEqual(r[i * m + j], direct(a, i, b, j), accuracy: 1e-5) } }
        // Ordering by a+b, ties by target, then index.
        XCTAssertEqual(SimilarityAnalysis.order(key: [3, 1, 3, 0], tieBreak: [5, 0, 2, 9]), [3, 1, 2, 0])
    }

    /// The per-period least-squares fit finds a planted period; the reference correlation separates right and wrong periods.
    func testFourierFitRecoversPlantedPeriod() {
        var rng = RNG(seed: 3)
        let n = 80
        let s = (0..<n).map { _ in Double(rng.int(below: 225)) }
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n { m[i * n + j] = 0.2 + 0.7 * cos(2 * .pi * (s[i] - s[j]) / 17) + 0.2 * rng.normal() }
        }
        for i in 0..<n { m[i * n + i] = 1 }
        let periods = (2...113).map(Double.init)
        let r2 = SimilarityAnalysis.periodFit(m, keys: s, periods: periods)
        XCTAssertEqual(periods[SimilarityAnalysis.top(r2, count: 1)[0]], 17)
        XCTAssertGreaterThan(r2[15], 0.8)
        XCTAssertGreaterThan(SimilarityAnalysis.referenceCorrelation(m, keys: s, periods: [17]), 0.9)
        XCTAssertLessThan(abs(SimilarityAnalysis.referenceCorrelation(m, keys: s, periods: [5])), 0.1)
        // Fourier power of a table with a planted frequency.
        var table = [Float](repeating: 0, count: 115 * 3)
        for a in 0..<113 { table[a * 3 + 1] = Float(cos(2 * Double.pi * 14 * Double(a) / 113)) }
        XCTAssertEqual(
            SimilarityAnalysis.top(SimilarityAnalysis.tokenFourierPower(table, width: 3, prime: 113), count: 1)[0] + 1,
            14)
        // PCA of points on two orthogonal directions explains (almost) everything in two components.
        var x = [Float](repeating: 0, count: 40 * 50)
        for i in 0..<40 {
            let t = Double(i) / 40 * 2 * .pi; x[i * 50] = Float(cos(t)) + 2; x[i * 50 + 1] = Float(sin(t));
            x[i * 50 + 2] = 2
        }
        let pca = SimilarityAnalysis.pca2(x, rows: 40, width: 50)
        XCTAssertGreaterThan(pca.explained[0] + pca.explained[1], 0.999)
    }

    /// The text report lists the true nearest and farthest neighbours in order, never the query itself, and
    /// histograms the tokens and targets of the nearest ones.
    func testNeighbourReportRanksBySimilarity() {
        let samples = (0..<5).map { SimilarityAnalysis.Sample(a: $0, b: 10 + $0, target: ($0 * 7) % 3) }
        // Similarity to sample 0 falls with the index; sample 2 is the most similar to 0 by construction.
        var m = [Double](repeating: 0, count: 25)
        for i in 0..<5 { for j in 0..<5 { m[i * 5 + j] = i == j ? 1 : 1 - 0.1 * Double(abs(i - j)) } }
        m[0 * 5 + 2] = 0.95
        let text = SimilarityAnalysis.neighbourReport(
            title: "linear2", cosine: m, samples: samples, queries: [0], count: 2)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| 1 ") || $0.hasPrefix("| 2 ") }
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows[0].contains("| 2 + 12 = 2 | 0.950 | 4 + 14 = 1 | 0.600 |"), String(rows[0]))
        XCTAssertTrue(rows[1].contains("| 1 + 11 = 1 | 0.900 | 3 + 13 = 0 | 0.700 |"), String(rows[1]))
        XCTAssertFalse(rows.joined().contains("0 + 10 = 0"))
        XCTAssertTrue(text.contains("Targets: 1×1, 2×1."), text)
    }

    /// Zero epochs: kept components bit-identical, re-initialised ones N(0, 0.1²); the same seed gives the same draws.
    func testRetrainWithZeroEpochsKeepsComponentsAndReinitialisesWithTheRightStd() throws {
        let (model, start, _) = twoParameterVectors()
        let data = ModuloAdditionDataset(prime: 113, seed: 0, validationCount: 50, trainCount: 100)
        let randomise = ParameterSurgery.retrainConfigurations[0].randomise
        let run = try Retraining.run(
            model: model, start: start, randomise: randomise, std: 0.1, seed: 5,
            optimizer: .adamw(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4),
            lr: 1e-3, maxEpochs: 0, train: data.train, validation: data.validation)
        XCTAssertEqual(run.epochs, 0)
        XCTAssertEqual(run.finalParameters, run.initialParameters)
        for c in model.layout.components {
            let v = Array(run.finalParameters[c.range])
            if randomise.contains(c.name) {
                XCTAssertNotEqual(v, Array(start[c.range]), c.name)
                let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
                let std = (v.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(v.count))
                    .squareRoot()
                XCTAssertEqual(std, 0.1, accuracy: c.count > 10_000 ? 0.002 : 0.01, c.name)
                XCTAssertEqual(mean, 0, accuracy: 0.01, c.name)
            } else {
                XCTAssertEqual(v, Array(start[c.range]), "\(c.name) must be kept bit-identical")
            }
        }
        let again = try Retraining.run(
            model: model, start: start, randomise: randomise, std: 0.1, seed: 5,
            optimizer: .adamw(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4),
            lr: 1e-3, maxEpochs: 0, train: data.train, validation: data.validation)
        XCTAssertEqual(again.initialParameters, run.initialParameters)
        XCTAssertEqual(
            run.validationAccuracy[0],
            model.evaluate(
                parameters: run.initialParameters, inputs: data.validation.inputs, labels: data.validation.labels
            ).accuracy)
    }

    /// The three quick configs run end to end on a freshly trained quick modulo history, with checked numbers.
    func testQuickConfigsRunEndToEnd() throws {
        let root = Self.packageRoot
        let tmp = NSTemporaryDirectory() + "grokking-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        _ = try TrainingDriver.run(
            configPath: root + "/Configs/modulo-quick.json", outputDirectory: tmp + "/history", dataDirectory: nil,
            resume: false)
        let historyPath = tmp + "/history/history.h5"
        func config(_ name: String) throws -> String {
            var text = try String(contentsOfFile: root + "/Configs/\(name)-quick.json", encoding: .utf8)
            text = text.replacingOccurrences(of: "results/modulo/quick/history.h5", with: historyPath)
            let path = tmp + "/\(name).json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let history = try HistoryFileReader(path: historyPath)
        let T = history.stepCount
        let model = ModuloTransformer()
        let data = ModuloAdditionDataset(prime: 113, seed: 0, validationCount: 500, trainCount: 1000)

        // swap-aligned: step-i accuracies equal a direct evaluation; KL ≥ 0; figures written.
        let swap = try SwapAlignedDriver.run(
            configPath: try config("swap-aligned"), outputDirectory: tmp + "/swap", dataDirectory: nil)
        let sf = try HDF5File(path: swap, mode: .read)
        let steps = try sf.root.read("steps", as: Int32.self).values.map(Int.init)
        let stepAcc = try sf.doubles("step_accuracy")
        XCTAssertEqual(steps, Array(stride(from: 0, to: T, by: 5)))
        for (k, s) in steps.enumerated() where k % 4 == 0 {
            XCTAssertEqual(
                stepAcc[k],
                model.evaluate(
                    parameters: try history.parameters(at: s), inputs: data.validation.inputs,
                    labels: data.validation.labels
                ).accuracy)
        }
        XCTAssertTrue(try sf.doubles("spliced_kl").allSatisfy { $0 >= -1e-6 })
        XCTAssertEqual(try sf.doubles("confusion/step").reduce(0, +), Double(2 * data.validation.count))
        sf.close()
        for f in ["swap-accuracy-difference", "swap-kl", "swap-confusion", "swap-accuracy"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/swap/\(f).png"), f)
        }

        // component-attribution: unit diagonals, small replication error, per-step L1 filled, figures written.
        let attr = try ComponentAttributionDriver.run(
            configPath: try config("component-attribution"), outputDirectory: tmp + "/attr", dataDirectory: nil)
        let af = try HDF5File(path: attr, mode: .read)
        let (cv, shape) = try af.root.read("cosine/linear2/val", as: Float.self)
        XCTAssertEqual(shape, [3, 24, 24])
        for k in 0..<3 { for i in 0..<24 { XCTAssertEqual(cv[(k * 24 + i) * 24 + i], 1) } }
        XCTAssertEqual(try af.root.read("cosine/model/train_val", as: Float.self).shape, [3, 24, 16])
        let keys = try af.doubles("keys/val_sum")
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertLessThan(try af.doubles("replication/mean_step_error").max()!, 0.05)
        XCTAssertTrue(try af.doubles("steps/kernel_l1").allSatisfy { $0 > 0 })
        XCTAssertTrue(try af.doubles("balance/reg_l1").allSatisfy { $0 > 0 })
        af.close()
        let report = try String(contentsOfFile: tmp + "/attr/similar-samples.md", encoding: .utf8)
        XCTAssertEqual(report.components(separatedBy: "## ").count - 1, ModuloTransformer.componentGroups.count)
        for f in [
            "cosine-val-linear2", "cosine-train-val", "balance-ratio", "balance-difference", "fourier-linear2",
            "fourier-over-steps", "pca-linear2", "pca-groups",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/attr/\(f).png"), f)
        }

        // Its reference companion keeps the drawn intervals only, and gives the same figures and report rows.
        let companion = try ReferenceCompanion.write(artifact: attr, directory: tmp + "/attr-reference")
        let full = try HDF5File(path: attr, mode: .read), slim = try HDF5File(path: companion, mode: .read)
        let shown = try ComponentAttributionFigures.info(full).figureIndices
        XCTAssertEqual(try slim.root.dataset("cosine/linear2/val").intArrayAttribute("kept_intervals"), shown)
        XCTAssertEqual(try slim.root.dataset("cosine/model/train_val").shape, [1, 24, 16])
        XCTAssertEqual(try slim.root.dataset("cosine/model/val_total").intArrayAttribute("kept_rows"), Array(0..<24))
        XCTAssertFalse(try slim.root.contains("cosine/model/train_val_total"))
        for k in shown {
            XCTAssertEqual(
                try ComponentAttributionFigures.interval(slim, "cosine/linear2/val", k),
                try ComponentAttributionFigures.interval(full, "cosine/linear2/val", k))
        }
        XCTAssertThrowsError(try ComponentAttributionFigures.interval(slim, "cosine/model/train_val", shown[0]))
        // PCA coordinates: linear2 at every figure step, the other groups at the last one, values unchanged.
        XCTAssertEqual(try slim.root.dataset("pca/linear2").intArrayAttribute("kept_intervals"), shown)
        XCTAssertEqual(try slim.root.dataset("pca/model").intArrayAttribute("kept_intervals"), [shown.last!])
        for (slug, k) in [("linear2", shown[0]), ("model", shown.last!)] {
            XCTAssertEqual(
                try ComponentAttributionFigures.interval(slim, "pca/\(slug)", k, as: Double.self),
                try ComponentAttributionFigures.interval(full, "pca/\(slug)", k, as: Double.self))
        }
        XCTAssertEqual(try slim.root.read("pca/explained", as: Double.self).values, try full.doubles("pca/explained"))
        full.close(); slim.close()
        let drawn = try FigureRenderer.renderAll(artifact: companion, directory: tmp + "/attr-reference")
        XCTAssertEqual(drawn.count, ComponentAttributionFigures.all.count)
        for (name, result) in drawn { XCTAssertNoThrow(try result.get(), name) }
        XCTAssertEqual(
            try ReportWriter.summarize(artifact: companion).rows.map { "\($0.0)=\($0.1)" },
            try ReportWriter.summarize(artifact: attr).rows.map { "\($0.0)=\($0.1)" })

        // retrain-pipeline: shapes, epoch-0 accuracies of a directly rebuilt start point, figure written.
        let retrain = try RetrainPipelineDriver.run(
            configPath: try config("retrain-pipeline"), outputDirectory: tmp + "/retrain", dataDirectory: nil)
        let rf = try HDF5File(path: retrain, mode: .read)
        let (va, rshape) = try rf.root.read("validation_accuracy", as: Double.self)
        XCTAssertEqual(rshape, [3, 2, 2, 5])
        var rng = RNG(seed: 1)
        let start = try ParameterSurgery.reinitialise(
            try history.parameters(at: 30), randomise: ParameterSurgery.retrainConfigurations[1].randomise,
            layout: model.layout, std: 0.1, rng: &rng)
        let expected = model.evaluate(parameters: start, inputs: data.validation.inputs, labels: data.validation.labels)
            .accuracy
        XCTAssertEqual(va[((1 * 2 + 1) * 2 + 1) * 5], expected)
        rf.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/retrain/retrain-accuracy.png"))
        // A start step past the history is a config error, not a silent move to the last step.
        let beyond = tmp + "/retrain-beyond.json"
        try (try String(contentsOfFile: try config("retrain-pipeline"), encoding: .utf8))
            .replacingOccurrences(of: "[60, 30]", with: "[\(T + 1), 30]").write(
                toFile: beyond, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(
            try RetrainPipelineDriver.run(configPath: beyond, outputDirectory: tmp + "/beyond", dataDirectory: nil)
        ) {
            XCTAssertTrue("\($0)".contains("key 'start_steps': step \(T + 1) is beyond the \(T) steps"), "\($0)")
        }
    }
}
