import Artifacts
import Foundation

/// One step of a reproduction pipeline: an executable run on a config, producing one artifact.
public struct Stage: Codable, Equatable, Sendable {
    /// Unique name, e.g. "train-modulo-quick".
    public var name: String
    /// Executable (a sibling of `reproduce` in the build folder), e.g. "train-modulo".
    public var executable: String
    /// Its config (passed as `--config`).
    public var config: String
    /// The artifact whose presence and validity mean the stage is done.
    public var artifact: String
    /// Stages that must run first; a stage re-runs when one of them produced a newer artifact.
    public var after: [String]?
    /// Extra arguments after `--config`.
    public var arguments: [String]?
    /// `validate-epk` stages only: under `--executor slurm` the test points are split into this many shards, run as
    /// one array job and merged by a second job (docs/CLUSTER.md). The local executor runs the stage unsharded.
    public var shards: Int?
    /// Slurm resources of this stage; each key present overrides the pipeline's `resources`.
    public var resources: SlurmResources?
    /// Where the stage's stored reference companion lives (a file under the pipeline's `reference` folder with the
    /// artifact's file name); `reproduce --reference` writes it, `report` reads it (docs/ARTIFACTS.md).
    public var reference: String?
    /// The measured wall time of the stage on the project's 2-core machine, in words (e.g. "about 28 min on 2
    /// cores"); the report states it for a stage that has not run, with the command that runs it.
    public var expected: String?

    /// The folder of the stored reference companion (`--reference` of the stage's executable).
    public var referenceDirectory: String? { reference.map { ($0 as NSString).deletingLastPathComponent } }
}

/// `Configs/pipeline-quick.json`, `Configs/pipeline-all.json`: the stages in dependency order.
public struct PipelineConfig: Codable, Equatable, Sendable, ValidatableConfig {
    public var name: String
    public var stages: [Stage]
    /// Default Slurm resources of every stage (`--executor slurm`); unset keys fall back to `SlurmResources.defaults`.
    public var resources: SlurmResources?
    /// The folder of the pipeline's stored reference (e.g. `results/reference`): every stage's `reference` lies below
    /// it, and `report` writes `REPORT.md` there when it reads the reference.
    public var reference: String?

    public func validate() throws {
        try resources?.validate(keyPath: "resources")
        var seen = Set<String>()
        for (i, s) in stages.enumerated() {
            try s.resources?.validate(keyPath: "stages[\(i)].resources")
            if let n = s.shards {
                guard n >= 1 else {
                    throw ConfigError(keyPath: "stages[\(i)].shards", message: "expected at least 1, found \(n)")
                }
                guard s.executable == "validate-epk" else {
                    throw ConfigError(
                        keyPath: "stages[\(i)].shards",
                        message: "only a validate-epk stage can be sharded, '\(s.name)' runs \(s.executable)")
                }
            }
            if let r = s.reference {
                let artifactName = (s.artifact as NSString).lastPathComponent
                guard (r as NSString).lastPathComponent == artifactName else {
                    throw ConfigError(
                        keyPath: "stages[\(i)].reference",
                        message: "expected a file named \(artifactName) (the artifact's name), found \(r)")
                }
                guard let folder = reference, r.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/") else {
                    throw ConfigError(
                        keyPath: "stages[\(i)].reference",
                        message: "\(r) is not below the pipeline's 'reference' folder (\(reference ?? "not set"))")
                }
            }
            if seen.contains(s.name) {
                throw ConfigError(keyPath: "stages[\(i)].name", message: "duplicate stage name '\(s.name)'")
            }
            for d in s.after ?? [] where !seen.contains(d) {
                throw ConfigError(keyPath: "stages[\(i)].after", message: "'\(d)' must be an earlier stage")
            }
            seen.insert(s.name)
        }
    }
}

extension PipelineConfig {
    /// The pipeline with `--reference <folder>` added to every stage that declares a `reference`
    /// (`reproduce --reference`): each such stage also stores its reference companion.
    public func storingReferences() throws -> PipelineConfig {
        guard reference != nil, stages.contains(where: { $0.reference != nil }) else {
            throw ConfigError(
                keyPath: "reference",
                message: "this pipeline declares no stored reference (no 'reference' folder or stage)")
        }
        var copy = self
        for i in copy.stages.indices {
            guard let folder = copy.stages[i].referenceDirectory else { continue }
            copy.stages[i].arguments = (copy.stages[i].arguments ?? []) + ["--reference", folder]
        }
        return copy
    }

