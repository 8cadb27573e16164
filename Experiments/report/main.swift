import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation

/// Writes the reproduction report of a pipeline from whatever artifacts exist, running no stage: stages
/// without an artifact are listed as not run, and no stage has a time.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write REPORT.md from the existing artifacts of a pipeline, without running any stage.")
    @Option(help: "Pipeline file, e.g. Configs/pipeline-quick.json.") var config: String
    @Option(help: "Where REPORT.md goes.") var out: String = "results/REPORT.md"

    func run() throws {
        try runReportingErrors {
            let pipeline = try StrictConfig.load(PipelineConfig.self, from: config)
            try ReportWriter.writeFromArtifacts(pipeline: pipeline, to: out)
            let present = pipeline.stages.filter { FileManager.default.fileExists(atPath: $0.artifact) }.count
            print(
                "report: \(pipeline.name): \(present) of \(pipeline.stages.count) stages have artifacts; report at \(out)"
            )
        }
    }
}
ensureBestBLASKernels()
Report.main()
