/// Element-wise kernels on raw buffers, written so the compiler vectorises them (wrapping index arithmetic,
/// no bounds checks in the inner loop). `count` is always explicit; nothing here allocates.
public enum Vector {
    /// `y[i] += x[i]`
    @inlinable public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count { y[i] += x[i]; i &+= 1 }
    }

    /// `target[2l] += even[l]` and `target[2l + 1] += odd[l]` for l < 8: sixteen floats, loaded and stored unaligned.
    @inlinable @inline(__always)
    public static func addInterleaved(
        _ even: SIMD8<Float>, _ odd: SIMD8<Float>, into target: UnsafeMutablePointer<Float>
    ) {
        let pairs = SIMD16(
            even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3],
            even[4], odd[4], even[5], odd[5], even[6], odd[6], even[7], odd[7])
        let raw = UnsafeMutableRawPointer(target)
        raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + pairs, as: SIMD16<Float>.self)
    }

    /// `y[i] += a * x[i]`
    @inlinable public static func addScaled(
        _ x: UnsafePointer<Float>, _ a: Float, into y: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i < count { y[i] += a * x[i]; i &+= 1 }
    }

    /// `x[i] *= a`
    @inlinable public static func scale(_ x: UnsafeMutablePointer<Float>, by a: Float, count: Int) {
        var i = 0
        while i < count { x[i] *= a; i &+= 1 }
    }

    /// `out[i] = x[i] ≤ 0 ? 0 : x[i]`, PyTorch's rule: a NaN passes through (it is not ≤ 0), so a diverged
    /// activation is not hidden.
    @inlinable public static func relu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        // 16 lanes at a time with a branch-free select (a scalar `?:` compiles to a branch per element)
        var i = 0
        let zero = SIMD16<Float>()
        while i &+ 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(
                of: v.replacing(with: zero, where: v .<= zero), as: SIMD16<Float>.self)
            i &+= 16
        }
        while i < count { out[i] = x[i] <= 0 ? 0 : x[i]; i &+= 1 }
    }

    /// `dx[i] (+)= x[i] ≤ 0 ? 0 : dy[i]` — the ReLU backward (PyTorch's rule, NaN inputs pass dy), written or
    /// accumulated.
    @inlinable public static func reluBackward(
        input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
        gradInput dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool
    ) {
        // 16 lanes at a time with a branch-free select, as in `relu`
        var i = 0
        let zero = SIMD16<Float>()
        while i &+ 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            var g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self).replacing(
                with: zero, where: v .<= zero)
            if accumulate { g += UnsafeRawPointer(dx + i).loadUnaligned(as: SIMD16<Float>.self) }
            UnsafeMutableRawPointer(dx + i).storeBytes(of: g, as: SIMD16<Float>.self)
            i &+= 16
        }
        if accumulate {
            while i < count { dx[i] += x[i] <= 0 ? 0 : dy[i]; i &+= 1 }
        } else {
            while i < count { dx[i] = x[i] <= 0 ? 0 : dy[i]; i &+= 1 }
        }
    }

    /// `out[i] = (1 - a) * x0[i] + a * x1[i]` — the straight path between two parameter vectors.
    @inlinable public static func interpolate(
        _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>, _ a: Float,
        _ out: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let b = 1 - a
        while i < count { out[i] = b * x0[i] + a * x1[i]; i &+= 1 }
    }

    /// Sum accumulated in Float64.
    @inlinable public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var s = 0.0
        var i = 0
        while i < count { s += Double(x[i]); i &+= 1 }
        return s
    }

    /// Euclidean norm accumulated in Float64.
    @inlinable public static func norm(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var s = 0.0
        var i = 0
        while i < count { let v = Double(x[i]); s += v * v; i &+= 1 }
        return s.squareRoot()
    }
}

extension Array where Element == Float {
    /// Calls `body` with a mutable pointer to the first element (non-nil even when empty is not needed here).
    @inlinable public mutating func withMutablePointer<R>(
        _ body: (UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        try withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
    /// Calls `body` with a pointer to the first element.
    @inlinable public func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer { try body($0.baseAddress!) }
    }
}
