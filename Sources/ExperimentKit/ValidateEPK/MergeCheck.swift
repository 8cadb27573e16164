import Artifacts
import EPK
import Foundation
import History

/// What `validate-epk merge` checks before combining shard files: the shards come from one run (same config text,
/// history, quadrature, class selection, classes and components) and cover its test points, or its steps, exactly
/// once. A missing shard, a duplicate or a shard of another run is refused with one line naming the file.
public enum MergeCheck {
    public typealias Part = (result: EPKResult, context: EPKArtifact.Context)

    /// Throws unless `parts` (read from `paths`) tile one EPK run. `historySteps` gives the step count of each
    /// shard's history when known (the `history_steps` attribute, else the history file itself).
    public static func verify(paths: [String], parts: [Part], historySteps: [Int?]) throws {
        guard let first = parts.first else {
            throw ArtifactError(.invalidArgument, "merge: no shard files given; pass the epk-shard-*.h5 files")
        }
        let name = paths[0]
        for (path, p) in zip(paths, parts).dropFirst() {
            func refuse(_ what: String) -> ArtifactError {
                ArtifactError(
                    .invalidArgument, file: path, problem: "merge refused: \(what) than \(name)",
                    fix: "merge shards of one validate-epk run only")
            }
            if p.context.historyPath != first.context.historyPath {
                throw refuse("replays another history (\(p.context.historyPath))")
            }
            if p.context.quadrature != first.context.quadrature {
                throw refuse("uses another quadrature rule (\(p.context.quadrature.summary))")
            }
            if p.context.classes != first.context.classes {
                throw refuse("selects other classes ('\(p.context.classes.rawValue)')")
            }
            if p.result.classCount != first.result.classCount || p.result.componentNames != first.result.componentNames
            {
                throw refuse("comes from another model")
            }
            if p.context.configJSON != first.context.configJSON { throw refuse("computed with another config") }
        }
        let expected = expectedTestIndices(first.context.configJSON)
        let stepShards = !parts.allSatisfy { $0.result.steps == first.result.steps }
        let T = historySteps.compactMap { $0 }.first
        if stepShards {
            // Every shard must hold the same test points; the ranges must tile 0..<T.
            let order = parts.indices.sorted { parts[$0].result.steps.lowerBound < parts[$1].result.steps.lowerBound }
            var next = 0
            for i in order {
                let r = parts[i].result.steps
                if parts[i].context.testIndices != first.context.testIndices {
                    throw ArtifactError(
                        .invalidArgument, file: paths[i],
                        problem:
                            "merge refused: step shards must hold the same test points, this one differs from \(name)",
                        fix: "shard over one axis at a time")
                }
                if r.lowerBound > next {
                    throw ArtifactError(
                        .invalidArgument, file: paths[i],
                        problem:
                            "merge refused: steps \(next)..<\(r.lowerBound) are in no shard (a step shard is missing)",
                        fix: "compute the missing --step-shard and merge all of them")
                }
                if r.lowerBound < next {
                    throw ArtifactError(
                        .invalidArgument, file: paths[i],
                        problem:
                            "merge refused: steps \(r.lowerBound)..<\(next) are in more than one shard (duplicate or overlapping step shard)",
                        fix: "pass each step shard once")
                }
                next = r.upperBound
            }
            if let T, next < T {
                throw ArtifactError(
                    .invalidArgument, file: paths[order.last!],
                    problem:
                        "merge refused: steps \(next)..<\(T) of the history are in no shard (a step shard is missing)",
                    fix: "compute the missing --step-shard and merge all of them")
            }
            try checkTests(first.context.testIndices, expected: expected, file: name, duplicateIn: { _ in name })
        } else {
            let r = first.result.steps
            if let T, r != 0..<T {
                throw ArtifactError(
                    .invalidArgument, file: name,
                    problem:
                        "merge refused: the shards cover only steps \(r.lowerBound)..<\(r.upperBound) of the \(T)-step history (a step shard is missing)",
                    fix: "compute the missing --step-shard and merge all of them")
            }
            var owner: [Int: String] = [:]
            var all: [Int] = []
            for (path, p) in zip(paths, parts) {
                for i in p.context.testIndices {
                    if let other = owner[i] {
                        throw ArtifactError(
                            .invalidArgument, file: path,
                            problem: other == path
                                ? "merge refused: this shard is given more than once"
                                : "merge refused: test point \(i) is also in \(other) (a shard given twice, or shards of different splits)",
                            fix: "pass each --shard i/n file of one run once")
                    }
                    owner[i] = path
                    all.append(i)
                }
            }
            try checkTests(all, expected: expected, file: name, duplicateIn: { owner[$0] ?? name })
        }
    }

    /// Test points of the config stored in a shard (`test_offset ..< test_offset + test_count`), or nil if unreadable.
    static func expectedTestIndices(_ configJSON: String) -> Range<Int>? {
        guard let c = try? StrictConfig.decode(EPKConfig.self, from: Data(configJSON.utf8), source: "shard config")
        else { return nil }
        let o = c.testOffset ?? 0
        return o..<(o + c.testCount)
    }

    private static func checkTests(
        _ indices: [Int], expected: Range<Int>?, file: String, duplicateIn: (Int) -> String
    ) throws {
        guard let expected else { return }
        let present = Set(indices)
        let missing = expected.filter { !present.contains($0) }
        if let m = missing.first {
            throw ArtifactError(
                .invalidArgument, file: file,
                problem:
                    "merge refused: \(missing.count) of the config's \(expected.count) test points are in no shard (first: test point \(m); a shard is missing)",
                fix: "compute the missing --shard i/n and merge all of them")
        }
        if let extra = indices.first(where: { !expected.contains($0) }) {
            throw ArtifactError(
                .invalidArgument, file: duplicateIn(extra),
                problem:
                    "merge refused: test point \(extra) is outside the config's \(expected.lowerBound)..<\(expected.upperBound)",
                fix: "merge shards of one validate-epk run only")
        }
    }

    /// The step count of the history a shard replays: its `history_steps` attribute, else the history file, else nil.
    public static func historySteps(shard path: String, historyPath: String) -> Int? {
        if let file = try? HDF5File(path: path, mode: .read) {
            defer { file.close() }
            if let root = try? file.root, root.hasAttribute("history_steps"),
                let t = try? root.intAttribute("history_steps")
            {
                return t
            }
        }
        return (try? HistoryFileReader(path: historyPath))?.stepCount
    }
}
