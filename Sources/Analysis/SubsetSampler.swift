import Artifacts
import Foundation
import Tensor

/// The M random training subsets of the LDS (docs/METHOD.md §17): each S_m has ⌊αN⌋ distinct indices drawn
/// uniformly without replacement, all M from one seeded stream, stored sorted.
public enum SubsetSampler {
    public static func sample(count M: Int, fraction alpha: Double, of N: Int, seed: UInt64) -> [[Int]] {
        let k = Int((alpha * Double(N)).rounded(.down))
        precondition(k >= 1 && k <= N, "SubsetSampler: ⌊\(alpha)·\(N)⌋ = \(k) is not a valid subset size")
        var rng = RNG(seed: seed)
        return (0..<M).map { _ in rng.choose(k, from: N).sorted() }
    }

    /// A short fingerprint of the subsets (ties a ground-truth side file to exactly these subsets).
    public static func fingerprint(_ subsets: [[Int]]) -> String {
        var text = ""
        for s in subsets { text += s.map(String.init).joined(separator: ",") + ";" }
        return String(SHA256.hexDigest(Data(text.utf8)).prefix(16))
    }
}
