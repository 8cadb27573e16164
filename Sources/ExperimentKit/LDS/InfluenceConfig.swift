import Artifacts

/// The `influence` block of an `lds` config (docs/METHOD.md §17): when present, the influence-function baseline
/// τ(z)_j = g(z)ᵀ (H + λI)⁻¹ g(z_j) is computed with exact Hessian-vector products and conjugate gradient.
///
/// ```json
/// "influence": {"damping": 0.001, "cg_iterations": 100, "cg_tolerance": 1e-4}
/// ```
public struct InfluenceConfig: Codable, Equatable, Sendable, ValidatableConfig {
    /// λ, added to the Hessian of the training objective (which already holds the recipe's weight decay).
    public var damping: Double
    /// Most CG iterations per solve; a solve still above the tolerance after them is refused.
    public var cgIterations: Int
    /// Relative residual ‖b − (H + λI)x‖ / ‖b‖ every solve must reach.
    public var cgTolerance: Double

    public init(damping: Double, cgIterations: Int, cgTolerance: Double) {
        self.damping = damping; self.cgIterations = cgIterations; self.cgTolerance = cgTolerance
    }

    enum CodingKeys: String, CodingKey {
        case damping, cgIterations = "cg_iterations", cgTolerance = "cg_tolerance"
    }

    public func validate() throws {
        try ConfigError.require(
            damping >= 0 && damping.isFinite, keyPath: "influence.damping", expected: "a non-negative number",
            found: damping)
        try ConfigError.require(
            cgIterations >= 1, keyPath: "influence.cg_iterations", expected: "a positive integer", found: cgIterations)
        try ConfigError.require(
            cgTolerance > 0 && cgTolerance < 1, keyPath: "influence.cg_tolerance", expected: "a number in (0, 1)",
            found: cgTolerance)
    }
}
