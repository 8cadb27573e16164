import Artifacts
import EPK
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// `reproduce --executor slurm` against a real one-node Slurm (scripts/slurm-local.sh). The cluster is started when
/// slurm-wlm is installed and no cluster answers, and stopped after the last test if these tests started it; without
/// slurm-wlm the tests are skipped. Everything is written to a temporary folder.
final class SlurmClusterTests: XCTestCase {
    nonisolated(unsafe) static var startedCluster = false
    nonisolated(unsafe) static var unavailable: String?
    nonisolated(unsafe) static var checked = false
    var directory: String!
    var root: String { repositoryRoot }

    /// Runs a bash command; its output goes through a file, not a pipe, so daemons it starts cannot hold us up.
    static func shell(_ command: String) -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "explaind-slurm-shell-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "(\(command)) >'\(log)' 2>&1 </dev/null"]
        do { try p.run() } catch { return (-1, "\(error)") }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Starts the cluster once per run of this class, or explains why it cannot.
    static func ensureCluster(root: String) -> String? {
        if checked { return unavailable }
        checked = true
        guard FileManager.default.fileExists(atPath: "/usr/sbin/slurmctld") else {
            unavailable = "slurm-wlm is not installed (make setup installs it); skipping the real-cluster Slurm tests"
            return unavailable
        }
        if shell("scontrol ping 2>/dev/null | grep -q 'is UP'").status == 0 { return nil }
        let started = shell("bash '\(root)/scripts/slurm-local.sh' start")
        guard started.status == 0 else {
            unavailable = "could not start the local cluster: \(started.output)"
            return unavailable
        }
        startedCluster = true
        return nil
    }

    override class func tearDown() {
        if startedCluster {
            let stopped = shell("bash '\(repositoryRoot)/scripts/slurm-local.sh' stop")
            if stopped.status != 0 { print("SlurmClusterTests: stopping the cluster failed: \(stopped.output)") }
            startedCluster = false
        }
        super.tearDown()
    }

    override func setUpWithError() throws {
        Log.quiet = true
        _ = FileManager.default.changeCurrentDirectoryPath(root)
        try XCTSkipIf(
            !FileManager.default.fileExists(atPath: "../shared/data/mnist"), "needs ../shared/data/mnist (or make data)"
        )
        for exe in ["train-mnist", "validate-epk", "report"] {
            try XCTSkipUnless(
                FileManager.default.isExecutableFile(atPath: root + "/.build/release/" + exe),
                "needs .build/release/\(exe): swift build -c release first")
        }
        if let why = Self.ensureCluster(root: root) { throw XCTSkip(why) }
        directory = NSTemporaryDirectory() + "explaind-slurm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    override func tearDown() { if let d = directory { try? FileManager.default.removeItem(atPath: d) } }

    /// A pipeline file in the temporary folder; stage paths point into it.
    private func writePipeline(_ stages: String) throws -> PipelineConfig {
        let path = directory + "/pipeline.json"
        try
            #"{"name": "slurm-test", "resources": {"cpus": 1, "memory": "2G", "time": "20:00"}, "stages": [\#(stages)]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try StrictConfig.load(PipelineConfig.self, from: path)
    }

    private func run(_ pipeline: PipelineConfig, wait: Bool = true) throws -> SlurmExecutor.Outcome {
        try SlurmExecutor.run(
            pipeline: pipeline, pipelinePath: directory + "/pipeline.json", force: false,
            binDirectory: root + "/.build/release", reportPath: directory + "/REPORT.md",
            wait: wait, pollSeconds: 1, output: { _ in })
    }

    func testShardedMNISTThroughSlurmMatchesTheLocalRunAndARerunSubmitsOnlyWhatIsMissing() throws {
        let d = directory!
        let pipeline = try writePipeline(
            """
            {"name": "train-mnist", "executable": "train-mnist", "config": "Configs/mnist-quick.json",
             "artifact": "\(d)/train/metrics.h5", "arguments": ["--out", "\(d)/train"]},
            {"name": "epk-mnist", "executable": "validate-epk", "config": "Configs/mnist-epk-quick.json",
             "artifact": "\(d)/epk/epk.h5", "after": ["train-mnist"], "shards": 2,
             "arguments": ["--history", "\(d)/train/history.h5"]}
            """)
        let outcome = try run(pipeline)
        XCTAssertEqual(
            outcome.plan.jobs.map(\.label), ["train-mnist", "epk-mnist (shards)", "epk-mnist (merge)", "report"])
        let ids = outcome.jobIDs
        XCTAssertEqual(outcome.rows.map(\.jobID), [ids[0], ids[1] + "_1", ids[1] + "_2", ids[2], ids[3]])
        XCTAssertEqual(outcome.rows.map(\.state), Array(repeating: "COMPLETED", count: 5))
        for file in [
            "train/train-mnist.sbatch", "train/train-mnist-\(ids[0]).log", "epk/epk-mnist-shards.sbatch",
            "epk/epk-mnist-\(ids[1])_2.log", "epk/epk-mnist-merge.sbatch", "epk/epk-shard-1-of-2.h5",
            "report.sbatch", "REPORT.md",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/" + file), file)
        }
        XCTAssertTrue(try String(contentsOfFile: d + "/REPORT.md", encoding: .utf8).contains("| epk-mnist |"))
        XCTAssertEqual(Pipeline.status(of: pipeline.stages[1], in: pipeline), .upToDate)

        // The merged shards equal an unsharded local replay of the same history.
        let (localPath, _) = try EPKDriver.run(
            configPath: "Configs/mnist-epk-quick.json", historyOverride: d + "/train/history.h5",
            outputDirectory: d + "/local", dataDirectory: nil, shard: nil)
        let merged = try EPKArtifact.read(d + "/epk/epk.h5").result, local = try EPKArtifact.read(localPath).result
        XCTAssertEqual(merged.testCount, 20)
        func close<T: BinaryFloatingPoint>(_ a: [T], _ b: [T], _ what: String) {
            XCTAssertEqual(a.count, b.count, what)
            let worst = zip(a, b).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-6, what)
        }
        close(merged.finalOutputs, local.finalOutputs, "final outputs")
        close(merged.kernelByComponent, local.kernelByComponent, "kernel")
        close(merged.regularizationByComponent, local.regularizationByComponent, "regularization")
        close(merged.stepPredicted, local.stepPredicted, "step predictions")
        XCTAssertEqual(merged.dataAttribution.map(\.group), local.dataAttribution.map(\.group))
        XCTAssertFalse(merged.dataAttribution.isEmpty)
        for (m, l) in zip(merged.dataAttribution, local.dataAttribution) {
            close(m.values, l.values, "data attribution \(m.group)")
        }

        // A rerun with everything up to date submits only the report; with the EPK gone, only the EPK and the report.
        let again = try run(pipeline)
        XCTAssertEqual(again.plan.jobs.map(\.label), ["report"])
        XCTAssertEqual(again.plan.skipped, ["train-mnist", "epk-mnist"])
        try FileManager.default.removeItem(atPath: d + "/epk/epk.h5")
        let missing = try run(pipeline, wait: false)
        _ = Self.shell("scancel " + missing.jobIDs.joined(separator: " "))
        XCTAssertEqual(missing.plan.jobs.map(\.label), ["epk-mnist (shards)", "epk-mnist (merge)", "report"])
        XCTAssertEqual(missing.plan.skipped, ["train-mnist"])
    }

