import Foundation
import NN
import Tensor

/// One-shot unstructured pruning without fine-tuning (docs/METHOD.md §15), with the original's two bugs fixed (docs/METHOD.md §15):
/// every method prunes **exactly** the requested number of scalars, and the never-pruned final layer takes no part
/// in the global ranking.
///
/// Conventions: a score is higher for more important parameters; pruning removes the lowest-scoring ones (ties
/// broken by parameter index, so results are deterministic). `fraction` is the fraction **pruned** (the paper's
/// plotted axis), applied to the prunable scalars P_prunable = P − |never-pruned components|.
public enum Pruning {
    /// Scalar ranges of the prunable components (every component not in `neverPruned`), in layout order.
    public static func prunableRanges(_ layout: ParameterLayout, neverPruned: Set<String>) -> [Range<Int>] {
        layout.components.filter { !neverPruned.contains($0.name) }.map { $0.range }
    }

    /// Number of scalars pruned at `fraction` out of `count`: round(fraction · count), clamped to 0…count.
    public static func prunedCount(fraction: Double, of count: Int) -> Int {
        min(count, max(0, Int((fraction * Double(count)).rounded())))
    }

    /// Prunable indices sorted by ascending score (ties by index): the global pruning order.
    public static func ascendingOrder(scores: [Float], ranges: [Range<Int>]) -> [Int32] {
        var order: [Int32] = []
        order.reserveCapacity(ranges.reduce(0) { $0 + $1.count })
        for r in ranges { for p in r { order.append(Int32(p)) } }
        scores.withUnsafeBufferPointer { s in
            order.sort { a, b in
                let sa = s[Int(a)], sb = s[Int(b)]
                return sa < sb || (sa == sb && a < b)
            }
        }
        return order
    }

    /// A uniformly random pruning order over the prunable indices (seeded; any prefix is a uniform random subset).
    public static func randomOrder(ranges: [Range<Int>], seed: UInt64) -> [Int32] {
        var all: [Int32] = []
        for r in ranges { for p in r { all.append(Int32(p)) } }
        var rng = RNG(seed: seed)
        return rng.permutation(all.count).map { all[$0] }
    }

    /// How a method turns scores into a pruned set.
    public enum Scope: Sendable {
        /// One global ranking over all prunable scalars ("across modules").
        case global
        /// The same fraction pruned inside every prunable component separately ("by module").
        case perModule
    }

    /// A ready pruning plan: orders computed once, any fraction applied in O(pruned).
    public struct Plan: Sendable {
        public let scope: Scope
        /// Global: one order; per module: one order per prunable range.
        public let orders: [[Int32]]
        public let ranges: [Range<Int>]

        /// Ranks scores over the prunable ranges.
        public init(scores: [Float], ranges: [Range<Int>], scope: Scope) {
            self.scope = scope; self.ranges = ranges
            switch scope {
            case .global: orders = [Pruning.ascendingOrder(scores: scores, ranges: ranges)]
            case .perModule: orders = ranges.map { Pruning.ascendingOrder(scores: scores, ranges: [$0]) }
            }
        }

        /// A plan from an explicit global order (random pruning).
        public init(globalOrder: [Int32], ranges: [Range<Int>]) {
            scope = .global; orders = [globalOrder]; self.ranges = ranges
        }

        /// Indices pruned at `fraction`: global — the round(f·P_prunable) lowest; per module — round(f·P_k) lowest
        /// of each component.
        public func prunedIndices(fraction: Double) -> [Int32] {
            switch scope {
            case .global:
                let total = ranges.reduce(0) { $0 + $1.count }
                return Array(orders[0].prefix(Pruning.prunedCount(fraction: fraction, of: total)))
            case .perModule:
                var out: [Int32] = []
                for (order, r) in zip(orders, ranges) {
                    out += order.prefix(Pruning.prunedCount(fraction: fraction, of: r.count))
                }
                return out
            }
        }

        /// θ with the pruned entries set to zero (the mask multiplies the weights).
        public func apply(to theta: [Float], fraction: Double) -> [Float] {
            var out = theta
            for p in prunedIndices(fraction: fraction) { out[Int(p)] = 0 }
            return out
        }
    }

    /// Magnitude score |θ_p| (the "baseline_magn" of docs/METHOD.md §15).
    public static func magnitudeScores(_ theta: [Float]) -> [Float] { theta.map { abs($0) } }

    /// First-order Taylor score |θ_p · ∂L/∂θ_p|, L the mean NLL over the given (scoring) inputs: the first-order
    /// estimate of the loss change when θ_p is set to zero.
    public static func taylorScores(
        model: Model, theta: [Float], inputs: Tensor, labels: [Int], chunk: Int = 64
    ) -> [Float] {
        let n = labels.count
        var gradient = [Double](repeating: 0, count: theta.count)
        for lo in stride(from: 0, to: n, by: chunk) {
            let hi = min(n, lo + chunk)
            let g = model.lossAndGradient(
                parameters: theta, inputs: inputs.rows(lo..<hi), labels: Array(labels[lo..<hi])
            ).gradient
            let w = Double(hi - lo) / Double(n)  // chunk means → overall mean
            for p in 0..<g.count { gradient[p] += w * Double(g[p]) }
        }
        return (0..<theta.count).map { Float(abs(Double(theta[$0]) * gradient[$0])) }
    }
}

/// Held-out metrics of a pruned model against labels and the unpruned model (docs/METHOD.md §15 "Evaluation").
public struct PruneMetrics: Equatable, Sendable {
    /// Accuracy of the pruned model on the labels.
    public var accuracy: Double
    /// Fraction of examples where the pruned argmax equals the unpruned argmax ("model accuracy").
    public var agreement: Double
    /// KL(unpruned ‖ pruned) = mean over examples of Σ_c p_base,c (log p_base,c − log p_pruned,c). (The original
    /// averages over classes as well, i.e. divides this by C; we report the standard per-example KL.)
    public var kl: Double

    /// From (n, C) log-probabilities of both models.
    public static func compute(base: [Float], pruned: [Float], labels: [Int], classes C: Int) -> PruneMetrics {
        let n = labels.count
        var correct = 0, agree = 0, kl = 0.0
        for i in 0..<n {
            let b = argmax(base, row: i, width: C), q = argmax(pruned, row: i, width: C)
            if q == labels[i] { correct += 1 }
            if q == b { agree += 1 }
            for c in 0..<C {
                let lb = Double(base[i * C + c]), lq = Double(pruned[i * C + c])
                kl += Foundation.exp(lb) * (lb - lq)
            }
        }
        let d = Double(max(1, n))
        return PruneMetrics(accuracy: Double(correct) / d, agreement: Double(agree) / d, kl: kl / d)
    }
}
