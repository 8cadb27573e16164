import Artifacts
import Data
import Foundation
import NN
import Tensor
import TestSupport
import XCTest

@testable import EPK
@testable import ExperimentKit
@testable import History

#if canImport(Glibc)
    import Glibc
#endif

/// One test (at least) per class of hostile input in docs/RELIABILITY.md: divergence, resume mismatch, concurrent
/// runs, incomplete merges, trapping inputs, and false figures. Small and fast: the tiniest modulo run (200 pairs,
/// full batch) and hand-made EPK results.
final class HostileInputTests: WorkspaceTestCase {

    /// A tiny modulo training config (200 train / 50 validation pairs, full batch) with `lr` and `seed`.
    private func moduloConfig(
        _ name: String, lr: String = "0.001", seed: Int = 43, steps: Int = 12, flush: Int = 4
    ) throws -> String {
        let text = """
            {"experiment": "modulo", "run": "hostile",
             "data": {"prime": 113, "split_seed": 0, "train_count": 200, "validation_count": 50},
             "optimizer": {"kind": "adamw", "lr": \(lr), "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "weight_decay": 1.0},
             "schedule": {"kind": "constant"},
             "training": {"batch_size": 200, "drop_last": true, "max_steps": \(steps), "seed": \(seed), "flush_every": \(flush)}}
            """
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    // MARK: 1. Divergence and non-finite values

    /// lr 10 makes AdamW's second moment overflow: training stops with one line, the history keeps only finite steps,
    /// replays, and `reproduce` does not count it as done.
    func testTrainingStopsAtFirstNonFiniteStepAndKeepsAFiniteHistory() throws {
        let config = try moduloConfig("diverge.json", lr: "10", steps: 20)
        let out = directory + "/diverge"
        let error = message {
            _ = try TrainingDriver.run(configPath: config, outputDirectory: out, dataDirectory: nil, resume: false)
        }
        XCTAssertTrue(error.hasPrefix("\(out)/history.h5: training diverged at step "), error)
        XCTAssertTrue(
            error.hasSuffix(
                "(replayable, marked 'diverged'); lower optimizer.lr (now 10.0) or add weight decay, then train again"),
            error)
        XCTAssertFalse(error.contains("\n"))
        let history = try HistoryFileReader(path: out + "/history.h5")
        XCTAssertNotNil(history.divergence)
        XCTAssertGreaterThan(history.stepCount, 0)
        XCTAssertLessThan(history.stepCount, 20)
        for t in 0...history.stepCount { XCTAssertTrue(try history.parameters(at: t).allSatisfy(\.isFinite), "θ_\(t)") }
        for t in 0..<history.stepCount {
            XCTAssertTrue(try history.optimizerQuantity(step: t).allSatisfy(\.isFinite), "v_\(t)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/metrics.h5"))
        // The stage whose artifact is this history is not up to date, whatever its config.
        let stage = Stage(name: "train", executable: "train-modulo", config: config, artifact: out + "/history.h5")
        guard case .invalid(let why) = Pipeline.status(of: stage, in: PipelineConfig(name: "p", stages: [stage])) else {
            return XCTFail("a diverged history counted as up to date")
        }
        XCTAssertTrue(why.hasPrefix("training diverged at step"), why)
    }

    /// A hand-made EPK result: 2 test points, 3 classes (all selected), 1 component, 1 step.
    private func result(kernel: [Double]) -> EPKResult {
        let initial: [Float] = [-1, -2, -3, -3, -1, -2], final: [Float] = [-0.5, -2, -3, -3, -0.5, -2]
        let truth = zip(final, initial).map { $0 - $1 }
        return EPKResult(
            testCount: 2, classCount: 3, classesPerTest: 3, rowClasses: [0, 1, 2, 0, 1, 2],
            attributionClassesPerTest: 1, attributionRowClasses: [0, 1], focusClasses: [0, 1],
            componentNames: ["w"], steps: 0..<1, initialOutputs: initial, finalOutputs: final,
            kernelByComponent: kernel, regularizationByComponent: [Double](repeating: 0, count: 6),
            stepPredicted: kernel.map(Float.init), stepTruth: truth, stepKernelFocus: [0, 0],
            stepRegularizationFocus: [0, 0], dataAttribution: [], parameterAttribution: nil)
    }

    /// NaN is failure in every statistic: no agreement, no accuracy, NaN errors; a finite result still agrees.
    func testNaNIsFailureInEveryValidationStatistic() throws {
        let exact = ValidationStatistics.compute(result(kernel: [0.5, 0, 0, 0, 0.5, 0]), labels: [0, 1])
        XCTAssertEqual(exact.argmaxAgreement, 1)
        XCTAssertEqual(exact.maxAbsoluteError, 0, accuracy: 1e-12)
        XCTAssertNil(exact.failure)
        let nan = ValidationStatistics.compute(result(kernel: [.nan, 0, 0, 0, 0.5, 0]), labels: [0, 1])
        XCTAssertEqual(nan.argmaxAgreement, 0.5, "the NaN test point must not agree")
        XCTAssertEqual(nan.epkAccuracy, 0.5)
        XCTAssertTrue(nan.meanAbsoluteError.isNaN)
        XCTAssertTrue(nan.maxAbsoluteError.isNaN, "max must not drop NaN")
        XCTAssertTrue(nan.klModelToEPK.isNaN)
        XCTAssertEqual(
            nan.failure,
            "non-finite validation (mean_abs_error nan, max_abs_error nan, mean_step_error nan, kl_model_epk nan)")

        // Stored, such an artifact is never up to date for reproduce, even with the same config.
        let configText = "{\"experiment\": \"modulo\"}"
        let configPath = directory + "/epk.json"
        try configText.write(toFile: configPath, atomically: true, encoding: .utf8)
        let context = EPKArtifact.Context(
            labels: [0, 1], testIndices: [0, 1], configJSON: configText, historyPath: "h.h5",
            quadrature: QuadratureConfig(), classes: .all)
        for (name, r) in [
            ("good", result(kernel: [0.5, 0, 0, 0, 0.5, 0])), ("nan", result(kernel: [.nan, 0, 0, 0, 0.5, 0])),
        ] {
            try EPKArtifact.write(r, context: context, to: directory + "/\(name).h5")
        }
        func status(_ name: String) -> StageStatus {
            let stage = Stage(
                name: name, executable: "validate-epk", config: configPath, artifact: directory + "/\(name).h5")
            return Pipeline.status(of: stage, in: PipelineConfig(name: "p", stages: [stage]))
        }
        XCTAssertEqual(status("good"), .upToDate)
        XCTAssertEqual(
            status("nan"),
            .invalid(
                "non-finite validation (mean_abs_error nan, max_abs_error nan, mean_step_error nan, kl_model_epk nan)"))
    }

    // MARK: 2. Resume refuses what does not match

    func testResumeRefusesAnotherConfigSeedOrData() throws {
        let original = try moduloConfig("a.json")
        let out = directory + "/resume"
        // A partial history as a killed run leaves it (written by the trainer, never finished).
        let config = try StrictConfig.load(TrainConfig.self, from: original)
        let data = try ExperimentData.load(config, dataDirectory: nil)
        let model = try ExperimentModel.make(.modulo)
        let plan = TrainingDriver.trainingPlan(config, trainingCount: data.train.count)
        let trainer = Trainer(model: model, train: data.train, validation: data.evaluation, plan: plan)
        trainer.flushEvery = 4
        let writer = try HistoryFileWriter(
            path: out + "/history.h5", model: model, train: data.train, plan: plan,
            initialParameters: trainer.initialParameters(),
            configJSON: try String(contentsOfFile: original, encoding: .utf8))
        XCTAssertThrowsError(try trainer.run(writer: DyingWriter(writer, stepsBeforeDeath: 6)))
        writer.file.close()

        let otherLR = try moduloConfig("b.json", lr: "0.5")
        XCTAssertEqual(
            message {
                _ = try TrainingDriver.run(configPath: otherLR, outputDirectory: out, dataDirectory: nil, resume: true)
            },
            "\(out)/history.h5.partial: --resume refused: key 'optimizer.lr' is 0.5 in \(otherLR) but 0.001 in the config the partial history was started with; resume with that config, or start again without --resume"
        )
        let otherSeed = try moduloConfig("c.json", seed: 7)
        XCTAssertEqual(
            message {
                _ = try TrainingDriver.run(
                    configPath: otherSeed, outputDirectory: out, dataDirectory: nil, resume: true)
            },
            "\(out)/history.h5.partial: --resume refused: key 'training.seed' is 7 in \(otherSeed) but 43 in the config the partial history was started with; resume with that config, or start again without --resume"
        )
        XCTAssertEqual(
            message {
                try ResumeCheck.verify(
                    partialPath: out + "/history.h5.partial", configPath: original,
                    currentConfigJSON: try String(contentsOfFile: original, encoding: .utf8),
                    currentChecksum: "0000", dataSummary: "relabelled")
            },
            "\(out)/history.h5.partial: --resume refused: the partial history was recorded on training data with checksum \(data.train.checksum), the data found now has 0000 (relabelled); point --data at the original data, or start again without --resume"
        )
        // flush_every and run do not change the trajectory: resuming with them changed is bit-identical.
        let flush = try moduloConfig("d.json", flush: 3)
        _ = try TrainingDriver.run(configPath: flush, outputDirectory: out, dataDirectory: nil, resume: true)
        _ = try TrainingDriver.run(
            configPath: original, outputDirectory: directory + "/straight", dataDirectory: nil, resume: false)
        let a = try HistoryFileReader(path: out + "/history.h5"),
            b = try HistoryFileReader(path: directory + "/straight/history.h5")
        XCTAssertEqual(a.stepCount, 12)
        XCTAssertEqual(try a.parameters(at: 12), try b.parameters(at: 12))
    }

    // MARK: 3. One run per output folder

    func testSecondRunOnTheSameOutputFolderRefusesNamingTheHolder() throws {
        let out = directory + "/locked"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // Another process's lock: a separate open file description holding flock, with its holder line.
        let fd = open(out + "/.explaind.lock", O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        let holder = "pid 4242 on host elsewhere, since 2026-01-01T00:00:00Z: train-modulo --config Configs/modulo.json"
        _ = Array(holder.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let config = try moduloConfig("a.json")
        XCTAssertEqual(
            message {
                _ = try TrainingDriver.run(configPath: config, outputDirectory: out, dataDirectory: nil, resume: false)
            },
            "\(out): another run holds this output folder (\(holder)); wait for it to finish, stop it, or pass another --out"
        )
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: out + "/history.h5.partial"), "the refused run must touch nothing")
        close(fd)
        let lock = try OutputLock.acquire(directory: out)
        let text = try String(contentsOfFile: out + "/.explaind.lock", encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("pid \(getpid()) on host "), text)
        lock.release()
    }

    /// A stage killed by a signal is reported as such, and a signal sent to reproduce reaches the stage.
    func testStageKilledBySignalIsReportedAndSignalsAreForwarded() throws {
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        func script(_ name: String, _ body: String) throws {
            try "#!/bin/sh\n\(body)\n".write(toFile: bin + "/" + name, atomically: true, encoding: .utf8)
            chmod(bin + "/" + name, 0o755)
        }
        try script("killed", "kill -9 $$")
        try script("sleeper", "echo $$ > \(directory!)/pid; exec sleep 30")
        let killed = Stage(name: "k", executable: "killed", config: "c.json", artifact: "a.h5")
        XCTAssertEqual(
            message { try StageProcess.run(killed, binDirectory: bin) },
            "stage 'k' (killed --config c.json) was killed by signal 9 (SIGKILL): it was killed from outside or crashed; its artifact is not written, so the next run starts it again"
        )

        let sleeper = Stage(name: "s", executable: "sleeper", config: "c.json", artifact: "a.h5")
        let pidFile = directory + "/pid"
        DispatchQueue.global().async {
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: pidFile) { usleep(20_000) }
            usleep(50_000)
            kill(getpid(), SIGTERM)  // handled by StageProcess while the stage runs: forwarded, not fatal
        }
        let start = Date()
        XCTAssertEqual(
            message { try StageProcess.run(sleeper, binDirectory: bin) },
            "stage 's' (sleeper --config c.json) was killed by signal 15 (SIGTERM): reproduce received SIGTERM and passed it on; its artifact is not written, so the next run starts it again"
        )
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "the stage must stop with reproduce, not run on")
    }

    // MARK: 4. validate-epk merge checks its inputs

    func testMergeRefusesMissingDuplicateAndMixedShards() throws {
        let config = try String(contentsOfFile: "Configs/mnist-epk-quick.json", encoding: .utf8)
        let c = try StrictConfig.decode(EPKConfig.self, from: Data(config.utf8), source: "x")
        let all = Array((c.testOffset ?? 0)..<((c.testOffset ?? 0) + c.testCount))
        func part(
            _ tests: [Int], steps: Range<Int> = 0..<1, quadrature: QuadratureConfig = QuadratureConfig()
        ) -> MergeCheck.Part {
            var r = result(kernel: [0, 0, 0, 0, 0, 0])
            r.steps = steps
            return (
                r,
                EPKArtifact.Context(
                    labels: nil, testIndices: tests, configJSON: config, historyPath: "h.h5",
                    quadrature: quadrature, classes: .all)
            )
        }
        let half = all.count / 2
        let a = part(Array(all[..<half])), b = part(Array(all[half...]))
        XCTAssertNoThrow(try MergeCheck.verify(paths: ["a", "b"], parts: [a, b], historySteps: [1, 1]))
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["a"], parts: [a], historySteps: [1]) },
            "a: merge refused: \(all.count - half) of the config's \(all.count) test points are in no shard (first: test point \(all[half]); a shard is missing); compute the missing --shard i/n and merge all of them"
        )
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["a", "b", "a2"], parts: [a, b, a], historySteps: [1, 1, 1]) },
            "a2: merge refused: test point \(all[0]) is also in a (a shard given twice, or shards of different splits); pass each --shard i/n file of one run once"
        )
        let mixed = part(Array(all[half...]), quadrature: QuadratureConfig(rule: .midpoint, points: 4))
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["a", "b"], parts: [a, mixed], historySteps: [1, 1]) },
            "b: merge refused: uses another quadrature rule (\(mixed.context.quadrature.summary)) than a; merge shards of one validate-epk run only"
        )
        // Step shards: a gap, an overlap, and a missing tail.
        let s1 = part(all, steps: 0..<3), s2 = part(all, steps: 3..<6), s3 = part(all, steps: 5..<9)
        XCTAssertNoThrow(try MergeCheck.verify(paths: ["s1", "s2"], parts: [s1, s2], historySteps: [6, 6]))
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["s1", "s2"], parts: [s1, s2], historySteps: [9, 9]) },
            "s2: merge refused: steps 6..<9 of the history are in no shard (a step shard is missing); compute the missing --step-shard and merge all of them"
        )
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["s1", "s3"], parts: [s1, s3], historySteps: [9, 9]) },
            "s3: merge refused: steps 3..<5 are in no shard (a step shard is missing); compute the missing --step-shard and merge all of them"
        )
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["s1"], parts: [s1], historySteps: [9]) },
            "s1: merge refused: the shards cover only steps 0..<3 of the 9-step history (a step shard is missing); compute the missing --step-shard and merge all of them"
        )
        XCTAssertEqual(
            message { try MergeCheck.verify(paths: ["a", "a"], parts: [a, a], historySteps: [1, 1]) },
            "a: merge refused: this shard is given more than once; pass each --shard i/n file of one run once")
        XCTAssertEqual(
            message {
                try MergeCheck.verify(paths: ["s1", "s2", "s3"], parts: [s1, s2, s3], historySteps: [9, 9, 9])
            },
            "s3: merge refused: steps 5..<6 are in more than one shard (duplicate or overlapping step shard); pass each step shard once"
        )
    }
}
