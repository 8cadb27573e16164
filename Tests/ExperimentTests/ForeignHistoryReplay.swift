import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor
import TestSupport
import XCTest

@testable import ExperimentKit

/// The replay check of a history written by another trainer (python/examples/*_mlp.py through
/// python/explaind_history.py): `script` trains under `python` into a temporary folder; the history then replays with
/// argmax agreement 1 and mean |EPK − model| < 1e-3, its data attribution sums to the kernel part (which holds only
/// when the recorded optimizer quantity is the trainer's own), and the spec model rebuilt from the history gives the
/// trainer's outputs at θ_T (`outputs`, the script's `<name>-outputs.h5`) to 1e-5.
func assertForeignHistoryReplays(python: String, script: String, outputs: String, optimizer: String, seed: Int) throws {
    Log.quiet = true
    FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
    let out = try makeTemporaryDirectory("foreign-history")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let trained = try runPython(python, [script, "--out", out, "--optimizer", optimizer, "--seed", "\(seed)"])
    XCTAssertEqual(trained.status, 0, trained.stderr)
    guard trained.status == 0 else { return }
    let (path, stats) = try EPKDriver.run(
        configPath: out + "/epk.json", historyOverride: nil, outputDirectory: out + "/epk",
        dataDirectory: nil, shard: nil)
    XCTAssertEqual(stats.argmaxAgreement, 1, optimizer)
    XCTAssertLessThan(stats.meanAbsoluteError, 1e-3, optimizer)
    let epk = try HDF5File(path: path, mode: .read)
    defer { epk.close() }
    XCTAssertEqual(try epk.root.group("validation").doubleAttribute("argmax_agreement"), 1)
    XCTAssertLessThan(try epk.root.group("validation").doubleAttribute("mean_abs_error"), 1e-3)
    XCTAssertLessThan(try dataCompletenessError(epk), 1e-4, optimizer)

    let setup = try ReplaySetup(historyPath: out + "/history.h5", dataDirectory: nil)
    XCTAssertTrue(setup.model is SpecModel)
    let theta = try setup.history.parameters(at: setup.history.stepCount)
    let swift = setup.model.forward(parameters: theta, inputs: setup.data.evaluation.inputs)
    let file = try HDF5File(path: out + "/" + outputs, mode: .read)
    let theirs = try file.root.read("test_logprobs", as: Float.self).values
    file.close()
    XCTAssertEqual(theirs.count, swift.count)
    XCTAssertLessThan(worst(zip(theirs, swift.storage).map { abs(Double($0) - Double($1)) }), 1e-5, optimizer)
}

/// Whether `python` exists and imports `modules`.
func pythonHas(_ python: String, _ modules: String) throws -> Bool {
    guard FileManager.default.isExecutableFile(atPath: python) else { return false }
    return try runPython(python, ["-c", "import " + modules]).status == 0
}

/// Runs the python with `arguments`; returns its exit status and stderr (stdout is discarded).
func runPython(_ python: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
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

/// Largest |Σ_j I(x, c, j) − Σ_k kernel(x, c, k)| over the attribution rows: the data attribution sums to the
/// kernel part only when the recorded optimizer quantity (SGD's R_t, AdamW's exp_avg_sq) is the trainer's own,
/// which the EPK-vs-model validation alone does not check.
func dataCompletenessError(_ epk: HDF5File) throws -> Double {
    let outputs = try epk.root.group("outputs")
    let rowClasses = try outputs.read("row_classes", as: Int32.self)  // (n, S)
    let attributionClasses = try outputs.read("attribution_classes", as: Int32.self)  // (n, Sa)
    let kernel = try epk.root.group("components").read("kernel", as: Double.self)  // (n, S, K)
    let n = rowClasses.shape[0], S = rowClasses.shape[1], Sa = attributionClasses.shape[1], K = kernel.shape[2]
    var attributed = [Double](repeating: 0, count: n * Sa)
    let data = try epk.root.group("data")
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
        let d = try data.read(name, as: Float.self)  // (n, Sa, N)
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
    return worst(errors)
}

/// The largest error, NaN if any is NaN or there is none (`max` would skip a NaN and hide a broken quantity,
/// such as a negative exp_avg_sq).
func worst(_ errors: [Double]) -> Double {
    errors.contains { $0.isNaN } ? .nan : errors.max() ?? .nan
}
