import Tensor

/// The grokking task of docs/METHOD.md §14: predict `(a + b) mod p` from the token sequence `[a, p ('+'), b, p+1 ('=')]`.
///
/// All pairs with b ≤ a are enumerated with a outer and b inner (`(0,0), (1,0), (1,1), (2,0), …`), which gives
/// p(p+1)/2 = 6441 examples for p = 113. The split draws `validationCount` of them without replacement, then
/// `trainCount` from the remaining ones (kept in enumeration order before drawing); the rest are unused.
///
/// The original draws the split with NumPy's global generator seeded 0. NumPy's Mersenne-Twister stream is not
/// reproduced here, so the same seed selects a *different* (equally distributed) split; seeds are our `RNG`'s.
public struct ModuloAdditionDataset: Sendable {
    /// One example's operands.
    public struct Pair: Equatable, Sendable {
        /// First operand (0 ≤ b ≤ a < p).
        public let a: Int
        /// Second operand.
        public let b: Int
    }

    /// The modulus p (113 in the paper).
    public let prime: Int
    /// Seed of the split.
    public let seed: UInt64
    /// Every pair with b ≤ a, in enumeration order.
    public let pairs: [Pair]
    /// Indices into `pairs` of the validation examples, in draw order.
    public let validationIndices: [Int]
    /// Indices into `pairs` of the training examples, in draw order (dataset index i = `pairs[trainIndices[i]]`).
    public let trainIndices: [Int]
    /// The training split: inputs (N, 4) of Float token ids, labels `(a+b) mod p`, C = p + 2.
    public let train: LabeledDataset
    /// The validation split, same layout.
    public let validation: LabeledDataset

    /// Vocabulary size: tokens 0..<p are numbers, p is '+', p+1 is '='.
    public var vocabularySize: Int { prime + 2 }
    /// Output classes C = p + 2 (tokens p and p+1 are never targets).
    public var classCount: Int { prime + 2 }
    /// The pairs in neither split (441 for the paper's sizes).
    public var unusedIndices: [Int] {
        var used = [Bool](repeating: false, count: pairs.count)
        for i in validationIndices { used[i] = true }
        for i in trainIndices { used[i] = true }
        return pairs.indices.filter { !used[$0] }
    }

    /// Builds the pairs and the seeded split (paper sizes by default: 2000 validation, 4000 train).
    public init(prime: Int = 113, seed: UInt64 = 0, validationCount: Int = 2000, trainCount: Int = 4000) {
        precondition(prime >= 2, "ModuloAdditionDataset: prime must be at least 2")
        var pairs: [Pair] = []
        pairs.reserveCapacity(prime * (prime + 1) / 2)
        for a in 0..<prime { for b in 0...a { pairs.append(Pair(a: a, b: b)) } }
        precondition(
            validationCount + trainCount <= pairs.count,
            "ModuloAdditionDataset: \(validationCount) + \(trainCount) examples requested, only \(pairs.count) exist")
        var rng = RNG(seed: seed)
        let validation = rng.choose(validationCount, from: pairs.count)
        var isValidation = [Bool](repeating: false, count: pairs.count)
        for i in validation { isValidation[i] = true }
        let remaining = pairs.indices.filter { !isValidation[$0] }
        let train = rng.choose(trainCount, from: remaining.count).map { remaining[$0] }

        self.prime = prime
        self.seed = seed
        self.pairs = pairs
        self.validationIndices = validation
        self.trainIndices = train
        self.train = Self.makeDataset(
            pairs: pairs, indices: train, prime: prime, name: "modulo\(prime)-train-seed\(seed)")
        self.validation = Self.makeDataset(
            pairs: pairs, indices: validation, prime: prime,
            name: "modulo\(prime)-validation-seed\(seed)")
    }

    /// The token sequence `[a, p, b, p+1]` of a pair.
    public static func tokens(of pair: Pair, prime: Int) -> [Int] { [pair.a, prime, pair.b, prime + 1] }

    private static func makeDataset(pairs: [Pair], indices: [Int], prime: Int, name: String) -> LabeledDataset {
        var storage: [Float] = []
        storage.reserveCapacity(indices.count * 4)
        var labels: [Int] = []
        labels.reserveCapacity(indices.count)
        for i in indices {
            storage.append(contentsOf: tokens(of: pairs[i], prime: prime).map(Float.init))
            labels.append((pairs[i].a + pairs[i].b) % prime)
        }
        return LabeledDataset(
            name: name, inputs: Tensor(shape: [indices.count, 4], storage: storage), labels: labels,
            classCount: prime + 2)
    }
}
