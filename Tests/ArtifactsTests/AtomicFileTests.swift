import XCTest

@testable import Artifacts

final class AtomicFileTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    struct Interrupted: Error {}

    func testThrowingBodyLeavesOldFileAndNoTemporary() throws {
        let path = directory + "/result.json"
        try AtomicFile.write(data: Data("old".utf8), to: path)
        var temporary = ""
        XCTAssertThrowsError(
            try AtomicFile.write(to: path) { temporaryPath in
                temporary = temporaryPath
                try Data("half-written new".utf8).write(to: URL(fileURLWithPath: temporaryPath))
                throw Interrupted()
            }
        ) { XCTAssertTrue($0 is Interrupted, "the body's own error is rethrown") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
        XCTAssertEqual((temporary as NSString).deletingLastPathComponent, directory, "temporary file is a sibling")
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["result.json"])
    }

    func testSuccessfulWriteReplacesAndCreatesDirectories() throws {
        let path = directory + "/a/b/result.h5"
        try AtomicFile.write(data: Data("one".utf8), to: path)
        try AtomicFile.write(to: path) { temporaryPath in
            let file = try HDF5File(path: temporaryPath, mode: .create)
            try file.root.write("x", [Int64(42)], shape: [])
            file.close()
        }
        let file = try HDF5File(path: path, mode: .read)
        XCTAssertEqual(try file.root.read("x", as: Int64.self).values, [42])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/a/b"), ["result.h5"])
    }

    func testBodyThatWritesNothingIsAnError() throws {
        let path = directory + "/nothing.txt"
        let error = artifactError { try AtomicFile.write(to: path) { _ in } }
        XCTAssertEqual(error?.kind, .io)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
