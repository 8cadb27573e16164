import Foundation
import XCTest

/// A history written by a numpy training loop (python/examples/numpy_mlp.py) replays as an exact path kernel
/// (`assertForeignHistoryReplays`). Skipped when /usr/bin/python3 lacks numpy or h5py.
final class PythonHistoryTests: XCTestCase {
    static let python = "/usr/bin/python3"

    func replay(optimizer: String, seed: Int) throws {
        try XCTSkipUnless(try pythonHas(Self.python, "numpy, h5py"), "needs \(Self.python) with numpy and h5py")
        try assertForeignHistoryReplays(
            python: Self.python, script: "python/examples/numpy_mlp.py",
            outputs: "numpy-outputs.h5", optimizer: optimizer, seed: seed)
    }

    func testNumpySGDMomentumWithWeightDecayReplays() throws { try replay(optimizer: "sgd", seed: 1) }
    func testNumpyAdamWReplays() throws { try replay(optimizer: "adamw", seed: 3) }
}
