import Analysis
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor

/// Everything a `prune` run and a `prune --score-shard` run share: the checked config, the replayed history, the test
/// images, each seed's scoring and evaluation split (docs/METHOD.md §15) and the identities a score shard records.
struct PruneSetup {
    let configPath: String
    let config: PruneConfig
    let historyPath: String
    let setup: ReplaySetup
    /// The first `test_count` test images and their labels.
    let inputs: Tensor
    let labels: [Int]
    /// Per seed: sorted test indices of its scoring split and of its evaluation split.
    let scoring: [[Int]]
    let heldOut: [[Int]]
    /// Per pool image: the seeds whose scoring split holds it.
    let membership: [[Int]]
    let scoringCount: Int
    let prunable: [Range<Int>]
    let prunableNames: [String]
    let prunableCount: Int
    /// θ_T, the model that is pruned.
    let theta: [Float]

    var model: Model { setup.model }
    var pool: Int { config.scoringPool }

    init(configPath: String, historyOverride: String?, dataDirectory: String?) throws {
        self.configPath = configPath
        config = try StrictConfig.load(PruneConfig.self, from: configPath)
        historyPath = historyOverride ?? config.history
        guard FileManager.default.fileExists(atPath: historyPath) else {
            throw ArtifactError(
                .notFound, file: historyPath, problem: "no such history",
                fix:
                    "train first (`swift run -c release train-cifar2 --config Configs/cifar2-local.json`) or pass --history"
            )
        }
        setup = try ReplaySetup(historyPath: historyPath, dataDirectory: dataDirectory)
        guard setup.trainConfig.experiment == "cifar2" else {
            throw ArtifactError(
                .config,
                "\(configPath): prune needs a cifar2 history, \(historyPath) is \(setup.trainConfig.experiment)")
        }
        let layout = setup.model.layout
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
        inputs = evaluation.inputs.rows(0..<n)
        labels = Array(evaluation.labels[0..<n])

        // Splits: a seeded permutation of the scoring pool per seed; its first round(f·pool) images score, the rest
        // of the pool and every image beyond it evaluate.
        let pool = config.scoringPool
        scoringCount = Self.scoringCount(config)
        var scoring: [[Int]] = [], heldOut: [[Int]] = []
        for seed in config.seeds {
            var rng = RNG(seed: UInt64(seed))
            let perm = rng.permutation(pool)
            scoring.append(Array(perm[0..<scoringCount]).sorted())
            heldOut.append((Array(perm[scoringCount...]) + Array(pool..<n)).sorted())
        }
        var membership = [[Int]](repeating: [], count: pool)
        for (s, set) in scoring.enumerated() { for a in set { membership[a].append(s) } }
        self.scoring = scoring; self.heldOut = heldOut; self.membership = membership

        theta = try setup.history.parameters(at: setup.history.stepCount)
        prunable = Pruning.prunableRanges(layout, neverPruned: Set(config.neverPruned))
        let neverPruned = config.neverPruned
        prunableNames = layout.components.filter { !neverPruned.contains($0.name) }.map { $0.name }
        prunableCount = prunable.reduce(0) { $0 + $1.count }
    }

    /// Images in each seed's scoring split: round(scoring_fraction · scoring_pool), kept in 1 … pool − 1.
    static func scoringCount(_ config: PruneConfig) -> Int {
        max(1, min(config.scoringPool - 1, Int((config.scoringFraction * Double(config.scoringPool)).rounded())))
    }

    /// The EPK importance of the pool images `images` (a contiguous slice of `0..<pool`): partial per-seed sums.
    func computeScores(images: Range<Int>, label: String) throws -> EPKImportance {
        let progress = Progress(label: label, total: (images.count + config.epkChunk - 1) / config.epkChunk)
        let epk = try EPKImportance.compute(
            model: model, history: setup.history, data: DatasetReplay(setup.data.train),
            testInputs: inputs.rows(images), membership: Array(membership[images]), setCount: config.seeds.count,
            components: prunableNames, quadrature: config.quadrature, chunk: config.epkChunk,
            memoryBudgetBytes: Int(config.memoryBudgetGb * 1_073_741_824),
            progress: { d, _ in progress.advance(status: "pass \(d)") })
        progress.finish()
        return epk
    }

    // MARK: Identities a score shard records

    /// SHA-256 (hex) of the config keys that change the scores: test_count, scoring_pool, scoring_fraction, seeds,
    /// never_pruned and quadrature (canonical JSON with sorted keys). `run`, `history`, the grids, the methods,
    /// `epk_chunk` and the memory budget do not enter it.
    var scoreConfigHash: String { Self.scoreConfigHash(config) }

    static func scoreConfigHash(_ c: PruneConfig) -> String {
        struct Keys: Encodable {
            var test_count: Int, scoring_pool: Int, scoring_fraction: Double, seeds: [Int], never_pruned: [String]
            var quadrature: QuadratureConfig
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let keys = Keys(
            test_count: c.testCount, scoring_pool: c.scoringPool, scoring_fraction: c.scoringFraction, seeds: c.seeds,
            never_pruned: c.neverPruned, quadrature: c.quadrature)
        // Encoding plain numbers, strings and arrays cannot fail.
        return SHA256.hexDigest(try! encoder.encode(keys))
    }

    /// What identifies the history independently of its path (shards may run on other machines): the step count,
    /// the training-data checksum it recorded and the SHA-256 of θ_T's float32 bytes.
    var historyIdentity: PruneHistoryIdentity {
        PruneHistoryIdentity(
            steps: setup.history.stepCount, datasetChecksum: setup.history.datasetChecksum,
            finalParametersSHA256: theta.withUnsafeBytes { SHA256.hexDigest($0) })
    }

    /// SHA-256 of the scoring pool's input floats: the same test images under every data folder.
    var poolDigest: String { inputs.rows(0..<pool).storage.withUnsafeBytes { SHA256.hexDigest($0) } }
}

/// A history's identity as a score shard records it (see `PruneSetup.historyIdentity`).
struct PruneHistoryIdentity: Equatable {
    var steps: Int
    var datasetChecksum: String
    var finalParametersSHA256: String
    var summary: String { "\(steps) steps, θ_T sha256 \(finalParametersSHA256.prefix(12))…" }
}
