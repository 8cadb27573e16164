import XCTest
import TestSupport
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor
@testable import ExperimentKit

/// A history written by a real PyTorch training loop (python/examples/torch_mlp.py: torch.optim.SGD with momentum
/// and weight decay, torch.optim.AdamW) through python/explaind_history.py replays as an exact path kernel.
/// The python comes from EXPLAIND_TORCH_PYTHON (it needs torch, numpy and h5py); without it the tests are skipped.
final class TorchHistoryTests: XCTestCase {
    static let variable = "EXPLAIND_TORCH_PYTHON"
    static var python: String? {
        ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Runs the python with `arguments`; returns its exit status and stderr (stdout is discarded).
    func run(_ python: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = arguments
        let errors = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errors
        try p.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func replay(optimizer: String, seed: Int) throws {
        Log.quiet = true
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
        guard let python = Self.python else {
            throw XCTSkip("set \(Self.variable) to a python with torch, numpy and h5py to replay a PyTorch history")
        }
        let available = FileManager.default.isExecutableFile(atPath: python) ? try run(python, ["-c", "import torch, numpy, h5py"]).status : 1
        try XCTSkipUnless(available == 0, "\(Self.variable)=\(python) is not a python with torch, numpy and h5py")
        let out = NSTemporaryDirectory() + "explaind-torch-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let trained = try run(python, ["python/examples/torch_mlp.py", "--out", out, "--optimizer", optimizer, "--seed", "\(seed)"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        guard trained.status == 0 else { return }
        let (path, stats) = try EPKDriver.run(configPath: out + "/epk.json", historyOverride: nil, outputDirectory: out + "/epk",
                                              dataDirectory: nil, shard: nil)
        XCTAssertEqual(stats.argmaxAgreement, 1, optimizer)
        XCTAssertLessThan(stats.meanAbsoluteError, 1e-3, optimizer)
        let epk = try HDF5File(path: path, mode: .read)
        defer { epk.close() }
        XCTAssertEqual(try epk.root.group("validation").doubleAttribute("argmax_agreement"), 1)
        XCTAssertLessThan(try epk.root.group("validation").doubleAttribute("mean_abs_error"), 1e-3)
        XCTAssertLessThan(try dataCompletenessError(epk), 1e-4, optimizer)

        // The spec model rebuilt from the history gives PyTorch's outputs at θ_T.
        let setup = try ReplaySetup(historyPath: out + "/history.h5", dataDirectory: nil)
        XCTAssertTrue(setup.model is SpecModel)
        let theta = try setup.history.parameters(at: setup.history.stepCount)
        let swift = setup.model.forward(parameters: theta, inputs: setup.data.evaluation.inputs)
        let file = try HDF5File(path: out + "/torch-outputs.h5", mode: .read)
        let torch = try file.root.read("test_logprobs", as: Float.self).values
        file.close()
        XCTAssertEqual(torch.count, swift.count)
        XCTAssertLessThan(Self.worst(zip(torch, swift.storage).map { abs(Double($0) - Double($1)) }), 1e-5, optimizer)
    }

    /// Largest |Σ_j I(x, c, j) − Σ_k kernel(x, c, k)| over the attribution rows: the data attribution sums to the
    /// kernel part only when the recorded optimizer quantity (SGD's R_t, AdamW's exp_avg_sq) is the trainer's own,
    /// which the EPK-vs-model validation alone does not check.
    func dataCompletenessError(_ epk: HDF5File) throws -> Double {
        let outputs = try epk.root.group("outputs")
        let rowClasses = try outputs.read("row_classes", as: Int32.self)                   // (n, S)
        let attributionClasses = try outputs.read("attribution_classes", as: Int32.self)   // (n, Sa)
        let kernel = try epk.root.group("components").read("kernel", as: Double.self)     // (n, S, K)
        let n = rowClasses.shape[0], S = rowClasses.shape[1], Sa = attributionClasses.shape[1], K = kernel.shape[2]
        var attributed = [Double](repeating: 0, count: n * Sa)
        let data = try epk.root.group("data")
        for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
            let d = try data.read(name, as: Float.self)                                    // (n, Sa, N)
            XCTAssertEqual(Array(d.shape.prefix(2)), [n, Sa], name)
            let N = d.shape[2]
            for r in 0..<(n * Sa) { for j in 0..<N { attributed[r] += Double(d.values[r * N + j]) } }
        }
        var errors: [Double] = []
        for i in 0..<n {
            for a in 0..<Sa {
                let c = attributionClasses.values[i * Sa + a]
                guard let s = (0..<S).first(where: { rowClasses.values[i * S + $0] == c }) else {
                    XCTFail("attribution class \(c) of test row \(i) is not a selected class"); continue
                }
                let total = (0..<K).reduce(0.0) { $0 + kernel.values[(i * S + s) * K + $1] }
                errors.append(abs(attributed[i * Sa + a] - total))
            }
        }
        return Self.worst(errors)
    }

    /// The largest error, NaN if any is NaN or there is none (`max` would skip a NaN and hide a broken quantity,
    /// such as a negative exp_avg_sq).
    static func worst(_ errors: [Double]) -> Double {
        errors.contains { $0.isNaN } ? .nan : errors.max() ?? .nan
    }

    func testTorchSGDMomentumWithWeightDecayReplays() throws { try replay(optimizer: "sgd", seed: 1) }
    func testTorchAdamWReplays() throws { try replay(optimizer: "adamw", seed: 3) }
}
