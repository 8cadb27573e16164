/// Deterministic test problems shared by the optimizer tests: a separable quadratic whose gradient depends on θ,
/// so every step of an optimizer feeds back into the next one.
enum ReferenceProblem {
    /// Curvatures c_i and targets b_i of L(θ) = Σ ½ c_i θ_i² − b_i θ_i.
    static func coefficients(count: Int) -> (curvature: [Double], target: [Double]) {
        let curvature = (0..<count).map { 0.5 + Double(($0 * 7) % 11) / 4 }
        let target = (0..<count).map { Double(($0 * 5) % 13) / 6 - 1 }
        return (curvature, target)
    }

    /// Initial parameters with both signs and a few magnitudes.
    static func initialParameters(count: Int) -> [Float] {
        (0..<count).map { Float(($0 * 3) % 17) / 8 - 1 }
    }

    /// ∇L(θ) in Float (what a model's backward pass would hand the optimizer).
    static func gradient(_ theta: [Float]) -> [Float] {
        let (c, b) = coefficients(count: theta.count)
        return theta.indices.map { Float(c[$0] * Double(theta[$0]) - b[$0]) }
    }

    /// ∇L(θ) in Double, for the independent reference sequences.
    static func gradient(_ theta: [Double]) -> [Double] {
        let (c, b) = coefficients(count: theta.count)
        return theta.indices.map { c[$0] * theta[$0] - b[$0] }
    }

    /// Largest |a_i − b_i| / max(1, |b_i|).
    static func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var worst = 0.0
        for i in a.indices { worst = max(worst, abs(Double(a[i]) - b[i]) / max(1, abs(b[i]))) }
        return worst
    }
}
