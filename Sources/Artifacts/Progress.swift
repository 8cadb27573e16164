import Foundation

/// A throttled progress line for long loops:
/// `train  120/1940 [ 6%] loss 0.52 acc 0.98 | 3.1 it/s ETA 9m45s`.
///
/// On a terminal the line is redrawn in place at most 4 times per second; otherwise (logs, CI) a new line is written
/// at most every 5 seconds. `finish()` prints the final line with the total time. Honours `Log.quiet`.
public final class Progress {
    public let label: String
    public let total: Int
    /// Items done so far.
    public private(set) var done = 0
    /// Status text of the last `advance` call.
    public private(set) var status = ""

    private let minimumInterval: Double
    private let clock: () -> Double
    private let output: (_ line: String, _ isFinal: Bool) -> Void
    private let start: Double
    private var lastPrinted = -Double.infinity
    private let lock = NSLock()

    /// - Parameters:
    ///   - minimumInterval: seconds between printed lines (default 0.25 on a terminal, 5 otherwise).
    ///   - clock: seconds from any fixed origin (default: monotonic time); tests pass a fake clock.
    ///   - output: receives each line and whether it is the final one (default: standard error, unless `Log.quiet`).
    public init(
        label: String, total: Int, minimumInterval: Double? = nil, clock: (() -> Double)? = nil,
        output: ((_ line: String, _ isFinal: Bool) -> Void)? = nil
    ) {
        let interactive = isatty(2) != 0
        self.label = label
        self.total = max(0, total)
        self.minimumInterval = minimumInterval ?? (interactive ? 0.25 : 5)
        self.clock = clock ?? { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
        self.output =
            output ?? { line, isFinal in
                if interactive {
                    Log.emit("\r" + line + "\u{1B}[K", terminator: isFinal ? "\n" : "")
                } else {
                    Log.emit(line, terminator: "\n")
                }
            }
        self.start = self.clock()
    }

    /// Records `count` more items done and the current status (e.g. "loss 0.52 acc 0.98"); prints if enough time
    /// has passed since the last line.
    public func advance(by count: Int = 1, status: String = "") {
        lock.lock()
        defer { lock.unlock() }
        done = min(total, done + count)
        self.status = status
        let now = clock()
        guard now - lastPrinted >= minimumInterval else { return }
        lastPrinted = now
        output(line(now: now, final: false), false)
    }

    /// Prints the final line with the elapsed time.
    public func finish(status: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        if let status { self.status = status }
        output(line(now: clock(), final: true), true)
    }

    private func line(now: Double, final: Bool) -> String {
        Progress.formatLine(label: label, done: done, total: total, status: status, elapsed: now - start, final: final)
    }

    /// The progress line for `done` of `total` items after `elapsed` seconds. The count is right-aligned to the width
    /// of `total`; the rate is items per second (or seconds per item below 1 it/s); the ETA assumes a constant rate.
    public static func formatLine(
        label: String, done: Int, total: Int, status: String, elapsed: Double,
        final: Bool = false
    ) -> String {
        let width = String(total).count
        let count = String(repeating: " ", count: max(0, width - String(done).count)) + String(done)
        let percent = total > 0 ? 100 * done / total : 100
        var line = "\(label) \(count)/\(total) [\(percent < 10 ? " " : "")\(percent)%]"
        if !status.isEmpty { line += " " + status }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        line += " | " + formatRate(rate)
        if final {
            line += " done in " + formatDuration(elapsed)
        } else {
            line += " ETA " + (rate > 0 ? formatDuration(Double(total - done) / rate) : "--")
        }
        return line
    }

    /// "3.1 it/s", "250 it/s", "12.5 s/it", "-- it/s".
    public static func formatRate(_ rate: Double) -> String {
        guard rate > 0, rate.isFinite else { return "-- it/s" }
        if rate >= 100 { return "\(Int(rate.rounded())) it/s" }
        if rate >= 1 { return "\(oneDecimal(rate)) it/s" }
        return "\(oneDecimal(1 / rate)) s/it"
    }

    /// "45s", "9m45s", "1h02m"; seconds are rounded.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let total = Int(seconds.rounded())
        let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if hours > 0 { return "\(hours)h\(two(minutes))m" }
        if minutes > 0 { return "\(minutes)m\(two(secs))s" }
        return "\(secs)s"
    }

    private static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
