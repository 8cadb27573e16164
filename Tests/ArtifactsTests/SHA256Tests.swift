import XCTest

@testable import Artifacts

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST example vectors.
    func testStandardVectors() {
        XCTAssertEqual(
            SHA256.hexDigest(Array("abc".utf8)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hexDigest([UInt8]()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // "abcdbcde...nopq": 14 overlapping 4-letter runs, 448 bits (padding spills into a second block).
        let twoBlocks = (0..<14).flatMap { start in (0..<4).map { UInt8(ascii: "a") + UInt8(start + $0) } }
        XCTAssertEqual(twoBlocks.count, 56)
        XCTAssertEqual(
            SHA256.hexDigest(twoBlocks),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hexDigest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding in pieces gives the same digest as one call, across block boundaries.
    func testIncrementalUpdates() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        var hasher = SHA256()
        hasher.update(bytes[0..<1])
        hasher.update(bytes[1..<63])
        hasher.update(bytes[63..<200])
        hasher.update(bytes[200...])
        XCTAssertEqual(hasher.finalize(), SHA256.hash(bytes))
        XCTAssertEqual(
            ConfigHash.of(data: Data("abc".utf8)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

extension SHA256Tests {
    /// Throughput on 64 MiB (dataset checksums hash whole files); printed for the record, and a loose floor.
    func testThroughput() {
        let bytes = [UInt8](repeating: 0x5A, count: 64 << 20)
        let start = Date()
        let digest = SHA256.hexDigest(bytes)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(digest.count, 64)
        let megabytesPerSecond = 64 / seconds
        print("SHA256 throughput: \(Int(megabytesPerSecond)) MiB/s")
        XCTAssertGreaterThan(megabytesPerSecond, 50)
    }
}
