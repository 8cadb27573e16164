import Artifacts
import EPK
import Foundation

/// What makes an artifact unfit to count as a finished stage, beyond opening and storing the right config:
/// a `/validation` group whose statistics are not finite (an EPK of a diverged history), or a root `diverged`
/// attribute (a training run that stopped at a non-finite step). `reproduce` re-runs such a stage.
public enum ArtifactHealth {
    /// One phrase naming the problem, or nil for a healthy artifact.
    public static func problem(of root: HDF5Group) -> String? {
        if root.hasAttribute("diverged") {
            return (try? root.stringAttribute("diverged")) ?? "training diverged"
        }
        guard root.contains("validation"), let v = try? root.group("validation") else { return nil }
        let names = ["mean_abs_error", "max_abs_error", "argmax_agreement", "kl_model_epk", "mean_step_error"]
        let fields: [(String, Double)] = names.compactMap { n in
            guard v.hasAttribute(n), let x = try? v.doubleAttribute(n) else { return nil }
            return (n, x)
        }
        return ValidationStatistics.failure(fields)
    }
}
