import Analysis
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor

/// `prune` (docs/METHOD.md §15): one-shot pruning of a CIFAR-2 ResNet-9 by ExPLAIND component scores against magnitude,
/// first-order Taylor and random baselines, on per-seed scoring/evaluation splits of the test set.
///
/// Artifact `prune.h5` (kind "prune"):
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/splits/scoring`, `/splits/evaluation` | (seeds, n_s), (seeds, n_e) i32 | test indices of each seed's splits |
/// | `/unpruned/accuracy` | (seeds) f64 | accuracy of the unpruned model on each evaluation split |
/// | `/<grid>/fractions` | (G) f64 | requested pruned fractions of the prunable scalars (grid = coarse, fine) |
/// | `/<grid>/<method>/accuracy`, `agreement`, `kl` | (seeds, G) f64 | held-out metrics (see `PruneMetrics`) |
/// | `/<grid>/<method>/parameters_left` | (seeds, G) f64 | non-zero scalars left in the whole model |
/// | `/<grid>/<method>/fraction_pruned` | (seeds, G) f64 | 1 − parameters_left / P (the plotted x, docs/METHOD.md §15) |
/// | `/<grid>/<method>/layer_pruned` | (seeds, G, K) f64 | fraction of zeros per component |
///
/// Root attributes: `kind`, `config`, `history`, `methods` (JSON), `components` (JSON), `parameter_count`,
/// `prunable_count`, `test_count`, `epk_mean_abs_error`, `epk_max_abs_error`, `epk_seconds`, provenance.
public enum PruneDriver {
    public static let kind = ArtifactKind.prune.rawValue

    public struct Summary: Sendable {
        public var path: String
        /// Per grid, method: mean accuracy over seeds at each fraction.
        public var meanAccuracy: [String: [String: [Double]]]
        public var epkMeanAbsoluteError: Double
    }

    public static func run(
        configPath: String, historyOverride: String?, outputDirectory: String?,
        dataDirectory: String?
    ) throws -> Summary {
        let config = try StrictConfig.load(PruneConfig.self, from: configPath)
        let historyPath = historyOverride ?? config.history
        guard FileManager.default.fileExists(atPath: historyPath) else {
            throw ArtifactError(
                .notFound, file: historyPath, problem: "no such history",
                fix:
                    "train first (`swift run -c release train-cifar2 --config Configs/cifar2-local.json`) or pass --history"
            )
        }
        let setup = try ReplaySetup(historyPath: historyPath, dataDirectory: dataDirectory)
        guard setup.trainConfig.experiment == "cifar2" else {
            throw ArtifactError(
                .config,
                "\(configPath): prune needs a cifar2 history, \(historyPath) is \(setup.trainConfig.experiment)")
        }
        let model = setup.model, layout = model.layout, P = model.parameterCount, C = model.classCount
        for name in config.neverPruned where layout.component(named: name) == nil {
            throw ArtifactError(
                .config,
                "\(configPath): key 'never_pruned': unknown component \(name) (model: \(layout.names.joined(separator: ", ")))"
            )
        }
        let evaluation = setup.data.evaluation
        guard config.testCount <= evaluation.count else {
            throw ArtifactError(
                .config,
                "\(configPath): key 'test_count': expected at most \(evaluation.count) (test images available), found \(config.testCount)"
            )
        }
        let n = config.testCount
        let inputs = evaluation.inputs.rows(0..<n)
        let labels = Array(evaluation.labels[0..<n])
        let out = outputDirectory ?? "results/prune/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        // Splits: a seeded permutation of the scoring pool per seed; its first round(f·pool) images score, the rest
        // of the pool and every image beyond it evaluate.
        let S = config.seeds.count, pool = config.scoringPool
        let scoringCount = max(1, min(pool - 1, Int((config.scoringFraction * Double(pool)).rounded())))
        var scoring: [[Int]] = [], heldOut: [[Int]] = []
        for seed in config.seeds {
            var rng = RNG(seed: UInt64(seed))
            let perm = rng.permutation(pool)
            scoring.append(Array(perm[0..<scoringCount]).sorted())
            heldOut.append((Array(perm[scoringCount...]) + Array(pool..<n)).sorted())
        }
        var membership = [[Int]](repeating: [], count: pool)
        for (s, set) in scoring.enumerated() { for a in set { membership[a].append(s) } }

        let T = setup.history.stepCount
        let theta = try setup.history.parameters(at: T)
        let base = model.forwardChunked(parameters: theta, inputs: inputs, chunk: 64).storage
        let prunable = Pruning.prunableRanges(layout, neverPruned: Set(config.neverPruned))
        let prunableNames = layout.components.filter { !config.neverPruned.contains($0.name) }.map { $0.name }
        let prunableCount = prunable.reduce(0) { $0 + $1.count }
        Log.info(
            "prune: \(model.name), P = \(P) (\(prunableCount) prunable), \(T) steps; \(n) test images (EPK on the first \(pool)), \(scoringCount) scoring / \(n - scoringCount) evaluation per seed, seeds \(config.seeds)"
        )

        // Importance scores.
        var epk: EPKImportance?
        let methods = config.methods
        if methods.contains(.explaind) || methods.contains(.explaindModule) {
            let progress = Progress(label: "epk scores", total: ((pool + config.epkChunk - 1) / config.epkChunk) * C)
            epk = try EPKImportance.compute(
                model: model, history: setup.history, data: DatasetReplay(setup.data.train),
                testInputs: inputs.rows(0..<pool), membership: membership, setCount: S, components: prunableNames,
                quadrature: config.quadrature, chunk: config.epkChunk,
                memoryBudgetBytes: Int(config.memoryBudgetGb * 1_073_741_824),
                progress: { d, _ in progress.advance(status: "pass \(d)") })
            progress.finish()
            Log.info(
                String(
                    format: "EPK scores in %.0f s; replication mean |f̂ − f| %.3g, max %.3g", epk!.seconds,
                    epk!.meanAbsoluteError, epk!.maxAbsoluteError))
        }

        let grids: [(String, [Double])] = [("coarse", config.coarse.values), ("fine", config.fine.values)]
        var results: [String: [String: GridResult]] = [:]
        var summary: [String: [String: [Double]]] = [:]
        let unprunedAccuracy = heldOut.map { rows in
            PruneMetrics.compute(
                base: gather(base, rows, C), pruned: gather(base, rows, C), labels: rows.map { labels[$0] }, classes: C
            ).accuracy
        }
        for method in methods {
            let start = Date()
            // Plans per seed (magnitude does not depend on the split: one plan evaluated on every split).
            var plans: [Pruning.Plan] = []
            switch method {
            case .explaind: plans = epk!.scores.map { Pruning.Plan(scores: $0, ranges: prunable, scope: .global) }
            case .explaindModule:
                plans = epk!.scores.map { Pruning.Plan(scores: $0, ranges: prunable, scope: .perModule) }
            case .magnitude:
                plans = [Pruning.Plan(scores: Pruning.magnitudeScores(theta), ranges: prunable, scope: .global)]
            case .taylor:
                plans = scoring.map { rows in
                    Pruning.Plan(
                        scores: Pruning.taylorScores(
                            model: model, theta: theta, inputs: inputs.gatherRows(rows),
                            labels: rows.map { labels[$0] }),
                        ranges: prunable, scope: .global)
                }
            case .random:
                plans = config.seeds.map {
                    Pruning.Plan(globalOrder: Pruning.randomOrder(ranges: prunable, seed: UInt64($0)), ranges: prunable)
                }
            }
            for (gridName, fractions) in grids {
                var r = GridResult(seeds: S, fractions: fractions.count, components: layout.components.count)
                for (g, f) in fractions.enumerated() {
                    for (pi, plan) in plans.enumerated() {
                        let pruned = plan.apply(to: theta, fraction: f)
                        let seedsOfPlan = plans.count == 1 ? Array(0..<S) : [pi]
                        let rows = Array(Set(seedsOfPlan.flatMap { heldOut[$0] })).sorted()
                        let outputs = model.forwardChunked(
                            parameters: pruned, inputs: inputs.gatherRows(rows), chunk: 64
                        ).storage
                        let position = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
                        let left = pruned.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
                        let layerZeros = layout.components.map { c in
                            Double(c.range.filter { pruned[$0] == 0 }.count) / Double(c.range.count)
                        }
                        for s in seedsOfPlan {
                            let local = heldOut[s].map { position[$0]! }
                            let m = PruneMetrics.compute(
                                base: gather(base, heldOut[s], C), pruned: gather(outputs, local, C),
                                labels: heldOut[s].map { labels[$0] }, classes: C)
                            r.set(seed: s, g: g, metrics: m, left: Double(left), total: Double(P), layers: layerZeros)
                        }
                    }
                }
                results[gridName, default: [:]][method.rawValue] = r
                summary[gridName, default: [:]][method.rawValue] = (0..<fractions.count).map { g in
                    (0..<S).map { r.accuracy[$0 * fractions.count + g] }.reduce(0, +) / Double(S)
                }
            }
            Log.info(String(format: "%@: %.0f s", method.rawValue, Date().timeIntervalSince(start)))
        }

        let path = out + "/prune.h5"
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setAttribute("history", historyPath)
            try root.setAttribute("experiment", "cifar2")
            try root.setJSONAttribute("methods", methods.map { $0.rawValue })
            try root.setJSONAttribute("components", layout.names)
            try root.setJSONAttribute("quadrature", config.quadrature)
            try root.setAttribute("parameter_count", P)
            try root.setAttribute("prunable_count", prunableCount)
            try root.setAttribute("test_count", n)
            try root.setAttribute("scoring_pool", pool)
            try root.setAttribute("scoring_count", scoringCount)
            try root.setAttribute("evaluation_count", n - scoringCount)
            try root.setAttribute("seeds", config.seeds)
            try root.setAttribute("epk_mean_abs_error", epk?.meanAbsoluteError ?? .nan)
            try root.setAttribute("epk_max_abs_error", epk?.maxAbsoluteError ?? .nan)
            try root.setAttribute("epk_seconds", epk?.seconds ?? .nan)
            try root.setAttribute(
                "kl_definition", "mean over examples of sum over classes p_unpruned (log p_unpruned - log p_pruned)")
            let splits = try root.createGroup("splits")
            try splits.write("scoring", scoring.flatMap { $0.map { Int32($0) } }, shape: [S, scoringCount])
                .setAttribute("axes", "seed, test index")
            try splits.write("evaluation", heldOut.flatMap { $0.map { Int32($0) } }, shape: [S, n - scoringCount])
                .setAttribute("axes", "seed, test index")
            try root.createGroup("unpruned").write("accuracy", unprunedAccuracy, shape: [S]).setAttribute(
                "axes", "seed")
            for (gridName, fractions) in grids {
                let g = try root.createGroup(gridName)
                try g.write("fractions", fractions, shape: [fractions.count]).setAttribute(
                    "axes", "requested fraction of prunable scalars pruned")
                for method in methods {
                    guard let r = results[gridName]?[method.rawValue] else { continue }
                    let m = try g.createGroup(method.rawValue)
                    let shape = [S, fractions.count]
                    try m.write("accuracy", r.accuracy, shape: shape).setAttribute("axes", "seed, fraction")
                    try m.write("agreement", r.agreement, shape: shape).setAttribute("axes", "seed, fraction")
                    try m.write("kl", r.kl, shape: shape).setAttribute("axes", "seed, fraction")
                    try m.write("parameters_left", r.left, shape: shape).setAttribute("axes", "seed, fraction")
                    try m.write("fraction_pruned", r.fractionPruned, shape: shape).setAttribute(
                        "axes", "seed, fraction")
                    try m.write("layer_pruned", r.layers, shape: [S, fractions.count, layout.components.count])
                        .setAttribute("axes", "seed, fraction, component")
                }
            }
        }
        renderFigures(path, directory: out)
        return Summary(path: path, meanAccuracy: summary, epkMeanAbsoluteError: epk?.meanAbsoluteError ?? .nan)
    }

    /// Rows of an (n, C) array.
    static func gather(_ values: [Float], _ rows: [Int], _ C: Int) -> [Float] {
        var out = [Float](); out.reserveCapacity(rows.count * C)
        for r in rows { out += values[(r * C)..<((r + 1) * C)] }
        return out
    }

    struct GridResult {
        let G: Int, K: Int
        var accuracy, agreement, kl, left, fractionPruned, layers: [Double]
        init(seeds S: Int, fractions G: Int, components K: Int) {
            self.G = G; self.K = K
            accuracy = [Double](repeating: .nan, count: S * G)
            agreement = accuracy; kl = accuracy; left = accuracy; fractionPruned = accuracy
            layers = [Double](repeating: .nan, count: S * G * K)
        }
        mutating func set(
            seed s: Int, g: Int, metrics m: PruneMetrics, left l: Double, total: Double, layers z: [Double]
        ) {
            accuracy[s * G + g] = m.accuracy; agreement[s * G + g] = m.agreement; kl[s * G + g] = m.kl
            left[s * G + g] = l; fractionPruned[s * G + g] = 1 - l / total
            for k in 0..<K { layers[(s * G + g) * K + k] = z[k] }
        }
    }
}
