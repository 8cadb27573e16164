import Artifacts
import Foundation

/// Finding artifacts for `plot`.
public enum PlotCatalog {
    /// `path` itself when it is a file, else every `.h5` below it that has a `kind` with figures (histories, which
    /// have no figures of their own, are skipped; their `metrics.h5` carries the training curves).
    public static func artifacts(under path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ArtifactError(
                .notFound, file: path, problem: "no such file or directory",
                fix: "pass an artifact or a results directory")
        }
        if !isDirectory.boolValue { return [path] }
        return try scan(directory: path).artifacts
    }

    /// Every `.h5` below `directory`: those with figures, and the others with the reason each is skipped
    /// (`plot` names every skipped file on stderr).
    public static func scan(
        directory: String
    ) throws -> (artifacts: [String], skipped: [(path: String, reason: String)]) {
        let base = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let files = (FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".h5") }.sorted().map { base + "/" + $0 }
        var artifacts: [String] = [], skipped: [(String, String)] = []
        for f in files {
            let file: HDF5File
            do { file = try HDF5File(path: f, mode: .read) } catch {
                let text = "\(error)"  // "<file>: <problem>; <fix>": keep the problem and fix only
                skipped.append((f, text.hasPrefix(f + ": ") ? String(text.dropFirst(f.count + 2)) : text)); continue
            }
            defer { file.close() }
            guard let root = try? file.root else { skipped.append((f, "no readable root group")); continue }
            guard root.hasAttribute("kind"), let kind = try? root.stringAttribute("kind") else {
                let format = root.hasAttribute("format") ? (try? root.stringAttribute("format")) : nil
                skipped.append(
                    (
                        f,
                        format?.hasPrefix("explaind-history") == true
                            ? "a training history, which has no figures (its curves are drawn from metrics.h5 beside it)"
                            : "no 'kind' attribute, so not an artifact of an explaind executable"
                    ))
                continue
            }
            if FigureRenderer.recipes(forKind: kind).isEmpty {
                skipped.append((f, "kind '\(kind)' has no figures"))
            } else {
                artifacts.append(f)
            }
        }
        return (artifacts, skipped)
    }

    /// The error for `--figure name` when no recipe has that name, listing the known ones; nil for a known name.
    public static func unknownFigure(_ name: String) -> ArtifactError? {
        figureNames.contains(name)
            ? nil
            : ArtifactError(
                .invalidArgument,
                "--figure '\(name)': no such figure; known figures: \(figureNames.joined(separator: ", "))")
    }

    /// Names of every known figure, sorted.
    public static var figureNames: [String] { Array(Set(FigureRenderer.catalog.map(\.name))).sorted() }
}
