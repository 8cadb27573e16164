import Foundation
import XCTest

@testable import Tensor

/// The start-up kernel check: the decision rule on every case, and the kernels that really run, in this process and
/// in a freshly started executable.
final class BLASKernelsTests: XCTestCase {
    func testKernelFamiliesMapToTheirSIMDLevel() {
        XCTAssertEqual(BLASKernels.level(ofCore: "Prescott"), .sse)
        XCTAssertEqual(BLASKernels.level(ofCore: "Nehalem"), .sse)
        XCTAssertEqual(BLASKernels.level(ofCore: "Sandybridge"), .avx)
        XCTAssertEqual(BLASKernels.level(ofCore: "Haswell"), .avx2)
        XCTAssertEqual(BLASKernels.level(ofCore: "Zen"), .avx2)
        XCTAssertEqual(BLASKernels.level(ofCore: "SkylakeX"), .avx512)
        XCTAssertEqual(BLASKernels.level(ofCore: "COOPERLAKE"), .avx512)
        XCTAssertEqual(BLASKernels.level(ofCore: "SomethingNew"), .sse, "an unknown name must never pass as good")
    }

    func testDecisionRule() {
        func decide(
            _ core: String, _ cpu: BLASKernels.SIMDLevel, amd: Bool = false, user: String? = nil,
            restarted: Bool = false
        ) -> BLASKernels.Decision {
            BLASKernels.decide(coreInUse: core, cpu: cpu, amd: amd, userCoreType: user, restarted: restarted)
        }
        // The fallback seen on a recent Xeon: SSE3 kernels on an AVX-512 CPU.
        XCTAssertEqual(decide("Prescott", .avx512), .restart(core: "SkylakeX"))
        XCTAssertEqual(decide("Haswell", .avx512), .restart(core: "SkylakeX"))
        XCTAssertEqual(decide("Prescott", .avx2, amd: true), .restart(core: "Zen"))
        XCTAssertEqual(decide("Prescott", .avx2), .restart(core: "Haswell"))
        XCTAssertEqual(decide("Cooperlake", .avx512), .good, "an AVX-512 family OpenBLAS chose itself is kept")
        XCTAssertEqual(decide("Prescott", .sse), .good)
        // The user's choice is kept, even when the CPU could do more.
        XCTAssertEqual(decide("Haswell", .avx512, user: "Haswell"), .userChoice(core: "Haswell", cpuBest: "SkylakeX"))
        // After one restart: never a second.
        XCTAssertEqual(decide("SkylakeX", .avx512, user: "SkylakeX", restarted: true), .good)
        XCTAssertEqual(
            decide("Prescott", .avx512, user: "SkylakeX", restarted: true),
            .restartDidNotHelp(requested: "SkylakeX", inUse: "Prescott"))
    }

    /// The test process runs the kernels the CPU supports, unless `OPENBLAS_CORETYPE` chose others (then those).
    /// `make test` sets that variable from what a started executable ends up with, so this holds on any CPU there.
    func testKernelsInUseMatchTheCPUOrTheUsersChoice() throws {
        let core = BLASKernels.coreInUse
        if let requested = ProcessInfo.processInfo.environment[BLASKernels.coreTypeVariable], !requested.isEmpty {
            XCTAssertEqual(core.lowercased(), requested.lowercased(), "OpenBLAS must honour OPENBLAS_CORETYPE")
        } else {
            XCTAssertGreaterThanOrEqual(
                BLASKernels.level(ofCore: core), BLASKernels.cpuLevel,
                "OpenBLAS runs \(core) on a CPU with \(BLASKernels.cpuLevel)")
        }
    }

    /// A started executable (`bench --blas-info`, which runs the start-up check first) ends up on the CPU's best
    /// kernels, restarting itself if OpenBLAS chose weaker ones, or on the user's own choice.
    func testExecutableStartsOnTheBestKernels() throws {
        let bench = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("bench")
        guard FileManager.default.isExecutableFile(atPath: bench.path) else {
            throw XCTSkip("bench executable not built next to the test bundle (\(bench.path))")
        }
        var environment = ProcessInfo.processInfo.environment
        let userChoice: String?
        if environment["EXPLAIND_BLAS_CORE_FROM_MAKE"] == "1" {
            // `make test` chose the variable, not the user: start the child as the user started make.
            environment.removeValue(forKey: BLASKernels.coreTypeVariable)
            userChoice = nil
        } else {
            userChoice = environment[BLASKernels.coreTypeVariable].flatMap { $0.isEmpty ? nil : $0 }
        }
        environment.removeValue(forKey: BLASKernels.restartMarker)
        environment.removeValue(forKey: "EXPLAIND_QUIET")
        let process = Process()
        process.executableURL = bench
        process.arguments = ["--blas-info"]
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        var fields: [String: String] = [:]
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let core = try XCTUnwrap(fields["core"], stdout)
        XCTAssertEqual(fields["cpu_level"], BLASKernels.cpuLevel.description)
        if let userChoice {
            XCTAssertEqual(core.lowercased(), userChoice.lowercased())
            XCTAssertFalse(stderr.contains("restarting"), "a user's OPENBLAS_CORETYPE must not be overridden")
        } else {
            XCTAssertGreaterThanOrEqual(
                BLASKernels.level(ofCore: core), BLASKernels.cpuLevel,
                "started on \(core); log: \(stderr)")
            let restarted = stderr.contains("restarting with OPENBLAS_CORETYPE=")
            XCTAssertEqual(stderr.split(separator: "\n").count, restarted ? 1 : 0, "at most one log line: \(stderr)")
        }
    }
}
