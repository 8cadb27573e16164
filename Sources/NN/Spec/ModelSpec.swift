import Foundation

/// A network written as data: the `"model"` block of a train or EPK config, or a file under `Configs/models/`.
///
/// ```json
/// {"name": "MNISTMLP", "input_shape": [784],
///  "layers": [{"kind": "linear", "name": "fc1", "out_features": 128}, {"kind": "relu"},
///             {"kind": "linear", "name": "fc2", "out_features": 10}, {"kind": "log_softmax"}]}
/// ```
/// Every layer is one of the library's layers (see `LayerSpec.kinds`); `SpecModel` infers each layer's input shape
/// from `input_shape` and composes the layers' own forward, backward and per-sample rules.
/// A parameterised layer's components are `"<name>.weight"` (and `"<name>.bias"`); the default name is the layer's
/// position (`"3"`, or `"2.0"` inside the residual at position 2), as in a PyTorch `nn.Sequential`.
public struct ModelSpec: Codable, Equatable, Sendable {
    /// Architecture name recorded in histories (default "spec").
    public var name: String?
    /// One sample's shape: `[features]`, `[positions, features]`, `[channels, height, width]`, or `[positions]` with
    /// `"input": "tokens"`.
    public var inputShape: [Int]
    /// "float" (default) or "tokens" (integer token ids stored as Float32, consumed by an `embedding` layer).
    public var input: String?
    public var layers: [LayerSpec]
    /// Named groups of components for attribution plots (default: one group per component).
    public var componentGroups: [ComponentGroupSpec]?

    public struct ComponentGroupSpec: Codable, Equatable, Sendable {
        public var name: String
        public var components: [String]
        public init(name: String, components: [String]) { self.name = name; self.components = components }
    }

    enum CodingKeys: String, CodingKey {
        case name, inputShape = "input_shape", input, layers, componentGroups = "component_groups"
    }

    public init(
        name: String? = nil, inputShape: [Int], input: String? = nil, layers: [LayerSpec],
        componentGroups: [ComponentGroupSpec]? = nil
    ) {
        self.name = name; self.inputShape = inputShape; self.input = input; self.layers = layers
        self.componentGroups = componentGroups
    }

    /// Compact JSON with sorted keys: what histories record in their `model_spec` attribute.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// One layer of a `ModelSpec`: `kind` plus the keys that kind takes. Decoding asks only for those keys, so a strict
/// decoder refuses any other key (e.g. `kernel` on a `linear`).
public struct LayerSpec: Codable, Equatable, Sendable {
    public var kind: String
    public var name: String?
    public var inFeatures: Int?
    public var outFeatures: Int?
    public var bias: Bool?
    /// Weights ~ N(0, init_std²) and biases 0 instead of the PyTorch default U(±1/√fan_in) (GPT-2 style).
    public var initStd: Double?
    public var projectionInitStd: Double?
    public var inChannels: Int?
    public var outChannels: Int?
    public var kernel: Int?
    public var stride: Int?
    public var padding: Int?
    public var eps: Double?
    public var vocabulary: Int?
    public var dimensions: Int?
    public var scale: Double?
    public var heads: Int?
    public var headDimensions: Int?
    public var shape: [Int]?
    public var layers: [LayerSpec]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, inFeatures = "in_features", outFeatures = "out_features", bias, initStd = "init_std"
        case projectionInitStd = "projection_init_std", inChannels = "in_channels", outChannels = "out_channels"
        case kernel, stride, padding, eps, vocabulary, dimensions, scale, heads, shape, layers
        case headDimensions = "head_dimensions"
    }

    /// The keys of each kind (besides `kind`), and which of them are required.
    static let kinds: [String: (optional: [CodingKeys], required: [CodingKeys])] = [
        "linear": ([.name, .inFeatures, .bias, .initStd], [.outFeatures]),
        "conv2d": ([.name, .inChannels, .stride, .padding], [.outChannels, .kernel]),
        "relu": ([], []), "gelu": ([], []), "tanh": ([], []), "flatten": ([], []),
        "max_pool2d": ([], []), "global_max_pool": ([], []), "log_softmax": ([], []),
        "layer_norm": ([.name, .eps], []),
        "embedding": ([.name, .scale, .initStd], [.vocabulary, .dimensions]),
        "positional": ([.name, .initStd], []),
        "causal_self_attention": ([.name, .initStd, .projectionInitStd], [.heads]),
        "shared_qkv_attention": ([], [.heads, .headDimensions]),
        "parameter": ([.initStd], [.name, .shape]),
        "residual": ([], [.layers]),
        "reshape": ([], [.shape]),
    ]

    public init(kind: String) { self.kind = kind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        guard let keys = Self.kinds[kind] else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath + [CodingKeys.kind],
                    debugDescription:
                        "expected one of \(Self.kinds.keys.sorted().joined(separator: ", ")), found '\(kind)'"))
        }
        for key in keys.required where !c.contains(key) {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: c.codingPath, debugDescription: "required by \(kind)"))
        }
        for key in keys.optional + keys.required {
            switch key {
            case .name: name = try c.decodeIfPresent(String.self, forKey: key)
            case .inFeatures: inFeatures = try c.decodeIfPresent(Int.self, forKey: key)
            case .outFeatures: outFeatures = try c.decodeIfPresent(Int.self, forKey: key)
            case .bias: bias = try c.decodeIfPresent(Bool.self, forKey: key)
            case .initStd: initStd = try c.decodeIfPresent(Double.self, forKey: key)
            case .projectionInitStd: projectionInitStd = try c.decodeIfPresent(Double.self, forKey: key)
            case .inChannels: inChannels = try c.decodeIfPresent(Int.self, forKey: key)
            case .outChannels: outChannels = try c.decodeIfPresent(Int.self, forKey: key)
            case .kernel: kernel = try c.decodeIfPresent(Int.self, forKey: key)
            case .stride: stride = try c.decodeIfPresent(Int.self, forKey: key)
            case .padding: padding = try c.decodeIfPresent(Int.self, forKey: key)
            case .eps: eps = try c.decodeIfPresent(Double.self, forKey: key)
            case .vocabulary: vocabulary = try c.decodeIfPresent(Int.self, forKey: key)
            case .dimensions: dimensions = try c.decodeIfPresent(Int.self, forKey: key)
            case .scale: scale = try c.decodeIfPresent(Double.self, forKey: key)
            case .heads: heads = try c.decodeIfPresent(Int.self, forKey: key)
            case .headDimensions: headDimensions = try c.decodeIfPresent(Int.self, forKey: key)
            case .shape: shape = try c.decodeIfPresent([Int].self, forKey: key)
            case .layers: layers = try c.decodeIfPresent([LayerSpec].self, forKey: key)
            case .kind: break
            }
        }
    }
}
