import Tensor

/// The MNIST handwritten digits (LeCun, Cortes & Burges) from the four IDX files in `<data>/mnist/`
/// (docs/METHOD.md §14; each file plain or gzip-compressed).
///
/// IDX layout: a big-endian UInt32 magic (0x00000803 for images, 0x00000801 for labels), then one big-endian UInt32
/// extent per axis (N, rows, columns for images; N for labels), then the unsigned bytes.
public enum MNIST {
    /// The two official splits.
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test
    }

    /// Magic number of an IDX file of unsigned bytes with 3 axes (images).
    public static let imageMagic: UInt32 = 0x0000_0803
    /// Magic number of an IDX file of unsigned bytes with 1 axis (labels).
    public static let labelMagic: UInt32 = 0x0000_0801
    /// The standard normalisation: x ↦ (x/255 − mean) / std.
    public static let mean: Float = 0.1307
    /// See `mean`.
    public static let standardDeviation: Float = 0.3081
    /// Number of classes.
    public static let classCount = 10

    /// Image and label file names of a split (without the optional `.gz`).
    public static func fileNames(_ split: Split) -> (images: String, labels: String) {
        switch split {
        case .train: return ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
        case .test: return ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        }
    }

    /// Images as stored: N × rows × columns bytes, row-major.
    public struct RawImages: Equatable, Sendable {
        /// Number of images N.
        public let count: Int
        /// Image height (28).
        public let rows: Int
        /// Image width (28).
        public let columns: Int
        /// N·rows·columns bytes, 0 = background, 255 = ink.
        public let pixels: [UInt8]

        /// Images as read from a file (no checks beyond the pixel count).
        public init(count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
            precondition(
                pixels.count == count * rows * columns, "MNIST.RawImages: pixel count does not match the shape")
            self.count = count
            self.rows = rows
            self.columns = columns
            self.pixels = pixels
        }
    }

    /// Reads an image IDX file, checking its magic and that its size matches the header.
    public static func readImages(path: String) throws -> RawImages {
        let bytes = try CompressedFile.readAll(path)
        let extents = try header(bytes, path: path, magic: imageMagic, axes: 3)
        let (count, rows, columns) = (extents[0], extents[1], extents[2])
        // Each extent is < 2³², so the product can overflow Int: compare against the file size step by step.
        let (perImage, overflow1) = rows.multipliedReportingOverflow(by: columns)
        let (pixels, overflow2) = count.multipliedReportingOverflow(by: perImage)
        guard !overflow1, !overflow2, pixels <= bytes.count else {
            throw DataError.corruptFile(
                path: path, reason: "\(bytes.count) bytes, but the header claims \(count) × \(rows) × \(columns) images"
            )
        }
        try expectSize(bytes, 16 + pixels, path: path)
        return RawImages(count: count, rows: rows, columns: columns, pixels: Array(bytes[16...]))
    }

    /// Reads a label IDX file, checking its magic, its size and that every label is a digit.
    public static func readLabels(path: String) throws -> [UInt8] {
        let bytes = try CompressedFile.readAll(path)
        let count = try header(bytes, path: path, magic: labelMagic, axes: 1)[0]
        try expectSize(bytes, 8 + count, path: path)
        let labels = Array(bytes[8...])
        if let bad = labels.first(where: { $0 >= classCount }) {
            throw DataError.corruptFile(path: path, reason: "label \(bad) outside 0...9")
        }
        return labels
    }

    /// A split as a data set: inputs (N, 784) normalised with (x/255 − 0.1307)/0.3081, labels 0…9.
    /// `directory` is the `mnist` folder (`DataLocation.mnistDirectory`).
    public static func load(_ split: Split, directory: String) throws -> LabeledDataset {
        let names = fileNames(split)
        let imagePath = try CompressedFile.locate(names.images, in: directory)
        let labelPath = try CompressedFile.locate(names.labels, in: directory)
        let images = try readImages(path: imagePath)
        let labels = try readLabels(path: labelPath)
        guard labels.count == images.count else {
            throw DataError.corruptFile(
                path: labelPath, reason: "\(labels.count) labels for \(images.count) images in \(imagePath)")
        }
        return LabeledDataset(
            name: "mnist-\(split.rawValue)", inputs: normalized(images),
            labels: labels.map(Int.init), classCount: classCount)
    }

    /// The images as Float32 (N, rows·columns), each pixel (x/255 − mean)/std.
    public static func normalized(_ images: RawImages) -> Tensor {
        let pixelCount = images.rows * images.columns
        var storage = [Float](repeating: 0, count: images.count * pixelCount)
        let mean = mean, std = standardDeviation
        images.pixels.withUnsafeBufferPointer { source in
            storage.withUnsafeMutableBufferPointer { destination in
                let s = source.baseAddress!, d = destination.baseAddress!
                var i = 0
                let n = source.count
                while i < n { d[i] = (Float(s[i]) / 255 - mean) / std; i &+= 1 }
            }
        }
        return Tensor(shape: [images.count, pixelCount], storage: storage)
    }

    /// Checks the magic and returns the `axes` extents of an IDX header.
    private static func header(_ bytes: [UInt8], path: String, magic: UInt32, axes: Int) throws -> [Int] {
        let headerLength = 4 * (axes + 1)
        guard bytes.count >= headerLength else {
            throw DataError.corruptFile(
                path: path, reason: "\(bytes.count) bytes, shorter than the \(headerLength)-byte IDX header")
        }
        let found = bigEndianUInt32(bytes, at: 0)
        guard found == magic else {
            throw DataError.corruptFile(path: path, reason: "bad magic \(hex(found)), expected \(hex(magic))")
        }
        return (1...axes).map { Int(bigEndianUInt32(bytes, at: 4 * $0)) }
    }

    private static func expectSize(_ bytes: [UInt8], _ expected: Int, path: String) throws {
        guard bytes.count == expected else {
            throw DataError.corruptFile(path: path, reason: "\(bytes.count) bytes, header implies \(expected)")
        }
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
