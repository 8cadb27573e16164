import XCTest

@testable import Data

/// Facts of the modulo-addition data (docs/METHOD.md §14).
final class ModuloAdditionDatasetTests: XCTestCase {
    func testPairsSplitsAndTargets() {
        let data = ModuloAdditionDataset(prime: 113, seed: 0)
        XCTAssertEqual(data.pairs.count, 6441)
        XCTAssertEqual(Set(data.pairs.map { $0.a * 1000 + $0.b }).count, 6441)
        XCTAssertTrue(data.pairs.allSatisfy { $0.b <= $0.a && $0.a < 113 && $0.b >= 0 })

        XCTAssertEqual(data.validation.count, 2000)
        XCTAssertEqual(data.train.count, 4000)
        XCTAssertEqual(Set(data.validationIndices).count, 2000)
        XCTAssertEqual(Set(data.trainIndices).count, 4000)
        XCTAssertTrue(Set(data.validationIndices).isDisjoint(with: data.trainIndices))
        XCTAssertEqual(data.unusedIndices.count, 441)
        XCTAssertEqual(data.vocabularySize, 115)
        XCTAssertEqual(data.train.classCount, 115)
        XCTAssertEqual(data.train.sampleShape, [4])

        for (split, indices) in [(data.train, data.trainIndices), (data.validation, data.validationIndices)] {
            for row in 0..<split.count {
                let pair = data.pairs[indices[row]]
                let tokens = Array(split.inputs.storage[(4 * row)..<(4 * row + 4)])
                XCTAssertEqual(tokens, [Float(pair.a), 113, Float(pair.b), 114])
                XCTAssertEqual(split.labels[row], (pair.a + pair.b) % 113)
            }
        }
    }

    func testSplitIsDeterministicPerSeed() {
        let first = ModuloAdditionDataset(seed: 7), again = ModuloAdditionDataset(seed: 7)
        XCTAssertEqual(first.trainIndices, again.trainIndices)
        XCTAssertEqual(first.validationIndices, again.validationIndices)
        XCTAssertEqual(first.train.checksum, again.train.checksum)
        let other = ModuloAdditionDataset(seed: 8)
        XCTAssertNotEqual(first.validationIndices, other.validationIndices)
        XCTAssertNotEqual(first.train.checksum, other.train.checksum)
    }

    func testSmallPrimeEnumeration() {
        let data = ModuloAdditionDataset(prime: 5, seed: 1, validationCount: 4, trainCount: 6)
        XCTAssertEqual(
            data.pairs.map { [$0.a, $0.b] },
            [
                [0, 0], [1, 0], [1, 1], [2, 0], [2, 1], [2, 2], [3, 0], [3, 1], [3, 2], [3, 3],
                [4, 0], [4, 1], [4, 2], [4, 3], [4, 4],
            ])
        XCTAssertEqual(data.unusedIndices.count, 5)
        XCTAssertEqual(data.train.classCount, 7)
    }
}
