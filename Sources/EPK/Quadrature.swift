import Foundation

/// Integration rules for the per-step path integral φ_t = ∫₀¹ J(θ_t + α Δθ_t) dα (docs/METHOD.md §9).
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
                if n == 1 {
                    p1 = x; p0 = 1
                } else {
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

    /// The three times finer rule after an n-point one, for adaptive refinement: `keep` scales the n-point sum and
    /// `added` holds the nodes to evaluate with their final weights, so that Σ_{3n} = keep·Σ_n + Σ_added. Midpoint
    /// nodes nest under tripling ((i + ½)/n = (3i + 1 + ½)/(3n)), so only the 2n new nodes are evaluated (keep = ⅓);
    /// Gauss–Legendre nodes do not nest, so the 3n-point rule is evaluated in full (keep = 0).
    public static func tripling(rule: QuadratureRule, points n: Int) -> (keep: Double, added: QuadratureNodes) {
        switch rule {
        case .midpoint:
            let fine = (0..<(3 * n)).filter { $0 % 3 != 1 }.map { (Double($0) + 0.5) / Double(3 * n) }
            return (
                1.0 / 3,
                QuadratureNodes(nodes: fine, weights: [Double](repeating: 1 / Double(3 * n), count: fine.count))
            )
        case .gaussLegendre:
            return (0, QuadratureNodes(rule: .gaussLegendre, points: 3 * n))
        }
    }

    init(nodes: [Double], weights: [Double]) { self.nodes = nodes; self.weights = weights }
}

/// Residual-driven refinement of single (step, test point) integrals
/// (`"refine": {"tolerance": τ, "max_points": m, "margin_fraction": f}`).
///
/// The ground-truth change f(θ_{t+1}) − f(θ_t) of every step is known, so the quadrature error of each step and test
/// point is known exactly: the residual r = max over the point's rows of |Σ_k φ_t[k]·Δθ_t[k] − (f(θ_{t+1}) − f(θ_t))|.
/// Where r exceeds the point's tolerance, the step's integral for that point is recomputed with three times the
/// points (nested for the midpoint rule), and again, until r is within tolerance or the next rule would exceed m
/// points. Every refined value is still the path integral of docs/METHOD.md §3 by a finer rule, so all attributions stay
/// consistent (components sum to data); only where the points go depends on the residual. On ReLU models the error
/// of a step falls as O(n⁻¹) because the integrand jumps where activations flip, so uniform refinement is expensive
/// and a few steps carry most of the error.
///
/// The tolerance of test point a is τ, or, with a margin fraction f, min(τ, f·m_a / (2T)) where m_a is the gap between
/// the final model's two largest log-probabilities and T the number of steps. The EPK margin error is at most
/// Σ_t 2·r_t, so with f < 1 the accumulated quadrature error cannot flip the model's decision unless the m-point cap
/// stops a refinement; larger f trades that guarantee for speed, because step errors partly cancel. This puts the
/// points where the validation's argmax agreement is decided: near-ties of the model.
public struct QuadratureRefinement: Codable, Equatable, Sendable {
    /// Residual above which a (step, test point) integral is refined, in output units (log-probability).
    public var tolerance: Double
    /// Largest number of points one refined integral may use.
    public var maxPoints: Int
    /// Optional f: tightens each test point's tolerance to f·(its final top-2 log-probability gap)/(2·steps).
    public var marginFraction: Double?

    public init(tolerance: Double, maxPoints: Int, marginFraction: Double? = nil) {
        self.tolerance = tolerance; self.maxPoints = maxPoints; self.marginFraction = marginFraction
    }

    enum CodingKeys: String, CodingKey { case tolerance, maxPoints = "max_points", marginFraction = "margin_fraction" }

    /// The tolerance of each test point, from the final outputs (n, C) and the number of steps.
    public func tolerances(finalOutputs: [Float], classes C: Int, steps T: Int) -> [Double] {
        (0..<(finalOutputs.count / C)).map { a in
            guard let f = marginFraction, C >= 2 else { return tolerance }
            let row = finalOutputs[(a * C)..<(a * C + C)].map(Double.init).sorted(by: >)
            return min(tolerance, f * (row[0] - row[1]) / Double(2 * max(1, T)))
        }
    }

    /// The rule in words, as the log and the report state it: e.g. "residual > 0.001 or 1 × margin / 2T, ×3 up to
    /// 108 points".
    public var ruleSummary: String {
        String(
            format: "residual > %g%@, ×3 up to %d points", tolerance,
            marginFraction.map { String(format: " or %g × margin / 2T", $0) } ?? "", maxPoints)
    }
}

