import Analysis
import Artifacts
import Foundation

/// The ExPLAIND importance scores a `prune` run prunes by: computed in the run, or summed from score shards.
struct PruneScores {
    /// (seeds, P) scores.
    var scores: [[Float]]
    var meanAbsoluteError: Double
    var maxAbsoluteError: Double
    /// EPK seconds (summed over the shards).
    var seconds: Double
    /// Shard files merged; 0 when the run computed the scores itself.
    var shards: Int

    init(_ e: EPKImportance) {
        scores = e.scores; meanAbsoluteError = e.meanAbsoluteError; maxAbsoluteError = e.maxAbsoluteError
        seconds = e.seconds; shards = 0
    }

    init(scores: [[Float]], meanAbsoluteError: Double, maxAbsoluteError: Double, seconds: Double, shards: Int) {
        self.scores = scores; self.meanAbsoluteError = meanAbsoluteError; self.maxAbsoluteError = maxAbsoluteError
        self.seconds = seconds; self.shards = shards
    }
}

/// `prune --scores DIR`: reads every `scores-shard-*.h5` in DIR and sums them after checking that they belong to this
/// run and tile its scoring pool. Refused, with one line naming the file and the fix: a shard of another score config
/// (`config_hash`), of another history (step count, training-data checksum or θ_T differ), of other test images, of
/// another split count n, a shard whose pool images are also in another file (a copy, or shards of different splits),
/// and a missing shard (named by the file it would have).
enum PruneScoreMerge {
    static let prefix = "scores-shard-"

    static func load(directory: String, setup s: PruneSetup) throws -> PruneScores {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".h5") }.sorted()
        } catch {
            throw ArtifactError(
                .notFound, file: directory, problem: "no such scores folder",
                fix: "pass the --out folder of the `prune --score-shard i/n` runs")
        }
        let rerun = "`prune --config \(s.configPath) --history \(s.historyPath) --score-shard i/n --out \(directory)`"
        guard !names.isEmpty else {
            throw ArtifactError(
                .notFound, file: directory, problem: "no \(prefix)i-of-n.h5 files",
                fix: "compute every shard first with \(rerun)")
        }
        let paths = names.map { (directory as NSString).appendingPathComponent($0) }
        let shards = try paths.map { try PruneScoreShard(path: $0) }
        let hash = s.scoreConfigHash, identity = s.historyIdentity, digest = s.poolDigest
        let P = s.model.parameterCount, S = s.config.seeds.count
        for (path, sh) in zip(paths, shards) {
            if sh.configHash != hash {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem:
                        "computed with another score config than \(s.configPath) (test_count, scoring_pool, scoring_fraction, seeds, never_pruned or quadrature differ)",
                    fix: "recompute it with \(rerun) or remove it")
            }
            if sh.history != identity {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem:
                        "scores another history (\(sh.historyPath): \(sh.history.summary)) than \(s.historyPath) (\(identity.summary))",
                    fix: "recompute it with \(rerun), or pass the --history its shards were computed on")
            }
            if sh.poolDigest != digest {
                throw ArtifactError(
                    .invalidArgument, file: path, problem: "attributes other test images than this run's scoring pool",
                    fix: "point --data at the data the shards were computed on, or recompute it with \(rerun)")
            }
            guard sh.scores.count == S, sh.scores.allSatisfy({ $0.count == P }) else {
                throw ArtifactError(
                    .invalidArgument, file: path, problem: "/scores is not (\(S) seeds, \(P) parameters)",
                    fix: "recompute it with \(rerun)")
            }
        }
        let n = shards[0].shard.count
        var owner = [String?](repeating: nil, count: s.pool)
        for (path, sh) in zip(paths, shards) {
            if sh.shard.count != n {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem: "is shard \(sh.shard.index + 1) of \(sh.shard.count), but \(paths[0]) is of \(n)",
                    fix: "keep the shards of one --score-shard i/\(n) split only")
            }
            let expected = Array(sh.shard.range(of: s.pool))
            if sh.poolIndices != expected {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem:
                        "covers pool images \(describe(sh.poolIndices)), but shard \(sh.shard.index + 1)/\(n) covers \(describe(expected))",
                    fix: "recompute it with \(rerun)")
            }
            for i in sh.poolIndices {
                if let other = owner[i] {
                    throw ArtifactError(
                        .invalidArgument, file: path,
                        problem:
                            "pool image \(i) is also in \(other) (overlapping shards: a shard given twice or a renamed copy)",
                        fix: "keep one file per shard i/\(n) in \(directory)")
                }
                owner[i] = path
            }
        }
        let present = Set(shards.map { $0.shard.index })
        if let missing = (0..<n).first(where: { !present.contains($0) }) {
            let shard = Shard(index: missing, count: n)
            let path = (directory as NSString).appendingPathComponent(PruneScoreShard.fileName(shard))
            throw ArtifactError(
                .notFound, file: path,
                problem: "missing: pool images \(describe(Array(shard.range(of: s.pool)))) are in no shard",
                fix:
                    "compute it with `prune --config \(s.configPath) --history \(s.historyPath) --score-shard \(missing + 1)/\(n) --out \(directory)`"
            )
        }
        // Sum in shard order (a fixed order, whatever the file names).
        var total = [[Float]](repeating: [Float](repeating: 0, count: P), count: S)
        var errorSum = 0.0, errorMax = 0.0, rows = 0, seconds = 0.0
        for sh in shards.sorted(by: { $0.shard.index < $1.shard.index }) {
            for k in 0..<S {
                total[k].withUnsafeMutableBufferPointer { dst in
                    sh.scores[k].withUnsafeBufferPointer { src in for p in 0..<P { dst[p] += src[p] } }
                }
            }
            errorSum += sh.errorSum; errorMax = max(errorMax, sh.errorMax); rows += sh.rows; seconds += sh.seconds
        }
        return PruneScores(
            scores: total, meanAbsoluteError: errorSum / Double(max(1, rows)), maxAbsoluteError: errorMax,
            seconds: seconds, shards: n)
    }

    /// "30..<60" for a contiguous run, else the count.
    static func describe(_ indices: [Int]) -> String {
        guard let first = indices.first else { return "none" }
        return indices == Array(first..<(first + indices.count))
            ? "\(first)..<\(first + indices.count)" : "\(indices.count) scattered images"
    }
}
