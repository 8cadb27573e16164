import Artifacts
import Foundation

/// What one Slurm job of a pipeline stage asks for (`"resources"` of a pipeline or of a stage, docs/CLUSTER.md).
/// Every key is optional: a stage's key overrides the pipeline's, which overrides `defaults`.
public struct SlurmResources: Codable, Equatable, Sendable {
    /// `--cpus-per-task`.
    public var cpus: Int?
    /// `--mem`, a Slurm size: digits with an optional K, M, G or T suffix ("4G", "1500M").
    public var memory: String?
    /// `--time`, a Slurm duration: "minutes", "h:mm:ss", "days-h" or "days-h:mm:ss" ("30", "2:00:00", "1-12").
    public var time: String?
    /// `--partition`; unset means the cluster's default partition.
    public var partition: String?
    /// `--account`; unset means the user's default account.
    public var account: String?
    /// Further `#SBATCH` lines, verbatim, e.g. ["--qos=normal", "--constraint=avx512"].
    public var sbatchFlags: [String]?

    enum CodingKeys: String, CodingKey {
        case cpus, memory, time, partition, account
        case sbatchFlags = "sbatch_flags"
    }

    public init(
        cpus: Int? = nil, memory: String? = nil, time: String? = nil, partition: String? = nil,
        account: String? = nil, sbatchFlags: [String]? = nil
    ) {
        self.cpus = cpus
        self.memory = memory
        self.time = time
        self.partition = partition
        self.account = account
        self.sbatchFlags = sbatchFlags
    }

    /// Used for every key that neither the stage nor the pipeline sets: one core, 4 GB, 12 hours.
    public static let defaults = SlurmResources(cpus: 1, memory: "4G", time: "12:00:00")

    /// `self`'s keys where set, else `fallback`'s. Flags are concatenated (fallback's first).
    public func over(_ fallback: SlurmResources) -> SlurmResources {
        SlurmResources(
            cpus: cpus ?? fallback.cpus, memory: memory ?? fallback.memory, time: time ?? fallback.time,
            partition: partition ?? fallback.partition, account: account ?? fallback.account,
            sbatchFlags: (fallback.sbatchFlags ?? []) + (sbatchFlags ?? []))
    }

    /// The resources of `stage` in `pipeline`: stage keys, then pipeline keys, then `defaults`.
    public static func effective(for stage: Stage, in pipeline: PipelineConfig) -> SlurmResources {
        (stage.resources ?? SlurmResources()).over((pipeline.resources ?? SlurmResources()).over(defaults))
    }

    func validate(keyPath: String) throws {
        if let c = cpus, c < 1 {
            throw ConfigError(keyPath: keyPath + ".cpus", message: "expected at least 1, found \(c)")
        }
        if let m = memory, m.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) == nil {
            throw ConfigError(
                keyPath: keyPath + ".memory",
                message: "expected a Slurm size such as \"4G\" or \"1500M\", found \"\(m)\"")
        }
        if let t = time, t.range(of: #"^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$"#, options: .regularExpression) == nil {
            throw ConfigError(
                keyPath: keyPath + ".time",
                message: "expected a Slurm duration such as \"30\", \"2:00:00\" or \"1-12:00:00\", found \"\(t)\"")
        }
        for (key, value) in [("partition", partition), ("account", account)] {
            if let v = value, v.isEmpty || v.contains(where: { $0.isWhitespace }) {
                throw ConfigError(
                    keyPath: keyPath + "." + key, message: "expected a name without spaces, found \"\(v)\"")
            }
        }
        for (i, flag) in (sbatchFlags ?? []).enumerated() where !flag.hasPrefix("-") || flag.contains("\n") {
            throw ConfigError(
                keyPath: keyPath + ".sbatch_flags[\(i)]",
                message: "expected one sbatch option starting with '-', found \"\(flag)\"")
        }
    }
}