    func testAFailedStageCancelsItsDependantsAndNamesItsLog() throws {
        let d = directory!
        try #"{"experiment": "mnist", "run": "bad", "epochs": 1}"#.write(
            toFile: d + "/bad.json", atomically: true, encoding: .utf8)
        let pipeline = try writePipeline(
            """
            {"name": "train-bad", "executable": "train-mnist", "config": "\(d)/bad.json",
             "artifact": "\(d)/bad/metrics.h5", "arguments": ["--out", "\(d)/bad"]},
            {"name": "epk-bad", "executable": "validate-epk", "config": "Configs/mnist-epk-quick.json",
             "artifact": "\(d)/epk/epk.h5", "after": ["train-bad"], "shards": 2,
             "arguments": ["--history", "\(d)/bad/history.h5"]}
            """)
        do {
            _ = try run(pipeline)
            XCTFail("a failing stage must end the run with an error")
        } catch let failure as SlurmFailure {
            let log = d + "/bad/train-bad-\(failure.jobIDs[0]).log"
            XCTAssertEqual(failure.stage, "train-bad")
            XCTAssertEqual(failure.state, "FAILED")
            XCTAssertEqual(failure.log, log)
            XCTAssertEqual(failure.cancelled, ["epk-bad (merge)", "epk-bad (shards)", "report"])
            XCTAssertTrue(
                failure.description.hasPrefix(
                    "stage 'train-bad' failed (Slurm job \(failure.jobIDs[0]) FAILED); its log: \(log);"),
                failure.description)
            XCTAssertTrue(
                try String(contentsOfFile: log, encoding: .utf8).contains("bad.json"),
                "the log holds the stage's error line")
            XCTAssertEqual(failure.rows.first?.state, "FAILED")
            XCTAssertEqual(Set(failure.rows.dropFirst().map(\.job)), [1, 2, 3])
            XCTAssertEqual(Set(failure.rows.dropFirst().map(\.state)), ["CANCELLED"])
        }
    }
}
