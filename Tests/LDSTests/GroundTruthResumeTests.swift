import Artifacts
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// The ground-truth side file: finished subsets survive a crash and are skipped on re-run.
final class GroundTruthResumeTests: XCTestCase {
    struct Crash: Error {}

    func testResumeSkipsFinishedSubsets() throws {
        let dir = NSTemporaryDirectory() + "lds-resume-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/ground-truth.h5"
        let subsets = SubsetSampler.sample(count: 6, fraction: 0.5, of: 20, seed: 2)
        func outcome(_ m: Int) -> RetrainOutcome {
            RetrainOutcome(margins: [Double(m), Double(10 * m), -1], accuracy: 0.5 + Double(m) / 100)
        }

        var calls: [Int] = []
        let first = try GroundTruthStore(path: path, fingerprint: "abc", testCount: 3)
        XCTAssertThrowsError(
            try first.complete(subsets: subsets) { m, indices in
                XCTAssertEqual(indices, subsets[m])
                if m == 3 { throw Crash() }  // killed while retraining subset 3
                calls.append(m); return outcome(m)
            })
        XCTAssertEqual(calls, [0, 1, 2])

        calls = []
        let second = try GroundTruthStore(path: path, fingerprint: "abc", testCount: 3)
        XCTAssertEqual(second.completed, 3)
        let retrained = try second.complete(subsets: subsets) { m, _ in
            calls.append(m); return outcome(m)
        }
        XCTAssertEqual(retrained, 3)
        XCTAssertEqual(calls, [3, 4, 5])
        XCTAssertEqual(second.margins, (0..<6).map { outcome($0).margins })
        XCTAssertEqual(second.accuracies, (0..<6).map { outcome($0).accuracy })

        // Everything done: a third run retrains nothing.
        calls = []
        let third = try GroundTruthStore(path: path, fingerprint: "abc", testCount: 3)
        XCTAssertEqual(
            try third.complete(subsets: subsets) { m, _ in
                calls.append(m); return outcome(m)
            }, 0)
        XCTAssertEqual(calls, [])

        // Other subsets or test examples: refused with a one-line fix.
        XCTAssertThrowsError(try GroundTruthStore(path: path, fingerprint: "other", testCount: 3)) { error in
            XCTAssertTrue("\(error)".contains("fingerprint"), "\(error)")
        }
    }
}
