import Data
import EPK
import Foundation
import History
import NN
import Optim
import Tensor

/// What every workload gets from the command line.
struct BenchContext {
    var threads: Int
    var repeats: Int
    /// Folder for cached histories (P1 → P2, P3 → P4, quick configs → epk-*).
    var cacheDirectory: String
    /// Run P2a over the whole 200-step history instead of its first steps.
    var full: Bool
    /// EPK memory budget override (GiB).
    var budgetGiB: Double?
    /// Steps of the truncated histories for P2a and P2b (nil = defaults).
    var p2aSteps: Int?
    var p2bSteps: Int?
    /// Steps of the P3 history that P4 processes (nil = all 16).
    var p4Steps: Int? = nil
    /// The run's sgemm peak at `threads` threads (GFLOP/s), from the sgemm row the parent printed (nil: none given).
    var runPeakGFLOPS: Double? = nil
    /// A child's peak measured before its products (`measurePeakBefore`), for `sgemmPeak` to compare with its own.
    var peakBefore: Double? = nil
    /// Rows are collected here (or discarded when the workload only prepares a cached history).
    var rows: [Row] = []

    mutating func add(_ row: Row) { rows.append(row) }

    /// The sgemm peak every "vs sgemm peak" row divides by: the run's sgemm row at `threads` threads, else (a child
    /// run on its own) measured here exactly as the sgemm workload measures it, once before the workload's own
    /// products and once after (call this after them), keeping the larger. On a shared VM a single measurement can
    /// fall 30 % short for a second or two, and a low peak would make every ratio look better than it is.
    mutating func sgemmPeak() -> SgemmPeak {
        if let p = runPeakGFLOPS { return SgemmPeak(gflops: p, threads: threads, measuredHere: false) }
        let p = max(peakBefore ?? 0, Fixtures.sgemmGFLOPS(threads: threads, repeats: repeats))
        runPeakGFLOPS = p
        return SgemmPeak(gflops: p, threads: threads, measuredHere: true)
    }

    /// The first of the two measurements of `sgemmPeak`, taken before the workload's products (nothing when the run
    /// gives its peak).
    mutating func measurePeakBefore() {
        if runPeakGFLOPS == nil { peakBefore = Fixtures.sgemmGFLOPS(threads: threads, repeats: repeats) }
    }
}

/// An sgemm peak and where it comes from, for the notes of the fraction-of-peak rows.
struct SgemmPeak {
    let gflops: Double
    let threads: Int
    let measuredHere: Bool

    var note: String {
        let source =
            measuredHere
            ? "measured in this workload's process, the larger of before and after its products"
            : "the sgemm row of this run"
        return String(
            format: "of the sgemm peak %.1f GFLOP/s (%@; %@)", gflops, MicroWorkloads.peakMetric(threads: threads),
            source)
    }
}

