import Foundation

/// Loads JSON configs strictly: every problem is a one-line `ArtifactError` (kind `.config`, or `.notFound` for a
/// missing file) naming the file, the key path and what was expected.
///
/// Conventions:
/// - Keys: JSON keys are exactly the `CodingKey` string values; no key strategy is applied. Multi-word properties
///   declare snake_case keys explicitly (`case weightDecay = "weight_decay"`), so key paths in messages are the ones
///   written in the file.
/// - Unknown keys: the decoded value is re-encoded with `JSONEncoder`; any input key absent from the re-encoding is
///   reported with the keys that are known at that level. An optional property is known whenever it is present
///   with a value (it is re-encoded); when it is absent nothing is checked. An explicit `null` that the type does not
///   re-encode is refused ("null is not accepted"), since it cannot be told apart from a misspelt optional key:
///   omit an optional key to leave it unset.
/// - Range checks: types conforming to `ValidatableConfig` are validated after decoding.
/// - Messages:
///   - `Configs/x.json: no such file; pass --config with an existing JSON file`
///   - `Configs/x.json: malformed JSON (<parser detail with line and column>)`
///   - `Configs/x.json: unknown key 'optimizer.lrr' (expected one of: lr, momentum, weight_decay)`
///   - `Configs/x.json: key 'train.steps': expected an integer, found a string`
///   - `Configs/x.json: missing required key 'optimizer.lr' (the object has keys: lrr, momentum)`
///   - `Configs/x.json: key 'lr': expected a positive number, found -1`
public enum StrictConfig {
    /// Reads and decodes the config at `path` (see the type's documentation for the checks and messages).
    public static func load<T: Codable>(_ type: T.Type, from path: String) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArtifactError(.notFound, file: path, problem: "no such file",
                                fix: "pass --config with an existing JSON file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ArtifactError(.io, file: path, problem: "cannot read the file", fix: "check its permissions")
        }
        return try decode(type, from: data, source: path)
    }

    /// Decodes config bytes; `source` names them in messages (usually the file path).
    public static func decode<T: Codable>(_ type: T.Type, from data: Data, source: String) throws -> T {
        func failure(_ message: String) -> ArtifactError { ArtifactError(.config, "\(source): \(message)") }

        let document: JSONValue
        do { document = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw failure("malformed JSON (\(parserDetail(error)))")
        }

        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch let error as DecodingError {
            throw failure(describe(error, in: document))
        }

        let reencoded: JSONValue
        do {
            reencoded = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
        } catch {
            throw failure("cannot re-encode \(T.self) to check for unknown keys (\(error))")
        }
        if let problem = unknownKeyProblem(input: document, known: reencoded, path: "") {
            throw failure(problem)
        }

        if let validatable = value as? ValidatableConfig {
            do { try validatable.validate() } catch let error as ConfigError {
                throw failure(error.description)
            }
        }
        return value
    }

    /// Dotted key path with `[i]` for array elements: `layers[2].width`.
    static func keyPath(_ codingPath: [CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text
    }

    private static func append(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The first input key (in sorted order, depth first) that the re-encoded value does not have.
    private static func unknownKeyProblem(input: JSONValue, known: JSONValue, path: String) -> String? {
        switch (input, known) {
        case (.object(let inputMembers), .object(let knownMembers)):
            for key in inputMembers.keys.sorted() {
                let member = inputMembers[key]!
                guard let knownMember = knownMembers[key] else {
                    if member == .null {
                        return "key '\(append(path, key))': null is not accepted (omit an optional key to leave it unset)"
                    }
                    let expected = knownMembers.keys.sorted().joined(separator: ", ")
                    return "unknown key '\(append(path, key))' (expected one of: \(expected.isEmpty ? "no keys" : expected))"
                }
                if let problem = unknownKeyProblem(input: member, known: knownMember, path: append(path, key)) {
                    return problem
                }
            }
        case (.array(let inputElements), .array(let knownElements)):
            for (index, (element, knownElement)) in zip(inputElements, knownElements).enumerated() {
                if let problem = unknownKeyProblem(input: element, known: knownElement, path: path + "[\(index)]") {
                    return problem
                }
            }
        default:
            break
        }
        return nil
    }

    /// One-line description of a decoding failure, using the parsed document to say what was found.
    private static func describe(_ error: DecodingError, in document: JSONValue) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            return mismatch(path: context.codingPath, expected: expectation(for: type), in: document)
        case .valueNotFound(let type, let context):
            return mismatch(path: context.codingPath, expected: expectation(for: type), in: document)
        case .keyNotFound(let key, let context):
            let path = keyPath(context.codingPath + [key])
            var message = "missing required key '\(path)'"
            if case .object(let members)? = document.value(at: context.codingPath), !members.isEmpty {
                message += " (the object has keys: \(members.keys.sorted().joined(separator: ", ")))"
            }
            return message
        case .dataCorrupted(let context):
            let path = keyPath(context.codingPath)
            if let found = document.value(at: context.codingPath), !context.codingPath.isEmpty {
                return "key '\(path)': invalid value \(found.kindDescription): \(context.debugDescription)"
            }
            return path.isEmpty ? context.debugDescription : "key '\(path)': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func mismatch(path: [CodingKey], expected: String, in document: JSONValue) -> String {
        let found = document.value(at: path)?.kindDescription ?? "nothing"
        if path.isEmpty { return "expected \(expected) at the top level, found \(found)" }
        return "key '\(keyPath(path))': expected \(expected), found \(found)"
    }

    /// "an integer", "a number", "a string", ... for the Swift type a decoder asked for.
    private static func expectation(for type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
             is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type:
            return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a value of type \(name)"
        }
    }

    /// The innermost parser message (which carries line and column), on one line.
    private static func parserDetail(_ error: Error) -> String {
        var current: Error = error
        var text = "\(error)"
        while true {
            if case .dataCorrupted(let context) = current as? DecodingError {
                text = context.debugDescription
                if let underlying = context.underlyingError { current = underlying; continue }
            } else if let nsError = current as NSError?, let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String {
                text = detail
            }
            break
        }
        return text.replacingOccurrences(of: "\n", with: " ")
    }
}
