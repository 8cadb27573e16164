import ArgumentParser
import Artifacts
import Foundation
import Tensor

/// Options every experiment executable shares.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "JSON config (see Configs/).")
    public var config: String

    @Option(name: .long, help: "Output directory (default: results/<experiment>/<run>).")
    public var out: String?

    @Option(
        name: .long,
        help: "Data folder with mnist/ and cifar10/ (default: $EXPLAIND_DATA, then ../shared/data, then data/).")
    public var data: String?

    @Option(name: .long, help: "Worker threads for loops and BLAS (default: all cores).")
    public var threads: Int?

    @Option(
        name: .long,
        help:
            "Also store the artifact's slim reference companion and its figures in this folder (docs/ARTIFACTS.md, Reference companions)."
    )
    public var reference: String?

    public init() {}

    public func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Applies the thread setting.
    public func apply() {
        if let t = threads { Parallel.configure(threads: t) } else { Parallel.configure(threads: Parallel.workers) }
    }

    /// With `--reference DIR`, writes the reference companion of the finished run's `artifact` into DIR.
    public func storeReference(of artifact: String) throws {
        guard let directory = reference else { return }
        let path = try ReferenceCompanion.write(artifact: artifact, directory: directory)
        print("reference companion → \(path)")
    }
}

/// Runs a command body, turning any error into one line on stderr and a nonzero exit.
public func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ValidationError { throw e } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// `train` (any experiment; nil) and `train-modulo`, `train-cifar2`, `train-mnist`.
public struct TrainCommand {
    public static func run(experiment: String?, options: CommonOptions, resume: Bool) throws {
        options.apply()
        try runReportingErrors {
            let summary = try TrainingDriver.run(
                configPath: options.config, outputDirectory: options.out, dataDirectory: options.data,
                resume: resume, expectedExperiment: experiment)
            try options.storeReference(of: summary.outputDirectory + "/metrics.h5")
        }
    }
}
