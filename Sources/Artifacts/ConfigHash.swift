import Foundation

/// Content hashes of configs, for provenance and for deciding whether a finished step can be skipped.
public enum ConfigHash {
    /// Lower-case hex SHA-256 of the exact config bytes.
    public static func of(data: Data) -> String { SHA256.hexDigest(data) }

    /// Lower-case hex SHA-256 of a file's bytes.
    public static func of(file path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArtifactError(.notFound, file: path, problem: "cannot read the file to hash it",
                                fix: "check that it exists and is readable")
        }
        return of(data: data)
    }
}
