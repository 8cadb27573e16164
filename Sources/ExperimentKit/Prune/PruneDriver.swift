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
/// `prunable_count`, `test_count`, `epk_mean_abs_error`, `epk_max_abs_error`, `epk_seconds` (with `--scores`: the
/// exact merge of the shards' error sums and the sum of their EPK seconds), `epk_shards` (score shard files merged; 0
/// when the run computed the scores itself), provenance.
public enum PruneDriver {
    public static let kind = ArtifactKind.prune.rawValue

    public struct Summary: Sendable {
        public var path: String
        /// Per grid, method: mean accuracy over seeds at each fraction.
        public var meanAccuracy: [String: [String: [Double]]]
        public var epkMeanAbsoluteError: Double
        /// The (seeds, P) ExPLAIND scores pruned by (nil when no ExPLAIND method ran).
        public var scores: [[Float]]?
    }

    /// `prune --score-shard i/n`: the EPK importance of pool images `shard.range(of: scoring_pool)` only, written to
    /// `<out>/scores-shard-i-of-n.h5` (`PruneScoreShard`); no pruning is evaluated. Returns the file's path.
    public static func scoreShard(
        configPath: String, historyOverride: String?, outputDirectory: String?, dataDirectory: String?, shard: Shard
    ) throws -> String {
        let s = try PruneSetup(configPath: configPath, historyOverride: historyOverride, dataDirectory: dataDirectory)
        let images = shard.range(of: s.pool)
        guard !images.isEmpty else {
            throw ArtifactError(
                .invalidArgument,
                "--score-shard \(shard.index + 1)/\(shard.count): a scoring pool of \(s.pool) images has no image for this shard; use at most \(s.pool) shards"
            )
        }
        let out = outputDirectory ?? "results/prune/\(s.config.run)"
        // Shards of one run may share the folder and run at the same time: each takes its own lock.
        try OutputLock.acquire(directory: out, name: ".explaind-scores-\(shard.fileSuffix).lock")
        Log.info(
            "prune score shard \(shard.index + 1)/\(shard.count): EPK importance of pool images \(images.lowerBound)..<\(images.upperBound) of \(s.pool), \(s.setup.history.stepCount) steps, seeds \(s.config.seeds)"
        )
        let epk = try s.computeScores(images: images, label: "epk scores \(shard.index + 1)/\(shard.count)")
        Log.info(
            String(
                format: "EPK scores in %.0f s; replication mean |f̂ − f| %.3g, max %.3g", epk.seconds,
                epk.meanAbsoluteError, epk.maxAbsoluteError))
        let path = out + "/" + PruneScoreShard.fileName(shard)
        let configJSON = try String(contentsOfFile: configPath, encoding: .utf8)
        try PruneScoreShard(setup: s, shard: shard, images: images, importance: epk).write(
            to: path, configJSON: configJSON)
        return path
    }

    /// A whole `prune` run: the ExPLAIND scores are computed here, or with `scoresDirectory` summed from the score
    /// shards in that folder (`PruneScoreMerge` checks them); then every method is evaluated and `prune.h5` written.
    public static func run(
        configPath: String, historyOverride: String?, outputDirectory: String?,
        dataDirectory: String?, scoresDirectory: String? = nil
    ) throws -> Summary {
        let s = try PruneSetup(configPath: configPath, historyOverride: historyOverride, dataDirectory: dataDirectory)
        let config = s.config, historyPath = s.historyPath
        let model = s.model, layout = model.layout, P = model.parameterCount, C = model.classCount
        let n = config.testCount, inputs = s.inputs, labels = s.labels
        let out = outputDirectory ?? "results/prune/\(config.run)"
        try OutputLock.acquire(directory: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        let S = config.seeds.count, pool = config.scoringPool, scoringCount = s.scoringCount
        let scoring = s.scoring, heldOut = s.heldOut
        let T = s.setup.history.stepCount
        let theta = s.theta
        let base = model.forwardChunked(parameters: theta, inputs: inputs, chunk: 64).storage
        let prunable = s.prunable, prunableCount = s.prunableCount
        Log.info(
            "prune: \(model.name), P = \(P) (\(prunableCount) prunable), \(T) steps; \(n) test images (EPK on the first \(pool)), \(scoringCount) scoring / \(n - scoringCount) evaluation per seed, seeds \(config.seeds)"
        )

        // Importance scores.
        var epk: PruneScores?
        let methods = config.methods
        if let directory = scoresDirectory {
            epk = try PruneScoreMerge.load(directory: directory, setup: s)
            Log.info(
                String(
                    format: "EPK scores from %d shards in %@ (%.0f s of EPK); replication mean |f̂ − f| %.3g, max %.3g",
                    epk!.shards, directory, epk!.seconds, epk!.meanAbsoluteError, epk!.maxAbsoluteError))
        } else if methods.contains(.explaind) || methods.contains(.explaindModule) {
            epk = PruneScores(try s.computeScores(images: 0..<pool, label: "epk scores"))
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
            try root.setAttribute("epk_shards", epk?.shards ?? 0)
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
        return Summary(
            path: path, meanAccuracy: summary, epkMeanAbsoluteError: epk?.meanAbsoluteError ?? .nan,
            scores: epk?.scores)
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
