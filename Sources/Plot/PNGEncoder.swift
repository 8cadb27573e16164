import CPNG

/// PNG encoding through libpng's simplified `png_image` API (which reports errors by return value, not longjmp).
enum PNGEncoder {
    /// Encodes a Cairo ARGB32 buffer (premultiplied, native-endian words, i.e. B, G, R, A bytes on little-endian
    /// machines) as an 8-bit RGBA PNG. Translucent pixels are un-premultiplied first (c · 255 / a).
    static func encodeCairoARGB32(
        _ data: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int
    ) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let word = row[x]
                let a = UInt32(word >> 24), r = (word >> 16) & 0xFF, g = (word >> 8) & 0xFF, b = word & 0xFF
                func straight(_ c: UInt32) -> UInt8 {
                    a == 0 ? 0 : a == 255 ? UInt8(c) : UInt8(min(255, (c * 255 + a / 2) / a))
                }
                let o = (y * width + x) * 4
                // Written as B, G, R, A for PNG_FORMAT_BGRA, whatever the machine's byte order.
                pixels[o] = straight(b); pixels[o + 1] = straight(g); pixels[o + 2] = straight(r);
                pixels[o + 3] = UInt8(a)
            }
        }
        return try encode(pixels, width: width, height: height, format: cpng_format_bgra())
    }

    /// Encodes tightly packed 8-bit pixels in a `png_image` format.
    static func encode(_ pixels: [UInt8], width: Int, height: Int, format: UInt32) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(cpng_image_version())
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        var size: png_alloc_size_t = 0
        let ok = pixels.withUnsafeBytes { buffer in
            png_image_write_to_memory(&image, nil, &size, 0, buffer.baseAddress, 0, nil)
        }
        guard ok != 0, size > 0 else { throw PlotError.png("size query failed: \(message(&image))") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let written = out.withUnsafeMutableBytes { destination in
            pixels.withUnsafeBytes { buffer in
                png_image_write_to_memory(&image, destination.baseAddress, &size, 0, buffer.baseAddress, 0, nil)
            }
        }
        png_image_free(&image)
        guard written != 0 else { throw PlotError.png("encoding failed: \(message(&image))") }
        return Array(out[0..<Int(size)])
    }

    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
