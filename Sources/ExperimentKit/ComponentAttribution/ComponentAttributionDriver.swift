import Analysis
import Artifacts
import Data
import EPK
import Foundation
import History
import NN
import Tensor

/// `component-attribution` (docs/METHOD.md §16): parameter-wise attribution vectors per layer group and snapshot
/// interval, their test × test cosine similarities, kernel-vs-regularisation balance, Fourier checks and PCA.
///
/// Method. The history is cut into intervals [s, s + interval) (the last one ends at T). The EPK engine runs over each
/// interval with `classes = target` and parameter attribution over every trained component, so each interval
/// yields, per test point x, the vector of kernel contributions of every scalar parameter to the change of
/// f_{y_x}(x) over that interval (docs/METHOD.md §7, §16; the original summed over all 115
/// classes, here the label's class is used, which is the quantity the accuracy depends on). Validation points
/// and training points (the latter through the ordinary test path, docs/METHOD.md §3) are explained in one pass.
///
/// Artifact `attribution.h5` (kind "component-attribution"); G = 7 layer groups (the last is "model"), I
/// intervals, nv validation and nt training points, both sorted by a+b (ties by target):
/// | path | shape | meaning |
/// |---|---|---|
/// | `/snapshots/start`, `/snapshots/end` | (I) i32 | interval bounds (steps) |
/// | `/cosine/<g>/val`, `/cosine/<g>/train_val` | (I, nv, nv), (I, nv, nt) f32 | cosine similarity of the parameter-wise attribution vectors per interval |
/// | `/cosine/<g>/val_total`, `/cosine/<g>/train_val_total` | (nv, nv), (nv, nt) f32 | the same for the whole history |
/// | `/keys/val_sum`, `/keys/val_target`, `/keys/train_sum`, `/keys/train_target` | f64 | a + b and target in sorted order |
/// | `/balance/kernel_l1`, `/balance/reg_l1`, `/balance/difference` | (I, G) f64 | kernel-vs-regularisation balance per interval (validation points; docs/METHOD.md §16) |
/// | `/steps/index`, `/steps/kernel_l1`, `/steps/reg_l1` | (T), (T, G) | per-step Σ_x \|Σ_{k∈g} part\| (log-prob units) |
/// | `/fourier/reference_correlation`, `/fourier/key_correlation` | (I, G) f64 | correlation of the validation cosine matrix with the reference and key-frequency matrices; attribute `key_frequencies` |
/// | `/fourier/linear2_period_r2`, `/fourier/linear2_frequency_r2` | (I, 112), (I, 56) f64 | per-period and per-frequency least-squares R² of linear2 |
/// | `/fourier/total_period_r2`, `/fourier/total_frequency_r2` | (G, 112), (G, 56) f64 | the same for the whole-history vectors |
/// | `/fourier/embedding_power`, `/fourier/decoder_power` | (56) f64 | Fourier power of the final embedding and decoder rows per frequency |
/// | `/pca/<g>`, `/pca/explained` | (I, nv, 2), (I, G, 2) f64 | 2-D PCA scores and explained-variance fractions |
/// | `/replication/mean_step_error` | (I) f64 | mean \|truth − EPK\| of the per-step change per interval |
///
/// Beside it: `summary.json` (key numbers) and `similar-samples.md` (docs/METHOD.md §16 text report: the first 10 validation
/// points with their 10 most and least similar samples per group, and token/target histograms).
public enum ComponentAttributionDriver {
    public static let kind = ArtifactKind.componentAttribution.rawValue
    static let prime = 113
    /// HDF5 names of the docs/METHOD.md §16 layer groups, in table order.
    public static var groupSlugs: [String] { ModuloTransformer.componentGroups.map { slug($0.name) } }

    /// HDF5-safe name of a layer group ("att. encoders" → "att_encoders").
    public static func slug(_ name: String) -> String {
        name.replacingOccurrences(of: ". ", with: "_").replacingOccurrences(of: ".", with: "").replacingOccurrences(
            of: " ", with: "_")
    }

