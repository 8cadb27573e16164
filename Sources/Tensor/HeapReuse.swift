import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps freed memory in the process for the next allocation instead of returning it to the kernel.
///
/// Training steps and EPK steps allocate and free the same large buffers (activations, im2col columns, Winograd
/// tiles, per-sample features) again and again. By default glibc serves such blocks with fresh `mmap`s, which the
/// kernel zero-fills page by page on first touch, and unmaps them on `free`; it also trims the top of the heap when
/// enough is free. On ResNet-9 training that page-fault work was about a tenth of the step time. With mmap off and
/// trimming off, a freed block is handed to the next request of its size: the same buffers are reused each step and
/// the peak RSS stays what the largest step needs (measured equal or lower on P3 and P4).
///
/// A user's own malloc settings (`MALLOC_MMAP_MAX_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_` or
/// `GLIBC_TUNABLES`) are left alone.
public enum HeapReuse {
    /// The environment variables through which a user tunes glibc's allocator.
    public static let userVariables = [
        "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES",
    ]

    /// Applies the setting once, at start-up; returns whether it was applied.
    @discardableResult
    public static func configure() -> Bool {
        let environment = ProcessInfo.processInfo.environment
        if userVariables.contains(where: { environment[$0] != nil }) { return false }
        // glibc's mallopt(3), looked up at run time (absent from other C libraries); its parameter numbers are
        // part of glibc's ABI: M_TRIM_THRESHOLD −1, M_MMAP_MAX −4.
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(-4, 0) == 1 && mallopt(-1, Int32.max) == 1
    }
}
