import Tensor

/// D vectors of θ's space stored component-major: component k of vector d occupies
/// `D·offset_k + d·count_k ..< D·offset_k + (d+1)·count_k`. So one component of all D vectors is one contiguous
/// (D × count_k) matrix — a weight (out × in) of all directions is a (D·out × in) matrix, used in single GEMMs.
public struct ComponentMajorBlock {
    public let layout: ParameterLayout
    public let count: Int
    public var storage: [Float]

    public init(layout: ParameterLayout, count: Int) {
        self.layout = layout; self.count = count
        storage = [Float](repeating: 0, count: count * layout.count)
    }

    /// From D row-major θ-shaped rows (D × P).
    public init(rows: [Float], count: Int, layout: ParameterLayout) {
        self.init(layout: layout, count: count)
        let P = layout.count
        precondition(rows.count == count * P, "ComponentMajorBlock: \(rows.count) values for \(count) × \(P)")
        for c in layout.components {
            for d in 0..<count {
                let dst = count * c.offset + d * c.count, src = d * P + c.offset
                storage.replaceSubrange(dst..<(dst + c.count), with: rows[src..<(src + c.count)])
            }
        }
    }

    /// Back to D row-major θ-shaped rows (D × P).
    public func rows() -> [Float] {
        let P = layout.count
        var rows = [Float](repeating: 0, count: count * P)
        for c in layout.components {
            for d in 0..<count {
                let src = count * c.offset + d * c.count, dst = d * P + c.offset
                rows.replaceSubrange(dst..<(dst + c.count), with: storage[src..<(src + c.count)])
            }
        }
        return rows
    }

    /// Σ_p a_d[p] b_d[p] for every vector d (accumulated in Float64).
    public static func dots(_ a: ComponentMajorBlock, _ b: ComponentMajorBlock) -> [Double] {
        precondition(a.count == b.count && a.layout == b.layout, "ComponentMajorBlock.dots: shapes differ")
        var out = [Double](repeating: 0, count: a.count)
        a.storage.withPointer { pa in
            b.storage.withPointer { pb in
                for c in a.layout.components {
                    for d in 0..<a.count {
                        let o = a.count * c.offset + d * c.count
                        out[d] += BLAS.dot(count: c.count, pa + o, pb + o)
                    }
                }
            }
        }
        return out
    }

    /// Vector d of `self` ← `scale` · vector d of `self` + Σ terms (per-vector coefficients), e.g. x_d += α_d p_d.
    public mutating func update(
        scale: [Float]? = nil, adding terms: [(coefficients: [Float], block: ComponentMajorBlock)]
    ) {
        let D = count
        for t in terms {
            precondition(t.block.count == D && t.coefficients.count == D, "ComponentMajorBlock.update: shapes differ")
        }
        storage.withMutablePointer { p in
            for c in layout.components {
                for d in 0..<D {
                    let o = D * c.offset + d * c.count
                    if let s = scale?[d], s != 1 { Vector.scale(p + o, by: s, count: c.count) }
                    for t in terms where t.coefficients[d] != 0 {
                        t.block.storage.withPointer { q in
                            Vector.addScaled(q + o, t.coefficients[d], into: p + o, count: c.count)
                        }
                    }
                }
            }
        }
    }

    /// The vectors at `indices`, as a block of `indices.count` vectors.
    public func gather(_ indices: [Int]) -> ComponentMajorBlock {
        var out = ComponentMajorBlock(layout: layout, count: indices.count)
        for c in layout.components {
            for (e, d) in indices.enumerated() {
                let src = count * c.offset + d * c.count, dst = indices.count * c.offset + e * c.count
                out.storage.replaceSubrange(dst..<(dst + c.count), with: storage[src..<(src + c.count)])
            }
        }
        return out
    }

    /// Writes the vectors of `block` to positions `indices` of `self`.
    public mutating func scatter(_ block: ComponentMajorBlock, to indices: [Int]) {
        precondition(
            block.count == indices.count,
            "ComponentMajorBlock.scatter: \(block.count) vectors for \(indices.count) slots")
        for c in layout.components {
            for (e, d) in indices.enumerated() {
                let dst = count * c.offset + d * c.count, src = indices.count * c.offset + e * c.count
                storage.replaceSubrange(dst..<(dst + c.count), with: block.storage[src..<(src + c.count)])
            }
        }
    }
}
