import Data
import EPK
import ExperimentKit
import Foundation
import History
import NN
import Tensor

/// The `kernel-gemm` workload: the data-attribution score products of the EPK engine, formed as
/// `EPKEngine.accumulateDataAttribution` (Sources/EPK/EPKAttribution.swift) forms them, at the shapes of the memory plan
/// the engine picks for P2a, P2b and P4 (the engine's own `memoryPlan(testCount:)` under the workloads' options).
///
/// Per training chunk of b rows the engine scores its Ra attribution rows (test chunk × Sa) against the chunk's
/// per-sample gradients G (b × P), which it recomputes into one reused buffer, with Q (Ra × P) holding the reverse
/// accumulator the test features are folded into:
/// - **thin** products (Ra·b ≤ `thinScoreWidth`): each distinct component range is cut into pieces of at most
///   `scorePiece` parameters, the pieces are spread over the threads (one single-threaded sgemm each,
///   partial_i = Q[:, piece] · G[:, piece]ᵀ) and summed per component into the scores;
/// - **fat** products: per group, scores (+)= Q[:, range] · G[:, range]ᵀ over its ranges, with `BLAS.sgemm`'s own
///   split over the threads.
/// Timed: the products of one training chunk (the partial buffers reused across repeats, as across steps), not the
/// per-sample gradients, the folding of φ into Q, nor the scatter of the scores into the attribution rows.
enum KernelGEMM {
    /// `EPKEngine.scorePiece` and `EPKEngine.thinScoreWidth` (internal to the EPK module): keep in step with
    /// Sources/EPK/EPKAttribution.swift and Sources/EPK/EPKEngine.swift.
    static let scorePiece = 1 << 16
    static let thinScoreWidth = 1 << 14

    /// One workload's product shape, from the engine's memory plan.
    struct Shape {
        let Ra: Int  // attribution rows of the first test chunk (test chunk × Sa)
        let b: Int  // training rows per product (the plan's training chunk, at most the batch)
        let P: Int
        let groups: [[Range<Int>]]
        let plan: EPKEngine.MemoryPlan
        var thin: Bool { Ra * b <= KernelGEMM.thinScoreWidth }
        /// The distinct component ranges over all groups (a thin product scores each once).
        var distinct: [Range<Int>] {
            var d: [Range<Int>] = []
            for range in groups.joined() where !d.contains(range) { d.append(range) }
            return d
        }
        /// The reduction length summed over the products: distinct ranges (thin) or every group's ranges (fat).
        var reduction: Int { thin ? distinct.reduce(0) { $0 + $1.count } : groups.joined().reduce(0) { $0 + $1.count } }
        var flops: Double { 2 * Double(Ra) * Double(b) * Double(reduction) }
    }

    /// The shape the engine plans for `testCount` test points under `options`, with `data` as its training set and
    /// steps of `batchSize` samples (a one-step in-memory history stands in for the recorded one: the plan reads
    /// only the layout, the training count and the batch size).
    static func shape(
        model: Model, options: EPKOptions, data: LabeledDataset, batchSize: Int, testCount: Int
    ) throws -> Shape {
        let P = model.parameterCount
        let history = InMemoryHistory(
            layout: model.layout, trainingCount: data.count,
            optimizer: .sgd(momentum: 0.9, dampening: 0, weightDecay: 0),
            activeComponents: model.activeComponents, initialParameters: [Float](repeating: 0, count: P))
        history.record(
            parameters: [Float](repeating: 0, count: P), learningRate: 0.01, weightDecay: 0,
            indices: Array(0..<batchSize), flips: nil, optimizerQuantity: [Float](repeating: 0, count: P))
        let engine = try EPKEngine(model: model, history: history, data: DatasetReplay(data), options: options)
        let plan = try engine.memoryPlan(testCount: testCount)
        let Sa = options.attributionClasses == .focus ? 1 : (options.classes == .all ? model.classCount : 1)
        let groups = options.dataAttributionGroups.map { g in
            g.components.map { model.layout.component(named: $0)!.range }
        }
        return Shape(
            Ra: min(testCount, plan.testChunk) * Sa, b: min(batchSize, plan.trainChunk), P: P, groups: groups,
            plan: plan)
    }

