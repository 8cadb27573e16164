import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Writes the reproduction report of a pipeline from whatever artifacts exist, running no stage: stages
/// without an artifact are listed as not run, and no stage has a time. A pipeline with a `reference` folder is
/// reported from its stored reference companions unless `--results` is given.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write REPORT.md from the existing artifacts of a pipeline, without running any stage.")
    @Option(help: "Pipeline file, e.g. Configs/pipeline-quick.json.") var config: String
    @Option(
        help:
            "Where REPORT.md goes (default: results/REPORT.md, or REPORT.md in the pipeline's reference folder when reading the reference)."
    )
    var out: String?
    @Flag(help: "Read the stages' own artifacts even when the pipeline has a stored reference.") var results = false

    func run() throws {
        try runReportingErrors {
            let pipeline = try StrictConfig.load(PipelineConfig.self, from: config)
            if let folder = pipeline.reference, !results {
                let path = out ?? folder + "/REPORT.md"
                try ReportWriter.writeFromReference(pipeline: pipeline, to: path, pipelinePath: config)
                let present = pipeline.stages.filter { Pipeline.referenceStatus(of: $0) != .missing }.count
                print(
                    "report: \(pipeline.name): \(present) of \(pipeline.stages.count) stages have a stored reference in \(folder); report at \(path)"
                )
                return
            }
            let path = out ?? "results/REPORT.md"
            try ReportWriter.writeFromArtifacts(pipeline: pipeline, to: path, pipelinePath: config)
            let present = pipeline.stages.filter { FileManager.default.fileExists(atPath: $0.artifact) }.count
            print(
                "report: \(pipeline.name): \(present) of \(pipeline.stages.count) stages have artifacts; report at \(path)"
            )
        }
    }
}
ensureBestBLASKernels()
Report.main()
