import Artifacts
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// `prune --score-shard i/n` and `prune --scores DIR` on the quick config and the quick CIFAR-2 history: the merged
/// shards reproduce the unsharded scores and metrics, and a folder that does not tile the run is refused with one
/// line naming the file.
final class PruneShardTests: XCTestCase {
    static let work = NSTemporaryDirectory() + "prune-shards-\(getpid())"
    static let config = repositoryRoot + "/Configs/prune-quick.json"
    nonisolated(unsafe) static var shardFolder: String? = nil

    /// The shard files and the second history take a few hundred MB: removed after the class.
    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
        shardFolder = nil
        super.tearDown()
    }

    /// Shards 1/2 and 2/2 of the quick config (pool images 0..<4 and 4..<8), computed once.
    static func twoShards() throws -> String {
        if let d = shardFolder { return d }
        let dir = work + "/two"
        for i in 0..<2 {
            let start = Date()
            let path = try PruneDriver.scoreShard(
                configPath: config, historyOverride: try QuickConfigTests.quickHistory(), outputDirectory: dir,
                dataDirectory: nil, shard: Shard(index: i, count: 2))
            XCTAssertEqual(path, dir + "/scores-shard-\(i + 1)-of-2.h5")
            print(
                String(format: "prune score shard %d/2 (4 pool images): %.1f s", i + 1, Date().timeIntervalSince(start))
            )
        }
        shardFolder = dir
        return dir
    }

    /// A folder holding copies of `files` (paths), under their names or the given ones.
    func folder(_ name: String, _ files: [(String, String)]) throws -> String {
        let dir = Self.work + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (source, target) in files { try FileManager.default.copyItem(atPath: source, toPath: dir + "/" + target) }
        return dir
    }

    /// The one-line error of a `prune --scores dir` run.
    func mergeError(_ dir: String, history: String) throws -> String {
        do {
            _ = try PruneDriver.run(
                configPath: Self.config, historyOverride: history, outputDirectory: dir + "/out", dataDirectory: nil,
                scoresDirectory: dir)
        } catch let e as ArtifactError {
            XCTAssertFalse(e.description.contains("\n"))
            return e.description
        }
        XCTFail("\(dir): the merge was not refused")
        return ""
    }

    func testShardsMergeToTheUnshardedRun() throws {
        let history = try QuickConfigTests.quickHistory()
        let whole = try QuickConfigTests.unshardedPrune()
        let dir = try Self.twoShards()
        let merged = try PruneDriver.run(
            configPath: Self.config, historyOverride: history, outputDirectory: dir, dataDirectory: nil,
            scoresDirectory: dir)
        let a = try XCTUnwrap(whole.scores), b = try XCTUnwrap(merged.scores)
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(b.count, 3)
        var positive = 0
        for s in 0..<3 {
            XCTAssertEqual(a[s].count, b[s].count)
            for p in 0..<a[s].count where abs(a[s][p] - b[s][p]) > 1e-5 * max(1e-6, abs(a[s][p])) {
                XCTFail("seed \(s), parameter \(p): unsharded \(a[s][p]), merged \(b[s][p])")
                break
            }
            positive += a[s].filter { $0 > 0 }.count
        }
        XCTAssertGreaterThan(positive, 0)
        XCTAssertEqual(merged.epkMeanAbsoluteError, whole.epkMeanAbsoluteError, accuracy: 1e-6)

        let f = try HDF5File(path: merged.path, mode: .read), g = try HDF5File(path: whole.path, mode: .read)
        defer { f.close(); g.close() }
        XCTAssertEqual(try f.root.intAttribute("epk_shards"), 2)
        XCTAssertEqual(
            try f.root.doubleAttribute("epk_max_abs_error"), try g.root.doubleAttribute("epk_max_abs_error"),
            accuracy: 1e-6)
        XCTAssertGreaterThan(try f.root.doubleAttribute("epk_seconds"), 0)
        for grid in ["coarse", "fine"] {
            for m in ["explaind", "explaind-module", "magnitude", "taylor", "random"] {
                for metric in ["accuracy", "agreement", "parameters_left"] {
                    XCTAssertEqual(
                        try f.doubles("\(grid)/\(m)/\(metric)"), try g.doubles("\(grid)/\(m)/\(metric)"),
                        "\(grid)/\(m)/\(metric)")
                }
                for (x, y) in zip(try f.doubles("\(grid)/\(m)/kl"), try g.doubles("\(grid)/\(m)/kl")) {
                    XCTAssertEqual(x, y, accuracy: 1e-4 * max(1e-3, abs(y)), "\(grid)/\(m)/kl")
                }
            }
        }
    }

    func testMissingOverlappingForeignConfigAndForeignHistoryShardsAreRefused() throws {
        let history = try QuickConfigTests.quickHistory()
        let two = try Self.twoShards()
        let first = two + "/scores-shard-1-of-2.h5", second = two + "/scores-shard-2-of-2.h5"

        let missing = try folder("missing", [(first, "scores-shard-1-of-2.h5")])
        let m = try mergeError(missing, history: history)
        XCTAssertTrue(
            m.hasPrefix(
                missing + "/scores-shard-2-of-2.h5: missing: pool images 4..<8 are in no shard; compute it with"),
            m)
        XCTAssertTrue(m.contains("--score-shard 2/2 --out \(missing)"), m)

        let twice = try folder(
            "twice",
            [
                (first, "scores-shard-1-of-2-copy.h5"), (first, "scores-shard-1-of-2.h5"),
                (second, "scores-shard-2-of-2.h5"),
            ])
        XCTAssertEqual(
            try mergeError(twice, history: history),
            twice + "/scores-shard-1-of-2.h5: pool image 0 is also in " + twice
                + "/scores-shard-1-of-2-copy.h5 (overlapping shards: a shard given twice or a renamed copy); keep one file per shard i/2 in "
                + twice)

        // Shard 2/2 of a config whose scoring splits differ (scoring_fraction 0.5).
        var text = try String(contentsOfFile: Self.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"scoring_fraction\": 0.75", with: "\"scoring_fraction\": 0.5")
        try FileManager.default.createDirectory(atPath: Self.work, withIntermediateDirectories: true)
        let otherConfig = Self.work + "/prune-other.json"
        try text.write(toFile: otherConfig, atomically: true, encoding: .utf8)
        let foreign = try PruneDriver.scoreShard(
            configPath: otherConfig, historyOverride: history, outputDirectory: Self.work + "/other-config",
            dataDirectory: nil, shard: Shard(index: 1, count: 2))
        let mixed = try folder(
            "mixed-config", [(first, "scores-shard-1-of-2.h5"), (foreign, "scores-shard-2-of-2.h5")])
        let c = try mergeError(mixed, history: history)
        XCTAssertTrue(
            c.hasPrefix(
                mixed + "/scores-shard-2-of-2.h5: computed with another score config than \(Self.config) (test_count,"),
            c)

        // Shard 2/2 of another history (the quick recipe with another seed, 2 steps on 128 images to stay fast).
        var train = try String(contentsOfFile: repositoryRoot + "/Configs/cifar2-quick.json", encoding: .utf8)
        for (a, b) in [
            ("\"seed\": 42", "\"seed\": 43"), ("\"train_limit\": 512", "\"train_limit\": 128"),
            ("\"epochs\": 2", "\"epochs\": 1"),
        ] {
            XCTAssertTrue(train.contains(a), a)
            train = train.replacingOccurrences(of: a, with: b)
        }
        let trainConfig = Self.work + "/cifar2-other.json"
        try train.write(toFile: trainConfig, atomically: true, encoding: .utf8)
        _ = try TrainingDriver.run(
            configPath: trainConfig, outputDirectory: Self.work + "/cifar2-other", dataDirectory: nil, resume: false,
            expectedExperiment: "cifar2")
        let otherHistory = try PruneDriver.scoreShard(
            configPath: Self.config, historyOverride: Self.work + "/cifar2-other/history.h5",
            outputDirectory: Self.work + "/other-history", dataDirectory: nil, shard: Shard(index: 1, count: 2))
        let mixedHistory = try folder(
            "mixed-history", [(first, "scores-shard-1-of-2.h5"), (otherHistory, "scores-shard-2-of-2.h5")])
        let h = try mergeError(mixedHistory, history: history)
        XCTAssertTrue(
            h.hasPrefix(
                mixedHistory
                    + "/scores-shard-2-of-2.h5: scores another history (\(Self.work)/cifar2-other/history.h5: 2 steps, θ_T sha256 "
            ), h)
        XCTAssertTrue(h.hasSuffix("or pass the --history its shards were computed on"), h)
    }
}
