import XCTest

@testable import Artifacts

final class HDF5ExtendableTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// Row r of a (rows, 2, 3) stream: values 100 r + j.
    func rows(_ range: Range<Int>) -> [Float] { range.flatMap { r in (0..<6).map { Float(100 * r + $0) } } }

    func testAppendTruncateReopenAndResume() throws {
        let path = directory + "/stream.h5"
        do {
            let file = try HDF5File(path: path, mode: .create)
            let stream = try file.root.createExtendable(
                "params/theta", type: Float.self, rowShape: [2, 3], chunkRows: 4)
            XCTAssertEqual(try stream.shape, [0, 2, 3])
            XCTAssertEqual(try stream.append(rows(0..<1)), 1)
            XCTAssertEqual(try stream.append(rows(1..<6)), 6)  // crosses a chunk boundary
            XCTAssertEqual(try stream.append([Float]()), 6)
            try file.flush()
            XCTAssertEqual(try stream.read(as: Float.self), rows(0..<6))
            XCTAssertEqual(try stream.readRows(2..<5, as: Float.self), rows(2..<5))
            let bad = artifactError { try stream.append([Float](repeating: 0, count: 7)) }
            XCTAssertEqual(
                bad?.description,
                "\(path): /params/theta: cannot append 7 values: not a multiple of the "
                    + "row size 6 (row shape [2, 3]); append whole rows")
            let wrongType = artifactError { try stream.append([Double](repeating: 0, count: 6)) }
            XCTAssertEqual(
                wrongType?.description,
                "\(path): /params/theta: stores float32, not float64; "
                    + "read or write it as the stored type")
            file.close()
        }
        // Resume: the last two steps are incomplete, cut them and continue.
        do {
            let file = try HDF5File(path: path, mode: .readWrite)
            let stream = try file.root.dataset("params/theta")
            XCTAssertEqual(try stream.shape, [6, 2, 3])
            try stream.truncate(rows: 4)
            XCTAssertEqual(try stream.rowCount, 4)
            let tooMany = artifactError { try stream.truncate(rows: 9) }
            XCTAssertEqual(tooMany?.kind, .invalidArgument)
            // slices of a longer array, as a history step appends the components of θ: from their own offsets
            let all = rows(0..<12)
            try stream.append(all[24..<30])
            try stream.append(all[30..<54])
            file.close()
        }
        let file = try HDF5File(path: path, mode: .read)
        let stream = try file.root.dataset("params/theta")
        XCTAssertEqual(try stream.shape, [9, 2, 3])
        XCTAssertEqual(try stream.read(as: Float.self), rows(0..<9))
        XCTAssertEqual(try stream.readRows(8..<9, as: Float.self), rows(8..<9))
        XCTAssertEqual(try stream.readRows(3..<3, as: Float.self), [])
        let outside = artifactError { _ = try stream.readRows(7..<10, as: Float.self) }
        XCTAssertEqual(
            outside?.description,
            "\(path): /params/theta: rows 7..<10 out of range 0..<9; the file holds "
                + "fewer steps than requested: re-run or resume the producing step")
        let readOnly = artifactError { try stream.append(rows(9..<10)) }
        XCTAssertEqual(readOnly?.kind, .io)
    }

    func testFixedDatasetIsNotExtendable() throws {
        let path = directory + "/fixed.h5"
        let file = try HDF5File(path: path, mode: .create)
        let fixed = try file.root.write("fixed", [Int64(1), 2], shape: [2, 1])
        let error = artifactError { try fixed.append([Int64(3)]) }
        XCTAssertEqual(
            error?.description,
            "\(path): /fixed: is not extendable; create it with "
                + "createExtendable(_:type:rowShape:chunkRows:) to append or truncate")
        XCTAssertEqual(
            artifactError {
                try file.root.createExtendable(
                    "x", type: Float.self, rowShape: [0],
                    chunkRows: 1)
            }?.kind, .invalidArgument)
    }

    func testIntegerStreamOfBatchIndices() throws {
        let path = directory + "/batches.h5"
        let file = try HDF5File(path: path, mode: .create)
        let indices = try file.root.createExtendable("batches/indices", type: Int32.self, rowShape: [3], chunkRows: 64)
        for step in 0..<100 { try indices.append([Int32(step), Int32(step + 1), Int32(step + 2)]) }
        XCTAssertEqual(try indices.shape, [100, 3])
        XCTAssertEqual(try indices.readRows(97..<98, as: Int32.self), [97, 98, 99])
    }
}
