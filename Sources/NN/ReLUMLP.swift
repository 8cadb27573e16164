import Foundation
import Tensor

/// A classifier made only of `Linear` layers, optional ReLUs after them, and the log-softmax head: `MNISTMLP`, or a
/// `SpecModel` whose layers are `linear` / `relu` on a flat float input, ending in `log_softmax`.
///
/// This is the model family for which `MLPHessian` computes exact Hessian-vector products (docs/METHOD.md §17).
public struct ReLUMLP: Sendable {
    public struct Layer: Sendable {
        public let weight: ParameterLayout.Component
        public let bias: ParameterLayout.Component?
        public let inFeatures: Int
        public let outFeatures: Int
        /// A ReLU follows this layer.
        public let relu: Bool
    }

    public let layers: [Layer]
    public let layout: ParameterLayout
    public var inputFeatures: Int { layers[0].inFeatures }
    public var classCount: Int { layers[layers.count - 1].outFeatures }

    public init(layers: [Layer], layout: ParameterLayout) {
        precondition(!layers.isEmpty, "ReLUMLP: no layers")
        self.layers = layers; self.layout = layout
    }

    /// The structure of `model`, or a one-line reason why it is not a Linear/ReLU network with a log-softmax head.
    public static func of(_ model: Model) -> Result<ReLUMLP, SpecError> {
        if let mlp = model as? MNISTMLP {
            return .success(
                ReLUMLP(layers: [layer(mlp.fc1, relu: true), layer(mlp.fc2, relu: false)], layout: mlp.layout))
        }
        guard let spec = model as? SpecModel else {
            return .failure(
                SpecError(
                    "\(model.name): influence functions need a Linear/ReLU MLP (MNISTMLP or a spec of linear and relu layers)"
                ))
        }
        var layers: [Layer] = []
        for (i, node) in spec.nodes.enumerated() {
            if let linear = node as? LinearNode, linear.positions == 1 {
                layers.append(layer(linear.linear, relu: false))
            } else if let act = node as? ActivationNode, act.function == .relu, let last = layers.last {
                layers[layers.count - 1] = Layer(
                    weight: last.weight, bias: last.bias, inFeatures: last.inFeatures,
                    outFeatures: last.outFeatures, relu: true)
            } else if node is LogSoftmaxNode && i == spec.nodes.count - 1 && !layers.isEmpty {
                continue
            } else {
                return .failure(
                    SpecError(
                        "\(spec.name): model.layers[\(i)] is not supported by influence functions (only linear layers on flat input, each optionally followed by relu, then log_softmax)"
                    ))
            }
        }
        guard !layers.isEmpty else {
            return .failure(SpecError("\(spec.name): no linear layer"))
        }
        let used = Set(layers.flatMap { [$0.weight.name] + ($0.bias.map { [$0.name] } ?? []) })
        if let extra = spec.layout.names.first(where: { !used.contains($0) }) {
            return .failure(SpecError("\(spec.name): component '\(extra)' is not a linear layer's weight or bias"))
        }
        return .success(ReLUMLP(layers: layers, layout: spec.layout))
    }

    static func layer(_ l: Linear, relu: Bool) -> Layer {
        Layer(weight: l.weight, bias: l.bias, inFeatures: l.inFeatures, outFeatures: l.outFeatures, relu: relu)
    }
}
