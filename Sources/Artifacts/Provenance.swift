import Foundation

/// Where and when an artifact was made: stored as attributes on the root of every result file.
public struct Provenance: Codable, Equatable, Sendable {
    /// The software's own version.
    public static let softwareVersionString = "explaind-swift 0.1.0"

    /// `git rev-parse HEAD` of the working directory, with "-dirty" appended when tracked files are modified;
    /// "unknown" outside a git checkout or without git.
    public var gitCommit: String
    /// Creation time, ISO-8601 in UTC (e.g. "2025-11-23T08:59:00Z").
    public var createdAt: String
    public var hostname: String
    public var softwareVersion: String

    public init(gitCommit: String, createdAt: String, hostname: String, softwareVersion: String) {
        self.gitCommit = gitCommit
        self.createdAt = createdAt
        self.hostname = hostname
        self.softwareVersion = softwareVersion
    }

    /// Attribute names used by `attach(to:)` and `read(from:)`.
    enum AttributeName {
        static let gitCommit = "git_commit", createdAt = "created_at", hostname = "hostname"
        static let softwareVersion = "software_version"
    }

    /// The provenance of this process now; git is asked about `directory` (default: the current directory).
    public static func current(directory: String? = nil) -> Provenance {
        let directory = directory ?? FileManager.default.currentDirectoryPath
        var commit = runGit(["rev-parse", "HEAD"], in: directory) ?? "unknown"
        if commit != "unknown", let changes = runGit(["status", "--porcelain", "--untracked-files=no"], in: directory),
            !changes.isEmpty
        {
            commit += "-dirty"
        }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return Provenance(
            gitCommit: commit, createdAt: formatter.string(from: Date()), hostname: hostName(),
            softwareVersion: softwareVersionString)
    }

    /// Writes the four fields as string attributes `git_commit`, `created_at`, `hostname`, `software_version`.
    public func attach(to object: HDF5Object) throws {
        try object.setAttribute(AttributeName.gitCommit, gitCommit)
        try object.setAttribute(AttributeName.createdAt, createdAt)
        try object.setAttribute(AttributeName.hostname, hostname)
        try object.setAttribute(AttributeName.softwareVersion, softwareVersion)
    }

    /// Reads what `attach(to:)` wrote.
    public static func read(from object: HDF5Object) throws -> Provenance {
        Provenance(
            gitCommit: try object.stringAttribute(AttributeName.gitCommit),
            createdAt: try object.stringAttribute(AttributeName.createdAt),
            hostname: try object.stringAttribute(AttributeName.hostname),
            softwareVersion: try object.stringAttribute(AttributeName.softwareVersion))
    }

    /// Trimmed standard output of a successful `git` command, or nil.
    private static func runGit(_ arguments: [String], in directory: String) -> String? {
        let candidates = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"]
        guard let git = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = ["-C", directory] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
