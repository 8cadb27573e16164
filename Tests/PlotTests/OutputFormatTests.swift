import XCTest

@testable import Plot

/// Provenance in PNG text chunks, PDF and SVG output, and corrupt-file detection.
final class OutputFormatTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    let figure = Figure(
        title: "Provenance", width: 400, height: 300,
        panel: .lines(x: Axis("x"), y: Axis("y"), series: [Series("a", y: [1, 3, 2]), Series("b", y: [2, 1, 3])]))

    func testPNGTextChunksRoundTrip() throws {
        let metadata = [
            "source": "results/run-1/history.h5", "config-hash": "sha256:0f3a9c",
            "git-commit": "b874432", "note": "Größe ±1", "unicode": "kernel ∑ 日本",
        ]
        let path = directory + "/provenance.png"
        try figure.render(to: path, metadata: metadata)
        XCTAssertEqual(try PNGText.read(path), metadata)
        // Metadata does not disturb the pixels: libpng still decodes the file.
        let image = try PNGImage.read(path)
        XCTAssertEqual(image.width, 400)
        // Latin-1 values are tEXt chunks, the rest iTXt.
        let chunks = try PNGChunks.parse([UInt8](FileManager.default.contents(atPath: path)!))
        XCTAssertEqual(chunks.filter { $0.type == "tEXt" }.count, 4)
        XCTAssertEqual(chunks.filter { $0.type == "iTXt" }.count, 1)
        XCTAssertEqual(chunks.last?.type, "IEND")
        XCTAssertEqual(chunks.first?.type, "IHDR")
    }

    func testNoMetadataGivesNoTextChunks() throws {
        let path = directory + "/plain.png"
        try figure.render(to: path)
        XCTAssertEqual(try PNGText.read(path), [:])
    }

    func testInvalidKeywordIsRejected() {
        XCTAssertThrowsError(try figure.render(to: directory + "/bad.png", metadata: ["": "x"]))
        XCTAssertThrowsError(
            try figure.render(to: directory + "/bad.png", metadata: [String(repeating: "k", count: 80): "x"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/bad.png"))
    }

    func testCorruptChunkIsDetected() throws {
        let path = directory + "/corrupt.png"
        try figure.render(to: path, metadata: ["source": "abc"])
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let marker = Array("source".utf8)
        let index = (0..<(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker }!
        bytes[index + marker.count + 1] ^= 0x20  // flip a bit of the text, not of the CRC
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        XCTAssertThrowsError(try PNGText.read(path))
    }

    func testPDFOutputHasMagicAndMetadata() throws {
        let path = directory + "/figure.pdf"
        try figure.render(to: path, format: .pdf, metadata: ["git-commit": "b874432"])
        let data = FileManager.default.contents(atPath: path)!
        XCTAssertEqual(String(decoding: data.prefix(5), as: UTF8.self), "%PDF-")
        XCTAssertGreaterThan(data.count, 1000)
        XCTAssertNotNil(data.range(of: Data("git-commit=b874432".utf8)))
        XCTAssertNotNil(data.range(of: Data("%%EOF".utf8)))
    }

    func testSVGOutputHasMagicAndMetadata() throws {
        let path = directory + "/figure.svg"
        try figure.render(to: path, format: .svg, metadata: ["git-commit": "b874432", "source": "a<b&c"])
        let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("<?xml") || text.hasPrefix("<svg"))
        XCTAssertTrue(text.contains("<svg"))
        XCTAssertTrue(text.contains("<entry key=\"git-commit\">b874432</entry>"))
        XCTAssertTrue(text.contains("a&lt;b&amp;c"))
        XCTAssertTrue(text.hasSuffix("</svg>\n") || text.hasSuffix("</svg>"))
    }

    func testFormatFromPathExtension() {
        XCTAssertEqual(OutputFormat(path: "a/b/figure.PDF"), .pdf)
        XCTAssertEqual(OutputFormat(path: "figure.svg"), .svg)
        XCTAssertEqual(OutputFormat(path: "figure.png"), .png)
        XCTAssertNil(OutputFormat(path: "figure.jpg"))
    }

    func testReadingAMissingOrNonPNGFileThrows() throws {
        XCTAssertThrowsError(try PNGImage.read(directory + "/missing.png"))
        let path = directory + "/not.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("hello".utf8)))
        XCTAssertThrowsError(try PNGImage.read(path))
        XCTAssertThrowsError(try PNGText.read(path))
    }
}
