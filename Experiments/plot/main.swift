import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation
import Plot

/// Regenerates figures from stored artifacts alone.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
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
            if let f = figure, let e = PlotCatalog.unknownFigure(f) { throw e }
            var isDirectory: ObjCBool = false
            let artifacts: [String]
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let scan = try PlotCatalog.scan(directory: path)
                for (file, reason) in scan.skipped {
                    FileHandle.standardError.write(Data("skipped \(file): \(reason)\n".utf8))
                }
                artifacts = scan.artifacts
            } else {
                artifacts = try PlotCatalog.artifacts(under: path)
            }
            if artifacts.isEmpty {
                throw ArtifactError(
                    .notFound, file: path, problem: "no artifact with figures found",
                    fix: "pass an .h5 written by an explaind executable or its run directory")
            }
            var drawnByName = 0
            var printed = Set<String>()
            for artifact in artifacts {
                let kind = try FigureRenderer.kind(of: artifact)
                let recipes = FigureRenderer.recipes(forKind: kind)
                if let f = figure, !recipes.contains(where: { $0.name == f }) {
                    if artifacts.count == 1 {
                        throw ArtifactError(
                            .invalidArgument, file: artifact,
                            problem: "--figure '\(f)' does not apply to this \(kind) artifact",
                            fix: "its figures are: \(recipes.map(\.name).joined(separator: ", "))")
                    }
                    continue
                }
                drawnByName += 1
                if list {
                    print("\(artifact) (\(kind)): " + recipes.map(\.name).joined(separator: ", "))
                    continue
                }
                let dir = out ?? (artifact as NSString).deletingLastPathComponent
                for (name, result) in try FigureRenderer.renderAll(
                    artifact: artifact, directory: dir, only: figure, format: OutputFormat(rawValue: format)!)
                {
                    switch result {
                    case .success(let p): print("\(name): \(p)")
                    case .failure(let e):
                        failures += 1
                        // One artifact-wide problem (e.g. a contradictory shape) fails every figure: say it once.
                        if printed.insert("\(e)").inserted {
                            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
                        }
                    }
                }
            }
            if let f = figure, drawnByName == 0 {
                throw ArtifactError(
                    .invalidArgument, file: path, problem: "no artifact here has figure '\(f)'",
                    fix: "pass an artifact of the kind that draws it (plot --list shows each artifact's figures)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
ensureBestBLASKernels()
PlotCommand.main()
