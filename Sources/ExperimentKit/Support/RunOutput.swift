import Artifacts
import Foundation

/// Writes a small, human-readable JSON summary of a run (sorted keys) beside its artifact.
func writeSummary(_ object: [String: Any], to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(data: data, to: path)
}

/// Renders every recipe of an artifact's kind into `directory`, logging each figure and warning about (not failing
/// on) a broken one: the artifact is the result, the figures are views of it that `plot` can redraw.
func renderFigures(_ artifact: String, directory: String) {
    do {
        for (name, result) in try FigureRenderer.renderAll(artifact: artifact, directory: directory) {
            switch result {
            case .success(let path): Log.info("figure \(name): \(path)")
            case .failure(let e): Log.warn("figure \(name) failed: \(e)")
            }
        }
    } catch { Log.warn("figures of \(artifact): \(error)") }
}
