import Tensor
import XCTest

@testable import Data

/// The common data-set container and its checksum.
final class LabeledDatasetTests: XCTestCase {
    func testFNV1aKnownVectors() {
        // Published FNV-1a 64 test vectors.
        for (text, expected) in [("", "cbf29ce484222325"), ("a", "af63dc4c8601ec8c"), ("foobar", "85944171f73967e8")] {
            var hash = FNV1a()
            Array(text.utf8).withUnsafeBytes { hash.update($0) }
            XCTAssertEqual(hash.hex, expected, "FNV-1a of \"\(text)\"")
        }
    }

    func testChecksumCoversInputsLabelsAndShape() {
        let base = LabeledDataset(
            name: "d", inputs: Tensor(shape: [3, 2], storage: [1, 2, 3, 4, 5, 6]),
            labels: [0, 1, 1], classCount: 2)
        XCTAssertEqual(base.checksum.count, 16)
        var relabeled = base
        relabeled.labels[2] = 0
        var perturbed = base
        perturbed.inputs.storage[4] = 5.0000005
        let reshaped = LabeledDataset(
            name: "d", inputs: base.inputs.reshaped([3, 2, 1]), labels: base.labels, classCount: 2)
        let renamed = LabeledDataset(name: "other", inputs: base.inputs, labels: base.labels, classCount: 2)
        XCTAssertEqual(Set([base.checksum, relabeled.checksum, perturbed.checksum, reshaped.checksum]).count, 4)
        XCTAssertEqual(renamed.checksum, base.checksum)
    }

    func testSubsetsKeepRowsAndLabelsTogether() {
        let inputs = Tensor(shape: [10, 2], storage: (0..<20).map(Float.init))
        let data = LabeledDataset(name: "d", inputs: inputs, labels: (0..<10).map { $0 % 3 }, classCount: 3)
        let picked = data.subset([7, 2])
        XCTAssertEqual(picked.inputs.storage, [14, 15, 4, 5])
        XCTAssertEqual(picked.labels, [1, 2])
        XCTAssertEqual(data.prefix(3).labels, [0, 1, 2])
        XCTAssertEqual(data.prefix(3).inputs.shape, [3, 2])
        XCTAssertEqual(data.labelCounts, [4, 3, 3])

        let random = data.randomSubset(count: 4, seed: 3)
        let indices = LabeledDataset.randomSubsetIndices(count: 4, of: 10, seed: 3)
        XCTAssertEqual(indices, indices.sorted())
        XCTAssertEqual(Set(indices).count, 4)
        XCTAssertEqual(random.labels, indices.map { $0 % 3 })
        XCTAssertEqual(random.inputs.storage, indices.flatMap { [Float(2 * $0), Float(2 * $0 + 1)] })
        XCTAssertEqual(data.randomSubset(count: 4, seed: 3), random)
    }
}
