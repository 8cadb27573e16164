import CPNG
import Foundation

/// A decoded PNG: size and 8-bit RGBA pixels, row-major, top row first (read with libpng's simplified API).
public struct PNGImage: Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 4` bytes: R, G, B, A per pixel.
    public let rgba: [UInt8]

    /// Reads any PNG file and converts it to 8-bit RGBA.
    public static func read(_ path: String) throws -> PNGImage {
        var image = png_image()
        image.version = UInt32(cpng_image_version())
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw PlotError.png("cannot read \(path): \(PNGEncoder.message(&image))")
        }
        image.format = cpng_format_rgba()
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else {
            let message = PNGEncoder.message(&image)
            png_image_free(&image)
            throw PlotError.png("cannot decode \(path): \(message)")
        }
        return PNGImage(width: width, height: height, rgba: pixels)
    }

    /// The RGBA bytes of pixel (x, y).
    public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8) {
        let o = (y * width + x) * 4
        return (rgba[o], rgba[o + 1], rgba[o + 2], rgba[o + 3])
    }
}

/// The text chunks of a PNG file.
public enum PNGText {
    /// Keyword → text for every tEXt and uncompressed iTXt chunk (the last one wins for repeated keywords).
    /// Throws for files that are not PNG or have a corrupt chunk (bad CRC, truncation).
    public static func read(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw PlotError.file("cannot read \(path)") }
        var result: [String: String] = [:]
        for chunk in try PNGChunks.parse([UInt8](data)) {
            let bytes = Array(chunk.data)
            guard let zero = bytes.firstIndex(of: 0) else { continue }
            let keyword = String(bytes[..<zero].map { Character(Unicode.Scalar($0)) })
            if chunk.type == "tEXt" {
                result[keyword] = String(bytes[(zero + 1)...].map { Character(Unicode.Scalar($0)) })
            } else if chunk.type == "iTXt", zero + 2 < bytes.count, bytes[zero + 1] == 0 {
                // Skip compression flag and method, then the language tag and translated keyword (both 0-terminated).
                var index = zero + 3
                for _ in 0..<2 {
                    guard let end = bytes[index...].firstIndex(of: 0) else { index = bytes.count; break }
                    index = end + 1
                }
                if index <= bytes.count { result[keyword] = String(decoding: bytes[index...], as: UTF8.self) }
            }
        }
        return result
    }
}