    /// The pipeline cut down to the stage `name` and every stage it reads, directly or through others, in pipeline
    /// order (`reproduce --stage NAME`).
    public func restricted(toStage name: String) throws -> PipelineConfig {
        guard stages.contains(where: { $0.name == name }) else {
            throw ConfigError(
                keyPath: "stages",
                message: "no stage named '\(name)'; stages: \(stages.map(\.name).joined(separator: ", "))")
        }
        var needed: Set<String> = [name]
        for stage in stages.reversed() where needed.contains(stage.name) { needed.formUnion(stage.after ?? []) }
        var copy = self
        copy.stages = stages.filter { needed.contains($0.name) }
        return copy
    }
}

/// Why a stage runs or is skipped.
public enum StageStatus: Equatable, Sendable, CustomStringConvertible {
    case upToDate
    case missing
    case invalid(String)
    case configChanged
    case dependencyNewer(String)

    public var needsRun: Bool { self != .upToDate }

    public var description: String {
        switch self {
        case .upToDate: return "up to date"
        case .missing: return "artifact missing"
        case .invalid(let why): return "artifact unusable (\(why))"
        case .configChanged: return "config changed since the artifact was written"
        case .dependencyNewer(let d): return "depends on '\(d)', which is newer"
        }
    }
}

/// Skip/re-run logic of `make reproduce-*`: a stage is skipped when its artifact exists, opens as HDF5,
/// is healthy (`ArtifactHealth`: finite validation, not from a diverged run), stores exactly the current config text
/// (root attribute `config`, compared by SHA-256), and is newer than the artifacts of the stages it depends on.
public enum Pipeline {
    public static func status(of stage: Stage, in pipeline: PipelineConfig) -> StageStatus {
        let own = fileStatus(stage.artifact, config: stage.config)
        guard own == .upToDate else { return own }
        let mine = modificationDate(stage.artifact)
        for d in stage.after ?? [] {
            guard let dep = pipeline.stages.first(where: { $0.name == d }) else { continue }
            if modificationDate(dep.artifact) > mine { return .dependencyNewer(d) }
        }
        return .upToDate
    }

    /// The state of a stage's stored reference companion: missing, unusable, made from another config than the
    /// stage's current one, or up to date. (File dates say nothing in a fresh clone, so dependencies are not compared.)
    public static func referenceStatus(of stage: Stage) -> StageStatus {
        guard let path = stage.reference else { return .missing }
        return fileStatus(path, config: stage.config)
    }

    /// Whether the file at `path` exists, opens, is healthy and stores exactly the text of `config`.
    static func fileStatus(_ path: String, config: String) -> StageStatus {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        let stored: String
        do {
            let file = try HDF5File(path: path, mode: .read)
            defer { file.close() }
            guard try file.root.hasAttribute("config") else { return .invalid("no config attribute") }
            stored = try file.root.stringAttribute("config")
            if let problem = ArtifactHealth.problem(of: try file.root) { return .invalid(problem) }
        } catch {
            return .invalid("\(error)")
        }
        guard let current = try? ConfigHash.of(file: config), ConfigHash.of(data: Data(stored.utf8)) == current
        else { return .configChanged }
        return .upToDate
    }

    /// Runs the stages in order, skipping those that are up to date; a stage whose dependency ran is re-checked
    /// after it (its artifact is then older, so it runs too). Returns (stage, status before, seconds) per stage.
    @discardableResult
    public static func run(
        _ pipeline: PipelineConfig, force: Bool = false,
        runner: (Stage) throws -> Void
    ) throws -> [(stage: String, status: StageStatus, seconds: Double)] {
        var log: [(String, StageStatus, Double)] = []
        for stage in pipeline.stages {
            let status = force ? .missing : self.status(of: stage, in: pipeline)
            guard status.needsRun else {
                Log.info("[\(pipeline.name)] \(stage.name): skipped (\(status))")
                log.append((stage.name, status, 0))
                continue
            }
            Log.info("[\(pipeline.name)] \(stage.name): running (\(status))")
            let start = Date()
            try runner(stage)
            log.append((stage.name, status, Date().timeIntervalSince(start)))
        }
        return log
    }

    static func modificationDate(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }

    /// Runs a stage's executable from `binDirectory` as a child process; a nonzero exit is an error naming the stage.
    public static func runProcess(_ stage: Stage, binDirectory: String) throws {
        try StageProcess.run(stage, binDirectory: binDirectory)
    }
}
