import Artifacts
import Data
import EPK
import Foundation
import History
import NN
import Tensor

/// A test-point shard `i/n` (1-based on the command line: `--shard 2/4`).
public struct Shard: Equatable, Sendable {
    public let index: Int
    public let count: Int
    public init(index: Int, count: Int) { self.index = index; self.count = count }
    /// Parses "i/n" with 1 ≤ i ≤ n.
    public init?(_ text: String) {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, parts[0] >= 1, parts[0] <= parts[1] else { return nil }
        index = parts[0] - 1; count = parts[1]
    }
    /// The slice of `0..<n` this shard covers (contiguous, sizes differ by at most one).
    public func range(of n: Int) -> Range<Int> { (n * index / count)..<(n * (index + 1) / count) }
    public var fileSuffix: String { "shard-\(index + 1)-of-\(count)" }
}

/// `validate-epk`: replays a history as an exact path kernel, writes `epk.h5` with every attribution and the
/// validation statistics, and renders the EPK figures.
public enum EPKDriver {
    public static func run(
        configPath: String, historyOverride: String?, outputDirectory: String?, dataDirectory: String?,
        shard: Shard?, stepShard: Shard? = nil
    ) throws -> (path: String, statistics: ValidationStatistics) {
        let config = try StrictConfig.load(EPKConfig.self, from: configPath)
        let historyPath = historyOverride ?? config.history
        guard FileManager.default.fileExists(atPath: historyPath) else {
            throw ArtifactError(
                .notFound, file: historyPath, problem: "no such history",
                fix:
                    "train first (e.g. `swift run -c release train-\(config.experiment) --config Configs/\(config.experiment).json`) or pass --history"
            )
        }
        let setup = try ReplaySetup(historyPath: historyPath, dataDirectory: dataDirectory)
        if setup.trainConfig.experiment != config.experiment {
            throw ArtifactError(
                .config,
                "\(configPath): key 'experiment' is '\(config.experiment)' but \(historyPath) is a \(setup.trainConfig.experiment) history; pass the matching --history"
            )
        }
        guard setup.history.stepCount >= 1 else {
            throw ArtifactError(
                .invalidArgument, file: historyPath,
                problem:
                    "the history records no step\(setup.history.divergence.map { " (\($0))" } ?? ""), so there is nothing to replay",
                fix: "train again (with a lower learning rate if it diverged)")
        }
        if let d = setup.history.divergence { Log.warn("\(historyPath): \(d); replaying the finite steps only") }
        if let reference = config.model {
            let (spec, source) = try reference.resolve(configPath: configPath)
            let recorded = (setup.model as? SpecModel)?.spec
            if recorded != spec {
                throw ArtifactError(
                    .config,
                    "\(configPath): key 'model': \(historyPath) was trained with \(recorded == nil ? "the built-in \(setup.model.name) model" : "another model spec") than \(source == configPath ? "the inline spec" : source); drop the key or pass the matching --history"
                )
            }
        }
        let out = outputDirectory ?? "results/\(config.experiment)-epk/\(config.run)"
        let lockSuffix = [shard.map { $0.fileSuffix }, stepShard.map { "steps-\($0.fileSuffix)" }].compactMap { $0 }
        try OutputLock.acquire(
            directory: out,
            name: lockSuffix.isEmpty ? ".explaind.lock" : ".explaind-\(lockSuffix.joined(separator: "-")).lock")
        let split = config.testSplit ?? .evaluation
        let testSet = split.samples(of: setup.data)
        let offset = config.testOffset ?? 0
        guard config.testCount <= testSet.count - min(offset, testSet.count), offset <= testSet.count else {
            throw ArtifactError(
                .config,
                "\(configPath): key 'test_count': expected at most \(testSet.count - offset) test points of the \(split.rawValue) split from offset \(offset), found \(config.testCount)"
            )
        }
        var testIndices = Array(offset..<(offset + config.testCount))
        if let s = shard { testIndices = Array(testIndices[s.range(of: testIndices.count)]) }
        let inputs = testSet.inputs.gatherRows(testIndices)
        let labels = testIndices.map { testSet.labels[$0] }

        let model = setup.model
        let groupList =
            (config.groups ?? "model") == "model" ? model.attributionGroups : model.layout.names.map { ($0, [$0]) }
        let groups =
            config.dataAttribution ? groupList.map { ComponentGroup(name: $0.name, components: $0.components) } : []
        let budget = Int(config.memoryBudgetGb * 1_073_741_824)
        let steps = stepShard?.range(of: setup.history.stepCount) ?? 0..<setup.history.stepCount
        let total = steps.count
        let progress = Progress(label: "epk \(config.experiment)", total: total)
        var options = EPKOptions(
            quadrature: config.quadrature, classes: config.classes,
            attributionClasses: config.attributionClasses ?? .selected, dataAttributionGroups: groups,
            parameterAttribution: config.parameterAttribution, memoryBudgetBytes: budget,
            steps: stepShard == nil ? nil : steps)
        options.dataSnapshotInterval = config.dataSnapshotInterval
        options.progress = { done, all in progress.advance(status: "step \(done)/\(all)") }
        let engine = try EPKEngine(
            model: model, history: setup.history, data: DatasetReplay(setup.data.train), options: options)
        let plan = try engine.memoryPlan(testCount: testIndices.count)
        Log.info(
            "\(model.name), steps \(steps.lowerBound)..<\(steps.upperBound), \(testIndices.count) test points (\(split.rawValue) split) × \(config.classes.rawValue) classes, \(config.quadrature.summary); \(plan)"
        )
        let start = Date()
        let result = try engine.run(testInputs: inputs, testLabels: labels)
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let suffix = [shard.map { $0.fileSuffix }, stepShard.map { "steps-\($0.fileSuffix)" }].compactMap { $0 }
        let name = suffix.isEmpty ? "epk.h5" : "epk-\(suffix.joined(separator: "-")).h5"
        let path = out + "/" + name
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let context = EPKArtifact.Context(
            labels: labels, testIndices: testIndices,
            configJSON: try String(contentsOfFile: configPath, encoding: .utf8),
            historyPath: historyPath, quadrature: config.quadrature, classes: config.classes)
        try EPKArtifact.write(result, context: context, to: path) { root in
            try annotate(
                root, seconds: seconds, experiment: config.experiment, setup: setup, testSplit: split,
                testIndices: testIndices)
        }
        let stats = ValidationStatistics.compute(result, labels: labels)
        Log.info(
            String(
                format:
                    "EPK in %.1f s (%.3f s/step): mean |EPK − model| %.3g, max %.3g, argmax agreement %.4f, KL %.3g → %@",
                seconds, seconds / Double(max(1, total)), stats.meanAbsoluteError, stats.maxAbsoluteError,
                stats.argmaxAgreement, stats.klModelToEPK, path))
        if !result.stepPoints.isEmpty {
            let r = config.quadrature.refinementSummary(
                points: result.stepPoints, testCount: testIndices.count, firstStep: steps.lowerBound)
            Log.info(
                String(
                    format:
                        "refinement: %d of %d (step, test point) integrals refined (%.2f %%); %.2f× the points of the fixed rule",
                    r.refined, r.integrals, 100 * Double(r.refined) / Double(max(1, r.integrals)), r.pointRatio))
        }
        if let failure = stats.failure {
            throw ArtifactError(
                .invalidArgument, file: path,
                problem:
                    "EPK failed: \(failure); the history or its replay holds non-finite values, so no figure is drawn and reproduce will not count it",
                fix:
                    "retrain \(historyPath) with a lower learning rate (training now stops at the first non-finite step)"
            )
        }
        if shard == nil && stepShard == nil { renderFigures(path, directory: out) }
        return (path, stats)
    }

