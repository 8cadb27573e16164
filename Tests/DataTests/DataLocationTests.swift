import XCTest

@testable import Data

/// Precedence of `DataLocation.resolve`: --data, then EXPLAIND_DATA, then ../shared/data, then data/.
final class DataLocationTests: XCTestCase {
    func testPrecedence() throws {
        let sandbox = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: sandbox) }
        let project = (sandbox as NSString).appendingPathComponent("project")
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)

        // Nothing configured, no sibling: data/ in the current directory.
        var location = DataLocation.resolve(explicit: nil, environment: [:], currentDirectory: project)
        XCTAssertEqual(location, DataLocation(root: project + "/data", source: .defaultFolder))
        XCTAssertEqual(location.mnistDirectory, project + "/data/mnist")
        XCTAssertEqual(location.cifarDirectory, project + "/data/cifar10")

        // A ../shared/data sibling wins over data/.
        let shared = (sandbox as NSString).appendingPathComponent("shared/data")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        location = DataLocation.resolve(explicit: nil, environment: ["EXPLAIND_DATA": ""], currentDirectory: project)
        XCTAssertEqual(location, DataLocation(root: shared, source: .sharedSibling))

        // EXPLAIND_DATA wins over the sibling; relative values are taken from the current directory.
        location = DataLocation.resolve(
            explicit: nil, environment: ["EXPLAIND_DATA": "/srv/sets"], currentDirectory: project)
        XCTAssertEqual(location, DataLocation(root: "/srv/sets", source: .environment))
        location = DataLocation.resolve(
            explicit: nil, environment: ["EXPLAIND_DATA": "sets"], currentDirectory: project)
        XCTAssertEqual(location, DataLocation(root: project + "/sets", source: .environment))

        // --data wins over everything.
        location = DataLocation.resolve(
            explicit: "../elsewhere", environment: ["EXPLAIND_DATA": "/srv/sets"],
            currentDirectory: project)
        XCTAssertEqual(location, DataLocation(root: sandbox + "/elsewhere", source: .commandLine))
    }
}
