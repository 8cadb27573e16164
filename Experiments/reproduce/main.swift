import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Where the stages run: one after another in this process, or as Slurm jobs (docs/CLUSTER.md).
enum Executor: String, ExpressibleByArgument, CaseIterable {
    case local, slurm
}

/// Runs a reproduction pipeline: every stage of Configs/pipeline-*.json in dependency order, skipping
/// stages whose artifacts are complete, valid and made from the current config.
struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract:
            "Run a pipeline of experiment stages, skipping those that are up to date; then write results/REPORT.md.")
    @Option(help: "Pipeline file, e.g. Configs/pipeline-quick.json.") var config: String
    @Flag(help: "Run every stage even if it is up to date.") var force = false
    @Flag(help: "Only print each stage's status.") var dryRun = false
    @Option(help: "Where REPORT.md goes.") var report: String = "results/REPORT.md"
    @Option(help: "Run only this stage and the stages it reads (those not up to date); writes no report.")
    var stage: String?
    @Option(help: "local (default): run the stages here, one after another; slurm: submit them as Slurm jobs.")
    var executor: Executor = .local
    @Flag(help: "With --executor slurm: return after submitting instead of waiting for the jobs.") var noWait = false
    @Option(help: "With --executor slurm: seconds between two looks at the queue.") var pollSeconds: Double = 5
    @Flag(
        help:
            "Also store every stage's reference companion in the folder its `reference` names (stages that are up to date are not re-run)."
    )
    var reference = false

    func validate() throws {
        if noWait && executor != .slurm { throw ValidationError("--no-wait needs --executor slurm") }
        if pollSeconds <= 0 { throw ValidationError("--poll-seconds must be positive") }
        if stage != nil && executor == .slurm { throw ValidationError("--stage runs locally; drop --executor slurm") }
    }

    func run() throws {
        try runReportingErrors {
            let whole = try StrictConfig.load(PipelineConfig.self, from: config)
            let chosen = try stage.map { try whole.restricted(toStage: $0) } ?? whole
            let pipeline = reference ? try chosen.storingReferences() : chosen
            if dryRun {
                for s in pipeline.stages { print("\(s.name): \(Pipeline.status(of: s, in: pipeline))") }
                return
            }
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().path
            if executor == .slurm {
                _ = try SlurmExecutor.run(
                    pipeline: pipeline, pipelinePath: config, force: force, binDirectory: bin,
                    reportPath: report, wait: !noWait, pollSeconds: pollSeconds)
                print(
                    noWait
                        ? "reproduce: \(pipeline.name) submitted; the report job writes \(report)"
                        : "reproduce: \(pipeline.name) done; report at \(report)")
                return
            }
            let timings = try Pipeline.run(pipeline, force: force) { try Pipeline.runProcess($0, binDirectory: bin) }
            if reference {
                // Stages that ran stored their companions themselves; an up-to-date stage's comes from its artifact.
                for (name, status, _) in timings where status == .upToDate {
                    guard let s = pipeline.stages.first(where: { $0.name == name }), let folder = s.referenceDirectory
                    else { continue }
                    print(
                        "\(name): reference companion → \(try ReferenceCompanion.write(artifact: s.artifact, directory: folder))"
                    )
                }
            }
            if let stage {
                print("reproduce: stage \(stage) of \(pipeline.name) done (\(pipeline.stages.count) stages considered)")
                return
            }
            try ReportWriter.write(pipeline: pipeline, timings: timings, to: report)
            print("reproduce: \(pipeline.name) done; report at \(report)")
        }
    }
}
ensureBestBLASKernels()
Reproduce.main()
