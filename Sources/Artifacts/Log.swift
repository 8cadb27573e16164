import Foundation

/// The one logging facility of the library: levelled lines on standard error, silenced by `Log.quiet`.
///
/// `quiet` starts out true when the environment has `EXPLAIND_QUIET=1`, so tests and scripted runs are silent.
/// Lines look like `[09:12:03] warning: message`.
public enum Log {
    /// Severity of a message.
    public enum Level: String, Sendable {
        case info, warning, error
    }

    /// When true nothing is printed (messages and `Progress` lines alike).
    public static var quiet: Bool = ProcessInfo.processInfo.environment["EXPLAIND_QUIET"] == "1"

    /// Where lines go; standard error by default. Tests may replace it to capture output.
    public static var output: (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static let lock = NSLock()

    /// Informational message.
    public static func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    /// Something suspicious that does not stop the run.
    public static func warn(_ message: @autoclosure () -> String) { log(.warning, message()) }
    /// A failure being reported (usually just before exiting).
    public static func error(_ message: @autoclosure () -> String) { log(.error, message()) }

    /// Prints one line at `level` unless `quiet`.
    public static func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard !quiet else { return }
        let line = "[\(clockTime())] \(level.rawValue): \(message())"
        lock.lock()
        defer { lock.unlock() }
        output(line)
    }

    /// Writes a raw line (used by `Progress`) unless `quiet`.
    static func emit(_ text: String, terminator: String) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data((text + terminator).utf8))
    }

    /// Local wall-clock time as HH:MM:SS.
    private static func clockTime() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}