/// Which rule and how many points each training step uses, as the config block
/// `{"rule": "midpoint" | "gauss-legendre", "points": n, "early_points": m, "early_steps": k}`.
/// Steps t < early_steps use max(points, early_points) points (the original's early rule never makes early steps
/// coarser, docs/METHOD.md §9); the rest use `points`.
public struct QuadratureConfig: Codable, Equatable, Sendable {
    public var rule: QuadratureRule
    public var points: Int
    public var earlyPoints: Int
    public var earlySteps: Int
    /// Optional residual-driven refinement (EPK engine only).
    public var refine: QuadratureRefinement?

    public init(
        rule: QuadratureRule = .gaussLegendre, points: Int = 2, earlyPoints: Int? = nil, earlySteps: Int = 0,
        refine: QuadratureRefinement? = nil
    ) {
        self.rule = rule; self.points = points; self.earlyPoints = earlyPoints ?? points; self.earlySteps = earlySteps
        self.refine = refine
    }

    enum CodingKeys: String, CodingKey {
        case rule, points, earlyPoints = "early_points", earlySteps = "early_steps", refine
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rule = try c.decode(QuadratureRule.self, forKey: .rule)
        points = try c.decode(Int.self, forKey: .points)
        earlyPoints = try c.decodeIfPresent(Int.self, forKey: .earlyPoints) ?? points
        earlySteps = try c.decodeIfPresent(Int.self, forKey: .earlySteps) ?? 0
        refine = try c.decodeIfPresent(QuadratureRefinement.self, forKey: .refine)
    }

    /// The rule for training step t.
    public func nodes(forStep t: Int) -> QuadratureNodes {
        QuadratureNodes(rule: rule, points: pointCount(forStep: t))
    }

    /// Gradient evaluations (Jacobian points) used for step t.
    public func pointCount(forStep t: Int) -> Int { t < earlySteps ? max(points, earlyPoints) : points }

    /// What refinement added over this fixed rule, from recorded points ((T', n) for steps `firstStep…`, as
    /// `EPKResult.stepPoints` and `/steps/points`): integrals refined, all integrals, and points used / fixed points.
    public func refinementSummary(
        points: [Int32], testCount n: Int, firstStep: Int
    ) -> (refined: Int, integrals: Int, pointRatio: Double) {
        let fixed = points.indices.map { pointCount(forStep: firstStep + $0 / max(1, n)) }
        let refined = zip(points, fixed).filter { Int($0) > $1 }.count
        let used = points.reduce(0) { $0 + Int($1) }
        return (refined, points.count, Double(used) / Double(max(1, fixed.reduce(0, +))))
    }

    /// The fixed rule in words: e.g. "midpoint with 4 points (32 on the first 5 steps)".
    public var fixedRuleSummary: String {
        "\(rule.rawValue) with \(points) points"
            + (earlySteps > 0 && earlyPoints > points ? " (\(earlyPoints) on the first \(earlySteps) steps)" : "")
    }

    /// The rule in words, for logs: the fixed rule, then any refinement, e.g. "midpoint with 4 points, refined where
    /// residual > 0.001, ×3 up to 108 points".
    public var summary: String {
        fixedRuleSummary + (refine.map { ", refined where " + $0.ruleSummary } ?? "")
    }

    /// Checks the ranges; returns a description of the first problem.
    public func problem() -> String? {
        if points < 1 { return "quadrature.points: expected an integer ≥ 1, found \(points)" }
        if earlyPoints < 1 { return "quadrature.early_points: expected an integer ≥ 1, found \(earlyPoints)" }
        if earlySteps < 0 { return "quadrature.early_steps: expected an integer ≥ 0, found \(earlySteps)" }
        if let r = refine {
            if !(r.tolerance > 0) {
                return "quadrature.refine.tolerance: expected a positive number, found \(r.tolerance)"
            }
            if let f = r.marginFraction, !(f > 0) {
                return "quadrature.refine.margin_fraction: expected a positive number, found \(f)"
            }
            if r.maxPoints < 3 * max(points, earlyPoints) {
                return
                    "quadrature.refine.max_points: expected at least 3 × points = \(3 * max(points, earlyPoints)) (one refinement), found \(r.maxPoints)"
            }
        }
        return nil
    }
}
