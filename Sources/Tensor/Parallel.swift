import Dispatch
import Foundation
import Synchronization

/// Parallel loops that share the machine's cores with OpenBLAS without oversubscribing them.
///
/// Inside `Parallel.forEach` every worker calls BLAS single-threaded (OpenBLAS's thread count is set to 1 for the
/// duration of the region and restored afterwards); outside, BLAS uses `Parallel.workers` threads itself.
/// The worker count is `EXPLAIND_THREADS` when set, else the number of active processors.
public enum Parallel {
    /// Number of worker threads for loops and BLAS.
    public private(set) static var workers: Int = {
        if let s = ProcessInfo.processInfo.environment["EXPLAIND_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Sets the worker count for loops and for BLAS calls made outside parallel regions.
    public static func configure(threads: Int) {
        workers = max(1, threads)
        BLAS.threads = workers
    }

    /// Runs `body(chunk)` for chunks `0..<count` split into at most `workers · partsPerWorker` contiguous ranges, in
    /// parallel on at most `workers` threads. Each invocation receives a disjoint range; the union is `0..<count`.
    /// With more than one part per worker, each worker takes the next range as it becomes free, which evens out a
    /// worker slowed by other load on the machine.
    public static func forEachRange(
        _ count: Int, minimumChunk: Int = 1, partsPerWorker: Int = 1, _ body: (Range<Int>) -> Void
    ) {
        if count <= 0 { return }
        let parts = min(workers * max(1, partsPerWorker), max(1, count / max(1, minimumChunk)))
        if workers <= 1 || parts <= 1 { body(0..<count); return }
        let saved = BLAS.threads
        BLAS.threads = 1
        defer { BLAS.threads = saved }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(workers, parts)) { _ in
            while true {
                let p = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if p >= parts { break }
                body(count * p / parts..<count * (p + 1) / parts)
            }
        }
    }

    /// Runs `body(i)` for every i in `0..<count`, spread over the workers in contiguous ranges.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forEachRange(count) { r in for i in r { body(i) } }
    }
}
