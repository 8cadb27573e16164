/// A contiguous, row-major Float32 tensor: a shape and a flat storage array.
///
/// This is deliberately plain: layers and the EPK engine work on raw buffers (with shapes in comments, llm.c style),
/// and `Tensor` is the owning container that carries the shape with the data between modules.
public struct Tensor: Equatable, Sendable {
    /// Extent of each axis, outermost first.
    public var shape: [Int]
    /// Row-major values; `storage.count == shape.reduce(1, *)`.
    public var storage: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor that takes ownership of `storage`; its count must match the shape.
    public init(shape: [Int], storage: [Float]) {
        precondition(
            shape.reduce(1, *) == storage.count,
            "Tensor: shape \(shape) needs \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// Elements per index of the first axis (the "row" length when viewed as shape[0] × rest).
    @inlinable public var rowLength: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

    @inlinable public subscript(flat i: Int) -> Float {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    /// The same values with a new shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, storage: storage) }

    /// Rows `range` of the first axis, copied.
    public func rows(_ range: Range<Int>) -> Tensor {
        let r = rowLength
        var s = shape; s[0] = range.count
        return Tensor(shape: s, storage: Array(storage[(range.lowerBound * r)..<(range.upperBound * r)]))
    }

    /// Rows selected by `indices` (gather along the first axis).
    public func gatherRows(_ indices: [Int]) -> Tensor {
        let r = rowLength
        var out = [Float](repeating: 0, count: indices.count * r)
        storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (o, i) in indices.enumerated() {
                    precondition(i >= 0 && i < shape[0], "gatherRows: index \(i) out of 0..<\(shape[0])")
                    (dst.baseAddress! + o * r).update(from: src.baseAddress! + i * r, count: r)
                }
            }
        }
        var s = shape; s[0] = indices.count
        return Tensor(shape: s, storage: out)
    }

    /// Largest absolute element-wise difference to `other` (shapes must match).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(storage[i] - other.storage[i])) }
        return m
    }
}
