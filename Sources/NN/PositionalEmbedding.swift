import Tensor

/// A learned positional table added to a sequence, `y[s, p] = x[s, p] + P[p]` (GPT-2's `wpe`).
///
/// P has shape (positions, dimensions); inputs and outputs are (n, positions, dimensions) sample-major.
/// The per-sample gradient of P is the sample's own output gradient, `dP_s = dy[s]`.
public struct PositionalEmbedding: Sendable {
    public let positions: Int
    public let dimensions: Int
    /// P, shape (positions, dimensions).
    public let table: ParameterLayout.Component

    public init(_ layout: inout ParameterLayout, name: String, positions: Int, dimensions: Int) {
        self.positions = positions
        self.dimensions = dimensions
        table = layout.add("\(name).weight", [positions, dimensions])
    }

    /// A table component already in a layout (shape (positions, dimensions)).
    public init(table: ParameterLayout.Component) {
        precondition(
            table.shape.count == 2, "PositionalEmbedding: table shape \(table.shape) is not (positions, dimensions)")
        self.table = table
        positions = table.shape[0]
        dimensions = table.shape[1]
    }

    /// `y[s] += P` for each of the n samples (y already holds x).
    @inlinable
    public func forward(_ theta: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, samples n: Int) {
        let block = positions * dimensions
        for s in 0..<n { Vector.add(theta + table.offset, into: y + s * block, count: block) }
    }

    /// Parameter part of the backward, `dP += dy[s]` — summed over samples, per sample, or dotted with directions.
    /// - dy (n, positions, dimensions).
    public func backward(dy: UnsafePointer<Float>, samples n: Int, sink: GradientSink) {
        let block = positions * dimensions, c = table
        switch sink {
        case .sum(let g):
            for s in 0..<n { Vector.add(dy + s * block, into: g + c.offset, count: block) }
        case .perSample(let base, let stride):
            Parallel.forEachRange(n) { range in
                for s in range { Vector.add(dy + s * block, into: base + s * stride + c.offset, count: block) }
            }
        case .perSampleDot(let dot):
            for s in 0..<n {
                for d in 0..<dot.directionCount {
                    dot.add(
                        BLAS.dot(count: block, dy + s * block, dot.direction(d, c)), sample: s, direction: d,
                        component: c)
                }
            }
        }
    }
}
