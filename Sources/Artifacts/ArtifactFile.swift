import Foundation

/// Writing a self-describing result artifact: one HDF5 file created under a temporary name and renamed when
/// complete, with the root attributes every artifact carries — `kind` (which `plot` and `reproduce` use),
/// `config` (the exact config text, so a changed config is detected) and provenance.
public enum ArtifactFile {
    public static func write(
        to path: String, kind: String, config: String,
        _ body: (_ root: HDF5Group) throws -> Void
    ) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try AtomicFile.write(to: path) { tmp in
            let file = try HDF5File(path: tmp, mode: .create)
            defer { file.close() }
            let root = try file.root
            try root.setAttribute("kind", kind)
            try root.setAttribute("config", config)
            try Provenance.current().attach(to: root)
            try body(root)
            try file.flush()
        }
    }
}
