/// An invalid value found by a config's own `validate()`; `StrictConfig.load` prefixes the file name, giving
/// "Configs/x.json: key 'lr': expected a positive number, found -1".
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Dotted key path with `[i]` for array elements, as written in the JSON file (e.g. "optimizer.lr").
    public let keyPath: String
    /// What is wrong, e.g. "expected a positive number, found -1".
    public let message: String

    public init(keyPath: String, message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    /// "key 'lr': expected a positive number, found -1".
    public var description: String { "key '\(keyPath)': \(message)" }

    /// A value outside its allowed range; integral floating-point values print without a fraction ("-1").
    public static func outOfRange<F: BinaryFloatingPoint>(keyPath: String, expected: String, found: F) -> ConfigError {
        ConfigError(keyPath: keyPath, message: "expected \(expected), found \(formatNumber(Double(found)))")
    }

    /// A value outside its allowed range.
    public static func outOfRange<I: BinaryInteger>(keyPath: String, expected: String, found: I) -> ConfigError {
        ConfigError(keyPath: keyPath, message: "expected \(expected), found \(found)")
    }

    /// A value outside its allowed range; `found` is shown quoted.
    public static func outOfRange(keyPath: String, expected: String, found: String) -> ConfigError {
        ConfigError(keyPath: keyPath, message: "expected \(expected), found '\(found)'")
    }

    /// Throws `outOfRange` unless `condition` holds, for one-line checks in `validate()`:
    /// `try ConfigError.require(lr > 0, keyPath: "optimizer.lr", expected: "a positive number", found: lr)`.
    public static func require<F: BinaryFloatingPoint>(
        _ condition: Bool, keyPath: String, expected: String,
        found: F
    ) throws {
        if !condition { throw outOfRange(keyPath: keyPath, expected: expected, found: found) }
    }

    /// Integer form of `require`.
    public static func require<I: BinaryInteger>(
        _ condition: Bool, keyPath: String, expected: String,
        found: I
    ) throws {
        if !condition { throw outOfRange(keyPath: keyPath, expected: expected, found: found) }
    }

    /// -1.0 → "-1", 0.001 → "0.001", nan → "nan".
    static func formatNumber(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// A config type that checks its own values after decoding; `StrictConfig` calls `validate()` and reports a thrown
/// `ConfigError` with the file name in front.
public protocol ValidatableConfig {
    /// Throws a `ConfigError` (usually via `ConfigError.require`) for the first invalid value.
    func validate() throws
}
