import Artifacts
import Foundation
import XCTest

/// The repository's root folder (tests read `Configs/` and `../shared/data` relative to it).
public let repositoryRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh, empty folder under the system's temporary directory, named `explaind-<prefix>-<UUID>`.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("explaind-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A test case that runs from the repository root with logging silenced and a fresh temporary `directory`, removed
/// after each test. Tests never write into `results/`.
open class WorkspaceTestCase: XCTestCase {
    /// This test's own temporary folder.
    public var directory: String!

    override open func setUp() {
        super.setUp()
        Log.quiet = true
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
        directory = try? makeTemporaryDirectory(String(describing: type(of: self)))
    }

    override open func tearDown() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        super.tearDown()
    }
}
