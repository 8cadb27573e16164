import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Atomic file replacement: contents go to a temporary file in the target's directory, which is then renamed
/// over the target, so readers see either the old or the complete new file.
enum AtomicFile {
    /// A temporary path next to `path` (same directory, so the rename stays on one file system).
    static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Writes `bytes` to `path` atomically, creating the parent directory when needed.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try replace(path) { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
                throw PlotError.file("cannot write \(temporary)")
            }
        }
    }

    /// Calls `produce` with a temporary path, then renames the file it wrote to `path`; removes it on failure.
    static func replace(_ path: String, _ produce: (String) throws -> Void) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = temporaryPath(for: path)
        do {
            try produce(temporary)
            guard rename(temporary, path) == 0 else {
                throw PlotError.file("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
