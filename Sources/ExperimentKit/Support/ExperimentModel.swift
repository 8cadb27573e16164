import Artifacts
import Data
import Foundation
import NN

/// The experiments a training config can name (its `experiment` key); each but `custom` has a built-in model and
/// dataset.
public enum Experiment: String, CaseIterable, Sendable {
    case modulo, mnist, cifar2, custom

    /// A config's `experiment` key must name one of these: otherwise the config error listing them.
    static func requireKnown(_ name: String) throws {
        if Experiment(rawValue: name) == nil {
            throw ConfigError.outOfRange(
                keyPath: "experiment", expected: allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "),
                found: name)
        }
    }

    /// The experiment of a config or history's `experiment` string, or one line naming the known ones.
    public init(named name: String, source: String) throws {
        guard let experiment = Experiment(rawValue: name) else {
            throw ArtifactError(
                .config,
                "\(source): unknown experiment '\(name)'; expected one of "
                    + Experiment.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))
        }
        self = experiment
    }
}

/// The model of each experiment (docs/METHOD.md §14), or the config's own `"model"` spec.
public enum ExperimentModel {
    /// modulo → the single-layer transformer (P = 89,664); cifar2 → ResNet-9 without BatchNorm (P = 2,271,168);
    /// mnist → the 784-128-10 MLP (P = 101,770). `custom` has no built-in model: its config carries a spec.
    public static func make(_ experiment: Experiment) throws -> Model {
        switch experiment {
        case .modulo: return ModuloTransformer()
        case .cifar2: return ResNet9()
        case .mnist: return MNISTMLP()
        case .custom:
            throw ArtifactError(
                .config, "experiment 'custom' has no built-in model; give the config (or the history) a model spec")
        }
    }

    /// The built-in model of an experiment named by a config or history (`source` names it in errors).
    public static func make(_ experiment: String, source: String) throws -> Model {
        try make(try Experiment(named: experiment, source: source))
    }

    /// The config's `"model"` spec when it has one, else the experiment's built-in model.
    public static func make(_ config: TrainConfig, configPath: String) throws -> Model {
        guard let reference = config.model else { return try make(config.experiment, source: configPath) }
        return try reference.makeModel(configPath: configPath)
    }

    /// The model a history was trained with: its recorded `model_spec` when present, else the experiment's built-in
    /// model (histories written before specs existed).
    public static func make(history: String, modelSpecJSON: String?, experiment: String) throws -> Model {
        guard let json = modelSpecJSON else { return try make(experiment, source: history) }
        let spec = try StrictConfig.decode(
            ModelSpec.self, from: Data(json.utf8), source: history + " (model_spec attribute)")
        return try SpecModel.make(spec, source: history + " (model_spec attribute)")
    }

    /// Refuses data that does not fit the model: one line naming the set, the shape or label, and the fix.
    public static func check(_ model: Model, fits set: LabeledDataset, role: String) throws {
        let shape = Array(set.inputs.shape.dropFirst())
        if shape.reduce(1, *) != model.inputShape.reduce(1, *) || (shape.count > 1 && shape != model.inputShape) {
            throw ArtifactError(
                .config,
                "\(role) data \(set.name): samples have shape \(shape), but model \(model.name) expects \(model.inputShape); change the model's input_shape or the data"
            )
        }
        if let bad = set.labels.firstIndex(where: { $0 < 0 || $0 >= model.classCount }) {
            throw ArtifactError(
                .config,
                "\(role) data \(set.name): label \(set.labels[bad]) of sample \(bad) is outside 0..<\(model.classCount) (the model's classes); fix the labels or the model's last layer"
            )
        }
    }
}