    /// Adds timing and sort keys (modulo: a+b; otherwise the label) used by the attribution heatmaps.
    static func annotate(
        _ root: HDF5Group, seconds: Double, experiment: String, setup: ReplaySetup, testSplit: TestSplit,
        testIndices: [Int]
    ) throws {
        let testSet = testSplit.samples(of: setup.data)
        try root.setAttribute("wall_seconds", seconds)
        try root.setAttribute("test_split", testSplit.rawValue)
        try root.setAttribute("history_steps", setup.history.stepCount)
        try root.setAttribute("experiment", experiment)
        try root.setJSONAttribute("component_groups", setup.model.attributionGroups.map { [$0.name: $0.components] })
        func keys(_ set: LabeledDataset, _ idx: [Int]) -> [Double] {
            if experiment == "modulo" {
                return idx.map { Double(set.inputs.storage[$0 * 4] + set.inputs.storage[$0 * 4 + 2]) }
            }
            return idx.map { Double(set.labels[$0]) }
        }
        let g = try root.openOrCreateGroup("sort_keys")
        try g.setAttribute("meaning", experiment == "modulo" ? "a + b" : "label")
        _ = try g.write("test", keys(testSet, testIndices), shape: [testIndices.count])
        let all = Array(0..<setup.data.train.count)
        _ = try g.write("train", keys(setup.data.train, all), shape: [all.count])
        _ = try g.write("test_label", testIndices.map { Double(testSet.labels[$0]) }, shape: [testIndices.count])
        _ = try g.write("train_label", setup.data.train.labels.map(Double.init), shape: [all.count])
    }

