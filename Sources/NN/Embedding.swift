import Foundation
import Tensor

/// Token embedding table, `y[r] = scale · E[token[r]]` (PyTorch `nn.Embedding`, with an optional constant factor such
/// as the modulo model's √d = 8, docs/METHOD.md §14).
///
/// Token ids arrive as exact small integers stored in Float32 (see `Model`). Rows are samples × positions; the
/// per-sample rule scatters all positions of one sample into that sample's gradient row.
/// Initialisation (PyTorch default): E ~ N(0, 1).
public struct Embedding: Sendable {
    public let vocabularySize: Int
    public let dimensions: Int
    /// E, shape (vocabulary, dimensions).
    public let weight: ParameterLayout.Component

    public init(_ layout: inout ParameterLayout, name: String, vocabularySize: Int, dimensions: Int) {
        self.vocabularySize = vocabularySize
        self.dimensions = dimensions
        self.weight = layout.add("\(name).weight", [vocabularySize, dimensions])
    }

    /// PyTorch-default initialisation into θ: N(0, 1).
    public func initialize(_ parameters: inout [Float], rng: inout RNG) {
        parameters.withUnsafeMutableBufferPointer { p in
            rng.fillNormal(UnsafeMutableBufferPointer(rebasing: p[weight.range]))
        }
    }

    /// The table row index of a token stored as Float; traps on anything that is not an in-range integer.
    @inlinable
    public func tokenIndex(_ value: Float) -> Int {
        let t = Int(value)
        precondition(
            Float(t) == value && t >= 0 && t < vocabularySize,
            "Embedding: token \(value) is not an integer in 0..<\(vocabularySize)")
        return t
    }

    /// tokens (rows) → y (rows, dimensions), overwritten: `y[r] = scale · E[tokens[r]]`.
    @inlinable
    public func forward(
        _ theta: UnsafePointer<Float>, tokens: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        rows: Int, scale: Float = 1
    ) {
        let d = dimensions
        let table = theta + weight.offset
        for r in 0..<rows {
            let src = table + tokenIndex(tokens[r]) * d, dst = y + r * d
            var i = 0
            while i < d { dst[i] = scale * src[i]; i &+= 1 }
        }
    }

    /// Backward of `y[r] = scale · E[tokens[r]]`: `dE[tokens[r]] += scale · dy[r]` — a scatter, summed over all rows,
    /// or per sample (over its `positionsPerSample` consecutive rows) into that sample's gradient row.
    /// - dy (rows, dimensions).
    @inlinable
    public func backward(
        tokens: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, positionsPerSample: Int = 1,
        scale: Float = 1, sink: GradientSink
    ) {
        let d = dimensions
        switch sink {
        case .sum(let g):
            let gE = g + weight.offset
            for r in 0..<rows { Vector.addScaled(dy + r * d, scale, into: gE + tokenIndex(tokens[r]) * d, count: d) }
        case .perSample(let base, let stride):
            let pps = positionsPerSample, samples = rows / positionsPerSample, offset = weight.offset
            Parallel.forEachRange(samples) { range in
                for s in range {
                    // dE_s[token] += scale · dy[s, p] for each position p of sample s
                    let gE = base + s * stride + offset
                    for p in 0..<pps {
                        let r = s * pps + p
                        Vector.addScaled(dy + r * d, scale, into: gE + tokenIndex(tokens[r]) * d, count: d)
                    }
                }
            }
        case .perSampleDot(let dot):
            // ⟨dE_s, V⟩ = Σ_p scale · dy[s, p] · V[token_{s,p}]
            let pps = positionsPerSample, samples = rows / positionsPerSample, w = weight
            Parallel.forEachRange(samples) { range in
                for s in range {
                    for dir in 0..<dot.directionCount {
                        let v = dot.direction(dir, w)
                        var acc = 0.0
                        for p in 0..<pps {
                            let r = s * pps + p
                            acc += Double(scale) * BLAS.dot(count: d, dy + r * d, v + tokenIndex(tokens[r]) * d)
                        }
                        dot.add(acc, sample: s, direction: dir, component: w)
                    }
                }
            }
        }
    }
}
