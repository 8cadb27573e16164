import Tensor

/// Owner of the raw Float32 activation and workspace buffers of one forward/backward call.
///
/// Models allocate every buffer once per call through an arena (zero-initialised), pass raw pointers to the layers,
/// and keep the arena alive (`withExtendedLifetime`) until the last pointer use; deinit frees everything.
final class FloatArena {
    private var blocks: [UnsafeMutablePointer<Float>] = []
    /// Floats allocated so far.
    private(set) var floats = 0

    /// A new zeroed buffer of `count` floats (at least one, so the pointer is always valid).
    func make(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        p.initialize(repeating: 0, count: n)
        blocks.append(p)
        floats += n
        return p
    }

    /// A new buffer of `count` floats whose contents are undefined (for outputs a layer overwrites entirely).
    func makeUninitialized(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = max(count, 1)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        blocks.append(p)
        floats += n
        return p
    }

    deinit { for b in blocks { b.deallocate() } }
}

/// Runs a forward pass whose buffers live in a `FloatArena` and copies its (n, C) log-probabilities out before the
/// arena is released: the shared tail of every model's `forward(parameters:inputs:)`. `run` gets raw pointers to θ
/// and to the inputs and returns the arena and the log-probability buffer.
func logProbabilities(
    samples n: Int, classes C: Int, parameters: [Float], inputs: Tensor,
    _ run: (_ theta: UnsafePointer<Float>, _ inputs: UnsafePointer<Float>) -> (
        arena: FloatArena, logProbs: UnsafePointer<Float>
    )
) -> Tensor {
    var out = [Float](repeating: 0, count: n * C)
    parameters.withPointer { theta in
        inputs.storage.withPointer { x in
            let (arena, logProbs) = run(theta, x)
            withExtendedLifetime(arena) { out.withMutablePointer { $0.update(from: logProbs, count: n * C) } }
        }
    }
    return Tensor(shape: [n, C], storage: out)
}
