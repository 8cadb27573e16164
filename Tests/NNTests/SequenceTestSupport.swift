import Foundation
import Tensor
import XCTest

@testable import NN

/// Shared helpers of the sequence/MLP layer and model tests (namespaced to keep the NNTests target collision-free).
enum SequenceFixtures {
    /// A tensor of N(0, 1) values.
    static func normalTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        var t = Tensor(shape: shape)
        t.storage.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        return t
    }

    /// Random token sequences (n, T) with ids in 0..<vocabulary, stored as Float.
    static func tokens(_ n: Int, _ T: Int, vocabulary: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        return Tensor(shape: [n, T], storage: (0..<(n * T)).map { _ in Float(rng.int(below: vocabulary)) })
    }

    /// Modulo-addition inputs [a, 113, b, 114] as Float.
    static func moduloInputs(_ pairs: [(Int, Int)]) -> Tensor {
        Tensor(shape: [pairs.count, 4], storage: pairs.flatMap { [Float($0.0), 113, Float($0.1), 114] })
    }

    /// Batch gradient (sum sink) for a cotangent.
    static func batchGradient(_ model: Model, _ theta: [Float], _ inputs: Tensor, _ w: Tensor) -> [Float] {
        var g = [Float](repeating: 0, count: model.parameterCount)
        g.withMutablePointer {
            _ = model.backward(parameters: theta, inputs: inputs, outputGradients: w, into: .sum($0))
        }
        return g
    }

    /// Per-sample gradient rows (n × P) for a cotangent.
    static func perSampleRows(_ model: Model, _ theta: [Float], _ inputs: Tensor, _ w: Tensor) -> [Float] {
        let P = model.parameterCount
        var rows = [Float](repeating: 0, count: inputs.shape[0] * P)
        rows.withMutablePointer {
            _ = model.backward(
                parameters: theta, inputs: inputs, outputGradients: w, into: .perSample($0, rowStride: P))
        }
        return rows
    }

    /// ‖a − b‖ / ‖b‖ in Float64.
    static func relativeError(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var d2 = 0.0, r2 = 0.0
        for (x, y) in zip(a, b) { d2 += Double(x - y) * Double(x - y); r2 += Double(y) * Double(y) }
        return (d2 / max(r2, 1e-30)).squareRoot()
    }

    /// Largest relative error between per-sample row i (from one batched backward of all n samples) and the batch
    /// gradient of sample i alone (a backward on the 1-sample batch with the same cotangent row).
    static func perSampleVersusSingleSampleError(
        _ model: Model, _ theta: [Float], _ inputs: Tensor, _ w: Tensor
    ) -> Double {
        let n = inputs.shape[0], P = model.parameterCount
        let rows = perSampleRows(model, theta, inputs, w)
        var worst = 0.0
        for i in 0..<n {
            let single = batchGradient(model, theta, inputs.rows(i..<(i + 1)), w.rows(i..<(i + 1)))
            worst = max(worst, relativeError(rows[(i * P)..<((i + 1) * P)], single[...]))
        }
        return worst
    }

    /// Largest |log Σ_c exp f_c| over rows: zero for valid log-probabilities.
    static func worstLogSumExp(_ f: Tensor) -> Double {
        let C = f.shape[1]
        var worst = 0.0
        for r in 0..<f.shape[0] {
            var s = 0.0
            for c in 0..<C { s += Foundation.exp(Double(f.storage[r * C + c])) }
            worst = max(worst, abs(Foundation.log(s)))
        }
        return worst
    }

    /// Log-softmax of a Float64 vector.
    static func logSoftmax(_ z: [Double]) -> [Double] {
        let m = z.max()!
        let lse = m + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - m) })
        return z.map { $0 - lse }
    }

    /// θ[component] as Float64, for naive references.
    static func slice(_ theta: [Float], _ model: Model, _ name: String) -> [Double] {
        theta[model.layout.component(named: name)!.range].map(Double.init)
    }

    /// y = W x for W stored (rows × columns) row-major, in Float64.
    static func matVec(_ W: [Double], _ x: [Double]) -> [Double] {
        let cols = x.count, rows = W.count / cols
        var y = [Double](repeating: 0, count: rows)
        for r in 0..<rows { var s = 0.0; for c in 0..<cols { s += W[r * cols + c] * x[c] }; y[r] = s }
        return y
    }

    /// Σ_i a_i b_i in Float64.
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += a[i] * b[i] }
        return s
    }

    /// Σ_j weights_j · vectors_j in Float64.
    static func combine(_ weights: [Double], _ vectors: [[Double]]) -> [Double] {
        var y = [Double](repeating: 0, count: vectors[0].count)
        for (a, v) in zip(weights, vectors) { for i in 0..<v.count { y[i] += a * v[i] } }
        return y
    }

    /// Softmax in Float64.
    static func softmax(_ z: [Double]) -> [Double] { logSoftmax(z).map { Foundation.exp($0) } }
}
