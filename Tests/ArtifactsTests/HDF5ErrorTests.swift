import XCTest

@testable import Artifacts

final class HDF5ErrorTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func writeSample(_ path: String) throws {
        let file = try HDF5File(path: path, mode: .create)
        try file.root.write("weights", [Float](repeating: 0.5, count: 20_000), shape: [100, 200])
        try file.root.setAttribute("note", "sample")
        file.close()
    }

    func testMissingDatasetNamesPathAndSiblings() throws {
        let path = directory + "/sample.h5"
        try writeSample(path)
        let file = try HDF5File(path: path, mode: .read)
        let error = artifactError { _ = try file.root.read("params/bias", as: Float.self) }
        XCTAssertEqual(error?.kind, .notFound)
        XCTAssertEqual(
            error?.description,
            "\(path): /params/bias: no such dataset (/ has: weights); "
                + "check the name or re-run the producing step")
    }

    func testShapeMismatch() throws {
        let path = directory + "/sample.h5"
        try writeSample(path)
        let file = try HDF5File(path: path, mode: .read)
        let error = artifactError { _ = try file.root.readExpecting("weights", shape: [200, 100], as: Float.self) }
        XCTAssertEqual(
            error?.description,
            "\(path): /weights: has shape [100, 200], expected [200, 100]; "
                + "the file was written for a different model or config: re-run the producing step")
        let wrongType = artifactError { _ = try file.root.read("weights", as: Double.self) }
        XCTAssertEqual(wrongType?.kind, .typeMismatch)
    }

    func testWriteChecksShapeAndName() throws {
        let path = directory + "/write.h5"
        let file = try HDF5File(path: path, mode: .create)
        let counted = artifactError { try file.root.write("x", [Float](repeating: 0, count: 5), shape: [2, 3]) }
        XCTAssertEqual(
            counted?.description,
            "\(path): /x: shape [2, 3] needs 6 values, got 5; "
                + "pass values and a shape that agree")
        try file.root.write("x", [Float](repeating: 0, count: 6), shape: [2, 3])
        XCTAssertEqual(artifactError { try file.root.write("x", [Float(1)], shape: [1]) }?.kind, .alreadyExists)
        try file.root.remove("x")
        try file.root.write("x", [Float(1)], shape: [1])
        XCTAssertEqual(try file.root.read("x", as: Float.self).values, [1])
    }

    func testTruncatedFileGivesOneLineError() throws {
        let path = directory + "/sample.h5"
        try writeSample(path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        XCTAssertGreaterThan(size, 80_000)
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        let error = artifactError { _ = try HDF5File(path: path, mode: .read) }
        XCTAssertEqual(error?.kind, .corrupt)
        XCTAssertEqual(error?.description.hasPrefix("\(path): not a readable HDF5 file (truncated or corrupt?)"), true)
        XCTAssertEqual(error?.description.hasSuffix("; re-run the producing step"), true)
    }

    func testNonHDF5AndMissingFiles() throws {
        let text = directory + "/notes.h5"
        try "just text".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertEqual(artifactError { _ = try HDF5File(path: text, mode: .readWrite) }?.kind, .corrupt)
        let missing = directory + "/absent.h5"
        let error = artifactError { _ = try HDF5File(path: missing, mode: .read) }
        XCTAssertEqual(error?.description, "\(missing): no such file; run the producing step first or check the path")
    }

    func testUseAfterCloseThrows() throws {
        let path = directory + "/closed.h5"
        let file = try HDF5File(path: path, mode: .create)
        let group = try file.root.createGroup("g")
        file.close()
        XCTAssertTrue(file.isClosed)
        let error = artifactError { try group.setAttribute("a", 1) }
        XCTAssertEqual(
            error?.description,
            "\(path): /g: the file is closed; "
                + "keep the HDF5File open while its groups and datasets are in use")
        XCTAssertFalse(group.contains("anything"))
    }

    func testCreateMakesParentDirectories() throws {
        let path = directory + "/deep/er/run.h5"
        let file = try HDF5File(path: path, mode: .create)
        try file.root.write("x", [UInt8(1)], shape: [1])
        file.close()
        XCTAssertEqual(try HDF5File(path: path, mode: .read).root.read("x", as: UInt8.self).values, [1])
    }
}
