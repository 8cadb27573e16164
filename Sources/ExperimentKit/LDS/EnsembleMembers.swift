import Artifacts
import Foundation
import History
import NN

/// The K independently trained full-data models of `trak` and `explaind-ensemble` (docs/METHOD.md §17).
///
/// Member 0 is the configured history. Member k ≥ 1 is the same recipe with `training.seed + k`, trained with
/// history into `<out>/ensemble/member-<k>/` (its recipe is written there as `train.json`). A member whose
/// `history.h5` exists is reused when it was trained with exactly that recipe and refused otherwise; an interrupted
/// member (only `history.h5.partial`) resumes.
public enum EnsembleMembers {
    /// The recipe of member k: `base` with `training.seed + k`.
    public static func recipe(_ base: TrainConfig, member k: Int) -> TrainConfig {
        var r = base
        r.training.seed += k
        return r
    }

    public static func directory(out: String, member k: Int) -> String { out + "/ensemble/member-\(k)" }

    /// Trains or reuses members 1..<count and returns their replay setups, in member order.
    public static func prepare(
        count: Int, base: TrainConfig, out: String, dataDirectory: String?,
        trainCount: Int
    ) throws -> [ReplaySetup] {
        guard count > 1 else { return [] }
        var setups: [ReplaySetup] = []
        for k in 1..<count {
            let dir = directory(out: out, member: k), path = dir + "/history.h5"
            let expected = recipe(base, member: k)
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let configPath = dir + "/train.json"
                try AtomicFile.write(data: try encoder.encode(expected), to: configPath)
                let resume = FileManager.default.fileExists(atPath: path + ".partial")
                Log.info(
                    "ensemble member \(k)/\(count - 1): \(resume ? "resuming" : "training") the recipe with training.seed \(expected.training.seed) → \(dir)"
                )
                _ = try TrainingDriver.run(
                    configPath: configPath, outputDirectory: dir, dataDirectory: dataDirectory, resume: resume)
            }
            let setup = try ReplaySetup(historyPath: path, dataDirectory: dataDirectory)
            guard setup.trainConfig == expected else {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem:
                        "was not trained with the LDS recipe and training.seed \(expected.training.seed) of ensemble member \(k)",
                    fix: "delete \(dir) to retrain the member, or pass another --out")
            }
            guard setup.history.divergence == nil, setup.data.train.count == trainCount else {
                throw ArtifactError(
                    .invalidArgument, file: path,
                    problem:
                        "ensemble member \(k) diverged or has \(setup.data.train.count) training samples (expected \(trainCount))",
                    fix: "delete \(dir) and lower optimizer.lr, or pass another --out")
            }
            setups.append(setup)
        }
        return setups
    }
}

/// What the ensemble stage records in `lds.h5` (docs/ARTIFACTS.md): every member's final parameters and seeds.
public struct EnsembleRecord: Sendable {
    /// Parameter names and shapes in θ order (the model's layout).
    public var components: [(name: String, shape: [Int], offset: Int)]
    /// θ_T of member k, k = 0..<K.
    public var parameters: [[Float]]
    /// Training seed and history path of each member.
    public var seeds: [Int]
    public var histories: [String]
    /// TRAK's projection dimension k (P with no projection), kind and ridge; nil without TRAK.
    public var projectionDim: Int?
    public var projection: String?
    public var ridge: Double?
    public var trakSeed: Int?
}
