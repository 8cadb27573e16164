/// Reading and writing PNG chunks (length, type, data, CRC-32) in an in-memory PNG file.
enum PNGChunks {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    struct Chunk {
        var type: String
        var data: ArraySlice<UInt8>
        /// Offset of the chunk's length field in the file.
        var offset: Int
    }

    static func bigEndian(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// Every chunk of a PNG file, checking the signature, bounds and CRCs.
    static func parse(_ bytes: [UInt8]) throws -> [Chunk] {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw PlotError.png("not a PNG file") }
        var chunks: [Chunk] = []
        var offset = 8
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw PlotError.png("truncated chunk header at \(offset)") }
            let length = Int(bigEndian(bytes, offset))
            guard length <= bytes.count - offset - 12 else {
                throw PlotError.png("chunk at \(offset) overruns the file")
            }
            let typeBytes = bytes[(offset + 4)..<(offset + 8)]
            let data = bytes[(offset + 8)..<(offset + 8 + length)]
            let stored = bigEndian(bytes, offset + 8 + length)
            guard CRC32.checksum(bytes[(offset + 4)..<(offset + 8 + length)]) == stored else {
                throw PlotError.png("bad CRC in chunk at \(offset)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            chunks.append(Chunk(type: type, data: data, offset: offset))
            offset += 12 + length
            if type == "IEND" { break }
        }
        return chunks
    }

    /// A complete chunk: length, type, data and CRC-32 of type + data.
    static func encode(type: String, data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        precondition(typeBytes.count == 4)
        let length = UInt32(data.count)
        var out: [UInt8] = [
            UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
        ]
        out += typeBytes
        out += data
        let crc = CRC32.checksum(typeBytes + data)
        out += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        return out
    }

    /// Latin-1 bytes of `text`, nil when a character is outside Latin-1.
    static func latin1(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else { return nil }
            out.append(UInt8(scalar.value))
        }
        return out
    }

    /// The text chunk for one pair: tEXt (Latin-1) when possible, else uncompressed iTXt (UTF-8).
    /// Keywords must be 1–79 printable Latin-1 characters without leading, trailing or double spaces.
    static func textChunk(keyword: String, text: String) throws -> [UInt8] {
        guard let key = latin1(keyword), (1...79).contains(key.count),
            key.allSatisfy({ (32...126).contains($0) || $0 >= 161 }),
            key.first != 32, key.last != 32, !keyword.contains("  ")
        else {
            throw PlotError.invalidMetadata("invalid PNG keyword \"\(keyword)\"")
        }
        if let value = latin1(text), !value.contains(0) {
            return encode(type: "tEXt", data: key + [0] + value)
        }
        // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, text.
        return encode(type: "iTXt", data: key + [0, 0, 0, 0, 0] + Array(text.utf8))
    }

    /// `png` with one text chunk per metadata pair (sorted by key) inserted just before IEND.
    static func insertingText(_ metadata: [String: String], into png: [UInt8]) throws -> [UInt8] {
        guard !metadata.isEmpty else { return png }
        let chunks = try parse(png)
        guard let end = chunks.last, end.type == "IEND" else { throw PlotError.png("no IEND chunk") }
        var out = Array(png[0..<end.offset])
        for key in metadata.keys.sorted() { out += try textChunk(keyword: key, text: metadata[key]!) }
        out += png[end.offset...]
        return out
    }
}
