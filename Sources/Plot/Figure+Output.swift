import CCairo
import Foundation

extension Figure {
    /// Renders the figure to `path`, written atomically (a temporary file in the same directory, then a rename).
    ///
    /// - format: PNG (default), PDF or SVG.
    /// - metadata: provenance such as source artifact, config hash and git commit. PNG stores each pair as a
    ///   tEXt chunk (iTXt when the text is not Latin-1; read back with `PNGText.read`); PDF stores them in the
    ///   document's Keywords (and the title as Title); SVG stores them in a `<metadata>` element.
    public func render(to path: String, format: OutputFormat = .png, metadata: [String: String] = [:]) throws {
        switch format {
        case .png:
            try AtomicFile.write(try pngData(metadata: metadata), to: path)
        case .pdf, .svg:
            try AtomicFile.replace(path) { temporary in
                try renderVector(to: temporary, format: format, metadata: metadata)
            }
        }
    }

    /// The PNG file contents (RGBA, 8 bits per channel) with `metadata` as text chunks.
    public func pngData(metadata: [String: String] = [:]) throws -> [UInt8] {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw PlotError.cairo("cannot create a \(width)×\(height) image surface")
        }
        defer { cairo_surface_destroy(surface) }
        try drawAndFinish(surface)
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else {
            throw PlotError.cairo("image surface has no data")
        }
        let stride = Int(cairo_image_surface_get_stride(surface))
        let png = try PNGEncoder.encodeCairoARGB32(data, width: width, height: height, stride: stride)
        return try PNGChunks.insertingText(metadata, into: png)
    }

    private func drawAndFinish(_ surface: OpaquePointer) throws {
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw PlotError.cairo(String(cString: cairo_status_to_string(cairo_surface_status(surface))))
        }
        guard let context = cairo_create(surface) else { throw PlotError.cairo("cannot create a context") }
        defer { cairo_destroy(context) }
        draw(on: Canvas(context: context, family: style.fontFamily))
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PlotError.cairo(String(cString: cairo_status_to_string(status)))
        }
    }

    private func renderVector(to path: String, format: OutputFormat, metadata: [String: String]) throws {
        let surface: OpaquePointer?
        if format == .pdf {
            surface = cairo_pdf_surface_create(path, Double(width), Double(height))
        } else {
            surface = cairo_svg_surface_create(path, Double(width), Double(height))
        }
        guard let surface else { throw PlotError.cairo("cannot create a \(format.rawValue) surface") }
        defer { cairo_surface_destroy(surface) }
        if format == .pdf {
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "explaind-swift Plot")
            if !metadata.isEmpty {
                let keywords = metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }.joined(separator: "; ")
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_KEYWORDS, keywords)
            }
            // A fixed date keeps repeated renders identical.
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, "2000-01-01T00:00:00Z")
        }
        try drawAndFinish(surface)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PlotError.cairo(String(cString: cairo_status_to_string(status)))
        }
        if format == .svg && !metadata.isEmpty { try SVGMetadata.insert(metadata, intoFileAt: path) }
    }
}

/// Adds provenance to an SVG file written by Cairo.
enum SVGMetadata {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Inserts `<metadata><provenance xmlns="urn:explaind-swift:provenance"><entry key="…">value</entry>…` right after
    /// the opening `<svg …>` tag.
    static func insert(_ metadata: [String: String], intoFileAt path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8),
            let svgStart = text.range(of: "<svg"),
            let tagEnd = text.range(of: ">", range: svgStart.upperBound..<text.endIndex)
        else {
            throw PlotError.file("cannot read the SVG written by Cairo at \(path)")
        }
        let entries = metadata.keys.sorted().map { "<entry key=\"\(escape($0))\">\(escape(metadata[$0]!))</entry>" }
            .joined()
        text.insert(
            contentsOf:
                "\n<metadata><provenance xmlns=\"urn:explaind-swift:provenance\">\(entries)</provenance></metadata>",
            at: tagEnd.upperBound)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw PlotError.file("cannot rewrite \(path)")
        }
    }
}
