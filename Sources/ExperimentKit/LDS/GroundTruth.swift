import Artifacts
import Data
import Foundation
import History
import NN
import Tensor

/// What one retrained subset model gives on the test examples.
public struct RetrainOutcome: Sendable, Equatable {
    /// (n) correct-class margin o_m(z) = log p_y − log(1 − p_y) per test example (docs/METHOD.md §17).
    public var margins: [Double]
    /// Test accuracy of the subset model.
    public var accuracy: Double
    public init(margins: [Double], accuracy: Double) { self.margins = margins; self.accuracy = accuracy }
}

/// Correct-class margins from log-probabilities.
public enum Margin {
    /// log p − log(1 − p) from log p ≤ 0, computed stably: log(1 − p) = log(−expm1(log p)) near p = 1 and
    /// log1p(−p) elsewhere.
    public static func fromLogProbability(_ logP: Double) -> Double {
        let l = min(logP, 0)
        let logOneMinus = l > -0.693 ? Foundation.log(-Foundation.expm1(l)) : Foundation.log1p(-Foundation.exp(l))
        return l - logOneMinus
    }

    /// (n) margins of the rows of `logProbs` (n, C) at `labels`. Uses 1 − p_y = Σ_{c≠y} p_c, i.e.
    /// log(1 − p_y) = logsumexp_{c≠y} log p_c, which stays finite when p_y rounds to 1 in float32.
    public static func margins(logProbs: Tensor, labels: [Int]) -> [Double] {
        let C = logProbs.shape[1]
        return labels.enumerated().map { a, y in
            let row = (0..<C).map { Double(logProbs.storage[a * C + $0]) }
            let others = row.enumerated().filter { $0.offset != y }.map(\.element)
            guard let top = others.max(), top.isFinite else { return fromLogProbability(row[y]) }
            let logRest = top + Foundation.log(others.reduce(0.0) { $0 + Foundation.exp($1 - top) })
            return row[y] - logRest
        }
    }
}

/// A history writer that records nothing but the latest parameters (the subset retrains of docs/METHOD.md §17 need only θ_T).
public final class FinalParametersWriter: HistoryWriter {
    public private(set) var parameters: [Float]
    public private(set) var steps = 0
    public init(initial: [Float]) { parameters = initial }
    public func appendStep(_ step: RecordedStep) throws { parameters = step.parameters; steps += 1 }
    public func appendEpoch(_ metrics: EpochMetrics) throws {}
    public func checkpoint(_ state: ResumeState) throws {}
}

/// Retrains the recipe's model on one training subset and scores the test examples (docs/METHOD.md §17).
public struct SubsetRetrainer {
    public let config: TrainConfig
    public let train: LabeledDataset
    public let testInputs: Tensor
    public let testLabels: [Int]
    /// Seed subset m with `training.seed + m` (else every subset uses the recipe's seed).
    public let seedPerSubset: Bool

    public init(config: TrainConfig, train: LabeledDataset, testInputs: Tensor, testLabels: [Int], seedPerSubset: Bool)
    {
        self.config = config; self.train = train; self.testInputs = testInputs; self.testLabels = testLabels
        self.seedPerSubset = seedPerSubset
    }

    public func retrain(subset m: Int, indices: [Int]) throws -> RetrainOutcome {
        let model = try ExperimentModel.make(config, configPath: "LDS recipe")
        var recipe = config
        if seedPerSubset { recipe.training.seed += m }
        let subset = train.subset(indices, name: "\(train.name) subset \(m)")
        let plan = TrainingDriver.trainingPlan(recipe, trainingCount: subset.count)
        let trainer = Trainer(model: model, train: subset, validation: nil, plan: plan)
        trainer.flushEvery = Int.max
        let writer = FinalParametersWriter(initial: trainer.initialParameters())
        try trainer.run(writer: writer)
        let logProbs = model.forwardChunked(parameters: writer.parameters, inputs: testInputs)
        let accuracy = model.evaluate(parameters: writer.parameters, inputs: testInputs, labels: testLabels).accuracy
        return RetrainOutcome(margins: Margin.margins(logProbs: logProbs, labels: testLabels), accuracy: accuracy)
    }
}

/// The finished subset results, kept in a side file rewritten atomically after every subset so a killed run
/// resumes where it stopped. The file is tied to one set of subsets and test examples by a fingerprint.
public final class GroundTruthStore {
    public let path: String
    public let fingerprint: String
    public let testCount: Int
    /// (m, n) margins of the finished subsets 0..<completed.
    public private(set) var margins: [[Double]] = []
    public private(set) var accuracies: [Double] = []
    public private(set) var seconds: [Double] = []
    public var completed: Int { margins.count }

    public init(path: String, fingerprint: String, testCount: Int) throws {
        self.path = path; self.fingerprint = fingerprint; self.testCount = testCount
        guard FileManager.default.fileExists(atPath: path) else { return }
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        let root = try file.root
        let found = try root.stringAttribute("fingerprint")
        guard found == fingerprint else {
            throw ArtifactError(
                .invalidArgument, file: path,
                problem:
                    "holds retrains of other subsets or test examples (fingerprint \(found), expected \(fingerprint))",
                fix: "delete it to start over, or pass another --out")
        }
        let m = try root.read("margins", as: Double.self)
        let rows = m.shape[0]
        guard m.shape.count == 2, m.shape[1] == testCount else {
            throw ArtifactError(
                .corrupt, file: path, object: "/margins", problem: "shape \(m.shape), expected (rows, \(testCount))",
                fix: "delete it to start over")
        }
        margins = (0..<rows).map { Array(m.values[($0 * testCount)..<(($0 + 1) * testCount)]) }
        accuracies = try root.read("accuracy", as: Double.self).values
        seconds = try root.read("seconds", as: Double.self).values
    }

    /// Records subset `completed`'s outcome and rewrites the file atomically.
    public func append(_ outcome: RetrainOutcome, seconds s: Double) throws {
        precondition(
            outcome.margins.count == testCount,
            "GroundTruthStore: \(outcome.margins.count) margins for \(testCount) test examples")
        margins.append(outcome.margins); accuracies.append(outcome.accuracy); seconds.append(s)
        try AtomicFile.write(to: path) { tmp in
            let file = try HDF5File(path: tmp, mode: .create)
            defer { file.close() }
            let root = try file.root
            try root.setAttribute("kind", "lds-ground-truth")
            try root.setAttribute("fingerprint", fingerprint)
            _ = try root.write("margins", margins.flatMap { $0 }, shape: [margins.count, testCount])
            _ = try root.write("accuracy", accuracies, shape: [accuracies.count])
            _ = try root.write("seconds", seconds, shape: [seconds.count])
            try file.flush()
        }
    }

    /// Retrains every subset not yet in the store, in order, saving after each; returns how many were retrained.
    @discardableResult
    public func complete(
        subsets: [[Int]], progress: Artifacts.Progress? = nil,
        retrain: (_ m: Int, _ indices: [Int]) throws -> RetrainOutcome
    ) throws -> Int {
        guard completed <= subsets.count else {
            throw ArtifactError(
                .invalidArgument, file: path,
                problem: "holds \(completed) retrains but only \(subsets.count) subsets are configured",
                fix: "delete it to start over")
        }
        progress?.advance(by: completed, status: "resumed")
        var done = 0
        for m in completed..<subsets.count {
            let start = Date()
            let outcome = try retrain(m, subsets[m])
            try append(outcome, seconds: Date().timeIntervalSince(start))
            done += 1
            progress?.advance(status: String(format: "subset %d: test acc %.3f", m, outcome.accuracy))
        }
        return done
    }
}
