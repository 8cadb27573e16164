import Tensor

/// Optional facts a model can state about itself.
public protocol ModelDescription {
    /// Components that never receive a gradient (PyTorch leaves their `.grad` as None, so optimizers skip them:
    /// no state, no weight decay — docs/METHOD.md §1, §5).
    var unusedComponents: [String] { get }
    /// Named groups of components for attribution plots (docs/METHOD.md §16).
    var componentGroups: [(name: String, components: [String])] { get }
}

extension Model {
    /// Components the optimizer updates: all but the model's declared unused ones.
    public var activeComponents: [String] {
        let unused = Set((self as? ModelDescription)?.unusedComponents ?? [])
        return layout.names.filter { !unused.contains($0) }
    }

    /// Attribution groups: the model's own, else one group per component.
    public var attributionGroups: [(name: String, components: [String])] {
        (self as? ModelDescription)?.componentGroups ?? layout.names.map { ($0, [$0]) }
    }

    /// Log-probabilities for many inputs, computed in chunks of at most `chunk` rows (the model's `forwardChunk`
    /// unless given) to bound memory: as few chunks as that allows, of equal size but the last. (n, C)
    public func forwardChunked(parameters: [Float], inputs: Tensor, chunk: Int? = nil) -> Tensor {
        let n = inputs.shape[0], most = max(1, chunk ?? forwardChunk)
        if n <= most { return forward(parameters: parameters, inputs: inputs) }
        let chunks = (n + most - 1) / most, size = (n + chunks - 1) / chunks
        var out = Tensor(shape: [n, classCount])
        for lo in stride(from: 0, to: n, by: size) {
            let hi = min(n, lo + size)
            let part = forward(parameters: parameters, inputs: inputs.rows(lo..<hi))
            out.storage.replaceSubrange((lo * classCount)..<(hi * classCount), with: part.storage)
        }
        return out
    }

    /// Mean NLL and accuracy of the model on a labelled set.
    public func evaluate(parameters: [Float], inputs: Tensor, labels: [Int]) -> (loss: Double, accuracy: Double) {
        let f = forwardChunked(parameters: parameters, inputs: inputs)
        let C = classCount
        var loss = 0.0, correct = 0
        for (i, y) in labels.enumerated() {
            loss -= Double(f.storage[i * C + y])
            var best = 0
            for c in 1..<C where f.storage[i * C + c] > f.storage[i * C + best] { best = c }
            if best == y { correct += 1 }
        }
        let n = Double(max(labels.count, 1))
        return (loss / n, Double(correct) / n)
    }
}

extension ModuloTransformer: ModelDescription {
    /// The positional table exists but is never used (docs/METHOD.md §1, §14): no gradient, so no optimizer state.
    public var unusedComponents: [String] { ["positional_encoding.pe"] }
    /// The docs/METHOD.md §16 layer groups without the "model" union.
    public var componentGroups: [(name: String, components: [String])] {
        Self.componentGroups.filter { $0.name != "model" }
    }
}
