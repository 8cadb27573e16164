import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One run per output folder: an exclusive `flock(2)` on a lock file inside the folder, held until the process
/// exits (the kernel releases it on exit, however the process ends, so a crash or `kill -9` never leaves a stale
/// lock). The file holds the holder's pid, host and command line, so a second run on the same folder refuses with
/// one line naming it:
/// `results/x: another run holds this output folder (pid 4242 on host h, since …: train-modulo --config …); wait for it to finish, stop it, or pass another --out`.
///
/// Shards of one EPK run write different files into one folder and may run at the same time, so each takes its own
/// lock name (`name`), e.g. `.explaind-shard-2-of-4.lock`.
public final class OutputLock: @unchecked Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    /// Locks held by this process, kept open until exit.
    nonisolated(unsafe) private static var held: [String: OutputLock] = [:]
    private static let heldLock = NSLock()

    private init(path: String, descriptor: Int32) { self.path = path; self.descriptor = descriptor }

    /// Takes the lock `name` in `directory` (created if needed) for the rest of the process, or throws one line
    /// naming the current holder. Taking a lock this process already holds is a no-op.
    @discardableResult
    public static func acquire(directory: String, name: String = ".explaind.lock") throws -> OutputLock {
        let dir = directory.isEmpty ? "." : directory
        let path = (dir as NSString).appendingPathComponent(name)
        heldLock.lock(); defer { heldLock.unlock() }
        if let existing = held[path] { return existing }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError(
                .io, file: dir, problem: "cannot create the output folder",
                fix: "check permissions or pass another --out")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ArtifactError(
                .io, file: path, problem: "cannot open the lock file (\(String(cString: strerror(errno))))",
                fix: "check the folder's permissions or pass another --out")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readHolder(fd)
            close(fd)
            throw ArtifactError(
                .alreadyExists, file: dir,
                problem: "another run holds this output folder (\(holder.isEmpty ? "holder unknown" : holder))",
                fix: "wait for it to finish, stop it, or pass another --out")
        }
        let lock = OutputLock(path: path, descriptor: fd)
        lock.writeHolder()
        held[path] = lock
        return lock
    }

    /// "pid 4242 on host h, since 2026-01-01T00:00:00Z: train-modulo --config Configs/modulo.json".
    public static var holderDescription: String {
        let host = ProcessInfo.processInfo.hostName
        let since = ISO8601DateFormatter().string(from: Date())
        let arguments = CommandLine.arguments
        let executable = arguments.first.map { ($0 as NSString).lastPathComponent } ?? "?"
        return "pid \(getpid()) on host \(host), since \(since): "
            + ([executable] + arguments.dropFirst()).joined(separator: " ")
    }

    private func writeHolder() {
        let text = Array(Self.holderDescription.utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    private static func readHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: buffer[0..<n], as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }

    /// Releases the lock early (tests; a process otherwise holds it until it exits).
    public func release() {
        Self.heldLock.lock(); defer { Self.heldLock.unlock() }
        Self.held[path] = nil
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