/// Shapes and helpers shared by the workloads.
enum Fixtures {
    /// Seeded uniform floats in [-1, 1).
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        var v = [Float](repeating: 0, count: count)
        v.withUnsafeMutableBufferPointer { rng.fillUniform($0, -1, 1) }
        return v
    }

    /// Synthetic CIFAR-shaped images (n, 3, 32, 32), roughly unit scale, with seeded labels in 0..<2.
    static func cifarLike(_ n: Int, seed: UInt64, name: String) -> LabeledDataset {
        var rng = RNG(seed: seed)
        var x = [Float](repeating: 0, count: n * 3 * 32 * 32)
        x.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        let labels = (0..<n).map { _ in rng.int(below: 2) }
        return LabeledDataset(
            name: name, inputs: Tensor(shape: [n, 3, 32, 32], storage: x), labels: labels, classCount: 2)
    }

    /// Synthetic MNIST-shaped inputs (n, 784) with labels in 0..<10.
    static func mnistLike(_ n: Int, seed: UInt64) -> LabeledDataset {
        var rng = RNG(seed: seed)
        var x = [Float](repeating: 0, count: n * 784)
        x.withUnsafeMutableBufferPointer { rng.fillUniform($0, 0, 1) }
        let labels = (0..<n).map { _ in rng.int(below: 10) }
        return LabeledDataset(
            name: "synthetic-mnist\(n)", inputs: Tensor(shape: [n, 784], storage: x), labels: labels, classCount: 10)
    }

    /// sgemm GFLOP/s at n³ with `threads` BLAS threads (best of `repeats`).
    static func sgemmGFLOPS(n: Int = 1024, threads: Int, repeats: Int) -> Double {
        let a = random(n * n, seed: 1), b = random(n * n, seed: 2)
        var c = [Float](repeating: 0, count: n * n)
        let saved = BLAS.threads
        BLAS.threads = threads
        defer { BLAS.threads = saved }
        let run = {
            a.withPointer { ap in
                b.withPointer { bp in
                    c.withMutablePointer { cp in
                        BLAS.sgemm(m: n, n: n, k: n, a: ap, b: bp, c: cp)
                    }
                }
            }
        }
        run()  // warm-up: thread pool and pages
        let seconds = Clock.best(max(repeats, 5), run)
        return 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
    }

    /// Conv layers of the standard ResNet-9: (in channels, out channels, kernel, output side).
    static let resnetConvs: [(cin: Int, cout: Int, k: Int, out: Int)] = [
        (3, 64, 3, 32), (64, 128, 5, 16), (128, 128, 3, 16), (128, 128, 3, 16), (128, 256, 3, 16),
        (256, 256, 3, 8), (256, 256, 3, 8), (256, 128, 3, 6),
    ]

    /// Forward conv FLOPs per image, 2·Cout·Cin·k²·OH·OW summed over the layers.
    static var resnetForwardFLOPs: Double {
        resnetConvs.reduce(0) { $0 + 2 * Double($1.cout * $1.cin * $1.k * $1.k * $1.out * $1.out) }
    }
}

enum MicroWorkloads {
    // MARK: sgemm

    /// The metric of the sgemm row at `threads` threads; the one at the run's thread count is the run's peak.
    static func peakMetric(threads: Int) -> String { threads == 1 ? "1024³, 1 thread" : "1024³, \(threads) threads" }

    static func sgemm(_ ctx: inout BenchContext) {
        let one = Fixtures.sgemmGFLOPS(threads: 1, repeats: ctx.repeats)
        let kernels = BLASKernels.coreInUse + " kernels"
        ctx.add(
            Row(
                "sgemm", peakMetric(threads: 1), one, "GFLOP/s",
                note: ctx.threads == 1 ? kernels + "; the peak of this run" : kernels))
        if ctx.threads > 1 {
            let all = Fixtures.sgemmGFLOPS(threads: ctx.threads, repeats: ctx.repeats)
            ctx.add(Row("sgemm", peakMetric(threads: ctx.threads), all, "GFLOP/s", note: "the peak of this run"))
        }
    }

    // MARK: ResNet-9 forward + backward

    static func resnetTrain(_ ctx: inout BenchContext) {
        ctx.measurePeakBefore()
        let model = ResNet9()
        var rng = RNG(seed: 7)
        let theta = model.initialParameters(rng: &rng)
        let batch = Fixtures.cifarLike(256, seed: 11, name: "synthetic")
        _ = model.lossAndGradient(
            parameters: theta, inputs: batch.inputs.rows(0..<8), labels: Array(batch.labels[0..<8]))
        let seconds = Clock.best(ctx.repeats) {
            _ = model.lossAndGradient(parameters: theta, inputs: batch.inputs, labels: batch.labels)
        }
        let images = 256 / seconds
        let gflops = 3 * Fixtures.resnetForwardFLOPs * 256 / seconds / 1e9
        ctx.add(
            Row(
                "resnet-train", "fwd+bwd, batch 256", images, "images/s",
                note: String(format: "%.3f s per batch", seconds)))
        ctx.add(
            Row(
                "resnet-train", "conv GFLOP/s (over total time)", gflops, "GFLOP/s",
                note: String(
                    format:
                        "%.2f GFLOP/image (direct-convolution count, fwd ×3; the Winograd layers multiply 4× less)",
                    3 * Fixtures.resnetForwardFLOPs / 1e9)))
        let peak = ctx.sgemmPeak()
        ctx.add(
            Row(
                "resnet-train", "conv GFLOP/s vs sgemm peak", 100 * gflops / peak.gflops, "%", target: 70,
                note: peak.note + "; effective rate (direct count), can exceed 100 %"))
    }

