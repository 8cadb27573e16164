import Artifacts
import EPK
import Foundation

/// Checks `plot` runs before drawing from an artifact, so a figure never shows something the artifact does not
/// say: every dataset a figure reads must have the shape the artifact's own counts imply (test points, classes,
/// steps, training samples, epochs), and non-finite values are announced on stderr before they are left out of a
/// drawing. Kinds without counts to check (most analysis artifacts) pass the shape check unchanged.
public enum ArtifactShapes {
    /// Throws one line naming the first dataset whose shape contradicts the artifact's counts.
    public static func check(_ file: HDF5File, kind: String, artifact: String) throws {
        let root = try file.root
        var expected: [(String, [Int?])] = []
        switch kind {
        case EPKArtifact.kind:
            let n = try root.intAttribute("test_count"), C = try root.intAttribute("class_count")
            let T = try root.intAttribute("step_end") - root.intAttribute("step_first")
            let K = try root.jsonAttribute("components", as: [String].self).count
            let N: Int? = root.hasAttribute("training_count") ? try root.intAttribute("training_count") : nil
            expected = [
                ("outputs/initial", [n, C]), ("outputs/final", [n, C]), ("outputs/epk", [n, nil]),
                ("outputs/row_classes", [n, nil]), ("outputs/focus_classes", [n]), ("outputs/labels", [n]),
                ("outputs/test_indices", [n]), ("components/kernel", [n, nil, K]),
                ("components/regularization", [n, nil, K]), ("steps/index", [T]), ("steps/predicted", [T, n, nil]),
                ("steps/truth", [T, n, nil]), ("steps/mean_abs_error", [T]), ("steps/mean_abs_truth", [T]),
                ("steps/kernel_focus", [T, n, K]),
                ("steps/regularization_focus", [T, n, K]), ("steps/points", [T, n]),
                ("sort_keys/test", [n]), ("sort_keys/test_label", [n]), ("sort_keys/train", [N]),
                ("sort_keys/train_label", [N]),
            ]
            if root.contains("data"), let groups = try? root.group("data").jsonAttribute("groups", as: [String].self) {
                expected += groups.map { ("data/\($0)", [n, nil, N]) }
            }
        case TrainingMetrics.kind:
            let T = try root.intAttribute("steps")
            let epochs = root.contains("epoch/epoch") ? try root.dataset("epoch/epoch").shape : [0]
            expected = [("step/loss", [T]), ("step/learning_rate", [T])]
            for name in ["step", "train_loss", "train_acc", "val_loss", "val_acc", "param_norm"] {
                expected.append(("epoch/\(name)", [epochs.first]))
            }
        default:
            return
        }
        for (path, want) in expected where root.contains(path) {
            let shape = try root.dataset(path).shape
            let ok = shape.count == want.count && zip(shape, want).allSatisfy { $1 == nil || $0 == $1 }
            if !ok {
                let text = want.map { $0.map(String.init) ?? "any" }.joined(separator: ", ")
                throw ArtifactError(
                    .shapeMismatch, file: artifact, object: "/" + path,
                    problem:
                        "shape (\(shape.map(String.init).joined(separator: ", "))) contradicts the artifact's own counts, which imply (\(text)); nothing is drawn from it",
                    fix: "the artifact is damaged or was edited: re-run the step that writes it")
            }
        }
    }

    /// One warning per floating-point dataset in `paths` holding NaN or infinite values.
    public static func nonFiniteWarnings(_ file: HDF5File, paths: [String], figure: String) -> [String] {
        guard let root = try? file.root else { return [] }
        return paths.compactMap { path in
            guard root.contains(path), let d = try? root.dataset(path) else { return nil }
            let counts: (bad: Int, total: Int)
            if let v = try? d.read(as: Double.self) {
                counts = (v.filter { !$0.isFinite }.count, v.count)
            } else if let v = try? d.read(as: Float.self) {
                counts = (v.filter { !$0.isFinite }.count, v.count)
            } else {
                return nil
            }
            guard counts.bad > 0 else { return nil }
            return
                "figure '\(figure)': /\(path) has \(counts.bad) of \(counts.total) non-finite values (NaN or infinite); they are left out of the drawing"
        }
    }
}
