import Artifacts
import Foundation

/// Finding artifacts for `plot`.
public enum PlotCatalog {
    /// `path` itself when it is a file, else every `.h5` below it that has a `kind` with figures (histories, which
    /// have no figures of their own, are skipped; their `metrics.h5` carries the training curves).
    public static func artifacts(under path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ArtifactError(.notFound, file: path, problem: "no such file or directory", fix: "pass an artifact or a results directory")
        }
        if !isDirectory.boolValue { return [path] }
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".h5") }.sorted().map { path + "/" + $0 }
        return files.filter { f in
            guard let kind = try? FigureRenderer.kind(of: f) else { return false }
            return !FigureRenderer.recipes(forKind: kind).isEmpty
        }
    }
}
