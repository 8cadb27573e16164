import Foundation
import Tensor

/// A seeded random projection R ∈ R^{P×k} for TRAK's features φ = Rᵀg (docs/METHOD.md §17), never stored whole
/// unless it fits `cacheBytes`.
///
/// R is cut into row blocks of `blockRows` rows; block b is drawn from its own generator seeded with
/// (seed, stream, b) through SplitMix64, so any block can be regenerated on demand in any order and the matrix is
/// the same whether it is cached or not. Entries are i.i.d. ±1/√k (Rademacher) or N(0, 1/k) (Gaussian), so
/// E[RRᵀ] = I and inner products are preserved in expectation (Johnson–Lindenstrauss). `identity` is R = I (k = P),
/// i.e. no projection.
public final class RandomProjection {
    public enum Kind: String, Sendable, CaseIterable { case rademacher, gaussian, identity = "none" }

    public let kind: Kind
    public let inputDimension: Int
    public let outputDimension: Int
    public let seed: UInt64
    public let stream: UInt64
    public let blockRows: Int
    private var cache: [Int: [Float]] = [:]
    private let cacheAll: Bool

    /// `stream` separates independent projections drawn from one seed (TRAK: one per ensemble member).
    public init(
        kind: Kind, inputDimension P: Int, outputDimension k: Int, seed: UInt64, stream: UInt64 = 0,
        blockRows: Int = 4096, cacheBytes: Int
    ) {
        precondition(kind != .identity || k == P, "RandomProjection: the identity needs k = P")
        self.kind = kind; inputDimension = P; outputDimension = k; self.seed = seed; self.stream = stream
        self.blockRows = blockRows
        cacheAll = kind != .identity && P * k * MemoryLayout<Float>.size <= cacheBytes
    }

    /// Seed of block b: a SplitMix64 hash of (seed, stream, b).
    static func blockSeed(_ seed: UInt64, _ stream: UInt64, _ b: Int) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (stream &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* UInt64(b + 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Rows `b·blockRows ..< min(P, (b+1)·blockRows)` of R, row-major (rows × k).
    public func block(_ b: Int) -> [Float] {
        if let cached = cache[b] { return cached }
        let lo = b * blockRows, rows = min(inputDimension, lo + blockRows) - lo, k = outputDimension
        var values = [Float](repeating: 0, count: rows * k)
        var rng = RNG(seed: Self.blockSeed(seed, stream, b))
        let scale = Float(1 / Double(k).squareRoot())
        switch kind {
        case .identity: for r in 0..<rows { values[r * k + lo + r] = 1 }
        case .gaussian: values.withUnsafeMutableBufferPointer { rng.fillNormal($0, mean: 0, std: scale) }
        case .rademacher:
            var i = 0
            while i < values.count {
                var bits = rng.next()
                for _ in 0..<min(64, values.count - i) {
                    values[i] = bits & 1 == 0 ? scale : -scale; bits >>= 1; i += 1
                }
            }
        }
        if cacheAll { cache[b] = values }
        return values
    }

    public var blockCount: Int { (inputDimension + blockRows - 1) / blockRows }

    /// Φ = G·R for `rows` gradients G (rows × P, row-major): (rows × k), accumulated block by block.
    public func project(_ g: [Float], rows: Int) -> [Float] {
        let P = inputDimension, k = outputDimension
        precondition(g.count == rows * P, "RandomProjection: \(g.count) values for \(rows) × \(P)")
        if kind == .identity { return g }
        var phi = [Float](repeating: 0, count: rows * k)
        for b in 0..<blockCount {
            let lo = b * blockRows, width = min(P, lo + blockRows) - lo
            let r = block(b)
            g.withUnsafeBufferPointer { gp in
                r.withUnsafeBufferPointer { rp in
                    phi.withUnsafeMutableBufferPointer { cp in
                        BLAS.sgemm(
                            m: rows, n: k, k: width, a: gp.baseAddress! + lo, lda: P, b: rp.baseAddress!, ldb: k,
                            beta: 1, c: cp.baseAddress!, ldc: k)
                    }
                }
            }
        }
        return phi
    }
}
