/// Owner of the raw Float32 activation and workspace buffers of one forward/backward call.
///
/// Models allocate every buffer once per call through an arena (zero-initialised), pass raw pointers to the layers,
/// and keep the arena alive (`withExtendedLifetime`) until the last pointer use; deinit frees everything.
final class FloatArena {
    private var blocks: [UnsafeMutablePointer<Float>] = []

    /// A new zeroed buffer of `count` floats (at least one, so the pointer is always valid).
    func make(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        p.initialize(repeating: 0, count: n)
        blocks.append(p)
        return p
    }

    deinit { for b in blocks { b.deallocate() } }
}
