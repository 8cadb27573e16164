import Artifacts
import Foundation

/// Where a training set came from, recorded in every history (`data_source` attribute, JSON) together with
/// `data/training_indices`: training-set row i is row `training_indices[i]` of the source described here, so another
/// program can rebuild the training set from the files alone (see docs/ARTIFACTS.md).
public struct DataSource: Codable, Equatable, Sendable {
    /// One source file and the SHA-256 of its bytes as stored (compressed files are hashed compressed).
    public struct File: Codable, Equatable, Sendable {
        public var path: String
        public var sha256: String
    }
    /// "hdf5", "mnist-idx", "cifar10-binary" or "modulo-generated".
    public var kind: String
    public var files: [File]
    /// What a training index counts, e.g. "row of dataset 'x' in data/train.h5".
    public var indexing: String
    /// The rows of the source that form the training set, in training-set order (not part of the JSON).
    public var trainingIndices: [Int]

    enum CodingKeys: String, CodingKey { case kind, files, indexing }

    public init(kind: String, files: [File], indexing: String, trainingIndices: [Int]) {
        self.kind = kind; self.files = files; self.indexing = indexing; self.trainingIndices = trainingIndices
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        files = try c.decode([File].self, forKey: .files)
        indexing = try c.decode(String.self, forKey: .indexing)
        trainingIndices = []
    }

    /// The file's SHA-256 (hex) from its bytes on disk.
    public static func file(_ path: String) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArtifactError(
                .notFound, file: path, problem: "cannot read the data file", fix: "check the path and its permissions")
        }
        var hasher = SHA256()
        data.withUnsafeBytes { hasher.update($0) }
        return File(path: path, sha256: hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
    }

    /// Compact JSON (sorted keys) for the history attribute.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

extension DataSource {
    /// A source whose files are named but not yet hashed (hashing waits until a history is written).
    public init(kind: String, paths: [String], indexing: String, trainingIndices: [Int]) {
        self.init(
            kind: kind, files: paths.map { File(path: $0, sha256: "") }, indexing: indexing,
            trainingIndices: trainingIndices)
    }

    /// The same source with the SHA-256 of every file computed now.
    public func hashed() throws -> DataSource {
        var copy = self
        copy.files = try files.map { try Self.file($0.path) }
        return copy
    }
}

extension HDF5Group {
    /// A training set named in an artifact other than the history: the group `data` with `training_indices` (int64,
    /// compressed) and, when known, the history's `data_source` JSON as its attribute (docs/ARTIFACTS.md).
    func writeTrainingSet(indices: [Int64], dataSource: String?) throws {
        let data = try createGroup("data")
        try data.write("training_indices", indices, shape: [indices.count], compressed: true)
        if let dataSource { try data.setAttribute("data_source", dataSource) }
    }
}
