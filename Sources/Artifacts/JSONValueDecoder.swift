/// Which object keys a `Decodable` type asked for, per object (keyed by its dotted key path, see
/// `StrictConfig.keyPath`). Any key in the document that was never asked for is unknown to the type.
final class KeyRecorder {
    private(set) var requested: [String: Set<String>] = [:]

    func record(_ key: String, inObjectAt path: [CodingKey]) {
        requested[StrictConfig.keyPath(path), default: []].insert(key)
    }

    func markOpened(_ path: [CodingKey]) {
        let keyPath = StrictConfig.keyPath(path)
        if requested[keyPath] == nil { requested[keyPath] = [] }
    }
}

/// A `Decoder` over a parsed `JSONValue` that records every key asked for (by `decode`, `decodeIfPresent` or
/// `contains`), so that keys the type never asked for can be reported as unknown, and that is exact about numbers:
/// an integer type accepts only integral values in its range, and a null is a `valueNotFound`.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [CodingKey]
    let recorder: KeyRecorder
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch([String: Any].self, value, codingPath) }
        recorder.markOpened(codingPath)
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath, recorder: recorder))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([Any].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, recorder: recorder)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath, recorder: recorder)
    }
}

/// `valueNotFound` for null, `typeMismatch` otherwise.
private func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [CodingKey]) -> DecodingError {
    if value == .null {
        return .valueNotFound(type, .init(codingPath: path, debugDescription: "found null"))
    }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "found \(value.kindDescription)"))
}

/// Decodes a primitive from one JSON value; other types go through their own `init(from:)`.
private func decodeValue<T: Decodable>(
    _ type: T.Type, from value: JSONValue, path: [CodingKey],
    recorder: KeyRecorder
) throws -> T {
    switch type {
    case is Bool.Type:
        guard case .bool(let flag) = value else { throw mismatch(type, value, path) }
        return flag as! T
    case is String.Type:
        guard case .string(let text) = value else { throw mismatch(type, value, path) }
        return text as! T
    case is Double.Type, is Float.Type:
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .number(let real): number = real
        default: throw mismatch(type, value, path)
        }
        if type == Float.self {
            guard Float(number).isFinite else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: path,
                        debugDescription: "expected a number within single-precision range, found \(number)"))
            }
            return Float(number) as! T
        }
        return number as! T
    case let integerType as any FixedWidthInteger.Type:
        return try decodeInteger(integerType, type, from: value, path: path)
    default:
        return try T(from: JSONValueDecoder(value: value, codingPath: path, recorder: recorder))
    }
}

private func decodeInteger<I: FixedWidthInteger, T>(
    _ integerType: I.Type, _ type: T.Type, from value: JSONValue,
    path: [CodingKey]
) throws -> T {
    let result: I?
    switch value {
    case .integer(let integer): result = I(exactly: integer)
    case .number(let real):
        guard real == real.rounded() else { throw mismatch(type, value, path) }
        result = I(exactly: real)
    default: throw mismatch(type, value, path)
    }
    guard let result else {
        throw DecodingError.dataCorrupted(
            .init(
                codingPath: path,
                debugDescription:
                    "expected an integer in \(I.min)...\(I.max), found \(value.kindDescription)"))
    }
    return result as! T
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [CodingKey]
    let recorder: KeyRecorder

    var allKeys: [Key] {
        let keys = members.keys.compactMap { Key(stringValue: $0) }
        for key in keys { recorder.record(key.stringValue, inObjectAt: codingPath) }
        return keys
    }

    func contains(_ key: Key) -> Bool {
        recorder.record(key.stringValue, inObjectAt: codingPath)
        return members[key.stringValue] != nil
    }

    private func member(_ key: Key) throws -> JSONValue {
        recorder.record(key.stringValue, inObjectAt: codingPath)
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, from: try member(key), path: codingPath + [key], recorder: recorder)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONValueDecoder(value: try member(key), codingPath: codingPath + [key], recorder: recorder)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try JSONValueDecoder(value: try member(key), codingPath: codingPath + [key], recorder: recorder)
            .unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        JSONValueDecoder(value: .object(members), codingPath: codingPath, recorder: recorder)
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        JSONValueDecoder(value: try member(key), codingPath: codingPath + [key], recorder: recorder)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [CodingKey]
    let recorder: KeyRecorder
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [CodingKey], recorder: KeyRecorder) {
        self.elements = elements
        self.codingPath = codingPath
        self.recorder = recorder
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var elementPath: [CodingKey] { codingPath + [AnyKey(intValue: currentIndex)] }

    private func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                .init(
                    codingPath: elementPath,
                    debugDescription: "expected more than \(elements.count) elements"))
        }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard try next(Any?.self) == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try decodeValue(type, from: try next(type), path: elementPath, recorder: recorder)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let container = try JSONValueDecoder(
            value: try next([String: Any].self), codingPath: elementPath,
            recorder: recorder
        ).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let container = try JSONValueDecoder(
            value: try next([Any].self), codingPath: elementPath,
            recorder: recorder
        ).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> Decoder {
        let decoder = JSONValueDecoder(value: try next(Any.self), codingPath: elementPath, recorder: recorder)
        currentIndex += 1
        return decoder
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [CodingKey]
    let recorder: KeyRecorder

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, from: value, path: codingPath, recorder: recorder)
    }
}
