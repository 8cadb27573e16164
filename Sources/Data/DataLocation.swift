import Foundation

/// The folder holding the data sets: `<root>/mnist/` (the four IDX files) and `<root>/cifar10/` (the binary batches).
public struct DataLocation: Equatable, Sendable {
    /// Where the root came from, in order of precedence.
    public enum Source: String, Equatable, Sendable {
        /// `--data DIR` on the command line.
        case commandLine
        /// The `EXPLAIND_DATA` environment variable.
        case environment
        /// `../shared/data`, relative to the current directory, when it exists (the workbench's read-only copy).
        case sharedSibling
        /// `data/` in the current directory (where `make data` downloads to).
        case defaultFolder
    }

    /// Absolute path of the data root.
    public let root: String
    /// Which rule chose `root`.
    public let source: Source

    /// A location with an already resolved root.
    public init(root: String, source: Source) {
        self.root = root
        self.source = source
    }

    /// `<root>/mnist`.
    public var mnistDirectory: String { (root as NSString).appendingPathComponent("mnist") }
    /// `<root>/cifar10`.
    public var cifarDirectory: String { (root as NSString).appendingPathComponent("cifar10") }

    /// Chooses the data root: `explicit` (`--data DIR`) if given, else `$EXPLAIND_DATA` if set and non-empty,
    /// else `../shared/data` when that directory exists, else `data/`. Relative paths are taken from
    /// `currentDirectory`. Nothing is checked beyond the existence of `../shared/data`: the readers report missing files.
    public static func resolve(
        explicit: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> DataLocation {
        func absolute(_ path: String) -> String {
            let full = path.hasPrefix("/") ? path : (currentDirectory as NSString).appendingPathComponent(path)
            return (full as NSString).standardizingPath
        }
        if let explicit, !explicit.isEmpty { return DataLocation(root: absolute(explicit), source: .commandLine) }
        if let variable = environment["EXPLAIND_DATA"], !variable.isEmpty {
            return DataLocation(root: absolute(variable), source: .environment)
        }
        let shared = absolute("../shared/data")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: shared, isDirectory: &isDirectory), isDirectory.boolValue {
            return DataLocation(root: shared, source: .sharedSibling)
        }
        return DataLocation(root: absolute("data"), source: .defaultFolder)
    }
}
