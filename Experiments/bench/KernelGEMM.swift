import Data
import EPK
import ExperimentKit
import Foundation
import History
import NN
import Tensor

/// The `kernel-gemm` workload: the data-attribution score products of the EPK engine (`ScoreProducts`, or for a
/// projecting model `ComponentProjection`: the code `EPKEngine.accumulateDataAttribution` runs), at the shapes of the
/// memory plan the engine picks for P2a, P2b and P4 (the engine's own `memoryPlan(testCount:)` under the workloads'
/// options).
///
/// Per training chunk of b rows the engine scores its Ra attribution rows (test chunk × Sa) against the chunk's
/// per-sample gradients G (b × P), which it recomputes into one reused buffer, with Q (Ra × P) holding the reverse
/// accumulator the test features are folded into. Timed: the products of one training chunk (the scratch buffers
/// reused across repeats, as across steps), not the per-sample gradients, the folding of φ into Q, nor the scatter of
/// the scores into the attribution rows.
enum KernelGEMM {
    /// One workload's product shape, from the engine's memory plan.
    struct Shape {
        let Ra: Int  // attribution rows of the first test chunk (test chunk × Sa)
        let b: Int  // training rows per product (the plan's training chunk, at most the batch)
        let P: Int
        let groups: [[Range<Int>]]
        let plan: EPKEngine.MemoryPlan
        var products: ScoreProducts {
            ScoreProducts(groups: groups, rows: Ra, chunk: b, thinWidth: ScoreProducts.defaultThinWidth)
        }
        var thin: Bool { products.thin }
        var distinct: [Range<Int>] { products.distinct }
        /// The reduction length summed over the products: every component once (projected, thin) or every group's
        /// ranges (fat).
        var reduction: Int {
            plan.projected || thin
                ? distinct.reduce(0) { $0 + $1.count } : groups.joined().reduce(0) { $0 + $1.count }
        }
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

    /// Seconds of one projection block's products (best of `repeats`, after a warm-up): per component, the block's
    /// per-sample gradients (b, |k|) times Q[:, k]ᵀ (|k|, Ra), as `ComponentProjection.flush` runs them inside the
    /// backward pass, with the accumulation of the products into the (b, Ra, K) dot array.
    static func projectionSeconds(_ s: Shape, model: Model, repeats: Int) -> Double {
        let components = model.layout.components.filter { c in s.distinct.contains(c.range) }
        let largest = components.map(\.count).max()!, K = model.layout.components.count
        let Q = Fixtures.random(s.Ra * s.P, seed: 21)
        var scratch = Fixtures.random(s.b * largest, seed: 22)
        var out = [Double](repeating: 0, count: s.b * s.Ra * K)
        let run = {
            Q.withPointer { q in
                scratch.withUnsafeMutableBufferPointer { sp in
                    out.withUnsafeMutableBufferPointer { op in
                        let dot = PerSampleDot(
                            directions: q, directionCount: s.Ra, parameterCount: s.P, out: op.baseAddress!,
                            componentCount: K, scratch: sp)
                        for c in components {
                            var projection = ComponentProjection(dot, component: c)!
                            _ = projection.reserve(samples: 0, count: s.b)  // the rows hold the random gradients
                            projection.flush()
                        }
                    }
                }
            }
        }
        run()  // warm-up: thread pool and pages
        return Clock.best(max(repeats, 3), run)
    }

    /// Seconds of one training chunk's score products (best of `repeats`, after a warm-up).
    static func seconds(_ s: Shape, repeats: Int) -> Double {
        let products = s.products
        let Q = Fixtures.random(s.Ra * s.P, seed: 21), G = Fixtures.random(s.b * s.P, seed: 22)
        var partial = [Float](repeating: 0, count: products.partialCount)
        var scores = [Float](repeating: 0, count: products.scoreCount)
        let run = {
            Q.withPointer { q in
                G.withPointer { g in
                    scores.withMutablePointer { sc in
                        if products.thin {
                            partial.withMutablePointer { tp in
                                products.thinProducts(
                                    q: q, g: g, parameterCount: s.P, samples: s.b, partial: tp, scores: sc)
                            }
                        } else {
                            for ranges in s.groups {
                                products.fatProduct(
                                    q: q, g: g, parameterCount: s.P, samples: s.b, ranges: ranges, scores: sc)
                            }
                        }
                    }
                }
            }
        }
        run()  // warm-up: thread pool and pages
        return Clock.best(max(repeats, 3), run)
    }

    static func run(_ ctx: inout BenchContext) throws {
        ctx.measurePeakBefore()
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
        var rates: [(workload: String, gflops: Double)] = []
        for (name, model, options, train, batch, tests) in cases {
            let s = try shape(model: model, options: options, data: train, batchSize: batch, testCount: tests)
            let projected = s.plan.projected
            let seconds =
                projected ? projectionSeconds(s, model: model, repeats: ctx.repeats) : seconds(s, repeats: ctx.repeats)
            let gflops = s.flops / seconds / 1e9
            let kind = projected ? "projected" : s.thin ? "thin" : "fat"
            let label = "\(name) scores, \(kind), Ra \(s.Ra) × b \(s.b)"
            let threads = ctx.threads == 1 ? "1 thread" : "\(ctx.threads) threads"
            let call = ComponentProjection.callShape(block: s.b, directions: s.Ra)
            let products =
                projected
                ? "\(s.distinct.count) components, each in pieces of ≤ \(ComponentProjection.pieceSize) over \(threads) (sgemm calls of \(call.rows) rows × ≤ \(call.length)), inside the backward pass"
                : s.thin
                    ? "\(s.distinct.count) components in pieces of ≤ \(ScoreProducts.pieceSize) over \(threads)"
                    : "\(s.groups.count) groups, BLAS split over \(threads)"
            let unit = projected ? "projection block" : "training chunk"
            ctx.add(
                Row(
                    "kernel-gemm", label, gflops, "GFLOP/s",
                    note: String(
                        format: "(%d × K)·(K × %d), K = %d of P = %d; %@; %.4f s per %@ (%d per step of %d)",
                        s.Ra, s.b, s.reduction, s.P, products, seconds, unit, (batch + s.b - 1) / s.b, batch)))
            rates.append((name, gflops))
        }
        let peak = ctx.sgemmPeak()
        for (name, gflops) in rates {
            ctx.add(
                Row(
                    "kernel-gemm", "\(name) scores vs sgemm peak", 100 * gflops / peak.gflops, "%", target: 70,
                    note: peak.note))
        }
    }
}
