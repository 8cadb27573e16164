import Tensor

/// CIFAR-10 (Krizhevsky 2009) in its official binary layout, and the cat/dog subset "CIFAR-2" of docs/METHOD.md §14.
///
/// Each file of `<data>/cifar10/` (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`, each plain or `.gz`)
/// is a sequence of 3073-byte records: one label byte (0–9), then 1024 R, 1024 G and 1024 B bytes of a 32×32 image,
/// each plane row-major. That is already the (3, 32, 32) channel-first order of a PyTorch image tensor.
public enum CIFAR10 {
    /// Bytes of one record: label + 3·32·32 pixels.
    public static let recordLength = 3073
    /// Pixel bytes of one image.
    public static let imageLength = 3072
    /// Records in each complete official batch file.
    public static let recordsPerFile = 10_000
    /// Shape of one image, channel-first.
    public static let imageShape = [3, 32, 32]
    /// The training batch files (without the optional `.gz`).
    public static let trainFileNames = (1...5).map { "data_batch_\($0).bin" }
    /// The test batch file (without the optional `.gz`).
    public static let testFileNames = ["test_batch.bin"]
    /// Per-channel mean of the normalisation (after scaling to [0, 1]).
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    /// Per-channel standard deviation of the normalisation.
    public static let standardDeviation: [Float] = [0.2023, 0.1994, 0.201]
    /// Original labels of the two CIFAR-2 classes, in new-label order: cat (3) → 0, dog (5) → 1.
    public static let catDogLabels: [UInt8] = [3, 5]

    /// The two splits.
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// Batch files of the split, in order.
        public var fileNames: [String] { self == .train ? CIFAR10.trainFileNames : CIFAR10.testFileNames }
    }

    /// The records of one file as stored.
    public struct Records: Equatable, Sendable {
        /// Label byte of each record (0–9).
        public let labels: [UInt8]
        /// `imageLength` bytes per record, records back to back.
        public let pixels: [UInt8]
        /// Number of records.
        public var count: Int { labels.count }
    }

    /// Reads a batch file, checking that it holds whole records with labels 0–9.
    public static func readRecords(path: String) throws -> Records {
        let bytes = try CompressedFile.readAll(path)
        guard !bytes.isEmpty, bytes.count % recordLength == 0 else {
            throw DataError.corruptFile(
                path: path, reason: "\(bytes.count) bytes is not a whole number of \(recordLength)-byte records")
        }
        let count = bytes.count / recordLength
        var labels = [UInt8](repeating: 0, count: count)
        var pixels = [UInt8](repeating: 0, count: count * imageLength)
        bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { destination in
                for r in 0..<count {
                    labels[r] = source[r * recordLength]
                    (destination.baseAddress! + r * imageLength)
                        .update(from: source.baseAddress! + r * recordLength + 1, count: imageLength)
                }
            }
        }
        if let bad = labels.first(where: { $0 > 9 }) {
            throw DataError.corruptFile(path: path, reason: "label byte \(bad) outside 0...9")
        }
        return Records(labels: labels, pixels: pixels)
    }

    /// The cat/dog images of a split with what was found, so a caller can refuse partial data.
    public struct CatDogSplit: Sendable {
        /// Which split this is.
        public let split: Split
        /// Images (N, 3, 32, 32), normalised; labels cat = 0, dog = 1; original file and record order.
        public let dataset: LabeledDataset
        /// Records read from each file, in file order.
        public let recordsPerFile: [(file: String, records: Int)]
        /// Cat/dog images in a complete split: 10,000 (train) or 2,000 (test).
        public let expectedImageCount: Int

        /// Cat/dog images found.
        public var imageCount: Int { dataset.count }
        /// Whether every file held all 10,000 records and the expected number of cat/dog images was found.
        public var isComplete: Bool {
            recordsPerFile.allSatisfy { $0.records == CIFAR10.recordsPerFile } && imageCount == expectedImageCount
        }
        /// One-line summary, e.g. "CIFAR-2 train: 1052 of 10000 cat/dog images (partial copy)".
        public var summary: String {
            "CIFAR-2 \(split.rawValue): \(imageCount) of \(expectedImageCount) "
                + "cat/dog images (\(isComplete ? "complete" : "partial copy"))"
        }
    }

    /// Loads the cat/dog images of `split` from `directory` (`DataLocation.cifarDirectory`): class 3 → 0,
    /// class 5 → 1, original order, scaled to [0, 1] and normalised per channel (docs/METHOD.md §14).
    public static func loadCatDog(_ split: Split, directory: String) throws -> CatDogSplit {
        var storage: [Float] = []
        var labels: [Int] = []
        var counts: [(file: String, records: Int)] = []
        for name in split.fileNames {
            let path = try CompressedFile.locate(name, in: directory)
            let records = try readRecords(path: path)
            counts.append((name, records.count))
            for r in 0..<records.count {
                guard let newLabel = catDogLabels.firstIndex(of: records.labels[r]) else { continue }
                labels.append(newLabel)
                appendNormalized(records.pixels, record: r, to: &storage)
            }
        }
        let dataset = LabeledDataset(
            name: "cifar2-\(split.rawValue)",
            inputs: Tensor(shape: [labels.count] + imageShape, storage: storage),
            labels: labels, classCount: 2)
        return CatDogSplit(
            split: split, dataset: dataset, recordsPerFile: counts,
            expectedImageCount: catDogLabels.count * split.fileNames.count * recordsPerFile / 10)
    }

    /// Appends record `r`'s pixels as ((x/255) − mean_c) / std_c, channel-first.
    static func appendNormalized(_ pixels: [UInt8], record r: Int, to storage: inout [Float]) {
        let start = storage.count
        storage.append(contentsOf: repeatElement(0, count: imageLength))
        pixels.withUnsafeBufferPointer { source in
            storage.withUnsafeMutableBufferPointer { destination in
                let plane = imageLength / 3
                for c in 0..<3 {
                    let s = source.baseAddress! + r * imageLength + c * plane
                    let d = destination.baseAddress! + start + c * plane
                    let m = mean[c], sd = standardDeviation[c]
                    var i = 0
                    while i < plane { d[i] = (Float(s[i]) / 255 - m) / sd; i &+= 1 }
                }
            }
        }
    }
}