    /// Seconds of one training chunk's score products (best of `repeats`, after a warm-up).
    static func seconds(_ s: Shape, repeats: Int) -> Double {
        let Ra = s.Ra, b = s.b, P = s.P, width = Ra * b
        let Q = Fixtures.random(Ra * P, seed: 21), G = Fixtures.random(b * P, seed: 22)
        let distinct = s.distinct
        var pieces: [(range: Int, part: Range<Int>)] = []
        for (i, range) in distinct.enumerated() where s.thin {
            for lo in stride(from: range.lowerBound, to: range.upperBound, by: scorePiece) {
                pieces.append((i, lo..<min(range.upperBound, lo + scorePiece)))
            }
        }
        var partial = [Float](repeating: 0, count: pieces.count * width)
        let scoreCount = (s.thin ? distinct.count : 1) * width
        var scores = [Float](repeating: 0, count: scoreCount)
        let thin = {
            Q.withPointer { q in
                G.withPointer { gp in
                    partial.withMutablePointer { tp in
                        Parallel.forEachRange(pieces.count) { range in
                            for i in range {
                                let part = pieces[i].part
                                BLAS.sgemm(
                                    transB: true, m: Ra, n: b, k: part.count, a: q + part.lowerBound, lda: P,
                                    b: gp + part.lowerBound, ldb: P, c: tp + i * width, ldc: b)
                            }
                        }
                    }
                }
            }
            scores.withMutablePointer { sc in
                partial.withPointer { tp in
                    sc.update(repeating: 0, count: scoreCount)
                    for (i, piece) in pieces.enumerated() {
                        Vector.add(tp + i * width, into: sc + piece.range * width, count: width)
                    }
                }
            }
        }
        let fat = {
            Q.withPointer { q in
                G.withPointer { gp in
                    scores.withMutablePointer { sc in
                        for ranges in s.groups {
                            for (ci, range) in ranges.enumerated() {
                                BLAS.sgemm(
                                    transB: true, m: Ra, n: b, k: range.count, a: q + range.lowerBound, lda: P,
                                    b: gp + range.lowerBound, ldb: P, beta: ci == 0 ? 0 : 1, c: sc, ldc: b)
                            }
                        }
                    }
                }
            }
        }
        let run = s.thin ? thin : fat
        run()  // warm-up: thread pool and pages
        return Clock.best(max(repeats, 3), run)
    }

    static func run(_ ctx: inout BenchContext) throws {
        let peak = ctx.sgemmPeak()
        let modulo = ModuloTransformer(), resnet = ResNet9()
        let p2Budget = ctx.budgetGiB ?? PaperWorkloads.p2BudgetGiB,
            p4Budget = ctx.budgetGiB ?? PaperWorkloads.p4BudgetGiB
        let moduloTrain = PaperWorkloads.moduloData().train
        let cases: [(String, Model, EPKOptions, LabeledDataset, Int, Int)] = [
            // (workload, model, its EPK options, training set, batch, test points)
            (
                "P2a", modulo, PaperWorkloads.p2Options(modulo, allClasses: false, budgetGiB: p2Budget), moduloTrain,
                1000, 50
            ),
            (
                "P2b", modulo, PaperWorkloads.p2Options(modulo, allClasses: true, budgetGiB: p2Budget), moduloTrain,
                1000, 50
            ),
            ("P4", resnet, PaperWorkloads.p4Options(resnet, budgetGiB: p4Budget), PaperWorkloads.cifarTrain(), 64, 20),
        ]
        for (name, model, options, train, batch, tests) in cases {
            let s = try shape(model: model, options: options, data: train, batchSize: batch, testCount: tests)
            let seconds = seconds(s, repeats: ctx.repeats)
            let gflops = s.flops / seconds / 1e9
            let kind = s.thin ? "thin" : "fat"
            let label = "\(name) scores, \(kind), Ra \(s.Ra) × b \(s.b)"
            let threads = ctx.threads == 1 ? "1 thread" : "\(ctx.threads) threads"
            let products =
                s.thin
                ? "\(s.distinct.count) components in pieces of ≤ \(scorePiece) over \(threads)"
                : "\(s.groups.count) groups, BLAS split over \(threads)"
            ctx.add(
                Row(
                    "kernel-gemm", label, gflops, "GFLOP/s",
                    note: String(
                        format:
                            "(%d × K)·(K × %d), K = %d of P = %d; %@; %.4f s per training chunk (%d per step of %d)",
                        s.Ra, s.b, s.reduction, s.P, products, seconds, (batch + s.b - 1) / s.b, batch)))
            ctx.add(
                Row(
                    "kernel-gemm", "\(name) scores vs sgemm peak", 100 * gflops / peak.gflops, "%", target: 70,
                    note: peak.note))
        }
    }
}
