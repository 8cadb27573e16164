/// The 64-bit FNV-1a hash (Fowler, Noll, Vo), used as a cheap content checksum of data sets for the training
/// history (a history recorded on other data is refused).
public struct FNV1a: Sendable {
    /// Current hash value; starts at the FNV-64 offset basis.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// A hash of no bytes yet.
    public init() {}

    /// Mixes in `bytes` one at a time: `h = (h XOR byte) · prime`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for byte in bytes { h = (h ^ UInt64(byte)) &* Self.prime }
        value = h
    }

    /// Mixes in the little-endian bytes of `x`.
    public mutating func update(_ x: UInt64) {
        withUnsafeBytes(of: x.littleEndian) { update($0) }
    }

    /// The value as 16 lowercase hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
