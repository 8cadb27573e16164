import Foundation

/// A data file that is missing or unreadable. Its description is one line that names the file and says how to get
/// the data (refuse clearly instead of guessing).
public enum DataError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// No file at `path` (the text may show alternatives, e.g. `…/train-images-idx3-ubyte[.gz]`).
    case missingFile(path: String)
    /// The file at `path` exists but is not what it should be (`reason`: bad magic, wrong size, bad gzip stream…).
    case corruptFile(path: String, reason: String)

    /// How to obtain a good copy of the data.
    public static let remedy =
        "run `make data` (needs internet) or set EXPLAIND_DATA to a folder with mnist/ and cifar10/"

    /// One line: what is wrong with which file, then `remedy`.
    public var description: String {
        switch self {
        case .missingFile(let path):
            return "missing data file \(path): \(Self.remedy)"
        case .corruptFile(let path, let reason):
            return "corrupt data file \(path) (\(reason)): \(Self.remedy)"
        }
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}