    public static func run(configPath: String, outputDirectory: String?, dataDirectory: String?) throws -> String {
        let config = try StrictConfig.load(ComponentAttributionConfig.self, from: configPath)
        let setup = try ReplaySetup(historyPath: config.history, dataDirectory: dataDirectory)
        try SwapAlignedDriver.requireModulo(setup, config.history)
        let out = outputDirectory ?? "results/component-attribution/\(config.run)"
        try OutputLock.acquire(directory: out)
        let model = setup.model, history = setup.history, layout = model.layout
        let T = history.stepCount
        let valSet = setup.data.evaluation, trainSet = setup.data.train
        guard config.validationCount <= valSet.count, config.trainCount <= trainSet.count else {
            throw ArtifactError(
                .config,
                "\(configPath): asks for \(config.validationCount) validation and \(config.trainCount) training points; the data has \(valSet.count) and \(trainSet.count)"
            )
        }
        let nv = config.validationCount, nt = config.trainCount, n = nv + nt
        func sums(_ set: LabeledDataset, _ count: Int) -> [Double] {
            (0..<count).map { Double(set.inputs.storage[$0 * 4] + set.inputs.storage[$0 * 4 + 2]) }
        }
        let valSum = sums(valSet, nv), trainSum = sums(trainSet, nt)
        let valTarget = (0..<nv).map { Double(valSet.labels[$0]) },
            trainTarget = (0..<nt).map { Double(trainSet.labels[$0]) }
        let valOrder = SimilarityAnalysis.order(key: valSum, tieBreak: valTarget)
        let trainOrder = SimilarityAnalysis.order(key: trainSum, tieBreak: trainTarget)
        // Test rows: validation points then training points, each in sorted order.
        let valRows = valSet.inputs.gatherRows(valOrder), trainRows = trainSet.inputs.gatherRows(trainOrder)
        let inputs = Tensor(shape: [n] + Array(valRows.shape.dropFirst()), storage: valRows.storage + trainRows.storage)
        let labels = valOrder.map { valSet.labels[$0] } + trainOrder.map { trainSet.labels[$0] }
        let sortedValSum = valOrder.map { valSum[$0] }

        // Layer groups and where their components sit inside the concatenated "model" vector.
        let groups = ModuloTransformer.componentGroups
        let all = groups.last!.components
        var offsetInAll: [String: Range<Int>] = [:]
        var cursor = 0
        for name in all {
            let c = layout.component(named: name)!; offsetInAll[name] = cursor..<(cursor + c.count); cursor += c.count
        }
        let Pall = cursor
        let G = groups.count
        let groupComponentIndex = groups.map { g in g.components.map { layout.component(named: $0)!.index } }

        // The run's own key frequencies: dominant Fourier components of the final embedding (tokens 0 … 112).
        let final = try history.parameters(at: T)
        let emb = layout.component(named: "input_emb.weight")!, dec = layout.component(named: "decoder.weight")!
        let embeddingPower = SimilarityAnalysis.tokenFourierPower(
            Array(final[emb.range]), width: emb.shape[1], prime: prime)
        let decoderPower = SimilarityAnalysis.tokenFourierPower(
            Array(final[dec.range]), width: dec.shape[1], prime: prime)
        let keyFrequencies = SimilarityAnalysis.top(embeddingPower, count: config.keyFrequencyCount).map { $0 + 1 }
        let keyPeriods = keyFrequencies.map { Double(prime) / Double($0) }
        let referencePeriods = config.referencePeriods.map(Double.init)
        let periods = (2...prime).map(Double.init), frequencies = (1...(prime / 2)).map { Double(prime) / Double($0) }
        Log.info(
            "key frequencies of the final embedding: \(keyFrequencies) (periods \(keyPeriods.map { String(format: "%.2f", $0) }.joined(separator: ", "))); decoder: \(SimilarityAnalysis.top(decoderPower, count: config.keyFrequencyCount).map { $0 + 1 })"
        )

        let starts = Array(stride(from: 0, to: T, by: config.snapshotInterval))
        let ends = starts.map { min($0 + config.snapshotInterval, T) }
        let I = starts.count
        var cosVal = [[Float]](repeating: [], count: G), cosTrainVal = [[Float]](repeating: [], count: G)
        var pcaScores = [[Double]](repeating: [], count: G)
        var pcaExplained = [Double](repeating: 0, count: I * G * 2)
        var kernelL1 = [Double](repeating: 0, count: I * G), regL1 = kernelL1, difference = kernelL1
        var refCorr = kernelL1, keyCorr = kernelL1
        var linear2PeriodR2: [Double] = [], linear2FrequencyR2: [Double] = []
        var stepKernelL1 = [Double](repeating: 0, count: T * G), stepRegL1 = stepKernelL1
        var replicationError = [Double](repeating: 0, count: I)
        var totalKernel = [Float](repeating: 0, count: n * Pall)
        let linear2 = groups.firstIndex { $0.name == "linear2" }!

        /// Per-group vectors (rows × P_g) out of the concatenated (n × Pall) matrix, for the given rows.
        func groupVectors(_ values: [Float], group g: Int, rows: Range<Int>) -> (values: [Float], width: Int) {
            let ranges = groups[g].components.map { offsetInAll[$0]! }
            let width = ranges.reduce(0) { $0 + $1.count }
            var outv = [Float](repeating: 0, count: rows.count * width)
            for (i, r) in rows.enumerated() {
                var o = i * width
                for range in ranges {
                    outv.replaceSubrange(
                        o..<(o + range.count),
                        with: values[(r * Pall + range.lowerBound)..<(r * Pall + range.upperBound)])
                    o += range.count
                }
            }
            return (outv, width)
        }

        let budget = Int(config.memoryBudgetGb * 1_073_741_824)
        let progress = Progress(label: "component-attribution", total: T)
        Log.info(
            "component-attribution: \(nv) validation + \(nt) training points, \(I) intervals of \(config.snapshotInterval) steps (T = \(T)), \(config.quadrature.rule.rawValue) \(config.quadrature.points) points (\(config.quadrature.earlyPoints) for the first \(config.quadrature.earlySteps) steps)"
        )
        let began = Date()
        for (ii, s) in starts.enumerated() {
            var options = EPKOptions(
                quadrature: config.quadrature, classes: .target, attributionClasses: .selected,
                parameterAttribution: ParameterAttributionOptions(components: all, snapshotInterval: nil),
                memoryBudgetBytes: budget, steps: s..<ends[ii])
            let base = s
            options.progress = { done, _ in progress.advance(status: "interval \(ii + 1)/\(I), step \(base + done)") }
            let engine = try EPKEngine(model: model, history: history, data: DatasetReplay(trainSet), options: options)
            let result = try engine.run(testInputs: inputs, testLabels: labels)
            let pa = result.parameterAttribution!
            precondition(pa.parameterCount == Pall)
            for i in 0..<(n * Pall) { totalKernel[i] += pa.kernelTotal[i] }
            // Replication check of the interval.
            var err = 0.0
            for i in result.stepTruth.indices { err += Double(abs(result.stepTruth[i] - result.stepPredicted[i])) }
            replicationError[ii] = err / Double(max(1, result.stepTruth.count))
            // Per-step balance at the focus (label) class, validation rows.
            let K = result.componentCount
            for t in 0..<result.steps.count {
                for g in 0..<G {
                    var k = 0.0, r = 0.0
                    for a in 0..<nv {
                        var sk = 0.0, sr = 0.0
                        for c in groupComponentIndex[g] {
                            sk += Double(result.stepKernelFocus[(t * n + a) * K + c]);
                            sr += Double(result.stepRegularizationFocus[(t * n + a) * K + c])
                        }
                        k += abs(sk); r += abs(sr)
                    }
                    stepKernelL1[(s + t) * G + g] = k; stepRegL1[(s + t) * G + g] = r
                }
            }
            for g in 0..<G {
                let kv = groupVectors(pa.kernelTotal, group: g, rows: 0..<nv)
                let rv = groupVectors(pa.regularizationTotal, group: g, rows: 0..<nv)
                let tv = groupVectors(pa.kernelTotal, group: g, rows: nv..<n)
                var kl = 0.0, rl = 0.0, d = 0.0
                for a in 0..<nv {
                    var sk = 0.0, sr = 0.0
                    for p in 0..<kv.width {
                        let x = Double(kv.values[a * kv.width + p]), y = Double(rv.values[a * kv.width + p])
                        sk += x; sr += y; d += abs(x) - abs(y)
                    }
                    kl += abs(sk); rl += abs(sr)
                }
                kernelL1[ii * G + g] = kl; regL1[ii * G + g] = rl; difference[ii * G + g] = d
                let cv = SimilarityAnalysis.cosine(kv.values, rows: nv, width: kv.width)
                let ctv = SimilarityAnalysis.cosine(kv.values, rows: nv, tv.values, rows: nt, width: kv.width)
                cosVal[g] += cv.map(Float.init); cosTrainVal[g] += ctv.map(Float.init)
                let pca = SimilarityAnalysis.pca2(gram: cv, rows: nv)
                pcaScores[g] += pca.scores
                pcaExplained[(ii * G + g) * 2] = pca.explained[0]; pcaExplained[(ii * G + g) * 2 + 1] = pca.explained[1]
                refCorr[ii * G + g] = SimilarityAnalysis.referenceCorrelation(
                    cv, keys: sortedValSum, periods: referencePeriods)
                keyCorr[ii * G + g] = SimilarityAnalysis.referenceCorrelation(
                    cv, keys: sortedValSum, periods: keyPeriods)
                if g == linear2 {
                    linear2PeriodR2 += SimilarityAnalysis.periodFit(cv, keys: sortedValSum, periods: periods)
                    linear2FrequencyR2 += SimilarityAnalysis.periodFit(cv, keys: sortedValSum, periods: frequencies)
                }
            }
            let l2 = ii * G + linear2
            Log.info(
                String(
                    format:
                        "interval [%d, %d): step error %.2g; linear2 key-frequency corr %.3f, reference corr %.3f; embedding %.3f, decoder %.3f; kernel/reg (model) %.3g (%.0f s)",
                    s, ends[ii], replicationError[ii], keyCorr[l2], refCorr[l2], keyCorr[ii * G], keyCorr[ii * G + 5],
                    kernelL1[ii * G + G - 1] / max(regL1[ii * G + G - 1], 1e-300), Date().timeIntervalSince(began)))
        }
        progress.finish()

        // Whole-history vectors.
        var cosValTotal = [[Float]](), cosTrainValTotal = [[Float]](), totalPeriodR2: [Double] = [],
            totalFrequencyR2: [Double] = []
        var totalKeyCorr: [Double] = []
        for g in 0..<G {
            let kv = groupVectors(totalKernel, group: g, rows: 0..<nv),
                tv = groupVectors(totalKernel, group: g, rows: nv..<n)
            let cv = SimilarityAnalysis.cosine(kv.values, rows: nv, width: kv.width)
            cosValTotal.append(cv.map(Float.init))
            cosTrainValTotal.append(
                SimilarityAnalysis.cosine(kv.values, rows: nv, tv.values, rows: nt, width: kv.width).map(Float.init))
            totalPeriodR2 += SimilarityAnalysis.periodFit(cv, keys: sortedValSum, periods: periods)
            totalFrequencyR2 += SimilarityAnalysis.periodFit(cv, keys: sortedValSum, periods: frequencies)
            totalKeyCorr.append(SimilarityAnalysis.referenceCorrelation(cv, keys: sortedValSum, periods: keyPeriods))
        }
        let l2Periods = (0..<periods.count).map { totalPeriodR2[linear2 * periods.count + $0] }
        let l2Freqs = (0..<frequencies.count).map { totalFrequencyR2[linear2 * frequencies.count + $0] }
        Log.info(
            "linear2 (whole history): dominant periods \(SimilarityAnalysis.top(l2Periods, count: 5).map { Int(periods[$0]) }) R² \(SimilarityAnalysis.top(l2Periods, count: 5).map { String(format: "%.3f", l2Periods[$0]) }); dominant frequencies \(SimilarityAnalysis.top(l2Freqs, count: 5).map { $0 + 1 }) R² \(SimilarityAnalysis.top(l2Freqs, count: 5).map { String(format: "%.3f", l2Freqs[$0]) }); key-frequency correlation per group \(zip(groups.map(\.name), totalKeyCorr).map { "\($0.0) \(String(format: "%.3f", $0.1))" })"
        )

        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = out + "/attribution.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setAttribute("history", config.history)
            try root.setJSONAttribute("groups", groups.map(\.name))
            try root.setJSONAttribute("group_slugs", groups.map { slug($0.name) })
            try root.setJSONAttribute("group_components", groups.map(\.components))
            try root.setAttribute("step_count", T)
            try root.setAttribute("snapshot_interval", config.snapshotInterval)
            try root.setJSONAttribute("figure_steps", config.figureSteps)
            try root.setJSONAttribute("quadrature", config.quadrature)
            try root.setAttribute("attribution_class", "target (label) class of each point; kernel part only")
            let sn = try root.createGroup("snapshots")
            _ = try sn.write("start", starts.map(Int32.init), shape: [I])
            _ = try sn.write("end", ends.map(Int32.init), shape: [I])
            let keys = try root.createGroup("keys")
            _ = try keys.write("val_sum", sortedValSum, shape: [nv])
            _ = try keys.write("val_target", valOrder.map { valTarget[$0] }, shape: [nv])
            _ = try keys.write("train_sum", trainOrder.map { trainSum[$0] }, shape: [nt])
            _ = try keys.write("train_target", trainOrder.map { trainTarget[$0] }, shape: [nt])
            let cg = try root.createGroup("cosine"), pg = try root.createGroup("pca")
            for g in 0..<G {
                let h = try cg.createGroup(slug(groups[g].name))
                _ = try h.write("val", cosVal[g], shape: [I, nv, nv])
                _ = try h.write("train_val", cosTrainVal[g], shape: [I, nv, nt])
                _ = try h.write("val_total", cosValTotal[g], shape: [nv, nv])
                _ = try h.write("train_val_total", cosTrainValTotal[g], shape: [nv, nt])
                _ = try pg.write(slug(groups[g].name), pcaScores[g], shape: [I, nv, 2])
            }
            _ = try pg.write("explained", pcaExplained, shape: [I, G, 2])
            let b = try root.createGroup("balance")
            _ = try b.write("kernel_l1", kernelL1, shape: [I, G])
            _ = try b.write("reg_l1", regL1, shape: [I, G])
            _ = try b.write("difference", difference, shape: [I, G])
            let st = try root.createGroup("steps")
            _ = try st.write("index", (0..<T).map(Int32.init), shape: [T])
            _ = try st.write("kernel_l1", stepKernelL1, shape: [T, G])
            _ = try st.write("reg_l1", stepRegL1, shape: [T, G])
            let f = try root.createGroup("fourier")
            try f.setAttribute("key_frequencies", keyFrequencies)
            try f.setAttribute("reference_periods", config.referencePeriods)
            try f.setAttribute(
                "decoder_key_frequencies",
                SimilarityAnalysis.top(decoderPower, count: config.keyFrequencyCount).map { $0 + 1 })
            _ = try f.write("reference_correlation", refCorr, shape: [I, G])
            _ = try f.write("key_correlation", keyCorr, shape: [I, G])
            _ = try f.write("total_key_correlation", totalKeyCorr, shape: [G])
            _ = try f.write("periods", periods, shape: [periods.count])
            _ = try f.write("linear2_period_r2", linear2PeriodR2, shape: [I, periods.count])
            _ = try f.write("linear2_frequency_r2", linear2FrequencyR2, shape: [I, frequencies.count])
            _ = try f.write("total_period_r2", totalPeriodR2, shape: [G, periods.count])
            _ = try f.write("total_frequency_r2", totalFrequencyR2, shape: [G, frequencies.count])
            _ = try f.write("embedding_power", embeddingPower, shape: [embeddingPower.count])
            _ = try f.write("decoder_power", decoderPower, shape: [decoderPower.count])
            let rp = try root.createGroup("replication")
            _ = try rp.write("mean_step_error", replicationError, shape: [I])
        }
        func perGroup(_ v: [Double]) -> [String: [Double]] {
            Dictionary(
                uniqueKeysWithValues: groups.enumerated().map { g, grp in
                    (grp.name, (0..<I).map { (v[$0 * G + g] * 1e4).rounded() / 1e4 })
                })
        }
        let topPeriods = SimilarityAnalysis.top(l2Periods, count: 8),
            topFreqs = SimilarityAnalysis.top(l2Freqs, count: 8)
        try writeSummary(
            [
                "validation_points": nv, "training_points": nt, "step_count": T, "interval_starts": starts,
                "key_frequencies_embedding": keyFrequencies,
                "key_frequencies_decoder": SimilarityAnalysis.top(decoderPower, count: config.keyFrequencyCount).map {
                    $0 + 1
                },
                "embedding_power_fraction_top": SimilarityAnalysis.top(embeddingPower, count: 8).map {
                    ["k": $0 + 1, "fraction": embeddingPower[$0] / embeddingPower.reduce(0, +)]
                },
                "linear2_whole_history_top_periods": topPeriods.map {
                    ["period": Int(periods[$0]), "r2": l2Periods[$0]]
                },
                "linear2_whole_history_top_frequencies": topFreqs.map { ["k": $0 + 1, "r2": l2Freqs[$0]] },
                "whole_history_key_frequency_correlation": Dictionary(
                    uniqueKeysWithValues: zip(groups.map(\.name), totalKeyCorr).map { ($0, $1) }),
                "whole_history_reference_correlation": Dictionary(
                    uniqueKeysWithValues: groups.indices.map { g in
                        (
                            groups[g].name,
                            SimilarityAnalysis.referenceCorrelation(
                                cosValTotal[g].map(Double.init), keys: sortedValSum, periods: referencePeriods)
                        )
                    }),
                "key_frequency_correlation": perGroup(keyCorr), "reference_correlation": perGroup(refCorr),
                "kernel_over_reg_l1": perGroup((0..<(I * G)).map { kernelL1[$0] / max(regL1[$0], 1e-300) }),
                "difference_D": perGroup(difference),
                "mean_step_error": replicationError,
            ], to: out + "/summary.json")
        // Text report (docs/METHOD.md §16): the first 10 validation points (dataset order) and their nearest and farthest
        // neighbours by whole-history attribution similarity, per layer group.
        let sortedSamples = valOrder.map { i in
            SimilarityAnalysis.Sample(
                a: Int(valSet.inputs.storage[i * 4]), b: Int(valSet.inputs.storage[i * 4 + 2]), target: valSet.labels[i]
            )
        }
        let queries = (0..<min(10, nv)).map { i in valOrder.firstIndex(of: i)! }
        var report = [
            "# Most and least similar validation samples by whole-history attribution (cosine)", "",
            "History \(config.history), \(nv) validation points, steps 0..<\(T); kernel part at each point's target class.",
            "",
        ]
        for g in 0..<G {
            report.append(
                SimilarityAnalysis.neighbourReport(
                    title: groups[g].name, cosine: cosValTotal[g].map(Double.init),
                    samples: sortedSamples, queries: queries, count: min(10, nv - 1)))
        }
        try AtomicFile.write(data: Data(report.joined(separator: "\n").utf8), to: out + "/similar-samples.md")
        renderFigures(path, directory: out)
        return path
    }
}