    // MARK: per-sample gradients and dot products

    static func perSample(_ ctx: inout BenchContext) {
        // Modulo transformer, n = 4000 (the paper's training set), rows in chunks of 1000 (358 MB each).
        let modulo = ModuloTransformer()
        var rng = RNG(seed: 3)
        let mTheta = modulo.initialParameters(rng: &rng)
        let mData = ModuloAdditionDataset(prime: 113, seed: 0, validationCount: 2000, trainCount: 4000).train
        let chunk = 1000
        let mSeconds = Clock.best(ctx.repeats) {
            for lo in stride(from: 0, to: 4000, by: chunk) {
                _ = modulo.perSampleGradients(
                    parameters: mTheta, inputs: mData.inputs.rows(lo..<(lo + chunk)),
                    classes: Array(mData.labels[lo..<(lo + chunk)]))
            }
        }
        ctx.add(
            Row(
                "per-sample", "modulo per-sample grads (n 4000)", 4000 / mSeconds, "rows/s",
                note: String(format: "%.3f s; P = %d", mSeconds, modulo.parameterCount)))
        let mDot = dotSeconds(modulo, theta: mTheta, inputs: mData.inputs, labels: mData.labels, repeats: ctx.repeats)
        ctx.add(
            Row(
                "per-sample", "modulo per-sample dot, D = 2 (n 4000)", 4000 / mDot, "rows/s",
                note: String(format: "%.3f s", mDot)))
        let mSum = Clock.best(ctx.repeats) {
            _ = modulo.lossAndGradient(parameters: mTheta, inputs: mData.inputs, labels: mData.labels)
        }
        ctx.add(
            Row(
                "per-sample", "modulo batch gradient (reference, n 4000)", 4000 / mSum, "rows/s",
                note: String(format: "%.3f s", mSum)))

        // ResNet-9, batch 64 (581 MB of per-sample rows).
        let resnet = ResNet9()
        let rTheta = resnet.initialParameters(rng: &rng)
        let rData = Fixtures.cifarLike(64, seed: 12, name: "synthetic")
        _ = resnet.lossAndGradient(
            parameters: rTheta, inputs: rData.inputs.rows(0..<4), labels: Array(rData.labels[0..<4]))
        let rSeconds = Clock.best(ctx.repeats) {
            _ = resnet.perSampleGradients(parameters: rTheta, inputs: rData.inputs, classes: rData.labels)
        }
        ctx.add(
            Row(
                "per-sample", "ResNet-9 per-sample grads (batch 64)", 64 / rSeconds, "rows/s",
                note: String(format: "%.3f s; P = %d", rSeconds, resnet.parameterCount)))
        let rDot = dotSeconds(resnet, theta: rTheta, inputs: rData.inputs, labels: rData.labels, repeats: ctx.repeats)
        ctx.add(
            Row(
                "per-sample", "ResNet-9 per-sample dot, D = 2 (batch 64)", 64 / rDot, "rows/s",
                note: String(format: "%.3f s", rDot)))
        let rSum = Clock.best(ctx.repeats) {
            _ = resnet.lossAndGradient(parameters: rTheta, inputs: rData.inputs, labels: rData.labels)
        }
        ctx.add(
            Row(
                "per-sample", "ResNet-9 batch gradient (reference, batch 64)", 64 / rSum, "rows/s",
                note: String(format: "%.3f s", rSum)))
    }

