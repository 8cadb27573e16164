import Foundation

/// Deterministic pseudo-random numbers: xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64.
///
/// The same seed gives the same stream on every machine, which the history tests rely on (bit-identical resume).
/// Derived quantities:
/// - `uniform()`  — Float in [0, 1) from the top 24 bits;
/// - `uniformDouble()` — Double in [0, 1) from the top 53 bits;
/// - `normal()`   — standard normal by the Box–Muller transform in Float64 (both values of a pair are used);
/// - `permutation(n)` — Fisher–Yates shuffle of 0..<n;
/// - `choose(k, from: n)` — k distinct indices, uniformly without replacement (partial Fisher–Yates), in draw order.
public struct RNG: Sendable {
    @usableFromInline var s0, s1, s2, s3: UInt64
    @usableFromInline var spareNormal: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
        spareNormal = nil
    }

    /// The complete generator state (four words, plus the cached second Box–Muller value as its bit pattern
    /// with a presence flag), for bit-identical resume of a killed run.
    public var state: [UInt64] {
        [s0, s1, s2, s3, spareNormal == nil ? 0 : 1, spareNormal?.bitPattern ?? 0]
    }

    /// Restores a generator from `state`.
    public init(state: [UInt64]) {
        precondition(state.count == 6, "RNG(state:) needs the 6 words produced by `state`")
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
        spareNormal = state[4] == 0 ? nil : Double(bitPattern: state[5])
    }

    /// Next raw 64-bit output.
    @inlinable public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform Float in [0, 1).
    @inlinable public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform Float in [low, high).
    @inlinable public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * uniform() }

    /// Uniform Double in [0, 1).
    @inlinable public mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform integer in 0..<n (unbiased, by rejection).
    @inlinable public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "RNG.int(below:) needs n > 0")
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = next()
            if r < limit { return Int(r % bound) }
        }
    }

    /// Standard normal sample (Box–Muller in Float64).
    public mutating func normal() -> Double {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1 = uniformDouble()
        while u1 <= 0 { u1 = uniformDouble() }
        let u2 = uniformDouble()
        let r = (-2 * _log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareNormal = r * _sin(theta)
        return r * _cos(theta)
    }

    /// A uniformly random permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            p.swapAt(i, int(below: i + 1))
        }
        return p
    }

    /// `k` distinct indices from 0..<n, uniformly without replacement, in the order drawn.
    public mutating func choose(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "RNG.choose: cannot draw \(k) of \(n) without replacement")
        var pool = Array(0..<n)
        for i in 0..<k { pool.swapAt(i, i + int(below: n - i)) }
        return Array(pool[0..<k])
    }

    /// Fills `buffer` with samples from U(low, high).
    public mutating func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, _ low: Float, _ high: Float) {
        for i in buffer.indices { buffer[i] = uniform(low, high) }
    }

    /// Fills `buffer` with samples from N(mean, std²).
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        for i in buffer.indices { buffer[i] = mean + std * Float(normal()) }
    }
}

@usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func _sin(_ x: Double) -> Double { Foundation.sin(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Foundation.cos(x) }
