import Foundation

/// The one error type of the Artifacts module.
///
/// Its `description` is always a single line that names the file, the object inside it (an HDF5 path or a config
/// key path) when there is one, the problem, and how to fix it, e.g.
/// `results/run.h5: /params/fc1.weight: no such dataset; check the name or re-run the producing step`.
public struct ArtifactError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Broad category, for callers that react differently (e.g. resume when a file is `.notFound`).
    public enum Kind: String, Sendable {
        /// A file, group, dataset or attribute that does not exist.
        case notFound
        /// A file that exists but cannot be read (truncated, corrupt, not HDF5 / not JSON).
        case corrupt
        /// Data whose shape is not the expected one.
        case shapeMismatch
        /// Data whose element type is not the requested one.
        case typeMismatch
        /// An object that already exists where a new one was to be created.
        case alreadyExists
        /// A bad argument from the caller (negative extent, count not matching a shape, ...).
        case invalidArgument
        /// A configuration file that is not acceptable (unknown key, wrong type, out of range, ...).
        case config
        /// A failure of the operating system or of the HDF5 library itself.
        case io
    }

    public let kind: Kind
    /// The complete one-line message.
    public let description: String

    /// An error with a ready-made message; newlines are replaced so the message stays on one line.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.description = message.replacingOccurrences(of: "\n", with: " ")
    }

    /// `"<file>: <object>: <problem>; <fix>"`, leaving out the parts that are empty.
    public init(_ kind: Kind, file: String, object: String = "", problem: String, fix: String = "") {
        var message = file.isEmpty ? "" : file + ": "
        if !object.isEmpty { message += object + ": " }
        message += problem
        if !fix.isEmpty { message += "; " + fix }
        self.init(kind, message)
    }
}

extension ArtifactError: LocalizedError {
    public var errorDescription: String? { description }
}
