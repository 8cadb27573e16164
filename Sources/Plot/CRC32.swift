/// CRC-32 as used by PNG chunks and zlib (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF).
/// `CRC32.checksum(Array("123456789".utf8)) == 0xCBF43926`.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `bytes`, continuing from `crc` (the value returned for earlier bytes; 0 to start).
    public static func checksum<S: Sequence>(_ bytes: S, continuing crc: UInt32 = 0) -> UInt32
    where S.Element == UInt8 {
        var c = ~crc
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }
}
