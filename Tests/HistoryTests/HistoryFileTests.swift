import Artifacts
import Data
import Foundation
import NN
import Optim
import Tensor
import TestSupport
import XCTest

@testable import History

final class HistoryFileTests: WorkspaceTestCase {

    /// A small MNIST-like problem (random images) with SGD-momentum, flips and weight decay, or AdamW.
    private func setup(_ optimizer: OptimizerSpec, flips: Double = 0) -> (Trainer, LabeledDataset) {
        var rng = RNG(seed: 9)
        var x = Tensor(shape: [60, 784])
        x.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        let train = LabeledDataset(name: "random-784", inputs: x, labels: (0..<60).map { $0 % 10 }, classCount: 10)
        let plan = TrainingPlan(
            optimizer: optimizer, schedule: .piecewiseLinear([(0, 0.2), (10, 1), (30, 0)], base: 0.05),
            batchSize: 16, dropLast: true, maxSteps: 30, flipProbability: flips, seed: 3)
        let trainer = Trainer(model: MNISTMLP(), train: train, validation: train.prefix(20), plan: plan)
        trainer.flushEvery = 10
        return (trainer, train)
    }

    private func readAllParameters(_ path: String) throws -> [[Float]] {
        let h = try HistoryFileReader(path: path)
        return try (0...h.stepCount).map { try h.parameters(at: $0) }
    }

    /// Resuming a killed run reproduces the uninterrupted history bit for bit.
    func testResumeIsBitIdentical() throws {
        for spec in [
            OptimizerSpec.sgd(momentum: 0.9, dampening: 0, weightDecay: 5e-3),
            .adamw(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 0.1),
        ] {
            let (trainer, train) = setup(spec)
            let full = directory + "/full-\(spec.kind).h5", killed = directory + "/killed-\(spec.kind).h5"
            let w1 = try HistoryFileWriter(
                path: full, model: trainer.model, train: train, plan: trainer.plan,
                initialParameters: trainer.initialParameters(), configJSON: "{}")
            try trainer.run(writer: w1)
            try w1.finish()

            let w2 = try HistoryFileWriter(
                path: killed, model: trainer.model, train: train, plan: trainer.plan,
                initialParameters: trainer.initialParameters(), configJSON: "{}")
            XCTAssertThrowsError(try trainer.run(writer: DyingWriter(w2, stepsBeforeDeath: 17)))
            w2.file.close()
            XCTAssertFalse(FileManager.default.fileExists(atPath: killed), "a killed run must not leave the final name")
            let resumed = try HistoryFileWriter(resuming: killed)
            XCTAssertEqual(resumed.resumeState?.step, 10, "the last resume point before step 17 is step 10")
            try trainer.run(writer: resumed, resume: resumed.resumeState)
            try resumed.finish()

            let a = try readAllParameters(full), b = try readAllParameters(killed)
            XCTAssertEqual(a.count, 31)
            XCTAssertEqual(a, b, "\(spec.kind): resumed history differs from the uninterrupted one")
            let ha = try HistoryFileReader(path: full), hb = try HistoryFileReader(path: killed)
            for t in 0..<30 {
                XCTAssertEqual(try ha.batchIndices(step: t), try hb.batchIndices(step: t))
                XCTAssertEqual(try ha.optimizerQuantity(step: t), try hb.optimizerQuantity(step: t))
            }
            XCTAssertEqual(try ha.metrics()["train_loss"], try hb.metrics()["train_loss"])
        }
    }

    /// Reloading θ_t and re-applying the recorded batch (with its recorded flips), learning rate and optimizer
    /// reproduces every recorded θ_{t+1}; the recorded SGD decay buffer follows R_t = μR_{t−1} + λθ_t.
    func testHistoryReplaysExactly() throws {
        let spec = OptimizerSpec.sgd(momentum: 0.9, dampening: 0, weightDecay: 5e-3)
        let (trainer, train) = setup(spec)
        let path = directory + "/replay.h5"
        let w = try HistoryFileWriter(
            path: path, model: trainer.model, train: train, plan: trainer.plan,
            initialParameters: trainer.initialParameters(), configJSON: "{}")
        try trainer.run(writer: w)
        try w.finish()
        let h = try HistoryFileReader(path: path)
        XCTAssertEqual(h.stepCount, 30)
        var optimizer = SGD(momentum: 0.9, dampening: 0, weightDecay: 5e-3)
        var theta = try h.parameters(at: 0)
        var decay = [Double](repeating: 0, count: theta.count)
        for t in 0..<h.stepCount {
            let indices = try h.batchIndices(step: t)
            let x = train.inputs.gatherRows(indices)
            let g = trainer.model.lossAndGradient(
                parameters: theta, inputs: x, labels: indices.map { train.labels[$0] }
            ).gradient
            for p in theta.indices { decay[p] = (t == 0 ? 0 : 0.9 * decay[p]) + 5e-3 * Double(theta[p]) }
            let recordedDecay = try h.optimizerQuantity(step: t)
            XCTAssertLessThan(zip(decay, recordedDecay).map { abs($0 - Double($1)) }.max()!, 1e-6)
            optimizer.step(parameters: &theta, gradient: g, learningRate: Double(try h.learningRate(step: t)))
            XCTAssertEqual(theta, try h.parameters(at: t + 1), "step \(t) does not replay")
        }
    }

    /// Opening something that is not a history, or a truncated one, fails with one line naming the file.
    func testCorruptOrForeignFilesAreRefused() throws {
        let notHistory = directory + "/plain.h5"
        let f = try HDF5File(path: notHistory, mode: .create)
        _ = try f.root.write("x", [Float(1)], shape: [1])
        f.close()
        XCTAssertThrowsError(try HistoryFileReader(path: notHistory)) { e in
            XCTAssertTrue("\(e)".contains("not an explaind history"), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        let (trainer, train) = setup(.sgd(momentum: 0.9, dampening: 0, weightDecay: 0))
        let path = directory + "/cut.h5"
        let w = try HistoryFileWriter(
            path: path, model: trainer.model, train: train, plan: trainer.plan,
            initialParameters: trainer.initialParameters(), configJSON: "{}")
        try trainer.run(writer: w)
        try w.finish()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try HistoryFileReader(path: path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("truncated"), "\(e)")
        }
    }
}
