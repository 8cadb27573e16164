import XCTest

@testable import Data

/// The MNIST IDX reader on generated fixtures and on the shared copy (facts from shared/data/mnist/README.txt).
final class MNISTTests: XCTestCase {
    /// A 3-image 2×2 IDX image file and its label file.
    private func writeFixture(in directory: String, split: MNIST.Split, gzip: Bool) throws {
        let names = MNIST.fileNames(split)
        let images =
            Fixtures.bigEndian(0x803) + Fixtures.bigEndian(3) + Fixtures.bigEndian(2) + Fixtures.bigEndian(2)
            + [0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0]
        let labels = Fixtures.bigEndian(0x801) + Fixtures.bigEndian(3) + [7, 0, 9]
        let suffix = gzip ? ".gz" : ""
        let write = gzip ? Fixtures.writeGzip : Fixtures.write
        try write(images, (directory as NSString).appendingPathComponent(names.images + suffix))
        try write(labels, (directory as NSString).appendingPathComponent(names.labels + suffix))
    }

    func testReadsPlainAndCompressedFixtures() throws {
        for gzip in [false, true] {
            let directory = try Fixtures.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try writeFixture(in: directory, split: .test, gzip: gzip)
            let data = try MNIST.load(.test, directory: directory)
            XCTAssertEqual(data.inputs.shape, [3, 4])
            XCTAssertEqual(data.labels, [7, 0, 9])
            XCTAssertEqual(data.classCount, 10)
            let expected: [Float] = [0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0].map {
                (Float($0) / 255 - 0.1307) / 0.3081
            }
            XCTAssertEqual(data.inputs.storage, expected)
            XCTAssertEqual(data.inputs.storage[1], (1 - 0.1307) / 0.3081, accuracy: 1e-6)
        }
    }

    func testBadMagicIsReportedOnOneLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try writeFixture(in: directory, split: .train, gzip: false)
        let path = (directory as NSString).appendingPathComponent("train-images-idx3-ubyte")
        try Fixtures.write(Fixtures.bigEndian(0x801) + Fixtures.bigEndian(1) + [0, 0, 0, 1, 0, 0, 0, 1, 5], to: path)
        XCTAssertThrowsError(try MNIST.load(.train, directory: directory)) { error in
            XCTAssertEqual(
                error as? DataError, .corruptFile(path: path, reason: "bad magic 0x00000801, expected 0x00000803"))
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"))
            XCTAssertTrue(text.hasPrefix("corrupt data file \(path) (bad magic 0x00000801"), text)
            XCTAssertTrue(
                text.hasSuffix(
                    "run `make data` (needs internet) or set EXPLAIND_DATA to a folder with mnist/ and cifar10/"), text)
        }
    }

    func testSizeMismatchAndTruncatedGzipAreCorrupt() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Header says 3 labels, file holds 2.
        let short = (directory as NSString).appendingPathComponent("labels")
        try Fixtures.write(Fixtures.bigEndian(0x801) + Fixtures.bigEndian(3) + [1, 2], to: short)
        XCTAssertThrowsError(try MNIST.readLabels(path: short)) { error in
            XCTAssertEqual(error as? DataError, .corruptFile(path: short, reason: "10 bytes, header implies 11"))
        }
        // A gzip stream cut in half.
        let gz = (directory as NSString).appendingPathComponent("images.gz")
        let image =
            Fixtures.bigEndian(0x803) + Fixtures.bigEndian(50) + Fixtures.bigEndian(28) + Fixtures.bigEndian(28)
            + (0..<(50 * 784)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        try Fixtures.writeGzip(image, to: gz)
        XCTAssertEqual(try MNIST.readImages(path: gz).count, 50)
        let compressed = try Array(Foundation.Data(contentsOf: URL(fileURLWithPath: gz)))
        try Fixtures.write(Array(compressed.prefix(compressed.count / 2)), to: gz)
        XCTAssertThrowsError(try MNIST.readImages(path: gz)) { error in
            guard case .corruptFile(let path, _)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, gz)
        }
    }

    func testMissingFileNamesTheFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertThrowsError(try MNIST.load(.train, directory: directory)) { error in
            let expectedPath = (directory as NSString).appendingPathComponent("train-images-idx3-ubyte[.gz]")
            XCTAssertEqual(error as? DataError, .missingFile(path: expectedPath))
            XCTAssertEqual(
                "\(error)",
                "missing data file \(expectedPath): run `make data` (needs internet) or set "
                    + "EXPLAIND_DATA to a folder with mnist/ and cifar10/")
        }
    }

    func testSharedTestSplitLabelCounts() throws {
        let directory = try Fixtures.sharedData("mnist")
        let test = try MNIST.load(.test, directory: directory)
        XCTAssertEqual(test.inputs.shape, [10_000, 784])
        XCTAssertEqual(test.labelCounts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        let seeded = test.randomSubset(count: 500, seed: 11)
        XCTAssertEqual(seeded.count, 500)
        XCTAssertEqual(
            seeded.labels, LabeledDataset.randomSubsetIndices(count: 500, of: 10_000, seed: 11).map { test.labels[$0] })
    }

    func testSharedTrainingPixelStatistics() throws {
        let directory = try Fixtures.sharedData("mnist")
        let raw = try MNIST.readImages(path: try CompressedFile.locate("train-images-idx3-ubyte", in: directory))
        XCTAssertEqual([raw.count, raw.rows, raw.columns], [60_000, 28, 28])
        var sum = 0.0, sumOfSquares = 0.0
        for byte in raw.pixels { let x = Double(byte) / 255; sum += x; sumOfSquares += x * x }
        let n = Double(raw.pixels.count)
        let mean = sum / n, std = (sumOfSquares / n - mean * mean).squareRoot()
        XCTAssertEqual(mean, 0.1307, accuracy: 5e-5)
        XCTAssertEqual(std, 0.3081, accuracy: 5e-5)

        let labels = try MNIST.readLabels(path: try CompressedFile.locate("train-labels-idx1-ubyte", in: directory))
        var counts = [Int](repeating: 0, count: 10)
        for label in labels { counts[Int(label)] += 1 }
        XCTAssertEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])

        // After normalisation the first images have mean ≈ 0 within the image-to-image spread, and the reader keeps order.
        let normalized = MNIST.normalized(
            MNIST.RawImages(count: 2, rows: 28, columns: 28, pixels: Array(raw.pixels[0..<1568])))
        XCTAssertEqual(normalized.storage[200], (Float(raw.pixels[200]) / 255 - 0.1307) / 0.3081)
    }
}
