import Tensor

/// A supervised data set held in memory: N inputs of one sample shape, N integer labels in `0..<classCount`.
///
/// Row i of `inputs` is sample i; its position i is the "dataset index" the training history records per step
/// (docs/METHOD.md §2).
public struct LabeledDataset: Equatable, Sendable {
    /// Human-readable identifier recorded in histories, e.g. `mnist-train` or `modulo113-train-seed0`.
    public var name: String
    /// Inputs, shape (N, sample shape…), Float32 row-major.
    public var inputs: Tensor
    /// Labels, one per sample, each in `0..<classCount`.
    public var labels: [Int]
    /// Number of classes C (the model's output width).
    public var classCount: Int

    /// A data set; `inputs.shape[0]` must equal `labels.count` and labels must lie in `0..<classCount`.
    public init(name: String, inputs: Tensor, labels: [Int], classCount: Int) {
        precondition(
            inputs.rank >= 1 && inputs.shape[0] == labels.count,
            "LabeledDataset \(name): \(labels.count) labels for inputs of shape \(inputs.shape)")
        precondition(
            labels.allSatisfy { $0 >= 0 && $0 < classCount },
            "LabeledDataset \(name): a label lies outside 0..<\(classCount)")
        self.name = name
        self.inputs = inputs
        self.labels = labels
        self.classCount = classCount
    }

    /// Number of samples N.
    public var count: Int { labels.count }
    /// Shape of one sample (the input shape without the leading N).
    public var sampleShape: [Int] { Array(inputs.shape.dropFirst()) }

    /// Content checksum: FNV-1a 64 (hex) over the input shape (each extent as UInt64), the raw Float32 bit patterns of
    /// the inputs, then each label as Int64, all little-endian. Equal data give equal checksums on every machine.
    public var checksum: String {
        var hash = FNV1a()
        for extent in inputs.shape { hash.update(UInt64(extent)) }
        inputs.storage.withUnsafeBytes { hash.update($0) }
        for label in labels { hash.update(UInt64(bitPattern: Int64(label))) }
        return hash.hex
    }

    /// The samples at `indices`, in that order (index i of the result is sample `indices[i]`).
    public func subset(_ indices: [Int], name: String? = nil) -> LabeledDataset {
        LabeledDataset(
            name: name ?? "\(self.name)-subset\(indices.count)", inputs: inputs.gatherRows(indices),
            labels: indices.map { labels[$0] }, classCount: classCount)
    }

    /// The first `n` samples.
    public func prefix(_ n: Int) -> LabeledDataset {
        precondition(n >= 0 && n <= count, "LabeledDataset.prefix: \(n) of \(count) samples")
        return LabeledDataset(
            name: "\(name)-first\(n)", inputs: inputs.rows(0..<n), labels: Array(labels[0..<n]),
            classCount: classCount)
    }

    /// `n` distinct indices of `0..<total` drawn with `RNG(seed:)` (`choose`), then sorted so that a subset keeps
    /// the original order.
    public static func randomSubsetIndices(count n: Int, of total: Int, seed: UInt64) -> [Int] {
        var rng = RNG(seed: seed)
        return rng.choose(n, from: total).sorted()
    }

    /// A seeded random subset of `n` samples in original order (see `randomSubsetIndices`).
    public func randomSubset(count n: Int, seed: UInt64) -> LabeledDataset {
        subset(Self.randomSubsetIndices(count: n, of: count, seed: seed), name: "\(name)-random\(n)-seed\(seed)")
    }

    /// How many samples carry each label, indexed by class.
    public var labelCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[label] += 1 }
        return counts
    }
}
