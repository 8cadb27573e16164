import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes that either complete or leave the destination untouched.
///
/// The content goes to a temporary file in the destination's directory (so the final `rename(2)` stays on one file
/// system and is atomic), is flushed to disk with `fsync`, and is then renamed over the destination. If anything
/// fails, the temporary file is removed and an existing destination keeps its old content.
public enum AtomicFile {
    /// Calls `body` with a temporary path to write, then renames it over `path`. Parent directories are created.
    /// Errors thrown by `body` are rethrown unchanged after the temporary file is removed.
    public static func write(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ArtifactError(
                    .io, file: path, problem: "cannot create directory \(directory)",
                    fix: "check permissions or choose another output path")
            }
        }
        let name = (path as NSString).lastPathComponent
        let temporaryName = ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let temporaryPath = directory.isEmpty ? temporaryName : directory + "/" + temporaryName
        do {
            try body(temporaryPath)
            guard FileManager.default.fileExists(atPath: temporaryPath) else {
                throw ArtifactError(
                    .io, file: path, problem: "the writer produced no file at \(temporaryPath)",
                    fix: "write to the temporary path passed to the closure")
            }
            try synchronize(temporaryPath, destination: path)
            guard rename(temporaryPath, path) == 0 else {
                throw ArtifactError(
                    .io, file: path,
                    problem: "cannot rename the temporary file into place "
                        + "(\(String(cString: strerror(errno))))", fix: "check permissions")
            }
        } catch {
            _ = unlink(temporaryPath)
            throw error
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(data: Data, to path: String) throws {
        try write(to: path) { temporaryPath in
            guard FileManager.default.createFile(atPath: temporaryPath, contents: data) else {
                throw ArtifactError(
                    .io, file: path, problem: "cannot write \(data.count) bytes",
                    fix: "check permissions and free disk space")
            }
        }
    }

    /// Flushes a finished temporary file to disk so the rename never exposes a partly written file after a crash.
    private static func synchronize(_ temporaryPath: String, destination: String) throws {
        let descriptor = open(temporaryPath, O_RDONLY)
        guard descriptor >= 0 else {
            throw ArtifactError(.io, file: destination, problem: "cannot reopen \(temporaryPath) to flush it")
        }
        defer { _ = close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw ArtifactError(
                .io, file: destination, problem: "fsync failed (\(String(cString: strerror(errno))))",
                fix: "check free disk space")
        }
    }
}
