import Tensor
import XCTest

@testable import Data

/// The CIFAR-10 binary reader, the cat/dog subset and flips, on fixtures and on the shared partial copy.
final class CIFAR10Tests: XCTestCase {
    /// A record whose pixel p of channel c is (label·7 + c·50 + p) mod 256.
    private func record(label: UInt8) -> [UInt8] {
        var bytes: [UInt8] = [label]
        for index in 0..<3072 {
            let value: Int = Int(label) * 7 + (index / 1024) * 50 + index % 1024
            bytes.append(UInt8(value % 256))
        }
        return bytes
    }

    func testFixtureCatDogFilterAndNormalisation() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let labels: [[UInt8]] = [[3, 1, 5], [9], [5, 5], [0, 3], [2]]
        for (i, fileLabels) in labels.enumerated() {
            let path = (directory as NSString).appendingPathComponent("data_batch_\(i + 1).bin")
            let bytes = fileLabels.flatMap(record(label:))
            if i % 2 == 0 {
                try Fixtures.writeGzip(bytes, to: path + ".gz")
            } else {
                try Fixtures.write(bytes, to: path)
            }
        }
        let train = try CIFAR10.loadCatDog(.train, directory: directory)
        XCTAssertEqual(train.dataset.labels, [0, 1, 1, 1, 0])
        XCTAssertEqual(train.dataset.inputs.shape, [5, 3, 32, 32])
        XCTAssertEqual(train.recordsPerFile.map(\.records), [3, 1, 2, 2, 1])
        XCTAssertEqual(train.expectedImageCount, 10_000)
        XCTAssertFalse(train.isComplete)
        XCTAssertEqual(train.summary, "CIFAR-2 train: 5 of 10000 cat/dog images (partial copy)")

        // Image 1 is the dog of file 1 (label byte 5); check one pixel per channel against the formula.
        let means = [0.4914, 0.4822, 0.4465], stds = [0.2023, 0.1994, 0.201]
        for c in 0..<3 {
            let p = 517
            let byte = Double((5 * 7 + c * 50 + p) % 256)
            let value = train.dataset.inputs.storage[3072 + c * 1024 + p]
            XCTAssertEqual(Double(value), (byte / 255 - means[c]) / stds[c], accuracy: 1e-5)
        }
    }

    func testBadRecordLengthAndMissingFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = (directory as NSString).appendingPathComponent("test_batch.bin")
        try Fixtures.write(record(label: 3) + [1, 2, 3], to: path)
        XCTAssertThrowsError(try CIFAR10.loadCatDog(.test, directory: directory)) { error in
            XCTAssertEqual(
                error as? DataError,
                .corruptFile(path: path, reason: "3076 bytes is not a whole number of 3073-byte records"))
        }
        XCTAssertThrowsError(try CIFAR10.loadCatDog(.train, directory: directory)) { error in
            let missing = (directory as NSString).appendingPathComponent("data_batch_1.bin[.gz]")
            XCTAssertEqual(error as? DataError, .missingFile(path: missing))
            XCTAssertFalse("\(error)".contains("\n"))
            XCTAssertTrue("\(error)".contains("make data"))
        }
    }

    func testFlipReversesRowsOfFlaggedSamplesOnly() {
        var batch = Tensor(shape: [2, 2, 2, 3], storage: (0..<24).map(Float.init))
        let original = batch
        HorizontalFlip.apply(to: &batch, mask: [true, false])
        XCTAssertEqual(Array(batch.storage[0..<12]), [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9])
        XCTAssertEqual(Array(batch.storage[12..<24]), Array(original.storage[12..<24]))
        HorizontalFlip.apply(to: &batch, mask: [true, false])
        XCTAssertEqual(batch, original)

        var rng = RNG(seed: 5)
        let mask = HorizontalFlip.drawMask(count: 4000, rng: &rng)
        let flipped = mask.filter { $0 }.count
        XCTAssertGreaterThan(flipped, 1850)
        XCTAssertLessThan(flipped, 2150)
    }

    func testSharedPartialCopy() throws {
        let directory = try Fixtures.sharedData("cifar10")
        let train = try CIFAR10.loadCatDog(.train, directory: directory)
        let test = try CIFAR10.loadCatDog(.test, directory: directory)
        XCTAssertEqual(train.imageCount, 1052)
        XCTAssertEqual(test.imageCount, 191)
        XCTAssertEqual(train.recordsPerFile.map(\.records), [1102, 1017, 1017, 1285, 1017])
        XCTAssertEqual(test.recordsPerFile.map(\.records), [1017])
        XCTAssertEqual(train.dataset.labelCounts, [529, 523])
        XCTAssertEqual(test.dataset.labelCounts, [104, 87])
        XCTAssertFalse(train.isComplete)
        XCTAssertFalse(test.isComplete)
        XCTAssertEqual(test.expectedImageCount, 2000)
        // test_batch starts 3,8,8,0,6,6,1,6,3,1 (README): the first cat/dog images are cats.
        XCTAssertEqual(Array(test.dataset.labels.prefix(2)), [0, 0])

        // Flipping real images reverses each 32-pixel row of each channel.
        var batch = train.dataset.rows(0..<3)
        HorizontalFlip.apply(to: &batch, mask: [false, true, true])
        let source = train.dataset.inputs.storage
        for n in 1..<3 {
            for row in [0, 17, 95] {
                for w in [0, 9, 31] {
                    XCTAssertEqual(batch.storage[n * 3072 + row * 32 + w], source[n * 3072 + row * 32 + 31 - w])
                }
            }
        }
        XCTAssertEqual(Array(batch.storage[0..<3072]), Array(source[0..<3072]))
    }
}

private extension LabeledDataset {
    func rows(_ range: Range<Int>) -> Tensor { inputs.rows(range) }
}
