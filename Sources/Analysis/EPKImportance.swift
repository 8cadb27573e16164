import EPK
import Foundation
import History
import NN
import Tensor

/// ExPLAIND parameter importance from the component (parameter-level) attribution of the EPK (docs/METHOD.md §7, §15):
/// s_p = Σ_{x ∈ scoring set} Σ_c |PK[x, c, p]|, PK[x, c, p] = Σ_t φ_t[x, c, p] (Δθ_t[p] + η_t ρ_t[p]) — the kernel
/// part of parameter p's contribution to the output f_c(x), accumulated over the whole history, with the absolute
/// value taken per test point **and per class** before summing (as the original's pruning script does).
///
/// One engine pass per chunk of test points gives every class: all classes are selected and the parameter
/// attribution keeps each (test point, class) row apart (`ParameterAttributionOptions.perRow`), so the features of
/// the C rows come from C − 1 softmax-basis backward passes per node. Test points are processed in chunks and folded
/// into one score vector per scoring set immediately, so memory stays at O(chunk · C · P + sets · P).
public struct EPKImportance {
    /// (sets, P) scores; entries outside the attributed components stay 0.
    public var scores: [[Float]]
    /// Mean |f̂ − f(θ_T)| over every (test point, class) row: how exactly the EPK pass reproduced the model.
    public var meanAbsoluteError: Double
    public var maxAbsoluteError: Double
    /// Σ |f̂ − f(θ_T)| and the number of rows in it, so partial runs over disjoint test points combine exactly.
    public var absoluteErrorSum: Double
    public var rowCount: Int
    /// Wall-clock seconds of the EPK passes.
    public var seconds: Double

    /// - Parameters:
    ///   - testInputs: all test points (n, ...); `membership[a]` lists the score sets test point a belongs to.
    ///   - components: the attributed components (the prunable ones).
    ///   - chunk: test points per engine pass.
    public static func compute(
        model: Model, history: TrainingHistory, data: ReplayData, testInputs: Tensor,
        membership: [[Int]], setCount: Int, components: [String], quadrature: QuadratureConfig,
        chunk: Int, memoryBudgetBytes: Int,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> EPKImportance {
        let n = testInputs.shape[0], P = model.parameterCount, C = model.classCount
        precondition(membership.count == n, "one membership list per test point")
        let ranges = try components.map { name -> Range<Int> in
            guard let c = model.layout.component(named: name) else {
                throw EPKError.invalidOptions("unknown component \(name)")
            }
            return c.range
        }
        var scores = [[Float]](repeating: [Float](repeating: 0, count: P), count: setCount)
        var errorSum = 0.0, errorMax = 0.0, rows = 0
        let start = Date()
        let chunks = stride(from: 0, to: n, by: max(1, chunk)).map { $0..<min(n, $0 + max(1, chunk)) }
        for (done, part) in chunks.enumerated() {
            let options = EPKOptions(
                quadrature: quadrature, classes: .all, attributionClasses: .selected,
                parameterAttribution: ParameterAttributionOptions(components: components, perRow: true),
                memoryBudgetBytes: memoryBudgetBytes)
            let engine = try EPKEngine(model: model, history: history, data: data, options: options)
            let result = try engine.run(testInputs: testInputs.rows(part), testLabels: nil)
            for (p, f) in zip(result.predictedRows, result.finalRows) {
                errorSum += abs(p - f); errorMax = max(errorMax, abs(p - f)); rows += 1
            }
            guard let pa = result.parameterAttribution else { continue }
            let Pg = pa.parameterCount
            precondition(pa.rowsPerTest == C, "EPKImportance: one parameter-attribution row per class")
            pa.kernelTotal.withUnsafeBufferPointer { kt in
                for (i, a) in part.enumerated() {
                    for s in membership[a] {
                        scores[s].withUnsafeMutableBufferPointer { dst in
                            for c in 0..<C {
                                var q = (i * C + c) * Pg
                                for r in ranges { for p in r { dst[p] += abs(kt[q]); q += 1 } }
                            }
                        }
                    }
                }
            }
            progress?(done + 1, chunks.count)
        }
        return EPKImportance(
            scores: scores, meanAbsoluteError: errorSum / Double(max(1, rows)), maxAbsoluteError: errorMax,
            absoluteErrorSum: errorSum, rowCount: rows, seconds: Date().timeIntervalSince(start))
    }
}
