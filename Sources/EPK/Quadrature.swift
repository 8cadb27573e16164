import Foundation

/// Integration rules for the per-step path integral φ_t = ∫₀¹ J(θ_t + α Δθ_t) dα (spec §1.2, issue 8).
///
/// - `midpoint`: α_i = (i + ½)/n, w_i = 1/n — the paper's rule; its error falls as O(n⁻²).
/// - `gaussLegendre`: the n-point Gauss–Legendre rule mapped to [0, 1]; exact for polynomials of degree 2n−1,
///   so on the smooth integrand along one optimizer step it converges far faster (spec check: 2 points beat
///   8 midpoints on the tiny MLP).
public enum QuadratureRule: String, Codable, Sendable, CaseIterable {
    case midpoint
    case gaussLegendre = "gauss-legendre"
}

/// Nodes α_i ∈ (0, 1) and weights w_i (Σ w_i = 1) of one rule with n points.
public struct QuadratureNodes: Equatable, Sendable {
    public let nodes: [Double]
    public let weights: [Double]

    public init(rule: QuadratureRule, points n: Int) {
        precondition(n >= 1, "quadrature needs at least one point")
        switch rule {
        case .midpoint:
            nodes = (0..<n).map { (Double($0) + 0.5) / Double(n) }
            weights = [Double](repeating: 1 / Double(n), count: n)
        case .gaussLegendre:
            let (x, w) = QuadratureNodes.gaussLegendreUnitInterval(n)
            nodes = x; weights = w
        }
    }

    /// Gauss–Legendre nodes and weights on [0, 1] by Newton's method on P_n (three-term recurrence),
    /// starting from the Tricomi approximation cos(π(i − ¼)/(n + ½)). Converges to machine precision in a
    /// few iterations for every n; weights w = 2 / ((1 − x²) P_n'(x)²) on [−1, 1], halved for [0, 1].
    public static func gaussLegendreUnitInterval(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                // P_n(x) and P_n'(x) by the recurrence (k+1)P_{k+1} = (2k+1) x P_k − k P_{k−1}.
                var p0 = 1.0, p1 = x
                if n == 1 { p1 = x; p0 = 1 }
                else {
                    for k in 1..<n {
                        let p2 = (Double(2 * k + 1) * x * p1 - Double(k) * p0) / Double(k + 1)
                        p0 = p1; p1 = p2
                    }
                }
                let pn = n == 1 ? x : p1, pnm1 = n == 1 ? 1.0 : p0
                derivative = Double(n) * (x * pn - pnm1) / (x * x - 1)
                let dx = pn / derivative
                x -= dx
                if abs(dx) < 1e-16 { break }
            }
            // Map x ∈ [−1, 1] to α = (1 − x)/2 so nodes come out ascending.
            nodes[i] = (1 - x) / 2
            weights[i] = 1 / ((1 - x * x) * derivative * derivative)
        }
        return (nodes, weights)
    }
}

/// Which rule and how many points each training step uses (issue 8's config block):
/// `{"rule": "midpoint" | "gauss-legendre", "points": n, "early_points": m, "early_steps": k}`.
/// Steps t < early_steps use max(points, early_points) points (the original's early rule never makes early steps
/// coarser, spec §1.2); the rest use `points`.
public struct QuadratureConfig: Codable, Equatable, Sendable {
    public var rule: QuadratureRule
    public var points: Int
    public var earlyPoints: Int
    public var earlySteps: Int

    public init(rule: QuadratureRule = .gaussLegendre, points: Int = 2, earlyPoints: Int? = nil, earlySteps: Int = 0) {
        self.rule = rule; self.points = points; self.earlyPoints = earlyPoints ?? points; self.earlySteps = earlySteps
    }

    enum CodingKeys: String, CodingKey {
        case rule, points, earlyPoints = "early_points", earlySteps = "early_steps"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rule = try c.decode(QuadratureRule.self, forKey: .rule)
        points = try c.decode(Int.self, forKey: .points)
        earlyPoints = try c.decodeIfPresent(Int.self, forKey: .earlyPoints) ?? points
        earlySteps = try c.decodeIfPresent(Int.self, forKey: .earlySteps) ?? 0
    }

    /// The rule for training step t.
    public func nodes(forStep t: Int) -> QuadratureNodes {
        QuadratureNodes(rule: rule, points: pointCount(forStep: t))
    }

    /// Gradient evaluations (Jacobian points) used for step t.
    public func pointCount(forStep t: Int) -> Int { t < earlySteps ? max(points, earlyPoints) : points }

    /// Checks the ranges; returns a description of the first problem.
    public func problem() -> String? {
        if points < 1 { return "quadrature.points: expected an integer ≥ 1, found \(points)" }
        if earlyPoints < 1 { return "quadrature.early_points: expected an integer ≥ 1, found \(earlyPoints)" }
        if earlySteps < 0 { return "quadrature.early_steps: expected an integer ≥ 0, found \(earlySteps)" }
        return nil
    }
}
