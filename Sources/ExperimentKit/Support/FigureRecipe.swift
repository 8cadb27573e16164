import Artifacts
import Foundation
import Plot

/// A figure that can be regenerated from one stored artifact alone: `plot` finds the recipes whose
/// `artifactKind` matches the artifact's root `kind` attribute, checks the datasets they read, and renders them.
public struct FigureRecipe: Sendable {
    /// File stem of the figure (e.g. "training-loss").
    public let name: String
    /// The artifact kind it reads (root attribute `kind`, e.g. "training-metrics").
    public let artifactKind: String
    /// Datasets it reads; a missing one gives a one-line error naming it, and the other figures are still drawn.
    public let datasets: [String]
    /// An optional part of the artifact (e.g. `data`, written only when the run computed data attribution): when it
    /// is absent the figure does not apply to the artifact and rendering all figures skips it without an error.
    public let optionalPart: String?
    /// Builds the figure from the open artifact.
    public let build: @Sendable (HDF5File) throws -> Figure

    public init(
        name: String, artifactKind: String, datasets: [String], optionalPart: String? = nil,
        build: @escaping @Sendable (HDF5File) throws -> Figure
    ) {
        self.name = name; self.artifactKind = artifactKind; self.datasets = datasets; self.optionalPart = optionalPart
        self.build = build
    }
}

/// Renders recipes from artifacts, with provenance (source artifact, config hash, git commit) in the PNG tEXt chunks.
public enum FigureRenderer {
    /// Every known recipe: the figures of every registered experiment artifact.
    public static var catalog: [FigureRecipe] { ExperimentCatalog.artifacts.flatMap { $0.figures } }

    /// Recipes that apply to an artifact kind.
    public static func recipes(forKind kind: String) -> [FigureRecipe] { catalog.filter { $0.artifactKind == kind } }

    /// The root `kind` attribute of an artifact.
    public static func kind(of path: String) throws -> String {
        let file = try HDF5File(path: path, mode: .read)
        defer { file.close() }
        return try kind(of: file, path: path)
    }

    private static func kind(of file: HDF5File, path: String) throws -> String {
        guard try file.root.hasAttribute("kind") else {
            throw ArtifactError(
                .corrupt, file: path, problem: "no 'kind' attribute, so no figure applies",
                fix: "pass an artifact written by an explaind executable")
        }
        return try file.root.stringAttribute("kind")
    }

    /// Renders one recipe from `artifact` into `directory/<name>.<format>` and returns the path.
    @discardableResult
    public static func render(
        _ recipe: FigureRecipe, artifact: String, directory: String, format: OutputFormat = .png
    ) throws -> String {
        let file = try HDF5File(path: artifact, mode: .read)
        defer { file.close() }
        return try render(recipe, file: file, artifact: artifact, directory: directory, format: format)
    }

    private static func render(
        _ recipe: FigureRecipe, file: HDF5File, artifact: String, directory: String, format: OutputFormat
    ) throws -> String {
        for d in recipe.datasets where !(try file.root.contains(d)) {
            throw ArtifactError(
                .notFound, file: artifact, object: "/" + d,
                problem: "missing dataset needed by figure '\(recipe.name)'",
                fix: "re-run the step that writes this artifact")
        }
        try ArtifactShapes.check(file, kind: recipe.artifactKind, artifact: artifact)
        for warning in ArtifactShapes.nonFiniteWarnings(file, paths: recipe.datasets, figure: recipe.name) {
            Log.warn("\(artifact): \(warning)")
        }
        let figure = try recipe.build(file)
        var metadata = ["Source": artifact, "Figure": recipe.name, "Software": Provenance.softwareVersionString]
        if try file.root.hasAttribute("config") {
            metadata["ConfigHash"] = ConfigHash.of(data: Data(try file.root.stringAttribute("config").utf8))
        }
        if let p = try? Provenance.read(from: file.root) { metadata["GitCommit"] = p.gitCommit }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(recipe.name + "." + format.rawValue)
        try figure.render(to: path, format: format, metadata: metadata)
        return path
    }

    /// Renders every applicable recipe (or only `name`) for an artifact; failures are returned, not thrown, so one
    /// missing dataset does not stop the other figures. Without `name`, recipes whose optional part the artifact
    /// does not have are skipped (asking for one by name still reports the missing dataset).
    public static func renderAll(
        artifact: String, directory: String, only name: String? = nil,
        format: OutputFormat = .png
    ) throws -> [(name: String, result: Result<String, Error>)] {
        let file = try HDF5File(path: artifact, mode: .read)
        defer { file.close() }
        let parts = Set(try Set(catalog.compactMap(\.optionalPart)).filter { try file.root.contains($0) })
        let recipes = recipes(forKind: try kind(of: file, path: artifact))
            .filter { name == nil ? ($0.optionalPart.map(parts.contains) ?? true) : $0.name == name }
        return recipes.map { r in
            (r.name, Result { try render(r, file: file, artifact: artifact, directory: directory, format: format) })
        }
    }
}

/// Reading helpers for figure builders.
extension HDF5File {
    /// A dataset as Doubles.
    public func doubles(_ path: String) throws -> [Double] { try root.read(path, as: Double.self).values }
    /// A dataset as Doubles with its shape.
    public func doublesWithShape(_ path: String) throws -> (values: [Double], shape: [Int]) {
        try root.read(path, as: Double.self)
    }
}
