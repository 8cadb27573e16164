import Artifacts
import Foundation
import NN

/// The `"model"` block of a train or EPK config: an inline `ModelSpec` object, or the path of a spec file
/// (`"model": "Configs/models/resnet9.json"`, relative to the working directory like every config path).
public enum ModelReference: Codable, Equatable, Sendable {
    case file(String)
    case inline(ModelSpec)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let path = try? c.decode(String.self) {
            self = .file(path)
        } else {
            self = .inline(try c.decode(ModelSpec.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .file(let path): try c.encode(path)
        case .inline(let spec): try c.encode(spec)
        }
    }

    /// The spec, read strictly from its file when it is a path. `configPath` names the config in messages.
    public func resolve(configPath: String) throws -> (spec: ModelSpec, source: String) {
        switch self {
        case .inline(let spec): return (spec, configPath)
        case .file(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                throw ArtifactError(
                    .notFound, file: configPath, problem: "key 'model': no model spec file '\(path)'",
                    fix: "give a path under Configs/models/ (relative to the working directory) or an inline object")
            }
            return (try StrictConfig.load(ModelSpec.self, from: path), path)
        }
    }

    /// Builds the model; a shape problem becomes one line naming the spec's source and the layer.
    public func makeModel(configPath: String) throws -> SpecModel {
        let (spec, source) = try resolve(configPath: configPath)
        return try SpecModel.make(spec, source: source)
    }
}

extension SpecModel {
    /// `SpecModel(spec)` with a `SpecError` turned into a config error: "`<source>`: model.layers[3] conv2d: …".
    public static func make(_ spec: ModelSpec, source: String) throws -> SpecModel {
        do { return try SpecModel(spec) } catch let e as SpecError {
            throw ArtifactError(.config, "\(source): \(e.description)")
        }
    }
}
