import Artifacts
import Data
import Foundation
import Tensor

/// A character-level corpus of one-line documents (the KJV Bible, one verse per line) with a seeded held-out split
/// of whole verses, for the step explainer's language model (docs/METHOD.md §19).
///
/// - Vocabulary: the sorted set of bytes in the whole file (the line break included), so both splits share one
///   token table. Token id = position in `vocabulary`.
/// - Split: a seeded permutation of verse indices; the first `heldOutCount` verses are held out. Each split is the
///   concatenation of its verses in their original order, each followed by a line break ("stream").
/// - Windows: a window starting at offset o has inputs `stream[o ..< o+T]` and targets `stream[o+1 ..< o+T+1]`.
public struct CharacterCorpus: Sendable {
    public let vocabulary: [UInt8]
    public let train: [Float]  // token ids of the training stream
    public let heldOut: [Float]  // token ids of the held-out stream
    public let verseCount: Int
    public let heldOutVerses: Int
    /// SHA-256 of the uncompressed text, recorded in histories and checked on replay.
    public let checksum: String

    /// Reads `<root>/text/<file>` (gzip) and splits it.
    public static func load(
        dataDirectory: String?, file: String = "kjv.txt.gz", heldOutFraction: Double, seed: UInt64,
        verseLimit: Int? = nil
    ) throws -> CharacterCorpus {
        let location = DataLocation.resolve(explicit: dataDirectory)
        let directory = (location.root as NSString).appendingPathComponent("text")
        let path = (directory as NSString).appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArtifactError(
                .notFound, file: path, problem: "no such corpus", fix: "pass --data with a folder holding text/\(file)")
        }
        return CharacterCorpus(
            bytes: try CompressedFile.readAll(path), heldOutFraction: heldOutFraction, seed: seed,
            verseLimit: verseLimit)
    }

    /// Splits raw text (one document per line).
    public init(bytes: [UInt8], heldOutFraction: Double, seed: UInt64, verseLimit: Int? = nil) {
        precondition(
            heldOutFraction > 0 && heldOutFraction < 1, "CharacterCorpus: held-out fraction must lie in (0, 1)")
        checksum = SHA256.hexDigest(bytes)
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: true).map(Array.init)
        if let limit = verseLimit { lines = Array(lines.prefix(limit)) }
        var present = Set<UInt8>(bytes); present.insert(10)
        vocabulary = present.sorted()
        var index = [Float](repeating: -1, count: 256)
        for (i, b) in vocabulary.enumerated() { index[Int(b)] = Float(i) }
        var rng = RNG(seed: seed)
        let order = rng.permutation(lines.count)
        let held = max(1, Int((Double(lines.count) * heldOutFraction).rounded()))
        let heldSet = Set(order.prefix(held))
        var train: [Float] = [], heldOut: [Float] = []
        let newline = index[10]
        for (i, line) in lines.enumerated() {
            if heldSet.contains(i) {
                heldOut += line.map { index[Int($0)] }; heldOut.append(newline)
            } else {
                train += line.map { index[Int($0)] }; train.append(newline)
            }
        }
        self.train = train; self.heldOut = heldOut
        verseCount = lines.count; heldOutVerses = held
    }

    /// Inputs and targets (n, T) of the windows starting at `offsets` in `stream`.
    public static func windows(_ stream: [Float], offsets: [Int], length T: Int) -> (inputs: Tensor, targets: Tensor) {
        var x = [Float](repeating: 0, count: offsets.count * T), y = x
        for (i, o) in offsets.enumerated() {
            precondition(
                o >= 0 && o + T < stream.count, "CharacterCorpus: window at \(o) runs past the stream (\(stream.count))"
            )
            for p in 0..<T { x[i * T + p] = stream[o + p]; y[i * T + p] = stream[o + p + 1] }
        }
        return (Tensor(shape: [offsets.count, T], storage: x), Tensor(shape: [offsets.count, T], storage: y))
    }

    /// `count` evenly spaced window offsets over a stream (the fixed evaluation batch).
    public static func evenlySpacedOffsets(count: Int, streamLength: Int, length T: Int) -> [Int] {
        let last = streamLength - T - 1
        precondition(
            last >= 0 && count >= 1,
            "CharacterCorpus: stream of \(streamLength) tokens is too short for windows of \(T)")
        return (0..<count).map { count == 1 ? 0 : last * $0 / (count - 1) }
    }

    /// Decodes token ids to text (for logs and samples).
    public func decode(_ tokens: [Float]) -> String {
        String(decoding: tokens.map { vocabulary[Int($0)] }, as: UTF8.self)
    }
}
