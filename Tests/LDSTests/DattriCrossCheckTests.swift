import Data
import Foundation
import XCTest

@testable import ExperimentKit

/// python/lds_crosscheck.py on an lds.h5 written here (a tiny MNIST run): the rebuilt torch model reproduces our
/// margins, dattri's TRAK and IF give finite LDS values, and a tampered margin is refused with exit code 3.
/// The python comes from EXPLAIND_TORCH_PYTHON (it needs torch, dattri, numpy and h5py); without it these are skipped.
final class DattriCrossCheckTests: XCTestCase {
    static let variable = "EXPLAIND_TORCH_PYTHON"
    static let packageRoot = TinyLDS.packageRoot
    static let script = packageRoot + "/python/lds_crosscheck.py"

    /// Runs `python arguments`; returns the exit status, stdout and stderr.
    static func run(_ python: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read stderr on another thread so neither pipe fills up while the other is drained; the group's wait orders
        // the write before the read.
        final class Text: @unchecked Sendable { var value = "" }
        let errText = Text()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errText.value = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            group.leave()
        }
        let outText = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, outText, errText.value)
    }

    func torchPython() throws -> String {
        guard let python = ProcessInfo.processInfo.environment[Self.variable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw XCTSkip(
                "set \(Self.variable) to a python with torch, dattri, numpy and h5py to cross-check the LDS against dattri"
            )
        }
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: python)
                && (try Self.run(python, ["-c", "import torch, dattri, numpy, h5py"])).status == 0,
            "\(Self.variable)=\(python) is not a python with torch, dattri, numpy and h5py")
        return python
    }

    /// The tiny lds run of `TinyLDS` (200 training images, 6 subsets, 20 test images); returns lds.h5's path.
    func tinyLDS(_ tiny: TinyLDS) throws -> String {
        try tiny.write()
        _ = try LDSDriver.run(
            configPath: tiny.configPath, outputDirectory: tiny.outputDirectory, dataDirectory: tiny.dataRoot)
        return tiny.outputDirectory + "/lds.h5"
    }

    func testDattriLDSOnTheSameSubsets() throws {
        let python = try torchPython()
        let tiny = try TinyLDS(label: "xcheck")
        defer { tiny.remove() }
        let dir = tiny.dir
        let lds = try tinyLDS(tiny)

        let result = try Self.run(python, [Self.script, lds, "--proj-dim", "64", "--cg-iters", "5", "--threads", "2"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.hasPrefix("margin check passed"), result.out)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/out/crosscheck.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let checks = try XCTUnwrap(json["checks"] as? [String: Any])
        let margins = try XCTUnwrap(checks["margins"] as? [String: Any])
        XCTAssertLessThan(try XCTUnwrap(margins["max_abs_diff"] as? Double), 1e-4)
        // The port of our statistics reproduces the stored bootstrap CIs and per-example LDS of every method.
        XCTAssertLessThan(try XCTUnwrap(checks["bootstrap_ci_max_abs_diff"] as? Double), 1e-12)
        XCTAssertLessThan(try XCTUnwrap(checks["per_example_lds_max_abs_diff"] as? Double), 1e-6)
        let dattri = try XCTUnwrap(json["dattri"] as? [String: [String: Any]])
        XCTAssertEqual(Set(dattri.keys), ["trak", "influence"])
        for (name, method) in dattri {
            let mean = try XCTUnwrap(method["mean"] as? Double, name)
            XCTAssertTrue(mean.isFinite && (-1...1).contains(mean), "\(name): LDS \(mean)")
            let lower = try XCTUnwrap(method["ci_lower"] as? Double),
                upper = try XCTUnwrap(method["ci_upper"] as? Double)
            XCTAssertLessThanOrEqual(lower, mean); XCTAssertLessThanOrEqual(mean, upper)
            XCTAssertEqual((method["per_example"] as? [Any])?.count, 20)
        }
        // dattri's CG has no tolerance stop: its relative residual is measured and reported.
        let influence = try XCTUnwrap((json["settings"] as? [String: Any])?["influence"] as? [String: Any])
        let residual = try XCTUnwrap(influence["cg_relative_residual"] as? [String: Double])
        XCTAssertTrue(
            residual["median"]!.isFinite && residual["median"]! >= 0 && residual["median"]! <= residual["max"]!)
        XCTAssertEqual(influence["cg_iterations"] as? Int, 5)
        // Our lds.h5 has no trak-single / influence methods here: both are reported absent, dattri's LDS alone.
        XCTAssertEqual(json["absent"] as? [String], ["trak-single", "influence"])
        let markdown = try String(contentsOfFile: dir + "/out/crosscheck.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("| TRAK (single model θ_T) | absent (`trak-single`) |"), markdown)

        // A margin that the rebuilt model cannot reproduce: exit code 3 and one line naming the example.
        let tampered = dir + "/tampered.h5"
        try FileManager.default.copyItem(atPath: lds, toPath: tampered)
        let edit = try Self.run(
            python,
            ["-c", "import h5py; f = h5py.File('\(tampered)', 'r+'); f['full_model/margins'][3] += 0.01; f.close()"])
        XCTAssertEqual(edit.status, 0, edit.err)
        let refused = try Self.run(python, [Self.script, tampered, "--out", dir + "/refused", "--methods", "trak"])
        XCTAssertEqual(refused.status, 3, refused.err)
        XCTAssertTrue(refused.err.hasPrefix("lds_crosscheck: margin check failed: test example 3 "), refused.err)
        XCTAssertEqual(refused.err.split(separator: "\n").count, 1, refused.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused/crosscheck.json"))
    }

    /// Without the Python packages the script says so in one line and exits 0 (a python without h5py or torch).
    func testSkipsWithoutTheirPackages() throws {
        let python = "/usr/bin/python3"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: python), "no \(python)")
        try XCTSkipIf(
            (try Self.run(python, ["-c", "import numpy, h5py, torch, dattri"])).status == 0,
            "\(python) has every package; the skip path is not reachable with it")
        let result = try Self.run(python, [Self.script, "/nonexistent/lds.h5"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(
            result.out.hasPrefix("skipped: ")
                && result.out.hasSuffix("is not installed (pip install torch dattri h5py; see scripts/bench-venv.sh)\n"),
            result.out)
        XCTAssertEqual(result.err, "")
    }
}
