import NN

/// The model of each experiment (docs/METHOD.md §14).
public enum ExperimentModel {
    /// modulo → the single-layer transformer (P = 89,664); cifar2 → ResNet-9 without BatchNorm (P = 2,271,168);
    /// mnist → the 784-128-10 MLP (P = 101,770).
    public static func make(_ experiment: String) -> Model {
        switch experiment {
        case "modulo": return ModuloTransformer()
        case "cifar2": return ResNet9()
        default: return MNISTMLP()
        }
    }
}