    /// Merges shard files into `epk.h5` beside them and renders the figures. The driver's annotations are carried
    /// over: `experiment`, `component_groups` and `test_split` from the first shard (all shards share one config), the sort keys (per-test keys concatenated in test
    /// order, per-training-sample keys once) and `wall_seconds` as the shards' sum, with `merged_shards` = their number.
    public static func merge(shardPaths: [String], output: String) throws -> ValidationStatistics {
        try OutputLock.acquire(directory: (output as NSString).deletingLastPathComponent)
        let parts = try shardPaths.map { try EPKArtifact.read($0) }
        try MergeCheck.verify(
            paths: shardPaths, parts: parts,
            historySteps: zip(shardPaths, parts).map {
                MergeCheck.historySteps(shard: $0.0, historyPath: $0.1.context.historyPath)
            })
        let merged = try EPKMerge.merge(parts)
        let ordered = zip(shardPaths, parts).sorted {
            ($0.1.context.testIndices.first ?? 0) < ($1.1.context.testIndices.first ?? 0)
        }.map(\.0)
        var experiment = "", componentGroups: String? = nil, meaning = "index", testSplit: String? = nil
        var shardSeconds: [Double?] = []
        var keys: [String: [Double]] = [:]
        for (k, path) in ordered.enumerated() {
            let file = try HDF5File(path: path, mode: .read)
            defer { file.close() }
            let root = try file.root
            shardSeconds.append(try? root.doubleAttribute("wall_seconds"))
            if k == 0 {
                experiment = (try? root.stringAttribute("experiment")) ?? ""
                componentGroups = try? root.stringAttribute("component_groups")
                testSplit = try? root.stringAttribute("test_split")
                meaning = (try? root.group("sort_keys").stringAttribute("meaning")) ?? "index"
            }
            for name in k == 0 ? ["test", "test_label", "train", "train_label"] : ["test", "test_label"]
            where root.contains("sort_keys/\(name)") {
                keys[name, default: []] += try root.read("sort_keys/\(name)", as: Double.self).values
            }
        }
        try EPKArtifact.write(merged.result, context: merged.context, to: output) { root in
            try root.setAttribute("experiment", experiment)
            if let componentGroups { try root.setAttribute("component_groups", componentGroups) }
            if let testSplit { try root.setAttribute("test_split", testSplit) }
            if shardSeconds.allSatisfy({ $0 != nil }) {
                try root.setAttribute("wall_seconds", shardSeconds.reduce(0) { $0 + $1! })
                try root.setAttribute("merged_shards", ordered.count)
            }
            if keys["train"] != nil {
                let g = try root.openOrCreateGroup("sort_keys")
                try g.setAttribute("meaning", meaning)
                for (name, values) in keys.sorted(by: { $0.key < $1.key }) {
                    _ = try g.write(name, values, shape: [values.count])
                }
            }
        }
        let stats = ValidationStatistics.compute(merged.result, labels: merged.context.labels)
        if let failure = stats.failure {
            throw ArtifactError(
                .invalidArgument, file: output, problem: "merged EPK failed: \(failure), so no figure is drawn",
                fix: "retrain the history with a lower learning rate and recompute the shards")
        }
        renderFigures(output, directory: (output as NSString).deletingLastPathComponent)
        return stats
    }
}