    /// Seconds for one `.perSampleDot` backward with two random directions over all rows.
    static func dotSeconds(_ model: Model, theta: [Float], inputs: Tensor, labels: [Int], repeats: Int) -> Double {
        let n = inputs.shape[0], C = model.classCount, P = model.parameterCount, K = model.layout.components.count
        var cot = Tensor(shape: [n, C])
        for i in 0..<n { cot.storage[i * C + labels[i]] = 1 }
        let directions = Fixtures.random(2 * P, seed: 5)
        var out = [Double](repeating: 0, count: n * 2 * K)
        return Clock.best(repeats) {
            directions.withPointer { v in
                out.withUnsafeMutableBufferPointer { o in
                    _ = model.backward(
                        parameters: theta, inputs: inputs, outputGradients: cot,
                        into: .perSampleDot(
                            PerSampleDot(
                                directions: v, directionCount: 2, parameterCount: P,
                                out: o.baseAddress!, componentCount: K)))
                }
            }
        }
    }

    // MARK: training steps

    static func trainSteps(_ ctx: inout BenchContext) throws {
        var rng = RNG(seed: 9)
        func measure(
            _ label: String, model: Model, data: LabeledDataset, batch: Int, steps: Int,
            optimizer: inout some Optimizer, lr: Double
        ) -> Double {
            var theta = model.initialParameters(rng: &rng)
            let inputs = data.inputs.rows(0..<batch), labels = Array(data.labels[0..<batch])
            var o = optimizer
            let one = {
                let g = model.lossAndGradient(parameters: theta, inputs: inputs, labels: labels).gradient
                o.step(parameters: &theta, gradient: g, learningRate: lr)
            }
            one()  // warm-up (creates the optimizer state)
            let seconds = Clock.best(ctx.repeats) { for _ in 0..<steps { one() } } / Double(steps)
            ctx.add(Row("train-steps", label, 1 / seconds, "steps/s", note: String(format: "%.4f s/step", seconds)))
            return seconds
        }
        let modulo = ModuloTransformer()
        let mData = ModuloAdditionDataset(prime: 113, seed: 0, validationCount: 2000, trainCount: 4000).train
        var adam = AdamW(beta1: 0.9, beta2: 0.98, epsilon: 1e-8, weightDecay: 4, activeRanges: activeRanges(modulo))
        _ = measure(
            "modulo, full batch 4000, AdamW", model: modulo, data: mData, batch: 4000, steps: 3, optimizer: &adam,
            lr: 1e-3)

        let resnet = ResNet9()
        let cData = Fixtures.cifarLike(256, seed: 13, name: "synthetic")
        var sgd = SGD(momentum: 0.9, dampening: 0, weightDecay: 5e-3, activeRanges: activeRanges(resnet))
        _ = measure(
            "CIFAR-2 ResNet-9, batch 64, SGD-momentum", model: resnet, data: cData, batch: 64, steps: 2,
            optimizer: &sgd, lr: 0.02)
        var sgd256 = SGD(momentum: 0.9, dampening: 0, weightDecay: 5e-3, activeRanges: activeRanges(resnet))
        _ = measure(
            "CIFAR-2 ResNet-9, batch 256, SGD-momentum", model: resnet, data: cData, batch: 256, steps: 1,
            optimizer: &sgd256, lr: 0.02)

        let mlp = MNISTMLP()
        let nData = Fixtures.mnistLike(100, seed: 14)
        var sgdM = SGD(momentum: 0.9, dampening: 0, weightDecay: 5e-4, activeRanges: activeRanges(mlp))
        _ = measure(
            "MNIST MLP, batch 100, SGD-momentum", model: mlp, data: nData, batch: 100, steps: 20, optimizer: &sgdM,
            lr: 0.01)

    }

    static func activeRanges(_ model: Model) -> [Range<Int>] {
        model.activeComponents.map { model.layout.component(named: $0)!.range }
    }
}
