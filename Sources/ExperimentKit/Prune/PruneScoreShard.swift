import Analysis
import Artifacts
import Foundation

/// One shard of the ExPLAIND importance scores of `prune` (docs/METHOD.md §15): the EPK importance of a contiguous
/// slice of the scoring pool, written by `prune --score-shard i/n` and summed by `prune --scores DIR`. The scores are
/// additive over test images (each image's Σ_c |PK[x, c, p]| is added to the score of every seed whose scoring split
/// holds it), so a shard holds partial per-seed sums and the sum over the shards of one split is the full score.
///
/// Artifact `scores-shard-i-of-n.h5` (kind "prune-scores"):
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/scores` | (seeds, P) f32 | partial importance: Σ over this shard's pool images in each seed's scoring split of Σ_c abs(PK[x, c, p]) (0 outside the prunable components) |
/// | `/pool_indices` | (m) i32 | the pool images (test indices) this shard attributed |
///
/// Root attributes: `kind`, `config` (text), `config_hash` (SHA-256 of the score-relevant keys, see
/// `PruneSetup.scoreConfigHash`), `shard_index` (1-based), `shard_count`, `scoring_pool`, `history` (path),
/// `history_steps`, `history_dataset_checksum`, `history_final_sha256` (θ_T), `pool_sha256` (the pool's input floats),
/// `epk_abs_error_sum`, `epk_max_abs_error`, `epk_rows` (the replication error Σ |f̂ − f|, its maximum and the number
/// of (image, class) rows, so the merged mean is exact), `epk_seconds`, provenance. Stored without compression: the
/// float mantissas of the sums barely compress.
struct PruneScoreShard {
    static let kind = "prune-scores"

    var shard: Shard
    var scoringPool: Int
    var poolIndices: [Int]
    /// (seeds, P) partial sums.
    var scores: [[Float]]
    var configHash: String
    var historyPath: String
    var history: PruneHistoryIdentity
    var poolDigest: String
    var errorSum: Double
    var errorMax: Double
    var rows: Int
    var seconds: Double

    static func fileName(_ shard: Shard) -> String { "scores-\(shard.fileSuffix).h5" }

    init(setup s: PruneSetup, shard: Shard, images: Range<Int>, importance e: EPKImportance) {
        self.shard = shard
        scoringPool = s.pool
        poolIndices = Array(images)
        scores = e.scores
        configHash = s.scoreConfigHash
        historyPath = s.historyPath
        history = s.historyIdentity
        poolDigest = s.poolDigest
        errorSum = e.absoluteErrorSum; errorMax = e.maxAbsoluteError; rows = e.rowCount; seconds = e.seconds
    }

    /// Writes the shard atomically (temporary name, then rename).
    func write(to path: String, configJSON: String) throws {
        let P = scores.first?.count ?? 0
        try ArtifactFile.write(to: path, kind: Self.kind, config: configJSON) { root in
            try root.setAttribute("config_hash", configHash)
            try root.setAttribute("shard_index", shard.index + 1)
            try root.setAttribute("shard_count", shard.count)
            try root.setAttribute("scoring_pool", scoringPool)
            try root.setAttribute("history", historyPath)
            try root.setAttribute("history_steps", history.steps)
            try root.setAttribute("history_dataset_checksum", history.datasetChecksum)
            try root.setAttribute("history_final_sha256", history.finalParametersSHA256)
            try root.setAttribute("pool_sha256", poolDigest)
            try root.setAttribute("epk_abs_error_sum", errorSum)
            try root.setAttribute("epk_max_abs_error", errorMax)
            try root.setAttribute("epk_rows", rows)
            try root.setAttribute("epk_seconds", seconds)
            try root.write("scores", scores.flatMap { $0 }, shape: [scores.count, P]).setAttribute(
                "axes", "seed, parameter")
            try root.write("pool_indices", poolIndices.map { Int32($0) }, shape: [poolIndices.count]).setAttribute(
                "axes", "test index")
        }
    }

    /// Reads a shard file; anything else (another kind, a missing attribute or dataset) is one line naming the file.
    init(path: String) throws {
        func bad(_ problem: String) -> ArtifactError {
            ArtifactError(
                .corrupt, file: path, problem: problem,
                fix: "remove it from the scores folder or recompute it with `prune --score-shard i/n`")
        }
        let file: HDF5File
        do { file = try HDF5File(path: path, mode: .read) } catch { throw bad("not a readable HDF5 file") }
        defer { file.close() }
        do {
            let root = try file.root
            let kind = root.hasAttribute("kind") ? try root.stringAttribute("kind") : "none"
            guard kind == Self.kind else { throw bad("kind '\(kind)', not a prune score shard ('\(Self.kind)')") }
            let index = try root.intAttribute("shard_index"), count = try root.intAttribute("shard_count")
            guard index >= 1, index <= count else { throw bad("shard_index \(index) outside 1…\(count)") }
            shard = Shard(index: index - 1, count: count)
            scoringPool = try root.intAttribute("scoring_pool")
            configHash = try root.stringAttribute("config_hash")
            historyPath = try root.stringAttribute("history")
            history = PruneHistoryIdentity(
                steps: try root.intAttribute("history_steps"),
                datasetChecksum: try root.stringAttribute("history_dataset_checksum"),
                finalParametersSHA256: try root.stringAttribute("history_final_sha256"))
            poolDigest = try root.stringAttribute("pool_sha256")
            errorSum = try root.doubleAttribute("epk_abs_error_sum")
            errorMax = try root.doubleAttribute("epk_max_abs_error")
            rows = try root.intAttribute("epk_rows")
            seconds = try root.doubleAttribute("epk_seconds")
            let (values, shape) = try root.read("scores", as: Float.self)
            guard shape.count == 2 else { throw bad("/scores has shape \(shape), expected (seeds, P)") }
            scores = (0..<shape[0]).map { Array(values[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
            poolIndices = try root.read("pool_indices", as: Int32.self).values.map { Int($0) }
        } catch let e as ArtifactError where e.description.hasPrefix(path) {
            throw e
        } catch {
            throw bad("unreadable score shard (\(error))")
        }
    }
}
