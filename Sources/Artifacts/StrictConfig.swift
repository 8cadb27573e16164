import Foundation

/// Loads JSON configs strictly: every problem is a one-line `ArtifactError` (kind `.config`, or `.notFound` for a
/// missing file) naming the file, the key path and what was expected.
///
/// Conventions:
/// - Keys: JSON keys are exactly the `CodingKey` string values; no key strategy is applied. Multi-word properties
///   declare snake_case keys explicitly (`case weightDecay = "weight_decay"`), so key paths in messages are the ones
///   written in the file.
/// - Parsing: a strict RFC 8259 parser (`JSONParser`) with line and column in its errors; duplicate keys are refused.
/// - Unknown keys: decoding goes through `JSONValueDecoder`, which records every key the type asks for (required and
///   optional alike, via `decode`, `decodeIfPresent` or `contains`). A key in an object that the type never asked for
///   is unknown and is reported with the keys the type did ask for at that level. So an optional key is accepted
///   when absent, present with a value, or explicitly `null`, while a misspelt key is refused even when `null`.
/// - Numbers: integer properties accept only integral values in range (`2.0` and `1e3` are fine, `19.5` is not).
/// - Range checks: types conforming to `ValidatableConfig` are validated after decoding.
/// - Messages:
///   - `Configs/x.json: no such file; pass --config with an existing JSON file`
///   - `Configs/x.json: malformed JSON at line 3, column 18: expected a value`
///   - `Configs/x.json: unknown key 'optimizer.lrr' (expected one of: lr, momentum, weight_decay)`
///   - `Configs/x.json: key 'train.steps': expected an integer, found a string`
///   - `Configs/x.json: missing required key 'optimizer.lr' (the object has keys: lrr, momentum)`
///   - `Configs/x.json: key 'lr': expected a positive number, found -1`
public enum StrictConfig {
    /// Reads and decodes the config at `path` (see the type's documentation for the checks and messages).
    public static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArtifactError(
                .notFound, file: path, problem: "no such file",
                fix: "pass --config with an existing JSON file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ArtifactError(.io, file: path, problem: "cannot read the file", fix: "check its permissions")
        }
        return try decode(type, from: data, source: path)
    }

    /// Decodes config bytes; `source` names them in messages (usually the file path).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, source: String) throws -> T {
        func failure(_ message: String) -> ArtifactError { ArtifactError(.config, "\(source): \(message)") }

        let document: JSONValue
        do { document = try JSONParser.parse(data) } catch let error as JSONParser.SyntaxError {
            throw failure("malformed JSON at \(error)")
        }

        let recorder = KeyRecorder()
        let value: T
        do {
            value = try T(from: JSONValueDecoder(value: document, codingPath: [], recorder: recorder))
        } catch let error as DecodingError {
            throw failure(describe(error, in: document))
        } catch let error as ConfigError {
            throw failure(error.description)
        }
        if let problem = unknownKeyProblem(document, path: [], recorder: recorder) {
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

    /// The first key (sorted, depth first) of an object the type opened but never asked for that key.
    private static func unknownKeyProblem(_ value: JSONValue, path: [CodingKey], recorder: KeyRecorder) -> String? {
        switch value {
        case .object(let members):
            let known = recorder.requested[keyPath(path)] ?? []
            let opened = recorder.requested[keyPath(path)] != nil
            for key in members.keys.sorted() {
                let memberPath = path + [AnyKey(stringValue: key)]
                if opened && !known.contains(key) {
                    let expected = known.sorted().joined(separator: ", ")
                    return
                        "unknown key '\(keyPath(memberPath))' (expected one of: \(expected.isEmpty ? "no keys" : expected))"
                }
                if let problem = unknownKeyProblem(members[key]!, path: memberPath, recorder: recorder) {
                    return problem
                }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let problem = unknownKeyProblem(element, path: path + [AnyKey(intValue: index)], recorder: recorder)
                {
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
}
