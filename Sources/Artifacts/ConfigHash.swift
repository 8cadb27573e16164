import Foundation

/// Content hashes of configs, for provenance and for deciding whether a finished step can be skipped.
public enum ConfigHash {
    /// Lower-case hex SHA-256 of the exact config bytes.
    public static func of(data: Data) -> String { SHA256.hexDigest(data) }

    /// Lower-case hex SHA-256 of a file's bytes, read in 1 MiB pieces (also suits dataset checksums).
    public static func of(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArtifactError(
                .notFound, file: path, problem: "cannot open the file to hash it",
                fix: "check that it exists and is readable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let piece: Data?
            do { piece = try handle.read(upToCount: 1 << 20) } catch {
                throw ArtifactError(.io, file: path, problem: "read failed while hashing (\(error))")
            }
            guard let piece, !piece.isEmpty else { break }
            piece.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
