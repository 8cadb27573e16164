import Tensor

/// Random horizontal flips (`RandomHorizontalFlip(p)` of the CIFAR-2 training loader, docs/METHOD.md §14), drawn once and
/// recorded as a mask so the EPK replays exactly the augmented inputs seen in training (docs/METHOD.md §2).
public enum HorizontalFlip {
    /// One flag per sample, true with probability `probability` (`rng.uniform() < p`, like torchvision's `rand(1) < p`).
    public static func drawMask(count: Int, probability: Float = 0.5, rng: inout RNG) -> [Bool] {
        (0..<count).map { _ in rng.uniform() < probability }
    }

    /// Mirrors every row of every channel of the samples whose flag is set: `x[n, c, h, w] ↔ x[n, c, h, W−1−w]`.
    /// `batch` has shape (B, C, H, W) and `mask` has B flags.
    public static func apply(to batch: inout Tensor, mask: [Bool]) {
        precondition(batch.rank == 4, "HorizontalFlip: batch must be (B, C, H, W), got \(batch.shape)")
        precondition(mask.count == batch.shape[0], "HorizontalFlip: \(mask.count) flags for \(batch.shape[0]) samples")
        let width = batch.shape[3]
        let rowsPerSample = batch.shape[1] * batch.shape[2]
        batch.storage.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for (n, flip) in mask.enumerated() where flip {
                for row in 0..<rowsPerSample {
                    var left = base + (n * rowsPerSample + row) * width
                    var right = left + (width - 1)
                    while left < right {
                        let t = left.pointee
                        left.pointee = right.pointee
                        right.pointee = t
                        left += 1
                        right -= 1
                    }
                }
            }
        }
    }
}
