import XCTest
import TestSupport
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor
@testable import ExperimentKit

/// A history written by a numpy training loop (python/examples/numpy_mlp.py through python/explaind_history.py)
/// replays as an exact path kernel. Skipped when /usr/bin/python3 lacks numpy or h5py.
final class PythonHistoryTests: XCTestCase {
    static let python = "/usr/bin/python3"

    func run(_ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        return p.terminationStatus
    }

    func replay(optimizer: String, seed: Int) throws {
        Log.quiet = true
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
        let available = FileManager.default.isExecutableFile(atPath: Self.python) ? try run(["-c", "import numpy, h5py"]) : 1
        try XCTSkipUnless(available == 0, "needs \(Self.python) with numpy and h5py")
        let out = NSTemporaryDirectory() + "explaind-numpy-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        XCTAssertEqual(try run(["python/examples/numpy_mlp.py", "--out", out, "--optimizer", optimizer, "--seed", "\(seed)"]), 0)
        let (path, stats) = try EPKDriver.run(configPath: out + "/epk.json", historyOverride: nil, outputDirectory: out + "/epk",
                                              dataDirectory: nil, shard: nil)
        XCTAssertEqual(stats.argmaxAgreement, 1, optimizer)
        XCTAssertLessThan(stats.meanAbsoluteError, 1e-3, optimizer)
        let epk = try HDF5File(path: path, mode: .read)
        XCTAssertEqual(try epk.root.group("validation").doubleAttribute("argmax_agreement"), 1)
        epk.close()
        // The spec model rebuilt from the history gives numpy's outputs at θ_T.
        let setup = try ReplaySetup(historyPath: out + "/history.h5", dataDirectory: nil)
        XCTAssertTrue(setup.model is SpecModel)
        let theta = try setup.history.parameters(at: setup.history.stepCount)
        let swift = setup.model.forward(parameters: theta, inputs: setup.data.evaluation.inputs)
        let file = try HDF5File(path: out + "/numpy-outputs.h5", mode: .read)
        let numpy = try file.root.read("test_logprobs", as: Float.self).values
        file.close()
        XCTAssertEqual(numpy.count, swift.count)
        let worst = zip(numpy, swift.storage).map { abs(Double($0) - Double($1)) }.max() ?? .nan
        XCTAssertLessThan(worst, 1e-5, optimizer)
    }

    func testNumpySGDMomentumWithWeightDecayReplays() throws { try replay(optimizer: "sgd", seed: 1) }
    func testNumpyAdamWReplays() throws { try replay(optimizer: "adamw", seed: 3) }
}
