import XCTest

@testable import Artifacts

final class ProvenanceTests: XCTestCase {
    func testCurrentAndAttachRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Outside any git checkout the commit is "unknown".
        XCTAssertEqual(Provenance.current(directory: directory).gitCommit, "unknown")

        let here = Provenance.current(directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent().path)
        XCTAssertTrue(
            here.gitCommit.range(of: #"^[0-9a-f]{40}(-dirty)?$"#, options: .regularExpression) != nil,
            here.gitCommit)
        XCTAssertTrue(
            here.createdAt.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil,
            here.createdAt)
        XCTAssertFalse(here.hostname.isEmpty)
        XCTAssertEqual(here.softwareVersion, Provenance.softwareVersionString)

        let path = directory + "/run.h5"
        let file = try HDF5File(path: path, mode: .create)
        try here.attach(to: try file.root)
        file.close()
        let reopened = try HDF5File(path: path, mode: .read)
        XCTAssertEqual(try Provenance.read(from: try reopened.root), here)
        XCTAssertEqual(
            try reopened.root.attributeNames(), ["created_at", "git_commit", "hostname", "software_version"])
    }
}
