import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation
import Plot

/// Regenerates figures from stored artifacts alone.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot",
        abstract: "Regenerate figures from HDF5 artifacts (a file, or every artifact under a run directory).")
    @Argument(help: "An artifact (.h5) or a directory searched recursively for artifacts.") var path: String
    @Option(help: "Only this figure.") var figure: String?
    @Option(help: "png, pdf or svg.") var format: String = "png"
    @Option(help: "Output directory (default: beside each artifact).") var out: String?
    @Flag(help: "List the figures each artifact can produce, and draw nothing.") var list = false

    func validate() throws {
        if OutputFormat(rawValue: format) == nil { throw ValidationError("--format must be png, pdf or svg") }
    }

    func run() throws {
        var failures = 0
        try runReportingErrors {
            let artifacts = try PlotCatalog.artifacts(under: path)
            if artifacts.isEmpty { throw ArtifactError(.notFound, file: path, problem: "no artifact with figures found", fix: "pass an .h5 written by an explaind executable or its run directory") }
            for artifact in artifacts {
                let kind = try FigureRenderer.kind(of: artifact)
                let recipes = FigureRenderer.recipes(forKind: kind)
                if list {
                    print("\(artifact) (\(kind)): " + recipes.map(\.name).joined(separator: ", "))
                    continue
                }
                let dir = out ?? (artifact as NSString).deletingLastPathComponent
                for (name, result) in try FigureRenderer.renderAll(artifact: artifact, directory: dir, only: figure, format: OutputFormat(rawValue: format)!) {
                    switch result {
                    case .success(let p): print("\(name): \(p)")
                    case .failure(let e): failures += 1; FileHandle.standardError.write(Data("error: \(e)\n".utf8))
                    }
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
ensureBestBLASKernels()
PlotCommand.main()
